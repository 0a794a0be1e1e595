"""Looking inside an uploaded .xlsx before any workbook library opens it.

An .xlsx is a ZIP archive, and a few hundred kilobytes of ZIP can declare gigabytes of XML: openpyxl would
unpack and parse all of it, holding a worker's memory and CPU for minutes. The archive's directory says
how big each part unpacks before anything is unpacked, so an oversized or foreign archive is refused
from the directory alone. Every importer that reads an uploaded workbook (responses, XLSForm questionnaires,
indicator tables) calls ``check_xlsx`` first and words the refusal in its own messages.
"""

from __future__ import annotations

import io
import zipfile

MAX_UNPACKED = 200 * 1024 * 1024  # a 100,000-row response export unpacks to about 60 MB
MAX_ENTRIES = 2000


class XlsxRefused(ValueError):
    """Why an upload is not a workbook we will open: ``reason`` is ``unreadable``, ``not_workbook`` or ``too_big``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_xlsx(data: bytes, max_unpacked: int | None = None, max_entries: int | None = None) -> None:
    """Raise ``XlsxRefused`` unless ``data`` is a ZIP with a workbook's parts that unpacks within the limits."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise XlsxRefused("unreadable") from error
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise XlsxRefused("not_workbook")
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > (max_entries or MAX_ENTRIES) or unpacked > (max_unpacked or MAX_UNPACKED):
        raise XlsxRefused("too_big")

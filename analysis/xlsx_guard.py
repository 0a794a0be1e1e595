"""Looking inside an uploaded .xlsx or .xls before any workbook library opens it.

An .xlsx is a ZIP archive, and a few hundred kilobytes of ZIP can declare gigabytes of XML: openpyxl would
unpack and parse all of it, holding a worker's memory and CPU for minutes. The archive's directory says
how big each part unpacks before anything is unpacked, so an oversized or foreign archive is refused
from the directory alone. Every importer that reads an uploaded workbook (responses, XLSForm questionnaires,
indicator tables) calls ``check_xlsx`` first and words the refusal in its own messages. An old .xls
(an OLE2 compound file) is checked by ``check_xls``: its size, and a workbook stream in its directory.
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


OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a compound file: Excel 97-2003 .xls, but also .doc, .msg…
WORKBOOK_STREAMS = frozenset({"Workbook", "Book"})  # BIFF8 (Excel 97 and later), BIFF5 (Excel 5/95)
_END_OF_CHAIN = 0xFFFFFFFE


def check_xls(data: bytes, max_size: int | None = None) -> None:
    """Raise ``XlsxRefused`` unless ``data`` is a compound file holding a workbook stream, within the size.

    An .xls is not compressed, so its size is what a reader unpacks; what is checked before a reader
    opens it is that the compound file's directory names a ``Workbook`` (or ``Book``) stream, so a
    Word document or an Outlook message under an .xls name is refused by its parts, not by a crash.
    """
    if not data.startswith(OLE2_MAGIC) or len(data) < 512:
        raise XlsxRefused("unreadable")
    if len(data) > (max_size or MAX_UNPACKED):
        raise XlsxRefused("too_big")
    if not WORKBOOK_STREAMS & set(_ole_stream_names(data)):
        raise XlsxRefused("not_workbook")


def _ole_stream_names(data: bytes) -> list[str]:
    """The names in a compound file's directory, following its sector chain (``XlsxRefused`` if broken)."""
    try:
        shift = int.from_bytes(data[30:32], "little")
        size = 1 << shift
        if shift not in (9, 12):
            raise ValueError(shift)
        fat = _ole_fat(data, size)
        names, sector, seen = [], int.from_bytes(data[48:52], "little"), set()
        while sector != _END_OF_CHAIN and sector not in seen and len(seen) < len(fat):
            seen.add(sector)
            block = data[(sector + 1) * size : (sector + 2) * size]
            for start in range(0, len(block) - 127, 128):
                length = int.from_bytes(block[start + 64 : start + 66], "little")
                if 2 <= length <= 64:
                    names.append(block[start : start + length - 2].decode("utf-16-le", "replace"))
            sector = fat[sector]
        return names
    except (ValueError, IndexError) as error:
        raise XlsxRefused("unreadable") from error


def _ole_fat(data: bytes, size: int) -> list[int]:
    """The file allocation table: its sectors are named by the header's first 109 entries, then by a
    chain of DIFAT sectors (files over about 7 MB)."""
    fat_sectors = [int.from_bytes(data[o : o + 4], "little") for o in range(76, 512, 4)]
    difat, hops = int.from_bytes(data[68:72], "little"), 0
    while difat < 0xFFFFFFFA and hops < len(data) // size:
        block = data[(difat + 1) * size : (difat + 2) * size]
        if len(block) < size:
            raise ValueError(difat)
        entries = [int.from_bytes(block[i : i + 4], "little") for i in range(0, size, 4)]
        fat_sectors += entries[:-1]
        difat, hops = entries[-1], hops + 1
    fat: list[int] = []
    for sector in fat_sectors:
        if sector >= 0xFFFFFFFA:
            continue
        block = data[(sector + 1) * size : (sector + 2) * size]
        fat += [int.from_bytes(block[i : i + 4], "little") for i in range(0, len(block), 4)]
    return fat

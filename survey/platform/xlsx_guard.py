"""Looking inside an uploaded .xlsx or .xls before any workbook library opens it.

An .xlsx is a ZIP archive, and a few hundred kilobytes of ZIP can declare gigabytes of XML: openpyxl would
unpack and parse all of it, holding a worker's memory and CPU for minutes. The archive's directory says
how big each part unpacks before anything is unpacked, so an oversized or foreign archive is refused
from the directory alone. Every importer that reads an uploaded workbook (responses, XLSForm questionnaires,
indicator tables) calls ``check_xlsx`` first and words the refusal in its own messages. An old .xls
(an OLE2 compound file) is checked by ``check_xls``: its size, and a workbook stream in its directory.

Within the size, what costs a reader time is markup, not bytes: 153 MB of ``<si><t>x</t></si>`` zip to
373 KB and held openpyxl for a minute, since it reads the whole shared-strings table before the first row.
So every part is also unpacked here, as a stream and without parsing, and counted: the strings of the
shared-strings table (``MAX_SHARED_STRINGS``) and the markup of each part (``MAX_PART_MARKUP``: every
element, end tag, comment or CDATA section starts with ``<``, which XML text cannot hold unescaped, so the
count is what an XML parser would have to walk whatever the names or prefixes). Counting unpacks at
memory speed: the whole 200 MB takes about a second, and a bomb is refused at the first part over a bound.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib

MAX_UNPACKED = 200 * 1024 * 1024  # a 100,000-row response export unpacks to about 60 MB
MAX_ENTRIES = 2000
MAX_SHARED_STRINGS = 500_000  # a 20,000-row 问卷星 export with ten free-text columns has about 200,000
MAX_PART_MARKUP = 20_000_000  # "<" in one part; a 20,000 × 100 export sheet has about 8 million
STRING_MARKUP = 8  # "<" per shared string allowed on average (plain ones have 4, rich text more)
MAX_CONTENT_TYPES = 1024 * 1024  # [Content_Types].xml lists a few dozen parts in a couple of KB
SHARED_STRINGS_TYPE = b"spreadsheetml.sharedStrings+xml"
_OVERRIDE = re.compile(rb"<(?:[A-Za-z_][-.\w]*:)?Override\b[^>]*>")
_PART_NAME = re.compile(rb"\bPartName\s*=\s*[\"']/?([^\"']*)[\"']")
CHUNK = 1 << 16
_SST_ROOT = re.compile(rb"<(?:([A-Za-z_][-.\w]*):)?sst[\s>/]")
# Ranges a full (not read-only) openpyxl load turns into one object per cell: merged cells and hyperlinks.
# Every ``ref="A1:C3"`` is counted (a sheet's dimension and filter too): the value is short, so a tag
# split between two chunks is still found whatever else the tag carries.
_RANGE_REF = re.compile(rb"\bref\s*=\s*[\"']([^\"']{1,64})[\"']")
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")
_OVERLAP = 64  # bytes kept from one chunk to the next so a tag split between them is still counted


class XlsxRefused(ValueError):
    """Why an upload is not a workbook we will open: ``reason`` is ``unreadable``, ``not_workbook`` or ``too_big``.

    For ``too_big``, ``what`` says which bound: ``unpacked`` (bytes, or ``MAX_ENTRIES`` parts), ``strings``
    (the shared-strings table), ``markup`` (one part's XML, named by ``part``) or ``cells`` (merged or
    linked ranges, see ``check_xlsx``); ``limit`` is that bound.
    """

    def __init__(self, reason: str, what: str = "", limit: int = 0, part: str = ""):
        super().__init__(f"{reason}: {what} {part}".strip(": "))
        self.reason = reason
        self.what = what
        self.limit = limit
        self.part = part


def check_xlsx(
    data: bytes,
    max_unpacked: int | None = None,
    max_entries: int | None = None,
    *,
    max_strings: int | None = None,
    max_markup: int | None = None,
    max_range_cells: int | None = None,
) -> None:
    """Raise ``XlsxRefused`` unless ``data`` is a ZIP with a workbook's parts that unpacks within the limits.

    The limits default to what a response export may need; an importer of smaller documents (an XLSForm,
    an indicator table) passes its own, smaller ones. ``max_range_cells`` is for a reader that loads the
    workbook in full (not read-only): openpyxl then makes an object for every cell of a merged range or
    a hyperlink's range, so ``<mergeCell ref="A1:XFD1048576"/>`` alone would take 17 billion; the cells
    all such ranges cover together are bounded.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise XlsxRefused("not_workbook")
            unpacked = sum(entry.file_size for entry in entries)
            max_unpacked = max_unpacked or MAX_UNPACKED
            if len(entries) > (max_entries or MAX_ENTRIES) or unpacked > max_unpacked:
                raise XlsxRefused("too_big", "unpacked", max_unpacked)
            string_parts = _shared_string_parts(archive)
            max_strings = max_strings or MAX_SHARED_STRINGS
            range_cells = 0
            for entry in entries:
                if not entry.is_dir():
                    shared = entry.filename in string_parts or entry.filename.lower().endswith("sharedstrings.xml")
                    markup = min(max_markup or MAX_PART_MARKUP, STRING_MARKUP * max_strings if shared else 1 << 62)
                    range_cells += _count_part(archive, entry, max_strings, markup, max_range_cells, shared)
                    if max_range_cells is not None and range_cells > max_range_cells:
                        raise XlsxRefused("too_big", "cells", max_range_cells, entry.filename)
    except XlsxRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError, EOFError, RuntimeError) as error:
        raise XlsxRefused("unreadable") from error  # a broken, encrypted or oddly compressed archive


def _shared_string_parts(archive: zipfile.ZipFile) -> set[str]:
    """The parts ``[Content_Types].xml`` names as shared-strings tables (openpyxl finds the table there,
    whatever the part is called)."""
    info = archive.getinfo("[Content_Types].xml")
    if info.file_size > MAX_CONTENT_TYPES:
        raise XlsxRefused("too_big", "markup", MAX_CONTENT_TYPES, info.filename)
    types = archive.read(info)
    parts = set()
    for override in _OVERRIDE.findall(types):
        name = _PART_NAME.search(override)
        if name and SHARED_STRINGS_TYPE in override:
            parts.add(name.group(1).decode("utf-8", "replace"))
    return parts


def _count_part(
    archive: zipfile.ZipFile,
    entry: zipfile.ZipInfo,
    max_strings: int,
    max_markup: int,
    max_range_cells: int | None,
    shared: bool = False,
) -> int:
    """Unpack one part as a stream, counting its markup and, in a shared-strings table, its strings;
    the cells its merged and linked ranges cover when ``max_range_cells`` is given (returned).

    A shared-strings table is known by ``shared`` (its content type or name) or by its root element
    ``sst``; its strings are counted by their ``<si>`` tags, and its markup is bounded at
    ``STRING_MARKUP`` per allowed string whatever the tags are called.

    The unpacking is bounded by the size the directory declared (checked above), whatever the part
    really holds: ``zipfile`` stops at the declared size and the CRC check refuses a lying entry.
    """
    markup = strings = range_cells = 0
    string_tags: tuple[bytes, ...] = ()
    tail = range_tail = b""
    with archive.open(entry) as part:
        first = True
        while chunk := part.read(CHUNK):
            if first:
                first = False
                root = _SST_ROOT.search(chunk)
                if root or shared:
                    prefix = root.group(1) + b":" if root and root.group(1) else b""
                    string_tags = tuple(b"<" + prefix + b"si" + end for end in (b">", b" ", b"/", b"\t", b"\n", b"\r"))
            if string_tags:  # strings first: their bound is the one an author understands
                window = tail + chunk
                strings += sum(window.count(tag) for tag in string_tags) - sum(tail.count(tag) for tag in string_tags)
                tail = window[-_OVERLAP:]
                if strings > max_strings:
                    raise XlsxRefused("too_big", "strings", max_strings, entry.filename)
            markup += chunk.count(b"<")
            if markup > max_markup:
                raise XlsxRefused("too_big", "markup", max_markup, entry.filename)
            if max_range_cells is not None:
                window = range_tail + chunk
                for match in _RANGE_REF.finditer(window):
                    if match.end() > len(range_tail):  # not counted with the chunk before
                        range_cells += _range_cells(match.group(1).decode("ascii", "replace"))
                if range_cells > max_range_cells:
                    raise XlsxRefused("too_big", "cells", max_range_cells, entry.filename)
                range_tail = window[-_OVERLAP:]
    return range_cells


def _column(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _range_cells(ref: str) -> int:
    """How many cells ``ref`` covers: ``A1:C3`` is 9, ``A1`` or anything else 1."""
    corners = [(_column(c), int(r)) for c, r in _CELL.findall(ref)[:2]]
    if len(corners) < 2:
        return 1
    (c1, r1), (c2, r2) = corners
    return (abs(c2 - c1) + 1) * (abs(r2 - r1) + 1)


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

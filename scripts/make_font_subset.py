"""Regenerate the vendored Chinese fonts of the printable posters (static/vendor/fonts/).

    .venv/bin/python scripts/make_font_subset.py            # from the repository root
    .venv/bin/python scripts/make_font_subset.py --source-dir /path/to/noto

Input: Noto Sans CJK Regular and Bold as shipped by Debian/Ubuntu ``fonts-noto-cjk``
(``/usr/share/fonts/opentype/noto/NotoSansCJK-{Regular,Bold}.ttc``). The Simplified Chinese face is
found by its family name ("Noto Sans CJK SC"), not by a hard-coded index into the collection.

Output: ``NotoSansSC-GB2312-{Regular,Bold}.otf`` (CFF outlines, subroutines kept, about 2 MB each), holding ASCII,
Latin-1, general and CJK punctuation, full-width forms and every character of GB2312 (all 6,763
hanzi plus its symbols), decoded with Python's ``gb2312`` codec. The family is renamed
"Noto Sans SC GB2312" so it is never confused with a system-wide Noto Sans CJK SC.

Also ``NotoSansMonoSC-ASCII-{Regular,Bold}.otf``: ASCII only, from the "Noto Sans Mono CJK SC" face of
the same collections, for the short link on the posters (monospaced, 0/O and 1/l/I told apart).

Only fontTools is needed (a WeasyPrint dependency). The output is deterministic for a given input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = Path("/usr/share/fonts/opentype/noto")
OUT_DIR = ROOT / "static" / "vendor" / "fonts"
SOURCE_FAMILY = "Noto Sans CJK SC"
FAMILY = "Noto Sans SC GB2312"
MONO_SOURCE_FAMILY = "Noto Sans Mono CJK SC"
MONO_FAMILY = "Noto Sans Mono SC ASCII"
WEIGHTS = ("Regular", "Bold")


def gb2312_characters() -> set[int]:
    """Every code point GB2312 encodes: rows 0xA1-0xF7, cells 0xA1-0xFE, whatever decodes."""
    chars = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                text = bytes((high, low)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            chars.update(ord(c) for c in text)
    return chars


def wanted_characters() -> set[int]:
    """ASCII, Latin-1, punctuation, CJK punctuation, full-width forms and all of GB2312."""
    chars = set(range(0x20, 0x7F))  # ASCII
    chars |= set(range(0xA0, 0x100))  # Latin-1 supplement (·, ×, ©, non-breaking space…)
    chars |= set(range(0x2000, 0x2070))  # general punctuation (“ ” ‘ ’ — … ‰ ※)
    chars |= set(range(0x3000, 0x3040))  # CJK symbols and punctuation (、。《》「」【】〔〕)
    chars |= set(range(0xFF00, 0xFFF0))  # half-width and full-width forms (，：；！？（）)
    chars |= {0x20AC, 0x2116, 0x2103, 0x2122, 0x25CB, 0x25CF, 0x25A1, 0x25A0, 0x2192, 0x2190}
    chars |= gb2312_characters()
    return chars


def face_index(ttc_path: Path, family: str) -> int:
    """The index of the face named ``family`` in a Noto Sans CJK collection (SC is 2 in version 2.004)."""
    collection = TTCollection(str(ttc_path), lazy=True)
    for index, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == family:
            return index
    raise SystemExit(f"{ttc_path}: no face named {family!r}")


def rename(font: TTFont, family: str, weight: str) -> None:
    """Give the subset its own family name in every language record (the localised 思源黑体 too)."""
    postscript = f"{family.replace(' ', '')}-{weight}"
    names = {1: family, 2: weight, 3: f"{postscript};subset", 4: f"{family} {weight}", 6: postscript,
             16: family, 17: weight}
    table = font["name"]
    for record in list(table.names):
        if record.nameID in names:
            table.setName(names[record.nameID], record.nameID, record.platformID, record.platEncID, record.langID)
    font["CFF "].cff.fontNames = [postscript]


def make_subset(source: Path, weight: str, out_dir: Path, mono: bool = False) -> Path:
    """Subset one weight and write it as OTF; returns the written path."""
    index = face_index(source, MONO_SOURCE_FAMILY if mono else SOURCE_FAMILY)
    font = TTFont(str(source), fontNumber=index, recalcTimestamp=False)  # same input, same bytes
    options = subset.Options()
    # fontTools' default features (kerning, vertical forms, ligatures…) but not ``locl``: its Japanese,
    # Korean and traditional-Chinese glyph variants would nearly double the file and are never used here.
    options.layout_features = [feature for feature in options.layout_features if feature != "locl"]
    options.name_IDs = ["*"]  # keep copyright, licence and trademark records
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = True
    options.desubroutinize = False
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=set(range(0x20, 0x7F)) if mono else wanted_characters())
    subsetter.subset(font)
    rename(font, MONO_FAMILY if mono else FAMILY, weight)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / (f"NotoSansMonoSC-ASCII-{weight}.otf" if mono else f"NotoSansSC-GB2312-{weight}.otf")
    font.save(str(target))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE, help="folder of NotoSansCJK-*.ttc")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    for mono in (False, True):
        for weight in WEIGHTS:
            target = make_subset(args.source_dir / f"NotoSansCJK-{weight}.ttc", weight, args.out_dir, mono)
            print(f"{target}: {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()

"""Regenerate the vendored fonts of the printable posters (static/vendor/fonts/).

    .venv/bin/python scripts/make_font_subset.py            # from the repository root, about 15 s

Inputs are the Debian/Ubuntu font packages ``fonts-noto-cjk`` and ``fonts-dejavu-core``:

- ``/usr/share/fonts/opentype/noto/NotoSansCJK-{Regular,Bold}.ttc``: the Simplified Chinese face is
  found by its family name ("Noto Sans CJK SC"), not by a hard-coded index into the collection.
  Output ``NotoSansSC-GB2312-{Regular,Bold}.otf`` (CFF outlines, subroutines kept, about 2 MB each):
  ASCII, Latin-1, general and CJK punctuation, full-width forms and every character of GB2312 (all
  6,763 hanzi plus its symbols), decoded with Python's ``gb2312`` codec. Licence: SIL OFL 1.1.
- ``/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf``: output ``DejaVuSansMono-ASCII-Bold.ttf``
  (ASCII only, a few kB) for the short link: a zero with a dot, distinct 1/l/I, so a link can be typed
  by hand. Noto Sans Mono CJK draws 0 and O alike, which is why it is not used. Licence: Bitstream Vera.

The subsets are renamed ("Noto Sans SC GB2312", "DejaVu Sans Mono ASCII") so they are never confused
with the installed fonts. Only fontTools is needed (a WeasyPrint dependency). The same inputs give the
same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "static" / "vendor" / "fonts"
NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
NOTO_FAMILY = "Noto Sans CJK SC"
SANS_FAMILY = "Noto Sans SC GB2312"
MONO_FAMILY = "DejaVu Sans Mono ASCII"
ASCII = set(range(0x20, 0x7F))


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


def chinese_characters() -> set[int]:
    """ASCII, Latin-1, punctuation, CJK punctuation, full-width forms and all of GB2312."""
    chars = set(ASCII)
    chars |= set(range(0xA0, 0x100))  # Latin-1 supplement (·, ×, ©, non-breaking space…)
    chars |= set(range(0x2000, 0x2070))  # general punctuation (“ ” ‘ ’ — … ‰ ※)
    chars |= set(range(0x3000, 0x3040))  # CJK symbols and punctuation (、。《》「」【】〔〕)
    chars |= set(range(0xFF00, 0xFFF0))  # half-width and full-width forms (，：；！？（）)
    chars |= {0x20AC, 0x2116, 0x2103, 0x2122, 0x25CB, 0x25CF, 0x25A1, 0x25A0, 0x2192, 0x2190}
    chars |= gb2312_characters()
    return chars


def face_index(ttc_path: Path, family: str) -> int:
    """The index of the face named ``family`` in a font collection (SC is 2 in Noto Sans CJK 2.004)."""
    collection = TTCollection(str(ttc_path), lazy=True)
    for index, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == family:
            return index
    raise SystemExit(f"{ttc_path}: no face named {family!r}")


def rename(font: TTFont, family: str, weight: str) -> None:
    """Give the subset its own family name in every language record (the localised 思源黑体 too)."""
    postscript = f"{family.replace(' ', '')}-{weight}"
    names = {
        1: family,
        2: weight,
        3: f"{postscript};subset",
        4: f"{family} {weight}",
        6: postscript,
        16: family,
        17: weight,
    }
    table = font["name"]
    for record in list(table.names):
        if record.nameID in names:
            table.setName(names[record.nameID], record.nameID, record.platformID, record.platEncID, record.langID)
    if "CFF " in font:
        font["CFF "].cff.fontNames = [postscript]


def make_subset(font: TTFont, unicodes: set[int], family: str, weight: str, target: Path) -> Path:
    """Subset ``font`` to ``unicodes``, rename it and save it at ``target``."""
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
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    rename(font, family, weight)
    target.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(target))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noto-dir", type=Path, default=NOTO_DIR, help="folder of NotoSansCJK-*.ttc")
    parser.add_argument("--dejavu-dir", type=Path, default=DEJAVU_DIR, help="folder of DejaVuSansMono-Bold.ttf")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    written = []
    chinese = chinese_characters()
    for weight in ("Regular", "Bold"):
        source = args.noto_dir / f"NotoSansCJK-{weight}.ttc"
        # recalcTimestamp=False: the same input gives the same bytes.
        font = TTFont(str(source), fontNumber=face_index(source, NOTO_FAMILY), recalcTimestamp=False)
        written.append(
            make_subset(font, chinese, SANS_FAMILY, weight, args.out_dir / f"NotoSansSC-GB2312-{weight}.otf")
        )
    font = TTFont(str(args.dejavu_dir / "DejaVuSansMono-Bold.ttf"), recalcTimestamp=False)
    written.append(make_subset(font, ASCII, MONO_FAMILY, "Bold", args.out_dir / "DejaVuSansMono-ASCII-Bold.ttf"))
    for target in written:
        print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()

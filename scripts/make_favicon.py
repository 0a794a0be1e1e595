"""Draw static/favicon.ico: a check mark on a form, in the accent colour of static/css/app.css.

Run once after changing the drawing (``.venv/bin/python scripts/make_favicon.py``); the icon is committed.
Drawn at 8x and scaled down, for clean edges at 16, 32 and 48 px.
"""

from pathlib import Path

from PIL import Image, ImageDraw

ACCENT = (0x1C, 0x5F, 0xA8, 255)
WHITE = (255, 255, 255, 255)
TARGET = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"


def draw(size: int = 384) -> Image.Image:
    """The icon at ``size`` px: a rounded accent square, a white sheet, and a check mark in the accent."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    unit = size / 48
    pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=10 * unit, fill=ACCENT)
    pen.rounded_rectangle((11 * unit, 7 * unit, 37 * unit, 41 * unit), radius=3 * unit, fill=WHITE)
    tick = [(16 * unit, 24 * unit), (22 * unit, 31 * unit), (33 * unit, 16 * unit)]
    pen.line(tick, fill=ACCENT, width=round(5 * unit))
    return image


def main() -> None:
    draw().save(TARGET, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    print(f"{TARGET}: {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main()

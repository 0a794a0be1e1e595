"""The vendored fonts every PDF embeds, and the one way WeasyPrint may fetch them.

Posters (``survey.collection.posters``) and the report and paper PDFs (``survey.reports.pdf``) both lay out pages with
WeasyPrint from ``static/vendor/fonts/`` (a GB2312 subset of Noto Sans CJK SC, made by
``scripts/make_font_subset.py``) and must read local files and ``data:`` URIs only, as the intranet needs:
what both need lives here rather than in either of them.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from types import ModuleType

from flask import current_app

FONT_FILES = {
    "sans": "NotoSansSC-GB2312-Regular.otf",
    "sans_bold": "NotoSansSC-GB2312-Bold.otf",
    "mono_bold": "DejaVuSansMono-ASCII-Bold.ttf",  # the short link: 0 with a dot, 1/l/I distinct
}


def fonts_dir() -> Path:
    """The folder of the vendored fonts in this app's static files."""
    return Path(current_app.static_folder or Path(current_app.root_path) / "static") / "vendor" / "fonts"


def font_uris() -> dict[str, str]:
    """Each font's ``file:`` URI, by its key in ``FONT_FILES``, for the templates' ``@font-face`` rules."""
    fonts = fonts_dir()
    return {key: (fonts / name).as_uri() for key, name in FONT_FILES.items()}


def _weasyprint() -> ModuleType:
    """WeasyPrint, imported when a PDF is first made: loading it (Pango through cffi) costs about half a
    second, which every ``flask`` command, test process and app worker paid at start-up for no PDF at all."""
    return import_module("weasyprint")


def url_fetcher():
    """Local files and ``data:`` URIs only (WeasyPrint >= 68); older versions use their default fetcher."""
    fetcher_class = getattr(_weasyprint(), "URLFetcher", None)
    return fetcher_class(allowed_protocols={"file", "data"}) if fetcher_class else None


def write_pdf(html: str) -> bytes:
    """``html`` laid out as a PDF, relative URLs resolved in the fonts' folder, nothing fetched from elsewhere."""
    document = _weasyprint().HTML(string=html, base_url=fonts_dir().as_uri() + "/", url_fetcher=url_fetcher())
    return document.write_pdf()

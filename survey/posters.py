"""Printable A4 posters (采集点海报): one page per channel, its QR code and short link, as PDF.

WeasyPrint lays out ``templates/posters/poster.html``. The Chinese fonts come from
``static/vendor/fonts/`` (a GB2312 subset of Noto Sans CJK SC, made by ``scripts/make_font_subset.py``)
and are embedded in the PDF, so a poster prints the same on any machine; the system's
"Noto Sans CJK SC" is only a fallback for characters outside GB2312 (rare names). Rendering reads
local files and ``data:`` URIs only: no request ever leaves the machine, as the intranet needs.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import weasyprint
from flask import current_app, render_template
from flask_babel import gettext as _

from survey.models import Channel, Questionnaire
from survey.qr import public_url, qr_svg


@dataclass(frozen=True)
class Poster:
    """One page: where it hangs (采集点) and the link its QR code opens."""

    place: str
    url: str
    qr_data_uri: str
    general: bool = False


def _poster(place: str, url: str, general: bool = False) -> Poster:
    # SVG keeps the code a vector: sharp edges at any print size.
    qr_data_uri = "data:image/svg+xml;base64," + base64.b64encode(qr_svg(url)).decode("ascii")
    return Poster(place=place, url=url, qr_data_uri=qr_data_uri, general=general)


def posters_for(questionnaire: Questionnaire, channels: Sequence[Channel], general: bool = False) -> list[Poster]:
    """The pages to print: the questionnaire's own link first when ``general`` (or when there is no channel)."""
    pages = []
    if general or not channels:
        pages.append(_poster(_("通用入口"), public_url(questionnaire.public_token), general=True))
    pages.extend(_poster(channel.name, public_url(channel.token)) for channel in channels)
    return pages


FONT_FILES = {
    "sans": "NotoSansSC-GB2312-Regular.otf",
    "sans_bold": "NotoSansSC-GB2312-Bold.otf",
    "mono": "NotoSansMonoSC-ASCII-Regular.otf",
    "mono_bold": "NotoSansMonoSC-ASCII-Bold.otf",
}


def _fonts_dir() -> Path:
    return Path(current_app.static_folder or Path(current_app.root_path) / "static") / "vendor" / "fonts"


def _url_fetcher():
    """Local files and ``data:`` URIs only (WeasyPrint >= 68); older versions use their default fetcher."""
    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    return fetcher_class(allowed_protocols={"file", "data"}) if fetcher_class else None


def poster_pdf(questionnaire: Questionnaire, channels: Sequence[Channel], general: bool = False) -> bytes:
    """A PDF with one A4 poster per channel (plus the questionnaire's own link first when ``general``).

    With no channel at all, the single page carries the questionnaire's own link.
    """
    fonts = _fonts_dir()
    html = render_template(
        "posters/poster.html",
        questionnaire=questionnaire,
        project=questionnaire.project,
        posters=posters_for(questionnaire, channels, general),
        font_uri={key: (fonts / name).as_uri() for key, name in FONT_FILES.items()},
    )
    document = weasyprint.HTML(string=html, base_url=fonts.as_uri() + "/", url_fetcher=_url_fetcher())
    return document.write_pdf()

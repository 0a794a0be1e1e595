"""Printable A4 posters (采集点海报): one page per channel, its QR code and short link, as PDF.

WeasyPrint lays out ``templates/posters/poster.html``. The Chinese fonts come from
``static/vendor/fonts/`` (a GB2312 subset of Noto Sans CJK SC, made by ``scripts/make_font_subset.py``,
see the README there) and are embedded in the PDF, so a poster prints the same on any machine; the
system's "Noto Sans CJK SC" is only a fallback for characters outside GB2312 (rare names). Rendering
reads local files and ``data:`` URIs only: no request ever leaves the machine, as the intranet needs.

Every poster is exactly one page: long titles, places and links get smaller type, and the QR code
gets the height the texts leave (13.6 cm framed, at least 10.8 cm), so "all posters" never spills
onto an extra page.
"""

from __future__ import annotations

import base64
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from flask import render_template
from flask_babel import gettext as _

from survey.collection.fieldwork import linked_channels
from survey.models import Channel, Questionnaire
from survey.platform.fonts import font_uris, write_pdf
from survey.platform.qr import public_url, qr_svg

# Page geometry in mm: A4 minus 14 mm/15 mm margins. The texts' heights are estimated from their
# lengths (a CJK character is 1 em wide, anything else ~0.6 em), and the QR code gets what is left.
PT = 25.4 / 72
PAGE_HEIGHT = 268
CONTENT_WIDTH = 180
QR_FRAME_MAX = 136  # frame incl. 3 mm padding and border: the code itself ~128 mm
QR_FRAME_MIN = 108  # the code still 10 cm (quiet zone included) with the longest title and place
TITLE_SIZES = (("", 28.0, 16), ("long", 23.0, 40), ("longer", 19.0, 72), ("longest", 15.0, 120), ("tiny", 12.0, None))
PLACE_SIZES = (("", 17.0, 18), ("small", 14.0, 66), ("smaller", 12.0, None))
LINK_SIZES = (("", 19.0, 42), ("long", 15.0, 54), ("longer", 11.5, None))


def _em_width(text: str) -> float:
    """Width of ``text`` in em: full-width characters 1, the rest (Latin, digits) about 0.6."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)


def _lines(text: str, size_pt: float, width_mm: float) -> int:
    return max(1, math.ceil(_em_width(text) * size_pt * PT / width_mm))


def _size(text: str, sizes: tuple) -> tuple[str, float]:
    """The CSS class and point size for ``text``: the first step whose length limit it fits."""
    for css_class, size_pt, limit in sizes:
        if limit is None or len(text) <= limit:
            return css_class, size_pt
    raise AssertionError("the last step has no limit")


def _block(lines: int, size_pt: float, line_height: float) -> float:
    return lines * size_pt * PT * line_height


@dataclass(frozen=True)
class Poster:
    """One page: where it hangs (采集点), the link its QR code opens, and the sizes that fit one page."""

    place: str
    url: str
    qr_data_uri: str
    title_class: str
    place_class: str
    link_class: str
    qr_frame_mm: float

    @property
    def qr_image_mm(self) -> float:
        return round(self.qr_frame_mm - 7.6, 1)  # 2 x (3 mm padding + 0.8 mm border)


def _qr_frame_mm(title: str, place: str, url: str, org: str, project: str, howto: list[str]) -> float:
    """The largest QR frame that leaves room for every text of the page (numbers from the template's CSS)."""
    title_pt = _size(title, TITLE_SIZES)[1]
    place_pt = _size(place, PLACE_SIZES)[1]
    link_pt = _size(url, LINK_SIZES)[1]
    used = 15 + 2.5 + _block(1, 13, 1.45) + _block(_lines(title, title_pt, CONTENT_WIDTH - 20), title_pt, 1.3)
    used += 9 + _block(_lines(place, place_pt, CONTENT_WIDTH - 24), place_pt, 1.4) + 1
    used += 7  # above the QR frame
    used += 7 + _block(1, 11, 1.45) + 1 + _block(_lines(url, link_pt, CONTENT_WIDTH), link_pt, 1.3)
    used += 7 + sum(_block(_lines(line, 14, CONTENT_WIDTH - 12), 14, 1.65) for line in howto)
    used += 3 + 4  # a gap, then the footer's rule and padding
    used += _block(_lines(org, 12.5, CONTENT_WIDTH), 12.5, 1.6) if org else 0
    used += _block(_lines(project, 11, CONTENT_WIDTH), 11, 1.6)
    return round(max(QR_FRAME_MIN, min(QR_FRAME_MAX, PAGE_HEIGHT - used - 2)), 1)


def _poster(questionnaire: Questionnaire, place: str, url: str) -> Poster:
    project = questionnaire.project
    # SVG keeps the code a vector: sharp edges at any print size.
    qr_data_uri = "data:image/svg+xml;base64," + base64.b64encode(qr_svg(url)).decode("ascii")
    return Poster(
        place=place,
        url=url,
        qr_data_uri=qr_data_uri,
        title_class=_size(questionnaire.title, TITLE_SIZES)[0],
        place_class=_size(place, PLACE_SIZES)[0],
        link_class=_size(url, LINK_SIZES)[0],
        qr_frame_mm=_qr_frame_mm(questionnaire.title, place, url, project.evaluating_org, project.name, howto_lines()),
    )


def howto_lines() -> list[str]:
    """The two lines of instructions under the link."""
    return [_("用手机微信或浏览器扫描二维码，即可匿名填写问卷。"), _("问卷约需 2 分钟，您的回答仅用于统计分析。")]


def posters_for(questionnaire: Questionnaire, channels: Sequence[Channel], general: bool = False) -> list[Poster]:
    """The pages to print: the questionnaire's own link first when ``general`` (or when there is no channel).

    The system 纸质问卷 channel has no link, so no poster (``fieldwork.has_public_link``).
    """
    channels = linked_channels(list(channels))
    pages = []
    if general or not channels:
        pages.append(_poster(questionnaire, _("通用入口"), public_url(questionnaire.public_token)))
    pages.extend(_poster(questionnaire, channel.label, public_url(channel.token)) for channel in channels)
    return pages


def poster_pdf(questionnaire: Questionnaire, channels: Sequence[Channel], general: bool = False) -> bytes:
    """A PDF with one A4 poster per channel, the questionnaire's own link first when ``general``.

    With no channel at all, the single page carries the questionnaire's own link.
    """
    html = render_template(
        "posters/poster.html",
        questionnaire=questionnaire,
        project=questionnaire.project,
        howto=howto_lines(),
        posters=posters_for(questionnaire, channels, general),
        font_uri=font_uris(),
    )
    return write_pdf(html)

"""Printable posters (采集点海报): one A4 page per channel, text layer, embedded fonts, QR codes that scan.

Test dependencies beyond the project's: ``pypdf`` (pages, text, fonts) and, where Debian's ``pdftoppm``
(poppler-utils) is not installed, ``pypdfium2`` to rasterise the pages for ``zxingcpp``.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from fontTools.ttLib import TTFont
from PIL import Image

from survey.collection.posters import poster_pdf, posters_for
from survey.models import Channel
from survey.platform.extensions import db
from survey.platform.fonts import FONT_FILES
from survey.platform.qr import public_url
from tests.conftest import login
from tests.helpers import make_project, published

ORG = "泉州市丰泽区财政绩效评价中心"
CHANNEL_NAMES = ["东海街道社区服务中心", "丰泽区行政服务中心二楼办事大厅", "清源派出所"]
A4_POINTS = (595.28, 841.89)


@pytest.fixture
def survey_with_channels(evaluator):
    """A published questionnaire of alice's with three channels."""
    project = make_project(evaluator)
    project.evaluating_org = ORG
    questionnaire = published(project)
    for number, name in enumerate(CHANNEL_NAMES, start=1):
        db.session.add(Channel(questionnaire=questionnaire, code=f"c{number}", name=name))
    db.session.commit()
    return questionnaire


def link(app, token: str) -> str:
    """The short link of ``token`` as the test client's requests build it (host ``localhost``)."""
    with app.test_request_context():
        return public_url(token)


def flat(text: str) -> str:
    """Text without whitespace: a PDF text layer breaks lines and spaces where the layout did."""
    return re.sub(r"\s+", "", text)


def page_images(pdf: bytes) -> list[Image.Image]:
    """The pages as 100 dpi images: ``pdftoppm`` when installed, else ``pypdfium2``."""
    if shutil.which("pdftoppm"):
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "posters.pdf"
            source.write_bytes(pdf)
            subprocess.run(["pdftoppm", "-r", "100", "-png", str(source), str(Path(folder) / "page")], check=True)
            images = []
            for path in sorted(Path(folder).glob("page-*.png")):
                with Image.open(path) as image:
                    images.append(image.copy())
            return images
    pdfium = pytest.importorskip("pypdfium2", reason="needs pdftoppm (poppler-utils) or pypdfium2")
    document = pdfium.PdfDocument(pdf)
    try:
        return [document[index].render(scale=100 / 72).to_pil() for index in range(len(document))]
    finally:
        document.close()


def qr_texts(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def fonts_of(page) -> list[pypdf.generic.DictionaryObject]:
    """Every font a page uses, composite fonts replaced by their descendants."""
    fonts = []
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        if font["/Subtype"] == "/Type0":
            fonts.extend(descendant.get_object() for descendant in font["/DescendantFonts"])
        else:
            fonts.append(font)
    return fonts


def test_all_posters_one_pdf(app, logged_in, survey_with_channels):
    questionnaire = survey_with_channels
    response = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/posters.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f"attachment; filename=posters-{questionnaire.id}.pdf"
    assert response.data.startswith(b"%PDF-")

    reader = pypdf.PdfReader(io.BytesIO(response.data))
    # The questionnaire's own link first, then one page per channel.
    assert len(reader.pages) == 1 + len(CHANNEL_NAMES)
    links = [link(app, questionnaire.public_token)] + [link(app, c.token) for c in questionnaire.channels]
    places = ["通用入口", *CHANNEL_NAMES]
    for page, url, place in zip(reader.pages, links, places, strict=True):
        assert [round(float(side), 1) for side in page.mediabox[2:]] == [round(side, 1) for side in A4_POINTS]
        text = flat(page.extract_text())
        assert flat(questionnaire.title) in text
        assert place in text
        assert url in text
        assert "评价机构：" + ORG in text
        assert questionnaire.project.name in text
        assert "用手机微信或浏览器扫描二维码，即可匿名填写问卷。" in text
        assert "问卷约需2分钟，您的回答仅用于统计分析。" in text
    for other_place in CHANNEL_NAMES[1:]:  # each channel on its own page only
        assert other_place not in flat(reader.pages[1].extract_text())

    # Each page's QR code opens that page's link.
    images = page_images(response.data)
    assert [qr_texts(image) for image in images] == [[url] for url in links]


def test_fonts_are_embedded_and_vendored(logged_in, survey_with_channels):
    response = logged_in.get(f"/desk/questionnaires/{survey_with_channels.id}/posters.pdf")
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    families = set()
    for page in reader.pages:
        fonts = fonts_of(page)
        assert fonts
        for font in fonts:
            descriptor = font["/FontDescriptor"].get_object()
            embedded = [key for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in descriptor]
            assert embedded, f"{font['/BaseFont']} is not embedded"
            program = TTFont(io.BytesIO(descriptor[embedded[0]].get_object().get_data()))
            families.add(program["name"].getDebugName(1))
    # The vendored subsets (scripts/make_font_subset.py names them), not whatever the machine has installed.
    assert families == {"Noto Sans SC GB2312", "DejaVu Sans Mono ASCII"}


def test_one_channel_poster(app, logged_in, survey_with_channels):
    questionnaire = survey_with_channels
    channel = questionnaire.channels[1]
    response = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/channels/{channel.id}/poster.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=poster-{questionnaire.id}-channel-{channel.id}.pdf"
    )
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    text = flat(reader.pages[0].extract_text())
    assert channel.name in text and link(app, channel.token) in text
    assert link(app, questionnaire.public_token) not in text
    assert [qr_texts(image) for image in page_images(response.data)] == [[link(app, channel.token)]]


def test_questionnaire_without_channels_gets_its_own_link(app, logged_in, evaluator):
    questionnaire = published(make_project(evaluator))
    response = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/posters.pdf")
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    url = link(app, questionnaire.public_token)
    assert url in flat(reader.pages[0].extract_text())
    assert [qr_texts(image) for image in page_images(response.data)] == [[url]]


def test_long_texts_stay_on_one_page_with_a_large_qr_code(app, evaluator, survey_with_channels):
    """The longest title and place the database allows still give one page per poster, QR code >= 10 cm."""
    questionnaire = survey_with_channels
    questionnaire.title = ("服务对象满意度与群众安全感调查问卷" * 12)[:200]  # the column's limit
    questionnaire.channels[0].name = ("东海街道东海社区居民委员会便民服务中心" * 6)[:100]
    db.session.commit()
    with app.test_request_context():
        pages = posters_for(questionnaire, questionnaire.channels, general=True)
        pdf = poster_pdf(questionnaire, questionnaire.channels, general=True)
    assert min(page.qr_image_mm for page in pages) >= 100
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 4


def test_vendored_fonts_cover_gb2312(app):
    folder = Path(app.static_folder) / "vendor" / "fonts"
    assert (folder / "LICENSE-OFL.txt").is_file()
    hanzi = {
        ord(bytes((high, low)).decode("gb2312"))
        for high in range(0xB0, 0xF8)
        for low in range(0xA1, 0xFF)
        if not (high == 0xD7 and low > 0xF9)
    }
    assert len(hanzi) == 6763
    for key in ("sans", "sans_bold"):
        path = folder / FONT_FILES[key]
        assert path.stat().st_size < 3_000_000
        with TTFont(str(path), lazy=True) as font:
            cmap = font.getBestCmap()
        assert hanzi <= set(cmap)
        assert set(map(ord, "，。：；！？（）“”、《》")) <= set(cmap)


def test_other_evaluator_gets_404(client, survey_with_channels, other_evaluator):
    questionnaire = survey_with_channels
    login(client, "mallory", "mallory-password-1")
    assert client.get(f"/desk/questionnaires/{questionnaire.id}/posters.pdf").status_code == 404
    channel = questionnaire.channels[0]
    assert client.get(f"/desk/questionnaires/{questionnaire.id}/channels/{channel.id}/poster.pdf").status_code == 404


def test_anonymous_goes_to_login(client, survey_with_channels):
    response = client.get(f"/desk/questionnaires/{survey_with_channels.id}/posters.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_channel_of_another_questionnaire_is_404(logged_in, evaluator, survey_with_channels):
    questionnaire = survey_with_channels
    other = published(questionnaire.project)
    foreign = Channel(questionnaire=other, code="c1", name="别的问卷的采集点")
    db.session.add(foreign)
    db.session.commit()
    assert logged_in.get(f"/desk/questionnaires/{questionnaire.id}/channels/{foreign.id}/poster.pdf").status_code == 404
    assert logged_in.get(f"/desk/questionnaires/{other.id}/channels/{foreign.id}/poster.pdf").status_code == 200
    assert logged_in.get(f"/desk/questionnaires/{questionnaire.id}/channels/999999/poster.pdf").status_code == 404

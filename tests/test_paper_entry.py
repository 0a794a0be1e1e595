"""Paper entry (录入纸质问卷): the error summary names every refused question and links to its field,
and the page counts what was keyed in by channel."""

from __future__ import annotations

import io
import json
import re

import pypdf
import pytest

from survey.collection.paper import paper_fields
from survey.models import Channel, Response
from survey.platform.extensions import db
from tests.helpers import SEED_004_ANSWERS, make_project, published


@pytest.fixture
def grid(evaluator):
    return published(make_project(evaluator), "service_grid")


def _typed_grid(questionnaire, **changes) -> dict[str, str]:
    """A complete, valid keyed-in service_grid questionnaire (option 1 everywhere), with ``changes``."""
    typed = {f"p_{row['key']}": "1" for row in paper_fields(questionnaire.current_version.definition) if row["legend"]}
    return {**typed, **{f"p_{key}": value for key, value in changes.items()}}


def _summary(html: str) -> str:
    match = re.search(r'<div class="notice error-summary"[^>]*>(.*?)</div>', html, re.S)
    assert match, "no error summary"
    return match.group(1)


def test_the_error_summary_lists_each_refused_question_with_its_number_reason_and_link(logged_in, grid):
    url = f"/desk/questionnaires/{grid.id}/paper"
    refused = logged_in.post(url, data=_typed_grid(grid, q9="9", q2="1000", q10="服务很好"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    summary = _summary(html)
    items = re.findall(r"<li>(.*?)</li>", summary, re.S)
    assert len(items) == 2
    assert 'href="#p_q2"' in items[0] and "第 2 题" in items[0] and "999" in items[0]  # questionnaire order
    assert 'href="#p_q9"' in items[1] and "第 9 题" in items[1] and "请输入 1 到 6 之间的选项序号。" in items[1]
    assert 'id="p_q2"' in html and 'id="p_q9"' in html
    assert 'value="9"' in html and 'value="1000"' in html and 'value="服务很好"' in html  # what was typed is kept
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 0


def test_the_error_summary_names_a_matrix_row_and_a_missing_answer(logged_in, grid):
    rows = [row for row in paper_fields(grid.current_version.definition) if row["item"]]
    second = rows[1]
    typed = _typed_grid(grid, **{second["key"]: "", "q1": "7"})
    html = logged_in.post(f"/desk/questionnaires/{grid.id}/paper", data=typed).get_data(as_text=True)
    items = re.findall(r"<li>(.*?)</li>", _summary(html), re.S)
    assert len(items) == 2
    assert 'href="#p_q1"' in items[0] and "第 1 题" in items[0]
    assert f'href="#p_{second["key"]}"' in items[1] and f"第 {second['number']} 题" in items[1]
    assert "这是必答题" in items[1]


@pytest.fixture
def seed(evaluator):
    return published(make_project(evaluator))


def _paper_channel(logged_in, questionnaire) -> Channel:
    """The system 纸质问卷 channel, made as the entry page makes it."""
    assert logged_in.get(f"/desk/questionnaires/{questionnaire.id}/paper").status_code == 200
    query = db.select(Channel).filter_by(questionnaire_id=questionnaire.id, code="paper")
    return db.session.execute(query).scalar_one()


def test_the_paper_channel_has_no_public_link(app, logged_in, seed):
    """Answers counted as paper are keyed in by an evaluator: no link, QR code or poster leads respondents there."""
    paper = _paper_channel(logged_in, seed)
    street = Channel(questionnaire=seed, code="c1", name="东街社区")
    db.session.add(street)
    db.session.commit()
    phone = app.test_client()
    assert phone.get(f"/s/{paper.token}").status_code == 404
    assert phone.post(f"/s/{paper.token}", data={"q2": "a", "submission_id": "x"}).status_code == 404
    assert phone.get(f"/s/{street.token}").status_code == 200  # other channels keep theirs
    base = f"/desk/questionnaires/{seed.id}"
    assert logged_in.get(f"{base}/channels/{paper.id}/qr.png").status_code == 404
    assert logged_in.get(f"{base}/channels/{paper.id}/poster.pdf").status_code == 404
    page = logged_in.get(f"{base}/channels").get_data(as_text=True)
    assert paper.token not in page and street.token in page
    assert f"channels/{paper.id}/qr.png" not in page and f"channels/{paper.id}/poster.pdf" not in page
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 0


def test_posters_leave_out_the_paper_channel(app, logged_in, seed):
    paper = _paper_channel(logged_in, seed)
    pdf = logged_in.get(f"/desk/questionnaires/{seed.id}/posters.pdf").data
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) == 1 and "通用入口" in re.sub(r"\s+", "", text)  # the questionnaire's own link only
    assert paper.token not in text and "纸质问卷" not in text


def test_the_cli_lists_the_paper_channel_without_a_link(app, logged_in, seed, runner):
    paper = _paper_channel(logged_in, seed)
    listed = runner.invoke(args=["channel", "list", str(seed.id), "--json"])
    rows = json.loads(listed.stdout)["channels"]
    assert [(row["code"], row["link"]) for row in rows] == [("paper", None)]
    plain = runner.invoke(args=["channel", "list", str(seed.id)]).stdout
    assert "paper" in plain and paper.token not in plain and "None" not in plain


def test_the_page_counts_what_was_keyed_in_by_channel(app, logged_in, seed):
    """Entries keyed against another 采集点 show up in its own count; its online answers are not paper entries."""
    street = Channel(questionnaire=seed, code="c1", name="东海街道社区")
    db.session.add(street)
    db.session.commit()
    phone = app.test_client()
    online = phone.post(f"/s/{street.token}", data={**SEED_004_ANSWERS, "submission_id": "online-1"})
    assert online.status_code == 303
    url = f"/desk/questionnaires/{seed.id}/paper"
    typed = {"p_q1a": "单位", "p_q2": "1", "p_q3": "1", "p_q4": "1", "p_q5": "1", "p_q6": "1", "p_q7": "1"}
    for _ in range(2):
        stored = logged_in.post(url, data={**typed, "channel": "c1"})
        assert stored.status_code == 302
    page = logged_in.get(stored.location).get_data(as_text=True)
    assert "记入“东海街道社区”（该采集点已录入 2 份纸质问卷）" in page
    assert "“东海街道社区”已录入 2 份" in page and "“纸质问卷”已录入 0 份" in page
    logged_in.post(url, data=typed)
    page = logged_in.get(url).get_data(as_text=True)
    assert "“纸质问卷”已录入 1 份" in page and "“东海街道社区”已录入 2 份" in page


def test_the_desk_refuses_a_channel_name_already_used(logged_in, seed):
    url = f"/desk/questionnaires/{seed.id}/channels"
    assert logged_in.post(url, data={"name": "东街社区"}).status_code == 302
    assert logged_in.post(url, data={"name": "Hall A"}).status_code == 302
    for again in ("东街社区", " 东街 社区 ", "hall a", "HALL  A"):
        refused = logged_in.post(url, data={"name": again})
        assert refused.status_code == 422
        assert "已有名为" in refused.get_data(as_text=True)
    html = logged_in.post(url, data={"name": "东街社区"}).get_data(as_text=True)
    assert "已有名为“东街社区”的采集点，请换一个名称。" in html
    names = db.session.execute(db.select(Channel.name).order_by(Channel.id)).scalars().all()
    assert names == ["东街社区", "Hall A"]
    other = db.session.execute(db.select(Channel).filter_by(name="Hall A")).scalar_one()
    logged_in.post(f"{url}/{other.id}", data={"name": "东街社区"})  # renaming onto another's name
    db.session.refresh(other)
    assert other.name == "Hall A"
    logged_in.post(f"{url}/{other.id}", data={"name": "hall a"})  # its own name, recased: allowed
    db.session.refresh(other)
    assert other.name == "hall a"


def test_the_cli_refuses_duplicate_names_all_or_nothing(runner, seed, tmp_path):
    def add(*args):
        return runner.invoke(args=["channel", "add", str(seed.id), *args, "--as", "alice", "--json"])

    assert add("东街社区").exit_code == 0
    again = add("东街社区 ")
    assert again.exit_code != 0 and "东街社区" in again.output
    listing = tmp_path / "channels.csv"
    listing.write_text("名称\n西街社区\n派出所\n西街 社区\n", encoding="utf-8")
    within = add("--file", str(listing))
    assert within.exit_code != 0 and "第 4 行" in within.output and "第 2 行" in within.output
    listing.write_text("名称\n西街社区\n东街社区\n", encoding="utf-8")
    existing = add("--file", str(listing))
    assert existing.exit_code != 0 and "第 3 行" in existing.output and "东街社区" in existing.output
    names = db.session.execute(db.select(Channel.name)).scalars().all()
    assert names == ["东街社区"]  # nothing from the refused lists


def _cells(html: str, channel: Channel) -> list[str]:
    """The text of each cell of the channel's row on the channels page."""
    row = re.search(rf'<tr id="channel-{channel.id}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>|\s+", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_the_quota_column_says_unlimited_without_a_quota(app, logged_in, seed):
    free = Channel(questionnaire=seed, code="c1", name="东街社区")
    capped = Channel(questionnaire=seed, code="c2", name="西街社区", quota=30)
    db.session.add_all([free, capped])
    db.session.commit()
    for channel in (free, capped):
        phone = app.test_client()
        assert phone.post(f"/s/{channel.token}", data={**SEED_004_ANSWERS, "submission_id": channel.code}).status_code
    html = logged_in.get(f"/desk/questionnaires/{seed.id}/channels").get_data(as_text=True)
    header = re.findall(r"<th[^>]*>(.*?)</th>", html)
    quota = header.index("配额")
    assert _cells(html, free)[quota] == "不限"
    assert _cells(html, capped)[quota] == "1/30"

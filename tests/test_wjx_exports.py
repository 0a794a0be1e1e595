"""Real 问卷星 downloads: .xls (Excel 97, code page 936), .xlsx and CSV in 问卷星's own layouts.

Two layouts of the same answers are written here the way 问卷星 writes them: 按选项文本 (option texts,
multiple choice joined by ┋, 其他〖…〗) and 按选项序号 (option numbers, one 0/1 column per option of a
multiple-choice question). Every import is compared with what pandas reads from the same file, count by
count and row by row.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import random
import re

import openpyxl
import pandas as pd
import pytest
import xlwt

from forms.response import answers_reader
from survey.collection import import_reading
from survey.collection.import_checking import run_import
from survey.collection.import_mapping import default_plan
from survey.collection.import_reading import FileProblem, read_table
from survey.models import Questionnaire, Response
from survey.platform.extensions import db
from survey.questionnaires import publishing
from tests.helpers import make_project
from tests.test_response_import import form_of, upload

SPORTS = ["跑步", "球类", "游泳", "其他"]
AGES = ["18岁以下", "18~24岁", "25~29岁", "30~34岁", "35~39岁", "40~49岁", "50~59岁", "60岁及以上"]
SATISFACTION = ["非常满意", "满意", "一般", "不满意", "非常不满意"]
WJX_SURVEY = {
    "format": "survey-questionnaire/1",
    "title": "社区治安与健身调查",
    "sections": [
        {
            "key": "s1",
            "title": "基本情况",
            "questions": [
                {
                    "key": "sex",
                    "type": "single_choice",
                    "text": "您的性别",
                    "required": True,
                    "options": [{"key": "m", "text": "男"}, {"key": "f", "text": "女"}],
                },
                {
                    "key": "age",
                    "type": "single_choice",
                    "text": "您的年龄段",
                    "required": True,
                    "options": [{"key": f"a{i}", "text": text} for i, text in enumerate(AGES, start=1)],
                },
                {
                    "key": "sport",
                    "type": "multiple_choice",
                    "text": "您平时参加哪些运动？",
                    "options": [
                        {"key": "run", "text": "跑步"},
                        {"key": "ball", "text": "球类"},
                        {"key": "swim", "text": "游泳"},
                        {"key": "z", "text": "其他", "other": True},
                    ],
                },
                {
                    "key": "safe",
                    "type": "single_choice",
                    "text": "您对社区治安满意吗？",
                    "required": True,
                    "options": [{"key": f"s{i}", "text": text} for i, text in enumerate(SATISFACTION, start=1)],
                },
            ],
        }
    ],
}
META = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
QUESTIONS = ["1、您的性别", "2、您的年龄段", "3、您平时参加哪些运动？", "4、您对社区治安满意吗？"]
SPORT_COLUMNS = [f"3({sport})" for sport in SPORTS]  # 按选项序号: one 0/1 column per option


def respondents(n: int = 80, seed: int = 2018) -> list[dict]:
    """``n`` answers as 问卷星 holds them: option positions (1-based), sports chosen, an 其他 text."""
    rng = random.Random(seed)
    people = []
    for number in range(1, n + 1):
        sports = sorted(rng.sample(range(1, 4), rng.randint(0, 2)))
        other = None
        if rng.random() < 0.15:
            sports.append(4)
            other = rng.choice(["太极", "广场舞", "骑行"])
        people.append(
            {
                "number": number,
                "time": dt.datetime(2018, 6, 1, 8, 0) + dt.timedelta(minutes=37 * number),
                "seconds": rng.randint(40, 600),
                "sex": rng.randint(1, 2),
                "age": rng.choice([2, 3, 4, 5, 6, 7, 8]),  # nobody under 18: code 1 never occurs
                "sports": sports,
                "other": other,
                "safe": rng.randint(1, 5),
            }
        )
    return people


def text_rows(people: list[dict]) -> list[list]:
    """按选项文本: option texts, multiple choice joined by ┋, 其他〖text〗, (跳过) for nothing chosen."""
    rows = [META + QUESTIONS]
    for p in people:
        picked = [SPORTS[i - 1] if i != 4 else f"其他〖{p['other']}〗" for i in p["sports"]]
        rows.append(
            [
                p["number"],
                p["time"],
                f"{p['seconds']}秒",
                "手机提交",
                "直接访问",
                f"120.33.44.{p['number'] % 250}(福建-泉州)",
                "男" if p["sex"] == 1 else "女",
                AGES[p["age"] - 1],
                "┋".join(picked) or "(跳过)",
                SATISFACTION[p["safe"] - 1],
            ]
        )
    return rows


def number_rows(people: list[dict], with_other: bool = False) -> list[list]:
    """按选项序号: option numbers, a 0/1 column per sport; 问卷星 never writes the 其他 text here."""
    rows = [META + QUESTIONS[:2] + SPORT_COLUMNS + QUESTIONS[3:]]
    for p in people:
        sports = [p["sports"]] if with_other else [[i for i in p["sports"] if i != 4]]
        marks = [1 if i in sports[0] else 0 for i in range(1, 5)]
        rows.append(
            [
                p["number"],
                p["time"],
                f"{p['seconds']}秒",
                "手机提交",
                "直接访问",
                f"120.33.44.{p['number'] % 250}(福建-泉州)",
                p["sex"],
                p["age"],
                *marks,
                p["safe"],
            ]
        )
    return rows


def xls(rows: list[list], encoding: str = "gbk") -> bytes:
    """An Excel 97-2003 workbook as 问卷星 wrote them (BIFF8, a Chinese sheet name, real date cells)."""
    book = xlwt.Workbook(encoding=encoding)
    sheet = book.add_sheet("答卷数据")
    when = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime):
                sheet.write(r, c, value, when)
            else:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_file(rows: list[list], encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, dt.datetime) else v for v in row])
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def wjx(app, evaluator) -> Questionnaire:
    """The questionnaire both layouts were exported from, published."""
    questionnaire = publishing.import_questionnaire(make_project(evaluator), copy.deepcopy(WJX_SURVEY))
    publishing.publish(questionnaire)
    return questionnaire


def import_file(questionnaire: Questionnaire, data: bytes):
    table = read_table(data)
    return run_import(
        questionnaire, table, default_plan(table, questionnaire.current_version.definition), reader=answers_reader
    )


def stored(questionnaire: Questionnaire) -> list[Response]:
    query = db.select(Response).where(Response.questionnaire_id == questionnaire.id).order_by(Response.id)
    return list(db.session.execute(query).scalars())


def pandas_frame(data: bytes, kind: str) -> pd.DataFrame:
    """The file as pandas reads it, independently of the importer."""
    if kind == "xls":
        return pd.read_excel(io.BytesIO(data), engine="calamine", dtype=str)
    if kind == "xlsx":
        return pd.read_excel(io.BytesIO(data), engine="openpyxl", dtype=str)
    return pd.read_csv(io.BytesIO(data), encoding=kind, dtype=str)


def assert_matches_pandas(questionnaire: Questionnaire, frame: pd.DataFrame, layout: str) -> None:
    """Counts per option and every row's answers equal what pandas reads from the file."""
    responses = stored(questionnaire)
    assert len(responses) == len(frame)
    options = {q["key"]: q["options"] for q in questionnaire.current_version.definition["sections"][0]["questions"]}
    for (_i, row), response in zip(frame.iterrows(), responses, strict=True):
        answers = response.answers
        for key, header in (("sex", QUESTIONS[0]), ("age", QUESTIONS[1]), ("safe", QUESTIONS[3])):
            texts = [o["text"] for o in options[key]]
            expected = row[header] if layout == "text" else texts[int(float(row[header])) - 1]
            assert texts[[o["key"] for o in options[key]].index(answers[key])] == expected
        if layout == "text":
            cell = row[QUESTIONS[2]]
            picked = [] if cell == "(跳过)" else [p.split("〖")[0] for p in cell.split("┋")]
        else:
            picked = [s for s, column in zip(SPORTS, SPORT_COLUMNS, strict=True) if int(float(row[column])) == 1]
        keys = {o["text"]: o["key"] for o in options["sport"]}
        assert answers.get("sport", []) == [keys[t] for t in picked]
    for key, header in (("age", QUESTIONS[1]), ("safe", QUESTIONS[3])):
        texts = [o["text"] for o in options[key]]
        by_key = {o["key"]: o["text"] for o in options[key]}
        ours = pd.Series([by_key[r.answers[key]] for r in responses]).value_counts().to_dict()
        theirs = frame[header]
        if layout != "text":
            theirs = theirs.astype(float).astype(int).map(dict(enumerate(texts, start=1)))
        assert ours == theirs.value_counts().to_dict()


@pytest.mark.parametrize("layout", ["text", "numbers"])
@pytest.mark.parametrize("kind", ["xls", "xlsx", "gbk", "utf-8-sig"])
def test_wenjuanxing_layouts_match_pandas(wjx, layout, kind):
    people = respondents()
    rows = text_rows(people) if layout == "text" else number_rows(people)
    data = {"xls": xls, "xlsx": xlsx}[kind](rows) if kind in ("xls", "xlsx") else csv_file(rows, kind)
    report = import_file(wjx, data)
    assert report.ok, (report.general, report.problems[:5])
    assert report.imported == len(people)
    assert_matches_pandas(wjx, pandas_frame(data, kind), layout)
    first = stored(wjx)[0]
    assert first.submitted_at == dt.datetime(2018, 6, 1, 0, 37)  # 08:37 in Beijing
    assert first.duration_seconds == people[0]["seconds"]
    assert "120.33.44" not in str([r.answers for r in stored(wjx)])
    if layout == "text":
        others = [p["other"] for p in people if p["other"]]
        assert sorted(r.answers["sport__other"] for r in stored(wjx) if "sport__other" in r.answers) == sorted(others)


def test_xls_in_code_page_936_reads_chinese_headers_and_dates(app):
    rows = text_rows(respondents(3))
    table = read_table(xls(rows, "cp936"))
    assert table.headers == META + QUESTIONS
    assert table.row_numbers == [2, 3, 4]
    assert table.rows[0][1] == "2018-06-01 08:37:00" and table.rows[0][0] == "1"
    assert table.private == [5] and all(row[5] == "" for row in table.rows)


def test_xls_refusals(app, monkeypatch):
    good = xls(text_rows(respondents(2)))
    not_a_workbook = good.replace("Workbook".encode("utf-16-le"), "Wordbook".encode("utf-16-le"))
    with pytest.raises(FileProblem, match="不是 Excel 97-2003 工作簿"):
        read_table(not_a_workbook)  # an OLE2 file without a workbook stream (a Word document, a message)
    with pytest.raises(FileProblem, match="不是 Excel 97-2003 工作簿"):
        read_table(good[:8] + b"\0" * 600)

    monkeypatch.setattr(import_reading, "XLSX_MAX_UNPACKED", len(good) - 1)
    with pytest.raises(FileProblem, match="XLS 文件超过"):
        read_table(good)


def test_xls_through_the_upload_page(logged_in, wjx):
    client = logged_in
    page = client.get(f"/desk/questionnaires/{wjx.id}/import/").data.decode()
    assert ".xls," in page and ".xls（Excel 97-2003）" in page
    sent = upload(client, wjx, xls(text_rows(respondents(5))), "问卷星2018.xls")
    assert sent.status_code == 302, sent.data.decode()
    refused = upload(client, wjx, b"a,b\n1,2\n", "answers.exe")
    assert refused.status_code == 422 and "只能导入 .xlsx、.xls 或 .csv 文件" in refused.data.decode()


@pytest.mark.parametrize("lossy", ["ascii-question-marks", "replacement-characters"])
def test_a_csv_whose_chinese_was_lost_is_refused_with_the_reason(wjx, lossy):
    text = "\n".join(",".join(str(v) for v in row) for row in number_rows(respondents(3)))
    if lossy == "ascii-question-marks":
        data = text.encode("ascii", "replace")  # "1、您的性别" -> "1??????"
    else:
        data = text.encode("gbk").decode("utf-8", "replace").encode("utf-8")
    with pytest.raises(FileProblem) as refused:
        read_table(data)
    message = str(refused.value.message)
    assert "丢失了文字" in message and "重新下载" in message and "UTF-8" in message and "GBK" in message


def test_a_question_mark_in_a_real_header_is_not_lost_encoding(app):
    table = read_table("1、您满意吗?,Q2?,??\n满意,1,x\n".encode())
    assert table.headers == ["1、您满意吗?", "Q2?", "??"]  # one "??" column alone is not a lost file


@pytest.mark.parametrize("kind", ["xls", "gbk"])
def test_other_without_its_text_is_imported_and_flagged(wjx, kind):
    """问卷星's 按选项序号 download marks 其他 with 1 and never carries its text: imported, flagged, named."""
    people = respondents()
    rows = number_rows(people, with_other=True)
    data = xls(rows) if kind == "xls" else csv_file(rows, kind)
    report = import_file(wjx, data)
    assert report.ok, (report.general, report.problems[:5])
    chose_other = [p["number"] for p in people if 4 in p["sports"]]
    assert chose_other and report.imported == len(people)
    notes = [n for n in report.notes if "其他" in n]
    assert len(notes) == 1 and any("没有出现序号 1" in n for n in report.notes)  # nobody under 18
    note = notes[0]
    assert f"{len(chose_other)} 行" in note and "3(其他)" in note and "您选择了" not in note
    responses = stored(wjx)
    flagged = [i + 1 for i, r in enumerate(responses) if "other_without_text" in r.flags]
    assert flagged == chose_other
    for number in chose_other:
        answers = responses[number - 1].answers
        assert "z" in answers["sport"] and "sport__other" not in answers
    frame = pandas_frame(data, kind)
    assert int(frame["3(其他)"].astype(float).sum()) == sum("z" in r.answers.get("sport", []) for r in responses)


def test_the_review_page_shows_other_without_text(logged_in, wjx):
    import_file(wjx, xls(number_rows(respondents(), with_other=True)))
    flagged = next(r for r in stored(wjx) if "other_without_text" in r.flags)
    page = logged_in.get(f"/desk/questionnaires/{wjx.id}/responses/{flagged.number}")
    html = page.data.decode()
    assert page.status_code == 200 and "选了其他但无内容" in html and "选了“其他”，未填内容" in html
    listed = logged_in.get(f"/desk/questionnaires/{wjx.id}/responses?flag=other_without_text").data.decode()
    assert "选了其他但无内容" in listed


def test_the_check_page_tells_how_many_chose_other_without_text(logged_in, wjx):
    data = xls(number_rows(respondents(), with_other=True))
    sent = upload(logged_in, wjx, data, "问卷星按序号.xls")
    mapping_url = sent.headers["Location"]
    form = {**form_of(logged_in.get(mapping_url).data.decode()), "codes-ok": "1"}
    checked = logged_in.post(f"{mapping_url}/check", data=form)
    html = checked.data.decode()
    assert checked.status_code == 200 and "检查通过" in html
    assert 'id="report-notes"' in html and "3(其他)" in html and "选了其他但无内容" in html


def rows_with_empty_times(people: list[dict], empty: set[int]) -> list[list]:
    rows = text_rows(people)
    for number in empty:
        rows[number][1] = ""
    return rows


def test_empty_times_stay_unknown_never_the_import_time(logged_in, wjx):
    people = respondents(12)
    data = xls(rows_with_empty_times(people, {3, 7, 8}))
    report = import_file(wjx, data)
    assert report.ok, (report.general, report.problems[:5])
    assert any("3 行没有提交时间" in note and "时间不详" in note for note in report.notes)
    times = [r.submitted_at for r in stored(wjx)]
    assert [i + 1 for i, t in enumerate(times) if t is None] == [3, 7, 8]
    assert times[0] == dt.datetime(2018, 6, 1, 0, 37)
    listed = logged_in.get(f"/desk/questionnaires/{wjx.id}/responses").data.decode()
    assert listed.count("时间不详") == 3
    detail = logged_in.get(f"/desk/questionnaires/{wjx.id}/responses/3").data.decode()
    assert "时间不详" in detail and dt.date.today().isoformat() not in detail
    exported = logged_in.get(f"/desk/questionnaires/{wjx.id}/responses.csv").data.decode("utf-8-sig")
    unknown = [row for row in csv.reader(io.StringIO(exported)) if "时间不详" in row]
    assert len(unknown) == 3 and dt.date.today().isoformat() not in exported


def test_our_export_with_unknown_times_reimports_them_as_unknown(logged_in, wjx, evaluator):
    import_file(wjx, xls(rows_with_empty_times(respondents(5), {2})))
    exported = logged_in.get(f"/desk/questionnaires/{wjx.id}/responses.csv").data
    target = publishing.import_questionnaire(make_project(evaluator, "再导入"), copy.deepcopy(WJX_SURVEY))
    publishing.publish(target)
    report = import_file(target, exported)
    assert report.ok, (report.general, report.problems[:5])
    assert [r.submitted_at is None for r in stored(target)] == [False, True, False, False, False]


def test_the_evaluator_may_give_a_date_for_rows_without_time(logged_in, wjx):
    data = xls(rows_with_empty_times(respondents(6), {2, 5}))
    sent = upload(logged_in, wjx, data, "问卷星.xls")
    mapping_url = sent.headers["Location"]
    page = logged_in.get(mapping_url).data.decode()
    assert 'id="missing-time"' in page and "2 行答卷没有提交时间" in page
    form = form_of(page)
    bad = logged_in.post(f"{mapping_url}/check", data={**form, "missing_time": "2018-02-30"})
    assert bad.status_code == 422 and "无法识别的日期" in bad.data.decode()
    checked = logged_in.post(f"{mapping_url}/check", data={**form, "missing_time": "2018-06-01"})
    assert checked.status_code == 200 and "2 行没有提交时间，将记为 2018-06-01" in checked.data.decode()
    done = logged_in.post(f"{mapping_url}/run", data={**form, "missing_time": "2018-06-01"})
    assert done.status_code == 302
    times = [r.submitted_at for r in stored(wjx)]
    assert times[1] == times[4] == dt.datetime(2018, 5, 31, 16, 0)  # 2018-06-01 00:00 in Beijing


def test_a_file_without_a_time_column_is_all_unknown(wjx):
    rows = [row[6:] for row in text_rows(respondents(4))]
    report = import_file(wjx, csv_file(rows, "utf-8-sig"))
    assert report.ok and any("4 行没有提交时间" in note for note in report.notes)
    assert all(r.submitted_at is None for r in stored(wjx))


def test_code_tables_warn_about_gaps_and_a_highest_code_other_than_the_option_count(wjx):
    from survey.collection.import_mapping import code_tables

    people = respondents()
    for p in people:
        p["age"] += 1  # 问卷星 had one more age option at the top: codes 3…9, where ours has 8 options
    table = read_table(xls(number_rows(people)))
    plan = default_plan(table, wjx.current_version.definition)
    tables = {t.key: t for t in code_tables(table, plan, wjx.current_version.definition)}
    assert set(tables) == {"sex", "age", "safe"}  # the sports are 0/1 option columns, not codes
    age = tables["age"]
    assert [code for code, _n, _read in age.rows] == list(range(1, 10))
    assert age.rows[0] == (1, 0, "问卷第 1 项：18岁以下") and age.rows[4][2] == "问卷第 5 项：35~39岁"
    assert age.rows[8] == (9, sum(p["age"] == 9 for p in people), "无法识别：本题只有 8 个选项，请在“选项对照”中选择")
    plan.overrides["age"] = {"5": "a4"}  # the evaluator reads 问卷星's 5 as 30~34岁
    tables = {t.key: t for t in code_tables(table, plan, wjx.current_version.definition)}
    assert tables["age"].rows[4][2] == "已改为：30~34岁"
    assert any("没有出现序号 1、2" in w for w in age.warnings)
    assert any("最大的序号是 9" in w and "8 个选项" in w for w in age.warnings)
    assert tables["sex"].warnings == [] and tables["safe"].warnings == []


def test_a_coded_file_needs_the_code_tables_confirmed(logged_in, wjx):
    data = xls(number_rows(respondents()))  # nobody under 18: code 1 of 年龄 never occurs
    sent = upload(logged_in, wjx, data, "问卷星按序号.xls")
    mapping_url = sent.headers["Location"]
    page = logged_in.get(mapping_url).data.decode()
    assert 'id="code-tables"' in page and "问卷第 4 项：30~34岁" in page and "没有出现序号 1" in page
    form = form_of(page)
    unconfirmed = logged_in.post(f"{mapping_url}/check", data=form)
    assert unconfirmed.status_code == 422 and "序号对照无误" in unconfirmed.data.decode()
    assert logged_in.post(f"{mapping_url}/run", data=form).status_code == 422
    assert stored(wjx) == []
    done = logged_in.post(f"{mapping_url}/run", data={**form, "codes-ok": "1"})
    assert done.status_code == 302
    assert_matches_pandas(wjx, pandas_frame(data, "xls"), "numbers")


def test_reimporting_our_export_keeps_the_import_channel(logged_in, wjx, evaluator):
    rows = [[c for i, c in enumerate(row) if i != 3] for row in text_rows(respondents(3))]  # no 来源 column
    assert import_file(wjx, xls(rows)).ok
    assert {r.channel for r in stored(wjx)} == {"import"}
    exported = logged_in.get(f"/desk/questionnaires/{wjx.id}/responses.csv").data
    target = publishing.import_questionnaire(make_project(evaluator, "再导入"), copy.deepcopy(WJX_SURVEY))
    publishing.publish(target)
    assert import_file(target, exported).ok
    assert {r.channel for r in stored(target)} == {"import"}  # not "import:import"


def test_an_import_only_questionnaire_says_its_answers_came_from_a_file(logged_in, wjx):
    assert import_file(wjx, xls(text_rows(respondents(3)))).ok
    page = logged_in.get(f"/desk/projects/{wjx.project_id}").data.decode()
    assert "所有回答都来自文件导入" in page and "所有回答都来自问卷链接" not in page


def test_reopening_an_upload_after_republishing_keeps_value_overrides_whose_option_remains(logged_in, wjx):
    rows = text_rows(respondents(30))
    for row in rows[1:]:
        row[7] = {"18~24岁": "18-24", "60岁及以上": "60岁以上"}.get(row[7], row[7])
    sent = upload(logged_in, wjx, xls(rows), "问卷星.xls")
    mapping_url = sent.headers["Location"]
    page = logged_in.get(mapping_url).data.decode()
    form = form_of(page)
    for value, option in (("18-24", "a2"), ("60岁以上", "a8")):
        index = re.search(rf'name="vt-(\d+)" value="{value}"', page).group(1)
        form[f"vv-{index}"] = option
    assert logged_in.post(f"{mapping_url}/check", data=form).status_code == 200
    definition = copy.deepcopy(wjx.definition)
    definition["sections"][0]["questions"][1]["options"].pop()  # 60岁及以上 is gone from the new version
    wjx.definition = definition
    publishing.publish(wjx)
    reopened = logged_in.get(mapping_url).data.decode()
    kept = re.search(r'name="vt-(\d+)" value="18-24"', reopened).group(1)
    assert re.search(rf'<select name="vv-{kept}"[^>]*>.*?<option value="a2" selected>', reopened, re.S)
    gone = re.search(r'name="vt-(\d+)" value="60岁以上"', reopened).group(1)
    assert not re.search(rf'<select name="vv-{gone}"[^>]*>(?:(?!</select>).)*selected', reopened, re.S)


# --- 来源行号（序号）: every imported response can be traced back to its row in the file ------------------------


def shuffled_text_rows(people: list[dict], seed: int = 7) -> list[list]:
    """按选项文本 rows in another order (an export sorted by another column): 序号 no longer equals the row."""
    rows = text_rows(people)
    body = rows[1:]
    random.Random(seed).shuffle(body)
    return [rows[0], *body]


@pytest.mark.parametrize("kind", ["xls", "gbk"])
def test_source_rows_are_wenjuanxing_numbers_whatever_the_row_order(wjx, kind):
    people = respondents(40)
    rows = shuffled_text_rows(people)
    data = xls(rows) if kind == "xls" else csv_file(rows, kind)
    report = import_file(wjx, data)
    assert report.ok, (report.general, report.problems[:5])
    frame = pandas_frame(data, kind)
    responses = stored(wjx)
    assert [r.source_row for r in responses] == [int(float(n)) for n in frame["序号"]]
    assert [r.source_row for r in responses] != list(range(1, 41))  # really 序号, not the place in the file
    by_number = {p["number"]: p for p in people}
    for response in responses:  # the row 序号 names holds this response's answers
        person = by_number[response.source_row]
        assert response.answers["age"] == f"a{person['age']}" and response.answers["safe"] == f"s{person['safe']}"


def test_a_file_without_numbers_keeps_each_rows_place_under_the_header(wjx):
    rows = [row[1:] for row in text_rows(respondents(6))]  # no 序号 column
    lines = csv_file(rows, "utf-8-sig").decode("utf-8-sig").splitlines(keepends=True)
    data = "".join([*lines[:3], "\r\n", *lines[3:]]).encode("utf-8-sig")  # an empty line after two answers
    report = import_file(wjx, data)
    assert report.ok, (report.general, report.problems[:5])
    assert [r.source_row for r in stored(wjx)] == [1, 2, 4, 5, 6, 7]  # the empty line keeps its number


def test_a_source_number_that_is_not_a_whole_number_is_a_row_problem_and_repeats_are_noted(wjx):
    rows = text_rows(respondents(5))
    rows[2][0], rows[4][0], rows[5][0] = "第二", 3, 3
    table = read_table(xlsx(rows))
    report = run_import(wjx, table, default_plan(table, wjx.current_version.definition), reader=answers_reader)
    assert not report.ok and [(p.row, p.header) for p in report.problems] == [(3, "序号")]
    assert "正整数" in report.problems[0].message
    assert any("序号 3 在文件中不止出现一次" in note for note in report.notes)


def test_source_rows_reach_the_browser_and_every_export(logged_in, wjx, tmp_path):
    import pyreadstat

    from survey.respond.submit import store_response

    data = xls(shuffled_text_rows(respondents(30)))
    assert import_file(wjx, data).ok
    web = store_response(wjx, {"sex": "m", "age": "a3", "safe": "s1"}, "web-answer")[0]  # not imported
    db.session.commit()
    frame = pandas_frame(data, "xls")
    responses = [r for r in stored(wjx) if r.mode == "import"]
    wanted = next(r for r in responses if r.source_row == 17)
    row17 = frame[frame["序号"].astype(float).astype(int) == 17].iloc[0]
    base = f"/desk/questionnaires/{wjx.id}"

    listed = logged_in.get(f"{base}/responses?source_row=17").data.decode()
    assert "共 1 份答卷" in listed and f'/responses/{wanted.number}"' in listed and "来源行号" in listed
    detail = logged_in.get(f"{base}/responses/{wanted.number}").data.decode()
    assert "来源行号（序号）：17" in detail and row17[QUESTIONS[1]] in detail
    assert "来源行号（序号）" not in logged_in.get(f"{base}/responses/{web.number}").data.decode()
    assert "共 31 份答卷" in logged_in.get(f"{base}/responses?source_row=").data.decode()
    refused = logged_in.get(f"{base}/responses?source_row=第十七").data.decode()
    assert "共 31 份答卷" in refused and "来源行号应为正整数，已忽略。" in refused

    text = pd.read_csv(io.BytesIO(logged_in.get(f"{base}/responses.csv").data), encoding="utf-8-sig", dtype=str)
    sources = dict(zip(text["编号"].astype(int), text["来源行号（序号）"], strict=True))
    assert {n: int(s) for n, s in sources.items() if n != web.number} == {r.number: r.source_row for r in responses}
    assert pd.isna(sources[web.number])
    age_column = f"2. {WJX_SURVEY['sections'][0]['questions'][1]['text']}"
    assert text.loc[text["来源行号（序号）"] == "17", age_column].item() == row17[QUESTIONS[1]]
    codes = pd.read_csv(io.BytesIO(logged_in.get(f"{base}/data/responses-codes.csv").data), encoding="utf-8-sig")
    assert list(codes["source_row"].dropna().astype(int)) == [r.source_row for r in responses]
    assert "17.0" not in logged_in.get(f"{base}/data/responses-codes.csv").data.decode("utf-8-sig")
    for name in ("sav", "dta"):
        path = tmp_path / f"source-rows.{name}"
        with open(path, "wb") as file:
            file.write(logged_in.get(f"{base}/data/responses.{name}").data)
        table, meta = (pyreadstat.read_sav if name == "sav" else pyreadstat.read_dta)(path)
        assert meta.column_names_to_labels["source_row"] == "来源行号（序号）", name
        assert list(table["source_row"].iloc[:30].astype(int)) == [r.source_row for r in responses], name
        assert pd.isna(table["source_row"].iloc[30]), name
    book = openpyxl.load_workbook(io.BytesIO(logged_in.get(f"{base}/results.xlsx").data), read_only=True)
    raw = list(book["原始数据"].iter_rows(values_only=True))
    column = raw[0].index("来源行号（序号）")
    assert [row[column] for row in raw[1:31]] == [r.source_row for r in responses] and raw[31][column] in (None, "")


# --- the code table from the same questionnaire's 按选项文本 download, matched on 序号 ----------------------------


def shifted(people: list[dict]) -> list[dict]:
    """问卷星's questionnaire had one more age option at the top that nobody chose: its codes are 3…9 where
    ours are 2…8 (codes 1 and 2 never occur), so reading code n as our n-th option shifts every age."""
    return [{**p, "age": p["age"] + 1} for p in people]


def test_the_text_download_tells_each_code_row_by_row_on_the_number(wjx):
    from survey.collection.import_mapping import code_tables, take_text_codes, text_codes

    people = respondents()
    table = read_table(xls(number_rows(shifted(people))))
    text_data = csv_file(shuffled_text_rows(people), "gbk")  # another order: only 序号 pairs the rows
    definition = wjx.current_version.definition
    plan = default_plan(table, definition)
    text = text_codes(table, plan, definition, read_table(text_data))
    assert (text.rows, text.matched, text.problems) == (80, 80, [])
    age = text.evidence["age"]
    assert sorted(age) == sorted({p["age"] + 1 for p in people})
    assert {code: seen.option for code, seen in age.items()} == {code: f"a{code - 1}" for code in age}
    assert all(seen.problem == "" for codes in text.evidence.values() for seen in codes.values())
    assert age[5].texts == [("30~34岁", sum(p["age"] == 4 for p in people))]
    tables = {t.key: t for t in code_tables(table, plan, definition, text)}
    assert tables["age"].differs == set(age) and tables["sex"].differs == tables["safe"].differs == set()
    differ = [w for w in tables["age"].warnings if "与现在的读法不同" in w]
    assert len(differ) == 1 and "7 个序号（3、4、5、6、7、8、9）" in differ[0]
    assert "例如序号 3 是“18~24岁”，现在读作“问卷第 3 项：25~29岁”" in differ[0]

    assert take_text_codes(plan, text) == sum(len(codes) for codes in text.evidence.values())
    tables = {t.key: t for t in code_tables(table, plan, definition, text)}
    assert tables["age"].differs == set() and tables["age"].rows[4][2] == "已改为：30~34岁"
    assert not any("与现在的读法不同" in w for t in tables.values() for w in t.warnings)
    plan.codes_confirmed = True
    assert run_import(wjx, table, plan, text=text, reader=answers_reader).ok
    frame = pandas_frame(text_data, "gbk").set_index(pd.to_numeric(pandas_frame(text_data, "gbk")["序号"]))
    texts = {o["key"]: o["text"] for o in definition["sections"][0]["questions"][1]["options"]}
    responses = stored(wjx)
    assert len(responses) == 80
    for response in responses:  # each stored age is what the text download says for that 序号
        assert texts[response.answers["age"]] == frame.loc[response.source_row, QUESTIONS[1]]
    ours = pd.Series([texts[r.answers["age"]] for r in responses]).value_counts().to_dict()
    assert ours == frame[QUESTIONS[1]].value_counts().to_dict()


def test_the_text_download_shows_codes_it_cannot_settle_and_rows_it_cannot_pair(wjx):
    from survey.collection.import_mapping import code_tables, text_codes, text_overrides

    people = respondents(30)
    rows = text_rows(people)
    definition = wjx.current_version.definition
    rows[1][0] = rows[2][0]  # a 序号 twice in the text file: neither row is used
    del rows[-1]  # and the last answer is missing from it
    paired = rows[3:]
    five = [row for row in paired if row[7] == AGES[4]]  # code 5 in the numbers file (no shift here)
    five[0][7] = AGES[5]  # one row of the text file says something else for the same code
    for row in rows[1:]:
        if row[7] == AGES[6]:
            row[7] = "七十岁"  # not an option of ours
    table = read_table(xlsx(number_rows(people)))
    plan = default_plan(table, definition)
    text = text_codes(table, plan, definition, read_table(xlsx(rows)))
    assert text.matched == 30 - 3
    assert any("有 3 行的序号在按选项文本文件中找不到" in p for p in text.problems)
    age = text.evidence["age"]
    assert age[5].problem == "conflict" and age[5].option is None
    assert age[5].texts == [(AGES[4], len(five) - 1), (AGES[5], 1)]
    assert age[7].problem == "not_option" and age[7].texts[0][0] == "七十岁"
    assert "5" not in text_overrides(text)["age"] and "7" not in text_overrides(text)["age"]
    warnings = next(t for t in code_tables(table, plan, definition, text) if t.key == "age").warnings
    assert any("序号 5 在按选项文本文件中对应不同的选项" in w for w in warnings)
    assert any("序号 7 在按选项文本文件中是“七十岁”，本题没有这个选项" in w for w in warnings)

    unmapped = default_plan(table, definition)
    unmapped.mapping[0] = "ignore"  # the upload's 序号 not taken as the source row: nothing to pair on
    assert "序号（来源行号）" in text_codes(table, unmapped, definition, read_table(xlsx(rows))).problems[0]
    no_numbers = [row[1:] for row in rows]
    found = text_codes(table, plan, definition, read_table(xlsx(no_numbers)))
    assert found.evidence == {} and "没有“序号”列" in found.problems[0]


def test_the_mapping_screen_takes_the_code_table_from_the_text_download(logged_in, wjx):
    people = respondents()
    data = xls(number_rows(shifted(people)))
    text_data = xls(shuffled_text_rows(people))
    sent = upload(logged_in, wjx, data, "问卷星按序号.xls")
    mapping_url = sent.headers["Location"]
    page = logged_in.get(mapping_url).data.decode()
    assert 'id="text-export"' in page and 'id="take-text-codes"' not in page
    form = form_of(page)

    def send(content: bytes, name: str):
        return logged_in.post(
            f"{mapping_url}/text-codes",
            data={**form, "text_file": (io.BytesIO(content), name)},
            content_type="multipart/form-data",
        )

    same = send(data, "again.xls")
    assert same.status_code == 422 and "这就是正在导入的文件" in same.data.decode()
    numbers_again = send(xls(number_rows(respondents(10, seed=1))), "other.xls")
    assert numbers_again.status_code == 422 and "答案也是选项序号" in numbers_again.data.decode()
    assert send(b"", "empty.csv").status_code == 422

    read = send(text_data, "问卷星按文本.xls")
    page = read.data.decode()
    assert read.status_code == 200 and "按序号对上 80 行" in page and 'id="take-text-codes"' in page
    assert "与现在的读法不同" in page and f"30~34岁（{sum(p['age'] == 4 for p in people)} 行）" in page
    assert 'id="text-export"' in logged_in.get(mapping_url).data.decode()  # kept with the upload
    assert "按序号对上 80 行" in logged_in.get(mapping_url).data.decode()

    taken = logged_in.post(f"{mapping_url}/check", data={**form_of(page), "text-codes": "accept", "codes-ok": "1"})
    page = taken.data.decode()
    assert taken.status_code == 422 and "勾选“序号对照无误”" in page  # the evaluator still confirms
    assert 'id="codes-ok" checked' not in page and 'id="codes-ok">' in page
    assert "已改为：30~34岁" in page and "与现在的读法不同" not in page and 'id="take-text-codes"' not in page
    assert stored(wjx) == []
    done = logged_in.post(f"{mapping_url}/run", data={**form_of(page), "codes-ok": "1"})
    assert done.status_code == 302
    frame = pandas_frame(text_data, "xls")
    frame.index = frame["序号"].astype(float).astype(int)
    texts = dict(zip([f"a{i}" for i in range(1, 9)], AGES, strict=True))
    responses = stored(wjx)
    assert len(responses) == 80
    assert all(texts[r.answers["age"]] == frame.loc[r.source_row, QUESTIONS[1]] for r in responses)


def test_unknown_times_stay_unknown_in_every_data_set_and_the_results_workbook(logged_in, wjx, tmp_path):
    import pyreadstat

    data = xls(rows_with_empty_times(respondents(12), {3, 7, 8}))
    assert import_file(wjx, data).ok
    responses = stored(wjx)
    unknown = [i for i, r in enumerate(responses) if r.submitted_at is None]
    assert unknown == [2, 6, 7]
    base = f"/desk/questionnaires/{wjx.id}"
    today = dt.date.today().isoformat()

    codes_bytes = logged_in.get(f"{base}/data/responses-codes.csv").data
    codes = pd.read_csv(io.BytesIO(codes_bytes), encoding="utf-8-sig", dtype=str)
    time_column = next(c for c in codes.columns if c.startswith("submitted_"))
    assert [i for i, v in enumerate(codes[time_column]) if pd.isna(v)] == unknown
    assert codes[time_column].iloc[0] == "2018-06-01 08:37:00" and today not in codes_bytes.decode("utf-8-sig")
    for name in ("sav", "dta"):
        path = tmp_path / f"times.{name}"
        path.write_bytes(logged_in.get(f"{base}/data/responses.{name}").data)
        table, _meta = (pyreadstat.read_sav if name == "sav" else pyreadstat.read_dta)(path)
        column = next(c for c in table.columns if c.startswith("submitted_"))
        assert [i for i, v in enumerate(table[column]) if pd.isna(v)] == unknown, name
        assert all(pd.Timestamp(v).year == 2018 for v in table[column].dropna()), name

    book = openpyxl.load_workbook(io.BytesIO(logged_in.get(f"{base}/results.xlsx").data), read_only=True)
    raw = list(book["原始数据"].iter_rows(values_only=True))
    column = next(i for i, header in enumerate(raw[0]) if str(header).startswith("提交时间"))
    assert [i for i, row in enumerate(raw[1:]) if row[column] == "时间不详"] == unknown
    assert not any(today in str(cell) for row in raw[1:] for cell in row)
    results = logged_in.get(f"{base}/results").data.decode()
    assert today not in results


def test_a_text_download_whose_scale_options_are_numbers_is_still_a_text_download(logged_in, evaluator):
    scored = copy.deepcopy(WJX_SURVEY)
    safe = scored["sections"][0]["questions"][3]
    safe["options"] = [{"key": f"s{i}", "text": str(i)} for i in range(1, 6)]  # a 1…5 scale: texts are numbers
    questionnaire = publishing.import_questionnaire(make_project(evaluator, "评分"), scored)
    publishing.publish(questionnaire)
    people = respondents(20)
    rows = text_rows(people)
    for row, person in zip(rows[1:], people, strict=True):
        row[9] = str(person["safe"])
    sent = logged_in.post(
        f"/desk/questionnaires/{questionnaire.id}/import/",
        data={"file": (io.BytesIO(xls(number_rows(shifted(people)))), "按序号.xls")},
        content_type="multipart/form-data",
    )
    mapping_url = sent.headers["Location"]
    form = form_of(logged_in.get(mapping_url).data.decode())
    read = logged_in.post(
        f"{mapping_url}/text-codes",
        data={**form, "text_file": (io.BytesIO(xlsx(rows)), "按文本.xlsx")},
        content_type="multipart/form-data",
    )
    page = read.data.decode()
    assert read.status_code == 200 and "答案也是选项序号" not in page and "按序号对上 20 行" in page
    assert 'id="take-text-codes"' in page  # the ages are read otherwise; the scale agrees

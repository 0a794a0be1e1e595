"""Write ``xlsform_sample.xlsx``: a 群众安全感 survey as a KoboToolbox user would export it.

It exercises what ``survey.questionnaires.xlsform`` imports: Chinese and English label columns, a settings sheet,
groups (one with a ``relevant``), select_one / select_multiple, both ``relevant`` styles, integer,
decimal, date, text, a note and the ``start`` / ``end`` metadata rows. Run it after changing the
rows below:

    python tests/data/make_xlsform_sample.py

The output is byte-for-byte reproducible (fixed document and zip timestamps), so re-running it
without changes leaves nothing to commit.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook

OUTPUT = Path(__file__).with_name("xlsform_sample.xlsx")
FIXED_TIME = datetime.datetime(2024, 1, 1)
MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")

# fmt: off
SURVEY_HEADER = [
    "type", "name", "label::Chinese (zh)", "label::English (en)", "hint::Chinese (zh)", "hint::English (en)",
    "required", "relevant", "constraint", "appearance",
]
SURVEY = [
    ["start", "start", "", "", "", "", "", "", "", ""],
    ["end", "end", "", "", "", "", "", "", "", ""],
    ["note", "welcome", "您好！为了解群众对社会治安的感受，我们开展本次调查。问卷匿名填写，约需 3 分钟。",
     "Hello! This anonymous survey takes about 3 minutes.", "", "", "", "", "", ""],
    ["begin group", "basic", "基本情况", "About you", "", "", "", "", "", "field-list"],
    ["select_one gender", "gender", "您的性别", "Gender", "", "", "yes", "", "", ""],
    ["integer", "Age", "您的年龄", "Age", "请填写周岁", "Years", "yes", "", ". >= 16 and . <= 100", ""],
    ["select_one district", "district", "您居住在", "Where do you live?", "", "", "yes", "", "", ""],
    ["end group", "", "", "", "", "", "", "", "", ""],
    ["begin group", "safety", "治安感受", "Sense of safety", "", "", "", "", "", ""],
    ["select_one safety_level", "safe", "在目前的社会治安环境下，您感觉安全吗？",
     "How safe do you feel?", "", "", "yes", "", "", ""],
    ["select_multiple worries", "worries", "哪些问题让您感到不安全？（可多选）",
     "What makes you feel unsafe?", "", "", "yes",
     "selected(${safe}, 'unsafe') or selected(${safe}, 'very_unsafe')", "", ""],
    ["select_one trend", "trend", "与去年相比，您所在地区的治安状况有何变化？",
     "Compared with last year, public order is", "", "", "no", "", "", ""],
    ["text", "worse_reason", "您认为治安变差的主要原因是什么？", "Why has it got worse?", "", "", "no",
     '${trend} = "worse"', "", ""],
    ["end group", "", "", "", "", "", "", "", "", ""],
    ["select_one yesno", "contacted", "过去一年，您是否因办事或报警与公安机关打过交道？",
     "Did you deal with the police in the past year?", "", "", "yes", "", "", ""],
    ["begin group", "service", "对公安服务的评价", "Police service", "", "", "",
     "${contacted} = 'yes'", "", ""],
    ["select_one satisfaction", "attitude", "您对民警的服务态度是否满意？",
     "Were you satisfied with the officers' attitude?", "", "", "yes", "", "", ""],
    ["date", "visit_date", "最近一次办事的日期", "Date of your last visit", "", "", "no", "", "", ""],
    ["decimal", "wait_hours", "当次办事大约等了多少小时？", "Hours waited",
     "可填小数，如 0.5", "e.g. 0.5", "no", "", ". >= 0", ""],
    ["end group", "", "", "", "", "", "", "", "", ""],
    ["text", "suggestion", "您对提升群众安全感还有什么意见和建议？", "Any suggestions?",
     "选填", "Optional", "no", "", "", "multiline"],
]

CHOICES_HEADER = ["list_name", "name", "label::Chinese (zh)", "label::English (en)"]
CHOICES = [
    ["gender", "male", "男", "Male"],
    ["gender", "female", "女", "Female"],
    ["district", "urban", "城区", "Urban"],
    ["district", "suburb", "城乡结合部", "Suburb"],
    ["district", "rural", "农村", "Rural"],
    ["safety_level", "very_safe", "很安全", "Very safe"],
    ["safety_level", "safe", "安全", "Safe"],
    ["safety_level", "fairly_safe", "基本安全", "Fairly safe"],
    ["safety_level", "unsafe", "不太安全", "Not very safe"],
    ["safety_level", "very_unsafe", "不安全", "Unsafe"],
    ["safety_level", "dont_know", "说不清", "Don't know"],
    ["worries", "theft", "盗窃", "Theft"],
    ["worries", "fraud", "电信网络诈骗", "Phone and online fraud"],
    ["worries", "robbery", "抢劫抢夺", "Robbery"],
    ["worries", "traffic", "交通安全", "Traffic"],
    ["worries", "disputes", "邻里纠纷", "Neighbour disputes"],
    ["trend", "better", "变好了", "Better"],
    ["trend", "same", "没有变化", "The same"],
    ["trend", "worse", "变差了", "Worse"],
    ["trend", "dont_know", "说不清", "Don't know"],
    ["yesno", "yes", "是", "Yes"],
    ["yesno", "no", "否", "No"],
    ["satisfaction", "very_satisfied", "很满意", "Very satisfied"],
    ["satisfaction", "satisfied", "满意", "Satisfied"],
    ["satisfaction", "fair", "一般", "Fair"],
    ["satisfaction", "dissatisfied", "不满意", "Dissatisfied"],
]

SETTINGS = [
    ["form_title", "form_id", "version", "default_language"],
    ["2024年度群众安全感调查", "public_safety_2024", "2024010101", "Chinese (zh)"],
]
# fmt: on


def build_workbook() -> Workbook:
    """The sample as an openpyxl workbook (the tests compare it with the committed file)."""
    workbook = Workbook()
    survey = workbook.active
    survey.title = "survey"
    for row in [SURVEY_HEADER, *SURVEY]:
        survey.append([cell if cell != "" else None for cell in row])
    choices = workbook.create_sheet("choices")
    for row in [CHOICES_HEADER, *CHOICES]:
        choices.append(row)
    settings = workbook.create_sheet("settings")
    for row in SETTINGS:
        settings.append(row)
    workbook.properties.creator = "survey-eval tests"
    workbook.properties.created = workbook.properties.modified = FIXED_TIME
    return workbook


def workbook_bytes(workbook: Workbook) -> bytes:
    """The saved .xlsx dated ``FIXED_TIME`` throughout, so the output is reproducible.

    openpyxl stamps the save time into docProps/core.xml and into every zip entry; both are reset.
    """
    saved = io.BytesIO()
    workbook.save(saved)
    fixed = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                content = MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            info = zipfile.ZipInfo(entry.filename, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, content)
    return fixed.getvalue()


def main() -> None:
    OUTPUT.write_bytes(workbook_bytes(build_workbook()))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()

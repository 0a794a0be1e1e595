"""A questionnaire's own English texts: swapping them in, validating them, editing, moving and showing them."""

from __future__ import annotations

import copy
import io
import re

import pypdf
import pytest

from app import create_app
from survey.models import Response
from survey.platform.extensions import db
from survey.questionnaires import authoring
from survey.questionnaires.definition import DefinitionError, normalize_definition, validate_definition
from survey.questionnaires.library import load_template
from survey.questionnaires.localize import ENGLISH_FIELDS, english_coverage, language_of, localize_definition
from survey.questionnaires.portable import export_json, parse_definition
from survey.questionnaires.publishing import import_questionnaire, publish
from tests.conftest import make_config
from tests.helpers import SEED_004_ANSWERS, make_project, published

CHINESE = re.compile(r"[\u4e00-\u9fff]")
BILINGUAL = {
    "format": "survey-questionnaire/1",
    "title": "治安调查",
    "title_en": "Public order survey",
    "intro": "您好！",
    "intro_en": "Hello!",
    "thanks": "谢谢您！\n祝您平安。",
    "thanks_en": "Thank you!\nStay safe.",
    "sections": [
        {
            "key": "s1",
            "title": "感受",
            "title_en": "How you feel",
            "intro": "请按实际感受回答。",
            "questions": [
                {
                    "key": "q1",
                    "type": "rating",
                    "text": "您感觉安全吗？",
                    "text_en": "Do you feel safe?",
                    "help": "按最近一年",
                    "help_en": "   ",
                    "required": True,
                    "options": [
                        {"key": "a", "text": "安全", "text_en": "Safe", "positive": True},
                        {"key": "b", "text": "一般", "text_en": "So-so"},
                        {"key": "c", "text": "不安全"},
                    ],
                },
                {
                    "key": "q2",
                    "type": "matrix",
                    "text": "请评价：",
                    "text_en": "Please rate:",
                    "items": [{"key": "a1", "text": "巡逻", "text_en": "Patrols"}, {"key": "a2", "text": "照明"}],
                    "options": [
                        {"key": "a", "text": "满意", "text_en": "Satisfied", "positive": True},
                        {"key": "b", "text": "一般", "text_en": "Average"},
                        {"key": "c", "text": "不满意", "text_en": "Dissatisfied"},
                    ],
                },
                {"key": "q3", "type": "number", "text": "几次？", "unit": "次", "unit_en": "times"},
            ],
        }
    ],
}


@pytest.fixture
def context():
    """Problems are lazy strings: read them inside an app (Chinese, the default locale)."""
    app = create_app(make_config("sqlite://"))
    with app.app_context():
        yield app


def problems(definition: dict) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        validate_definition(definition)
    return {p.path: str(p.message) for p in caught.value.problems}


# --- localize_definition ------------------------------------------------------------------------


def test_english_texts_are_swapped_in_and_chinese_fills_the_gaps():
    english = localize_definition(BILINGUAL, "en")
    assert (english["title"], english["intro"], english["thanks"]) == (
        "Public order survey",
        "Hello!",
        BILINGUAL["thanks_en"],
    )
    section = english["sections"][0]
    assert section["title"] == "How you feel" and section["intro"] == "请按实际感受回答。"  # no intro_en
    q1, q2, q3 = section["questions"]
    assert q1["text"] == "Do you feel safe?" and q1["help"] == "按最近一年"  # a blank twin counts as missing
    assert [o["text"] for o in q1["options"]] == ["Safe", "So-so", "不安全"]
    assert [i["text"] for i in q2["items"]] == ["Patrols", "照明"]
    assert q3["text"] == "几次？" and q3["unit"] == "times"


def test_keys_and_everything_else_stay_and_the_argument_is_untouched():
    before = copy.deepcopy(BILINGUAL)
    english = localize_definition(BILINGUAL, "en_US")
    assert BILINGUAL == before
    assert set(english) == set(BILINGUAL)
    for got, was in zip(english["sections"][0]["questions"], BILINGUAL["sections"][0]["questions"], strict=True):
        assert set(got) == set(was) and got["key"] == was["key"] and got["type"] == was["type"]
        assert [o["key"] for o in got.get("options", [])] == [o["key"] for o in was.get("options", [])]
        assert [i["key"] for i in got.get("items", [])] == [i["key"] for i in was.get("items", [])]
    assert english["sections"][0]["questions"][0]["options"][0]["positive"] is True


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "zh", "", None, "fr"])
def test_other_languages_get_an_unchanged_copy(locale):
    shown = localize_definition(BILINGUAL, locale)
    assert shown == BILINGUAL and shown is not BILINGUAL
    assert shown["sections"][0]["questions"][0]["text"] == "您感觉安全吗？"


def test_flat_definitions_and_language_names():
    flat = {"title": "问卷", "questions": [{"key": "q1", "type": "text", "text": "单位？", "text_en": "Unit?"}]}
    assert localize_definition(flat, "en")["questions"][0]["text"] == "Unit?"
    assert [language_of(x) for x in ("en", "en-GB", "EN_us", "zh_Hans_CN", None)] == ["en", "en", "en", "zh", ""]


def test_english_coverage_counts_only_texts_that_exist():
    assert english_coverage(BILINGUAL) == (13, 18)  # missing: section intro, q1 help (blank), c, a2, q3 text
    assert english_coverage({"title": "问卷", "sections": []}) == (0, 1)
    assert english_coverage(normalize_definition(load_template("police_enforcement")))[0] == 0


@pytest.mark.parametrize("key", ["public_safety", "fengze_service_object"])
def test_the_two_main_templates_are_fully_translated(key):
    done, total = english_coverage(load_template(key))
    assert done == total > 20
    english = normalize_definition(localize_definition(load_template(key), "en"))
    questions = [q for s in english["sections"] for q in s["questions"]]
    texts = [english["title"], english["intro"], *(q["text"] for q in questions)]
    texts += [o["text"] for q in questions for o in q.get("options", [])]
    assert not [t for t in texts if CHINESE.search(t)]


# --- validation ---------------------------------------------------------------------------------


def test_a_bilingual_definition_is_valid(context):
    validate_definition(BILINGUAL)


def test_english_problems_are_named_by_path(context):
    broken = copy.deepcopy(BILINGUAL)
    broken["subtitle_en"] = "x"
    broken["thanks_en"] = 5
    broken["sections"][0]["dimension_en"] = "y"
    q1 = broken["sections"][0]["questions"][0]
    q1["txt_en"] = "typo"
    q1["text_en"] = "x" * (ENGLISH_FIELDS["question"]["text"] + 1)
    q1["options"][1]["text_en"] = ["So-so"]
    broken["sections"][0]["questions"][1]["items"][0]["text_en"] = "y" * 501
    found = problems(broken)
    assert found == {
        "subtitle_en": "这里没有英文字段“subtitle_en”，可用的是：title_en、intro_en、thanks_en。",
        "thanks_en": "英文文本必须是文字。",
        "sections[0].dimension_en": "这里没有英文字段“dimension_en”，可用的是：title_en、intro_en。",
        "sections[0].questions[0].txt_en": "这里没有英文字段“txt_en”，可用的是：text_en、help_en、unit_en。",
        "sections[0].questions[0].text_en": "英文文本不能超过 1500 个字符。",
        "sections[0].questions[0].options[1].text_en": "英文文本必须是文字。",
        "sections[0].questions[1].items[0].text_en": "英文文本不能超过 500 个字符。",
    }


def test_thanks_must_be_short_text(context):
    assert problems({**BILINGUAL, "thanks": "谢" * 1001}) == {"thanks": "感谢语不能超过 1000 个字。"}
    assert problems({**BILINGUAL, "thanks": 3}) == {"thanks": "这一项必须是文字。"}


def test_flat_paths_name_the_authors_structure(context):
    flat = {"title": "问卷", "questions": [{"key": "q1", "type": "text", "text": "单位？", "text_en": 1}]}
    assert list(problems(flat)) == ["questions[0].text_en"]


# --- authoring ----------------------------------------------------------------------------------


def test_authoring_sets_and_clears_english_texts(context):
    definition = normalize_definition(load_template("police_enforcement"))
    first = definition["sections"][0]["questions"][0]["key"]
    result = authoring.update_questionnaire(
        definition, definition["title"], "开头", title_en=" Survey ", intro_en="A\r\nB", thanks="谢谢", thanks_en=None
    )
    assert (result["title_en"], result["intro_en"], result["thanks"]) == ("Survey", "A\nB", "谢谢")
    assert "thanks_en" not in result
    result = authoring.update_questionnaire(result, result["title"], "开头", title_en="")
    assert "title_en" not in result and result["intro_en"] == "A\nB", "blank removes, not given keeps"
    result = authoring.update_section(result, "s1", "第一部分", "", title_en="Part one", intro_en="")
    assert result["sections"][0]["title_en"] == "Part one" and "intro_en" not in result["sections"][0]
    result = authoring.add_section(result, "新部分", title_en="New part", key="s9")
    assert result["sections"][-1]["title_en"] == "New part"
    result = authoring.update_question(result, first, text_en="In English", help_en="")
    assert authoring.find_question(result, first)["text_en"] == "In English"
    option = authoring.find_question(result, first)["options"][0]["key"]
    result = authoring.update_option(result, first, option, text_en="First")
    assert authoring.find_question(result, first)["options"][0]["text_en"] == "First"
    validate_definition(result)
    with pytest.raises(ValueError, match="dimension_en"):
        authoring.update_section(result, "s1", "x", dimension_en="no")


# --- portable formats -----------------------------------------------------------------------------


def test_json_export_and_import_carry_the_english_texts(context):
    exported = export_json(BILINGUAL)
    assert '"text_en": "Do you feel safe?"' in exported
    assert parse_definition(exported.encode()) == normalize_definition(BILINGUAL)
    seed = normalize_definition(load_template("fengze_service_object"))
    assert parse_definition(export_json(seed).encode()) == seed


# --- the respondent page, thanks page and paper form -----------------------------------------------


def test_respondent_page_in_english_shows_the_english_texts(client, evaluator):
    questionnaire = published(make_project(evaluator))
    token = questionnaire.public_token
    chinese = client.get(f"/s/{token}").data.decode()
    assert "您对丰泽区的治安满意吗？" in chinese and "Are you satisfied with public order" not in chinese
    english = client.get(f"/s/{token}?lang=en").data.decode()
    assert "Are you satisfied with public order in Fengze District?" in english
    assert "您对丰泽区的治安满意吗？" not in english
    assert "Clearly improved" in english and 'value="a"' in english
    assert "<title>Service Users" in english
    response = client.post(f"/s/{token}", data={**SEED_004_ANSWERS, "submission_id": "en-1"})
    assert response.status_code == 303, "answered in English, stored under the same keys"
    stored = db.session.execute(db.select(Response)).scalar_one()
    assert stored.answers["q2"] == "a" and stored.answers["q6__other"] == "希望扩大覆盖"


def test_a_questionnaire_without_english_stays_chinese_on_an_english_page(client, evaluator):
    questionnaire = published(make_project(evaluator), "police_enforcement")
    definition = questionnaire.current_version.definition
    first = normalize_definition(definition)["sections"][0]["questions"][0]["text"]
    english = client.get(f"/s/{questionnaire.public_token}?lang=en").data.decode()
    assert first in english and definition["title"] in english


def test_thanks_page_shows_the_questionnaires_own_thanks(client, evaluator):
    questionnaire = import_questionnaire(make_project(evaluator), normalize_definition(BILINGUAL))
    publish(questionnaire)
    url = f"/s/{questionnaire.public_token}/thanks"
    chinese = client.get(url).data.decode()
    assert "<p>谢谢您！</p>" in chinese and "<p>祝您平安。</p>" in chinese and "治安调查" in chinese
    english = client.get(url + "?lang=en").data.decode()
    assert "<p>Thank you!</p>" in english and "Public order survey" in english and "谢谢您！" not in english


def test_paper_form_follows_lang(logged_in, evaluator):
    questionnaire = published(make_project(evaluator))

    def text(url: str) -> str:
        response = logged_in.get(url)
        assert response.status_code == 200
        return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.data)).pages)

    base = f"/desk/questionnaires/{questionnaire.id}/paper-form.pdf"
    assert "Fengze District" in " ".join(text(base + "?lang=en").split())
    assert "丰泽区的治安满意吗" in "".join(text(base + "?lang=zh_Hans_CN").split())

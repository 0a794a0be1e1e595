"""The questionnaire builder: the authoring functions directly, then the pages through the test client.

Authoring tests need no database. View tests post what the edit page itself shows (read back from
its HTML, as a browser would send it) with the evaluator's changes, so the forms are tested as used.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from html.parser import HTMLParser

import pypdf
import pytest

from survey.accounts.access import add_member
from survey.accounts.users import create_user
from survey.models import Questionnaire, QuestionnaireVersion
from survey.platform.extensions import db
from survey.questionnaires import authoring
from survey.questionnaires.definition import (
    DefinitionError,
    normalize_definition,
    numbered_questions,
    validate_definition,
)
from survey.questionnaires.library import load_template
from survey.questionnaires.publishing import create_questionnaire
from survey.questionnaires.qtypes import QUESTION_TYPES
from tests.conftest import login
from tests.helpers import hidden_value, make_project

# --- helpers ----------------------------------------------------------------------------------


def template(key: str = "public_safety") -> dict:
    return normalize_definition(load_template(key))


def keys(definition: dict) -> list[list[str]]:
    return [[q["key"] for q in s["questions"]] for s in definition["sections"]]


def question(definition: dict, key: str) -> dict:
    return authoring.find_question(definition, key)


def option_keys(definition: dict, key: str) -> list[str]:
    return [o["key"] for o in question(definition, key)["options"]]


def refusal(call) -> str:
    with pytest.raises(DefinitionError) as caught:
        call()
    return " ".join(str(p.message) for p in caught.value.problems)


# --- authoring: new questions -----------------------------------------------------------------


@pytest.mark.parametrize("qtype", list(QUESTION_TYPES))
def test_every_type_can_be_added_and_the_result_validates(qtype):
    definition = authoring.empty_definition("测试问卷")
    validate_definition(definition)
    result = authoring.add_question(definition, "s1", qtype)
    validate_definition(result)
    added = result["sections"][0]["questions"][-1]
    assert added["type"] == qtype and added["key"] == "q2" and added["text"]
    assert len(definition["sections"][0]["questions"]) == 1, "the argument is not changed"


def test_new_question_defaults_per_type():
    rating = authoring.new_question("rating", "q9")
    assert [(o["text"], o["score"], bool(o.get("positive"))) for o in rating["options"]] == [
        ("很满意", 100, True),
        ("满意", 80, True),
        ("基本满意", 60, True),
        ("不太满意", 30, False),
        ("不满意", 0, False),
    ]
    assert [o["key"] for o in rating["options"]] == ["a", "b", "c", "d", "e"]
    assert len(authoring.new_question("single_choice", "q9")["options"]) == 2
    matrix = authoring.new_question("matrix", "q9")
    assert len(matrix["items"]) == 1 and matrix["options"] == rating["options"]
    attention = authoring.new_question("attention", "q9")
    assert attention["correct"] in {o["key"] for o in attention["options"]}
    with pytest.raises(KeyError, match="unknown question type"):
        authoring.new_question("slider", "q9")


def test_fresh_keys_avoid_current_and_published_keys():
    definition = template()
    assert authoring.new_question_key(definition) == "q8"
    history = [authoring.add_question(definition, "s1", "text", key="q8")]
    assert authoring.new_question_key(definition, history) == "q9", "a deleted published key is not reused"
    assert authoring.new_section_key(definition) == "s5"
    assert authoring.new_option_key(definition, "q1") == "g"
    old = authoring.add_option(definition, "q1", "以前的选项")  # key g, published then deleted
    assert authoring.new_option_key(definition, "q1", [old]) == "h"
    matrix = template("service_grid")
    assert authoring.new_item_key(matrix, "q4") == "a5"


def test_every_function_returns_a_new_dict_and_leaves_its_argument_alone():
    definition = template()
    before = copy.deepcopy(definition)
    calls = [
        lambda d: authoring.add_section(d, "新部分"),
        lambda d: authoring.update_section(d, "s1", "新标题", "说明"),
        lambda d: authoring.move_section(d, "s2", -1),
        lambda d: authoring.delete_section(d, "s3"),
        lambda d: authoring.add_question(d, "s1", "rating"),
        lambda d: authoring.update_question(d, "q2", text="改过的题目"),
        lambda d: authoring.move_question(d, "q2", 1),
        lambda d: authoring.move_question_to_section(d, "q2", "s4"),
        lambda d: authoring.delete_question(d, "q7"),
        lambda d: authoring.duplicate_question(d, "q2"),
        lambda d: authoring.add_option(d, "q2", "新选项"),
        lambda d: authoring.update_option(d, "q2", "a", text="非常好"),
        lambda d: authoring.move_option(d, "q2", "b", -1),
        lambda d: authoring.delete_option(d, "q2", "a"),
        lambda d: authoring.set_condition(d, "question", "q3", "q2", ["a"]),
        lambda d: authoring.clear_condition(d, "question", "q1w"),
        lambda d: authoring.update_questionnaire(d, "新标题", "新的卷首语"),
        lambda d: authoring.update_settings(d, "mean", measure="satisfaction"),
    ]
    for call in calls:
        result = call(definition)
        assert result is not definition and result != before
        validate_definition(result)
        assert definition == before


# --- authoring: question numbers -------------------------------------------------------------


def numbers(definition: dict) -> list[str]:
    return [q["number"] for q in numbered_questions(definition)]


def test_every_change_of_order_keeps_explicit_numbers_unique_and_in_order():
    """The template's printed numbers (1, 1.1, 2 …) follow every add, copy, move and delete."""
    definition = template()
    assert numbers(definition) == ["1", "1.1", "2", "3", "4", "5", "6", "7"]
    added = authoring.add_question(definition, "s1", "rating", key="q8")
    assert numbers(added) == ["1", "1.1", "2", "3", "4", "5", "6", "7", "8"]
    assert question(added, "q8")["number"] == "3" and question(added, "q3")["number"] == "4"
    to_top = authoring.move_question(authoring.move_question(added, "q8", -1), "q8", -1)
    to_top = authoring.move_question(authoring.move_question(to_top, "q8", -1), "q8", -1)
    assert keys(to_top)[0][0] == "q8"
    assert numbers(to_top) == ["1", "2", "2.1", "3", "4", "5", "6", "7", "8"], "q1w stays the follow-up of q1"
    swapped = authoring.move_question(definition, "q3", 1)  # q3 (3) below q4 (4)
    assert [question(swapped, k)["number"] for k in ("q4", "q3")] == ["3", "4"]
    copied = authoring.duplicate_question(definition, "q3")
    assert numbers(copied) == ["1", "1.1", "2", "3", "4", "5", "6", "7", "8"]
    assert numbers(authoring.delete_question(definition, "q2")) == ["1", "1.1", "2", "3", "4", "5", "6"]
    assert numbers(authoring.delete_section(definition, "s3")) == ["1", "1.1", "2", "3", "4", "5", "6"]
    assert numbers(authoring.move_section(definition, "s4", -1))[-3:] == ["5", "6", "7"]
    assert numbers(authoring.move_question_to_section(definition, "q2", "s4")) == [
        "1", "1.1", "2", "3", "4", "5", "6", "7",
    ]  # fmt: skip
    for result in (added, to_top, swapped, copied):
        validate_definition(result)


def test_automatic_numbers_stay_automatic():
    definition = template("police_enforcement")
    result = authoring.move_question(authoring.add_question(definition, "s1", "rating", key="q9"), "q9", -1)
    assert not authoring.has_explicit_numbers(result)
    assert numbers(result) == [str(n) for n in range(1, 9)]


def test_a_typed_number_fixes_the_others_and_a_cleared_one_renumbers():
    definition = template("police_enforcement")
    typed = authoring.update_question(definition, "q2", number="1.1")
    assert numbers(typed) == ["1", "1.1", "3", "4", "5", "6", "7"], "the others keep the numbers they had"
    validate_definition(typed)
    out_of_order = authoring.update_question(typed, "q5", number="2")
    assert "题号“2”不合顺序" in refusal(lambda: validate_definition(out_of_order))
    cleared = authoring.update_question(template(), "q1w", number="")
    assert numbers(cleared) == ["1", "2", "3", "4", "5", "6", "7", "8"]
    validate_definition(cleared)
    assert authoring.update_question(definition, "q2", text="改过的题目") == authoring.update_question(
        definition, "q2", text="改过的题目", number=""
    ), "an automatic number stays automatic"


def test_renumber_and_clear_numbers_mend_a_draft_saved_with_broken_numbers():
    broken = template()
    broken["sections"][0]["questions"].insert(0, authoring.new_question("rating", "q8"))  # the old bug: no number
    broken["sections"][2]["questions"][0]["number"] = "4"  # q5 shown as a second "4"
    assert numbers(broken)[:2] == ["1", "1"]
    message = refusal(lambda: validate_definition(broken))
    assert "其他题都有题号，这道题没有。请按顺序重新编号" in message and "题号“4”与其他题重复了" in message
    assert numbers(authoring.renumber(broken)) == ["1", "2", "2.1", "3", "4", "5", "6", "7", "8"]
    assert numbers(authoring.clear_numbers(broken)) == [str(n) for n in range(1, 10)]
    validate_definition(authoring.renumber(broken))
    validate_definition(authoring.clear_numbers(broken))
    with pytest.raises(DefinitionError) as caught:
        validate_definition(broken)
    described = [authoring.problem_in_words(broken, problem) for problem in caught.value.problems]
    assert described[0].startswith("按顺序第 1 道题（“您对这项工作满意吗？") and "请按顺序重新编号" in described[0]
    assert described[1] == (
        "按顺序第 7 道题（“您最担心的治安问题是哪些？”）："
        "题号“4”与其他题重复了。请按顺序重新编号，或删去所有题号改用自动编号。"
    ), "named by its place, since its number is the one shown twice; 6 is taken, so no single fix"


# --- authoring: questions ---------------------------------------------------------------------


def test_update_question_sets_and_clears_fields_but_never_key_or_type():
    definition = template()
    result = authoring.update_question(definition, "q2", text=" 新题目 ", help="提示", dimension="", required=False)
    changed = question(result, "q2")
    assert changed["text"] == "新题目" and changed["help"] == "提示" and changed["required"] is False
    assert "dimension" not in changed, "an emptied optional field is removed"
    with pytest.raises(ValueError, match="not a field"):
        authoring.update_question(definition, "q2", key="q99")
    with pytest.raises(ValueError, match="not a field"):
        authoring.update_question(definition, "q2", min_choices=2)  # a rating has no such field
    with pytest.raises(authoring.UnknownKey):
        authoring.update_question(definition, "nope", text="x")


def test_move_question_crosses_section_boundaries():
    definition = template()
    assert keys(definition) == [["q1", "q1w", "q2"], ["q3", "q4"], ["q5"], ["q6", "q7"]]
    down_into_s2 = [["q1", "q1w"], ["q2", "q3", "q4"], ["q5"], ["q6", "q7"]]
    assert keys(authoring.move_question(definition, "q2", 1)) == down_into_s2
    up_into_s1 = [["q1", "q1w", "q2", "q3"], ["q4"], ["q5"], ["q6", "q7"]]
    assert keys(authoring.move_question(definition, "q3", -1)) == up_into_s1
    down_into_s3 = [["q1", "q1w", "q2"], ["q3"], ["q4", "q5"], ["q6", "q7"]]
    assert keys(authoring.move_question(definition, "q4", 1)) == down_into_s3
    assert keys(authoring.move_question(definition, "q1", -1)) == keys(definition), "the first stays first"
    assert keys(authoring.move_question(definition, "q7", 1)) == keys(definition), "the last stays last"
    moved = authoring.move_question_to_section(definition, "q1", "s4")
    assert keys(moved) == [["q1w", "q2"], ["q3", "q4"], ["q5"], ["q6", "q7", "q1"]]
    with pytest.raises(DefinitionError, match="不在本题之前"):
        validate_definition(moved)  # q1w now reads a later question: the caller's validation catches it


def test_delete_question_refuses_when_a_condition_or_the_overall_figure_reads_it():
    definition = template()
    message = refusal(lambda: authoring.delete_question(definition, "q1"))
    assert "第 1.1 题" in message and "显示条件" in message
    with_section_condition = authoring.set_condition(definition, "section", "s3", "q2", ["a"])
    assert "“治安关注”部分" in refusal(lambda: authoring.delete_question(with_section_condition, "q2"))
    assert "总体满意度" in refusal(lambda: authoring.delete_question(definition, "q4"))
    result = authoring.delete_question(definition, "q1w")
    assert keys(result)[0] == ["q1", "q2"]
    validate_definition(authoring.delete_question(result, "q1"))


def test_duplicate_question_gets_a_fresh_key_right_after_the_original():
    definition = template()
    result = authoring.duplicate_question(definition, "q1w")
    assert keys(result)[0] == ["q1", "q1w", "q8", "q2"]
    twin = question(result, "q8")
    assert twin["text"] == question(definition, "q1w")["text"] + "（副本）"
    assert twin["options"] == question(definition, "q1w")["options"]
    # the copy of follow-up 1.1 is follow-up 1.2, never a second 1.1; whole numbers stay
    assert [q["number"] for q in numbered_questions(result)][:4] == ["1", "1.1", "1.2", "2"]
    validate_definition(result)


# --- authoring: options and items -------------------------------------------------------------


def test_option_operations_keep_keys_stable():
    definition = template()
    result = authoring.update_option(definition, "q1", "b", text="比较安全", score=85, positive=True)
    assert option_keys(result, "q1") == option_keys(definition, "q1")
    assert question(result, "q1")["options"][1] == {
        "key": "b",
        "text": "比较安全",
        "text_en": "Safe",  # the English twin stays until it is edited too
        "score": 85,
        "positive": True,
    }
    result = authoring.update_option(result, "q1", "b", positive=False, dont_know="not_satisfied", score=None)
    assert question(result, "q1")["options"][1] == {
        "key": "b",
        "text": "比较安全",
        "text_en": "Safe",
        "dont_know": "not_satisfied",
    }
    result = authoring.update_option(result, "q1", "b", dont_know="true")
    assert question(result, "q1")["options"][1]["dont_know"] is True
    result = authoring.add_option(definition, "q5", "其他", other=True)
    assert question(result, "q5")["options"][-1] == {"key": "h", "text": "其他", "other": True}
    result = authoring.move_option(definition, "q1", "c", -1)
    assert option_keys(result, "q1") == ["a", "c", "b", "d", "e", "f"]
    assert option_keys(authoring.move_option(definition, "q1", "a", -1), "q1")[0] == "a"
    assert option_keys(authoring.delete_option(definition, "q1", "a"), "q1") == ["b", "c", "d", "e", "f"]
    assert "第 1.1 题" in refusal(lambda: authoring.delete_option(definition, "q1", "d"))
    attention = template("police_enforcement")
    assert "正确答案" in refusal(lambda: authoring.delete_option(attention, "q4", "b"))


def test_apply_option_rows_reorders_renames_removes_and_adds():
    definition = template()
    rows = [
        {"key": "b", "text": "安全（改）", "score": 80, "positive": True},
        {"key": "a", "text": "很安全", "score": 100, "positive": True},
        {"key": "c", "remove": True},
        {"key": None, "text": ""},  # a blank new row: ignored
        {"key": None, "text": "新选项", "score": 10},
        {"key": "zz", "text": "伪造的编号"},  # not an option of the question: a new option
    ]
    result = authoring.apply_option_rows(definition, "q1", rows)
    options = question(result, "q1")["options"]
    assert [o["key"] for o in options] == ["b", "a", "g", "h", "d", "e", "f"], "rows not sent stay, at the end"
    assert options[0]["text"] == "安全（改）" and options[2] == {"key": "g", "text": "新选项", "score": 10}
    assert options[3]["text"] == "伪造的编号"
    validate_definition(result)
    assert "第 1.1 题" in refusal(lambda: authoring.apply_option_rows(definition, "q1", [{"key": "d", "remove": True}]))


def test_matrix_items_add_update_move_delete():
    definition = template("service_grid")
    result = authoring.add_item(definition, "q4", "新的小题", dimension="服务态度")
    assert question(result, "q4")["items"][-1] == {"key": "a5", "text": "新的小题", "dimension": "服务态度"}
    result = authoring.update_item(result, "q4", "a1", text="改过的小题")
    assert question(result, "q4")["items"][0] == {"key": "a1", "text": "改过的小题", "dimension": "服务态度"}
    result = authoring.move_item(result, "q4", "a5", -1)
    assert [i["key"] for i in question(result, "q4")["items"]] == ["a1", "a2", "a3", "a5", "a4"]
    result = authoring.delete_item(result, "q4", "a2")
    assert [i["key"] for i in question(result, "q4")["items"]] == ["a1", "a3", "a5", "a4"]
    validate_definition(result)
    conditional = authoring.set_condition(definition, "question", "q10", "q4.a2", ["e", "f"])
    validate_definition(conditional)
    assert "显示条件" in refusal(lambda: authoring.delete_item(conditional, "q4", "a2"))
    rows = [{"key": "a2", "text": "第二项"}, {"key": None, "text": "加一项", "dimension": "效率"}]
    result = authoring.apply_item_rows(definition, "q4", rows)
    assert [i["key"] for i in question(result, "q4")["items"]] == ["a2", "a5", "a1", "a3", "a4"]


# --- authoring: sections, conditions, settings ------------------------------------------------


def test_sections_add_update_move_delete():
    definition = template()
    result = authoring.add_section(definition, " 新的部分 ", "说明")
    assert result["sections"][-1] == {"key": "s5", "title": "新的部分", "intro": "说明", "questions": []}
    validate_definition(result)
    result = authoring.update_section(result, "s5", "改名", "新\r\n说明")
    assert result["sections"][-1]["title"] == "改名" and result["sections"][-1]["intro"] == "新\n说明"
    result = authoring.move_section(result, "s5", -1)
    assert [s["key"] for s in result["sections"]] == ["s1", "s2", "s3", "s5", "s4"]
    result = authoring.delete_section(result, "s3")
    assert [s["key"] for s in result["sections"]] == ["s1", "s2", "s5", "s4"]
    validate_definition(result)
    assert "总体满意度" in refusal(lambda: authoring.delete_section(definition, "s2"))
    # A condition inside the deleted section goes with it; one outside it refuses.
    assert keys(authoring.delete_section(definition, "s1"))[0] == ["q3", "q4"]
    outside = authoring.set_condition(definition, "question", "q5", "q1", ["a"])
    assert "第 5 题" in refusal(lambda: authoring.delete_section(outside, "s1"))


def test_conditions_set_and_clear():
    definition = template()
    result = authoring.set_condition(definition, "question", "q5", "q2", ["d", "e", "d"], mode="none_of")
    assert question(result, "q5")["show_if"] == {"question": "q2", "none_of": ["d", "e"]}
    validate_definition(result)
    result = authoring.set_condition(result, "section", "s4", "q3", ["a"])
    assert result["sections"][3]["show_if"] == {"question": "q3", "any_of": ["a"]}
    validate_definition(result)
    assert "show_if" not in question(authoring.clear_condition(result, "question", "q5"), "q5")
    assert "请至少选择" in refusal(lambda: authoring.set_condition(definition, "question", "q5", "q2", []))
    later = authoring.set_condition(definition, "question", "q2", "q3", ["a"])
    with pytest.raises(DefinitionError, match="不在本题之前"):
        validate_definition(later)
    sources = authoring.condition_sources(template("service_grid"), "question", "q9")
    assert [s["key"] for s in sources][:3] == ["q1", "q4.a1", "q4.a2"], "earlier choice questions and matrix items"
    assert "q2" not in [s["key"] for s in sources], "a number question cannot be a condition"


def test_questionnaire_title_intro_and_settings():
    definition = template()
    result = authoring.update_questionnaire(definition, " 新标题 ", "第一段\r\n第二段", source="")
    assert result["title"] == "新标题" and result["intro"] == "第一段\n第二段" and "source" not in result
    result = authoring.update_settings(result, "mean", measure="safety", dont_know="not_satisfied")
    assert result["settings"] == {
        "overall": {"method": "mean", "measure": "safety"},
        "dont_know": "not_satisfied",
    }
    validate_definition(result)
    result = authoring.update_settings(result, "question", question="q3")
    assert result["settings"]["overall"] == {"method": "question", "question": "q3"}
    validate_definition(result)
    with pytest.raises(DefinitionError):
        validate_definition(authoring.update_settings(result, "question", question="nope"))


# --- the pages: helpers -----------------------------------------------------------------------


class FormReader(HTMLParser):
    """What a browser would send for the first ``<form>`` with ``css_class`` (no button pressed)."""

    def __init__(self, css_class: str):
        super().__init__(convert_charrefs=True)
        self.css_class, self.inside, self.fields = css_class, False, {}
        self.select: str | None = None
        self.choice: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.css_class in (a.get("class") or "").split() and not self.fields:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[a["name"]] = a.get("value", "on")
            else:
                self.fields[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self.select, self.choice = a["name"], None
        elif tag == "option" and self.select and (self.choice is None or "selected" in a):
            self.choice = a.get("value", "")
        elif tag == "textarea":
            self.textarea, self.text = a["name"], ""

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            self.fields[self.select] = self.choice or ""
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.fields[self.textarea] = re.sub(r"^\r?\n", "", self.text)
            self.textarea = None


def page_form(html: str, css_class: str = "question-form") -> dict:
    reader = FormReader(css_class)
    reader.feed(html)
    assert reader.fields, f"no form .{css_class} on the page"
    return reader.fields


def draft(questionnaire_id: int) -> dict:
    db.session.expire_all()
    return db.session.get(Questionnaire, questionnaire_id).definition


def base(questionnaire) -> str:
    return f"/desk/questionnaires/{questionnaire.id}/builder"


def edit(client, questionnaire, key: str, **changes) -> object:
    """Open a question's page, change fields (``None`` unticks or drops a field), post it back."""
    url = f"{base(questionnaire)}/questions/{key}"
    page = client.get(url)
    assert page.status_code == 200
    data = page_form(page.data.decode())
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(url, data=data)


def rows(html: str, prefix: str = "options") -> list[tuple[int, str, str]]:
    """(index, key, text) of the option (or item) rows the page shows."""
    data = page_form(html)
    indices = sorted({int(m.group(1)) for name in data if (m := re.match(rf"{prefix}-(\d+)-", name))})
    return [(i, data.get(f"{prefix}-{i}-key", ""), data.get(f"{prefix}-{i}-text", "")) for i in indices]


@pytest.fixture
def survey(app, logged_in, evaluator):
    """A draft questionnaire of alice's from the public-safety template (4 sections, a condition)."""
    return create_questionnaire(make_project(evaluator), "public_safety")


# --- the pages --------------------------------------------------------------------------------


def test_overview_lists_sections_and_questions_beside_the_preview(client, survey):
    page = client.get(base(survey) + "/")
    assert page.status_code == 200
    html = page.data.decode()
    shown = (
        "治安感受",
        "满意度评价",
        "在目前的社会治安环境下，您感觉安全吗？",
        "评分量表题",
        "多选题",
        "必答",
        "有显示条件",
    )
    for text in shown:
        assert text in html
    assert re.search(rf'<iframe[^>]+src="/desk/questionnaires/{survey.id}/preview\?v=\w+"', html)
    assert "css/builder.css" in html and "js/builder.js" in html
    assert "style=" not in html and "<script>" not in html, "the CSP forbids inline styles and scripts"
    assert html.count("在这一部分添加题目") == 4


def test_add_each_type_and_its_form_round_trips_unchanged(client, survey):
    for qtype in QUESTION_TYPES:
        response = client.post(f"{base(survey)}/sections/s2/questions", data={"qtype": qtype})
        assert response.status_code == 302, qtype
        key = response.headers["Location"].rsplit("/", 1)[1]
        added = question(draft(survey.id), key)
        assert added["type"] == qtype
        saved = edit(client, survey, key)  # the page's own form, posted back unchanged
        assert saved.status_code == 302, (qtype, saved.data.decode()[:2000])
        assert question(draft(survey.id), key) == added, qtype
    assert len(keys(draft(survey.id))[1]) == 2 + len(QUESTION_TYPES)
    validate_definition(draft(survey.id))
    refused = client.post(f"{base(survey)}/sections/s2/questions", data={"qtype": "slider"})
    assert refused.status_code == 422


def test_edit_texts_options_scores_and_flags_keeps_keys(client, survey):
    response = edit(
        client,
        survey,
        "q1",
        text="您觉得本地治安怎么样？",
        help="按最近一年的感受回答",
        **{
            "options-1-text": "比较安全",
            "options-1-score": "85",
            "options-2-positive": None,
            "options-5-dont_know": "not_satisfied",
            "options-6-text": "拒绝回答",
            "options-6-dont_know": "exclude",
            "options-0-remove": "y",
        },
    )
    assert response.status_code == 302
    changed = question(draft(survey.id), "q1")
    assert changed["text"] == "您觉得本地治安怎么样？" and changed["help"] == "按最近一年的感受回答"
    assert [o["key"] for o in changed["options"]] == ["b", "c", "d", "e", "f", "g"]
    assert changed["options"][0] == {"key": "b", "text": "比较安全", "text_en": "Safe", "score": 85, "positive": True}
    assert "positive" not in changed["options"][1]
    assert changed["options"][4]["dont_know"] == "not_satisfied"
    assert changed["options"][5] == {"key": "g", "text": "拒绝回答", "dont_know": "exclude"}
    assert "比较安全" in client.get(f"/desk/questionnaires/{survey.id}/preview").data.decode()


def test_option_and_item_arrows_move_rows(client, survey):
    assert edit(client, survey, "q1", move="option:c:up").status_code == 302
    assert option_keys(draft(survey.id), "q1") == ["a", "c", "b", "d", "e", "f"]
    response = client.post(f"{base(survey)}/sections/s1/questions", data={"qtype": "matrix"})
    key = response.headers["Location"].rsplit("/", 1)[1]
    assert edit(client, survey, key, **{"items-1-text": "第二项"}).status_code == 302
    assert edit(client, survey, key, move="item:a2:up").status_code == 302
    assert [i["text"] for i in question(draft(survey.id), key)["items"]] == ["第二项", "小题一"]


def test_type_specific_fields(client, survey):
    added = {}
    for qtype in ("multiple_choice", "number", "date", "textarea", "attention"):
        location = client.post(f"{base(survey)}/sections/s4/questions", data={"qtype": qtype}).headers["Location"]
        added[qtype] = location.rsplit("/", 1)[1]
    edit(client, survey, added["multiple_choice"], min_choices="1", max_choices="２")
    edit(client, survey, added["number"], number_min="1", number_max="99.5", integer=None, unit="次")
    edit(client, survey, added["date"], date_min="2019-01-01", date_max="2019/12/31")
    edit(client, survey, added["textarea"], max_length="500")
    edit(client, survey, added["attention"], correct="b")
    definition = draft(survey.id)
    choices = question(definition, added["multiple_choice"])
    assert (choices["min_choices"], choices["max_choices"]) == (1, 2)
    number = question(definition, added["number"])
    assert (number["min"], number["max"], number["integer"], number["unit"]) == (1, 99.5, False, "次")
    date = question(definition, added["date"])
    assert (date["min"], date["max"]) == ("2019-01-01", "2019-12-31")
    assert question(definition, added["textarea"])["max_length"] == 500
    assert question(definition, added["attention"])["correct"] == "b"
    bad = edit(client, survey, added["number"], number_min="十")
    assert bad.status_code == 422 and "请填写一个数字" in bad.data.decode()


def test_reorder_duplicate_and_delete_questions(client, survey):
    assert client.post(f"{base(survey)}/questions/q2/down").status_code == 302
    assert keys(draft(survey.id))[:2] == [["q1", "q1w"], ["q2", "q3", "q4"]]
    assert client.post(f"{base(survey)}/questions/q2/up").status_code == 302
    assert keys(draft(survey.id))[0] == ["q1", "q1w", "q2"]
    response = client.post(f"{base(survey)}/questions/q5/section", data={"section": "s1"})
    assert response.status_code == 302 and keys(draft(survey.id))[0][-1] == "q5"
    response = client.post(f"{base(survey)}/questions/q2/duplicate")
    assert response.status_code == 302 and response.headers["Location"].endswith("#q-q8")
    assert keys(draft(survey.id))[0] == ["q1", "q1w", "q2", "q8", "q5"]
    assert client.post(f"{base(survey)}/questions/q8/delete").status_code == 302
    assert "q8" not in sum(keys(draft(survey.id)), [])
    assert client.post(f"{base(survey)}/questions/nope/delete").status_code == 404


def test_refused_delete_shows_why_and_changes_nothing(client, survey):
    before = draft(survey.id)
    response = client.post(f"{base(survey)}/questions/q1/delete")
    assert response.status_code == 422
    html = response.data.decode()
    assert "第 1.1 题的显示条件用到了这道题，不能删除" in html
    assert draft(survey.id) == before


def test_sections_add_edit_move_delete(client, survey):
    response = client.post(f"{base(survey)}/sections/new", data={"title": "补充问题", "intro": "以下几题可不答"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#sec-s5")
    added = {"key": "s5", "title": "补充问题", "intro": "以下几题可不答", "questions": []}
    assert draft(survey.id)["sections"][-1] == added
    assert "这一部分还没有题目" in client.get(base(survey) + "/").data.decode()
    page = client.get(f"{base(survey)}/sections/s5")
    assert page.status_code == 200 and "补充问题" in page.data.decode()
    assert client.post(f"{base(survey)}/sections/s5", data={"title": "其他", "intro": ""}).status_code == 302
    assert client.post(f"{base(survey)}/sections/s5/up").status_code == 302
    assert [s["key"] for s in draft(survey.id)["sections"]] == ["s1", "s2", "s3", "s5", "s4"]
    assert draft(survey.id)["sections"][3]["title"] == "其他"
    assert client.post(f"{base(survey)}/sections/s5/delete").status_code == 302
    assert client.post(f"{base(survey)}/sections/s3/delete").status_code == 302
    assert [s["key"] for s in draft(survey.id)["sections"]] == ["s1", "s2", "s4"]
    refused = client.post(f"{base(survey)}/sections/s2/delete")
    assert refused.status_code == 422 and "总体满意度" in refused.data.decode()
    assert client.get(f"{base(survey)}/sections/nope").status_code == 404


def test_skip_logic_for_a_question_and_a_section(client, survey):
    url = f"{base(survey)}/questions/q3/condition"
    step1 = client.get(url).data.decode()
    assert "第 1 步" in step1 and 'value="q1w"' in step1 and 'value="q4"' not in step1
    step2 = client.get(url + "?source=q2").data.decode()
    assert "第 2 步" in step2 and "很差" in step2
    response = client.post(url, data={"question": "q2", "mode": "any_of", "values": ["d", "e"]})
    assert response.status_code == 302 and response.headers["Location"].endswith("#q-q3")
    assert question(draft(survey.id), "q3")["show_if"] == {"question": "q2", "any_of": ["d", "e"]}
    overview = client.get(base(survey) + "/").data.decode()
    assert "仅当第 2 题选择了“较差”“很差”时回答本题" in overview
    again = client.get(url).data.decode()
    assert re.search(r'value="d"[^>]*checked|checked[^>]*value="d"', again), "the current condition is shown"
    empty = client.post(url, data={"question": "q2", "mode": "any_of"})
    assert empty.status_code == 422 and "请至少选择一个选项" in empty.data.decode()
    assert client.post(url + "/clear").status_code == 302
    assert "show_if" not in question(draft(survey.id), "q3")
    section = f"{base(survey)}/sections/s4/condition"
    response = client.post(section, data={"question": "q1", "mode": "none_of", "values": ["a"]})
    assert response.status_code == 302
    assert draft(survey.id)["sections"][3]["show_if"] == {"question": "q1", "none_of": ["a"]}
    first = client.get(f"{base(survey)}/questions/q1/condition").data.decode()
    assert "前面还没有可以作为条件的选择题" in first


def test_rating_with_two_levels_is_refused_and_what_was_typed_is_kept(client, survey):
    before = draft(survey.id)
    removals = {f"options-{i}-remove": "y" for i in range(2, 6)}
    response = edit(client, survey, "q2", text="改了但没保存的题目", **removals)
    assert response.status_code == 422
    html = response.data.decode()
    assert "量表题应有 3 到 7 个等级" in html and "第 2 题" in html
    assert "改了但没保存的题目" in html, "the evaluator's typing is kept"
    assert draft(survey.id) == before


def test_empty_question_text_is_refused(client, survey):
    before = draft(survey.id)
    response = edit(client, survey, "q2", text="  ")
    assert response.status_code == 422
    assert "题目文字不能为空" in response.data.decode()
    assert draft(survey.id) == before


def test_settings_page_changes_title_intro_and_overall(client, survey):
    page = client.get(f"{base(survey)}/settings")
    data = page_form(page.data.decode(), "card")
    data.update(title="2020年群众安全感调查", intro="第一段\n第二段", overall_method="mean", overall_measure="safety")
    response = client.post(f"{base(survey)}/settings", data=data)
    assert response.status_code == 302
    definition = draft(survey.id)
    assert definition["title"] == "2020年群众安全感调查" and definition["intro"] == "第一段\n第二段"
    assert definition["settings"]["overall"] == {"method": "mean", "measure": "safety"}
    db.session.expire_all()
    assert db.session.get(Questionnaire, survey.id).title == "2020年群众安全感调查"
    data.update(overall_method="question", overall_question="")
    refused = client.post(f"{base(survey)}/settings", data=data)
    assert refused.status_code == 422 and "总体满意度所用的题目不存在" in refused.data.decode()
    assert client.post(f"{base(survey)}/settings", data={**data, "title": ""}).status_code == 422


def test_the_preview_reflects_an_edit(client, survey):
    overview = client.get(base(survey) + "/").data.decode()
    frame = re.search(r'<iframe[^>]+src="([^"]+)"', overview).group(1)
    assert "您对加强本地社会治安" in client.get(frame.replace("&amp;", "&")).data.decode()
    assert edit(client, survey, "q7", text="还有什么想对我们说的？").status_code == 302
    after = client.get(base(survey) + "/").data.decode()
    new_frame = re.search(r'<iframe[^>]+src="([^"]+)"', after).group(1)
    assert new_frame != frame, "the frame's address changes, so the browser cannot show a stale copy"
    preview = client.get(new_frame.replace("&amp;", "&")).data.decode()
    assert "还有什么想对我们说的？" in preview and "您对加强本地社会治安" not in preview


def test_builder_needs_login(app, client, evaluator):
    questionnaire = create_questionnaire(make_project(evaluator), "public_safety")
    response = client.get(base(questionnaire) + "/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_other_evaluator_gets_404_on_every_builder_route(app, client, evaluator, other_evaluator):
    project = make_project(evaluator)
    questionnaire = create_questionnaire(project, "public_safety")
    before = copy.deepcopy(questionnaire.definition)
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    values = {
        "questionnaire_id": questionnaire.id,
        "project_id": project.id,
        "section_key": "s1",
        "question_key": "q1",
        "key": "q1",
        "direction": "up",
        "kind": "questions",
    }
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("builder.", "builder_blank.")):
            continue
        path = rule.build({name: values[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, data={"qtype": "rating", "title": "x", "section": "s2"})
            assert response.status_code == 404, (method, path)
            checked += 1
    assert checked >= 20
    assert draft(questionnaire.id) == before
    assert db.session.execute(db.select(db.func.count(Questionnaire.id))).scalar() == 1


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_builder_posts_need_the_csrf_token(client, evaluator):
    questionnaire = create_questionnaire(make_project(evaluator), "public_safety")
    token = hidden_value(client.get("/login").data.decode(), "csrf_token")
    client.post("/login", data={"username": "alice", "password": "alice-password-1", "csrf_token": token})
    assert client.post(f"{base(questionnaire)}/questions/q2/down").status_code == 400
    overview = client.get(base(questionnaire) + "/").data.decode()
    token = hidden_value(overview, "csrf_token")
    assert client.post(f"{base(questionnaire)}/questions/q2/down", data={"csrf_token": token}).status_code == 302
    assert keys(draft(questionnaire.id))[1][0] == "q2"
    page = client.get(f"{base(questionnaire)}/questions/q2").data.decode()
    assert "csrf_token" in page_form(page)
    assert client.post(f"{base(questionnaire)}/questions/q2", data=page_form(page)).status_code == 302


# --- rebuilding seed 004's 附件2 from nothing --------------------------------------------------


def set_options(client, url: str, wanted: list[dict]) -> None:
    """Make a question's options ``wanted`` through its page: fill rows, tick “删除” on extras, add rows."""
    while True:
        html = client.get(url).data.decode()
        data = page_form(html)
        shown = rows(html)
        for (index, _key, _text), option in zip(shown, wanted, strict=False):
            data[f"options-{index}-text"] = option["text"]
            data[f"options-{index}-text_en"] = option.get("text_en", "")
            data[f"options-{index}-score"] = str(option.get("score", ""))
            data[f"options-{index}-dont_know"] = "true" if option.get("dont_know") is True else ""
            for flag in ("positive", "other"):
                if option.get(flag):
                    data[f"options-{index}-{flag}"] = "y"
                else:
                    data.pop(f"options-{index}-{flag}", None)
        for index, key, _text in shown[len(wanted) :]:
            if key:
                data[f"options-{index}-remove"] = "y"
        assert client.post(url, data=data).status_code == 302
        if len(shown) >= len(wanted):
            return


def test_seed_004_attachment_2_rebuilt_from_a_blank_questionnaire(client, survey):
    seed = template("fengze_service_object")
    project_id = survey.project_id
    response = client.post(f"/desk/projects/{project_id}/questionnaires/blank", data={"title": "草稿"})
    assert response.status_code == 302
    built_id = int(re.search(r"/questionnaires/(\d+)/builder", response.headers["Location"]).group(1))
    built = db.session.get(Questionnaire, built_id)
    url = base(built)
    assert client.get(url + "/").status_code == 200
    settings = {
        "title": seed["title"],
        "intro": seed["intro"],
        "source": seed["source"],
        "title_en": seed["title_en"],
        "intro_en": seed["intro_en"],
        "overall_method": "mean",
        "overall_measure": "satisfaction",
        "overall_question": "",
        "dont_know": "exclude",
    }
    assert client.post(url + "/settings", data=settings).status_code == 302
    placeholder = keys(draft(built_id))[0][0]

    for wanted in seed["sections"][0]["questions"]:
        response = client.post(url + "/sections/s1/questions", data={"qtype": wanted["type"]})
        key = response.headers["Location"].rsplit("/", 1)[1]
        fields = {
            "text": wanted["text"],
            "text_en": wanted["text_en"],
            "number": wanted["number"],
            "required": "y" if wanted["required"] else None,
            "rate_label": wanted.get("rate_label", ""),
            "measure": wanted.get("measure", ""),
        }
        if "options" not in wanted:
            fields = {k: v for k, v in fields.items() if k not in ("rate_label", "measure")}
        assert edit(client, built, key, **fields).status_code == 302, wanted["key"]
        if "options" in wanted:
            set_options(client, f"{url}/questions/{key}", wanted["options"])
    assert client.post(f"{url}/questions/{placeholder}/delete").status_code == 302

    result = draft(built_id)
    validate_definition(result)
    for name in ("title", "intro", "source", "settings", "title_en", "intro_en"):
        assert result[name] == seed[name], name
    made, expected = result["sections"][0]["questions"], seed["sections"][0]["questions"]
    assert len(made) == len(expected)
    for got, want in zip(made, expected, strict=True):
        for name in ("type", "text", "text_en", "number", "rate_label", "measure", "options"):
            assert got.get(name) == want.get(name), (want["key"], name)
        assert got.get("required", False) == want.get("required", False), want["key"]
    preview = client.get(f"/desk/questionnaires/{built_id}/preview").data.decode()
    assert "您们单位是否使用了综合治理平台的数据？" in preview


# --- English texts (optional) -------------------------------------------------------------------


def test_question_page_edits_the_english_texts_in_a_folded_block(client, survey):
    page = client.get(f"{base(survey)}/questions/q1").data.decode()
    block = page[page.index('<details class="english-texts"') : page.index("</details>", page.index("english-texts"))]
    assert "英文文本（可选）" in block and "<details" in block and " open" not in block.split(">")[0]
    assert 'value="Very safe"' in block and "很安全" in block, "each option's English beside its Chinese"
    response = edit(
        client,
        survey,
        "q1",
        text_en="Do you feel safe where you live?",
        help_en="Think of the past year.",
        **{
            "options-1-text_en": "Safe enough",
            "options-5-text_en": "",
            "options-6-text": "拒答",
            "options-6-text_en": "Refused",
        },
    )
    assert response.status_code == 302
    q1 = question(draft(survey.id), "q1")
    assert q1["text_en"] == "Do you feel safe where you live?" and q1["help_en"] == "Think of the past year."
    assert [o.get("text_en") for o in q1["options"]] == [
        "Very safe",
        "Safe enough",
        "Fairly safe",
        "Not very safe",
        "Unsafe",
        None,
        "Refused",
    ]
    assert q1["text"] == "在目前的社会治安环境下，您感觉安全吗？" and q1["options"][1]["text"] == "安全"
    before = draft(survey.id)
    assert edit(client, survey, "q1").status_code == 302, "the page posted back unchanged"
    assert draft(survey.id) == before
    assert edit(client, survey, "q1", text_en="").status_code == 302
    assert "text_en" not in question(draft(survey.id), "q1")


def test_too_long_english_is_refused_with_the_block_open(client, survey):
    before = draft(survey.id)
    response = edit(client, survey, "q1", **{"options-0-text_en": "x" * 501})
    assert response.status_code == 422
    html = response.data.decode()
    assert '<details class="english-texts" id="english" open>' in html
    assert draft(survey.id) == before


def test_matrix_items_and_number_unit_have_english_fields(client, survey):
    response = client.post(f"{base(survey)}/sections/s2/questions", data={"qtype": "matrix"})
    key = response.headers["Location"].rsplit("/", 1)[1]
    assert (
        edit(
            client,
            survey,
            key,
            **{"items-0-text_en": "Item one", "items-1-text": "小题二", "items-1-text_en": "Item two"},
        ).status_code
        == 302
    )
    assert [i.get("text_en") for i in question(draft(survey.id), key)["items"]] == ["Item one", "Item two"]
    response = client.post(f"{base(survey)}/sections/s2/questions", data={"qtype": "number"})
    key = response.headers["Location"].rsplit("/", 1)[1]
    assert edit(client, survey, key, unit="次", unit_en="times").status_code == 302
    assert question(draft(survey.id), key)["unit_en"] == "times"


def test_section_and_settings_pages_edit_the_english_texts(client, survey):
    url = f"{base(survey)}/sections/s1"
    data = page_form(client.get(url).data.decode(), "card")
    assert data["title_en"] == "Sense of safety"
    response = client.post(url, data={**data, "intro_en": "About where you live."})
    assert response.status_code == 302
    section = draft(survey.id)["sections"][0]
    assert (section["title_en"], section["intro_en"]) == ("Sense of safety", "About where you live.")
    response = client.post(f"{base(survey)}/sections/new", data={"title": "补充", "title_en": "More"})
    assert response.status_code == 302 and draft(survey.id)["sections"][-1]["title_en"] == "More"

    url = f"{base(survey)}/settings"
    data = page_form(client.get(url).data.decode(), "card")
    assert data["title_en"] == "Public Sense of Safety and Satisfaction Survey" and data["thanks"] == ""
    data.update(thanks="感谢参与！", thanks_en="Thank you for taking part!", intro_en="")
    assert client.post(url, data=data).status_code == 302
    definition = draft(survey.id)
    assert definition["thanks"] == "感谢参与！" and definition["thanks_en"] == "Thank you for taking part!"
    assert "intro_en" not in definition and definition["title_en"].startswith("Public Sense")
    refused = client.post(url, data={**data, "title_en": 5 * "x" * 100})
    assert refused.status_code == 422 and draft(survey.id) == definition


def test_overview_says_how_much_is_in_english(client, survey):
    html = client.get(base(survey) + "/").data.decode()
    assert "已填写 55 / 55 处" in html
    blank = client.post(f"/desk/projects/{survey.project_id}/questionnaires/blank", data={"title": "空白"})
    html = client.get(blank.headers["Location"]).data.decode()
    assert "没有（可选）" in html


# --- question numbers, from the builder to every place a number is shown ----------------------


def shown_numbers(html: str) -> list[str]:
    """The question numbers a page shows, in order (``<span class="qnum">``)."""
    return re.findall(r'<span class="qnum">([^<]*)</span>', html)


def in_order(numbers: list[str]) -> bool:
    keys = [tuple(int(part) for part in number.split(".")) for number in numbers]
    return len(set(numbers)) == len(numbers) and keys == sorted(keys)


def test_a_template_edited_in_the_builder_numbers_every_page_and_export_in_order(client, survey):
    """Add questions to the public-safety template and move them: the phone page, the no-JS error list,
    the paper entry page, the paper form and the CSV all show one number per question, in order."""
    for _ in range(2):
        assert client.post(f"{base(survey)}/sections/s1/questions", data={"qtype": "rating"}).status_code == 302
    added = [q["key"] for q in draft(survey.id)["sections"][0]["questions"][-2:]]
    for _ in range(3):  # the first added question to the very top
        assert client.post(f"{base(survey)}/questions/{added[0]}/up").status_code == 302
    assert client.post(f"{base(survey)}/questions/{added[1]}/down").status_code == 302  # into section 2
    assert client.post(f"{base(survey)}/questions/q5/up").status_code == 302  # across a section boundary
    definition = draft(survey.id)
    expected = ["1", "2", "2.1", "3", "4", "5", "6", "7", "8", "9"]
    assert [q["number"] for q in numbered_questions(definition)] == expected
    assert numbered_questions(definition)[0]["key"] == added[0]
    overview = client.get(base(survey) + "/").data.decode()
    assert shown_numbers(overview) == expected and "按顺序重新编号" not in overview
    assert "固定题号" in overview, "the overview says the numbers are fixed and follow changes of order"

    assert client.post(f"/desk/questionnaires/{survey.id}/publish", data={"confirm": "y"}).status_code == 302
    db.session.expire_all()
    token = survey.current_version and db.session.get(Questionnaire, survey.id).public_token
    phone = client.get(f"/s/{token}").data.decode()
    assert shown_numbers(phone) == expected
    refused = client.post(f"/s/{token}", data={"submission_id": "numbers-1"}).data.decode()
    listed = re.findall(r'<li><a href="#q-[^"]+">第 ([^ ]+) 题</a></li>', refused)
    assert listed and in_order(listed), listed  # every required question, each named once

    paper = client.get(f"/desk/questionnaires/{survey.id}/paper").data.decode()
    rows = re.findall(r'<span class="qnum">([^<]*)</span>(?!“其他”的内容)', paper)  # a row per question
    assert rows == expected
    form = client.get(f"/desk/questionnaires/{survey.id}/paper-form.pdf")
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(form.data)).pages))
    for question in numbered_questions(definition):
        assert re.sub(r"\s+", "", f"{question['number']}.{question['text']}") in text, question["number"]

    header = client.get(f"/desk/questionnaires/{survey.id}/responses.csv").data.decode("utf-8-sig").splitlines()[0]
    titled = [cell.split(". ", 1)[0] for cell in next(csv.reader([header])) if ". " in cell]
    assert titled == expected


def test_broken_numbers_of_an_old_draft_are_shown_with_their_fix_and_block_publishing(client, survey):
    """A draft saved before numbers were checked (a second “1”) says what is wrong; one button mends it."""
    broken = copy.deepcopy(survey.definition)
    broken["sections"][0]["questions"].insert(0, authoring.new_question("rating", "q8"))
    survey.definition = broken
    db.session.commit()
    overview = client.get(base(survey) + "/").data.decode()
    assert "题号有问题，改好之前不能发布" in overview and "按顺序第 1 道题" in overview
    assert "按顺序重新编号" in overview
    assert edit(client, survey, "q2", text="您认为本地治安状况怎么样？").status_code == 302, (
        "unrelated edits still save"
    )
    client.post(f"/desk/questionnaires/{survey.id}/publish", data={"confirm": "y"})
    db.session.expire_all()
    assert db.session.get(Questionnaire, survey.id).current_version is None
    flashed = client.get(f"/desk/questionnaires/{survey.id}").data.decode()
    assert "暂不能发布" in flashed and "按顺序第 1 道题" in flashed and "sections[" not in flashed

    assert client.post(f"{base(survey)}/numbers/renumber").status_code == 302
    assert [q["number"] for q in numbered_questions(draft(survey.id))][:3] == ["1", "2", "2.1"]
    assert client.post(f"{base(survey)}/numbers/clear").status_code == 302
    assert not authoring.has_explicit_numbers(draft(survey.id))
    assert "固定题号" not in client.get(base(survey) + "/").data.decode()


def test_a_typed_number_out_of_order_is_refused_with_the_number_to_use(client, survey):
    response = edit(client, survey, "q3", number="１２")  # full-width, as typed with a Chinese keyboard
    assert response.status_code == 422
    html = response.data.decode()
    assert "按顺序第 4 道题（“您对本地公安机关" in html and "题号“12”不合顺序，题号须从前往后递增。请改为“3”" in html
    assert "题号“4”" not in html, "only the mistyped number is blamed"
    assert "与其他题重复了。请改为“3”" in edit(client, survey, "q3", number="7").data.decode()
    assert question(draft(survey.id), "q3")["number"] == "3"
    assert edit(client, survey, "q3", number="A3").status_code == 422
    assert edit(client, survey, "q3", number="2.5").status_code == 302
    assert question(draft(survey.id), "q3")["number"] == "2.5"


def test_reopening_a_version_published_with_old_numbers_keeps_them(client, survey):
    """Versions are frozen: a version published with a duplicated number keeps showing it."""
    broken = copy.deepcopy(survey.definition)
    broken["sections"][0]["questions"].append(authoring.new_question("rating", "q8"))  # shown as its position, 4
    broken["sections"][1]["questions"][0]["number"] = "3"
    survey.definition = broken
    survey.current_version = QuestionnaireVersion(questionnaire=survey, number=1, definition=broken)
    survey.status = "closed"
    db.session.commit()
    assert client.post(f"/desk/questionnaires/{survey.id}/publish", data={"confirm": "y"}).status_code == 302
    db.session.expire_all()
    reopened = db.session.get(Questionnaire, survey.id)
    assert reopened.status == "published" and len(reopened.versions) == 1
    assert shown_numbers(client.get(f"/s/{reopened.public_token}").data.decode())[2:5] == ["2", "4", "3"]


def test_a_viewer_cannot_renumber_or_clear_numbers(app, client, evaluator):
    questionnaire = create_questionnaire(make_project(evaluator), "public_safety")
    add_member(questionnaire.project, create_user("vera", "vera-password-1", "Vera"), "viewer")
    before = copy.deepcopy(questionnaire.definition)
    assert login(client, "vera", "vera-password-1").status_code == 302
    for action in ("renumber", "clear"):
        assert client.post(f"{base(questionnaire)}/numbers/{action}").status_code == 403
    assert draft(questionnaire.id) == before

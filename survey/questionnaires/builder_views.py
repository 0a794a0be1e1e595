"""The questionnaire builder: evaluators add, edit, reorder and delete sections and questions.

Every page works without JavaScript: each change is one POST that ``survey.questionnaires.authoring`` turns into a
new definition; ``validate_definition`` judges it; only a sound definition is saved, and the page
reloads so the phone preview beside the list shows the change. A refused change is shown beside
the form with what the evaluator typed kept (HTTP 422) and changes nothing.

``bp`` works on one questionnaire; ``blank_bp`` starts a questionnaire from nothing in a project.
Every route needs a signed-in evaluator who is a member of the project (others get 404).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from forms.builder import (
    ActionForm,
    AddQuestionForm,
    BlankQuestionnaireForm,
    ConditionForm,
    MoveToSectionForm,
    QuestionForm,
    QuestionnaireForm,
    SectionForm,
    choices,
)
from survey.accounts.access import member_project, member_questionnaire
from survey.models import Questionnaire
from survey.platform.extensions import db
from survey.questionnaires import authoring
from survey.questionnaires.definition import (
    DefinitionError,
    normalize_definition,
    numbered_questions,
    numbered_sections,
    numbering_problems,
    validate_definition,
)
from survey.questionnaires.localize import english_coverage
from survey.questionnaires.qtypes import QUESTION_TYPES, get_type

bp = Blueprint("builder", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>/builder")
blank_bp = Blueprint("builder_blank", __name__, url_prefix="/desk/projects/<int:project_id>")

OFFSETS = {"up": -1, "down": 1}
KINDS = {"questions": "question", "sections": "section"}


@bp.before_request
@login_required
def require_login():
    """Every builder route needs a signed-in evaluator; membership is checked per route."""


@blank_bp.before_request
@login_required
def require_login_blank():
    """Starting a blank questionnaire needs a signed-in evaluator too."""


# --- helpers ----------------------------------------------------------------------------------


def _draft(questionnaire: Questionnaire) -> dict:
    return normalize_definition(questionnaire.definition)


def _history(questionnaire: Questionnaire) -> list[dict]:
    """Published versions: their keys are never given to a new question, option or item."""
    return [version.definition for version in questionnaire.versions]


def _change(questionnaire: Questionnaire, change: Callable[[dict], dict]) -> list[str]:
    """Apply ``change`` to the draft and save it if it validates; otherwise the problems, in words.

    Numbering problems the draft already had (one saved before numbers were checked) do not block
    an unrelated change; the overview lists them with the buttons that fix them.
    """
    new = current = _draft(questionnaire)
    try:
        new = change(current)
        validate_definition(new, numbering=not numbering_problems(current))
    except DefinitionError as error:
        return [authoring.problem_in_words(new, problem) for problem in error.problems]
    except authoring.UnknownKey:
        abort(404)
    questionnaire.definition = new
    questionnaire.title = new["title"]
    db.session.commit()
    return []


def _found(lookup: Callable, *args):
    """``lookup(*args)``, or 404 when the key is not in the draft."""
    try:
        return lookup(*args)
    except authoring.UnknownKey:
        abort(404)


def _preview_url(questionnaire: Questionnaire) -> str:
    """The draft preview; the version tag changes with every edit, so the frame never shows a stale page.

    No ``#fragment``: jumping to it inside the frame would scroll the builder page itself as well
    (``static/js/builder.js`` scrolls the frame alone to the question being edited instead).
    """
    body = json.dumps(questionnaire.definition, sort_keys=True, ensure_ascii=False).encode()
    tag = hashlib.sha256(body).hexdigest()[:12]
    return url_for("desk.preview", questionnaire_id=questionnaire.id, v=tag)


def _render(template: str, questionnaire: Questionnaire, problems=(), status: int = 200, **context):
    """A builder page with the questionnaire, its numbered draft, the preview and any problems."""
    definition = _draft(questionnaire)
    context.setdefault("title", _("编辑问卷：%(title)s", title=definition["title"]))
    page = render_template(
        template,
        questionnaire=questionnaire,
        definition=definition,
        sections=numbered_sections(definition),
        problems=list(problems),
        action_form=ActionForm(),
        types=QUESTION_TYPES,
        preview_url=_preview_url(questionnaire),
        preview_focus=context.pop("anchor", None),
        **context,
    )
    return page, status


def _overview(questionnaire: Questionnaire, problems=()):
    definition = _draft(questionnaire)
    return _render(
        "builder/overview.html",
        questionnaire,
        problems,
        422 if problems else 200,
        add_form=AddQuestionForm(),
        english=english_coverage(definition),
        explicit_numbers=authoring.has_explicit_numbers(definition),
        number_problems=[authoring.problem_in_words(definition, p) for p in numbering_problems(definition)],
    )


def _action(questionnaire: Questionnaire, change: Callable[[dict], dict], done: str, anchor: str | None = None):
    """A button of the overview (move, duplicate, delete): do it and go back, or show why not."""
    if not ActionForm().validate_on_submit():
        abort(400)
    problems = _change(questionnaire, change)
    if problems:
        return _overview(questionnaire, problems)
    flash(done, "success")
    return redirect(url_for(".overview", questionnaire_id=questionnaire.id, _anchor=anchor))


def _status(form, problems) -> int:
    return 422 if form.errors or problems else 200


# --- the questionnaire ------------------------------------------------------------------------


@bp.get("/")
def overview(questionnaire_id: int):
    """Sections and questions in order, with their buttons, beside a phone-sized preview."""
    questionnaire = member_questionnaire(questionnaire_id)
    return _overview(questionnaire)


@bp.route("/settings", methods=["GET", "POST"])
def settings(questionnaire_id: int):
    """Title, opening text, and how the overall figure and “不清楚” answers are counted."""
    questionnaire = member_questionnaire(questionnaire_id)
    definition = _draft(questionnaire)
    form = QuestionnaireForm(data=QuestionnaireForm.data_of(definition))
    form.set_question_choices(numbered_questions(definition))
    problems: list[str] = []
    if form.validate_on_submit():
        problems = _change(questionnaire, partial(_apply_settings, form))
        if not problems:
            flash(_("问卷设置已保存。"), "success")
            return redirect(url_for(".overview", questionnaire_id=questionnaire.id))
    return _render("builder/settings.html", questionnaire, problems, _status(form, problems), form=form)


def _apply_settings(form: QuestionnaireForm, definition: dict) -> dict:
    texts = {name: form[name].data or "" for name in authoring.QUESTIONNAIRE_TEXTS}
    result = authoring.update_questionnaire(
        definition, form.title.data, form.intro.data, form.source.data or "", **texts
    )
    return authoring.update_settings(
        result,
        form.overall_method.data,
        question=form.overall_question.data,
        measure=form.overall_measure.data,
        dont_know=form.dont_know.data,
    )


# --- sections ---------------------------------------------------------------------------------


@bp.route("/sections/new", methods=["GET", "POST"])
def new_section(questionnaire_id: int):
    """Add a section (a page with its own title) at the end."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = SectionForm()
    problems: list[str] = []
    if form.validate_on_submit():
        key = authoring.new_section_key(_draft(questionnaire), _history(questionnaire))
        problems = _change(
            questionnaire,
            lambda d: authoring.add_section(d, form.title.data, form.intro.data, key, **form.english()),
        )
        if not problems:
            flash(_("已添加新的部分，现在可以在其中添加题目。"), "success")
            return redirect(url_for(".overview", questionnaire_id=questionnaire.id, _anchor=f"sec-{key}"))
    return _render("builder/section.html", questionnaire, problems, _status(form, problems), form=form, section=None)


@bp.route("/sections/<section_key>", methods=["GET", "POST"])
def edit_section(questionnaire_id: int, section_key: str):
    """A section's title and intro text."""
    questionnaire = member_questionnaire(questionnaire_id)
    section = _found(authoring.find_section, _draft(questionnaire), section_key)
    form = SectionForm(data=section)
    problems: list[str] = []
    if form.validate_on_submit():
        problems = _change(
            questionnaire,
            lambda d: authoring.update_section(d, section_key, form.title.data, form.intro.data, **form.english()),
        )
        if not problems:
            flash(_("部分已保存。"), "success")
            return redirect(url_for(".overview", questionnaire_id=questionnaire.id, _anchor=f"sec-{section_key}"))
    return _render(
        "builder/section.html",
        questionnaire,
        problems,
        _status(form, problems),
        form=form,
        section=section,
        anchor=f"sec-{section_key}",
    )


@bp.post("/sections/<section_key>/<any(up, down):direction>")
def move_section(questionnaire_id: int, section_key: str, direction: str):
    """Move a section (with its questions) up or down."""
    questionnaire = member_questionnaire(questionnaire_id)
    change = partial(authoring.move_section, section_key=section_key, offset=OFFSETS[direction])
    return _action(questionnaire, change, _("部分已移动。"), f"sec-{section_key}")


@bp.post("/sections/<section_key>/delete")
def delete_section(questionnaire_id: int, section_key: str):
    """Delete a section and its questions (refused when later questions depend on them)."""
    questionnaire = member_questionnaire(questionnaire_id)
    return _action(questionnaire, partial(authoring.delete_section, section_key=section_key), _("部分已删除。"))


@bp.post("/sections/<section_key>/questions")
def add_question(questionnaire_id: int, section_key: str):
    """Add a question of the chosen type at the end of a section, then open it for editing."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = AddQuestionForm()
    if not form.validate_on_submit():
        return _overview(questionnaire, [str(e) for e in form.qtype.errors] or [_("请选择题型。")])
    key = authoring.new_question_key(_draft(questionnaire), _history(questionnaire))
    qtype = form.qtype.data
    problems = _change(questionnaire, lambda d: authoring.add_question(d, section_key, qtype, key=key))
    if problems:
        return _overview(questionnaire, problems)
    flash(_("已添加一道%(type)s，请填写题目内容。", type=get_type(qtype).label), "success")
    return redirect(url_for(".edit_question", questionnaire_id=questionnaire.id, question_key=key))


# --- questions --------------------------------------------------------------------------------


@bp.route("/questions/<question_key>", methods=["GET", "POST"])
def edit_question(questionnaire_id: int, question_key: str):
    """Everything about one question: text, flags, options and their scores, type-specific limits."""
    questionnaire = member_questionnaire(questionnaire_id)
    question = _found(authoring.find_question, _draft(questionnaire), question_key)
    form = QuestionForm() if request.method == "POST" else QuestionForm.for_question(question)
    form.set_correct_choices(question)
    problems: list[str] = []
    if form.validate_on_submit():
        edit = partial(_edit_question, question, form, _history(questionnaire))
        problems = _change(questionnaire, edit)
        if not problems:
            flash(_("已保存，右侧预览已更新。"), "success")
            anchor = "rows" if form.move_request() else None
            return redirect(
                url_for(
                    ".edit_question",
                    questionnaire_id=questionnaire.id,
                    question_key=question_key,
                    _anchor=anchor,
                )
            )
    return _question_page(questionnaire, question_key, form, problems)


def _edit_question(question: dict, form: QuestionForm, history: list[dict], definition: dict) -> dict:
    key, qtype = question["key"], question["type"]
    result = authoring.update_question(definition, key, **form.changes(qtype))
    if get_type(qtype).has_options:
        result = authoring.apply_option_rows(result, key, form.option_rows(qtype), history)
    if get_type(qtype).has_items:
        result = authoring.apply_item_rows(result, key, form.item_rows(), history)
    move = form.move_request()
    if move:
        kind, entry, offset = move
        mover = authoring.move_option if kind == "option" else authoring.move_item
        try:
            result = mover(result, key, entry, offset)
        except authoring.UnknownKey:  # the row was deleted in the same submission
            pass
    return result


def _question_page(questionnaire: Questionnaire, question_key: str, form: QuestionForm, problems):
    definition = _draft(questionnaire)
    numbered = next(q for q in numbered_questions(definition) if q["key"] == question_key)
    sections = definition["sections"]
    move_form = MoveToSectionForm(section=authoring.section_of(definition, question_key)["key"])
    move_form.section.choices = choices((s["key"], authoring.section_label(definition, s["key"])) for s in sections)
    return _render(
        "builder/question.html",
        questionnaire,
        problems,
        _status(form, problems),
        form=form,
        question=numbered,
        qtype=get_type(numbered["type"]),
        move_form=move_form,
        anchor=f"q-{question_key}",
        title=_("编辑第 %(number)s 题", number=numbered["number"]),
    )


@bp.post("/questions/<question_key>/<any(up, down):direction>")
def move_question(questionnaire_id: int, question_key: str, direction: str):
    """Move a question up or down; at a section's edge it moves into the neighbouring section."""
    questionnaire = member_questionnaire(questionnaire_id)
    change = partial(authoring.move_question, question_key=question_key, offset=OFFSETS[direction])
    return _action(questionnaire, change, _("题目已移动。"), f"q-{question_key}")


@bp.post("/questions/<question_key>/section")
def move_question_to_section(questionnaire_id: int, question_key: str):
    """Move a question to the end of another section."""
    questionnaire = member_questionnaire(questionnaire_id)
    target = request.form.get("section", "")
    change = partial(authoring.move_question_to_section, question_key=question_key, section_key=target)
    return _action(questionnaire, change, _("题目已移到所选部分的末尾。"), f"q-{question_key}")


@bp.post("/questions/<question_key>/duplicate")
def duplicate_question(questionnaire_id: int, question_key: str):
    """A copy of the question right after it, with a new key."""
    questionnaire = member_questionnaire(questionnaire_id)
    key = authoring.new_question_key(_draft(questionnaire), _history(questionnaire))
    change = partial(authoring.duplicate_question, question_key=question_key, key=key)
    return _action(questionnaire, change, _("已复制，副本在原题下方。"), f"q-{key}")


@bp.post("/questions/<question_key>/delete")
def delete_question(questionnaire_id: int, question_key: str):
    """Delete a question (refused, naming them, when other questions' skip logic reads it)."""
    questionnaire = member_questionnaire(questionnaire_id)
    change = partial(authoring.delete_question, question_key=question_key)
    return _action(questionnaire, change, _("题目已删除。"))


# --- question numbers -------------------------------------------------------------------------


@bp.post("/numbers/renumber")
def renumber(questionnaire_id: int):
    """Rewrite explicit question numbers in order (a follow-up such as 3.1 stays a follow-up)."""
    questionnaire = member_questionnaire(questionnaire_id)
    return _numbers(questionnaire, authoring.renumber, _("题号已按题目顺序重新编排。"))


@bp.post("/numbers/clear")
def clear_numbers(questionnaire_id: int):
    """Drop every explicit number: questions are then numbered 1, 2, 3 … by position."""
    questionnaire = member_questionnaire(questionnaire_id)
    return _numbers(questionnaire, authoring.clear_numbers, _("已删去所有题号，现在按题目顺序自动编号。"))


def _numbers(questionnaire: Questionnaire, change: Callable[[dict], dict], done: str):
    """A numbering button: unlike other changes, it must leave no numbering problem behind."""
    if not ActionForm().validate_on_submit():
        abort(400)
    new = change(_draft(questionnaire))
    try:
        validate_definition(new)
    except DefinitionError as error:
        return _overview(questionnaire, [authoring.problem_in_words(new, p) for p in error.problems])
    questionnaire.definition = new
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".overview", questionnaire_id=questionnaire.id, _anchor="numbering"))


# --- skip logic -------------------------------------------------------------------------------


@bp.route("/<any(questions, sections):kind>/<key>/condition", methods=["GET", "POST"])
def condition(questionnaire_id: int, kind: str, key: str):
    """Show a question or section only when an earlier choice question is answered a certain way."""
    questionnaire = member_questionnaire(questionnaire_id)
    definition = _draft(questionnaire)
    find = authoring.find_question if kind == "questions" else authoring.find_section
    target = _found(find, definition, key)
    sources = authoring.condition_sources(definition, KINDS[kind], key)
    source = _chosen_source(sources, target)
    form = ConditionForm(data=_condition_data(target, source))
    form.set_source(source or {"key": "", "options": []})
    problems: list[str] = []
    if form.validate_on_submit():  # fails without a source: the form's hidden question is then empty
        problems = _change(questionnaire, partial(_set_condition, kind, key, source["key"], form))
        if not problems:
            flash(_("显示条件已保存。"), "success")
            back = url_for(".overview", questionnaire_id=questionnaire.id, _anchor=_anchor(kind, key))
            return redirect(back)
    page = {"kind": KINDS[kind], "target": target, "sources": sources, "source": source}
    return _render("builder/condition.html", questionnaire, problems, _status(form, problems), form=form,
                   anchor=_anchor(kind, key), target_label=_label(definition, kind, key),
                   title=_("设置显示条件"), **page)  # fmt: skip


def _set_condition(kind: str, key: str, source: str, form: ConditionForm, definition: dict) -> dict:
    return authoring.set_condition(definition, KINDS[kind], key, source, form.values.data, form.mode.data)


def _label(definition: dict, kind: str, key: str) -> str:
    label = authoring.question_label if kind == "questions" else authoring.section_label
    return str(label(definition, key))


def _anchor(kind: str, key: str) -> str:
    return ("q-" if kind == "questions" else "sec-") + key


def _chosen_source(sources: list[dict], target: dict) -> dict | None:
    """The earlier question the condition reads: posted, picked in step 1, or the current one."""
    current = (target.get("show_if") or {}).get("question")
    wanted = request.form.get("question") or request.args.get("source") or current
    return next((s for s in sources if s["key"] == wanted), None)


def _condition_data(target: dict, source: dict | None) -> dict:
    show_if = target.get("show_if") or {}
    if source is None or show_if.get("question") != source["key"]:
        return {"mode": "any_of", "values": []}
    mode = "none_of" if "none_of" in show_if else "any_of"
    return {"mode": mode, "values": show_if.get(mode, [])}


@bp.post("/<any(questions, sections):kind>/<key>/condition/clear")
def clear_condition(questionnaire_id: int, kind: str, key: str):
    """Remove the condition: the question or section is always shown."""
    questionnaire = member_questionnaire(questionnaire_id)
    change = partial(authoring.clear_condition, kind=KINDS[kind], key=key)
    return _action(questionnaire, change, _("已取消显示条件，现在总是显示。"), _anchor(kind, key))


# --- a blank questionnaire --------------------------------------------------------------------


@blank_bp.route("/questionnaires/blank", methods=["GET", "POST"])
def blank(project_id: int):
    """Start a questionnaire from nothing: one section with one placeholder question to edit."""
    project = member_project(project_id)
    form = BlankQuestionnaireForm()
    if form.validate_on_submit():
        definition = authoring.empty_definition(form.title.data.strip())
        validate_definition(definition)
        questionnaire = Questionnaire(
            project=project, title=definition["title"], template_key="", definition=definition
        )
        db.session.add(questionnaire)
        db.session.commit()
        flash(_("已创建空白问卷。先改第一道题，再添加更多题目。"), "success")
        return redirect(url_for("builder.overview", questionnaire_id=questionnaire.id))
    return render_template("builder/blank.html", form=form, project=project, title=_("从空白问卷开始")), (
        422 if form.errors else 200
    )

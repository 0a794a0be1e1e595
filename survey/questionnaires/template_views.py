"""The template library on the desk (问卷模板): every template with its one-line description, and a preview
of one template's sections and questions before a questionnaire is created from it.

The library is the same for everyone, so any signed-in evaluator may read it. Opened from a project
(``?project=<id>``), the preview also offers "create from this template" to members who may change that
project; the project is loaded through ``survey.accounts.access`` (non-members get 404).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required

from analysis.numbers import whole_number
from forms.project import NewQuestionnaireForm
from survey.accounts.access import can_edit, member_project
from survey.questionnaires.definition import numbered_sections
from survey.questionnaires.library import load_template, template_info, template_keys
from survey.questionnaires.localize import localize_definition
from survey.questionnaires.qtypes import QUESTION_TYPES

bp = Blueprint("library", __name__, url_prefix="/desk/templates")


def template_summary(key: str) -> dict:
    """Template global: a template's title, description and size in the desk's language."""
    return template_info(key, str(get_locale()))


bp.add_app_template_global(template_summary, "template_summary")


@bp.before_request
@login_required
def require_login():
    """The library is for signed-in evaluators."""


def _project():
    """The project named by ``?project=``, checked like any desk page, or ``None``."""
    number = whole_number(request.args.get("project"))  # not isdigit(): "²" and 10²⁰ were server errors
    return member_project(number) if number is not None else None


@bp.get("/")
def index():
    """Every template, general ones first, with what it is for and a preview link."""
    project = _project()
    rows = [{"key": key, **template_summary(key)} for key in template_keys()]
    return render_template("desk/templates.html", templates=rows, project=project, title=_("问卷模板库"))


@bp.get("/<key>")
def preview(key: str):
    """One template's sections and questions, numbered as respondents will see them, with their options."""
    if key not in template_keys():
        abort(404)
    project = _project()
    definition = localize_definition(load_template(key), get_locale())
    form = NewQuestionnaireForm() if project is not None and can_edit(project) else None
    return render_template(
        "desk/template_preview.html",
        key=key,
        info=template_summary(key),
        definition=definition,
        sections=numbered_sections(definition),
        type_label=lambda name: QUESTION_TYPES[name].label,
        project=project,
        form=form,
        title=_("模板预览：%(title)s", title=definition["title"]),
    )

"""The help page (使用帮助): the evaluator's workflow in plain Chinese, linked from the desk header.

Open without signing in, so a new colleague can read it before getting an account. The lists of
question types, scoring rules and linkable survey figures come from their registries, so a type or rule
added later appears here with its name without anyone remembering to edit the page.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from analysis.indicators import DEFAULT_GRADES
from analysis.scoring import RULES
from survey.indicators.links import FIGURES
from survey.questionnaires.qtypes import QUESTION_TYPES

bp = Blueprint("help", __name__)


@bp.get("/help")
def index():
    """One page, sections in the order of the work: project, questionnaire, collection, review, results."""
    return render_template(
        "help/index.html",
        question_types=[(name, str(qtype.label)) for name, qtype in QUESTION_TYPES.items()],
        rules=[(name, _(rule.label)) for name, rule in RULES.items()],
        figures=[_(label) for label in FIGURES.values()],
        grades=DEFAULT_GRADES,
        title=_("使用帮助"),
    )

"""The stored codes are a cache of the answers: results from them must equal results recomputed from the
JSON answers, across versions, for rows without codes, and after exclusions."""

from __future__ import annotations

import copy
import random

from analysis.results import compute_results
from survey.models import Response
from survey.platform.extensions import db
from survey.projects.demo import _answer
from survey.questionnaires import publishing
from survey.results.reporting import questionnaire_results, response_records, schema_for, settings_for
from tests.helpers import ALL_TYPES, make_project


def recomputed(questionnaire):
    """Results straight from every response's JSON answers (no codes involved)."""
    records = response_records(questionnaire)
    return compute_results(schema_for(questionnaire), settings_for(questionnaire), records, small_n=30)


def same(a, b) -> None:
    assert (a.returned, a.valid, a.excluded, a.flagged) == (b.returned, b.valid, b.excluded, b.flagged)
    for x, y in zip(a.questions, b.questions, strict=True):
        assert x.answered == y.answered, x.question["key"]
        assert [o.count for o in x.options] == [o.count for o in y.options], x.question["key"]
        assert (x.rate and (x.rate.numerator, x.rate.denominator)) == (
            y.rate and (y.rate.numerator, y.rate.denominator)
        )
        assert (x.index and x.index.value) == (y.index and y.index.value)
        assert x.texts == y.texts and x.other_texts == y.other_texts
    assert a.overall.exact == b.overall.exact
    assert a.overall_index == b.overall_index
    assert (a.scale and a.scale.alpha) == (b.scale and b.scale.alpha)
    assert [[(r.key, r.respondents) for r in bd.rows] for bd in a.breakdowns] == [
        [(r.key, r.respondents) for r in bd.rows] for bd in b.breakdowns
    ]


def test_codes_match_the_answers_across_versions_and_exclusions(app, evaluator):
    questionnaire = publishing.import_questionnaire(make_project(evaluator), copy.deepcopy(ALL_TYPES))
    publishing.publish(questionnaire)
    _answer(questionnaire, random.Random(11), 40)
    # Version 2: an option removed, one added, options reordered; old answers must line up by key.
    draft = copy.deepcopy(questionnaire.definition)
    grid = draft["sections"][1]["questions"][0]
    grid["options"] = list(reversed([o for o in grid["options"] if o["key"] != "e"])) + [{"key": "n", "text": "新增"}]
    questionnaire.definition = draft
    publishing.publish(questionnaire)
    _answer(questionnaire, random.Random(12), 40)
    responses = db.session.execute(db.select(Response).order_by(Response.id)).scalars().all()
    assert {r.version_id for r in responses} == {v.id for v in questionnaire.versions}
    responses[3].status, responses[3].exclusion_reason = "excluded", "用时过短"
    responses[50].codes = responses[50].extras = None  # a row stored without them falls back to its JSON
    db.session.commit()
    same(questionnaire_results(questionnaire), recomputed(questionnaire))


def test_codes_of_a_demo_questionnaire(app, evaluator):
    questionnaire = publishing.create_questionnaire(make_project(evaluator), "public_safety")
    publishing.publish(questionnaire)
    _answer(questionnaire, random.Random(1), 60)
    same(questionnaire_results(questionnaire), recomputed(questionnaire))
    stored = db.session.execute(db.select(Response)).scalars().first()
    assert stored.codes and len(stored.codes) == 5  # one character each for q1, q2, q3, q4 and q6

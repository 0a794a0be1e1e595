"""Review decisions and flagged responses in words: the report PDF's review log, the exclusion log CSV and the
review page never show a decision code or leave a flag without the response's answers."""

from __future__ import annotations

import io
import re

import pypdf

from survey.collection.review import ACTION_NAMES, decide, decision_name, unvoid, void
from survey.models import ReviewEvent
from survey.platform.extensions import db
from survey.questionnaires.definition import numbered_questions
from survey.respond.submit import store_response
from tests.helpers import SEED_004_ANSWERS, make_project, published

CODES = re.compile(r"\b(exclude|keep|restore|void|unvoid|correct)\b", re.IGNORECASE)


def decided(app, evaluator):
    """Seed 004's questionnaire with one response of every decision: excluded, kept, restored, voided, unvoided."""
    questionnaire = published(make_project(evaluator))
    with app.test_request_context():
        first, _ = store_response(questionnaire, SEED_004_ANSWERS, "words-1")
        second, _ = store_response(questionnaire, SEED_004_ANSWERS, "words-2")
        decide(first, evaluator, "exclude", "用时过短")
        decide(first, evaluator, "restore", "复核后有效")
        decide(first, evaluator, "keep", "保留")
        second.mode = "paper"
        void(second, evaluator, "录重了")
        unvoid(second, evaluator, "作废错了")
    db.session.commit()
    return questionnaire


def test_every_decision_code_has_words_and_an_unknown_one_is_not_printed(app):
    stored = {"exclude", "keep", "restore", "void", "unvoid", "correct"}  # models.ReviewEvent / ResponseRevision
    assert stored <= set(ACTION_NAMES)
    with app.test_request_context():
        assert decision_name("void") == "作废" and decision_name("unvoid") == "撤销作废"
        assert not CODES.search(decision_name("something_old")) and decision_name("something_old")


def test_report_pdf_review_log_prints_every_decision_in_words(app, logged_in, evaluator):
    questionnaire = decided(app, evaluator)
    assert {e.action for e in db.session.execute(db.select(ReviewEvent)).scalars()} >= {"void", "unvoid", "keep"}
    data = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/report.pdf").data
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    log = re.sub(r"\s+", "", text.split("审核记录", 1)[1])
    for words in ("排除", "恢复为有效", "保留", "作废", "撤销作废"):
        assert words in log
    assert not CODES.search(text), CODES.search(text)


def test_exclusion_log_csv_names_void_and_unvoid_in_words(app, logged_in, evaluator):
    questionnaire = decided(app, evaluator)
    log = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/review/log.csv").data.decode("utf-8-sig")
    assert ",作废," in log and ",撤销作废," in log and ",恢复为有效," in log
    assert not CODES.search(log.split("\n", 1)[1])


def test_review_page_shows_the_answers_beside_a_too_fast_flag(app, logged_in, evaluator):
    questionnaire = published(make_project(evaluator))
    with app.test_request_context():
        response, _ = store_response(questionnaire, SEED_004_ANSWERS, "fast-1", flags=["too_fast"])
    response.duration_seconds = 4
    db.session.commit()
    page = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/review").data.decode()
    section = page.split(f'id="r-{response.number}"', 1)[1].split("</section>", 1)[0]
    questions = {q["key"]: q for q in numbered_questions(questionnaire.current_version.definition)}
    q3 = questions["q3"]
    words = {o["key"]: o["text"] for o in q3["options"]}[SEED_004_ANSWERS["q3"]]
    assert "全部回答" in section
    assert f"{q3['number']}.</span> {words}" in section  # the question's number and its answer in words
    assert f"{questions['q1a']['number']}.</span> {SEED_004_ANSWERS['q1a']}" in section  # a text answer as typed

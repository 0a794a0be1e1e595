"""The response browser at 50,000 responses: pages come from the (questionnaire_id, number) index, a page reads
only its own rows and never the answers, deep pages and filters too (tests count statements; they never time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event, insert

from survey.models import Questionnaire, Response
from survey.platform.extensions import db
from survey.responses import browser
from tests.helpers import make_project, published

COUNT = 50_000


def _load(questionnaire: Questionnaire) -> None:
    """50,000 responses as a bulk load writes them (numbers given in order), in batches."""
    start = datetime(2026, 10, 1)
    rows = [
        {
            "questionnaire_id": questionnaire.id, "version_id": questionnaire.current_version_id,
            "submission_id": f"scale-{i:06d}", "number": i + 1, "submitted_at": start + timedelta(minutes=i),
            "duration_seconds": 20 + i % 300, "channel": ("web", "c1", "paper")[i % 3],
            "mode": "paper" if i % 3 == 2 else "web", "status": "excluded" if i % 50 == 0 else "valid",
            "answers": {"q2": "a", "q9": "x" * 40}, "flags": ["too_fast"] if i % 7 == 0 else [], "reviewed": False,
        }
        for i in range(COUNT)
    ]  # fmt: skip
    for first in range(0, COUNT, 5000):
        db.session.execute(insert(Response.__table__), rows[first : first + 5000])
    questionnaire.last_response_number = COUNT
    db.session.commit()


def _statements(run) -> list[str]:
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return sent


def test_browsing_fifty_thousand_responses(app, evaluator):
    questionnaire = published(make_project(evaluator))
    _load(questionnaire)
    db.session.refresh(questionnaire)  # loaded first: only the browser's own statements are counted
    cases = [
        (browser.Filters(), 1, list(range(COUNT, COUNT - 50, -1))),
        (browser.Filters(), 1000, list(range(50, 0, -1))),
        (browser.Filters(channel="c1", flag="too_fast"), 1, None),
        (browser.Filters(status="excluded", mode="web"), 3, None),
        (browser.Filters(date_from=datetime(2026, 10, 20).date(), date_to=datetime(2026, 10, 21).date()), 2, None),
    ]
    for filters, page_number, expected in cases:
        pages: list[browser.Page] = []
        sent = _statements(lambda f=filters, n=page_number, out=pages: out.append(browser.browse(questionnaire, f, n)))
        page = pages[0]
        assert len(sent) == 2, sent  # the count and the page, nothing per row
        assert "answers" not in sent[1].lower()
        if expected is not None:
            assert [row.number for row in page.rows] == expected
        assert page.total > 0 and len(page.rows) <= browser.PAGE_SIZE
    everything = browser.browse(questionnaire, browser.Filters())
    assert everything.total == COUNT and everything.pages == COUNT // browser.PAGE_SIZE
    flagged = browser.browse(questionnaire, browser.Filters(flag="too_fast")).total
    assert flagged == len(range(0, COUNT, 7))

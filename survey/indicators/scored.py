"""A scored indicator table as JSON-ready data: one shape for ``flask indicators score`` and the read API.

Both the CLI (``survey.projects.cli``) and the API (``survey.projects.api_views``) print a table's scores this way, so
the shape
lives here rather than in either.
"""

from __future__ import annotations

from survey.results.presenting import say


def table_score_dict(table: dict, result) -> dict:
    """A scored table as JSON-ready data."""
    return {
        "total": str(result.total),
        "grade": result.grade,
        "complete": result.complete,
        "scores": {key: None if value is None else str(value) for key, value in result.scores.items()},
        "errors": {key: say(wording) for key, wording in result.errors.items()},
        "deductions": [
            {
                "key": d.key,
                "name": d.name,
                "points": str(d.points),
                "score": str(d.score),
                "lost": str(d.lost),
                "reason": say(d.reason),
            }
            for d in result.deductions
        ],
    }

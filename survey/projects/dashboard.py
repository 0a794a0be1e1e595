"""What a project's dashboard shows: counts per channel against targets, flags to review, the indicator score.

Gathered here (not in the view or the template) so the figures can be tested on their own and the
desk view stays short. Nothing is computed twice: counts come from ``survey.results.reporting``, the indicator
total and grade from ``analysis.indicators`` with the live values of ``survey.indicators.links``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import String, cast, func

from analysis.scoring import D
from survey.indicators.links import current_score
from survey.models import IndicatorTable, Project, Questionnaire, Response
from survey.platform.extensions import db
from survey.results.reporting import channel_counts, channel_label

NO_FLAGS = ("[]", "null")  # how an empty flag list is stored in the JSON column


@dataclass(frozen=True)
class Progress:
    """Valid responses of one channel (or the whole questionnaire) against its target sample, if any."""

    label: str
    valid: int
    target: int | None = None

    @property
    def percent(self) -> int | None:
        """Share of the target reached, capped at 100 for the bar (the numbers show the overshoot)."""
        if not self.target:
            return None
        return min(100, round(100 * self.valid / self.target))


@dataclass(frozen=True)
class QuestionnaireSummary:
    """One questionnaire's line on the dashboard."""

    questionnaire: Questionnaire
    total: Progress
    excluded: int
    flags_waiting: int
    channels: list[Progress] = field(default_factory=list)
    codes: tuple[str, ...] = ()  # the channel codes responses came through (web, paper, import, import:…)

    @property
    def source(self) -> str:
        """Where the responses came from, for a questionnaire without collection points: web, import or mixed."""
        if all(code == "web" for code in self.codes):
            return "web"
        return "import" if all(code.startswith("import") for code in self.codes) else "mixed"


@dataclass(frozen=True)
class IndicatorSummary:
    """The indicator table's current total and grade; ``complete`` is false while some leaves have no score."""

    total: Decimal | None
    grade: str | None
    total_points: Decimal | None
    complete: bool
    invalid: bool


@dataclass(frozen=True)
class Dashboard:
    """Everything the project page shows beyond the project's own details."""

    questionnaires: list[QuestionnaireSummary]
    indicators: IndicatorSummary | None

    @property
    def flags_waiting(self) -> int:
        return sum(q.flags_waiting for q in self.questionnaires)

    @property
    def valid(self) -> int:
        return sum(q.total.valid for q in self.questionnaires)


def project_dashboard(project: Project) -> Dashboard:
    """The dashboard of ``project``: a few grouped queries per questionnaire, plus the indicator score."""
    waiting = flags_waiting(project)
    return Dashboard(
        [_summary(q, waiting.get(q.id, 0)) for q in project.questionnaires],
        indicator_summary(project),
    )


def _summary(questionnaire: Questionnaire, waiting: int) -> QuestionnaireSummary:
    """Counts by channel (one grouped query), with every channel listed even before its first answer."""
    counts = channel_counts(questionnaire)
    valid = sum(n.get("valid", 0) for n in counts.values())
    excluded = sum(n.get("excluded", 0) for n in counts.values())
    channels = [Progress(c.label, counts.get(c.code, {}).get("valid", 0), c.target) for c in questionnaire.channels]
    named = {c.code for c in questionnaire.channels}
    channels += [
        Progress(channel_label(code, questionnaire.channels), n.get("valid", 0))
        for code, n in sorted(counts.items())
        if code not in named
    ]
    total = Progress("", valid, questionnaire.target)
    return QuestionnaireSummary(questionnaire, total, excluded, waiting, channels, tuple(sorted(counts)))


def flags_waiting(project: Project) -> dict[int, int]:
    """Flagged, valid, not yet reviewed responses per questionnaire: ``review.waiting_for_review`` as counts.

    Counted in the database (flags compared as stored JSON text) so a large questionnaire's answers are
    never loaded just to show a number.
    """
    query = (
        db.select(Response.questionnaire_id, func.count())
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(
            Questionnaire.project_id == project.id,
            Response.status == "valid",
            Response.reviewed.is_(False),
            Response.flags.is_not(None),
            cast(Response.flags, String).not_in(NO_FLAGS),
        )
        .group_by(Response.questionnaire_id)
    )
    return dict(db.session.execute(query).all())


def indicator_summary(project: Project) -> IndicatorSummary | None:
    """The project's indicator total and grade as the table page computes them; ``None`` without a table."""
    row = db.session.execute(db.select(IndicatorTable).filter_by(project_id=project.id)).scalar_one_or_none()
    if row is None:
        return None
    definition = row.definition
    result = current_score(project, definition)
    if result is None:
        return IndicatorSummary(None, None, None, complete=False, invalid=True)
    points = sum((D(n["points"]) for n in definition["indicators"]), Decimal(0))
    return IndicatorSummary(result.total, result.grade, points, complete=result.complete, invalid=False)

"""Linking a questionnaire to its previous round, and which rated questions are compared.

Rounds of a 群众安全感 survey are usually separate questionnaires, often in separate projects (one per evaluation
year). A round names its previous round; following the links gives the series. Rated questions are paired by
their stable keys; a question whose key changed (reworded, renumbered) is paired by identical wording, and the
evaluator may pair or unpair any question by hand. Only pairs of rated questions are kept: a rate is compared
with a rate.
"""

from __future__ import annotations

from survey.accounts.access import role_in
from survey.collection.import_reading import normalized
from survey.models import Questionnaire, RoundLink
from survey.platform.extensions import db
from survey.results.reporting import schema_for


def rated_questions(questionnaire: Questionnaire) -> list[dict]:
    """The questions of a questionnaire that have a rate (a positive option), in order."""
    return [
        q for q in schema_for(questionnaire) if q["storage"] == "one" and any(o.get("positive") for o in q["options"])
    ]


def default_mapping(current: list[dict], previous: list[dict]) -> dict[str, str]:
    """This round's rated question → the previous round's: the same key, else the same wording."""
    by_key = {q["key"]: q for q in previous}
    by_text = {normalized(q["text"]): q for q in previous}
    mapping = {}
    for question in current:
        match = by_key.get(question["key"]) or by_text.get(normalized(question["text"]))
        if match is not None:
            mapping[question["key"]] = match["key"]
    return mapping


def linkable(questionnaire: Questionnaire, candidates: list[Questionnaire]) -> list[Questionnaire]:
    """Questionnaires that may be this one's previous round: published ones the evaluator may read, other than
    this one and any later round of its series (a link must not make a loop)."""
    later = _later_rounds(questionnaire)
    return [
        q
        for q in candidates
        if q.id != questionnaire.id and q.id not in later and q.current_version is not None and role_in(q) is not None
    ]


def _later_rounds(questionnaire: Questionnaire) -> set[int]:
    """Every questionnaire whose chain of previous rounds reaches this one."""
    later, frontier = set(), {questionnaire.id}
    while frontier:
        rows = db.session.execute(db.select(RoundLink.questionnaire_id).where(RoundLink.previous_id.in_(frontier)))
        frontier = {row[0] for row in rows} - later
        later |= frontier
    return later


def save_link(
    questionnaire: Questionnaire, previous: Questionnaire, label: str, previous_label: str, mapping: dict[str, str]
) -> RoundLink:
    """Store (or replace) the link and its question pairs."""
    link = questionnaire.round_link or RoundLink(questionnaire=questionnaire, mapping={})
    link.previous = previous
    link.label, link.previous_label = label, previous_label
    link.mapping = dict(mapping)
    db.session.add(link)
    db.session.commit()
    return link


def remove_link(questionnaire: Questionnaire) -> None:
    if questionnaire.round_link is not None:
        db.session.delete(questionnaire.round_link)
        db.session.commit()

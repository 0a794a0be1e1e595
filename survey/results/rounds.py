"""The rounds of a series for the results: the chain of previous rounds (``RoundLink``), each round's results,
and the comparison (``analysis.series``) that every page, file and report shows beside the newest round's figures.

A previous round may belong to another project: the evaluator who linked the rounds could read both, and the
comparison shows that round's published figures only (rates and their n), never its responses.
"""

from __future__ import annotations

from collections.abc import Callable

from analysis.results import Results
from analysis.series import SeriesComparison, compare_rounds
from survey.models import Questionnaire

MAX_ROUNDS = 12  # a longer series is compared over its newest twelve rounds


def series(questionnaire: Questionnaire) -> list[tuple[Questionnaire, str]]:
    """The rounds ending with ``questionnaire``, oldest first, each with its label; a cycle or a very long
    chain stops the walk (at most ``MAX_ROUNDS``)."""
    rounds: list[tuple[Questionnaire, str]] = []
    seen: set[int] = set()
    current: Questionnaire | None = questionnaire
    label = questionnaire.round_link.label if questionnaire.round_link else questionnaire.title
    while current is not None and current.id not in seen and len(rounds) < MAX_ROUNDS:
        seen.add(current.id)
        rounds.append((current, label))
        link = current.round_link
        if link is None:
            break
        previous = link.previous
        label = previous.round_link.label if previous.round_link else link.previous_label
        current = previous
    return rounds[::-1]


def key_mappings(chain: list[tuple[Questionnaire, str]]) -> list[dict[str, str]]:
    """For each round (oldest first), the newest round's rated question key → that round's key, composed along
    the links' mappings; the newest round maps every key to itself."""
    newest = chain[-1][0]
    current = {key: key for key in (newest.round_link.mapping if newest.round_link else {})}
    current.update({key: key for key in _all_keys(newest)})
    mappings = [current]
    for position in range(len(chain) - 1, 0, -1):
        link = chain[position][0].round_link
        step = link.mapping if link else {}
        current = {newest_key: step[key] for newest_key, key in current.items() if key in step}
        mappings.append(current)
    return mappings[::-1]


def _all_keys(questionnaire: Questionnaire) -> list[str]:
    version = questionnaire.current_version
    definition = version.definition if version else questionnaire.definition
    return [q["key"] for section in definition.get("sections", []) for q in section.get("questions", [])]


def compare(
    questionnaire: Questionnaire, results: Results, results_of: Callable[[Questionnaire], Results], small_n: int
) -> SeriesComparison | None:
    """The series comparison, or ``None`` when the questionnaire is not a later round of a series."""
    chain = series(questionnaire)
    if len(chain) < 2:
        return None
    rounds = [(label, results_of(q)) for q, label in chain[:-1]] + [(chain[-1][1], results)]
    return compare_rounds(rounds, key_mappings(chain), small_n)

"""What each response stores for fast analysis, derived from its answers when it is stored.

``codes``: one character per single-answer item of the response's version (``analysis.frame.code_layout``).
``extras``: the few other answers (multiple choice, numbers, texts, "other" texts) as a small JSON
object, so analysis never parses the whole answers document. The answers JSON stays the source of
truth; ``survey.results.reporting`` falls back to it for any row stored without codes, and both paths give
the same results (``tests/test_coding.py`` checks that).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import orjson

from analysis.frame import code_layout, encode_answers, uncoded_keys
from survey.questionnaires.definition import analysis_schema


@lru_cache(maxsize=256)
def _layout_for(definition_json: str) -> tuple:
    return tuple((key, tuple(options)) for key, options in code_layout(analysis_schema(json.loads(definition_json))))


def layout(definition: dict) -> list[tuple[str, list[str]]]:
    """The code layout of a definition (cached: frozen versions are read on every submission)."""
    return [(key, list(options)) for key, options in _layout_for(json.dumps(definition, sort_keys=True))]


@dataclass(frozen=True)
class Coder:
    """A version's codes layout and extra keys, worked out once: what storing a response derives from them.

    ``survey.respond.frozen`` keeps one per published version, so a submission does not serialise the whole
    definition twice to find its cache entry, as ``response_codes``/``response_extras`` must.
    """

    layout: tuple[tuple[str, tuple[str, ...]], ...]
    extra_keys: tuple[str, ...]

    @classmethod
    def of(cls, definition: dict) -> Coder:
        """The coder of a version ``definition``."""
        key = json.dumps(definition, sort_keys=True)
        return cls(_layout_for(key), _extra_keys_for(key))

    def codes(self, answers: dict) -> str:
        """The codes string of ``answers``."""
        return encode_answers(self.layout, answers)

    def extras(self, answers: dict) -> str | None:
        """The answers not in the codes, as compact JSON; ``None`` when there are none."""
        extras = {key: answers[key] for key in self.extra_keys if key in answers}
        return orjson.dumps(extras).decode() if extras else None


def response_codes(definition: dict, answers: dict) -> str:
    """The codes string of ``answers`` to the version ``definition``."""
    return Coder.of(definition).codes(answers)


@lru_cache(maxsize=256)
def _extra_keys_for(definition_json: str) -> tuple[str, ...]:
    return tuple(uncoded_keys(analysis_schema(json.loads(definition_json))))


def response_extras(definition: dict, answers: dict) -> str | None:
    """The answers not in the codes, as compact JSON; ``None`` when there are none."""
    return Coder.of(definition).extras(answers)

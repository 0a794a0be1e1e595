"""The compact ``codes`` string stored with each response, for fast analysis.

One character per single-answer item of the response's version (``analysis.frame.code_layout``).
The answers JSON stays the source of truth; codes are derived from it when a response is stored,
and ``survey.reporting`` falls back to the JSON for any row without them, so both paths give the
same results (``tests/test_coding.py`` checks that).
"""

from __future__ import annotations

import json
from functools import lru_cache

from analysis.frame import code_layout, encode_answers
from survey.definition import analysis_schema


@lru_cache(maxsize=256)
def _layout_for(definition_json: str) -> tuple:
    return tuple((key, tuple(options)) for key, options in code_layout(analysis_schema(json.loads(definition_json))))


def layout(definition: dict) -> list[tuple[str, list[str]]]:
    """The code layout of a definition (cached: frozen versions are read on every submission)."""
    return [(key, list(options)) for key, options in _layout_for(json.dumps(definition, sort_keys=True))]


def response_codes(definition: dict, answers: dict) -> str:
    """The codes string of ``answers`` to the version ``definition``."""
    return encode_answers(layout(definition), answers)

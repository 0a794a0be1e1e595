"""The portable questionnaire format: export a definition as JSON, import JSON or XLSForm.

An import either yields a valid definition or raises ``DefinitionError`` with every problem; the
caller stores nothing in that case. A questionnaire's English texts (``text_en`` …, ``survey.questionnaires.localize``)
are ordinary fields of the definition, so they travel both ways unchanged.
"""

from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l

from survey.questionnaires.definition import FORMAT, normalize_definition, validate_definition
from survey.questionnaires.problems import DefinitionError, Problem

XLSX_MAGIC = b"PK\x03\x04"


def export_json(definition: dict) -> str:
    """The definition as pretty UTF-8 JSON, always in the sectioned form with its format tag."""
    document = {"format": FORMAT, **normalize_definition(definition)}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def parse_definition(data: bytes, filename: str = "") -> dict:
    """A validated, normalised definition from JSON or XLSForm bytes; raises ``DefinitionError``."""
    if filename.lower().endswith(".xlsx") or data.startswith(XLSX_MAGIC):
        from survey.questionnaires.xlsform import definition_from_xlsform  # openpyxl is only needed for XLSForm

        return normalize_definition(definition_from_xlsform(data))
    definition = _decode_json(data)
    validate_definition(definition)
    return normalize_definition(definition)


def _decode_json(data: bytes) -> object:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DefinitionError(
            [Problem("$", _l("文件不是 UTF-8 编码的文本（第 %(pos)d 字节）。", pos=error.start))]
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"$ (line {error.lineno}, column {error.colno})"
        raise DefinitionError([Problem(where, _l("不是有效的 JSON：%(reason)s。", reason=error.msg))]) from None
    except RecursionError:  # "[[[[…" thousands deep: the parser's stack, not a server error
        raise DefinitionError([Problem("$", _l("JSON 嵌套太深，不是一份问卷定义。"))]) from None

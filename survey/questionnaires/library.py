"""The built-in template library: questionnaire definitions shipped as JSON files in ``library/``.

Templates are data in the portable format, so adding one is adding a file. Each file may carry a
``library`` block that is about the template, not part of the questionnaire: its ``rank`` (the order of
the list: general templates first, one project's worked example last; files without a rank come after
those with one, by file name) and a one-line ``description`` (with ``description_en``) saying what it is
for. ``load_template`` leaves that block out, so a questionnaire made from a template never carries it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LIBRARY_DIR = Path(__file__).with_name("library")
META = "library"  # the block about the template itself
UNRANKED = 10_000


@cache
def _load_all() -> dict[str, dict]:
    """Read every template once per process (they are read-only), ordered by their declared rank."""
    templates = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in LIBRARY_DIR.glob("*.json")}
    return dict(sorted(templates.items(), key=lambda item: (_meta(item[1]).get("rank", UNRANKED), item[0])))


def _meta(template: dict) -> dict:
    meta = template.get(META)
    return meta if isinstance(meta, dict) else {}


def template_keys() -> list[str]:
    """Keys of the shipped templates, general ones first (their declared ``rank``)."""
    return list(_load_all())


def load_template(key: str) -> dict:
    """A fresh deep copy of one template's definition, safe to edit (without the ``library`` block)."""
    definition = json.loads(json.dumps(_load_all()[key]))
    definition.pop(META, None)
    return definition


def template_info(key: str, language: str = "zh") -> dict:
    """What the template list shows: title, one-line description and how many questions, in ``language``.

    English falls back to the Chinese text where a template has no English twin.
    """
    template = _load_all()[key]
    meta = _meta(template)
    english = language.startswith("en")
    title = (template.get("title_en") if english else None) or template["title"]
    description = (meta.get("description_en") if english else None) or meta.get("description", "")
    sections = template.get("sections") or [{"questions": template.get("questions", [])}]
    return {
        "title": title,
        "description": description,
        "questions": sum(len(section.get("questions", [])) for section in sections),
        "sections": len(sections),
    }

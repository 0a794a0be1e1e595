"""The built-in template library: questionnaire definitions shipped as JSON files in ``library/``.

Templates are data in the portable format, so adding one is adding a file.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LIBRARY_DIR = Path(__file__).with_name("library")


@cache
def _load_all() -> dict[str, dict]:
    """Read every template once per process; they are read-only."""
    templates = {}
    for path in sorted(LIBRARY_DIR.glob("*.json")):
        templates[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return templates


def template_keys() -> list[str]:
    """Keys of the shipped templates, in file-name order."""
    return list(_load_all())


def load_template(key: str) -> dict:
    """A fresh deep copy of one template's definition, safe to edit."""
    return json.loads(json.dumps(_load_all()[key]))

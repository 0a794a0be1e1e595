"""Problems found in a definition or an import: each names where it is and what is wrong.

Messages are lazy strings, so one problem reads in Chinese or English depending on the locale it
is rendered in (``Problem.bilingual`` gives both, for the CLI and import reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located by a path such as ``sections[0].questions[2].type`` or ``survey!7``."""

    path: str
    message: Any  # a lazy gettext string

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def bilingual(self) -> str:
        """``path: 中文说明 / English explanation`` for reports read outside the web page."""
        with force_locale("zh_Hans_CN"):
            chinese = str(self.message)
        with force_locale("en"):
            english = str(self.message)
        return f"{self.path}: {chinese}" + ("" if english == chinese else f" / {english}")


class DefinitionError(ValueError):
    """Raised with every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems

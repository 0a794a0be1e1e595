"""Heavy libraries imported when first used, not when the module naming them is imported.

``import app`` reaches every module of ``analysis/`` (the views name their functions), and pandas, numpy and
scipy.stats were half the cost of starting the app: every ``flask`` command, gunicorn worker and export-job
process paid about a second for them before doing anything, though most never compute a figure.

``pd = lazy_module("pandas")`` gives a stand-in whose first attribute access imports pandas through the normal
import system (thread-safe, the module then sits in ``sys.modules`` as usual) and hands out its attributes from
then on. Only attribute access is forwarded: use ``pd.DataFrame``, never ``pd`` itself as a module.
Annotations naming ``pd.DataFrame`` cost nothing under ``from __future__ import annotations``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A module imported on its first attribute access."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name``, imported when first used (typed ``Any``, as a module's attributes are)."""
    return LazyModule(name)

"""The code style the project keeps: ``ruff check`` and ``ruff format`` clean, held by CI.

The rules are the ones the product owner's guide asks for (``../shared/STYLE.md``, outside this repository:
ruff's E, F, W, B, I, S and C90 families and its formatter), configured under ``[tool.ruff]`` in
``pyproject.toml``; ``docs/ARCHITECTURE.md`` is the in-repository map of the code they apply to. Ruff is pinned
in the test extras, so a new release's rules cannot fail a checkout that passed before.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_the_code_is_ruff_clean(command):
    run = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr

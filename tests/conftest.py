"""Helpers shared by the test modules.

- ``runner`` (fixture): a click ``CliRunner`` whose results keep stderr apart from stdout;
- ``find_tool(name)``: the path of a command the suite runs (ruff, fixit, loopsafe's own
  console script), failing the test when it is missing;
- ``unfocused(source, settings)``: the engine without its shortcuts (no prefilter, screen
  or focus: libcst on the whole module), the reference the shortcuts are compared with.

Fixture cases are found by ``tests/fixture_cases.py``.

This module is imported for every test: it imports nothing of ``codemods`` at load time,
so that a broken module there fails the tests that use it, not the whole suite.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

if TYPE_CHECKING:
    from codemods.config import Settings
    from codemods.engine import TransformResult


@pytest.fixture()
def runner() -> CliRunner:
    """A ``CliRunner`` with ``result.stderr`` apart from ``result.stdout`` (click < 8.2 mixes
    them unless told; click 8.2 always keeps them apart and has no ``mix_stderr``)."""
    return CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()


def find_tool(name: str, hint: str = "") -> str:
    """The command ``name``: the one installed next to this Python (the venv's scripts)
    first, then on PATH. A missing tool fails the test, it is not skipped: every tool the
    suite runs comes with the "test" extra or with loopsafe itself. ``hint`` says how to
    install it."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed" + (f" ({hint})" if hint else ""))
    return found


def unfocused(
    source: bytes, settings: Settings, *, findings_only: bool = True, filename: str = "<case>"
) -> TransformResult:
    """The engine without its shortcuts: libcst on the whole module."""
    from codemods.engine import _transform, run_with_deep_stack

    return run_with_deep_stack(lambda: _transform(source, settings, filename, findings_only))

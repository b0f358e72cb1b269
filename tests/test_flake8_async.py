"""After ``loopsafe fix``, flake8-async finds nothing new in its ASYNC1xx family.

Every fixture case and project is checked: for each ASYNC1xx code, the fixed module
(``expected.py``, a project's ``expected/`` file) has at most as many problems as the
module the user wrote. ASYNC120 is the one a fix could add: an await put in an ``except``
handler that raises afterwards (loopsafe reports such calls instead). The checks run on
CPython's ``ast`` (flake8-async's ast runner), in this process; the two libcst-based
ASYNC1xx checks, ASYNC100 (a cancel scope without a checkpoint) and ASYNC124 (an async
function without an await), can only go away when a fix adds awaits.
"""

from __future__ import annotations

import ast
from argparse import ArgumentParser
from collections import Counter
from pathlib import Path

import pytest

from tests.fixture_cases import FIXTURES, discover

flake8_async = pytest.importorskip("flake8_async")
from flake8_async.runner import Flake8AsyncRunner  # noqa: E402 - only once flake8-async is there


def _pairs() -> list[tuple[Path, Path]]:
    """(as written, as fixed) for every module of the fixtures that the fix changes."""
    pairs = [(case.input, case.expected) for case in discover()]
    for project in sorted((FIXTURES / "projects").iterdir()):
        for written in sorted((project / "input").rglob("*.py")):
            pairs.append((written, project / "expected" / written.relative_to(project / "input")))
    return [(before, after) for before, after in pairs if before.read_bytes() != after.read_bytes()]


def _options() -> object:
    """flake8-async's options with its ASYNC1xx checks on (as ``--enable ASYNC1``)."""
    parser = ArgumentParser()
    flake8_async.Plugin.add_options(parser)
    flake8_async.Plugin.parse_options(parser.parse_args(["--enable", "ASYNC1"]))
    return flake8_async.Plugin._options


def _codes(path: Path, options: object) -> Counter[str]:
    tree = ast.parse(path.read_bytes())
    return Counter(error.code for error in Flake8AsyncRunner.run(tree, options) if error.code.startswith("ASYNC1"))


def test_fix_adds_no_flake8_async_problem() -> None:
    options = _options()
    pairs = _pairs()
    assert len(pairs) > 200
    new: list[str] = []
    for before, after in pairs:
        added = _codes(after, options) - _codes(before, options)
        new += [f"{after.relative_to(FIXTURES)}: {code} x{count}" for code, count in sorted(added.items())]
    assert not new, "flake8-async finds new problems after the fix:\n" + "\n".join(new)


def test_the_check_sees_an_await_added_before_a_raise(tmp_path: Path) -> None:
    """The check has teeth: the naive fix of a call in a handler that re-raises is flagged."""
    options = _options()
    before, after = tmp_path / "before.py", tmp_path / "after.py"
    handler = "import asyncio\nimport time\n\n\nasync def f():\n    try:\n        pass\n    except OSError:\n        {}\n        raise\n"
    before.write_text(handler.format("time.sleep(1)"))
    after.write_text(handler.format("await asyncio.sleep(1)"))
    assert _codes(after, options) - _codes(before, options) == Counter({"ASYNC120": 1})

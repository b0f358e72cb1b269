"""Fixture projects: small multi-module trees for LS301 across modules, run through the CLI.

Each project ``tests/fixtures/projects/<case>/`` (layout in ``tests/fixtures/README.md``)
holds ``input/`` (a project tree as a user wrote it), ``expected/`` (the same tree as
``loopsafe fix`` must leave it, unchanged files included) and ``findings.txt`` (what
``loopsafe check`` lists on ``input/``, one finding a line, sorted by path, line and
column: ``relpath:LINE:COL CODE fix|report NAME``, optionally followed by `` -- `` and
words the finding's message must hold: the reason of a report).

For each project, on a copy of ``input/`` that is the current directory (so that a
``pyproject.toml`` of the project applies), the CLI runs in process:

- ``check --format json .`` lists exactly the findings of ``findings.txt``;
- ``fix .`` leaves exactly the files of ``expected/``, byte for byte (none added, none
  removed), each of which compiles;
- ``fix .`` again changes nothing (a fixed point);
- ``check .`` on the fixed tree lists exactly the ``report`` lines of ``findings.txt``
  (by path, code and name: the fix moves lines).

``LOOPSAFE_UPDATE_PROJECTS=1`` rewrites ``findings.txt`` and ``expected/`` from what the
tool gives instead (review the change with ``git diff`` before keeping it); the files
are hand-written, saying what the fix should be, so it is off by default.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codemods.cli import main

PROJECTS = Path(__file__).parent / "fixtures" / "projects"
UPDATE = os.environ.get("LOOPSAFE_UPDATE_PROJECTS") == "1"

#: ``reports/handlers.py:20:12 LS301 fix save_report``
FINDING_LINE = re.compile(
    r"(?P<path>\S+):(?P<line>\d+):(?P<column>\d+) (?P<code>LS\d{3}) (?P<kind>fix|report) (?P<name>\S+)"
    r"(?: -- (?P<reason>.+))?"
)

#: (path, line, column, code, "fix" or "report", name)
Row = tuple[str, int, int, str, str, str]


@dataclass(frozen=True)
class Project:
    name: str
    folder: Path

    @property
    def input(self) -> Path:
        return self.folder / "input"

    @property
    def expected(self) -> Path:
        return self.folder / "expected"

    @property
    def findings_file(self) -> Path:
        return self.folder / "findings.txt"

    def findings(self) -> list[Row]:
        rows: list[Row] = []
        for text in self.findings_file.read_text().splitlines():
            if not text.strip():
                continue
            match = FINDING_LINE.fullmatch(text.strip())
            assert match, f"{self.findings_file}: not `relpath:LINE:COL CODE fix|report NAME`: {text!r}"
            rows.append((match["path"], int(match["line"]), int(match["column"]), match["code"], match["kind"],
                         match["name"]))
        return rows

    def reasons(self) -> dict[Row, str]:
        """The words each finding's message must hold, where ``findings.txt`` gives them."""
        found: dict[Row, str] = {}
        for text in self.findings_file.read_text().splitlines():
            match = FINDING_LINE.fullmatch(text.strip())
            if match and match["reason"]:
                found[(match["path"], int(match["line"]), int(match["column"]), match["code"], match["kind"],
                       match["name"])] = match["reason"]
        return found


def discover_projects(root: Path = PROJECTS) -> list[Project]:
    """Every folder under ``root`` is a project (``test_each_project_is_complete`` checks it
    has its three parts, so a half-made one fails rather than being skipped)."""
    return sorted((Project(folder.name, folder) for folder in root.iterdir() if folder.is_dir()),
                  key=lambda project: project.name)


ALL = discover_projects()


def snapshot(tree: Path, *, skip_caches: bool = False) -> dict[str, bytes]:
    """Every file under ``tree`` by its path relative to it (forward slashes).
    ``skip_caches``: leave out ``__pycache__`` (for the trees stored in the repository,
    where a stray import may have left one)."""
    files: dict[str, bytes] = {}
    for path in sorted(tree.rglob("*")):
        if path.is_dir() or (skip_caches and "__pycache__" in path.relative_to(tree).parts):
            continue
        files[path.relative_to(tree).as_posix()] = path.read_bytes()
    return files


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _readable(files: dict[str, bytes]) -> dict[str, str]:
    """For the assertion's diff; equal exactly when the bytes are."""
    return {name: data.decode("utf-8", "surrogateescape") for name, data in files.items()}


def _invoke(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 1), f"loopsafe {' '.join(args)} failed ({result.exit_code}):\n{result.stderr}"
    return result


def _check(runner: CliRunner, *options: str, messages: dict[Row, str] | None = None) -> tuple[list[Row], int]:
    """The findings of ``check``; ``messages``: filled with each one's message."""
    result = _invoke(runner, "check", "--no-cache", "--format", "json", *options, ".")
    rows: list[Row] = []
    for item in json.loads(result.stdout):
        path = Path(item["path"]).as_posix()
        row = (path.removeprefix("./"), item["line"], item["column"], item["code"],
               "fix" if item["fixable"] else "report", item["name"])
        rows.append(row)
        if messages is not None:
            messages[row] = item["message"]
    return sorted(rows), result.exit_code


def _fix(runner: CliRunner) -> int:
    return _invoke(runner, "fix", "--no-cache", "-j", "1", ".").exit_code


def _lines(rows: list[Row]) -> list[str]:
    """As in ``findings.txt`` (for a readable assertion diff)."""
    return [f"{path}:{line}:{col} {code} {kind} {name}" for path, line, col, code, kind, name in rows]


def _write_findings(project: Project, rows: list[Row]) -> None:
    reasons = project.reasons() if project.findings_file.is_file() else {}
    lines = [f"{line} -- {reasons[row]}" if row in reasons else line
             for row, line in zip(sorted(rows), _lines(sorted(rows)))]
    project.findings_file.write_text("".join(f"{line}\n" for line in lines))


# -- the layout (hand-written files, no loopsafe) ------------------------------------------------


def test_there_are_enough_projects() -> None:
    assert len(ALL) >= 16, [project.name for project in ALL]


@pytest.mark.parametrize("project", ALL, ids=[project.name for project in ALL])
def test_each_project_is_complete(project: Project) -> None:
    """``input/``, ``expected/`` and ``findings.txt``; the fix changes files, never adds or
    removes one; the findings are well formed, sorted, and name files of the input."""
    assert project.input.is_dir() and project.expected.is_dir() and project.findings_file.is_file(), project.folder
    inputs = snapshot(project.input, skip_caches=True)
    assert any(name.endswith(".py") for name in inputs)
    # Module names the single-module fixture discovery (and tests/test_bindings.py) would take for its own.
    assert not [name for name in inputs if Path(name).name in ("input.py", "expected.py")
                or name.endswith((".input.py", ".expected.py"))]
    assert sorted(snapshot(project.expected, skip_caches=True)) == sorted(inputs)
    rows = project.findings()
    assert rows == sorted(rows, key=lambda row: row[:3]), "findings.txt is sorted by path, line and column"
    assert {row[0] for row in rows} <= set(inputs)
    for name, data in {**inputs, **snapshot(project.expected, skip_caches=True)}.items():
        if name.endswith(".py"):
            compile(data, name, "exec", dont_inherit=True)


def test_projects_are_not_fixture_cases() -> None:
    """The single-module case discovery (``tests/fixture_cases.py``) does not pick up the
    modules of the projects."""
    from tests.fixture_cases import discover

    assert not [case.name for case in discover() if PROJECTS in case.input.parents]


# -- the projects through the CLI -----------------------------------------------------------------


@pytest.mark.parametrize("project", ALL, ids=[project.name for project in ALL])
def test_project(project: Project, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = copy_tree(project.input, tmp_path / "tree")
    monkeypatch.chdir(tree)

    messages: dict[Row, str] = {}
    found, status = _check(runner, "-j", "1", messages=messages)
    if UPDATE:
        _write_findings(project, found)
    wanted = sorted(project.findings())
    assert _lines(found) == _lines(wanted)
    for row, reason in project.reasons().items():
        assert reason in messages[row], (row, messages[row])
    assert status == (1 if wanted else 0)

    status = _fix(runner)
    fixed = snapshot(tree)
    if UPDATE:
        shutil.rmtree(project.expected)
        copy_tree(tree, project.expected)
    assert _readable(fixed) == _readable(snapshot(project.expected, skip_caches=True))
    assert status == (1 if any(row[4] == "report" for row in wanted) else 0), "fix exits 1 when calls are left"
    for name, data in fixed.items():
        if name.endswith(".py"):
            compile(data, str(tree / name), "exec", dont_inherit=True)

    # A fixed point: a second fix changes nothing.
    _fix(runner)
    assert _readable(snapshot(tree)) == _readable(fixed)

    # What check lists afterwards is exactly what the fix left for review.
    after, _ = _check(runner, "-j", "1")
    assert _lines([row for row in after if row[4] != "report"]) == []
    left = Counter((path, code, name) for path, _, _, code, kind, name in wanted if kind == "report")
    assert Counter((path, code, name) for path, _, _, code, _, name in after) == left


WITH_HELPERS = [project for project in ALL if project.findings_file.is_file()
                and any(row[3] == "LS301" for row in project.findings())]


@pytest.mark.parametrize("project", WITH_HELPERS, ids=[project.name for project in WITH_HELPERS])
def test_workers_see_the_whole_project(
    project: Project, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With worker processes (``-j 2``) each worker parses some of the modules; the helpers
    of the others must still be followed."""
    monkeypatch.chdir(copy_tree(project.input, tmp_path / "tree"))
    assert _lines(_check(runner, "-j", "2")[0]) == _lines(sorted(project.findings()))


# -- the index itself: answers independent of the order of the questions --------------------------

RING = {
    # visit -> walk -> visit; visit also calls note, which writes a module dict.
    "ring.tree": b'''
SEEN = {}


def visit(path, depth):
    if depth:
        walk(path, depth - 1)
    note(path)
    with open(path) as fh:
        return fh.read()


def walk(path, depth):
    return visit(path, depth)


def note(path):
    SEEN[path] = True


def hop(path, depth):
    return skip(path, depth)


def skip(path, depth):
    if depth:
        return hop(path, depth - 1)
    with open(path) as fh:
        return fh.read()
''',
    # ``patches`` replaces the name ``tree.walk`` only in ``ring.alias``'s namespace.
    "ring.alias": b"from ring.tree import visit as walk_alias\n",
    "ring.patches": b"from ring import alias\n\nalias.walk_alias = print\n",
}


def _ring_index(scanned: bool = True) -> Any:
    from codemods.analysis.helpers import ProjectIndex, ProjectText
    from codemods.config import Settings
    from codemods.engine import summarise_source

    summaries = {name: summarise_source(text, Settings(), name, False) for name, text in RING.items()}
    text = ProjectText({name: (lambda text=text: text) for name, text in RING.items()})
    return ProjectIndex(summaries.get, text if scanned else None)


@pytest.mark.parametrize("order", [("visit", "walk", "hop", "skip"), ("walk", "visit", "skip", "hop"),
                                   ("skip", "hop", "walk", "visit")])
def test_verdicts_do_not_depend_on_which_helper_is_asked_first(order: tuple[str, ...]) -> None:
    index = _ring_index()
    verdicts = {}
    for name in order:
        key = index.target(("call", f"ring.tree.{name}"))
        chain = index.chain(key)
        verdicts[name] = (chain.steps("ring.tree") if chain else None, index.refusal(key, "ring.tree"))
    fresh = {}
    for name in order:
        alone = _ring_index()  # each asked first, in an index of its own
        key = alone.target(("call", f"ring.tree.{name}"))
        chain = alone.chain(key)
        fresh[name] = (chain.steps("ring.tree") if chain else None, alone.refusal(key, "ring.tree"))
    assert verdicts == fresh
    # Both of a cycle reach note(), which writes SEEN; the other cycle touches nothing shared.
    assert verdicts["walk"][1] == verdicts["visit"][1] == (
        "note(): it changes the module variable `SEEN`, which other tasks may use meanwhile")
    assert verdicts["hop"][1] is None and verdicts["skip"][1] is None
    assert verdicts["hop"][0] == ("hop()", "skip()", "open()")


def test_an_assignment_elsewhere_counts_for_the_names_a_call_goes_through() -> None:
    index = _ring_index()
    # ``alias.walk_alias = print`` rebinds the name in ring.alias: a call through it may run print.
    through_alias = index.problem(("call", "ring.alias.walk_alias"), "ring.other", "ring.other")
    assert through_alias is not None and "`ring.alias.walk_alias` in ring.patches" in through_alias
    # A call of ring.tree.visit by its own name does not look the name up in ring.alias.
    assert index.problem(("call", "ring.tree.visit"), "ring.other", "ring.other") is None
    # Without the project's text (a first look) the answer waits: the index says it is incomplete.
    waiting = _ring_index(scanned=False)
    assert waiting.problem(("call", "ring.tree.visit"), "ring.other", "ring.other") is None and waiting.incomplete


def test_a_warm_run_sees_a_function_assigned_in_another_file(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verdict on ``store.save()`` depends on every module of the run (one may assign
    ``store.save``): an edit of a module the first answer never read must change it."""
    tree = copy_tree(PROJECTS / "what_runs_is_decided_by_the_whole_project" / "input", tmp_path / "tree")
    monkeypatch.chdir(tree)
    (tree / "shop" / "patches.py").write_text('"""Nothing installed yet."""\n')

    def check() -> dict[str, bool]:
        result = _invoke(runner, "check", "--format", "json", "-j", "1", ".")
        return {item["name"]: item["fixable"] for item in json.loads(result.stdout) if item["line"] == 16}

    assert check() == {"save": True}  # cold, nothing assigns store.save
    assert check() == {"save": True}  # warm, the same
    (tree / "shop" / "patches.py").write_text("from shop import store\n\nstore.save = print\n")
    assert check() == {"save": False}  # warm again: the assignment is seen

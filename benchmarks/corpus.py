"""Prove on real async applications that `loopsafe fix` introduces no undefined names.

    python benchmarks/corpus.py                        # every project of corpus.toml
    python benchmarks/corpus.py --json out.json        # also write the full result
    python benchmarks/corpus.py --only maubot --show   # one project, new diagnostics in context
    python benchmarks/corpus.py --cache /data/corpus   # wheels elsewhere (default ~/.cache/loopsafe-corpus)
    python benchmarks/corpus.py --rev 21cbbde          # loopsafe as committed there, not the work tree

For each project pinned in `benchmarks/corpus.toml` (a wheel from PyPI, checked against
its sha256 and unpacked once into the cache; or an application at a git commit, `git =`,
cloned from `--mirrors DIR/OWNER+NAME/repo` when given, else from its repository):
  1. its `*.py` files are copied twice into a temporary work folder, `before/` and `after/`,
     dated an hour back (files newer than two seconds are never cached: a gate on fresh
     copies would only ever run cold);
  2. what a user runs in one working copy, `python -m codemods` (this repository's code,
     run by this Python: the work tree, or with `--rev` the `codemods/` of that commit,
     exported with `git archive`) on `after/`: `check` cold, `check` warm (the same
     findings in the same order, else "warm differs"), then `fix` on the warm cache; its
     summary, exit status, the calls it left for review and its errors (above all
     "internal error" lines and tracebacks; a crash counts as one) are recorded;
  3. ruff (`F821` undefined name, `F811` redefinition of an unused name, `F823` local
     referenced before assignment) runs on both trees, and pylint (`used-before-assignment`,
     `possibly-used-before-assignment`, `undefined-variable`, `function-redefined`) on the
     files the fix changed, in both trees;
  4. every changed file is compiled (`compile()`, nothing is executed);
  5. awaits in places where one changes behaviour are counted in both trees (an oracle of
     its own, independent of loopsafe's code): in a `finally:` block, in a handler that
     catches cancellation (bare, `BaseException`, `CancelledError`), in a sync `with` over
     a lock or process-wide state (by name: locks, semaphores, conditions, redirected
     output, `chdir`, decimal contexts, warning filters, `mock.patch`, suppressed
     cancellation), and on the right of an augmented assignment to an attribute, a
     subscript or a global; the fix must add none;
  6. recall against ruff: every line ruff's ASYNC2 rules (`ASYNC210`..`ASYNC251`) flag
     in the original tree must have a loopsafe finding (fixed or reported); the run fails
     below 97% over the corpus;
  7. flake8-async (`ASYNC1xx`: awaits in handlers that re-raise, in `finally`...) on the
     changed files, in both trees: the fix must add none;
  8. `check --format json` after the fix must list exactly the calls the fix left for
     review, with the same reasons as the check before it (none fixable, none new, none
     lost), and a second `fix` must change nothing.

A diagnostic is keyed by (file, code, message with line numbers stripped): a rewrite
shifts lines, and "redefinition of unused `x` from line 12" must not turn new because of
that. Keys are counted, and a diagnostic is *new* when its key occurs more often after
the fix than before (a multiset difference). Which occurrence of such a key is the new
one cannot be told: all are listed, those on rewritten lines first (`--show` adds the
rewritten code around each).

Table columns: `.py` files, files with an `async def`, calls rewritten and left for
review (fix's summary), files changed, `with` blocks moved into a `_blocking_io` helper,
fix's exit status (1: calls left for review), new ruff and pylint diagnostics, changed
files that no longer compile, findings of `check` after the fix that are not the reports
of before (a fixable one, or one with a new reason: "unexplained"), files a second fix
changes, loopsafe's internal errors and all its file errors, seconds.

Nothing of the projects is imported or run: wheels only (no build step), ruff and pylint
read code without importing it, and `compile()` does not execute. Needs network access to
PyPI on the first run only, and ruff, pylint and flake8-async installed next to this Python.

Exit status: 0 all clean; 1 some project has new diagnostics (ruff, pylint, flake8-async),
a changed file that no longer compiles, an await added in a hazardous place, unexplained
findings after the fix, a file a second fix changes, cold and warm checks that differ, or
an "internal error" or a traceback from loopsafe, or the recall against
ruff is below 97% (usable as a regression gate);
2 the corpus could not be set up (a download failed, a hash differs, a tool is missing).
"""

from __future__ import annotations

import argparse
import ast
import collections
import datetime
import difflib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # loopsafe depends on tomli below 3.11
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CORPUS = HERE / "corpus.toml"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "loopsafe-corpus"

RUFF_SELECT = "F821,F811,F823"
#: ruff's rules for blocking calls in coroutines: what loopsafe's recall is measured on.
RECALL_SELECT = "ASYNC2"
RECALL_TARGET = 0.97
PYLINT_ENABLE = (
    "used-before-assignment,possibly-used-before-assignment,undefined-variable,function-redefined"
)
#: `async def` at the start of a line: the files loopsafe parses at all.
COROUTINE = re.compile(rb"^[ \t\f]*async[ \t]+def\b", re.MULTILINE)
#: "from line 12", "line 12", "lines 3-4": line numbers inside messages.
LINE_NUMBER = re.compile(r"\b(lines?) \d+(?:\s*[-–]\s*\d+)?")
SUMMARY = re.compile(
    r"loopsafe: (\d+) files? changed, (\d+) calls? rewritten, (\d+) calls? left for manual review"
)
REPORTED = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>LS\d+) (?P<message>.*)$")
#: A line of flake8-async's output: ``path:line:column: CODE message``.
FLAKE8_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<code>ASYNC\d+) (?P<message>.*)$")
ERROR = re.compile(r"^(?P<where>.+?): error: (?P<message>.*)$")
#: The functions loopsafe moves `with open(...)` blocks into (`_blocking_io`, `_blocking_io_2`...).
HELPER = re.compile(rb"^[ \t]*def _blocking_io\w*\(", re.MULTILINE)


# -- the corpus --------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    sha256: str
    why: str
    #: A repository to take the project from at commit ``version`` (an application that
    #: ships no wheel), instead of PyPI: ``https://github.com/OWNER/NAME``.
    git: str = ""

    @property
    def label(self) -> str:
        return f"{self.name}-{self.version}"


def load_corpus(path: Path) -> list[Project]:
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    return [
        Project(entry["name"], entry["version"], entry.get("sha256", ""), entry.get("why", ""), entry.get("git", ""))
        for entry in document.get("project", [])
    ]


class SetupError(Exception):
    """The corpus could not be set up: exit status 2."""


def fetch(project: Project, cache: Path, mirrors: Path | None = None) -> Path:
    """The unpacked wheel of ``project`` in the cache, downloaded and checked the first time
    (for a ``git`` project: its files at the commit, cloned from ``mirrors/OWNER+NAME/repo``
    when that exists, else from the repository)."""
    tree = cache / "src" / project.label
    if (tree / ".unpacked").is_file():
        return tree
    if project.git:
        return _fetch_git(project, tree, mirrors)
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = _find_wheel(wheels, project)
    if wheel is None:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "-q", "-d", str(wheels), f"{project.name}=={project.version}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheel = _find_wheel(wheels, project)
        if done.returncode != 0 or wheel is None:
            raise SetupError(f"{project.label}: pip download failed:\n{done.stderr.strip()}")
    digest = sha256(wheel.read_bytes()).hexdigest()
    if project.sha256 and digest != project.sha256:
        raise SetupError(f"{wheel}: sha256 {digest}, corpus.toml says {project.sha256}")
    if tree.exists():
        shutil.rmtree(tree)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tree)
    (tree / ".unpacked").write_text(f"{wheel.name} {digest}\n", encoding="utf-8")
    return tree


def _fetch_git(project: Project, tree: Path, mirrors: Path | None) -> Path:
    owner, name = project.git.rstrip("/").removesuffix(".git").split("/")[-2:]
    mirror = mirrors / f"{owner}+{name}" / "repo" if mirrors is not None else None
    origin = str(mirror) if mirror is not None and mirror.is_dir() else project.git
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "--git-dir", origin, "archive", "--format=tar", project.version],
                             capture_output=True, check=False) if origin != project.git else None
    if archive is None or archive.returncode != 0:
        with tempfile.TemporaryDirectory() as clone:
            done = subprocess.run(["git", "clone", "-q", "--no-checkout", "--filter=blob:none", origin, clone],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SetupError(f"{project.label}: git clone {origin} failed:\n{done.stderr.strip()}")
            archive = subprocess.run(["git", "-C", clone, "archive", "--format=tar", project.version],
                                     capture_output=True, check=False)
            if archive.returncode != 0:
                raise SetupError(f"{project.label}: no commit {project.version} in {origin}")
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    (tree / ".unpacked").write_text(f"{project.git} {project.version}\n", encoding="utf-8")
    return tree


def _find_wheel(folder: Path, project: Project) -> Path | None:
    # Wheel names normalise the project name: "red-discordbot" -> "red_discordbot".
    stem = re.sub(r"[-_.]+", "_", project.name).lower()
    for wheel in sorted(folder.glob("*.whl")):
        name, _, rest = wheel.name.partition("-")
        if re.sub(r"[-_.]+", "_", name).lower() == stem and rest.startswith(project.version + "-"):
            return wheel
    return None


def python_files(tree: Path) -> list[str]:
    """Relative paths of the ``*.py`` files under ``tree``, sorted."""
    return sorted(
        path.relative_to(tree).as_posix()
        for path in tree.rglob("*.py")
        if path.is_file() and not path.is_symlink()
    )


def copy_files(source: Path, target: Path, files: Iterable[str]) -> None:
    for relative in files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, destination)


# -- diagnostics -------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnostic:
    tool: str
    path: str  # relative to the tree
    line: int
    column: int
    code: str
    message: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.tool, self.path, self.code, LINE_NUMBER.sub(r"\1 N", self.message))

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message} [{self.tool}]"


def run_ruff(tree: Path, select: str) -> list[Diagnostic]:
    command = [
        sys.executable, "-m", "ruff", "check", "--select", select, "--output-format", "json",
        "--no-cache", "--isolated", "--exit-zero",
        "--target-version", f"py3{sys.version_info.minor}", ".",
    ]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SetupError(f"ruff failed ({done.returncode}) in {tree}:\n{done.stderr.strip()}")
    found = []
    for item in json.loads(done.stdout or "[]"):
        path = Path(item["filename"])
        relative = (path.relative_to(tree) if path.is_absolute() else path).as_posix()
        location = item.get("location") or {}
        found.append(Diagnostic(
            "ruff", relative, int(location.get("row", 0)), int(location.get("column", 0)),
            item.get("code") or "syntax-error", item.get("message", ""),
        ))
    return found


def run_pylint(tree: Path, files: Sequence[str], enable: str, jobs: int, rcfile: Path) -> list[Diagnostic]:
    if not files:
        return []
    command = [
        sys.executable, "-m", "pylint", f"--rcfile={rcfile}", "--disable=all", f"--enable={enable}",
        "--output-format=json", "--persistent=n", "--score=n", "--reports=n", f"-j{jobs}", *files,
    ]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    # pylint's status is a bit field of what it found; 32 is a usage error, and a crash
    # prints a traceback with no JSON.
    if done.returncode & 32 or not done.stdout.strip():
        if done.returncode == 0:
            return []
        raise SetupError(f"pylint failed ({done.returncode}) in {tree}:\n{done.stderr.strip()[-2000:]}")
    return [
        Diagnostic(
            "pylint", Path(item["path"]).as_posix(), int(item.get("line") or 0),
            int(item.get("column") or 0) + 1, item["symbol"], item["message"],
        )
        for item in json.loads(done.stdout)
    ]


def new_diagnostics(before: list[Diagnostic], after: list[Diagnostic]) -> tuple[list[Diagnostic], int]:
    """The occurrences of keys that occur more often after than before, and how many are new.

    For a key with n more occurrences after than before, all its occurrences after are
    listed (which n of them are the new ones cannot be told apart); the count is n.
    """
    counted = collections.Counter(d.key for d in before)
    surplus = collections.Counter(d.key for d in after)
    surplus.subtract(counted)
    grown = {key for key, extra in surplus.items() if extra > 0}
    return [d for d in after if d.key in grown], sum(surplus[key] for key in grown)


def gone_count(before: list[Diagnostic], after: list[Diagnostic]) -> int:
    surplus = collections.Counter(d.key for d in before)
    surplus.subtract(collections.Counter(d.key for d in after))
    return sum(extra for extra in surplus.values() if extra > 0)


# -- loopsafe fix ------------------------------------------------------------------------


@dataclass
class FixRun:
    exit_code: int
    summary: str
    files_changed: int
    calls_fixed: int
    calls_reported: int
    errors: list[str] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_loopsafe(work: Path, loopsafe: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m codemods ARGS`` with the ``codemods`` package found in ``loopsafe``."""
    # cwd is the work folder, not the tree: `python -m` puts the cwd first on sys.path,
    # and a project's top-level package must not shadow loopsafe's own imports.
    path = os.pathsep.join(filter(None, [str(loopsafe), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, CI="1")
    return subprocess.run([sys.executable, "-m", "codemods", *args], cwd=work, env=env,
                          capture_output=True, text=True, check=False)


def run_fix(work: Path, tree_name: str, config: Path, jobs: int, loopsafe: Path) -> FixRun:
    """``loopsafe fix`` on ``work/tree_name``."""
    start = time.perf_counter()
    done = run_loopsafe(work, loopsafe, "fix", "--config", str(config), "-j", str(jobs), tree_name)
    seconds = time.perf_counter() - start
    lines = done.stderr.splitlines()
    summary = next((line for line in reversed(lines) if SUMMARY.search(line)), "")
    match = SUMMARY.search(summary)
    prefix = tree_name + "/"
    errors = [
        line.removeprefix(prefix)
        for line in lines if ERROR.match(line) and not REPORTED.match(line)
    ]
    internal = [line for line in errors if "internal error" in line]
    if "Traceback (most recent call last)" in done.stderr:
        internal.append(f"internal error: a traceback: {done.stderr.strip().splitlines()[-1]}")
    if match is None:
        # No summary: loopsafe crashed (files done before the crash may be rewritten).
        last = next((line for line in reversed(lines) if line.strip()), "no output")
        crash = f"internal error: loopsafe fix crashed (exit {done.returncode}): {last.strip()}"
        errors.append(crash)
        internal.append(crash)
    return FixRun(
        exit_code=done.returncode,
        summary=summary or done.stderr[-2000:],
        files_changed=int(match.group(1)) if match else 0,
        calls_fixed=int(match.group(2)) if match else 0,
        calls_reported=int(match.group(3)) if match else 0,
        errors=errors,
        internal_errors=internal,
        seconds=seconds,
    )


def run_check(work: Path, tree_name: str, config: Path, jobs: int, loopsafe: Path,
              problems: list[str] | None = None) -> list[dict[str, Any]]:
    """``loopsafe check --format json``: every finding, as fix would see it. A crash or an
    internal error is added to ``problems`` (with the findings it printed, if any)."""
    done = run_loopsafe(work, loopsafe, "check", "--format", "json", "--config", str(config), "-j", str(jobs),
                        tree_name)
    # Exit 2 for files the running Python cannot parse (newer syntax) is the project's
    # limit, not loopsafe's: those files are left out, as fix leaves them.
    unparsable = [line for line in done.stderr.splitlines() if ERROR.match(line)]
    crashed = "Traceback (most recent call last)" in done.stderr
    internal = [line for line in unparsable if "internal error" in line]
    if (crashed or internal) and problems is not None:
        problems.extend(internal or [f"internal error: check crashed: {done.stderr.strip().splitlines()[-1]}"])
    elif done.returncode not in (0, 1) and not (
        done.returncode == 2 and unparsable and all(": error: cannot parse: " in line for line in unparsable)
    ):
        raise SetupError(f"loopsafe check {tree_name} failed (exit {done.returncode}): {done.stderr[-500:]}")
    try:
        findings: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        findings = []
    prefix = tree_name + "/"
    for finding in findings:
        finding["path"] = str(finding["path"]).removeprefix(prefix)
    return findings


def run_flake8_async(tree: Path, files: Sequence[str]) -> list[Diagnostic]:
    """flake8-async's ASYNC1xx rules (what an added await may break: awaits in handlers
    that re-raise, in `finally`, cancel scopes...) on ``files`` of ``tree`` (the files the
    fix changed: the others are the same in both trees, and flake8-async takes half a
    minute on a 4,000-line module)."""
    if not files:
        return []
    # --asyncio in both trees: flake8-async turns some rules on (ASYNC109) only where it sees
    # `import asyncio`, which a fix may add; those would look new without being so.
    command = [sys.executable, "-m", "flake8_async", "--asyncio", *files]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    found = []
    for line in done.stdout.splitlines():
        match = FLAKE8_LINE.match(line)
        if match and match["code"].startswith("ASYNC1"):
            found.append(Diagnostic("flake8-async", match["path"], int(match["line"]), int(match["column"]),
                                    match["code"], match["message"]))
    if done.returncode not in (0, 1) or (done.returncode == 1 and not done.stdout.strip()):
        raise SetupError(f"flake8-async failed ({done.returncode}) in {tree}:\n{done.stderr.strip()[-2000:]}")
    return found


def age(tree: Path, seconds: float = 3600) -> None:
    """Date every file of ``tree`` ``seconds`` back, as in a checkout made earlier: files
    newer than two seconds are never cached, so a gate on fresh copies runs cold only."""
    past = time.time() - seconds
    for path in tree.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def _finding_key(finding: dict[str, Any]) -> tuple[str, str, str, str]:
    return finding["path"], finding["code"], finding["name"], finding["message"]


def unexplained_after_fix(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """What ``check`` lists after the fix beyond the reports of before, and reports it lost.

    Keyed without positions (a rewrite shifts lines): a multiset difference per
    (file, code, callee, message).
    """
    reported = collections.Counter(_finding_key(f) for f in before if not f["fixable"])
    listed = collections.Counter(_finding_key(f) for f in after)
    extra, lost = listed - reported, reported - listed
    where = {_finding_key(f): f for f in after}
    unexplained = [
        f"{path}:{where[(path, code, name, message)]['line']}: {code} {message}"
        + (" [fixable]" if where[(path, code, name, message)]["fixable"] else "")
        for (path, code, name, message) in sorted(extra)
    ]
    return unexplained, [f"{path}: {code} {message}" for (path, code, name, message) in sorted(lost)]


# -- awaits in hazardous places (an oracle independent of loopsafe) ------------------------

#: Context managers, by how they are spelled, that hold a lock or process-wide state.
STATE_HOLDER = re.compile(
    r"(?i)lock|semaphore|condition|mutex|redirect_std|chdir|localcontext|catch_warnings|\bpatch\b"
)
CANCELLATION_NAMES = frozenset({"BaseException", "CancelledError"})


def hazardous_awaits(tree: Path, files: Iterable[str]) -> collections.Counter[tuple[str, str]]:
    """(file, place) for every await in a place where it changes what the code does."""
    found: collections.Counter[tuple[str, str]] = collections.Counter()
    for relative in files:
        try:
            module = ast.parse((tree / relative).read_bytes())
        except (SyntaxError, ValueError, RecursionError):
            continue
        for place in _await_places(module):
            found[relative, place] += 1
    return found


def _await_places(module: ast.Module) -> list[str]:
    places: list[str] = []

    def visit(node: ast.AST, where: tuple[str, ...], globals_: frozenset[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            body = node.body if isinstance(node.body, list) else [node.body]
            declared = frozenset(n for s in ast.walk(node) if isinstance(s, ast.Global) for n in s.names)
            for child in body:
                visit(child, (), declared)
            return
        if isinstance(node, ast.Await) and where:
            places.append(where[-1])
        if isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            for child in node.body + node.orelse:
                visit(child, where, globals_)
            for handler in node.handlers:
                visit(handler, where + (("in a handler that catches cancellation",) if _catches_cancellation(handler)
                                        else ()), globals_)
            for child in node.finalbody:
                visit(child, where + ("in finally",), globals_)
            return
        if isinstance(node, ast.With) and any(_holds_state(item.context_expr) for item in node.items):
            for item in node.items:
                visit(item, where, globals_)
            for child in node.body:
                visit(child, where + ("in a with over a lock or process-wide state",), globals_)
            return
        if isinstance(node, ast.AugAssign) and (
            isinstance(node.target, (ast.Attribute, ast.Subscript))
            or (isinstance(node.target, ast.Name) and node.target.id in globals_)
        ):
            visit(node.target, where, globals_)
            visit(node.value, where + ("right of an augmented assignment to shared state",), globals_)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, where, globals_)

    for statement in module.body:
        visit(statement, (), frozenset())
    return places


def _catches_cancellation(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(_last_name(t) in CANCELLATION_NAMES for t in types)


def _holds_state(manager: ast.expr) -> bool:
    callee = manager.func if isinstance(manager, ast.Call) else manager
    if isinstance(manager, ast.Call) and _last_name(callee) == "suppress":
        return any(_last_name(arg) in CANCELLATION_NAMES for arg in manager.args)
    return bool(STATE_HOLDER.search(ast.unparse(callee)))


def _last_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def compile_failures(tree: Path, files: Sequence[str], baseline: Path) -> list[str]:
    """Files that compile in ``baseline`` but not in ``tree`` (``compile()`` only)."""
    failures = []
    for relative in files:
        if _compile_error(baseline / relative) is None:
            problem = _compile_error(tree / relative)
            if problem is not None:
                failures.append(f"{relative}: {problem}")
    return failures


def _compile_error(path: Path) -> str | None:
    try:
        with warnings.catch_warnings():  # the projects' own SyntaxWarnings are not news
            warnings.simplefilter("ignore")
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        return str(error)
    except RecursionError:
        return None
    return None


# -- one project ---------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    version: str
    files: int = 0
    coroutine_files: int = 0
    fix: FixRun | None = None
    changed_files: list[str] = field(default_factory=list)
    blocks_moved: int = 0
    ruff_before: int = 0
    ruff_after: int = 0
    ruff_new: int = 0
    ruff_gone: int = 0
    pylint_before: int = 0
    pylint_after: int = 0
    pylint_new: int = 0
    pylint_gone: int = 0
    new: list[dict[str, Any]] = field(default_factory=list)
    compile_failures: list[str] = field(default_factory=list)
    #: Findings of ``check`` after the fix that are not reports of before (fixable, or new).
    unexplained: list[str] = field(default_factory=list)
    #: Reports of before that ``check`` no longer lists after the fix.
    lost: list[str] = field(default_factory=list)
    #: Files a second ``fix`` changes (the fix is not idempotent on them).
    refixed: list[str] = field(default_factory=list)
    #: Where the cold and the warm ``check`` of the same tree differ (they must not).
    warm_differs: list[str] = field(default_factory=list)
    #: Crashes and internal errors of ``check`` (cold, warm, after the fix).
    check_errors: list[str] = field(default_factory=list)
    #: flake8-async ASYNC1xx diagnostics before and after the fix, and the new ones.
    flake8_async_before: int = 0
    flake8_async_after: int = 0
    flake8_async_new: list[str] = field(default_factory=list)
    #: Awaits the fix added in places where an await changes behaviour: "file: place".
    hazardous_awaits: list[str] = field(default_factory=list)
    #: Lines ruff's ASYNC2 rules flag in the original, and those loopsafe has no finding on.
    ruff_async_lines: int = 0
    ruff_async_missed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        internal = bool(self.fix and self.fix.internal_errors)
        return bool(self.ruff_new or self.pylint_new or self.compile_failures or internal
                    or self.unexplained or self.refixed or self.hazardous_awaits or self.warm_differs
                    or self.check_errors or self.flake8_async_new)


def check_project(project: Project, source: Path, work: Path, options: argparse.Namespace,
                  rcfile: Path, config: Path, loopsafe: Path) -> Result:
    start = time.perf_counter()
    result = Result(project.name, project.version)
    files = python_files(source)
    result.files = len(files)
    result.coroutine_files = sum(1 for f in files if COROUTINE.search((source / f).read_bytes()))
    before, after = work / "before", work / "after"
    copy_files(source, before, files)
    copy_files(source, after, files)
    # One working copy, as a user has it: files older than two seconds (so the cache keeps
    # them), checked cold, then warm (the same findings, in the same order), then fixed on
    # the warm cache, then fixed again (no change).
    age(before)
    age(after)
    step = time.perf_counter()
    checked_before = run_check(work, after.name, config, options.jobs, loopsafe, result.check_errors)
    result.timings["check cold"] = time.perf_counter() - step
    step = time.perf_counter()
    checked_warm = run_check(work, after.name, config, options.jobs, loopsafe, result.check_errors)
    result.timings["check warm"] = time.perf_counter() - step
    if checked_warm != checked_before:
        cold_lines = [json.dumps(f, sort_keys=True) for f in checked_before]
        warm_lines = [json.dumps(f, sort_keys=True) for f in checked_warm]
        result.warm_differs = list(difflib.unified_diff(cold_lines, warm_lines, "cold", "warm", lineterm="", n=0))[:40]

    result.fix = run_fix(work, after.name, config, options.jobs, loopsafe)
    result.timings["fix"] = result.fix.seconds
    result.changed_files = [f for f in files if (before / f).read_bytes() != (after / f).read_bytes()]
    result.blocks_moved = sum(
        len(HELPER.findall((after / f).read_bytes())) - len(HELPER.findall((before / f).read_bytes()))
        for f in result.changed_files
    )

    step = time.perf_counter()
    ruff_before = run_ruff(before, options.ruff_select)
    ruff_after = run_ruff(after, options.ruff_select)
    result.timings["ruff"] = time.perf_counter() - step
    pylint_before: list[Diagnostic] = []
    pylint_after: list[Diagnostic] = []
    if not options.no_pylint:
        step = time.perf_counter()
        pylint_before = run_pylint(before, result.changed_files, options.pylint_enable, options.jobs, rcfile)
        pylint_after = run_pylint(after, result.changed_files, options.pylint_enable, options.jobs, rcfile)
        result.timings["pylint"] = time.perf_counter() - step

    listed_ruff, result.ruff_new = new_diagnostics(ruff_before, ruff_after)
    listed_pylint, result.pylint_new = new_diagnostics(pylint_before, pylint_after)
    result.ruff_before, result.ruff_after = len(ruff_before), len(ruff_after)
    result.pylint_before, result.pylint_after = len(pylint_before), len(pylint_after)
    result.ruff_gone = gone_count(ruff_before, ruff_after)
    result.pylint_gone = gone_count(pylint_before, pylint_after)
    rewritten = {f: rewritten_lines(before / f, after / f) for f in result.changed_files}
    for diagnostic in sorted(listed_ruff + listed_pylint, key=lambda d: (d.path, d.line, d.tool)):
        entry = asdict(diagnostic)
        entry["on_rewritten_line"] = diagnostic.line in rewritten.get(diagnostic.path, set())
        entry["snippet"] = snippet(after / diagnostic.path, diagnostic.line, options.context)
        result.new.append(entry)
    result.compile_failures = compile_failures(after, result.changed_files, before)
    added = hazardous_awaits(after, result.changed_files) - hazardous_awaits(before, result.changed_files)
    result.hazardous_awaits = [f"{path}: {place}" for (path, place), count in sorted(added.items())
                               for _ in range(count)]

    step = time.perf_counter()
    flake8_before = run_flake8_async(before, result.changed_files)
    flake8_after = run_flake8_async(after, result.changed_files)
    result.flake8_async_before, result.flake8_async_after = len(flake8_before), len(flake8_after)
    result.flake8_async_new = [d.format() for d in new_diagnostics(flake8_before, flake8_after)[0]]
    result.timings["flake8-async"] = time.perf_counter() - step

    step = time.perf_counter()
    checked_after = run_check(work, after.name, config, options.jobs, loopsafe, result.check_errors)
    result.unexplained, result.lost = unexplained_after_fix(checked_before, checked_after)
    flagged = {(d.path, d.line): d for d in run_ruff(before, RECALL_SELECT) if d.code.startswith("ASYNC")}
    found = {(f["path"], f["line"]) for f in checked_before}
    result.ruff_async_lines = len(flagged)
    result.ruff_async_missed = [f"{path}:{line}: {flagged[path, line].code} {flagged[path, line].message}"
                                for path, line in sorted(flagged) if (path, line) not in found]
    fixed_once = {f: (after / f).read_bytes() for f in result.changed_files}
    refix = run_fix(work, after.name, config, options.jobs, loopsafe)
    result.check_errors.extend(f"second fix: {line}" for line in refix.internal_errors)
    result.refixed = [f for f in files if (after / f).read_bytes() != fixed_once.get(f, (before / f).read_bytes())]
    result.timings["check"] = time.perf_counter() - step
    result.seconds = time.perf_counter() - start
    return result


def rewritten_lines(before: Path, after: Path) -> set[int]:
    """Lines (1-based) of ``after`` that are not unchanged lines of ``before``."""
    old = before.read_text(encoding="utf-8", errors="replace").splitlines()
    new = after.read_text(encoding="utf-8", errors="replace").splitlines()
    lines: set[int] = set()
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":
            lines.update(range(j1 + 1, j2 + 1))
    return lines


def snippet(path: Path, line: int, context: int) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    first, last = max(1, line - context), min(len(lines), line + context)
    return "\n".join(
        f"{'>' if number == line else ' '}{number:5} | {lines[number - 1]}" for number in range(first, last + 1)
    )


# -- output --------------------------------------------------------------------------------


def print_table(results: Sequence[Result]) -> None:
    header = ("project", "files", "async", "fixed", "reported", "changed", "blocks", "fix rc",
              "ruff new", "pylint new", "f8-async new", "no compile", "bad await", "unexpl.", "refixed",
              "warm differs", "recall", "int. err", "errors", "s")
    rows: list[tuple[object, ...]] = []
    for r in results:
        fix = r.fix
        assert fix is not None
        rows.append((
            f"{r.name} {r.version}", r.files, r.coroutine_files, fix.calls_fixed, fix.calls_reported,
            len(r.changed_files), r.blocks_moved, fix.exit_code, r.ruff_new, r.pylint_new,
            len(r.flake8_async_new), len(r.compile_failures),
            len(r.hazardous_awaits), len(r.unexplained), len(r.refixed), "yes" if r.warm_differs else "no",
            f"{r.ruff_async_lines - len(r.ruff_async_missed)}/{r.ruff_async_lines}",
            len(fix.internal_errors) + len(r.check_errors), len(fix.errors), f"{r.seconds:.1f}",
        ))
    rows.append((
        "total", sum(r.files for r in results), sum(r.coroutine_files for r in results),
        sum(r.fix.calls_fixed for r in results if r.fix), sum(r.fix.calls_reported for r in results if r.fix),
        sum(len(r.changed_files) for r in results), sum(r.blocks_moved for r in results), "",
        sum(r.ruff_new for r in results),
        sum(r.pylint_new for r in results), sum(len(r.flake8_async_new) for r in results),
        sum(len(r.compile_failures) for r in results),
        sum(len(r.hazardous_awaits) for r in results),
        sum(len(r.unexplained) for r in results), sum(len(r.refixed) for r in results),
        sum(1 for r in results if r.warm_differs),
        f"{sum(r.ruff_async_lines - len(r.ruff_async_missed) for r in results)}/"
        f"{sum(r.ruff_async_lines for r in results)}",
        sum(len(r.fix.internal_errors) + len(r.check_errors) for r in results if r.fix),
        sum(len(r.fix.errors) for r in results if r.fix), f"{sum(r.seconds for r in results):.1f}",
    ))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for index, row in enumerate([header, *rows]):
        if index == len(rows):
            print("  ".join("-" * w for w in widths))
        cells = (str(cell).ljust(w) if i == 0 else str(cell).rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        print("  ".join(cells))


def print_details(results: Sequence[Result], show: bool) -> None:
    for r in results:
        fix = r.fix
        assert fix is not None
        problems = [
            ("loopsafe", fix.errors),
            ("does not compile after the fix", r.compile_failures),
            ("flagged by ruff, no loopsafe finding", r.ruff_async_missed),
            ("the fix added an await", r.hazardous_awaits),
            ("check after the fix lists what the fix did not report", r.unexplained),
            ("reported by the fix, not listed by check after it", r.lost),
            ("a second fix changes", r.refixed),
            ("cold and warm check differ", r.warm_differs),
            ("check", r.check_errors),
            ("flake8-async flags after the fix, not before", r.flake8_async_new),
        ]
        for what, items in problems:
            for item in items:
                print(f"{r.name}: {what}: {item}")
        if not r.new:
            continue
        print(f"{r.name}: {plural(r.ruff_new + r.pylint_new, 'new diagnostic')} "
              f"({plural(len(r.new), 'occurrence')} of their keys after the fix):")
        for entry in sorted(r.new, key=lambda e: (not e["on_rewritten_line"], e["path"], e["line"])):
            where = "rewritten line" if entry["on_rewritten_line"] else "unchanged line"
            print(f"  {entry['path']}:{entry['line']}:{entry['column']}: {entry['code']} "
                  f"{entry['message']} [{entry['tool']}; {where}]")
            if show:
                print(entry["snippet"])
                print()


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def tool_version(module: str) -> str:
    if module == "flake8_async":  # its command has no --version
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"flake8-async {version('flake8-async')}"
        except PackageNotFoundError as error:
            raise SetupError(f"flake8-async is not installed for {sys.executable}") from error
    done = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SetupError(f"{module} is not installed for {sys.executable}: {done.stderr.strip()}")
    return " ".join(done.stdout.split()[:2]) if module == "ruff" else done.stdout.splitlines()[0]


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SetupError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def loopsafe_version(rev: str | None) -> str:
    """The commit whose ``codemods/`` runs, and whether it is the (modified) work tree."""
    if rev is not None:
        return git("rev-parse", "--short", f"{rev}^{{commit}}")
    dirty = git("status", "--porcelain", "--", "codemods")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes to codemods/" if dirty else "")


def export_rev(rev: str, target: Path) -> Path:
    """``codemods/`` as committed in ``rev``, under ``target`` (``git archive``; the repo is not touched)."""
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "codemods"], cwd=REPO,
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SetupError(f"git archive {rev}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus file (default: %(default)s)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="where wheels are downloaded and unpacked (default: %(default)s)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this project (repeatable)")
    parser.add_argument("--json", type=Path, help="write the full result here")
    parser.add_argument("--show", action="store_true",
                        help="print each new diagnostic with the rewritten code around it")
    parser.add_argument("--context", type=int, default=6,
                        help="lines of code either side with --show (default: %(default)s)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                        help="jobs for loopsafe and pylint (default: cores, %(default)s)")
    parser.add_argument("--ruff-select", default=RUFF_SELECT, help="ruff rules (default: %(default)s)")
    parser.add_argument("--pylint-enable", default=PYLINT_ENABLE, help="pylint messages (default: %(default)s)")
    parser.add_argument("--no-pylint", action="store_true", help="ruff only (much faster)")
    parser.add_argument("--rev", metavar="REV",
                        help="run loopsafe's codemods/ as committed in this git revision (default: the work tree)")
    parser.add_argument("--mirrors", type=Path, metavar="DIR",
                        help="for projects taken from git: clone from DIR/OWNER+NAME/repo when it exists")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work in DIR (before/ and after/ per project) and keep it, instead of a temporary folder")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.perf_counter()
    try:
        projects = load_corpus(options.corpus)
        unknown = set(options.only) - {p.name for p in projects}
        if unknown:
            raise SetupError(f"not in {options.corpus}: {', '.join(sorted(unknown))}")
        projects = [p for p in projects if not options.only or p.name in options.only]
        versions = {"ruff": tool_version("ruff"), "flake8-async": tool_version("flake8_async"),
                    "pylint": "" if options.no_pylint else tool_version("pylint")}
        version = loopsafe_version(options.rev)
        sources = [(project, fetch(project, options.cache.expanduser(), options.mirrors)) for project in projects]
    except SetupError as error:
        print(f"corpus: {error}", file=sys.stderr)
        return 2

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="loopsafe-corpus-") as temporary:
        root = options.keep.resolve() if options.keep else Path(temporary)
        root.mkdir(parents=True, exist_ok=True)
        # Fixed settings for every project, whatever pyproject.toml lies above the work folder.
        config = root / "loopsafe-settings.toml"
        config.write_text("[tool.loopsafe]\n", encoding="utf-8")
        rcfile = root / "pylintrc"
        rcfile.write_text("[MAIN]\n", encoding="utf-8")
        try:
            loopsafe = export_rev(options.rev, root / "loopsafe") if options.rev else REPO
        except SetupError as error:
            print(f"corpus: {error}", file=sys.stderr)
            return 2
        for project, source in sources:
            work = root / project.label
            if work.exists():
                shutil.rmtree(work)
            print(f"{project.label}: ...", file=sys.stderr, flush=True)
            try:
                results.append(check_project(project, source, work, options, rcfile, config, loopsafe))
            except SetupError as error:
                print(f"corpus: {project.label}: {error}", file=sys.stderr)
                return 2

    total = time.perf_counter() - started
    print_table(results)
    print_details(results, options.show)
    failed = [r.name for r in results if r.failed]
    flagged = sum(r.ruff_async_lines for r in results)
    recall = (flagged - sum(len(r.ruff_async_missed) for r in results)) / flagged if flagged else 1.0
    print(f"\nrecall against ruff {RECALL_SELECT}: {recall:.1%} of {flagged} lines (target {RECALL_TARGET:.0%})")
    if recall < RECALL_TARGET:
        failed.append(f"recall {recall:.1%}")
    print(f"\nloopsafe {version}: {plural(len(results), 'project')} in {total:.0f} s; "
          + (f"FAILED: {', '.join(failed)}" if failed else
             "no new diagnostics, no internal errors, cold and warm check agree, check after fix lists only what fix "
             "reported"))
    if options.json:
        document = {
            "date": datetime.date.today().isoformat(),
            "loopsafe": version,
            "python": platform.python_version(),
            "tools": versions,
            "ruff_select": options.ruff_select,
            "pylint_enable": "" if options.no_pylint else options.pylint_enable,
            "seconds": round(total, 1),
            "recall_against_ruff_async2": round(recall, 4),
            "projects": [asdict(r) | {"failed": r.failed} for r in results],
        }
        options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

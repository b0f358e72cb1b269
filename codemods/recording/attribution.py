"""From the stalls the recorded processes saw to the project's call sites: reads the files
``agent.py`` wrote (one per process) and builds the ``Observations`` of
``codemods/observed.py``.

Each sample of a stall (a stack, innermost frame first) goes to the innermost frame of a
*project* coroutine or async generator, at the call in progress there: the site. Project
files are under the root (the folder ``record`` ran in), outside ``site-packages`` and
``dist-packages``, outside every recorded Python's prefixes and outside virtual environments
(a folder holding ``pyvenv.cfg``). The frames above the site make its chain, each
``module.qualname()``, from the function the site called to where the time went; when the
Python gave positions (3.11+), the innermost frame's call in progress is read from the
source and ends the chain (``hashlib.pbkdf2_hmac()``), which names a C function. A sample
with no project coroutine goes to its innermost project frame (kind "callback": a plain
function the loop ran), else to nothing (``unattributed_seconds``). A stall's time is
shared among its samples, each weighted by the time it stands for; a site's ``steps`` are
the stalls it was seen in.

Positions are the call's as ``ast`` gives them: the instruction's own position is mapped to
the ``ast.Call`` it belongs to (an ``await f()`` in progress gives ``f()``; a multi-line
``obj\\n.method()`` call, whose instruction starts at ``method``, gives the whole call). A
frame whose instruction was no call (a loop's ``FOR_ITER``, an operator, an import) gives a
site with ``in_call`` false at the instruction's position.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from codemods.observed import Chain, Observations, ObservedSite, content_hash

#: (line, end_line, col_offset, end_col_offset), in the order ``code.co_positions()`` gives.
Positions = tuple[int, int, int, int]

RECORDING_PACKAGE = Path(__file__).resolve().parent
_AWAIT_OPS = frozenset({"SEND", "YIELD_FROM", "GET_AWAITABLE", "YIELD_VALUE"})


@dataclass(frozen=True)
class Frame:
    """One frame of a sampled stack, as the agent wrote it."""

    filename: str
    module: str | None
    qualname: str
    line: int
    positions: Positions | None
    is_async: bool
    #: The instruction in progress (``CALL``, ``SEND``, ``FOR_ITER``...); None if unknown.
    op: str | None = None

    @property
    def in_call(self) -> bool:
        """Whether the frame was calling (or awaiting) something, not running its own code."""
        op = self.op
        return op is None or op in _AWAIT_OPS or op == "PRECALL" or (
            op.startswith("CALL") and not op.startswith("CALL_INTRINSIC"))

    @property
    def awaiting(self) -> bool:
        return self.op in _AWAIT_OPS


@dataclass(frozen=True)
class Process:
    pid: int
    python: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Stall:
    seconds: float
    #: Each distinct stack (innermost frame first) with its weight: the sampled time it
    #: stands for (the stall's time is shared in proportion).
    stacks: tuple[tuple[float, tuple[Frame, ...]], ...]
    #: Recorded by a Python before 3.11: frames give lines and names, not positions and
    #: qualified names.
    lines_only: bool = False


@dataclass
class Recording:
    processes: list[Process] = field(default_factory=list)
    stalls: list[Stall] = field(default_factory=list)


def read_recording(folder: Path) -> Recording:
    """The processes and stalls in the agent's files under ``folder``. A line that cannot be
    read (a process killed while writing it) is skipped."""
    recording = Recording()
    for path in sorted(folder.glob("*.jsonl")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines_only = False
        process = None  # one per file (a file may repeat the line)
        for line in text.splitlines():
            try:
                record = json.loads(line)
                if "process" in record:
                    if process is None:
                        process = _process(record["process"])
                        lines_only = _version(process.python) < (3, 11)
                        recording.processes.append(process)
                else:
                    recording.stalls.append(_stall(record, lines_only))
            except (ValueError, KeyError, TypeError, IndexError):
                continue
    return recording


def _process(item: dict[str, Any]) -> Process:
    return Process(int(item["pid"]), str(item["python"]), tuple(str(p) for p in item.get("prefixes", ())))


def _stall(item: dict[str, Any], lines_only: bool) -> Stall:
    stacks = tuple(
        (float(entry[2]), tuple(_frame(frame) for frame in entry[1]))
        for entry in item["stacks"]
    )
    return Stall(float(item["seconds"]), stacks, lines_only)


def _frame(entry: Sequence[Any]) -> Frame:
    filename, module, qualname, line, positions = entry[:5]
    return Frame(
        str(filename), None if module is None else str(module), str(qualname), int(line),
        None if positions is None else (int(positions[0]), int(positions[1]), int(positions[2]), int(positions[3])),
        bool(entry[5]), None if len(entry) < 7 or entry[6] is None else str(entry[6]),
    )


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(".")[:2])
    except ValueError:
        return (0,)


class ProjectFiles:
    """Which files are the project's, and their paths relative to the root."""

    def __init__(self, root: Path, prefixes: Iterable[str] = ()) -> None:
        self.root = os.path.realpath(root)
        excluded = {os.path.realpath(p) for p in (*prefixes, sys.prefix, sys.base_prefix, sys.exec_prefix) if p}
        # A prefix holding the root (the project inside a Python's folder) excludes nothing.
        self.excluded = [p for p in excluded if not _within(self.root, p)] + [str(RECORDING_PACKAGE)]
        self._keys: dict[str, str | None] = {}
        self._venvs: dict[str, bool] = {}

    def key(self, filename: str) -> str | None:
        """The POSIX path of ``filename`` relative to the root when it is a project file."""
        if filename not in self._keys:
            self._keys[filename] = self._key(filename)
        return self._keys[filename]

    def _key(self, filename: str) -> str | None:
        if not filename or filename.startswith("<"):
            return None
        real = os.path.realpath(filename)
        if not _within(real, self.root) or any(_within(real, prefix) for prefix in self.excluded):
            return None
        relative = Path(os.path.relpath(real, self.root))
        if any(part in ("site-packages", "dist-packages") for part in relative.parts):
            return None
        folder = os.path.dirname(real)
        while folder != self.root and _within(folder, self.root):
            if self._is_venv(folder):
                return None
            folder = os.path.dirname(folder)
        return relative.as_posix() if os.path.isfile(real) else None

    def _is_venv(self, folder: str) -> bool:
        if folder not in self._venvs:
            self._venvs[folder] = os.path.isfile(os.path.join(folder, "pyvenv.cfg"))
        return self._venvs[folder]


def _within(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive
        return False


class Sources:
    """The source of each file the stacks name, read and parsed once; what is at a position."""

    def __init__(self) -> None:
        self._lines: dict[str, list[bytes] | None] = {}
        self._trees: dict[str, ast.Module | None] = {}
        self._expressions: dict[str, dict[Positions, ast.expr]] = {}
        self._calls: dict[str, list[ast.Call]] = {}
        self._definitions: dict[str, list[tuple[int, int, str, str]]] = {}

    def lines(self, filename: str) -> list[bytes] | None:
        if filename not in self._lines:
            try:
                self._lines[filename] = Path(filename).read_bytes().splitlines(keepends=True)
            except OSError:
                self._lines[filename] = None
        return self._lines[filename]

    def tree(self, filename: str) -> ast.Module | None:
        if filename not in self._trees:
            lines = self.lines(filename)
            try:
                self._trees[filename] = None if lines is None else ast.parse(b"".join(lines))
            except (SyntaxError, ValueError):  # newer syntax than this Python's, or not Python
                self._trees[filename] = None
        return self._trees[filename]

    def expression_at(self, filename: str, positions: Positions) -> ast.expr | None:
        """The outermost expression with exactly these positions; from the source segment
        when the file does not parse here."""
        tree = self.tree(filename)
        if tree is None:
            return self._segment_expression(filename, positions)
        if filename not in self._expressions:
            found: dict[Positions, ast.expr] = {}
            for node in ast.walk(tree):  # breadth first: an outer node before the inner ones
                if isinstance(node, ast.expr) and node.end_lineno is not None and node.end_col_offset is not None:
                    found.setdefault((node.lineno, node.end_lineno, node.col_offset, node.end_col_offset), node)
            self._expressions[filename] = found
        return self._expressions[filename].get(positions)

    def call_ending_at(self, filename: str, positions: Positions) -> ast.Call | None:
        """The innermost call that ends where ``positions`` end and starts at or before them
        (3.11+ give a multi-line ``obj\\n.method()`` call the position of ``method()``)."""
        tree = self.tree(filename)
        if tree is None:
            return None
        if filename not in self._calls:
            self._calls[filename] = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
        line, end_line, col, end_col = positions
        candidates = [
            call for call in self._calls[filename]
            if (call.end_lineno, call.end_col_offset) == (end_line, end_col) and (call.lineno, call.col_offset) <= (line, col)
        ]
        return max(candidates, key=lambda call: (call.lineno, call.col_offset), default=None)

    def _segment_expression(self, filename: str, positions: Positions) -> ast.expr | None:
        lines = self.lines(filename)
        line, end_line, col, end_col = positions
        if lines is None or not 1 <= line <= end_line <= len(lines):
            return None
        if line == end_line:
            segment = lines[line - 1][col:end_col]
        else:
            segment = lines[line - 1][col:] + b"".join(lines[line:end_line - 1]) + lines[end_line - 1][:end_col]
        try:
            node = ast.parse(b"(" + segment + b")", mode="eval").body
        except (SyntaxError, ValueError):
            return None
        # Back to the file's coordinates: the first line of the text starts at `col` - 1.
        for inner in ast.walk(node):
            if isinstance(inner, ast.expr):
                if inner.lineno == 1:
                    inner.col_offset += col - 1
                if inner.end_lineno == 1 and inner.end_col_offset is not None:
                    inner.end_col_offset += col - 1
                inner.lineno += line - 1
                if inner.end_lineno is not None:
                    inner.end_lineno += line - 1
        return node

    def qualname(self, filename: str, name: str, line: int) -> str:
        """The qualified name of the function ``name`` whose body holds ``line`` (for frames
        of Pythons before 3.11, whose code objects have no ``co_qualname``)."""
        if name == "<module>":
            return name
        if filename not in self._definitions:
            self._definitions[filename] = _definitions(self.tree(filename))
        enclosing = [d for d in self._definitions[filename] if d[0] <= line <= d[1]]
        if name.startswith("<"):  # <lambda>, <listcomp>, <genexpr>...
            return f"{enclosing[-1][3]}.<locals>.{name}" if enclosing else name
        named = [d for d in enclosing if d[2] == name]
        return named[-1][3] if named else name


def _definitions(tree: ast.Module | None) -> list[tuple[int, int, str, str]]:
    """(first line, last line, name, qualified name) of each function, outer ones first."""
    found: list[tuple[int, int, str, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = prefix + child.name
                found.append((child.lineno, child.end_lineno or child.lineno, child.name, qualname))
                visit(child, qualname + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    if tree is not None:
        visit(tree, "")
    found.sort(key=lambda d: (d[0], -d[1]))
    return found


@dataclass(frozen=True)
class _SiteKey:
    path: str
    line: int
    col_offset: int | None
    end_line: int | None
    end_col_offset: int | None
    kind: str
    function: str
    in_call: bool
    #: Part of the key only for a site without columns: which call of the line it was in.
    line_callee: str | None


@dataclass
class _SiteTotal:
    steps: int = 0
    seconds: float = 0.0
    longest: float = 0.0
    chains: dict[tuple[str, ...], list[float]] = field(default_factory=dict)  # through -> [steps, seconds]
    callees: dict[str | None, float] = field(default_factory=dict)


class Attributor:
    """Which site, and which chain, a sampled stack's time goes to."""

    def __init__(self, project: ProjectFiles, sources: Sources | None = None) -> None:
        self.project = project
        self.sources = sources or Sources()

    def attribute(
        self, stack: Sequence[Frame], lines_only: bool = False
    ) -> tuple[_SiteKey, str | None, tuple[str, ...]] | None:
        """The site of ``stack`` (innermost frame first), the callee, and the chain; None when
        no project frame is on it."""
        index = self._site_index(stack)
        if index is None:
            return None
        site, kind = index
        frame = stack[site]
        path = self.project.key(frame.filename)
        assert path is not None
        callee = stack[site - 1].qualname.rsplit(".", 1)[-1] if site > 0 else None
        line, positions, in_call = self._where(frame)
        col, end_line, end_col = positions or (None, None, None)
        key = _SiteKey(
            path, line, col, end_line, end_col, kind, self._qualname(frame, lines_only), in_call,
            line_callee=callee if positions is None else None,
        )
        return key, callee, self._chain(stack, site, lines_only)

    def _site_index(self, stack: Sequence[Frame]) -> tuple[int, str] | None:
        for index, frame in enumerate(stack):
            if frame.is_async and self.project.key(frame.filename) is not None:
                return index, "coroutine"
        for index, frame in enumerate(stack):
            if self.project.key(frame.filename) is not None:
                return index, "callback"
        return None

    def _where(self, frame: Frame) -> tuple[int, tuple[int, int, int] | None, bool]:
        """The site's line, its (col, end_line, end_col) when known, and whether it is a call."""
        in_call = frame.in_call
        if frame.positions is None:
            return frame.line, None, in_call
        line, end_line, col, end_col = frame.positions
        call = self._call(frame) if in_call else None
        if call is not None and call.end_lineno is not None and call.end_col_offset is not None:
            return call.lineno, (call.col_offset, call.end_lineno, call.end_col_offset), True
        return line, (col, end_line, end_col), in_call

    def _call(self, frame: Frame) -> ast.Call | None:
        """The call a frame was in, from the source at its position."""
        assert frame.positions is not None
        node = self.sources.expression_at(frame.filename, frame.positions)
        if isinstance(node, ast.Await):
            node = node.value
        if isinstance(node, ast.Call):
            return node
        return None if frame.awaiting else self.sources.call_ending_at(frame.filename, frame.positions)

    def _chain(self, stack: Sequence[Frame], site: int, lines_only: bool) -> tuple[str, ...]:
        labels = [self._label(frame, lines_only) for frame in reversed(stack[:site])]
        top = stack[0]
        if top.positions is not None and top.in_call and not top.awaiting:
            call = self._call(top)
            if call is not None:
                labels.append(_callee_text(call.func) + "()")
        return tuple(labels)

    def _label(self, frame: Frame, lines_only: bool) -> str:
        module = frame.module
        if module in (None, "__main__"):
            key = self.project.key(frame.filename)
            if key is not None:
                module = _module_of(key)
            elif module is None:
                module = Path(frame.filename).stem
        return f"{module}.{self._qualname(frame, lines_only)}()"

    def _qualname(self, frame: Frame, lines_only: bool) -> str:
        return self.sources.qualname(frame.filename, frame.qualname, frame.line) if lines_only else frame.qualname


def _module_of(key: str) -> str:
    parts = list(Path(key).with_suffix("").parts)
    if parts and parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _callee_text(func: ast.expr) -> str:
    parts: list[str] = []
    node: ast.expr = func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    text = ast.unparse(func)
    return text if len(text) <= 60 else text[:57] + "..."


def observations(
    recording: Recording, root: Path, command: Sequence[str] = (), threshold_ms: float = 20.0
) -> Observations:
    """The observations of a recording made in ``root``."""
    project = ProjectFiles(root, (prefix for process in recording.processes for prefix in process.prefixes))
    attributor = Attributor(project)
    totals: dict[_SiteKey, _SiteTotal] = {}
    unattributed = 0.0
    for stall in recording.stalls:
        weights = sum(weight for weight, _ in stall.stacks)
        if weights <= 0:
            unattributed += stall.seconds
            continue
        shares: dict[_SiteKey, float] = {}
        chain_shares: dict[tuple[_SiteKey, tuple[str, ...]], float] = {}
        for weight, stack in stall.stacks:
            share = stall.seconds * weight / weights
            found = attributor.attribute(stack, stall.lines_only)
            if found is None:
                unattributed += share
                continue
            key, callee, chain = found
            shares[key] = shares.get(key, 0.0) + share
            chain_shares[key, chain] = chain_shares.get((key, chain), 0.0) + share
            total = totals.setdefault(key, _SiteTotal())
            total.callees[callee] = total.callees.get(callee, 0.0) + share
        for key, share in shares.items():
            total = totals[key]
            total.steps += 1
            total.seconds += share
            total.longest = max(total.longest, share)
        for (key, chain), share in chain_shares.items():
            steps_seconds = totals[key].chains.setdefault(chain, [0, 0.0])
            steps_seconds[0] += 1
            steps_seconds[1] += share
    modules: dict[str, str] = {}
    sites: list[ObservedSite] = []
    for key, total in totals.items():
        if key.path not in modules:
            source = attributor.sources.lines(os.path.join(project.root, key.path))
            if source is None:  # gone since: its time cannot be placed
                unattributed += total.seconds
                continue
            modules[key.path] = content_hash(b"".join(source))
        sites.append(_site(key, total))
    return Observations(
        root=str(root), sites=tuple(sites), modules=modules, command=tuple(command), threshold_ms=threshold_ms,
        pythons=tuple(sorted({p.python for p in recording.processes}, key=_version)),
        processes=len(recording.processes), stalls=len(recording.stalls),
        stalled_seconds=sum(stall.seconds for stall in recording.stalls), unattributed_seconds=unattributed,
    )


def _site(key: _SiteKey, total: _SiteTotal) -> ObservedSite:
    chains = sorted(
        (Chain(through, int(steps), seconds) for through, (steps, seconds) in total.chains.items()),
        key=lambda chain: (-chain.seconds, chain.through),
    )
    callee = key.line_callee if key.col_offset is None else max(total.callees.items(), key=lambda c: c[1])[0]
    return ObservedSite(
        path=key.path, line=key.line, col_offset=key.col_offset, end_line=key.end_line,
        end_col_offset=key.end_col_offset, kind=key.kind, function=key.function, callee=callee,
        steps=total.steps, seconds=total.seconds, longest=total.longest, chains=tuple(chains), in_call=key.in_call,
    )

"""What ``check --format json`` says of a finding beyond the finding itself, with the
fields and shapes of ruff's JSON (``ruff check --output-format json``): where its call
ends (``end_location``), the line whose ``# noqa`` suppresses it (``noqa_row``: the line
``--add-noqa`` writes to), and its fix as ``edits``, the smallest replaced ranges that
turn the file into the file with only this call fixed and the import that fix needs
(``engine.fix_one``, the editor's quick fix), so that a tool applies or shows them as it
does ruff's.

Positions are ruff's: ``{"row": line, "column": column}``, both 1-based, columns in
characters; an end is the position just after the last character.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import multiprocessing
import re
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from codemods.analysis.finder import MOVES_WITH_BLOCK, Span
from codemods.codes import CATEGORIES
from codemods.config import Settings
from codemods.engine import fix_one, locate_with_noqa_lines
from codemods.findings import Finding

if TYPE_CHECKING:
    from codemods.analysis.modules import ProjectView

#: The code of ``open()``, whose fix moves a ``with`` block and the calls in it.
_OPEN = CATEGORIES["open"][0]

#: Where a line ends as CPython counts lines (not ``str.splitlines``' form feeds).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def position(row: int, column: int) -> dict[str, int]:
    """A position as ruff's JSON writes it."""
    return {"row": row, "column": column}


@dataclass(frozen=True)
class Edit:
    """Replace the text from ``start`` up to ``end`` (row, column: ruff's) with ``content``."""

    content: str
    start: tuple[int, int]
    end: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        return {"content": self.content, "location": position(*self.start), "end_location": position(*self.end)}


class _Text:
    """A text with its lines' start offsets, to turn offsets into ruff's positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]

    def lines(self) -> list[str]:
        """The lines, each with its line break."""
        return [self.text[start:end] for start, end in zip(self.starts, [*self.starts[1:], len(self.text)]) if end > start]

    def position(self, offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(self.starts, offset) - 1
        return row + 1, offset - self.starts[row] + 1


def minimal_edits(old: str, new: str) -> list[Edit]:
    """The edits that turn ``old`` into ``new``: each changed run of lines, less what its
    old and new text have in common at either end; in order, none overlapping."""
    before, after = _Text(old), _Text(new)
    old_lines, new_lines = before.lines(), after.lines()
    edits: list[Edit] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start = before.starts[i1] if i1 < len(before.starts) else len(old)
        end = start + sum(map(len, old_lines[i1:i2]))
        replaced, content = old[start:end], "".join(new_lines[j1:j2])
        prefix = _common_prefix(replaced, content)
        suffix = _common_prefix(replaced[prefix:][::-1], content[prefix:][::-1])
        edits.append(Edit(content[prefix:len(content) - suffix], before.position(start + prefix),
                          before.position(end - suffix)))
    return edits


def _common_prefix(first: str, second: str) -> int:
    length = 0
    for a, b in zip(first, second):
        if a != b:
            break
        length += 1
    return length


def decoded(source: bytes) -> str | None:
    """``source`` as text, line breaks as they are (the file's encoding), if it decodes."""
    try:
        encoding, _ = tokenize.detect_encoding(iter(source.splitlines(keepends=True)).__next__)
        return source.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class Details:
    """A finding's ruff fields that the finding does not carry."""

    end: tuple[int, int]
    noqa_row: int | None
    #: ``None``: no fix (not fixable, or the fix was refused).
    edits: tuple[Edit, ...] | None

    def to_json(self, finding: Finding) -> dict[str, Any]:
        fix = None if self.edits is None else {
            # The fix as the text message says it after "fix:" (the rewrite, or what moves).
            "applicability": "safe", "message": finding.detail, "edits": [edit.to_json() for edit in self.edits],
        }
        return {"end_location": position(*self.end), "fix": fix, "noqa_row": self.noqa_row}


#: A finding as the run and the analysis here both know it.
_Key = tuple[int, int, str, str]


def details_of(source: bytes, settings: Settings, filename: str,
               project: ProjectView | None = None) -> dict[_Key, Details]:
    """The details of the findings of ``source`` (a file ``check`` found something in),
    by (line, column, code, name); none where a bug of loopsafe's stops the analysis (the
    run goes on: its findings are listed without them, their fix null)."""
    try:
        return _details_of(source, settings, filename, project)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception:  # noqa: BLE001 - a bug: the findings without their details, never a traceback
        return {}


def _details_of(source: bytes, settings: Settings, filename: str, project: ProjectView | None) -> dict[_Key, Details]:
    located, error = locate_with_noqa_lines(source, settings, filename, project)
    text = decoded(source)
    if error is not None or text is None:
        return {}
    fixes: dict[Span, tuple[Edit, ...] | None] = {}

    def fix_at(span: Span) -> tuple[Edit, ...] | None:
        if span not in fixes:
            fixed = fix_one(source, settings, filename, span, project)
            new_text = decoded(fixed.output) if fixed.error is None and fixed.changed else None
            fixes[span] = tuple(minimal_edits(text, new_text)) if new_text is not None else None
        return fixes[span]

    block_of = _moved_block_opens(source, [(f, span) for f, span, _ in located])
    found: dict[_Key, Details] = {}
    for finding, span, noqa_row in located:
        edits = None
        if finding.fixable and finding.detail == MOVES_WITH_BLOCK:
            # Its fix is its block's: the `with` moves to a thread, this call in it.
            block = block_of(finding.line)
            edits = fix_at(block) if block is not None else None
        elif finding.fixable:
            edits = fix_at(span)
        # libcst's end column is 0-based and exclusive: ruff's is the 1-based column after the call.
        found.setdefault(key(finding), Details((span[2], span[3] + 1), noqa_row, edits))
    return found


def _moved_block_opens(source: bytes, located: list[tuple[Finding, Span]]) -> Callable[[int], Span | None]:
    """For a line inside a ``with`` block that moves to a thread: the span of the block's
    ``open()`` finding (the innermost such block's), whose fix moves it."""
    opens = {span[0]: span for finding, span in located if finding.code == _OPEN and finding.fixable}
    blocks: list[tuple[int, int, Span]] = []  # (first line, last line, the open's span), outer first
    for node in ast.walk(ast.parse(source)) if opens else ():
        if isinstance(node, (ast.With, ast.AsyncWith)) and node.end_lineno is not None:
            for item in node.items:
                span = opens.get(item.context_expr.lineno)
                if span is not None:
                    blocks.append((node.lineno, node.end_lineno, span))
                    break

    def block_of(line: int) -> Span | None:
        inside = [block for block in blocks if block[0] <= line <= block[1]]
        return min(inside, key=lambda block: block[1] - block[0])[2] if inside else None

    return block_of


def key(finding: Finding) -> _Key:
    return finding.line, finding.column, finding.code, finding.name


#: A file to describe: its text, settings, path and project view (``details_of``'s arguments).
FileWork = tuple[bytes, Settings, str, "ProjectView | None"]


def details_of_files(work: dict[str, FileWork], jobs: int) -> dict[str, dict[_Key, Details]]:
    """``details_of`` of each file of ``work`` (by its shown name), on up to ``jobs``
    processes: every fixable call is a rewrite of its own, the costly part of JSON."""
    jobs = min(jobs, len(work))
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return {display: details_of(*arguments) for display, arguments in work.items()}
    from concurrent.futures import ProcessPoolExecutor

    # Forked workers inherit the work: a view whose summaries are still to be made holds
    # functions, which do not pickle; only the names go, and the details come back.
    global _work
    _work = work
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            return dict(zip(work, pool.map(_details_in_worker, work, chunksize=4)))
    finally:
        _work = {}


#: ``details_of_files``'s work, for its forked workers.
_work: dict[str, FileWork] = {}


def _details_in_worker(display: str) -> dict[_Key, Details]:
    return details_of(*_work[display])

"""Cut a module down to what the coroutine analysis reads, keeping what it reads in place.

libcst's parse and scope analysis cost grows with the whole module, but findings depend
only on the coroutines that can call something in the catalog and on the bindings they
can see. A function or class outside every coroutine, holding no such coroutine and no
``global``/``nonlocal``, contributes one binding to the code around it: its name. Its
body is a scope no coroutine outside it can see into, and its decorators, defaults and
bases run outside every coroutine. The screen (``codemods.analysis.screen``) lists those
definitions; here each becomes ``def name(): pass`` (``class name: pass``) on its first
line, its decorators left in place and its other lines dropped. Everything kept keeps
its columns, and ``Focused.original_line`` maps its lines back, so findings computed on
the focused module are the findings of the original, at the same positions.

Rewriting runs on the focused module too: each stand-in carries a marker comment
(``# loopsafe-stub:N``), and ``Focused.restore`` puts the definition it stands for back
in the rewritten text, in place of the marked line. The rewrite never touches a
stand-in (none is in a coroutine); an import that only a cut body reads is kept by the
rewrite (``Focused.mentions``).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Sequence

from codemods.analysis.screen import Stub

_LINE_END = re.compile(rb"\r\n|\r|\n")


#: Ends the line of each stand-in: ``# loopsafe-stub:N``.
STUB_MARKER = b"# loopsafe-stub:"


@dataclass(frozen=True)
class Focused:
    source: bytes
    #: Focused line numbers after which lines were dropped, with the number of lines
    #: dropped up to there (both ascending).
    _after: list[int] = field(default_factory=list)
    _dropped: list[int] = field(default_factory=list)
    #: The original lines each marked stand-in replaced, by marker number.
    _originals: list[bytes] = field(default_factory=list)
    #: Names the cut definitions mention.
    mentions: frozenset[str] = frozenset()

    def original_line(self, line: int) -> int:
        """The line of the original source that line ``line`` of ``source`` was."""
        index = bisect.bisect_left(self._after, line)
        return line + (self._dropped[index - 1] if index else 0)

    def restore(self, rewritten: bytes) -> bytes | None:
        """``rewritten`` (a rewrite of ``source``) with every stand-in replaced by the
        definition it stands for; ``None`` if a marked line is not found exactly once."""
        lines = _split_lines(rewritten)
        found = 0
        for index, line in enumerate(lines):
            at = line.rfind(STUB_MARKER)
            if at < 0:
                continue
            number = line[at + len(STUB_MARKER):].rstrip(b"\r\n")
            if not number.isdigit() or int(number) >= len(self._originals) or int(number) != found:
                return None
            lines[index] = self._originals[int(number)]
            found += 1
        return b"".join(lines) if found == len(self._originals) else None


def focus(source: bytes, stubs: Sequence[Stub]) -> Focused:
    """``source`` with each stubbed definition replaced by its one-line stand-in.

    Sources that are not UTF-8 are returned as they are: ``ast`` columns count UTF-8
    bytes, so only there do they index ``source``.
    """
    if not stubs:
        return Focused(source)
    try:
        source.decode("utf-8")
    except UnicodeDecodeError:
        return Focused(source)
    if STUB_MARKER in source:
        return Focused(source)  # the marker must be ours alone
    lines = _split_lines(source)
    kept: list[bytes] = []
    after: list[int] = []
    dropped: list[int] = []
    originals: list[bytes] = []
    mentions: set[str] = set()
    position = 0  # lines of ``lines`` copied so far
    for stub in sorted(stubs, key=lambda stub: stub.first):
        line = lines[stub.first - 1]
        if stub.first <= position or line[: stub.column].strip(b" \t\f"):
            continue  # not at the start of its line: leave it (a compound statement is)
        last = _with_trailing_comments(lines, stub.last, stub.column)
        kept.extend(lines[position : stub.first - 1])
        marker = b"  " + STUB_MARKER + str(len(originals)).encode()
        kept.append(line[: stub.column] + stub.replacement.encode() + marker + _newline_of(lines[last - 1]))
        originals.append(b"".join(lines[stub.first - 1 : last]))
        mentions |= stub.mentions
        position = last
        if last > stub.first:
            after.append(len(kept))
            dropped.append((dropped[-1] if dropped else 0) + last - stub.first)
    if not kept:
        return Focused(source)
    kept.extend(lines[position:])
    return Focused(b"".join(kept), after, dropped, originals, frozenset(mentions))


def _with_trailing_comments(lines: list[bytes], last: int, column: int) -> int:
    """The definition's last line, extended over the comment lines (and blank lines
    between them) indented deeper than the definition that follow it: textually they
    close its body, and after a one-line stand-in libcst would not keep them in place."""
    end = probe = last
    while probe < len(lines):
        text = lines[probe]
        stripped = text.strip(b" \t\f\r\n")
        if stripped and not (stripped.startswith(b"#") and len(text) - len(text.lstrip(b" \t\f")) > column):
            break
        probe += 1
        if stripped:
            end = probe
    return end


def _split_lines(source: bytes) -> list[bytes]:
    """Lines with their endings, split where CPython's tokenizer splits them (not on
    form feeds or other characters that ``bytes.splitlines`` treats as line breaks)."""
    lines: list[bytes] = []
    start = 0
    for end in _LINE_END.finditer(source):
        lines.append(source[start : end.end()])
        start = end.end()
    lines.append(source[start:])  # the last line: maybe without an ending, maybe empty
    return lines


def _newline_of(line: bytes) -> bytes:
    return line[len(line.rstrip(b"\r\n")) :]

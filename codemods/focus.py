"""Cut a module down to what the coroutine analysis reads, keeping every line in place.

libcst's parse and scope analysis cost grows with the whole module, but findings depend
only on the coroutines that can call something in the catalog and on the bindings they
can see. An outermost function that holds no such coroutine contributes one binding,
its name (its decorators, defaults and annotations are evaluated where it is defined);
its body is a scope of its own that no coroutine outside it can see into. The screen
(``codemods.screen``) lists those bodies; here they are replaced by ``pass`` and blank
lines, so the focused module has the same lines and columns for everything kept, and
findings computed on it are the findings of the original, at the same positions.

Focusing is only used to *find*; rewriting always runs on the original source.
"""

from __future__ import annotations

import re
from typing import Sequence

from codemods.screen import Stub

_LINE_END = re.compile(rb"\r\n|\r|\n")


def focus(source: bytes, stubs: Sequence[Stub]) -> bytes:
    """``source`` with each stubbed function body replaced by ``pass`` and blank lines.

    Sources that are not UTF-8 are returned as they are: ``ast`` columns count UTF-8
    bytes, so only there do they index ``source``.
    """
    if not stubs:
        return source
    try:
        source.decode("utf-8")
    except UnicodeDecodeError:
        return source
    lines = _split_lines(source)
    changed = False
    for stub in stubs:
        line = lines[stub.first - 1]
        if stub.column == 0 or line[: stub.column].strip(b" \t\f"):
            continue  # the body starts on the last line of a multi-line header
        lines[stub.first - 1] = line[: stub.column] + b"pass" + _newline_of(line)
        for number in range(stub.first + 1, stub.last + 1):
            lines[number - 1] = _newline_of(lines[number - 1])
        changed = True
    return b"".join(lines) if changed else source


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

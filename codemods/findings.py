"""What loopsafe found in one file: a ``Finding`` per blocking call in a coroutine, and
the ``TransformResult`` (or ``FileError``) that carries them.

Kept free of heavy imports: the CLI answers from the findings cache with these alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from codemods.codes import CATEGORIES

TYPE_CHECKING = False  # as typing's, which a check answered from the cache does not import
if TYPE_CHECKING:
    from typing import Any

    from codemods.observed import Cost

#: Not a call but a loop (``codemods.analysis.busy_wait``): its name is what it polls.
_BUSY_WAIT = CATEGORIES["busy-wait"][0]
#: Not found by reading the code but seen stalling the loop when recorded (``--observed``).
_OBSERVED = CATEGORIES["observed"][0]


@cache
def _one_line_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """What makes a finding's detail one line: a line break (and the indentation around
    it), a space after an opening or before a closing bracket; and what one of the three
    needs to match. Compiled on first use: findings read from the cache are one line
    already."""
    return (
        re.compile(r"[ \t]*(?:\\?(?:\r\n|\n|\r))[ \t\f]*"),
        re.compile(r"([(\[{]) (?=\S)"),
        re.compile(r"(?<=\S) ([)\]}])"),
        re.compile(r"[\r\n]|[(\[{] | [)\]}]"),
    )


def shown_name(qualified: str) -> str:
    """How messages name a callable: a builtin as code calls it (``open``, not
    ``builtins.open``), anything else by its qualified name."""
    return qualified.removeprefix("builtins.")


def qualified_name(written: str) -> str:
    """A callable as the configuration may write it, qualified: a bare name is a builtin,
    as messages show it (``ignore = ["open"]`` is ``builtins.open``)."""
    return written if "." in written else f"builtins.{written}"


@dataclass(frozen=True, order=True)
class Finding:
    line: int
    #: 1-based, as ruff and flake8 print it.
    column: int
    code: str
    #: The callable's qualified name (``requests.get``, ``builtins.open``): what ``ignore``
    #: and ``blocking`` take. Messages show it as ``shown_name`` gives it.
    name: str
    #: True when loopsafe rewrites the call; False when it is reported for a human.
    fixable: bool
    #: The rewrite (``await asyncio.to_thread(requests.get, ...)``) or why there is none,
    #: on one line whatever the code it quotes (a callee or `with` spread over lines).
    detail: str
    #: For a call of a project function (LS301): the functions on the way to the blocking
    #: call, then the call (``("save_report()", "pkg.io.write_csv()", "open()")``).
    chain: tuple[str, ...] = ()
    #: What the call cost when a recording saw it stall the loop (``--observed``).
    cost: Cost | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chain", tuple(self.chain))
        line_break, after_opening, before_closing, may_spread = _one_line_patterns()
        detail = self.detail
        if may_spread.search(detail):  # most details hold none
            detail = line_break.sub(" ", detail)
            detail = after_opening.sub(r"\1", detail)
            object.__setattr__(self, "detail", before_closing.sub(r"\1", detail))

    @classmethod
    def restored(cls, state: dict[str, Any]) -> Finding:
        """A finding from the fields a finding had (``codemods.cache``: its detail one line
        already, ``chain`` a tuple, ``cost`` given), set as unpickling sets them: no
        ``__post_init__`` to run again on each of the thousands a warm run reads."""
        finding = cls.__new__(cls)
        finding.__dict__.update(state)
        return finding

    @property
    def message(self) -> str:
        if self.cost is None or self.code == _OBSERVED:
            return self._static_message
        return f"{self._static_message}; {self.cost.describe(self.name)}"

    @property
    def _static_message(self) -> str:
        if self.code == _OBSERVED:
            # What the recording saw is the finding: it says so first (the chain is its own).
            stalled = self.cost.describe(self.name) if self.cost is not None else "stalled the event loop when recorded"
            verdict = "fix" if self.fixable else "not fixed automatically"
            return f"{self.name}() {stalled}; {verdict}: {self.detail}"
        if self.code == _BUSY_WAIT:
            return f"a loop polls {self.name} and never awaits, which blocks the event loop; not fixed automatically: {self.detail}"
        name = shown_name(self.name)
        if self.fixable and self.chain:
            return f"{name}() blocks the event loop (through {' -> '.join(self.chain)}); fix: {self.detail}"
        if self.fixable:
            return f"{name}() blocks the event loop; fix: {self.detail}"
        return f"{name}() blocks the event loop; not fixed automatically: {self.detail}"

    def format(self, path: str) -> str:
        return f"{path}:{self.line}:{self.column}: {self.code} {self.message}"


@dataclass(frozen=True)
class FileError:
    """Why a file could not be processed, for a one-line message."""

    message: str
    line: int | None = None
    column: int | None = None
    #: The file could not be read (an OS error): another run may fare better. The other
    #: errors follow from the file's bytes (and loopsafe, and Python) alone.
    transient: bool = False
    #: The bytes are not Python that CPython parses (a syntax error, NUL bytes, text
    #: that cannot be decoded): ruff's ``invalid-syntax`` in JSON.
    syntax: bool = False

    def format(self, path: str) -> str:
        where = path if self.line is None else f"{path}:{self.line}:{self.column or 1}"
        return f"{where}: error: {self.message}"


@dataclass(frozen=True)
class TransformResult:
    source: bytes
    output: bytes
    findings: list[Finding] = field(default_factory=list)
    error: FileError | None = None
    #: For a rewritten file, what is left in ``output`` (the calls for review, at their
    #: line in the rewritten file); ``None`` when nothing was rewritten.
    left: list[Finding] | None = None
    #: The module's summary for the project index (``codemods.analysis.helpers.ModuleSummary``),
    #: when it was asked for.
    summary: Any = None
    #: For a module the screen passed over: calls through its imports, any of which may
    #: be a project function that blocks (``codemods.project`` looks again if one does).
    wanted: frozenset[str] = frozenset()
    #: Calls of project functions whose findings need other modules' summaries
    #: (``codemods.analysis.helpers.HelperCall``; ``codemods.project`` finishes them).
    pending: tuple[Any, ...] = ()

    @property
    def changed(self) -> bool:
        return self.error is None and self.output != self.source

    @property
    def fixed_count(self) -> int:
        return sum(1 for finding in self.findings if finding.fixable)

    @property
    def reported_count(self) -> int:
        return sum(1 for finding in self.findings if not finding.fixable)

"""The catalog: which callables block the event loop, and how each one is fixed.

This module is data. Adding a blocking callable is one line in ``CATALOG``; the
machinery that finds and rewrites calls (``codemods.detector``, ``codemods.rewriter``)
never names a callable itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable, Mapping


class Strategy(enum.Enum):
    """How a blocking call is made safe."""

    #: ``await asyncio.to_thread(f, *args, **kwargs)``: exact, runs ``f`` in a worker thread.
    TO_THREAD = "to_thread"
    #: An exact asyncio-native equivalent, named by ``BlockingCall.native``.
    NATIVE = "native"
    #: No safe automatic rewrite: the call is reported for a human to fix.
    REPORT = "report"


@dataclass(frozen=True)
class BlockingCall:
    """One blocking callable, by its fully qualified name."""

    qualname: str
    code: str
    category: str
    strategy: Strategy = Strategy.TO_THREAD
    #: For ``Strategy.NATIVE``: the asyncio function used instead, e.g. ``"sleep"`` for
    #: ``asyncio.sleep``. It must accept the same single positional argument.
    native: str | None = None
    #: Why there is no automatic rewrite (``Strategy.REPORT``), shown to the user.
    reason: str | None = None


#: Codes, one per category, with the nearest ruff / flake8-async rule (README maps them).
CATEGORIES: Mapping[str, tuple[str, str, str]] = {
    # category: (code, what it is, matching ASYNC code or "")
    "http": ("LS210", "blocking HTTP call", "ASYNC210"),
    "process": ("LS221", "blocking process call", "ASYNC221"),
    "input": ("LS250", "blocking input()", "ASYNC250"),
    "sleep": ("LS251", "blocking sleep", "ASYNC251"),
    "os": ("LS260", "blocking file-system call", ""),
    "shutil": ("LS261", "blocking file-tree operation", ""),
    "user": ("LS200", "blocking call (configured)", "ASYNC200"),
}


def _entries(category: str, qualnames: Iterable[str], **kwargs: object) -> list[BlockingCall]:
    code = CATEGORIES[category][0]
    return [BlockingCall(name, code, category, **kwargs) for name in qualnames]  # type: ignore[arg-type]


_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")

CATALOG: tuple[BlockingCall, ...] = (
    *_entries("sleep", ["time.sleep"], strategy=Strategy.NATIVE, native="sleep"),
    *_entries("input", ["builtins.input"]),
    *_entries("http", [f"requests.{verb}" for verb in _HTTP_VERBS]),
    *_entries("http", [f"requests.api.{verb}" for verb in _HTTP_VERBS]),
    *_entries("http", [f"httpx.{verb}" for verb in _HTTP_VERBS]),
    *_entries(
        "http",
        ["httpx.stream"],
        strategy=Strategy.REPORT,
        reason="httpx.stream() is a context manager; use httpx.AsyncClient().stream()",
    ),
    *_entries("http", ["urllib.request.urlopen"]),
    *_entries(
        "process",
        [
            "subprocess.run",
            "subprocess.call",
            "subprocess.check_call",
            "subprocess.check_output",
            "subprocess.getoutput",
            "subprocess.getstatusoutput",
            "os.system",
        ],
    ),
    *_entries(
        "os",
        [
            "os.remove",
            "os.unlink",
            "os.rename",
            "os.replace",
            "os.mkdir",
            "os.makedirs",
            "os.rmdir",
            "os.listdir",
        ],
    ),
    *_entries(
        "shutil",
        [
            "shutil.copy",
            "shutil.copy2",
            "shutil.copyfile",
            "shutil.copytree",
            "shutil.rmtree",
            "shutil.move",
        ],
    ),
)


def build_index(
    extra: Iterable[BlockingCall] = (), ignore: Iterable[str] = ()
) -> dict[str, BlockingCall]:
    """The catalog keyed by qualified name, with user entries added and ignored names dropped."""
    index = {entry.qualname: entry for entry in CATALOG}
    index.update({entry.qualname: entry for entry in extra})
    for name in ignore:
        index.pop(name, None)
    return index


def user_entry(qualname: str, strategy: str = "to_thread") -> BlockingCall:
    """An entry from ``[tool.loopsafe] blocking = {...}``; raises ``ValueError`` on bad input."""
    if not qualname or any(not part.isidentifier() for part in qualname.split(".")):
        raise ValueError(f"not a dotted name: {qualname!r}")
    try:
        parsed = Strategy(strategy)
    except ValueError:
        choices = ", ".join(s.value for s in Strategy if s is not Strategy.NATIVE)
        raise ValueError(f"unknown strategy {strategy!r} for {qualname} (use {choices})") from None
    if parsed is Strategy.NATIVE:
        raise ValueError(f"strategy 'native' is only available for built-in entries ({qualname})")
    code = CATEGORIES["user"][0]
    reason = "configured as report-only in [tool.loopsafe]" if parsed is Strategy.REPORT else None
    return BlockingCall(qualname, code, "user", parsed, reason=reason)

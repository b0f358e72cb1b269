"""What ``loopsafe record`` saw: where a running program's event loop stalled, per call
site in the project's coroutines, and the file format that carries it
(``loopsafe-observed.json``, written by ``codemods.recording``, read by ``check``,
``diff`` and ``fix --observed``).

The format (JSON, UTF-8), version 1::

    {
      "loopsafe_observed": 1,
      "root": "/abs/path/of/the/project",     # the folder `record` ran in
      "command": ["python", "-m", "pytest"],
      "threshold_ms": 20.0,                   # a loop step longer than this is a stall
      "pythons": ["3.11.7"],                  # versions of the processes recorded
      "processes": 3,                         # processes that ran an event loop
      "stalls": 57,                           # loop steps longer than the threshold
      "stalled_seconds": 3.2,                 # their time, all of it
      "unattributed_seconds": 0.1,            # time in stalls no project coroutine was in
      "modules": {"app/main.py": "sha256:..."},   # each site's module as it was recorded
      "sites": [
        {
          "path": "app/main.py",              # relative to root (POSIX), else absolute
          "line": 12, "col_offset": 4,        # where the call starts, as ``ast`` counts:
          "end_line": 12, "end_col_offset": 30,   # 0-based UTF-8 byte offsets; the three
                                              # are null when the recording Python gives
                                              # lines only (before 3.11)
          "kind": "coroutine",                # or "callback": a plain function the loop
                                              # called (no coroutine was running)
          "function": "Worker.handle",        # the coroutine (or callback) it is in
          "callee": "compute",                # the Python function the call was in, when the
                                              # next frame was Python's (for matching a line)
          "in_call": true,                    # false: the time went in the function's own code
                                              # at that place (a loop, an operator, an
                                              # import), not in a call made there; the
                                              # position is then no call's (absent = true)
          "steps": 41,                        # stalls it was seen in
          "seconds": 2.3,                     # stalled time attributed to it
          "longest": 0.31,                    # the most in one stall
          "chains": [                         # what ran below it, costliest first
            {"through": ["app.util.compute()", "hashlib.pbkdf2_hmac()"], "steps": 41, "seconds": 2.3}
          ]
        }
      ]
    }

A stall's time is shared among the sites its stack samples were at, in proportion.
Kept free of heavy imports: ``check`` reads it beside the findings cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

#: The format's version, the value of the document's ``loopsafe_observed`` key.
FORMAT_VERSION = 1
DEFAULT_FILE = "loopsafe-observed.json"
KINDS = ("coroutine", "callback")


class ObservedError(Exception):
    """The observations file cannot be used; the message names the file and why."""


@dataclass(frozen=True)
class Chain:
    """What ran below a site in some of its stalls: the functions, from the one the site
    called down to where the time went (a C function shows as the Python frame that called
    it, or as the call in progress there when the Python gives positions)."""

    through: tuple[str, ...]
    steps: int
    seconds: float


@dataclass(frozen=True)
class Cost:
    """What a finding carries of the recording: the measured cost of its call."""

    seconds: float
    steps: int
    longest: float
    #: The costliest chain below the call (empty when the time was in the call itself).
    through: tuple[str, ...] = ()

    @property
    def amount(self) -> str:
        """``2.3 s in 41 steps``."""
        return f"{format_seconds(self.seconds)} in {'1 step' if self.steps == 1 else f'{self.steps} steps'}"

    def describe(self, called: str | None = None) -> str:
        """``called``: the name of the call the cost is of, which the chain need not repeat."""
        text = f"stalled the event loop {self.amount} when recorded"
        through = self.through
        if through and called is not None and _function_name(through[0]) == _function_name(called):
            through = through[1:]
        return f"{text}, through {' -> '.join(through)}" if through else text

    def to_json(self) -> dict[str, Any]:
        """As ``check --format json`` and SARIF results carry it."""
        return {"seconds": round(self.seconds, 6), "steps": self.steps, "longest": round(self.longest, 6),
                "through": list(self.through)}


@dataclass(frozen=True)
class ObservedSite:
    path: str
    line: int
    col_offset: int | None
    end_line: int | None
    end_col_offset: int | None
    kind: str
    function: str
    callee: str | None
    steps: int
    seconds: float
    longest: float
    chains: tuple[Chain, ...] = ()
    in_call: bool = True

    @property
    def cost(self) -> Cost:
        return Cost(self.seconds, self.steps, self.longest, self.chains[0].through if self.chains else ())

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "line": self.line, "col_offset": self.col_offset, "end_line": self.end_line,
            "end_col_offset": self.end_col_offset, "kind": self.kind, "function": self.function,
            "callee": self.callee, "in_call": self.in_call, "steps": self.steps, "seconds": round(self.seconds, 6),
            "longest": round(self.longest, 6),
            "chains": [
                {"through": list(c.through), "steps": c.steps, "seconds": round(c.seconds, 6)} for c in self.chains
            ],
        }


@dataclass(frozen=True)
class Observations:
    """A recording: its sites, and the content hash of each module they are in."""

    root: str
    sites: tuple[ObservedSite, ...]
    modules: Mapping[str, str]
    command: tuple[str, ...] = ()
    threshold_ms: float = 20.0
    pythons: tuple[str, ...] = ()
    processes: int = 0
    stalls: int = 0
    stalled_seconds: float = 0.0
    unattributed_seconds: float = 0.0
    _by_path: dict[str, list[ObservedSite]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for site in self.sites:
            self._by_path.setdefault(site.path, []).append(site)

    def key_of(self, path: Path | str, cwd: Path | None = None) -> str | None:
        """The key ``path`` (a file being checked) has among the recorded modules: its path
        relative to the recording's root, else relative to ``cwd`` (the project recorded in
        another checkout); ``None`` when it is neither."""
        absolute = Path(os.path.abspath(path))
        for folder in (Path(self.root), cwd or Path.cwd()):
            try:
                key = absolute.relative_to(os.path.abspath(folder)).as_posix()
            except ValueError:
                continue
            if key in self.modules:
                return key
        key = absolute.as_posix()
        return key if key in self.modules else None

    def sites_for(self, key: str, source: bytes) -> tuple[ObservedSite, ...] | None:
        """The sites recorded in module ``key`` whose text is ``source`` now; ``None`` when
        the module changed since the recording (its observations are stale)."""
        if self.modules.get(key) != content_hash(source):
            return None
        return tuple(self._by_path.get(key, ()))

    def to_json(self) -> dict[str, Any]:
        return {
            "loopsafe_observed": FORMAT_VERSION, "root": self.root, "command": list(self.command),
            "threshold_ms": self.threshold_ms, "pythons": list(self.pythons), "processes": self.processes,
            "stalls": self.stalls, "stalled_seconds": round(self.stalled_seconds, 6),
            "unattributed_seconds": round(self.unattributed_seconds, 6), "modules": dict(sorted(self.modules.items())),
            "sites": [site.to_json() for site in sorted(self.sites, key=lambda s: (-s.seconds, s.path, s.line))],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1) + "\n"


def _function_name(label: str) -> str:
    """``crunch`` of ``service.crunch()``: a chain names functions by module, a call as written."""
    return label.removesuffix("()").rpartition(".")[2]


def content_hash(source: bytes) -> str:
    return "sha256:" + hashlib.sha256(source).hexdigest()


def format_seconds(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.1f} s"
    return f"{seconds * 1000:.0f} ms"


def load(path: Path) -> Observations:
    """Read an observations file. Raises ``ObservedError`` naming the file and the problem."""
    try:
        text = path.read_bytes()
    except OSError as error:
        raise ObservedError(f"{path}: cannot read the observations file: {error.strerror or error}") from None
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise ObservedError(f"{path}: not an observations file (not JSON: {error})") from None
    try:
        return parse(document)
    except (KeyError, TypeError, ValueError) as error:
        raise ObservedError(f"{path}: not a valid observations file: {_problem(error)}") from None


def parse(document: Any) -> Observations:
    """The observations in a decoded document. Raises ``KeyError``/``TypeError``/``ValueError``."""
    if not isinstance(document, dict) or "loopsafe_observed" not in document:
        raise ValueError("no 'loopsafe_observed' key (is it the file `loopsafe record` wrote?)")
    version = document["loopsafe_observed"]
    if version != FORMAT_VERSION:
        raise ValueError(f"format version {version!r}; this loopsafe reads version {FORMAT_VERSION}")
    modules = document["modules"]
    if not isinstance(modules, dict) or not all(isinstance(v, str) for v in modules.values()):
        raise TypeError("'modules' must map paths to content hashes")
    sites = tuple(_site(item, index) for index, item in enumerate(_list(document["sites"], "sites")))
    for site in sites:
        if site.path not in modules:
            raise ValueError(f"site at {site.path}:{site.line} is in no module of 'modules'")
    return Observations(
        root=_text(document["root"], "root"), sites=sites, modules=dict(modules),
        command=tuple(map(str, _list(document.get("command", []), "command"))),
        threshold_ms=float(document.get("threshold_ms", 20.0)),
        pythons=tuple(map(str, _list(document.get("pythons", []), "pythons"))),
        processes=int(document.get("processes", 0)), stalls=int(document.get("stalls", 0)),
        stalled_seconds=float(document.get("stalled_seconds", 0.0)),
        unattributed_seconds=float(document.get("unattributed_seconds", 0.0)),
    )


def _site(item: Any, index: int) -> ObservedSite:
    if not isinstance(item, dict):
        raise TypeError(f"sites[{index}] is not an object")
    kind = item.get("kind", "coroutine")
    if kind not in KINDS:
        raise ValueError(f"sites[{index}]: kind {kind!r} is not one of {', '.join(KINDS)}")
    line = int(item["line"])
    if line < 1:
        raise ValueError(f"sites[{index}]: line {line} is not a line number")
    return ObservedSite(
        path=_text(item["path"], f"sites[{index}].path"), line=line,
        col_offset=_optional_int(item.get("col_offset")), end_line=_optional_int(item.get("end_line")),
        end_col_offset=_optional_int(item.get("end_col_offset")), kind=kind,
        function=str(item.get("function", "")), callee=None if item.get("callee") is None else str(item["callee"]),
        steps=int(item["steps"]), seconds=float(item["seconds"]), longest=float(item["longest"] if "longest" in item else item["seconds"]),
        chains=tuple(_chain(chain) for chain in _list(item.get("chains", []), f"sites[{index}].chains")),
        in_call=bool(item.get("in_call", True)),
    )


def _chain(item: Any) -> Chain:
    if not isinstance(item, dict):
        raise TypeError("a chain is not an object")
    return Chain(tuple(map(str, _list(item["through"], "through"))), int(item["steps"]), float(item["seconds"]))


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"'{name}' must be a list")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"'{name}' must be a string")
    return value


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _problem(error: Exception) -> str:
    return f"missing key {error}" if isinstance(error, KeyError) else str(error)


def merge_costs(costs: Iterable[Cost]) -> Cost | None:
    """One cost for a finding several sites point at (a line recorded without columns)."""
    costs = sorted(costs, key=lambda c: -c.seconds)
    if not costs:
        return None
    return Cost(
        sum(c.seconds for c in costs), sum(c.steps for c in costs), max(c.longest for c in costs), costs[0].through
    )

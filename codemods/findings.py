"""What the detector found: one ``Finding`` per blocking call in a coroutine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Finding:
    line: int
    #: 1-based, as ruff and flake8 print it.
    column: int
    code: str
    #: The callable, e.g. ``requests.get``.
    name: str
    #: True when loopsafe rewrites the call; False when it is reported for a human.
    fixable: bool
    #: The rewrite (``await asyncio.to_thread(requests.get, ...)``) or why there is none.
    detail: str

    @property
    def message(self) -> str:
        if self.fixable:
            return f"{self.name}() blocks the event loop; fix: {self.detail}"
        return f"{self.name}() blocks the event loop; not fixed automatically: {self.detail}"

    def format(self, path: str) -> str:
        return f"{path}:{self.line}:{self.column}: {self.code} {self.message}"

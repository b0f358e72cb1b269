"""Modules and classes a project declares blocking: ``[tool.loopsafe] blocking``.

    [tool.loopsafe]
    blocking = ["wechatpy.*", "vendor.Client.*", "mylib.fetch"]

A *pattern* is a dotted name followed by ``.*``; it covers that name and every name under
it, on the qualified name a call resolves to through the module's imports (``import
wechatpy as w; w.WeChatClient(...)`` is ``wechatpy.WeChatClient``), at dot boundaries
(``wechatpy.*`` does not cover ``wechatpyx``):

- a call of a covered name blocks: a function of the module or of its submodules
  (``wechatpy.utils.check_signature(...)``), a class's constructor (``wechatpy.WeChatClient(...)``,
  ``vendor.Client(...)`` for ``vendor.Client.*``), a method called through its class;
- a covered name whose last part is capitalised (``WeChatClient``, ``Client``) is taken
  as a class, by PEP 8's convention: the object it makes (``c = vendor.Client(...)``, or a
  parameter annotated ``c: vendor.Client``) is typed, and each of its public methods (a
  name not starting with ``_``) blocks: ``c.get(...)``;
- names that end in ``Error``, ``Exception`` or ``Warning`` are exceptions (making one does
  not block: ``raise vendor.ApiError(...)``), and are not covered.

Only names that come from imports are matched, never the project's own definitions: a
pattern covers the project's modules only when it names them. Exact names (without
``.*``) block when called, as the entries of ``[tool.loopsafe.blocking]`` always have.
The catalog's own entries (``requests.get``) and exact names win over patterns, and a
longer pattern over a shorter one (its strategy counts). Names ``ignore`` lists are not
covered.

A declared call is fixed as a catalog call is (``await asyncio.to_thread(f, ...)``), or
reported when its strategy is ``report``; as loopsafe knows nothing of its parameters,
every argument may be a mutable object it reads while the thread runs, so each must be
one no other task can reach meanwhile (``codemods.analysis.confinement``), as for the
project's own helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from codemods.catalog import (
    EVENT_LOOP_MODULES,
    EVERY_ARGUMENT,
    PUBLIC_METHODS,
    BlockingCall,
    BlockingType,
    Strategy,
    user_entry,
)

#: What marks a pattern: ``vendor.*``.
WILDCARD = ".*"
#: Endings of exception class names (PEP 8): calling one makes an exception, nothing blocks.
EXCEPTION_SUFFIXES = ("Error", "Exception", "Warning")


def is_dotted_name(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def is_pattern(text: str) -> bool:
    """Whether ``text`` is written as a pattern (ends in ``*``), valid or not."""
    return text.endswith("*")


@dataclass(frozen=True)
class DeclaredPattern:
    """``prefix.*``: every name ``prefix`` or under it, blocking with ``strategy``."""

    prefix: str
    strategy: Strategy = Strategy.TO_THREAD

    @property
    def text(self) -> str:
        return self.prefix + WILDCARD

    def covers(self, qualname: str) -> bool:
        return qualname == self.prefix or qualname.startswith(self.prefix + ".")


def parse_pattern(text: str, strategy: str = Strategy.TO_THREAD.value) -> DeclaredPattern:
    """``"vendor.Client.*"`` -> its pattern; ``ValueError`` saying what is wrong (the
    strategy as for an exact name: ``to_thread`` or ``report``)."""
    prefix = text[: -len(WILDCARD)] if text.endswith(WILDCARD) else ""
    if not is_dotted_name(prefix):
        raise ValueError(
            f"{text!r} is not a pattern: write a dotted name followed by '.*' ('wechatpy.*', "
            "'vendor.Client.*'); '*' is only allowed as the last part"
        )
    if prefix.split(".")[0] in EVENT_LOOP_MODULES:
        raise ValueError(f"{text!r} covers the event loop's own module, which does not block (and runs the fixes)")
    return DeclaredPattern(prefix, user_entry(prefix, strategy).strategy)


def is_class_name(qualname: str) -> bool:
    """``vendor.Client``: a class by PEP 8's convention (capitalised, not an exception)."""
    last = qualname.rsplit(".", 1)[-1]
    return last[:1].isupper() and not last.endswith(EXCEPTION_SUFFIXES)


class DeclaredBlocking:
    """Answers, for a resolved qualified name, whether calling it blocks by a declared
    pattern, and the type of the object it makes if it is a declared class. One object
    per ``Settings``: a class's type is made once, as the detector compares types by
    identity."""

    def __init__(self, patterns: Sequence[DeclaredPattern], ignore: Iterable[str] = ()) -> None:
        # The most specific pattern first: its strategy is the one that counts.
        self.patterns = sorted(patterns, key=lambda pattern: -pattern.prefix.count("."))
        self.ignore = frozenset(ignore)
        self._entries: dict[str, BlockingCall | None] = {}
        self._types: dict[str, BlockingType | None] = {}

    def pattern_of(self, qualname: str) -> DeclaredPattern | None:
        """The pattern that covers ``qualname``, if one does (exceptions are not covered)."""
        if qualname in self.ignore or qualname.rsplit(".", 1)[-1].endswith(EXCEPTION_SUFFIXES):
            return None
        return next((pattern for pattern in self.patterns if pattern.covers(qualname)), None)

    def entry(self, qualname: str) -> BlockingCall | None:
        """The entry of a call of ``qualname`` (a function, a constructor), if declared."""
        if qualname not in self._entries:
            pattern = self.pattern_of(qualname)
            self._entries[qualname] = None if pattern is None else user_entry(qualname, pattern.strategy.value)
        return self._entries[qualname]

    def instance_type(self, qualname: str) -> BlockingType | None:
        """The type of the objects the declared class ``qualname`` makes: its public
        methods block."""
        if qualname not in self._types:
            entry = self.entry(qualname) if is_class_name(qualname) else None
            self._types[qualname] = None if entry is None else BlockingType(
                qualname, (qualname,), entry.category,
                methods=() if entry.reason is not None else (PUBLIC_METHODS,),
                report={} if entry.reason is None else {PUBLIC_METHODS: entry.reason},
                annotations=(qualname,), shares={PUBLIC_METHODS: EVERY_ARGUMENT},
            )
        return self._types[qualname]

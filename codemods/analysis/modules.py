"""Modules and the project around them, as the analysis of one module is told about them.

Plain data, light to import: the runner makes these for every file of a run
(``codemods.project``) without loading the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Protocol

if TYPE_CHECKING:
    from codemods.observed import ObservedSite


@dataclass(frozen=True)
class ModuleName:
    """A module's absolute dotted name, and whether it is a package's ``__init__``."""

    name: str
    package: bool = False

    def absolute(self, qualified: str) -> str | None:
        """``.reports.save`` (relative, as an import spells it) made absolute from this module."""
        level = len(qualified) - len(qualified.lstrip("."))
        if not level:
            return qualified
        parts = self.name.split(".") if self.name else []
        base = parts if self.package else parts[:-1]
        if level - 1 > len(base):
            return None
        base = base[: len(base) - (level - 1)]
        rest = qualified[level:]
        joined = ".".join([*base, rest] if rest else base)
        return joined or None


#: Stands for a file given on standard input or otherwise outside any project.
NO_MODULE = ModuleName("__main__")


# -- what the project index knows of a module (``codemods.analysis.helpers`` reads it) ----

#: One call a function makes that matters: ``("block", qualname)`` (the catalog),
#: ``("call", "pkg.reports.save")`` (by absolute dotted name), ``("method", "pkg.app.Bot", "save")``.
Step = tuple[str, ...]


@dataclass(frozen=True)
class FunctionFacts:
    """What one sync function or method does, as far as its callers need to know."""

    #: The ``def``'s name.
    name: str
    steps: tuple[Step, ...] = ()
    #: Whether a call runs this body (not a generator; a method wrapped by nothing but
    #: ``classmethod``/``staticmethod``).
    followed: bool = True
    #: ``# loopsafe: ignore`` on its ``def`` line, or named in ``non-blocking``.
    declared: bool = False
    #: Why it may not run in a worker thread, from its own body (not from what it calls).
    refusal: str | None = None
    #: The qualified name of the catalog type its return annotation names, for a
    #: module-level function whose call certainly returns what the annotation says (not a
    #: generator, not decorated but by ``functools.cache``/``lru_cache``): other modules
    #: type what their coroutines' calls of it return (``typed_return``).
    returns: str | None = None


@dataclass(frozen=True)
class ClassFacts:
    #: Absolute dotted names of the bases (``None``: not a plain name, unknown).
    bases: tuple[str | None, ...]
    #: Every name the class body binds (a method, or anything else that shadows one).
    members: frozenset[str]
    #: Names its methods bind on the instance (``self.record = sink``): they shadow methods.
    instance_attributes: frozenset[str] = frozenset()


class FunctionTable(Mapping[str, FunctionFacts]):
    """A module's functions by key (``"save"``, ``"Store.save"``); the facts of each are
    read from its body the first time they are asked for (``compute``): answering a call
    of one function must not cost a review of every function of the module."""

    def __init__(
        self, keys: Iterable[str], known: Mapping[str, FunctionFacts] | None = None,
        compute: Callable[[str], FunctionFacts] | None = None,
    ) -> None:
        self._keys = frozenset(keys)
        self.known: dict[str, FunctionFacts] = dict(known or {})
        self._compute = compute

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __getitem__(self, key: str) -> FunctionFacts:
        found = self.known.get(key)
        if found is None:
            if key not in self._keys or self._compute is None:
                raise KeyError(key)
            found = self.known[key] = self._compute(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._keys))

    def __len__(self) -> int:
        return len(self._keys)

    def answered(self) -> FunctionTable:
        """Only the functions asked about so far, for another process: a worker asks of
        them what was asked here (``codemods.project``)."""
        return FunctionTable(self.known, self.known)


@dataclass(frozen=True)
class ModuleSummary:
    name: str
    functions: FunctionTable = field(default_factory=lambda: FunctionTable(()))
    classes: Mapping[str, ClassFacts] = field(default_factory=dict)
    #: Module-level names bound once, by an import: their absolute dotted names (re-exports).
    aliases: Mapping[str, str] = field(default_factory=dict)
    #: ``assigned``, or how to read it when it is first asked (a summary made here: most
    #: are never asked, and reading it walks the whole module).
    assigned_names: frozenset[str] | Callable[[], frozenset[str]] = field(default=frozenset(), compare=False)
    #: Modules it re-exports with ``from x import *`` (absolute names).
    stars: tuple[str, ...] = ()

    @cached_property
    def assigned(self) -> frozenset[str]:
        """Absolute dotted names of attributes of other modules and of classes the module
        assigns (``store.save = fake``, ``setattr(store, "save", fake)``, ``patch("app.store.save")``)."""
        given = self.assigned_names
        return given if isinstance(given, frozenset) else given()

    def may_bind(self, kind: str, name: str) -> bool:
        """Whether the module may bind ``name`` by a ``def``, ``class`` or ``import``
        (``kind``): a handle that has not read the module answers from its text."""
        return True

    def real(self) -> ModuleSummary:
        """The summary itself (a handle reads the module for it)."""
        return self

    def answered(self) -> ModuleSummary:
        return ModuleSummary(self.name, self.functions.answered(), self.classes, self.aliases, self.assigned,
                             self.stars)

    def read_for(self, paths: Iterable[str]) -> ModuleSummary:
        """The summary with the facts read of the functions ``paths`` name (``"save"``,
        ``"Store.load"``) and of those of this module they call: what answering calls of
        them asks here, most likely (the rest is read when asked)."""
        prefix = f"{self.name}."
        pending = [path for path in paths if path in self.functions]
        for path in paths:
            first, _, rest = path.partition(".")
            if rest and first in self.classes:
                pending.extend(key for key in self.functions if key.endswith(f".{rest}"))
        seen: set[str] = set()
        while pending:
            key = pending.pop()
            if key in seen or key not in self.functions:
                continue
            seen.add(key)
            for step in self.functions[key].steps:
                if step[0] == "call" and step[1].startswith(prefix):
                    pending.append(step[1][len(prefix):])
                elif step[0] == "method" and step[1].startswith(prefix):
                    pending.extend(k for k in self.functions if k.endswith(f".{step[2]}"))
        return self

    def to_json(self) -> list[Any]:
        """The keys, and the facts read so far (``from_json`` reads the rest again, given how)."""
        return [
            self.name,
            sorted(self.functions),
            {k: [f.name, [list(s) for s in f.steps], f.followed, f.declared, f.refusal, f.returns]
             for k, f in self.functions.known.items()},
            {k: [list(c.bases), sorted(c.members), sorted(c.instance_attributes)] for k, c in self.classes.items()},
            dict(self.aliases),
            sorted(self.assigned),
            list(self.stars),
        ]

    @classmethod
    def from_json(cls, data: list[Any], compute: Callable[[str], FunctionFacts] | None = None) -> ModuleSummary:
        name, keys, functions, classes, aliases, assigned, stars = data
        known = {k: FunctionFacts(n, tuple(tuple(s) for s in steps), followed, declared, refusal, returns)
                 for k, (n, steps, followed, declared, refusal, returns) in functions.items()}
        return cls(
            name, FunctionTable(keys, known, compute),
            {k: ClassFacts(tuple(bases), frozenset(members), frozenset(attributes))
             for k, (bases, members, attributes) in classes.items()},
            dict(aliases), frozenset(assigned), tuple(stars),
        )


class ModuleHandle(Protocol):
    """A module as the index sees it: a ``ModuleSummary``, or a handle that reads the
    module only when an answer needs more than its text tells (``codemods.summaries``)."""

    @property
    def name(self) -> str: ...

    def may_bind(self, kind: str, name: str) -> bool: ...

    def real(self) -> ModuleSummary: ...



@dataclass(frozen=True)
class ProjectView:
    """What a module's analysis knows of the project around it."""

    #: The module's own name (relative imports, keys of its functions).
    module: ModuleName = NO_MODULE
    #: Summaries of other modules of the project; ``None``: the module stands alone (the
    #: fixit rule, standard input), so no other module is the project's.
    others: Mapping[str, ModuleHandle] | None = None
    #: Whether the plan carries the module's summary (for other modules' analyses).
    summarise: bool = False
    #: Names ``others`` (what the cache stores a second look under).
    digest: str = ""
    #: Whether ``others`` holds every module of the project the answers need (a second
    #: look): a module not in it is not the project's. Else one may be, unseen.
    complete: bool = False
    #: What a decision read of the whole project's text (``helpers.ProjectIndex.scanned``),
    #: for a second look: which modules may bind a name.
    scanned: Mapping[str, tuple[str, ...]] | None = None
    #: Where a recording saw the module's coroutines stall the loop (``--observed``), as
    #: the module is now (stale observations are dropped before they get here).
    observed: tuple[ObservedSite, ...] = ()



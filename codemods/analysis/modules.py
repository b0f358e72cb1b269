"""Modules and the project around them, as the analysis of one module is told about them.

Plain data, light to import: the runner makes these for every file of a run
(``codemods.project``) without loading the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from codemods.analysis.helpers import ModuleHandle
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



"""The project around the files of a run: calls of project functions across modules (LS301).

Each file is analysed once with only its own module at hand (``ProjectView`` with no
other summaries), as every run does; its result carries the module's summary and the
calls whose answer needs other modules (``TransformResult.wanted``: a call through an
import, a method of an imported base class). Those files are held back. Their wanted
calls are then resolved here over the summaries of the project's modules: those the run
produced, and those of the modules they import (found from the module names, read and
summarised on demand, cached). A held file with a call that blocks through another
module is analysed a second time, given the summaries its answers used; the others come
out as they were. So a project pays for the index only where a coroutine calls
something of another module, and never parses a file twice unless it must.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from codemods.config import Settings
from codemods.runner import FileOutcome, SourceFile, read_source, run

if TYPE_CHECKING:
    from codemods.analysis.finder import ProjectView
    from codemods.analysis.helpers import ModuleSummary
    from codemods.cache import FindingsCache


def module_name_of(path: Path) -> tuple[str, bool, Path]:
    """The dotted module name of a ``.py`` file, whether it is a package's ``__init__``,
    and the folder its top package is in (where ``import`` finds it)."""
    package = path.name == "__init__.py"
    parts = [] if package else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), package, folder


@dataclass
class ModuleLocator:
    """Where the project's modules are: under the folders that hold the run's top
    packages and modules (and a ``src`` layout's), as ``import`` would find them."""

    roots: list[Path] = field(default_factory=list)
    _found: dict[str, Path | None] = field(default_factory=dict)

    def add_root(self, root: Path) -> None:
        if root not in self.roots:
            self.roots.append(root)

    def locate(self, name: str) -> Path | None:
        """The file of module ``name``; ``None`` if no root has it or two roots do."""
        if name not in self._found:
            relative = Path(*name.split("."))
            found = {
                candidate
                for root in self.roots
                for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py")
                if candidate.is_file()
            }
            self._found[name] = found.pop() if len(found) == 1 else None
        return self._found[name]


def run_project(
    files: Sequence[SourceFile],
    settings_of: Callable[[SourceFile], Settings],
    jobs: int = 1,
    findings_only: bool = False,
    cache_of: Callable[[Settings], FindingsCache | None] = lambda settings: None,
    extra_roots: Iterable[Path] = (),
) -> Iterator[FileOutcome]:
    """``runner.run`` over ``files``, with calls of project functions followed across
    modules. Outcomes come in the order of ``files``, except those that needed a second
    look, which come last."""
    from codemods.analysis.finder import ProjectView
    from codemods.analysis.helpers import ModuleName

    locator = ModuleLocator()
    names: dict[Path, tuple[str, bool]] = {}
    for file in files:
        name, package, root = module_name_of(file.path)
        names[file.path] = (name, package)
        locator.add_root(root)
    for root in extra_roots:
        locator.add_root(root)
    first_views: dict[Path, ProjectView] = {
        path: ProjectView(ModuleName(name, package), others={}, summarise=True) for path, (name, package) in names.items()
    }
    summaries: dict[str, ModuleSummary] = {}
    held: list[FileOutcome] = []
    for outcome in run(files, settings_of, jobs, findings_only, cache_of, lambda file: first_views[file.path]):
        result = outcome.result
        summary = _summary(result.summary)
        if summary is not None:
            summaries[names[outcome.file.path][0]] = summary
        if result.wanted and result.error is None:
            held.append(outcome)
        else:
            yield outcome
    if not held:
        return
    index = _Summaries(summaries, locator, settings_of, cache_of)
    second_views: dict[Path, ProjectView] = {}
    again: list[SourceFile] = []
    for outcome in held:
        name, package = names[outcome.file.path]
        used = index.blocking_calls(name, outcome.result.wanted)
        if used is None:
            yield outcome
            continue
        others = {module: summaries for module, summaries in used.items() if module != name}
        second_views[outcome.file.path] = ProjectView(
            ModuleName(name, package), others=others, digest=_digest(others)
        )
        again.append(outcome.file)
    yield from run(again, settings_of, jobs, findings_only, cache_of, lambda file: second_views[file.path])


def _summary(data: Any) -> ModuleSummary | None:
    """A summary from a fresh analysis, or from the cache's JSON data."""
    from codemods.analysis.helpers import ModuleSummary

    if data is None or isinstance(data, ModuleSummary):
        return data
    return ModuleSummary.from_json(data)


def _digest(others: dict[str, ModuleSummary]) -> str:
    document = json.dumps(sorted((name, summary.to_json()) for name, summary in others.items()), sort_keys=True)
    return hashlib.sha256(document.encode()).hexdigest()[:20]


class _Summaries:
    """The project's module summaries, read on demand, and the answers over them."""

    def __init__(
        self, known: dict[str, ModuleSummary], locator: ModuleLocator,
        settings_of: Callable[[SourceFile], Settings], cache_of: Callable[[Settings], FindingsCache | None],
    ) -> None:
        self.known = known
        self.locator = locator
        self.settings_of = settings_of
        self.cache_of = cache_of
        self.absent: set[str] = set()

    def load(self, name: str) -> ModuleSummary | None:
        if name in self.known:
            return self.known[name]
        if name in self.absent:
            return None
        summary = self._read(name)
        if summary is None:
            self.absent.add(name)
        else:
            self.known[name] = summary
        return summary

    def _read(self, name: str) -> ModuleSummary | None:
        from codemods.engine import summarise_source

        path = self.locator.locate(name)
        if path is None:
            return None
        file = SourceFile(str(path), path)
        settings = self.settings_of(file)
        cache = self.cache_of(settings)
        try:
            status = os.stat(path)
        except OSError:
            return None
        if cache is not None:
            found, data = cache.get_summary(path, status)
            if found:
                return None if data is None else _summary(data)
        source = read_source(path)
        if isinstance(source, bytes) and b"\0" not in source:
            summary = _summary(summarise_source(source, settings, name, path.name == "__init__.py"))
        else:
            summary = None
        if cache is not None:
            cache.put_summary(path, status, None if summary is None else summary.to_json())
        return summary

    def blocking_calls(self, module: str, wanted: frozenset[str]) -> dict[str, ModuleSummary] | None:
        """The summaries that the wanted calls of ``module`` need, if one of them blocks."""
        from codemods.analysis.finder import decode_step
        from codemods.analysis.helpers import ProjectIndex

        index = ProjectIndex(self.load)
        blocks = False
        for encoded in sorted(wanted):
            key = index.target(decode_step(encoded))
            if key is not None and index.chain(key) is not None:
                blocks = True
                index.refusal(key, module)  # the summaries its verdict reads go too
        if not blocks:
            return None
        return {name: self.known[name] for name in index.used}


__all__ = ["ModuleLocator", "module_name_of", "run_project"]

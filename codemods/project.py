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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from codemods.config import Settings
from codemods.findings import Finding, TransformResult
from codemods.runner import FileOutcome, SourceFile, WorkerPool, read_source, run

if TYPE_CHECKING:
    from codemods.analysis.finder import ProjectView
    from codemods.analysis.helpers import HelperCall, ModuleSummary
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

    roots: list[str] = field(default_factory=list)
    _found: dict[str, Path | None] = field(default_factory=dict)
    #: Each root's entries, read once: most names asked for are not the project's.
    _entries: dict[str, frozenset[str]] = field(default_factory=dict)

    def add_root(self, root: Path) -> None:
        text = str(root)
        if text not in self.roots:
            self.roots.append(text)

    def locate(self, name: str) -> Path | None:
        """The file of module ``name``; ``None`` if no root has it or two roots do."""
        if name not in self._found:
            parts = name.split(".")
            found = set()
            for root in self.roots:
                if parts[0] not in self._top_names(root):
                    continue
                base = os.path.join(root, *parts)
                for candidate in (base + ".py", os.path.join(base, "__init__.py")):
                    if os.path.isfile(candidate):
                        found.add(candidate)
            self._found[name] = Path(found.pop()) if len(found) == 1 else None
        return self._found[name]

    def _top_names(self, root: str) -> frozenset[str]:
        entries = self._entries.get(root)
        if entries is None:
            try:
                listed = os.listdir(root)
            except OSError:
                listed = []
            entries = self._entries[root] = frozenset(n[:-3] if n.endswith(".py") else n for n in listed)
        return entries


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
    # No more workers than files to look at.
    pool = WorkerPool(min(jobs, len(files)), findings_only) if jobs > 1 else None
    try:
        yield from _run_project(
            files, settings_of, jobs, findings_only, cache_of, locator, names, first_views, summaries, held, pool
        )
    finally:
        if pool is not None:
            pool.shutdown()


def _run_project(
    files: Sequence[SourceFile], settings_of: Callable[[SourceFile], Settings], jobs: int, findings_only: bool,
    cache_of: Callable[[Settings], FindingsCache | None], locator: ModuleLocator, names: dict[Path, tuple[str, bool]],
    first_views: dict[Path, ProjectView], summaries: dict[str, ModuleSummary], held: list[FileOutcome],
    pool: WorkerPool | None,
) -> Iterator[FileOutcome]:
    import gc

    from codemods.analysis.finder import ProjectView
    from codemods.analysis.helpers import ModuleName, ModuleSummary

    for outcome in run(files, settings_of, jobs, findings_only, cache_of, lambda file: first_views[file.path], pool):
        result = outcome.result
        if result.summary is not None:
            name = names[outcome.file.path][0]
            summaries[name] = ModuleSummary.from_json(
                result.summary, compute=_Reread(outcome.file.path, settings_of(outcome.file), name)
            )
        if (result.wanted or result.pending) and result.error is None:
            held.append(outcome)
        else:
            yield outcome
    if not held:
        return
    index = _Summaries(summaries, locator, settings_of, cache_of)
    # The trees read here are garbage at once: collections would only cost time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if pool is not None:
            index.prefetch([_wanted(outcome.result) for outcome in held], pool)
        decided = [(outcome, index.decide(names[outcome.file.path][0], outcome.result)) for outcome in held]
    finally:
        if collecting:
            gc.enable()
    second_views: dict[Path, ProjectView] = {}
    again: list[SourceFile] = []
    for outcome, (findings, used) in decided:
        name, package = names[outcome.file.path]
        if used is None or (findings_only and not outcome.result.wanted):
            # Nothing blocks through other modules, or (for findings only) the module's own
            # analysis left nothing to do but finish the findings of its calls.
            yield FileOutcome(outcome.file, replace(outcome.result, findings=findings)) if findings is not None \
                else outcome
            continue
        others = {module: summary for module, summary in used.items() if module != name}
        second_views[outcome.file.path] = ProjectView(
            ModuleName(name, package), others=others, digest=_digest(others), complete=True
        )
        again.append(outcome.file)
    yield from run(again, settings_of, jobs, findings_only, cache_of, lambda file: second_views[file.path], pool)


def _wanted(result: TransformResult) -> frozenset[str]:
    """Every call of a project function the result waits on, as ``encode_step`` writes it."""
    from codemods.analysis.finder import encode_step

    return result.wanted | {encode_step(tuple(_call(call).step)) for call in result.pending}


def _call(data: Any) -> HelperCall:
    from codemods.analysis.helpers import HelperCall

    return data if isinstance(data, HelperCall) else HelperCall.from_json(data)


class _Reread:
    """A module's file, parsed the first time a function's facts are asked for."""

    def __init__(self, path: Path, settings: Settings, name: str) -> None:
        self.path = path
        self.settings = settings
        self.name = name
        self._summary: ModuleSummary | None = None
        self._read = False

    def summary(self) -> ModuleSummary | None:
        from codemods.engine import summarise_source

        if not self._read:
            self._read = True
            source = read_source(self.path)
            if isinstance(source, bytes) and b"\0" not in source:
                self._summary = _summary(
                    summarise_source(source, self.settings, self.name, self.path.name == "__init__.py")
                )
        return self._summary

    def __call__(self, key: str) -> Any:
        summary = self.summary()
        if summary is None or key not in summary.functions:
            from codemods.analysis.helpers import FunctionFacts

            return FunctionFacts(key.rpartition(".")[2], followed=False, refusal="its module changed")
        return summary.functions[key]


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
        """The summary of module ``name`` if it is the project's: from the cache, else read
        from its file; either way a function's facts are read only when asked for."""
        from codemods.analysis.helpers import ModuleSummary

        path = self.locator.locate(name)
        if path is None:
            return None
        settings = self.settings_of(SourceFile(str(path), path))
        cache = self.cache_of(settings)
        try:
            status = os.stat(path)
        except OSError:
            return None
        if cache is not None:
            found, data = cache.get_summary(path, status)
            if found:
                if data is None:
                    return None
                cached = ModuleSummary.from_json(data, compute=_Reread(path, settings, name))
                cache.put_summary(path, status, cached)  # what it learns this run is kept
                return cached
        read = _Reread(path, settings, name).summary()
        if cache is not None:
            cache.put_summary(path, status, read)
        return read

    def prefetch(self, wanted: list[frozenset[str]], pool: WorkerPool) -> None:
        """Read the modules the wanted calls name directly in the worker processes, at once
        (deeper ones are read here, when an answer needs them)."""
        from codemods.analysis.finder import decode_step
        from codemods.runner import _summarise_in_worker

        requested: dict[str, set[str]] = {}
        for steps in wanted:
            for encoded in steps:
                step = decode_step(encoded)
                if step[0] == "call":
                    parts = step[1].split(".")
                    for cut in range(1, len(parts)):
                        requested.setdefault(".".join(parts[:cut]), set()).add(".".join(parts[cut:]))
        jobs: dict[str, Any] = {}
        for name in sorted(requested.keys() - self.known.keys() - self.absent):
            path = self.locator.locate(name)
            if path is None:
                self.absent.add(name)
                continue
            settings = self.settings_of(SourceFile(str(path), path))
            cache = self.cache_of(settings)
            if cache is not None and cache.get_summary(path, os.stat(path))[0]:
                continue  # the cache has it: read when asked
            executor = pool.start(settings)
            jobs[name] = (path, settings, executor.submit(
                _summarise_in_worker, str(path), name, path.name == "__init__.py", sorted(requested[name]),
                None if settings is pool.settings else settings,
            ))
        from codemods.analysis.helpers import ModuleSummary

        for name, (path, settings, future) in jobs.items():
            data = future.result()
            if data is None:
                self.absent.add(name)
                continue
            # The functions not read there are read here, if an answer needs them.
            summary = ModuleSummary.from_json(data, compute=_Reread(path, settings, name))
            self.known[name] = summary
            cache = self.cache_of(settings)
            if cache is not None:
                cache.put_summary(path, os.stat(path), summary)

    def decide(self, module: str, result: TransformResult) -> tuple[list[Finding] | None, dict[str, ModuleSummary] | None]:
        """For a held result: its findings with those of its pending calls finished (``None``:
        unchanged), and the summaries a second look needs, if one would find something
        (a call through an import that blocks)."""
        from codemods.analysis.finder import decode_step
        from codemods.analysis.helpers import ProjectIndex, helper_finding

        index = ProjectIndex(self.load)
        findings: list[Finding] | None = None
        for data in result.pending:
            finding = helper_finding(_call(data), index, module)
            if finding is not None:
                findings = [*(findings if findings is not None else result.findings), finding]
        blocks = findings is not None
        for encoded in sorted(result.wanted):
            key = index.target(decode_step(encoded))
            if key is not None and index.chain(key) is not None:
                blocks = True
                index.refusal(key, module)  # the summaries its verdict reads go too
        if findings is not None:
            findings.sort()
        if not blocks:
            return findings, None
        return findings, {name: self.known[name].answered() for name in index.used}


__all__ = ["ModuleLocator", "module_name_of", "run_project"]

"""The project around the files of a run: calls of project functions across modules (LS301).

Each file is analysed once with only its own module at hand (``ProjectView`` with no
other summaries), as every run does. Its result carries the module's summary, and what
waits on other modules: the calls of project functions its analysis could not decide
(``TransformResult.pending``, findings to finish), or, for a module the screen passed
over, the calls through its imports (``TransformResult.wanted``). Those files are held
back and decided here over the summaries of the project's modules
(``codemods.summaries``: the run's, then those of the modules the calls name, found by
module name, read as little as the answers need, cached): pending findings are finished
here; a module whose wanted calls block, or (for ``fix``) any with a finding to
rewrite, is analysed a second time with the summaries its answers used. The others come
out as they were: a project pays for the index where coroutines call into other
modules, and parses a file twice only when that finds something.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

from codemods.config import Settings
from codemods.findings import Finding, TransformResult
from codemods.module_names import ModuleLocator as ModuleLocator, module_name_of as module_name_of
from codemods.runner import FileOutcome, SourceFile, WorkerPool, run, stat_or_none

TYPE_CHECKING = False  # as typing's, which a check answered from the cache does not import
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator, Sequence

    from codemods.analysis.modules import ProjectView
    from codemods.analysis.helpers import HelperCall, ModuleSummary
    from codemods.cache import Decision, FindingsCache, Stamp
    from codemods.runner import ObservedOf
    from codemods.summaries import Decided, Known, ProjectSummaries


def run_project(
    files: Sequence[SourceFile],
    settings_of: Callable[[SourceFile], Settings],
    jobs: int = 1,
    findings_only: bool = False,
    cache_of: Callable[[Settings], FindingsCache | None] = lambda settings: None,
    extra_roots: Iterable[Path] = (),
    observed_of: ObservedOf = lambda settings: None,
) -> Iterator[FileOutcome]:
    """``runner.run`` over ``files``, with calls of project functions followed across
    modules. Outcomes come in the order of ``files``, except those that needed a second
    look, which come last. ``observed_of``: the recording for files of these settings
    (``runner.run``)."""
    if not _follows_calls(files, settings_of):
        yield from run(files, settings_of, jobs, findings_only, cache_of, observed_of=observed_of)
        return
    locator, names = _locate(files, extra_roots)
    # No more workers than files to look at.
    pool = WorkerPool(min(jobs, len(files)), findings_only) if jobs > 1 else None
    try:
        yield from _in_order(files, _run_project(files, settings_of, jobs, findings_only, cache_of, locator, names,
                                                 pool, observed_of))
    finally:
        if pool is not None:
            pool.shutdown()


def cached_outcomes(
    files: Sequence[SourceFile],
    settings_of: Callable[[SourceFile], Settings],
    cache_of: Callable[[Settings], FindingsCache | None],
    extra_roots: Iterable[Path] = (),
) -> list[FileOutcome] | None:
    """What ``run_project(files, settings_of, findings_only=True, cache_of=cache_of,
    extra_roots=extra_roots)`` gives, in order, when the findings cache holds the answer
    for every file (without a recording); ``None`` as soon as a file would be read."""
    outcomes: list[FileOutcome] = []
    held: list[tuple[int, Decision | None]] = []
    follows = _follows_calls(files, settings_of)
    # Each file's stat, taken once: the decisions depend on the run's files.
    seen = _SeenFiles()
    for file in files:
        cache = cache_of(settings_of(file))
        status = stat_or_none(file.path)
        cached = cache.get(file.path, status) if cache is not None and status is not None else None
        if cached is None or status is None:
            return None
        seen.statuses[str(file.path)] = (status.st_mtime_ns, status.st_size)  # as the cache was asked
        result = TransformResult(b"", b"", list(cached.findings), cached.error, wanted=cached.wanted,
                                 pending=cached.pending)
        if follows and (result.wanted or result.pending) and result.error is None:
            held.append((len(outcomes), cached.decision))  # decided over other modules (``_run_project``)
        outcomes.append(FileOutcome(file, result))
    if held:
        locator, _ = _locate(files, extra_roots)
        for position, decision in held:
            file, result = outcomes[position].file, outcomes[position].result
            stored = _still_decided(decision, locator, seen)
            if stored is None:
                return None
            outcomes[position] = FileOutcome(file, replace(result, findings=stored))
    return outcomes


def _follows_calls(files: Sequence[SourceFile], settings_of: Callable[[SourceFile], Settings]) -> bool:
    """Whether calls of project functions are followed across modules (LS301) for any file."""
    return any(settings_of(file).allows("LS301") for file in files)


def _locate(files: Sequence[SourceFile], extra_roots: Iterable[Path]) -> tuple[ModuleLocator, dict[Path, tuple[str, bool]]]:
    """Where the run's modules are found (the folders of its files' top packages, then
    ``extra_roots``), and each file's module name and whether it is a package."""
    locator = ModuleLocator()
    names: dict[Path, tuple[str, bool]] = {}
    for file in files:
        name, package, root = module_name_of(file.path, locator.folders)
        names[file.path] = (name, package)
        locator.add_root(root)
    for root in extra_roots:
        locator.add_root(root)
    return locator, names


def _in_order(files: Sequence[SourceFile], outcomes: Iterable[FileOutcome]) -> Iterator[FileOutcome]:
    """``outcomes`` in the order of ``files``, each as soon as those before it are out:
    which files are held for other modules differs between a cold and a warm run, and
    the output must not."""
    position: dict[Path, int] = {}
    for file in files:
        position.setdefault(file.path, len(position))
    waiting: dict[int, FileOutcome] = {}
    next_out = 0
    for outcome in outcomes:
        index = position.get(outcome.file.path)
        if index is None or index < next_out or index in waiting:
            yield outcome  # not one of the files (or given twice): nothing to wait for
            continue
        waiting[index] = outcome
        while next_out in waiting:
            yield waiting.pop(next_out)
            next_out += 1
    for index in sorted(waiting):
        yield waiting[index]


def _run_project(
    files: Sequence[SourceFile], settings_of: Callable[[SourceFile], Settings], jobs: int, findings_only: bool,
    cache_of: Callable[[Settings], FindingsCache | None], locator: ModuleLocator, names: dict[Path, tuple[str, bool]],
    pool: WorkerPool | None, observed_of: ObservedOf,
) -> Iterator[FileOutcome]:
    import gc

    from codemods.analysis.modules import ModuleName, ProjectView
    from codemods.summaries import ProjectSummaries, Reread, call_of

    first_views = {
        path: ProjectView(ModuleName(name, package), others={}, summarise=True)
        for path, (name, package) in names.items()
    }
    summaries: dict[str, Known] = {}
    held: list[FileOutcome] = []

    def observed(file: SourceFile) -> bool:
        """Whether the file's analysis was told what a recording saw in it: its findings
        (and their decision) are not the cache's to keep, nor to give."""
        recording = observed_of(settings_of(file))
        return recording is not None and recording.applied(file.path)

    for outcome in run(files, settings_of, jobs, findings_only, cache_of, lambda file: first_views[file.path], pool,
                       observed_of):
        result = outcome.result
        if result.summary is not None:
            from codemods.analysis.helpers import ModuleSummary

            name = names[outcome.file.path][0]
            summaries[name] = ModuleSummary.from_json(
                result.summary, compute=Reread(outcome.file.path, settings_of(outcome.file), name)
            )
        if (result.wanted or result.pending) and result.error is None:
            held.append(outcome)
        else:
            yield outcome
    if not held:
        return
    undecided: list[FileOutcome] = []
    seen = _SeenFiles()
    for outcome in held:
        stored = (
            _stored_decision(outcome.file, settings_of, cache_of, locator, seen)
            if findings_only and not observed(outcome.file) else None
        )
        if stored is not None:
            yield FileOutcome(outcome.file, replace(outcome.result, findings=stored))
        else:
            undecided.append(outcome)
    if not undecided:
        return
    paths = {name: path for path, (name, _) in names.items()}
    index = ProjectSummaries(summaries, locator, settings_of, cache_of, paths)
    # The trees read here are garbage at once: collections would only cost time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if pool is not None:
            index.prefetch([_wanted(outcome.result, call_of) for outcome in undecided], pool)
        decided = [(outcome, _decide(index, names[outcome.file.path][0], outcome)) for outcome in undecided]
    finally:
        if collecting:
            gc.enable()
    second_views: dict[Path, ProjectView] = {}
    again: list[SourceFile] = []
    decisions: dict[Path, Decided] = {}
    for outcome, decision in decided:
        if isinstance(decision, FileOutcome):
            yield decision
            continue
        name, package = names[outcome.file.path]
        if decision.again is None or (
            findings_only and not outcome.result.wanted and not decision.typed
            and not _fix_text_may_change(outcome.result, decision)
        ):
            # Nothing blocks through other modules, or (for findings only) the module's own
            # analysis left nothing to do but finish the findings of its calls.
            result = outcome.result if decision.findings is None else replace(outcome.result, findings=decision.findings)
            if not observed(outcome.file):
                _store_decision(outcome.file, result.findings, decision, settings_of, cache_of, findings_only)
            yield FileOutcome(outcome.file, result)
            continue
        others = {module: summary for module, summary in decision.again.items() if module != name}
        second_views[outcome.file.path] = ProjectView(
            ModuleName(name, package), others=others, digest=_digest(others, decision.scanned), complete=True,
            scanned=decision.scanned,
        )
        again.append(outcome.file)
        decisions[outcome.file.path] = decision
    for outcome in run(again, settings_of, jobs, findings_only, cache_of, lambda file: second_views[file.path], pool,
                       observed_of):
        if outcome.result.error is None and not observed(outcome.file):
            _store_decision(outcome.file, outcome.result.findings, decisions[outcome.file.path], settings_of,
                            cache_of, findings_only)
        yield outcome


def _decide(index: ProjectSummaries, name: str, outcome: FileOutcome) -> Decided | FileOutcome:
    """The held ``outcome`` decided over the project's summaries; a bug of loopsafe's met
    there is the file's error (the run goes on), not a traceback."""
    from codemods.engine import internal_error

    try:
        return index.decide(name, outcome.result)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - see the docstring
        source = outcome.result.source
        return FileOutcome(outcome.file, TransformResult(source, source, error=internal_error(error, str(outcome.file.path))))


def _fix_text_may_change(result: TransformResult, decision: Decided) -> bool:
    """Whether a finding's message may quote a call of a project function found fixable
    only now (``Path(data_dir()).resolve`` offloaded, ``data_dir()`` in it offloaded too):
    the module's own analysis wrote it without that rewrite, so it looks again, as ``fix``
    and a file given on stdin do."""
    found = decision.findings or []
    return len(found) > 1 and any(finding.fixable and finding not in result.findings for finding in found)


def _stored_decision(
    file: SourceFile, settings_of: Callable[[SourceFile], Settings],
    cache_of: Callable[[Settings], FindingsCache | None], locator: ModuleLocator,
    seen: _SeenFiles,
) -> list[Finding] | None:
    """The findings decided for ``file`` by an earlier run, if nothing they depend on
    changed (``seen``: the files' stats, taken once for all held files)."""
    cache = cache_of(settings_of(file))
    status = stat_or_none(file.path)
    cached = cache.get(file.path, status) if cache is not None and status is not None else None
    return _still_decided(cached.decision, locator, seen) if cached is not None else None


def _still_decided(decision: Decision | None, locator: ModuleLocator, seen: _SeenFiles) -> list[Finding] | None:
    """The findings of ``decision``, if nothing they depend on changed."""
    if decision is None or not seen.hold(decision.depends):
        return None
    if any(locator.locate(name) is not None for name in decision.absent):
        return None  # a module that was not the project's is now
    return decision.findings


class _SeenFiles:
    """The files stored decisions depend on, as a run sees them: each one's modification
    time and size, taken once, and the stamps found to hold (decisions share most)."""

    def __init__(self) -> None:
        self.statuses: dict[str, tuple[int, int] | None] = {}
        self._holding: set[Stamp] = set()

    def status(self, path: str) -> tuple[int, int] | None:
        if path not in self.statuses:
            try:
                now = os.stat(path)
                self.statuses[path] = (now.st_mtime_ns, now.st_size)
            except OSError:
                self.statuses[path] = None
        return self.statuses[path]

    def hold(self, stamps: frozenset[Stamp]) -> bool:
        """Whether every file is as ``stamps`` saw it."""
        for stamp in stamps - self._holding:
            path, mtime, size = stamp
            if self.status(path) != (mtime, size):
                return False
            self._holding.add(stamp)
        return True


def _store_decision(
    file: SourceFile, findings: list[Finding], decided: Decided, settings_of: Callable[[SourceFile], Settings],
    cache_of: Callable[[Settings], FindingsCache | None], findings_only: bool,
) -> None:
    from codemods.cache import Decision

    cache = cache_of(settings_of(file))
    if cache is not None and findings_only:
        depends = frozenset((path, mtime, size) for path, (mtime, size) in decided.depends.items())
        cache.put_decision(file.path, Decision(depends, decided.absent, list(findings)))


def _wanted(result: TransformResult, call_of: Callable[[Any], HelperCall]) -> frozenset[str]:
    """Every call of a project function the result waits on, as ``encode_step`` writes it."""
    from codemods.analysis.finder import encode_step

    return result.wanted | {encode_step(tuple(call_of(call).step)) for call in result.pending}


def _digest(others: dict[str, ModuleSummary], scanned: dict[str, tuple[str, ...]]) -> str:
    document = json.dumps([sorted((name, summary.to_json()) for name, summary in others.items()), scanned],
                          sort_keys=True)
    return hashlib.sha256(document.encode()).hexdigest()[:20]


__all__ = ["ModuleLocator", "cached_outcomes", "module_name_of", "run_project"]

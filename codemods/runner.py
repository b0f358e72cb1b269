"""Files in, results out: discovery, parallel transforms, safe writes and diffs.

The runner never raises for a bad file: each problem becomes a ``FileError`` attached to
that file, and the other files are processed as usual.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from codemods.config import Settings
from codemods.findings import FileError, TransformResult

# What only some runs need is imported where it is used (the pool of workers, writing,
# diffs, recordings): a check answered from the findings cache walks, stats and prints.
TYPE_CHECKING = False  # as typing's, which a check answered from the cache does not import
if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor
    from typing import Any, Callable, Iterable, Iterator, Sequence

    from codemods.analysis.modules import ProjectView
    from codemods.cache import FindingsCache
    from codemods.observed import Observations, ObservedSite

    #: The project around a file (``codemods.project``): ``None`` for a file on its own.
    ViewOf = Callable[["SourceFile"], "ProjectView | None"]
    #: The recording that applies to files of these settings (``--observed``), if any.
    ObservedOf = Callable[[Settings], "ObservedRun | None"]

# The engine (ast, libcst, the analyses) is imported on first use: a run answered from
# the findings cache never loads it.

#: Folders never walked into: VCS data, caches, virtualenvs, vendored JS.
SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".bzr", "__pycache__", "node_modules", ".venv", "venv",
        ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs",
        "site-packages", "__pypackages__", "build", "dist",
    }
)


@dataclass(frozen=True)
class SourceFile:
    """A file to process: the path as shown to the user and the real path to write."""

    display: str
    path: Path


@dataclass(frozen=True)
class FileOutcome:
    file: SourceFile
    result: TransformResult


def skipped_by_default(folder: str) -> bool:
    """Folders a walk skips unless told (``include``): version control, virtualenvs,
    caches, build output."""
    name = os.path.basename(folder)
    return name in SKIPPED_DIRS or name.endswith(".egg-info") or os.path.exists(os.path.join(folder, "pyvenv.cfg"))


def discover(
    paths: Iterable[Path],
    skipped: Callable[[str, bool], bool],
    cwd: Path,
    excluded: list[str] | None = None,
    named_skipped: Callable[[str, bool], bool] | None = None,
) -> tuple[list[SourceFile], list[tuple[str, FileError]]]:
    """The ``*.py`` files under ``paths``, sorted and de-duplicated, and the paths that failed.

    ``skipped`` says, for an absolute path met by a walk and whether it is a folder, whether
    the walk skips it (a folder skipped is not entered). The paths named in ``paths`` are
    taken as given, but those ``named_skipped`` skips (``--force-exclude``), which are
    appended to ``excluded`` for the caller to count.

    Symlinks met while walking are not followed, so a link loop cannot hang the walk and
    no file is reached twice. A folder is resolved once: what the walk meets below it is
    real already (no symlink is entered), so a large tree costs one ``stat`` per entry
    and string joins, not a ``realpath`` per file.
    """
    found: dict[str, SourceFile] = {}
    errors: list[tuple[str, FileError]] = []
    cwd_prefix = str(cwd) + os.sep

    def add(real: str, shown: str) -> None:
        if real not in found:
            display = real[len(cwd_prefix):].replace(os.sep, "/") if real.startswith(cwd_prefix) else shown
            found[real] = SourceFile(display, Path(real))

    for given in paths:
        shown = str(given)
        if given.is_symlink() and not given.exists():
            errors.append((shown, FileError("broken symbolic link")))
        elif not given.exists():
            errors.append((shown, FileError("no such file or directory")))
        elif (given.is_file() or given.is_dir()) and named_skipped is not None \
                and named_skipped(str(given.absolute()), given.is_dir()):
            if excluded is not None:
                excluded.append(shown)
        elif given.is_file():
            add(str(given.resolve()), shown)
        elif given.is_dir():
            _walk(str(given), str(given.resolve()), str(given.absolute()), skipped, add)
        else:
            errors.append((shown, FileError("not a regular file or directory")))
    return sorted(found.values(), key=lambda f: f.display), errors


def _walk(top: str, real_top: str, absolute_top: str, skipped: Callable[[str, bool], bool],
          add: Callable[[str, str], None]) -> None:
    """``add(real path, path as walked)`` for each regular ``*.py`` file under the folder
    ``top`` (``real_top`` resolved, ``absolute_top`` absolute) that ``skipped`` keeps, as
    ``os.walk`` walks: a folder's subfolders asked about, then its files, then each
    subfolder in name order. Symbolic links are neither walked into nor taken; what
    ``os.scandir`` says of an entry saves a ``stat`` per file."""
    waiting = [(top, real_top, absolute_top)]
    while waiting:
        folder, real_folder, absolute_folder = waiting.pop()
        folders: list[os.DirEntry[str]] = []
        files: list[os.DirEntry[str]] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        is_folder = entry.is_dir()
                    except OSError:
                        is_folder = False
                    (folders if is_folder else files).append(entry)
        except OSError:
            continue  # unreadable: nothing under it, as os.walk
        walked = sorted(
            (entry for entry in folders
             if not _is_link(entry) and not skipped(os.path.join(absolute_folder, entry.name), True)),
            key=lambda entry: entry.name,
        )
        for entry in files:
            name = entry.name
            if (name.endswith(".py") and _is_regular_file(entry)
                    and not skipped(os.path.join(absolute_folder, name), False)):
                add(os.path.join(real_folder, name), entry.path)
        waiting.extend(
            (entry.path, os.path.join(real_folder, entry.name), os.path.join(absolute_folder, entry.name))
            for entry in reversed(walked)
        )


def _is_link(entry: os.DirEntry[str]) -> bool:
    """``os.path.islink``: ``False`` when it cannot be told."""
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _is_regular_file(entry: os.DirEntry[str]) -> bool:
    """A file and no symbolic link (``os.path.isfile`` and not ``islink``); ``False``
    when it cannot be told."""
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def stat_or_none(path: Path) -> os.stat_result | None:
    """The file's status, or ``None`` if it cannot be had."""
    try:
        return os.stat(path)
    except OSError:
        return None


def read_source(path: Path) -> bytes | FileError:
    try:
        return path.read_bytes()
    except OSError as error:
        return FileError(f"cannot read: {error.strerror or error}", transient=True)


def process_file(
    path: Path, settings: Settings, findings_only: bool = False, view: ProjectView | None = None,
    observed: ObservedRun | None = None,
) -> TransformResult:
    """``path`` read and transformed; ``observed``: the recording, whose sites in the file
    as read are put on ``view``."""
    from codemods.engine import transform_source

    source = read_source(path)
    if isinstance(source, FileError):
        return TransformResult(b"", b"", error=source)
    sites = observed.sites(path, source) if observed is not None else ()
    return transform_source(source, settings, str(path), findings_only, with_observed(view, sites))


# -- what a recording saw --------------------------------------------------------------


class ObservedRun:
    """What a recording (``loopsafe record``) tells the analyses of a run's files: the
    sites observed in each file as it is now, and, for the summary, what became of them
    (the modules given their sites, those dropped because they changed since)."""

    def __init__(self, observations: Observations, path: Path, cwd: Path | None = None) -> None:
        self.observations = observations
        #: The observations file, for messages.
        self.path = path
        self.cwd = cwd or Path.cwd()
        self._keys: dict[str, str | None] = {}
        #: Each recorded module a file of the run is: the sites given to its analysis, or
        #: ``None`` when it changed since the recording.
        self._seen: dict[str, tuple[ObservedSite, ...] | None] = {}

    def key_of(self, path: Path | str) -> str | None:
        """The recorded module the file ``path`` is, if it is one."""
        text = str(path)
        if text not in self._keys:
            self._keys[text] = self.observations.key_of(text, self.cwd)
        return self._keys[text]

    def covers(self, path: Path | str) -> bool:
        """Whether the file ``path`` is a recorded module (its analysis may get sites:
        whether it does depends on its text, which the findings cache does not hold)."""
        return self.key_of(path) is not None

    def sites(self, path: Path | str, source: bytes) -> tuple[ObservedSite, ...]:
        """The sites observed in the file ``path`` whose text is ``source`` (none when
        the module changed since the recording)."""
        key = self.key_of(path)
        if key is None:
            return ()
        sites = self.observations.sites_for(key, source)
        self._seen[key] = sites
        return sites or ()

    def applied(self, path: Path | str) -> bool:
        """Whether the last analysis of the file ``path`` was given sites."""
        key = self.key_of(path)
        return key is not None and bool(self._seen.get(key))

    def summary(self) -> list[str]:
        """What became of the observations, for the run's summary on stderr."""
        used = [sites for sites in self._seen.values() if sites]
        stale = {key for key, sites in self._seen.items() if sites is None}
        lines = []
        if used:
            count = sum(map(len, used))
            lines.append(f"{_count(count, 'observed site')} in {_count(len(used), 'module')} given to the analysis "
                         f"(from {self.path})")
        elif not stale and self.observations.sites:
            lines.append(f"none of the {_count(len(self.observations.modules), 'module')} recorded in {self.path} "
                         f"is among the files checked (recorded in {self.observations.root})")
        if stale:
            dropped = sum(1 for site in self.observations.sites if site.path in stale)
            lines.append(f"{_count(dropped, 'observed site')} in {_count(len(stale), 'module')} dropped: "
                         "changed since recorded; record again")
        return lines


def _count(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def with_observed(view: ProjectView | None, sites: tuple[ObservedSite, ...]) -> ProjectView | None:
    """``view`` (``None``: the module alone) told where a recording saw it stall the loop."""
    if not sites:
        return view
    from dataclasses import replace

    from codemods.analysis.modules import ProjectView

    return replace(view if view is not None else ProjectView(), observed=sites)


#: The observations files a long-running front (fixit, the language server) has read,
#: by path: (size and mtime when read, what they hold).
_OBSERVED_FILES: dict[Path, tuple[tuple[int, int], ObservedRun]] = {}


def observed_in(path: Path) -> ObservedRun:
    """The observations in ``path``, read again only when the file changed (a new
    recording). Raises ``ObservedError`` naming the file."""
    try:
        status = path.stat()
        stamp = (status.st_mtime_ns, status.st_size)
    except OSError:
        stamp = (-1, -1)  # ``load`` says why it cannot be read
    known = _OBSERVED_FILES.get(path)
    if known is None or known[0] != stamp:
        from codemods.observed import load as load_observations

        known = _OBSERVED_FILES[path] = (stamp, ObservedRun(load_observations(path), path))
    return known[1]


#: Results kept waiting for a slow file ahead of them, at most (``run``).
MAX_WAITING = 256


def run(
    files: Sequence[SourceFile], settings_of: Callable[[SourceFile], Settings], jobs: int = 1,
    findings_only: bool = False, cache_of: Callable[[Settings], FindingsCache | None] = lambda settings: None,
    view_of: ViewOf = lambda file: None, pool: WorkerPool | None = None,
    observed_of: ObservedOf = lambda settings: None,
) -> Iterator[FileOutcome]:
    """Transform ``files``, each with its own settings (``settings_of``: those of its
    nearest pyproject.toml); outcomes are streamed in the order of ``files``.

    With a cache for a file's settings (``cache_of``), a file whose size and modification time match a stored entry is not
    read at all when only findings are wanted, or when none of them is fixable (nothing
    to rewrite); the findings of the other files are stored. The caller saves the cache.

    With ``jobs > 1``, files are read and prefiltered here and only those with a
    coroutine go to worker processes. A bounded window of work is in flight (at most
    ``16 * jobs`` files in the workers (fewer leave a worker idle behind one big file), ``MAX_WAITING`` results waiting to be yielded in
    order), so memory stays bounded whatever the number of files. The window counts
    files sent to workers, not files the prefilter skipped: one slow file at the head
    must not leave the other workers idle.

    With a recording for a file's settings (``observed_of``), the sites it saw in the
    file, as read, go on its view. A file the recording covers is read whatever the
    cache holds (whether its observations still apply depends on its text), and what it
    gives with sites is not stored: the cache holds what the code alone says.
    """
    # Files read this run, by the status taken before reading: their findings are stored.
    statuses: dict[Path, os.stat_result] = {}

    def known(file: SourceFile) -> TransformResult | None:
        """The cached result, if the cache holds one that makes reading the file useless."""
        settings = settings_of(file)
        cache = cache_of(settings)
        if cache is None:
            return None
        try:
            status = file.path.stat()
        except OSError:
            return None
        observed = observed_of(settings)
        if observed is not None and observed.covers(file.path):
            statuses[file.path] = status  # stored if the recording has nothing for it now
            return None
        cached = cache.get(file.path, status)
        view = view_of(file)
        digest = view.digest if view is not None and view.complete else None
        if cached is not None and digest is not None:
            # A second look with other modules' summaries: stored under their digest.
            if cached.again is not None and cached.again[0] == digest:
                findings = cached.again[1]
                if findings_only or not any(f.fixable for f in findings):
                    return TransformResult(b"", b"", list(findings))
        elif cached is not None:
            findings, error = cached.findings, cached.error
            if findings_only or error is not None or not any(f.fixable for f in findings):
                return TransformResult(b"", b"", list(findings), error, wanted=cached.wanted, pending=cached.pending)
        statuses[file.path] = status
        return None

    def remember(file: SourceFile, result: TransformResult) -> FileOutcome:
        status = statuses.pop(file.path, None)
        settings = settings_of(file)
        cache = cache_of(settings) if status is not None else None
        observed = observed_of(settings) if cache is not None else None
        if observed is not None and observed.applied(file.path):
            cache = None  # findings with what the recording saw
        if cache is not None and status is not None:
            view = view_of(file)
            if view is not None and view.complete:
                cache.put_again(file.path, status, view.digest, result.findings)
            else:
                pending = tuple(call.to_json() if hasattr(call, "to_json") else call for call in result.pending)
                cache.put(file.path, status, result.findings, result.error, result.wanted, pending)
                if result.summary is not None:
                    cache.put_summary(file.path, status, result.summary)
        return FileOutcome(file, result)

    if jobs <= 1:
        for file in files:
            cached = known(file)
            yield remember(
                file,
                cached if cached is not None
                else process_file(file.path, settings_of(file), findings_only, view_of(file),
                                  observed_of(settings_of(file))),
            )
        return
    from collections import deque
    from concurrent.futures import Future

    in_flight_limit = 16 * jobs
    in_flight = 0
    pending: deque[tuple[SourceFile, TransformResult | Future[TransformResult]]] = deque()
    given = pool
    executor: ProcessPoolExecutor | None = None
    pool_settings: Settings | None = None
    try:
        for position, file in enumerate(files):
            item: TransformResult | Future[TransformResult] | None = known(file)
            if item is None:
                from codemods.engine import needs_transform

                source = read_source(file.path)
                observed = observed_of(settings_of(file))
                sites = observed.sites(file.path, source) if observed is not None and isinstance(source, bytes) else ()
                if isinstance(source, FileError):
                    item = TransformResult(b"", b"", error=source)
                elif not needs_transform(source) and not sites:
                    item = TransformResult(source, source)
                elif executor is None and (given is None or not given.started) and position == len(files) - 1:
                    # The only file to parse: starting workers would cost more than it.
                    from codemods.engine import transform_source

                    item = transform_source(
                        source, settings_of(file), str(file.path), findings_only, with_observed(view_of(file), sites)
                    )
                else:
                    if executor is None:
                        # No more workers than files left to look at.
                        pool_settings = settings_of(file)
                        executor = (given or WorkerPool(min(jobs, len(files) - position), findings_only)).start(
                            pool_settings
                        )
                        pool_settings = given.settings if given is not None else pool_settings
                    # The workers hold the settings of the first file; others travel with the file.
                    own = settings_of(file)
                    item = executor.submit(
                        _transform_in_worker, source, str(file.path), None if own is pool_settings else own,
                        with_observed(view_of(file), sites),
                    )
                    in_flight += 1
            pending.append((file, item))
            while pending and (
                in_flight > in_flight_limit or len(pending) > MAX_WAITING or _ready(pending[0][1])
            ):
                file_done, item_done = pending.popleft()
                in_flight -= isinstance(item_done, Future)
                yield remember(file_done, _result(item_done))
        while pending:
            file_done, item_done = pending.popleft()
            yield remember(file_done, _result(item_done))
    finally:
        if executor is not None and given is None:
            executor.shutdown(cancel_futures=True)


def _ready(item: TransformResult | Future[TransformResult]) -> bool:
    from concurrent.futures import Future

    return not isinstance(item, Future) or item.done()


def _result(item: TransformResult | Future[TransformResult]) -> TransformResult:
    from concurrent.futures import Future

    return item.result() if isinstance(item, Future) else item


class WorkerPool:
    """Worker processes started on first use and kept for several ``run`` calls (the
    project's second look, ``codemods.project``); the caller shuts them down."""

    def __init__(self, jobs: int, findings_only: bool) -> None:
        self.jobs = jobs
        self.findings_only = findings_only
        self.settings: Settings | None = None
        self._executor: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        return self._executor is not None

    def start(self, settings: Settings) -> ProcessPoolExecutor:
        """The workers, started with ``settings`` (what files without their own use) if not yet."""
        if self._executor is None:
            from concurrent.futures import ProcessPoolExecutor

            self.settings = settings
            self._executor = ProcessPoolExecutor(
                max_workers=self.jobs, initializer=_warm_up, initargs=(settings, self.findings_only)
            )
        return self._executor

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None


#: What every file of a run is processed with, in a worker (``_warm_up``): sent once, not
#: with each file (the settings hold the whole catalog).
_worker_job: tuple[Settings, bool] | None = None


def _warm_up(settings: Settings, findings_only: bool) -> None:
    """Worker start-up: keep the run's settings, import what the work needs before the
    first file arrives (libcst, ~0.4 s, only to rewrite), and make the garbage collector
    rare: the trees of a file have no reference cycles and go with their file, so the
    collections that their millions of allocations would trigger only cost time (~15% of
    a parse)."""
    import gc

    global _worker_job
    _worker_job = (settings, findings_only)

    gc.set_threshold(100_000, 50, 50)
    if findings_only:
        import codemods.analysis.finder  # noqa: F401
    else:
        import codemods.rewrite.apply  # noqa: F401


def _transform_in_worker(
    source: bytes, path: str, settings: Settings | None = None, view: ProjectView | None = None
) -> TransformResult:
    from codemods.engine import transform_source

    assert _worker_job is not None, "the worker was not started by run()"
    default, findings_only = _worker_job
    return transform_source(source, settings or default, path, findings_only, view)


def _summarise_in_worker(
    path: str, name: str, package: bool, wanted: list[str], settings: Settings | None = None
) -> Any:
    """A module's summary as JSON data for another process (``codemods.project``), with
    the facts read of the functions ``wanted`` names and of those they call in it."""
    from codemods.engine import summarise_source

    assert _worker_job is not None, "the worker was not started by run()"
    source = read_source(Path(path))
    if isinstance(source, FileError) or b"\0" in source:
        return None
    summary = summarise_source(source, settings or _worker_job[0], name, package)
    return None if summary is None else summary.read_for(wanted).to_json()


def default_jobs() -> int:
    return os.cpu_count() or 1


# -- writing ---------------------------------------------------------------------------


class ChangedOnDisk(Exception):
    """The file changed between reading it and writing the rewrite."""


class ReadOnlyFile(Exception):
    """The file has no write permission bit: its owner marked it not to be changed."""


_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def write_atomically(path: Path, data: bytes, expected_current: bytes) -> None:
    """Replace ``path`` with ``data`` so that it is always either old or new, as black does.

    The new bytes go to a temporary file in the same folder, which gets the old file's
    permission bits, owner and group, is flushed to disk, and then ``os.replace`` swaps it
    in. Where a rename would lose something, the file is rewritten in place instead (not
    atomic): when it has other hard links (a new inode would leave them with the old
    code), when its owner or group cannot be given to a new file (not running as root),
    or when the folder allows no new file. Refuses (``ChangedOnDisk``) when the file no
    longer holds ``expected_current``, and (``ReadOnlyFile``) a file with no write
    permission bit, even as root.
    """
    if path.read_bytes() != expected_current:
        raise ChangedOnDisk(f"{path} changed on disk while loopsafe was running")
    status = path.stat()
    if not status.st_mode & _WRITE_BITS:
        raise ReadOnlyFile(f"{path} is read-only")
    if status.st_nlink > 1:
        _write_in_place(path, data)
        return
    import tempfile

    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".loopsafe")
    except PermissionError:
        _write_in_place(path, data)  # a folder that allows no new file, the file itself writable
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not _same_owner(temporary, status):
            os.unlink(temporary)
            _write_in_place(path, data)
            return
        os.chmod(temporary, stat.S_IMODE(status.st_mode))
        os.replace(temporary, path)
    except BaseException:
        # Whatever stopped us (an error or Ctrl-C), the original stays in place.
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def _same_owner(temporary: str, status: os.stat_result) -> bool:
    """Give ``temporary`` the owner and group in ``status``; whether it has them now."""
    current = os.stat(temporary)
    if (current.st_uid, current.st_gid) == (status.st_uid, status.st_gid):
        return True
    try:
        os.chown(temporary, status.st_uid, status.st_gid)
    except (PermissionError, AttributeError):  # another user's file; no chown on Windows
        return False
    return True


def _write_in_place(path: Path, data: bytes) -> None:
    """Overwrite the file's bytes, keeping its inode (hard links, owner, group, mode)."""
    with path.open("r+b") as handle:
        handle.write(data)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())


# -- diffs -----------------------------------------------------------------------------


def decode_source(data: bytes) -> str:
    """Text of a Python source, honouring a BOM or coding cookie (as Python does)."""
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return data.decode("utf-8", errors="replace")


_NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(before: bytes, after: bytes, display: str) -> str:
    """A ``git apply``-able unified diff, ``a/`` and ``b/`` prefixed (a path outside the
    current directory is shown as it is, without prefixes, for ``patch -p0``)."""
    import difflib

    old_lines = _lines(decode_source(before))
    new_lines = _lines(decode_source(after))
    old_name, new_name = (display, display) if Path(display).is_absolute() else (f"a/{display}", f"b/{display}")
    out: list[str] = []
    for line in difflib.unified_diff(old_lines, new_lines, old_name, new_name):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n" + _NO_NEWLINE)
    return "".join(out)


def line_map(before: bytes, after: bytes) -> Callable[[int], int]:
    """Where each line of ``before`` is in ``after`` (1-based), by a line diff: an unchanged
    line exactly; a changed or removed one, at the start of what replaced it (as near as
    the diff tells)."""
    import bisect
    import difflib

    old_lines = _lines(decode_source(before))
    new_lines = _lines(decode_source(after))
    blocks = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False).get_opcodes()
    starts = [first for _, first, _, _, _ in blocks]

    def where(line: int) -> int:
        index = max(bisect.bisect_right(starts, line - 1) - 1, 0)
        tag, first, _, new_first, new_last = blocks[index]
        offset = line - 1 - first
        if tag != "equal":
            offset = max(min(offset, new_last - new_first - 1), 0)
        return max(min(new_first + offset + 1, len(new_lines)), 1)

    return where


def _lines(text: str) -> list[str]:
    """Lines with their endings, split only at ``\n``, ``\r\n`` and ``\r`` as Python
    and patch tools do: ``str.splitlines`` also splits at form feeds and other
    separators, which would corrupt the diff of a file holding one."""
    return io.StringIO(text, newline="").readlines()


__all__ = [
    "ChangedOnDisk",
    "FileOutcome",
    "ObservedRun",
    "SourceFile",
    "decode_source",
    "default_jobs",
    "discover",
    "observed_in",
    "process_file",
    "run",
    "line_map",
    "unified_diff",
    "with_observed",
    "write_atomically",
]

"""The findings cache: a file whose size and modification time are unchanged is not read.

One JSON file per *fingerprint* in the cache folder (``.loopsafe_cache/`` beside the
project's ``pyproject.toml``, else in the current directory; ``--cache-dir`` or
``LOOPSAFE_CACHE_DIR`` elsewhere, ``--no-cache`` for none). The fingerprint covers what
findings depend on besides the file: loopsafe's own code (a hash of the package's
sources, so a new version or a local edit starts afresh), the Python version (its
grammar) and the settings that change findings. Each entry maps a file's resolved path to
``(mtime_ns, size, findings)``, like ruff's cache.

Safe under concurrent runs: the file is written to a temporary file and swapped in with
``os.replace``, merged with what another run saved meanwhile, so a reader sees an old or
a new cache, never half of one. A file modified in the last seconds before the run is
not stored (its timestamp could be reused by an edit right after: git's "racily clean"
problem). The cache never fails a run: a folder that cannot be read or written means no
cache, silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import astuple, dataclass, fields, replace
from functools import cached_property, lru_cache
from pathlib import Path

from codemods.config import Settings
from codemods.findings import FileError, Finding

TYPE_CHECKING = False  # as typing's, which a check answered from the cache does not import
if TYPE_CHECKING:
    from typing import Any

#: The cache folder's name, beside the project's ``pyproject.toml``.
CACHE_DIR_NAME = ".loopsafe_cache"
ENVIRONMENT_VARIABLE = "LOOPSAFE_CACHE_DIR"
#: Files modified this close to the start of the run are not stored.
RACY_SECONDS = 2.0

#: A file as a decision saw it: its path, modification time in ns and size.
Stamp = tuple[str, int, int]


@dataclass(frozen=True)
class Decision:
    """The findings of a file whose calls were decided with other modules' summaries
    (``codemods.project``), and what they depend on: the files of those modules as they
    were (a decision often depends on most of the project's files: a set, which a run
    compares with the stamps it checked once), and the module names that were not the
    project's."""

    depends: frozenset[Stamp]
    absent: tuple[str, ...]
    findings: list[Finding]


@dataclass(frozen=True)
class Cached:
    """What a file gave, stored: its findings, the error that stopped it if one did, and
    for the project index (``codemods.project``) the calls it wants decided with other
    modules (``wanted``, ``pending``: ``HelperCall.to_json()`` data); ``again``: the
    findings of a second look, under the digest of the summaries it was given;
    ``decision``: the findings once decided, for ``check``."""

    findings: list[Finding]
    error: FileError | None = None
    wanted: frozenset[str] = frozenset()
    again: tuple[str, list[Finding]] | None = None
    pending: tuple[Any, ...] = ()
    decision: Decision | None = None


#: (mtime in ns, size, what the file gave).
_Entry = tuple[int, int, Cached]


def default_cache_dir(root: Path) -> Path:
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(configured) if configured else root / CACHE_DIR_NAME


def fingerprint(settings: Settings) -> str:
    """What findings depend on besides the file's bytes."""
    digest = hashlib.sha256(_code_digest())
    relevant = (settings.native_sleep, settings.ignore, settings.extra, settings.target_version, sorted(settings.codes),
                settings.non_blocking, settings.declared)
    digest.update(repr(relevant).encode())
    return digest.hexdigest()[:20]


@lru_cache(maxsize=None)
def _code_digest() -> bytes:
    """loopsafe's own code (the catalog, the analyses: every source of the package) and
    the Python running it (its grammar)."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for source in sorted(package.rglob("*.py")):  # the subpackages' code too
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    digest.update(sys.version.encode())
    return digest.digest()


class FindingsCache:
    """Findings of unchanged files, loaded once and saved once per run."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.folder = folder
        self.path = folder / f"findings-{fingerprint(settings)}.json"
        self._started = time.time()
        self._new: dict[str, _Entry] = {}
        self._new_summaries: dict[str, tuple[int, int, Any]] = {}

    # Each file is read when first needed: the fixit rule and the language server ask only
    # for summaries.

    @cached_property
    def _entries(self) -> dict[str, _Entry]:
        return self._load()

    @cached_property
    def _summaries(self) -> dict[str, tuple[int, int, Any]]:
        """Module summaries for the project index: path -> (mtime, size, summary), in a
        file of their own."""
        return self._load_summaries()

    def _load_summaries(self) -> dict[str, tuple[int, int, Any]]:
        try:
            document = json.loads(self.path.with_suffix(".summaries.json").read_bytes())
            return {path: (mtime, size, summary) for path, (mtime, size, summary) in document.items()}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def get_summary(self, path: Path, status: os.stat_result) -> tuple[bool, Any]:
        """``(found, summary)``: a module's summary for the project index (JSON data)."""
        entry = self._summaries.get(str(path))
        if entry is None or entry[0] != status.st_mtime_ns or entry[1] != status.st_size:
            return False, None
        return True, entry[2]

    def put_summary(self, path: Path, status: os.stat_result, summary: Any) -> None:
        """Store a module's summary: JSON data, or an object whose ``to_json()`` is called
        when the cache is saved (it may learn more until then)."""
        if status.st_mtime_ns / 1e9 > self._started - RACY_SECONDS:
            return
        entry = (status.st_mtime_ns, status.st_size, summary)
        self._summaries[str(path)] = entry
        self._new_summaries[str(path)] = entry

    def _load(self) -> dict[str, _Entry]:
        try:
            document = json.loads(self.path.read_bytes())
            # The stamps and the sets of them decisions depend on are stored once each.
            stamps = [(path, mtime, size) for path, mtime, size in document["stamps"]]
            depends = [frozenset(stamps[index] for index in indices) for indices in document["depends"]]
            return {
                path: (mtime, size, Cached(
                    [_finding(finding) for finding in findings], FileError(*error) if error else None,
                    frozenset(wanted), (again[0], [_finding(f) for f in again[1]]) if again else None,
                    tuple(pending),
                    Decision(depends[decision[0]], tuple(decision[1]), [_finding(f) for f in decision[2]])
                    if decision else None,
                ))
                for path, (mtime, size, findings, error, wanted, again, pending, decision)
                in document["files"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return {}  # no cache yet, or one this version cannot read: start afresh

    def get(self, path: Path, status: os.stat_result) -> Cached | None:
        """What ``path`` gave (a syntax error stays one while the file is unchanged), if it
        has not changed since."""
        entry = self._entries.get(str(path))
        if entry is None or entry[0] != status.st_mtime_ns or entry[1] != status.st_size:
            return None
        return entry[2]

    def put(self, path: Path, status: os.stat_result, findings: list[Finding], error: FileError | None = None,
            wanted: frozenset[str] = frozenset(), pending: tuple[Any, ...] = ()) -> None:
        """Store what ``path`` gave as it was when ``status`` was taken (before reading it)."""
        self._store(path, status, Cached(list(findings), error, wanted, pending=pending))

    def put_decision(self, path: Path, decision: Decision) -> None:
        """Store the decided findings of ``path``, if its entry is stored (as it is)."""
        entry = self._entries.get(str(path))
        if entry is not None:
            self._store_entry(path, (entry[0], entry[1], replace(entry[2], decision=decision)))

    def put_again(self, path: Path, status: os.stat_result, digest: str, findings: list[Finding]) -> None:
        """Store the findings of the second look at ``path`` with the summaries of ``digest``."""
        entry = self._entries.get(str(path))
        if entry is not None and entry[0] == status.st_mtime_ns and entry[1] == status.st_size:
            self._store(path, status, replace(entry[2], again=(digest, list(findings))))

    def _store(self, path: Path, status: os.stat_result, cached: Cached) -> None:
        if status.st_mtime_ns / 1e9 > self._started - RACY_SECONDS or (
            cached.error is not None and cached.error.transient
        ):
            return
        self._store_entry(path, (status.st_mtime_ns, status.st_size, cached))

    def _store_entry(self, path: Path, entry: _Entry) -> None:
        self._entries[str(path)] = entry
        self._new[str(path)] = entry

    def save(self) -> None:
        """Write the entries added by this run, merged with the cache as it is on disk now."""
        if self._new_summaries:
            merged_summaries = self._load_summaries()
            merged_summaries.update(self._new_summaries)
            self._write(self.path.with_suffix(".summaries.json"), {
                p: [mtime, size, summary.to_json() if hasattr(summary, "to_json") else summary]
                for p, (mtime, size, summary) in merged_summaries.items()
            })
        if not self._new:
            return
        merged = self._load()
        merged.update(self._new)
        stamps: dict[Stamp, int] = {}
        depends: dict[frozenset[Stamp], int] = {}

        def depends_index(decision: Decision) -> int:
            index = depends.get(decision.depends)
            if index is None:
                index = depends[decision.depends] = len(depends)
                for stamp in decision.depends:
                    stamps.setdefault(stamp, len(stamps))
            return index

        files = {
            path: [mtime, size, [_row(f) for f in c.findings], astuple(c.error) if c.error else None,
                   sorted(c.wanted), [c.again[0], [_row(f) for f in c.again[1]]] if c.again else None,
                   list(c.pending),
                   [depends_index(c.decision), list(c.decision.absent), [_row(f) for f in c.decision.findings]]
                   if c.decision else None]
            for path, (mtime, size, c) in merged.items()
        }
        self._write(self.path, {
            "stamps": [list(stamp) for stamp in stamps],
            "depends": [sorted(stamps[stamp] for stamp in stamp_set) for stamp_set in depends],
            "files": files,
        })

    def _write(self, target: Path, document: Any) -> None:
        write_document(self.folder, target, document)


def write_document(folder: Path, target: Path, document: Any) -> None:
    """``document`` as JSON in ``target``, a file of the cache folder ``folder``, replaced
    atomically; nothing when it cannot be written (a read-only project, a full disk: the
    run goes on without a cache)."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        _mark_cache_folder(folder)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".findings-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, separators=(",", ":"))
            os.replace(temporary, target)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
    except OSError:
        pass


#: What the cache keeps of a finding: what the code says.
#: Not ``cost``, what a recording saw (``--observed``): the cache holds no file analysed
#: with one, and must never give a finding a cost the run's recording did not.
_STORED_FIELDS = tuple(f.name for f in fields(Finding) if f.name != "cost")


def _row(finding: Finding) -> list[Any]:
    return [getattr(finding, name) for name in _STORED_FIELDS]


def _finding(row: list[Any]) -> Finding:
    """The finding ``_row`` stored (a finding's fields, as it had them)."""
    state = dict(zip(_STORED_FIELDS, row))
    state["chain"] = tuple(state["chain"])
    state["cost"] = None
    return Finding.restored(state)


def _mark_cache_folder(folder: Path) -> None:
    """Keep the folder out of git and of backups, as ruff and pytest do with theirs."""
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Created by loopsafe automatically.\n*\n", encoding="utf-8")
    tag = folder / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n"
            "# This file is a cache directory tag created by loopsafe.\n", encoding="utf-8",
        )

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
import tempfile
import time
from dataclasses import astuple
from pathlib import Path
from typing import Any

from codemods.config import Settings
from codemods.findings import FileError, Finding

#: The cache folder's name, beside the project's ``pyproject.toml``.
CACHE_DIR_NAME = ".loopsafe_cache"
ENVIRONMENT_VARIABLE = "LOOPSAFE_CACHE_DIR"
#: Files modified this close to the start of the run are not stored.
RACY_SECONDS = 2.0

#: (mtime in ns, size, findings, the error that stopped the file, if one did).
_Entry = tuple[int, int, list[Finding], FileError | None]


def default_cache_dir(root: Path) -> Path:
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(configured) if configured else root / CACHE_DIR_NAME


def fingerprint(settings: Settings) -> str:
    """What findings depend on besides the file's bytes."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for source in sorted(package.rglob("*.py")):  # the subpackages' code too
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    digest.update(sys.version.encode())
    relevant = (settings.native_sleep, settings.ignore, settings.extra, settings.target_version, settings.select,
                settings.non_blocking)
    digest.update(repr(relevant).encode())
    return digest.hexdigest()[:20]


class FindingsCache:
    """Findings of unchanged files, loaded once and saved once per run."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.folder = folder
        self.path = folder / f"findings-{fingerprint(settings)}.json"
        self._started = time.time()
        self._entries: dict[str, _Entry] = self._load()
        self._new: dict[str, _Entry] = {}

    def _load(self) -> dict[str, _Entry]:
        try:
            document = json.loads(self.path.read_bytes())
            return {
                path: (mtime, size, [Finding(*finding) for finding in findings], FileError(*error) if error else None)
                for path, (mtime, size, findings, error) in document["files"].items()
            }
        except (OSError, ValueError, KeyError, TypeError):
            return {}  # no cache yet, or one this version cannot read: start afresh

    def get(self, path: Path, status: os.stat_result) -> tuple[list[Finding], FileError | None] | None:
        """The findings stored for ``path``, and the error that stopped it if one did
        (a syntax error stays one while the file is unchanged), if it has not changed since."""
        entry = self._entries.get(str(path))
        if entry is None or entry[0] != status.st_mtime_ns or entry[1] != status.st_size:
            return None
        return entry[2], entry[3]

    def put(self, path: Path, status: os.stat_result, findings: list[Finding], error: FileError | None = None) -> None:
        """Store what ``path`` gave as it was when ``status`` was taken (before reading it)."""
        if status.st_mtime_ns / 1e9 > self._started - RACY_SECONDS or (error is not None and error.transient):
            return
        entry = (status.st_mtime_ns, status.st_size, list(findings), error)
        self._entries[str(path)] = entry
        self._new[str(path)] = entry

    def save(self) -> None:
        """Write the entries added by this run, merged with the cache as it is on disk now."""
        if not self._new:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _mark_cache_folder(self.folder)
            merged = self._load()
            merged.update(self._new)
            document: dict[str, Any] = {
                "files": {
                    path: [mtime, size, [astuple(f) for f in findings], astuple(error) if error else None]
                    for path, (mtime, size, findings, error) in merged.items()
                }
            }
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".findings-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(document, handle, separators=(",", ":"))
                os.replace(temporary, self.path)
            except BaseException:
                try:
                    os.unlink(temporary)
                except OSError:
                    pass
                raise
        except OSError:
            pass  # a read-only project or a full disk: run without a cache


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

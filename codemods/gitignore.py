"""Which files git ignores, for the walk (``respect-gitignore``), as ruff's walk (the
``ignore`` crate) reads them (and the ``.ignore`` files it reads with them):

- only inside a git repository (a folder with ``.git``, a folder or a worktree's file):
  a ``.gitignore`` outside one is not read (ruff tried otherwise and reverted it:
  astral-sh/ruff#5930, #12644);
- from low to high precedence: git's global excludes file (``core.excludesFile`` of the
  user's git configuration, else ``$XDG_CONFIG_HOME/git/ignore``, ``~/.config/git/ignore``),
  the repository's ``info/exclude``, then each ``.gitignore`` from the repository's top
  down to the entry's folder; the last pattern that matches decides (``!`` re-includes);
- a repository inside another is a boundary: the outer one's ``.gitignore`` files do not
  apply in it;
- ``.ignore`` files (ripgrep's, which ruff honours too), in the entry's folder and every
  folder above it, inside a git repository or not: their verdict comes before git's;
- an entry is ignored by a pattern that matches it, not by one that matches a folder
  above it: the walk never enters an ignored folder, so a file below one is only met
  when that folder was named on the command line, and named paths are taken as given.

Patterns are translated by ``pathspec`` (git's wildmatch rules). Its translations are
kept in the findings cache's folder (``Translations``): importing pathspec is a fifth of
a check answered from the cache, which with the pattern files unchanged does not import
it. A walk outside git costs a ``stat`` per folder.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

TYPE_CHECKING = False  # as typing's, which a check answered from the cache does not import
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Mapping, Sequence


class _Patterns:
    """The patterns of one file, relative to the folder ``base`` (absolute): one regular
    expression of them all, last pattern first, so that the alternative that matches is
    the last pattern that matches (git's rule) and an entry costs one match per file."""

    def __init__(self, base: str, patterns: Sequence[tuple[str, bool]]) -> None:
        self.prefix = base.rstrip(os.sep) + os.sep
        self.patterns = patterns
        alternatives = [f"(?P<p{index}>{_DIRECTORY_MARK.sub('(?:', regex)})"
                        for index, (regex, _) in reversed(list(enumerate(patterns)))]
        self._regex = re.compile("|".join(alternatives))
        self._ignores = [ignores for _, ignores in patterns]

    def rebased(self, base: str) -> _Patterns:
        return _Patterns(base, self.patterns)

    def _match(self, relative: str) -> bool | None:
        match = self._regex.match(relative)
        if match is None or match.lastgroup is None:
            return None
        return self._ignores[int(match.lastgroup[1:])]  # the outermost group: ``p<index>``

    def verdict(self, absolute: str, folder: bool) -> bool | None:
        """Whether these patterns ignore (``True``) or re-include (``False``) the entry,
        ``None`` when none of them is about it."""
        if not absolute.startswith(self.prefix):
            return None
        relative = absolute[len(self.prefix):].replace(os.sep, "/")
        verdict = self._match(relative + "/" if folder else relative)
        if verdict:
            # git's patterns match what is below a matched folder too; that is the folder's
            # match, which the walk applied (or the user overrode by naming the folder).
            parts = relative.split("/")
            for depth in range(1, len(parts)):
                if self._match("/".join(parts[:depth]) + "/"):
                    return None
        return verdict


#: pathspec's group marking the folder part of a match; its name would repeat in one expression.
_DIRECTORY_MARK = re.compile(r"\(\?P<\w+>")


_PARENT = os.sep + os.pardir + os.sep


class GitIgnored:
    """``ignores(path, folder)`` for the entries of a walk; what each folder's rules are
    is worked out once per run."""

    def __init__(self, translations: Translations | None = None, environ: Mapping[str, str] = os.environ) -> None:
        self._translations = translations or Translations(None)
        self._environ = environ
        self._roots: dict[str, str | None] = {}
        self._rules: dict[str, tuple[_Patterns, ...]] = {}
        self._ignore_files: dict[str, tuple[_Patterns, ...]] = {}
        self._global: tuple[_Patterns, ...] | None = None

    def ignores(self, absolute: str, folder: bool) -> bool:
        """Whether git (or an ``.ignore`` file) ignores the file or folder ``absolute`` (an
        absolute path)."""
        if _PARENT in absolute:  # a walk of `..`: its folders are matched where they are
            absolute = os.path.normpath(absolute)
        parent = os.path.dirname(absolute)
        # As the `ignore` crate: an `.ignore` file's verdict, the deepest first, before git's.
        for patterns in (*reversed(self._ignore_files_of(parent)), *reversed(self._rules_of(parent))):
            verdict = patterns.verdict(absolute, folder)
            if verdict is not None:
                return verdict
        return False

    def _ignore_files_of(self, folder: str) -> tuple[_Patterns, ...]:
        """The ``.ignore`` files of ``folder`` and the folders above it, outermost first:
        ripgrep's and ruff's own ignore files, read inside a git repository or not."""
        known = self._ignore_files.get(folder)
        if known is None:
            parent = os.path.dirname(folder)
            above = self._ignore_files_of(parent) if parent != folder else ()
            own = self._read(os.path.join(folder, ".ignore"), folder)
            known = self._ignore_files[folder] = (*above, own) if own is not None else above
        return known

    def _rules_of(self, folder: str) -> tuple[_Patterns, ...]:
        """The pattern files that apply to the entries of ``folder``, lowest precedence first."""
        known = self._rules.get(folder)
        if known is None:
            root = self._root_of(folder)
            if root is None:
                known = ()
            else:
                above = self._rules_of(os.path.dirname(folder)) if folder != root else self._repository_rules(root)
                own = self._read(os.path.join(folder, ".gitignore"), folder)
                known = (*above, own) if own is not None else above
            self._rules[folder] = known
        return known

    def _root_of(self, folder: str) -> str | None:
        """The top of the git repository ``folder`` is in, if any."""
        if folder not in self._roots:
            parent = os.path.dirname(folder)
            if os.path.exists(os.path.join(folder, ".git")):
                self._roots[folder] = folder
            else:
                self._roots[folder] = self._root_of(parent) if parent != folder else None
        return self._roots[folder]

    def _repository_rules(self, root: str) -> tuple[_Patterns, ...]:
        """The global excludes and the repository's ``info/exclude``, both relative to its top."""
        if self._global is None:
            excludes = global_excludes_file(self._environ)
            found = self._read(excludes, None) if excludes is not None else None
            self._global = (found,) if found is not None else ()
        rules = tuple(patterns.rebased(root) for patterns in self._global)
        git_dir = _git_dir(root)
        info = self._read(os.path.join(git_dir, "info", "exclude"), root) if git_dir is not None else None
        return (*rules, info) if info is not None else rules

    def _read(self, path: str, base: str | None) -> _Patterns | None:
        """The patterns of the file ``path`` relative to ``base``; ``None`` when it has
        none (or cannot be read: git skips such a file too)."""
        try:
            with open(path, "rb") as handle:
                text = handle.read()
        except OSError:
            return None
        patterns = self._translations.get(text)
        if patterns is None:
            patterns = self._translations.put(text, _translated(text))
        return _Patterns(base or os.sep, patterns) if patterns else None

    def save(self) -> None:
        self._translations.save()


def _translated(text: bytes) -> list[tuple[str, bool]]:
    """The patterns of a pattern file: (regular expression, whether it ignores), in order."""
    lines = text.decode("utf-8", errors="replace").splitlines()
    if not any(line.strip() and not line.startswith("#") for line in lines):
        return []
    from pathspec import GitIgnoreSpec

    # pathspec translates git's wildmatch patterns (``**``, ``[...]``, escapes, anchoring).
    return [(pattern.regex.pattern, bool(pattern.include)) for pattern in GitIgnoreSpec.from_lines(lines).patterns
            if pattern.include is not None and pattern.regex is not None]


class Translations:
    """pathspec's translations of pattern files, by their bytes and pathspec's version,
    read from and written to ``path`` (a file of the findings cache's folder; ``None``:
    kept for this run only). The translations of this run are what is written."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stored: dict[str, list[tuple[str, bool]]] | None = None
        self._used: dict[str, list[tuple[str, bool]]] = {}
        self._changed = False

    def get(self, text: bytes) -> list[tuple[str, bool]] | None:
        key = self._key(text)
        if self._stored is None:
            self._stored = self._load()
        found = self._stored.get(key) if key is not None else None
        if found is not None and key is not None:
            self._used[key] = found
        return found

    def put(self, text: bytes, patterns: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
        key = self._key(text)
        if key is not None:
            self._used[key] = patterns
            self._changed = True
        return patterns

    def save(self) -> None:
        if self.path is not None and self._changed:
            from codemods.cache import write_document

            document = {key: [list(pattern) for pattern in found] for key, found in self._used.items()}
            write_document(self.path.parent, self.path, document)

    def _load(self) -> dict[str, list[tuple[str, bool]]]:
        if self.path is None:
            return {}
        import json

        try:
            document = json.loads(self.path.read_bytes())
            return {str(key): [(str(regex), bool(ignores)) for regex, ignores in found] for key, found in document.items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return {}  # none yet, or not one this version wrote

    def _key(self, text: bytes) -> str | None:
        version = _pathspec_version()
        if version is None:
            return None
        import hashlib

        return hashlib.sha256(version + b"\0" + text).hexdigest()[:24]


@lru_cache(maxsize=None)
def _pathspec_version() -> bytes | None:
    """The installed pathspec's version file, found without importing pathspec (its
    translations may change with it); ``None`` if it cannot be found."""
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("pathspec")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        try:
            with open(os.path.join(folder, "_version.py"), "rb") as handle:
                return handle.read()
        except OSError:
            continue
    return None


def _git_dir(root: str) -> str | None:
    """The folder holding the repository's ``info/`` (for a worktree or a submodule,
    ``.git`` is a file naming its git folder; a worktree's shares its main one's ``info/``)."""
    dot_git = os.path.join(root, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    try:
        with open(dot_git, encoding="utf-8") as handle:
            first = handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith("gitdir:"):
        return None
    git_dir = os.path.join(root, first[len("gitdir:"):].strip())
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as handle:
            return os.path.join(git_dir, handle.readline().strip())
    except (OSError, UnicodeDecodeError):
        return git_dir


#: ``excludesFile = value`` in a git configuration file (keys are case-insensitive).
_EXCLUDES_FILE = re.compile(r"\s*excludesfile\s*=\s*(.*?)\s*$", re.IGNORECASE)
_SECTION = re.compile(r"\s*\[\s*([A-Za-z0-9.-]+)[^\]]*\]\s*(.*)$")


def global_excludes_file(environ: Mapping[str, str]) -> str | None:
    """Git's global excludes file: ``core.excludesFile`` of the user's configuration
    (``~/.gitconfig`` over ``$XDG_CONFIG_HOME/git/config``, as git reads them), else
    ``$XDG_CONFIG_HOME/git/ignore`` (``~/.config/git/ignore``)."""
    home = environ.get("HOME") or os.path.expanduser("~")
    xdg = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    configured = None
    for config in (os.path.join(xdg, "git", "config"), os.path.join(home, ".gitconfig")):
        value = _core_excludes_file(config)
        if value is not None:
            configured = value  # the later file wins, as in git
    if configured is not None:
        return os.path.join(home, configured[2:]) if configured.startswith("~/") else configured
    return os.path.join(xdg, "git", "ignore")


def _core_excludes_file(config: str) -> str | None:
    """``core.excludesFile`` as set in the git configuration file ``config``, if it is."""
    try:
        with open(config, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    section, found = "", None
    for line in lines:
        header = _SECTION.match(line)
        if header is not None:
            section, line = header.group(1).lower(), header.group(2)
        if section == "core":
            match = _EXCLUDES_FILE.match(line)
            if match is not None:
                value = re.split(r"\s[#;]", match.group(1))[0].strip()
                found = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    return found

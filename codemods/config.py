"""Settings, and reading them from ``[tool.loopsafe]`` in the nearest ``pyproject.toml``.

    [tool.loopsafe]
    native-sleep = true            # time.sleep(x) -> await asyncio.sleep(x); false: to_thread
    exclude = ["migrations/*", "legacy_*.py"]
    ignore = ["os.listdir"]        # catalog entries to leave alone
    blocking = ["wechatpy.*", "vendor.Client.*", "mylib.client.fetch"]
    observed = "loopsafe-observed.json"   # what `loopsafe record` saw (as --observed)
    respect-gitignore = false      # walk what git ignores too (default true, as ruff's)
    force-exclude = true           # exclude files named on the command line too (as ruff's)

``blocking`` names callables the project knows to block, fixed with ``asyncio.to_thread``
(LS200): exact qualified names, and patterns (a dotted name and ``.*``) that cover a module
or class and every name under it, on the name a call resolves to through the imports:

- ``wechatpy.*``: every function of ``wechatpy`` and its submodules, every constructor
  of its classes (``wechatpy.WeChatClient(...)``), and every public method of the objects
  those classes make (``client = wechatpy.WeChatClient(...)``, then ``client.get(...)``);
- ``vendor.Client.*``: the class's constructor, its methods called through the class,
  and the public methods of its objects (``c = vendor.Client(); c.get(...)``).

A class is a covered name whose last part is capitalised (PEP 8); names ending in
``Error``, ``Exception`` or ``Warning`` are exceptions and are not covered. Only imported
names match, never the project's own definitions; ``wechatpy.*`` does not cover
``wechatpyx``. The catalog's entries and exact names win over patterns, a longer pattern
over a shorter one. Each argument of a declared call must be one no other task can reach
while the thread runs, as for the project's own helpers (else the call is reported).
``codemods.declared`` has the details. To report instead of fixing, give a table of
name or pattern = strategy (``to_thread`` or ``report``)::

    [tool.loopsafe.blocking]
    "mylib.client.fetch" = "to_thread"
    "mylib.db.connect" = "report"
    "vendor.*" = "report"
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from codemods.codes import enabled_codes, is_selector, selector_error
from codemods.findings import qualified_name, shown_name

# The catalog is built where its entries are asked for (``index``...), not here: reading
# settings (a check answered from the findings cache) does not build it.
TYPE_CHECKING = False  # as typing's, which a check answered from the cache does not import
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping, Sequence

    from codemods.analysis.screen import ScreenNames
    from codemods.catalog import BlockingCall, BlockingType
    from codemods.declared import DeclaredBlocking, DeclaredPattern


def is_excluded(relative: str, patterns: Sequence[str]) -> bool:
    """Whether a glob matches ``relative`` (a ``/``-separated path) or its last name."""
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(relative, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def relative_to(absolute: str, folder: str) -> str:
    """``absolute`` relative to ``folder``, with ``/`` (as given, if outside it)."""
    prefix = folder.rstrip(os.sep) + os.sep
    return absolute[len(prefix):].replace(os.sep, "/") if absolute.startswith(prefix) else absolute


class ConfigError(Exception):
    """A user mistake in the configuration; shown without a traceback."""


@dataclass(frozen=True)
class Settings:
    native_sleep: bool = True
    exclude: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extra: tuple[BlockingCall, ...] = ()
    #: Oldest Python the code must run on, e.g. ``(3, 8)``: below 3.9 there is no
    #: ``asyncio.to_thread`` and ``loop.run_in_executor`` is used instead.
    target_version: tuple[int, int] | None = None
    #: The codes wanted, as ruff's rules (``codemods.codes.enabled_codes``): ``select``
    #: (``None``: not given, every code), ``extend-select``; ``ignore`` above lists codes too.
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    #: The command line's ``(--select or None, --extend-select, --ignore)``, applied after these.
    command_line: tuple[tuple[str, ...] | None, tuple[str, ...], tuple[str, ...]] | None = None
    #: Folder names the walk skips by default (``build``, ``venv``...) to walk anyway.
    include: tuple[str, ...] = ()
    #: The module's own functions declared not blocking (LS301 does not follow them).
    non_blocking: tuple[str, ...] = ()
    #: Modules and classes declared blocking by pattern (``blocking = ["wechatpy.*"]``).
    declared: tuple[DeclaredPattern, ...] = ()
    #: What ``loopsafe record`` saw (``observed = "..."``, relative to the configuration's
    #: folder; ``--observed`` overrides it): absolute, or ``None``. Not in the cache's
    #: fingerprint: a file analysed with observations is never cached.
    observed: Path | None = None
    #: Whether a walk skips what git ignores (``.gitignore``...: ``codemods.gitignore``).
    respect_gitignore: bool = True
    #: Whether ``exclude`` applies to files named on the command line too (pre-commit).
    force_exclude: bool = False
    #: The file the settings came from, if any (for messages).
    source: Path | None = field(default=None, compare=False)

    @cached_property
    def codes(self) -> frozenset[str]:
        """The codes wanted: the configuration's ``select``, ``extend-select`` and the
        codes and prefixes in ``ignore``, then the command line's."""
        configured = (self.select, self.extend_select, tuple(filter(is_selector, self.ignore)))
        return enabled_codes([configured, *([self.command_line] if self.command_line is not None else [])])

    def allows(self, code: str) -> bool:
        """Whether findings with ``code`` are wanted (``select``, ``ignore``...): a finding's
        own code (an LS301 finding is LS301, whatever its chain ends in). Which calls block
        does not depend on it (``index``): an LS301 chain may end in a code not selected."""
        return code in self.codes

    def excludes(self, absolute: str, cwd: str) -> bool:
        """Whether ``exclude`` covers the file or folder ``absolute``: globs on paths
        relative to the configuration's folder (``cwd`` without one), or on names."""
        if not self.exclude:
            return False
        folder = str(self.source.parent.resolve()) if self.source is not None else cwd
        return is_excluded(relative_to(absolute, folder), self.exclude)

    def allows_entry(self, entry: BlockingCall) -> bool:
        """Whether calls of ``entry`` block: its name not ignored (``ignore = ["os.listdir"]``).
        Codes are selected on findings (``allows``), not here."""
        return entry.qualname not in self.ignore

    @cached_property
    def index(self) -> dict[str, BlockingCall]:
        """The blocking callables, by name: the catalog and ``blocking``, less the names ``ignore`` lists."""
        from codemods.catalog import build_index

        return build_index(self.extra, self.ignore)

    @cached_property
    def declared_blocking(self) -> DeclaredBlocking | None:
        """What the ``blocking`` patterns cover (``None`` without any)."""
        from codemods.declared import DeclaredBlocking

        return DeclaredBlocking(self.declared, self.ignore) if self.declared else None

    @cached_property
    def constructors(self) -> dict[str, BlockingType]:
        from codemods.catalog import build_constructor_index

        return build_constructor_index(self.ignore)

    @cached_property
    def annotations(self) -> dict[str, BlockingType]:
        from codemods.catalog import build_annotation_index

        return build_annotation_index(self.ignore)

    @cached_property
    def screen_names(self) -> ScreenNames:
        from codemods.analysis.screen import ScreenNames

        # A pattern's prefix: every name under it is relevant (``ScreenNames.relevant``).
        declared = [pattern.prefix for pattern in self.declared]
        return ScreenNames.from_qualnames(
            [*self.index, *self.constructors, *self.annotations, *declared], helpers=self.allows("LS301")
        )

    @property
    def legacy_executor(self) -> bool:
        return self.target_version is not None and self.target_version < (3, 9)


_KEYS = {
    "native-sleep", "exclude", "include", "ignore", "blocking", "target-version", "transitive", "non-blocking",
    "observed", "select", "extend-select", "respect-gitignore", "force-exclude",
}


def settings_from_table(table: Mapping[str, Any], source: Path | None = None) -> Settings:
    """Validate a ``[tool.loopsafe]`` table. Raises ``ConfigError`` naming the bad key."""
    where = f"{source}: [tool.loopsafe]" if source else "[tool.loopsafe]"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    native_sleep = table.get("native-sleep", True)
    if not isinstance(native_sleep, bool):
        raise ConfigError(f"{where}: native-sleep must be true or false")
    exclude = _string_list(table, "exclude", where)
    include = _string_list(table, "include", where)
    non_blocking = _string_list(table, "non-blocking", where)
    transitive = table.get("transitive", True)
    if not isinstance(transitive, bool):
        raise ConfigError(f"{where}: transitive must be true or false")
    written = _string_list(table, "ignore", where)
    select = _selectors(table, "select", where) if "select" in table else None
    extend_select = _selectors(table, "extend-select", where)
    extra, declared = _blocking(table.get("blocking", {}), where)
    check_ignored(written, extra, f"{where}: ignore", declared)
    # Names as messages show them: `open`, a builtin, is `builtins.open`.
    ignore = [entry if is_selector(entry) else qualified_name(entry) for entry in written]
    if not transitive:
        ignore = [*ignore, "LS301"]  # the project's own functions are not followed
    target = table.get("target-version")
    if target is not None:
        try:
            target_version = parse_version(target)
        except ValueError as error:
            raise ConfigError(f"{where}: target-version: {error}") from None
    else:
        target_version = None
    walk = {key: table.get(key, default) for key, default in (("respect-gitignore", True), ("force-exclude", False))}
    for key, value in walk.items():
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false")
    observed = table.get("observed")
    if observed is not None and (not isinstance(observed, str) or not observed):
        raise ConfigError(f"{where}: observed must be the path of a file `loopsafe record` wrote (a string)")
    return Settings(native_sleep, tuple(exclude), tuple(ignore), tuple(extra), target_version, select=select,
                    extend_select=extend_select, include=tuple(include), non_blocking=tuple(non_blocking), declared=tuple(declared),
                    observed=_beside(source, observed) if observed is not None else None,
                    respect_gitignore=walk["respect-gitignore"], force_exclude=walk["force-exclude"], source=source)


def _selectors(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """``select`` / ``extend-select``: codes and prefixes (``LS25``, ``ASYNC``, ``ALL``)."""
    selectors = _string_list(table, key, where)
    for selector in selectors:
        if not is_selector(selector):
            raise ConfigError(f"{where}: {key}: {selector_error(selector)}")
    return tuple(selector.strip().upper() for selector in selectors)


def _beside(source: Path | None, relative: str) -> Path:
    """``relative`` read from the configuration ``source``: relative to its folder."""
    folder = source.parent if source is not None else Path.cwd()
    return Path(os.path.abspath(folder / Path(relative).expanduser()))


def _blocking(blocking: object, where: str) -> tuple[list[BlockingCall], list[DeclaredPattern]]:
    """``blocking``: a list of names and patterns (fixed with to_thread), or a table of
    name or pattern = strategy. Returns (the exact names' entries, the patterns)."""
    if isinstance(blocking, list):
        if not all(isinstance(name, str) for name in blocking):
            raise ConfigError(f"{where}: blocking must be a list of names and patterns (strings), "
                              "or a table of name = strategy")
        strategies: dict[object, object] = dict.fromkeys(blocking, "to_thread")
    elif isinstance(blocking, dict):
        strategies = dict(blocking)
    else:
        raise ConfigError(f"{where}: blocking must be a list of names and patterns (['wechatpy.*']), "
                          "or a table of name = strategy")
    extra: list[BlockingCall] = []
    declared: list[DeclaredPattern] = []
    if not strategies:
        return extra, declared
    from codemods.catalog import user_entry
    from codemods.declared import is_pattern, parse_pattern

    for name, strategy in strategies.items():
        assert isinstance(name, str)
        if not isinstance(strategy, str):
            raise ConfigError(f"{where}: blocking.{name} must be a string strategy")
        try:
            if is_pattern(name):
                declared.append(parse_pattern(name, strategy))
            else:
                extra.append(user_entry(name, strategy))
        except ValueError as error:
            raise ConfigError(f"{where}: blocking: {error}") from None
    return extra, declared


def check_ignored(
    ignore: Sequence[str], extra: Sequence[BlockingCall], where: str, declared: Sequence[DeclaredPattern] = ()
) -> None:
    """Each entry of ``ignore`` must name something loopsafe knows: a code (``LS251``,
    ``ASYNC251``), a name of the catalog, or one a ``blocking`` pattern covers; a
    misspelling would silently do nothing."""
    names = [name for name in ignore if not is_selector(name)]
    if not names:
        return  # codes only: the catalog need not be built
    from codemods.catalog import catalog_names, names_method

    known = catalog_names(extra)
    for name in names:
        qualified = qualified_name(name)  # `open` is `builtins.open`, as messages name it
        if qualified not in known and not names_method(qualified) and not any(p.covers(qualified) for p in declared):
            import difflib

            close = difflib.get_close_matches(name, sorted({*known, *map(shown_name, known)}), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{where}: {name!r} is neither a code or prefix (LS251, LS25, ASYNC251) nor a name in the catalog{hint}"
            )


def parse_version(text: object) -> tuple[int, int]:
    """``"3.8"`` or ``"py38"`` -> ``(3, 8)``."""
    if not isinstance(text, str):
        raise ValueError(f"expected a string like '3.8', got {text!r}")
    match = re.fullmatch(r"(?:py)?3\.?(\d+)", text.strip())
    if match is None:
        raise ValueError(f"expected a version like '3.8' or 'py38', got {text!r}")
    return (3, int(match.group(1)))


def minimum_from_requires_python(spec: str) -> tuple[int, int] | None:
    """The oldest 3.x that a ``requires-python`` specifier such as ``>=3.8,<4`` allows.

    Read with PEP 440's meaning, not by cutting strings: ``>3.8`` allows 3.8.1, so 3.8 is
    supported; ``>=3`` allows 3.8; ``!=3.8.*,>=3.7`` allows 3.7. ``None`` when the
    specifier allows no Python 3 release at all. Raises ``ValueError`` if it is invalid.
    """
    simple = _simple_minimum(spec)
    if simple is not None:
        return simple
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        specifiers = SpecifierSet(spec)
    except InvalidSpecifier:
        raise ValueError(f"{spec!r} is not a valid PEP 440 version specifier (e.g. '>=3.9')") from None
    # The versions the specifier names, and the releases just above them: with 3.m.0 to
    # 3.m.99 these include a member of every interval the specifier allows in 3.m.
    named: list[Version] = []
    for specifier in specifiers:
        try:
            version = Version(specifier.version.removesuffix(".*"))
        except InvalidVersion:
            continue  # ===arbitrary-string: no version to start from
        release = list(version.release) + [0] * (3 - len(version.release))
        named.append(version)
        named.append(Version(".".join(map(str, [*release[:-1], release[-1] + 1]))))
    for minor in range(100):
        candidates = [Version(f"3.{minor}.{patch}") for patch in range(100)]
        candidates += [v for v in named if (*v.release, 0)[:2] == (3, minor)]
        if any(specifiers.contains(candidate, prereleases=True) for candidate in candidates):
            return (3, minor)
    return None


#: ``>=3.N`` or ``>=3.N.M``; ``<4`` (``<4.0``...) or ``<3.K`` (``<3.K.0``...). Compiled
#: on first use (``re``'s cache): most runs read no ``requires-python``.
_AT_LEAST = r">=\s*3\.(\d{1,2})(?:\.\d+)?"
_BELOW = r"<\s*(?:4|3\.(\d{1,2}))(?:\.0)*"


def _simple_minimum(spec: str) -> tuple[int, int] | None:
    """``minimum_from_requires_python`` of the usual specifiers, ``>=3.N[.M]`` alone or
    with an upper bound above it (``<4``, ``<3.K`` with K > N): 3.N.M itself is allowed,
    and no 3.m before it. ``None`` for any other (``packaging`` reads those, at a cost
    a run answered from the findings cache would notice)."""
    clauses = [clause.strip() for clause in spec.split(",")]
    lower = [match for match in (re.fullmatch(_AT_LEAST, clause) for clause in clauses) if match is not None]
    if len(lower) != 1:
        return None
    minor = int(lower[0].group(1))
    for clause in clauses:
        if re.fullmatch(_AT_LEAST, clause):
            continue
        upper = re.fullmatch(_BELOW, clause)
        if upper is None or (upper.group(1) is not None and int(upper.group(1)) <= minor):
            return None
    return (3, minor)


def _requires_python(document: Mapping[str, Any], path: Path) -> tuple[int, int] | None:
    """The oldest Python a pyproject's ``requires-python`` allows; ``ConfigError`` if invalid."""
    project = document.get("project", {})
    requires = project.get("requires-python") if isinstance(project, dict) else None
    if requires is None:
        return None
    if not isinstance(requires, str):
        raise ConfigError(f"{path}: [project] requires-python must be a string, got {requires!r}")
    try:
        return minimum_from_requires_python(requires)
    except ValueError as error:
        raise ConfigError(f"{path}: [project] requires-python: {error}") from None


def _string_list(table: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return value


def find_pyproject(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest ``pyproject.toml`` with a ``[tool.loopsafe]`` table, from ``start`` up,
    and its parsed document; failing that, the nearest ``pyproject.toml`` at all (its
    ``requires-python`` still says which Python the project targets). Each file is read
    and parsed once."""
    start = start.resolve()
    nearest: tuple[Path, dict[str, Any]] | None = None
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            document = read_toml(candidate)
            if "loopsafe" in document.get("tool", {}):
                return candidate, document
            nearest = nearest or (candidate, document)
    return nearest


def read_toml(path: Path) -> dict[str, Any]:
    # Imported here: most runs of a project without a pyproject.toml never parse TOML.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None


class SettingsTree:
    """The settings of each file, as ruff finds them: those of the ``pyproject.toml``
    nearest to the file (with a ``[tool.loopsafe]`` table; else the nearest one's
    ``requires-python``), or of ``config`` for every file when given. Each folder is
    looked up once and each file parsed once; files under one pyproject share one
    ``Settings`` object. ``adjust`` applies the command line's options to each.
    """

    def __init__(self, config: Path | None = None, adjust: Callable[[Settings], Settings] = lambda s: s) -> None:
        self._adjust = adjust
        self._override = adjust(load_settings(Path.cwd(), config)) if config is not None else None
        self._by_folder: dict[str, Settings] = {}
        self._by_source: dict[Path | None, Settings] = {}
        self._documents: dict[Path, dict[str, Any]] = {}
        self._lookups: dict[str, tuple[Path | None, Path | None]] = {}

    def for_folder(self, folder: Path) -> Settings:
        """The settings of the files in ``folder`` (absolute). Raises ``ConfigError``."""
        if self._override is not None:
            return self._override
        # Folders as text: a walk asks for every folder, and path objects cost more than
        # the lookup itself.
        text = str(folder)
        known = self._by_folder.get(text)
        if known is None:
            configured, nearest = self._lookup(text)
            source = configured or nearest
            known = self._by_source.get(source)
            if known is None:
                found = (source, self._read(source)) if source is not None else None
                known = self._by_source[source] = self._adjust(_settings_of(found, None))
            self._by_folder[text] = known
        return known

    def _lookup(self, folder: str) -> tuple[Path | None, Path | None]:
        """(the nearest pyproject.toml with [tool.loopsafe], the nearest at all), from
        ``folder`` up, as ``find_pyproject``; each folder asked once (one ``stat``)."""
        known = self._lookups.get(folder)
        if known is None:
            parent = os.path.dirname(folder)
            above = self._lookup(parent) if parent != folder else (None, None)
            candidate = os.path.join(folder, "pyproject.toml")
            if os.path.isfile(candidate):
                path = Path(candidate)
                has_table = "loopsafe" in self._read(path).get("tool", {})
                known = (path if has_table else above[0], path)
            else:
                known = above
            self._lookups[folder] = known
        return known

    def for_path(self, path: Path) -> Settings:
        """The settings of a file, or of the files in a folder."""
        return self.for_folder(path if path.is_dir() else path.parent)

    def _read(self, path: Path) -> dict[str, Any]:
        if path not in self._documents:
            self._documents[path] = read_toml(path)
        return self._documents[path]


def load_settings(start: Path, config: Path | None = None) -> Settings:
    """Settings from ``config`` if given, else from the nearest pyproject.toml, else defaults."""
    found = (config, read_toml(config)) if config is not None else find_pyproject(start)
    return _settings_of(found, config)


def _settings_of(found: tuple[Path, dict[str, Any]] | None, config: Path | None) -> Settings:
    if found is None:
        return Settings()
    path, document = found
    table = document.get("tool", {}).get("loopsafe")
    if table is None and config is None:
        # No settings; the project's requires-python may still say which Python it targets.
        return Settings(target_version=_requires_python(document, path))
    table = {} if table is None else table
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.loopsafe] must be a table")
    settings = settings_from_table(table, path)
    if settings.target_version is None:
        settings = replace(settings, target_version=_requires_python(document, path))
    return settings

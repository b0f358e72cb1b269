"""The summaries of a project's modules, read as the answers about its calls need them
(``codemods.project``): the run's own results first, then each module's text (which
tells most names apart without parsing: ``ModuleFile``), then its summary (prefetched in
the worker processes for the modules the coroutines' calls name, else read here), and a
function's facts only when asked for.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Union, cast

from codemods.config import Settings
from codemods.findings import Finding, TransformResult
from codemods.runner import SourceFile, WorkerPool, read_source, stat_or_none

if TYPE_CHECKING:
    from codemods.analysis.helpers import HelperCall, ModuleSummary
    from codemods.analysis.modules import ProjectView
    from codemods.cache import FindingsCache
    from codemods.module_names import ModuleLocator

# A module-level function or class is defined at the start of a line: one defined in an
# indented block (``if``/``try``) is taken as not there, a rare miss, never a wrong answer
# (such a name is mostly bound twice, and then not followed anyway). ``async def`` is not
# a ``def``: calling a coroutine function runs nothing.
_DEF = re.compile(rb"^def[ \t]+(\w+)", re.MULTILINE)
_CLASS = re.compile(rb"^class[ \t]+(\w+)", re.MULTILINE)
#: An import statement, with its continuation lines and parenthesised names.
_IMPORT_STATEMENT = re.compile(rb"\bimport\b(?:\s*\([^)]*\)|(?:[^\n\\]|\\.)*)", re.DOTALL)
_WORD = re.compile(rb"\w+")

#: What the index is given for a module: its summary, or a file read when needed.
Known = Union["ModuleSummary", "ModuleFile"]


class Reread:
    """A module's file, parsed the first time a function's facts are asked for
    (``source``: its bytes, when the caller has read them already)."""

    def __init__(self, path: Path, settings: Settings, name: str, source: bytes | None = None) -> None:
        self.path = path
        self.settings = settings
        self.name = name
        self._source = source
        self._summary: ModuleSummary | None = None
        self._read = False

    def summary(self) -> ModuleSummary | None:
        from codemods.engine import summarise_source

        if not self._read:
            self._read = True
            source = self._source if self._source is not None else read_source(self.path)
            if isinstance(source, bytes) and b"\0" not in source:
                self._summary = summarise_source(source, self.settings, self.name, self.path.name == "__init__.py")
        return self._summary

    def __call__(self, key: str) -> Any:
        summary = self.summary()
        if summary is None or key not in summary.functions:
            from codemods.analysis.helpers import FunctionFacts

            return FunctionFacts(key.rpartition(".")[2], followed=False, refusal="its module changed")
        return summary.functions[key]


class ModuleFile:
    """A project module, read no further than an answer needs: its bytes tell, without
    parsing, that a name is none of its functions (no ``def`` of it), imports (no
    ``import`` statement names it) or classes (no ``class`` of it), which is most of what
    the calls of coroutines ask; only a name it may define gets the module summarised."""

    def __init__(self, path: Path, settings: Settings, name: str, cache: FindingsCache | None) -> None:
        self.path = path
        self.settings = settings
        self.name = name
        self.cache = cache
        self._bytes: bytes | None = None
        #: ``def``, ``class``, ``import`` -> the names such statements of the text may bind.
        self._names: dict[str, frozenset[bytes]] | None = None
        self._real: ModuleSummary | None = None
        self._read = False

    @property
    def source(self) -> bytes:
        if self._bytes is None:
            source = read_source(self.path)
            self._bytes = source if isinstance(source, bytes) else b""
        return self._bytes

    def may_bind(self, kind: str, name: str) -> bool:
        """Whether the module's text may bind ``name`` by a ``def``, ``class`` or ``import``
        (``kind``); ``False``: no such statement names it (for ``def`` and ``class``, none
        at the start of a line: see ``_DEF``)."""
        if self._names is None:
            source = self.source
            imported: set[bytes] = set()
            for statement in _IMPORT_STATEMENT.findall(source):
                imported.update(_WORD.findall(statement))
                if b"*" in statement:
                    imported.add(b"*")  # a star import (``may_bind("import", "*")``)
            self._names = {
                "def": frozenset(_DEF.findall(source)),
                "class": frozenset(_CLASS.findall(source)),
                "import": frozenset(imported),
            }
        return name.encode() in self._names[kind]

    def real(self) -> ModuleSummary:
        """The module's summary (from the cache, or read now; functions' facts read when
        asked for); an empty one if Python cannot parse the module."""
        from codemods.analysis.helpers import ModuleSummary

        if not self._read:
            self._read = True
            status = stat_or_none(self.path)
            if self.cache is not None and status is not None:
                found, data = self.cache.get_summary(self.path, status)
                if found:
                    self.set(data, store=False)
            if self._real is None:
                # Its bytes are read already (``may_bind``): parsed from them, not read again.
                self.set(Reread(self.path, self.settings, self.name, self._bytes or None).summary())
        return self._real if self._real is not None else ModuleSummary(self.name)

    def set(self, data: Any, store: bool = True) -> None:
        """The summary read elsewhere (a worker process, the cache), as JSON data or an object."""
        from codemods.analysis.helpers import ModuleSummary

        self._read = True
        if data is not None and not isinstance(data, ModuleSummary):
            data = ModuleSummary.from_json(data, compute=Reread(self.path, self.settings, self.name))
        self._real = data
        status = stat_or_none(self.path)
        if self.cache is not None and status is not None and (store or data is not None):
            self.cache.put_summary(self.path, status, data)  # what it learns this run is kept


class ProjectSummaries:
    """The project's module summaries, read on demand, and the answers over them."""

    def __init__(
        self, known: dict[str, Known], locator: ModuleLocator,
        settings_of: Callable[[SourceFile], Settings], cache_of: Callable[[Settings], FindingsCache | None],
        paths: dict[str, Path],
    ) -> None:
        """``paths``: the files of the modules in ``known``."""
        self.known = known
        self.paths = paths
        self.locator = locator
        self.settings_of = settings_of
        self.cache_of = cache_of
        self.absent: set[str] = set()
        self.files: dict[str, ModuleFile] = {}
        from codemods.analysis.helpers import ProjectText

        # The run's modules: where an override or a reassignment of a function is looked for.
        self.text = ProjectText({name: _reader(path) for name, path in paths.items()})

    def load(self, name: str) -> Known | None:
        if name in self.known:
            return self.known[name]
        if name in self.absent:
            return None
        module = self._file(name)
        if module is None:
            self.absent.add(name)
            return None
        self.known[name] = module
        return module

    def _file(self, name: str) -> ModuleFile | None:
        """The project's module ``name``, if it is one."""
        if name not in self.files:
            path = self.locator.locate(name)
            if path is None:
                return None
            settings = self.settings_of(SourceFile(str(path), path))
            self.files[name] = ModuleFile(path, settings, name, self.cache_of(settings))
        return self.files[name]

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
                    # Where the index looks (``ProjectIndex._find``): the longest prefix
                    # that is a module of the project.
                    parts = step[1].split(".")
                    for cut in range(len(parts) - 1, 0, -1):
                        prefix = ".".join(parts[:cut])
                        if prefix in self.known or self.locator.locate(prefix) is not None:
                            requested.setdefault(prefix, set()).add(".".join(parts[cut:]))
                            break
        jobs: dict[str, Any] = {}
        for name in sorted(requested.keys() - self.known.keys() - self.absent):
            module = self._file(name)
            if module is None:
                self.absent.add(name)
                continue
            # What the index asks of the module for a call (``ProjectIndex._in_module``).
            paths = sorted(
                path for path in requested[name]
                if module.may_bind("import", path.split(".")[0])
                or ("." not in path and module.may_bind("def", path))
                or (path.count(".") == 1 and module.may_bind("class", path.split(".")[0]))
            )
            status = stat_or_none(module.path)
            if not paths or status is None or (
                module.cache is not None and module.cache.get_summary(module.path, status)[0]
            ):
                continue  # nothing it may define is asked; or the cache has it: read when asked
            executor = pool.start(module.settings)
            jobs[name] = executor.submit(
                _summarise_in_worker, str(module.path), name, module.path.name == "__init__.py", paths,
                None if module.settings is pool.settings else module.settings,
            )
        for name, future in jobs.items():
            self.files[name].set(future.result())

    def decide(self, module: str, result: TransformResult) -> Decided:
        """A held result (``codemods.project``), decided over the project's summaries."""
        from codemods.analysis.finder import decode_step
        from codemods.analysis.helpers import HelperCall, ProjectIndex, helper_finding, typed_return
        from codemods.analysis.observed_sites import call_finding

        index = ProjectIndex(self.load, self.text)
        findings: list[Finding] | None = None
        # A call whose result only the project types (``typed_return``: ``session().get(u)``)
        # may block through what the module does with it: the second look knows.
        typed = False
        for data in result.pending:
            call = call_of(data)
            finding = call_finding(call, index, module)
            if finding is not None:
                findings = [*(findings if findings is not None else result.findings), finding]
            typed = typed_return(index, call.step, module) is not None or typed
        blocks = findings is not None or typed
        for encoded in sorted(result.wanted):
            # Decided as a call would be: what its verdict reads goes to the second look too.
            step = decode_step(encoded)
            if helper_finding(HelperCall(0, 0, step, None, ""), index, module) is not None:
                blocks = True
            if typed_return(index, step, module) is not None:
                blocks = typed = True
        own = self.load(module) if blocks and result.wanted else None
        if own is not None:
            # The second look also asks about the module's own functions its coroutines
            # call (``load()`` reaching a wanted ``read_settings()``): what their verdicts
            # read of the project goes to it too, or it would not know enough to fix them.
            for function in own.real().functions:
                helper_finding(HelperCall(0, 0, ("call", f"{module}.{function}"), None, ""), index, module)
        if findings is not None:
            findings.sort()
        depends: dict[str, tuple[int, int]] = {}
        # An answer read of the project's text depends on every module of the run (an
        # override or an assignment may appear in any).
        for name in index.used | (self.paths.keys() if index.scanned else set()):
            path = self.paths.get(name) or self.files[name].path
            status = stat_or_none(path)
            if status is not None:
                depends[str(path)] = (status.st_mtime_ns, status.st_size)
        again = {name: self.known[name].real().answered() for name in index.used} if blocks else None
        return Decided(findings, again, depends, tuple(sorted(index.absent)), dict(index.scanned), typed)


@dataclass(frozen=True)
class Decided:
    """A held result, decided: its findings with those of its pending calls finished
    (``None``: unchanged); the summaries a second look needs, if one would find something
    (a call through an import that blocks); the files and absent module names the
    answers read (what a stored decision depends on)."""

    findings: list[Finding] | None
    again: dict[str, ModuleSummary] | None
    depends: dict[str, tuple[int, int]]
    absent: tuple[str, ...]
    #: What the answers read of the whole project's text (``ProjectIndex.scanned``).
    scanned: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Whether a call's result is typed by another module's summary: only a second look
    #: finds what the module does with it.
    typed: bool = False


# -- the project around one file (fixit, the language server) -------------------------------


def project_view(path: Path, settings: Settings, fresh: bool = False) -> ProjectView:
    """The project around a file an editor or fixit looks at alone: calls of its own
    module's functions and of other modules' are followed, as ``loopsafe check`` follows
    them, with summaries read from loopsafe's cache where a check left one (a module it
    lacks or that changed is read from its file, as far as the calls need). ``fresh``:
    modules are read afresh for each look (a language server, which keeps running while
    they change); else once per process (fixit lints many files of a project in one)."""
    from codemods.analysis.modules import ModuleName, ProjectView
    from codemods.cache import default_cache_dir
    from codemods.module_names import module_name_of

    name, package, root = module_name_of(path)
    module = ModuleName(name, package)
    # Where the CLI keeps it: beside the project's pyproject.toml, else the current directory.
    folder = default_cache_dir(settings.source.parent.resolve() if settings.source is not None else Path.cwd())
    if not settings.allows("LS301"):
        return ProjectView(module)
    if fresh:
        return ProjectView(module, others=_project_modules(root, settings, folder), complete=True)
    return ProjectView(module, others=_modules_of(folder, root, settings), complete=True)


def observed_view(view: ProjectView | None, path: str | None, source: bytes, settings: Settings) -> ProjectView | None:
    """``view`` told what the recording ``settings`` name (``observed`` in
    [tool.loopsafe]) saw in the file ``path`` whose text is ``source``, for a front that
    looks at one file at a time (fixit, the language server): what ``loopsafe check``
    tells the file's analysis. Raises ``ObservedError`` naming a file that cannot be used."""
    if settings.observed is None:
        return view
    from codemods.runner import observed_in, with_observed

    recording = observed_in(settings.observed)
    return view if path is None else with_observed(view, recording.sites(Path(path).resolve(), source))


def file_project_view(
    path: Path, settings: Settings, cache: FindingsCache | None, roots: Iterable[Path] = ()
) -> ProjectView:
    """The project around a file whose text comes from elsewhere (standard input with
    ``--stdin-filename``) or is analysed again (``check --add-noqa``), for the CLI: what a
    check by path finds in it (``roots``: the run's other places modules are found; the
    run's ``cache``, ``None`` with ``--no-cache``)."""
    from codemods.analysis.modules import ModuleName, ProjectView
    from codemods.module_names import ModuleLocator, module_name_of

    name, package, root = module_name_of(path)
    module = ModuleName(name, package)
    if not settings.allows("LS301"):
        return ProjectView(module)
    locator = ModuleLocator()
    for folder in (root, *roots):
        locator.add_root(folder)
    return ProjectView(module, others=_ProjectModules(locator, settings, cache), complete=True)


def _modules_of(folder: Path, root: Path, settings: Settings) -> _ProjectModules:
    # One per project and settings: fixit lints many files of one project in a process.
    key = (folder, root, id(settings))
    found = _PROJECTS.get(key)
    if found is None:
        found = _PROJECTS[key] = _project_modules(root, settings, folder)
    return found


def _project_modules(root: Path, settings: Settings, folder: Path) -> _ProjectModules:
    from codemods.cache import FindingsCache
    from codemods.module_names import ModuleLocator

    locator = ModuleLocator()
    for candidate in (root, *([settings.source.parent.resolve()] if settings.source else [])):
        locator.add_root(candidate)
        locator.add_root(candidate / "src")
    return _ProjectModules(locator, settings, FindingsCache(folder, settings) if folder.is_dir() else None)


class _ProjectModules(Mapping[str, "ModuleFile"]):
    """The project's modules by name, found and read as the analysis asks for them."""

    def __init__(self, locator: ModuleLocator, settings: Settings, cache: FindingsCache | None) -> None:
        self.locator = locator
        self.settings = settings
        self.cache = cache
        self._files: dict[str, ModuleFile | None] = {}
        self._text: Any = None

    def scan(self, kind: str, name: str) -> tuple[str, ...]:
        """Which modules under the project's folders may bind ``name`` (``helpers.ProjectText``)."""
        if self._text is None:
            from codemods.analysis.helpers import ProjectText
            from codemods.module_names import module_name_of

            found: dict[str, Callable[[], bytes]] = {}
            folders: dict[str, tuple[list[str], str]] = {}
            for root in list(self.locator.roots):
                for folder, dirs, files in os.walk(root):
                    dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _NOT_PROJECT]
                    for file in files:
                        if file.endswith(".py"):
                            path = Path(folder, file)
                            module, _, top = module_name_of(path, folders)
                            # A folder of top-level modules under the project (``tests/``
                            # without ``__init__.py``) is where a check of the whole
                            # folder finds them too.
                            self.locator.add_root(top)
                            if self.locator.locate(module) == path:
                                found[module] = _reader(path)
            self._text = ProjectText(found)
        return cast("tuple[str, ...]", self._text(kind, name))

    def __getitem__(self, name: str) -> ModuleFile:
        if name not in self._files:
            path = self.locator.locate(name)
            self._files[name] = None if path is None else ModuleFile(path, self.settings, name, self.cache)
        found = self._files[name]
        if found is None:
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(name for name, found in self._files.items() if found is not None)

    def __len__(self) -> int:
        return sum(1 for found in self._files.values() if found is not None)


_PROJECTS: dict[tuple[Path, Path, int], _ProjectModules] = {}
#: Folders under a project's root that hold no module of it.
_NOT_PROJECT = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "build", "dist"})


def _reader(path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        source = read_source(path)
        return source if isinstance(source, bytes) else b""
    return read


def call_of(data: Any) -> HelperCall:
    """A pending call, from a fresh result or from the cache's JSON data."""
    from codemods.analysis.helpers import HelperCall

    return data if isinstance(data, HelperCall) else HelperCall.from_json(data)

"""A run of the command line, without click: what it was asked (``Invocation``), what it
applies to each file (``Project``: settings, excludes, caches, recordings), the files it
looks at, what it counts and prints (``Tally``), and ``check``'s report.

``codemods.cli`` (the click app) and ``codemods.cached_check`` (``check`` answered from the
findings cache, which imports neither click nor the analyses) share these, so that both
print the same bytes. Problems are raised as ``ConfigError`` / ``ObservedError`` /
``ValueError``; the click app turns them into its errors.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from codemods.cache import FindingsCache, default_cache_dir
from codemods.config import Settings, SettingsTree, is_excluded, parse_version, relative_to
from codemods.findings import FileError, Finding, TransformResult, shown_name
from codemods.runner import ObservedRun, SourceFile, discover, skipped_by_default, with_observed

TYPE_CHECKING = False  # as typing's, which a check answered from the cache does not import
if TYPE_CHECKING:
    from typing import IO, Any, Callable, Iterable, Sequence

    from codemods.analysis.modules import ProjectView
    from codemods.gitignore import GitIgnored
    from codemods.observed import Cost

    #: Prints a line: ``(text, to stderr)``. The click app gives ``click.echo``.
    Echo = Callable[[str, bool], None]
    #: A file's findings beyond themselves, for JSON: (shown name, result) -> each
    #: finding's ruff fields (``codemods.ruff_json``).
    Describe = Callable[[str, TransformResult], Callable[[Finding], dict[str, Any]]]


STDIN = "-"
#: How messages name stdin without ``--stdin-filename``.
UNNAMED_STDIN = "<stdin>"

#: Why a walk skips a folder or file (``Project.skip_reason``), besides exclude patterns.
_BY_DEFAULT = "skipped by default; `include` in [tool.loopsafe] walks it"
_GITIGNORED = ("ignored by git (.gitignore, .git/info/exclude, the global excludes file) or an .ignore file; "
               "--no-respect-gitignore walks it")


@dataclass(frozen=True)
class Output:
    """How much to print, and in colour or not (``-q``/``-v``, ``--color``, ``NO_COLOR``)."""

    quiet: bool = False
    verbose: bool = False
    color: bool | None = None


@dataclass
class Tally:
    #: Where lines go.
    echo: Echo
    files_changed: int = 0
    calls_fixed: int = 0
    calls_reported: int = 0
    errors: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)
    output: Output = field(default_factory=Output)
    #: The files that failed, for reports that carry them (SARIF).
    failures: list[tuple[str, FileError]] = field(default_factory=list)

    def error(self, display: str, error: FileError) -> None:
        self.errors += 1
        self.failures.append((display, error))
        self.echo(error.format(display), True)

    def say(self, message: str) -> None:
        """A summary line or hint on stderr, unless ``-q``."""
        if not self.output.quiet:
            self.echo(message, True)

    def failed(self) -> str:
        return f", {plural(self.errors, 'file')} could not be processed" if self.errors else ""

    def summarize(self, dry_run: bool) -> None:
        changed, rewritten = ("would change", "would be rewritten") if dry_run else ("changed", "rewritten")
        self.say(
            f"loopsafe: {plural(self.files_changed, 'file')} {changed}, "
            f"{plural(self.calls_fixed, 'call')} {rewritten}, "
            f"{plural(self.calls_reported, 'call')} left for manual review{self.failed()}"
        )


@dataclass(frozen=True)
class Invocation:
    """What every command is given: the paths and the options they share."""

    paths: tuple[str, ...]
    exclude: tuple[str, ...]
    native_sleep: bool | None
    config: Path | None
    jobs: int | None
    target_version: str | None
    no_cache: bool
    cache_dir: Path | None
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    output: Output
    #: The file stdin holds (``--stdin-filename``), if given.
    stdin_filename: str | None = None
    #: What ``loopsafe record`` saw (``--observed``), if given.
    observed: Path | None = None
    #: ``--extend-select``: selectors (as ``select`` and ``ignore``: codes, prefixes, ``ALL``).
    extend_select: tuple[str, ...] = ()
    #: ``--exit-zero``: exit 0 even when something is found (2 stays for errors).
    exit_zero: bool = False
    #: ``--respect-gitignore``/``--no-respect-gitignore``, ``--force-exclude``/``--no-force-exclude``.
    respect_gitignore: bool | None = None
    force_exclude: bool | None = None

    @property
    def stdin_name(self) -> str:
        """How messages name stdin."""
        return self.stdin_filename or UNNAMED_STDIN

    def first_path(self) -> Path:
        """The first path given (stdin's name for ``-``), absolute: where the cache is sought."""
        first = self.stdin_filename if self.paths[0] == STDIN and self.stdin_filename else self.paths[0]
        path = Path(first).absolute()
        return path if path.exists() else Path.cwd()

    def settings_changes(self) -> dict[str, Any]:
        """What the command line changes in every file's settings; ``ValueError`` for a
        ``--target-version`` that is not one."""
        changes: dict[str, Any] = {}
        if self.select or self.extend_select or self.ignore:
            changes["command_line"] = (tuple(self.select) or None, tuple(self.extend_select), tuple(self.ignore))
        if self.native_sleep is not None:
            changes["native_sleep"] = self.native_sleep
        if self.target_version is not None:
            changes["target_version"] = parse_version(self.target_version)
        if self.observed is not None:
            changes["observed"] = Path(os.path.abspath(self.observed))
        if self.respect_gitignore is not None:
            changes["respect_gitignore"] = self.respect_gitignore
        if self.force_exclude is not None:
            changes["force_exclude"] = self.force_exclude
        return changes


class Project:
    """What a run applies to each file: the settings of its nearest ``pyproject.toml``
    (``--config``: one file's for all), the excludes (the command line's relative to the
    current directory, each configuration's relative to its own folder), and the findings
    caches (one per distinct settings, in one folder), and the recordings (``--observed``,
    or ``observed`` in the settings: each file read once per run).

    Raises ``ConfigError`` for a configuration and ``ObservedError`` for a recording that
    cannot be used."""

    def __init__(self, tree: SettingsTree, exclude: Sequence[str], cache_dir: Path | None) -> None:
        self.tree = tree
        self.cwd = Path.cwd().resolve()
        self.exclude = tuple(exclude)
        self.cache_dir = cache_dir
        self._caches: dict[int, FindingsCache] = {}
        self._by_folder_text: dict[str, Settings] = {}
        self._recordings: dict[Path, ObservedRun] = {}
        self._gitignored: GitIgnored | None = None
        #: What walks skipped by exclude and by git: kind -> [files, folders].
        self.skipped_counts: dict[str, list[int]] = {}

    def settings_for(self, path: Path, folder: bool | None = None) -> Settings:
        """The settings of the file (or, with ``folder``, the files in the folder) ``path``."""
        is_folder = path.is_dir() if folder is None else folder
        return self.tree.for_folder(path if is_folder else path.parent)

    def settings_of_text(self, folder: str) -> Settings:
        """The settings of the files in ``folder`` (an absolute path as text): a walk asks
        this for every file, which should cost a dict lookup, not path objects."""
        settings = self._by_folder_text.get(folder)
        if settings is None:
            settings = self._by_folder_text[folder] = self.settings_for(Path(folder), folder=True)
        return settings

    def settings_of_file(self, file: SourceFile) -> Settings:
        return self.settings_of_text(os.path.dirname(str(file.path)))

    def skipped(self, absolute: str, folder: bool) -> bool:
        """Whether a walk skips the file or folder ``absolute``; what exclude and git
        skipped is counted, for the warning when nothing is left."""
        reason = self.skip_reason(absolute, folder)
        if reason is None:
            return False
        if reason != _BY_DEFAULT:
            counts = self.skipped_counts.setdefault(".gitignore" if reason == _GITIGNORED else "exclude", [0, 0])
            counts[folder] += 1
        return True

    def skip_reason(self, absolute: str, folder: bool) -> str | None:
        """Why a walk skips ``absolute``, if it does: an exclude pattern list, a folder
        skipped by default, or git ignoring it (``respect-gitignore``)."""
        reason = self._exclude_reason(absolute, folder)
        if reason is None and self.settings_of_text(os.path.dirname(absolute)).respect_gitignore:
            if self._gitignored is None:
                from codemods.gitignore import GitIgnored, Translations

                memo = self.cache_dir / "gitignore-patterns.json" if self.cache_dir is not None else None
                self._gitignored = GitIgnored(Translations(memo))
            if self._gitignored.ignores(absolute, folder):
                return _GITIGNORED
        return reason

    def _exclude_reason(self, absolute: str, folder: bool) -> str | None:
        """Which exclude pattern list covers ``absolute``, if one does (or it is a folder
        skipped by default)."""
        if self.exclude and is_excluded(relative_to(absolute, str(self.cwd)), self.exclude):
            return "--exclude"
        settings = self.settings_of_text(absolute if folder else os.path.dirname(absolute))
        if folder and os.path.basename(absolute) not in settings.include and skipped_by_default(absolute):
            return _BY_DEFAULT
        return f"exclude in {settings.source}" if settings.excludes(absolute, str(self.cwd)) else None

    def named_skipped(self, absolute: str, folder: bool) -> bool:
        return self.named_skip_reason(absolute, folder) is not None

    def named_skip_reason(self, absolute: str, folder: bool) -> str | None:
        """Why a path named on the command line (or ``--stdin-filename``) is not looked
        at, as ruff's: only with ``force-exclude``, for an exclude pattern covering it or
        a folder above it (up to the current directory or its configuration's folder);
        what git ignores is looked at when named (ruff's ``--force-exclude`` neither)."""
        settings = self.settings_of_text(absolute if folder else os.path.dirname(absolute))
        if not settings.force_exclude:
            return None
        tops = [str(self.cwd).rstrip(os.sep) + os.sep]
        if settings.source is not None:
            tops.append(str(settings.source.parent.resolve()).rstrip(os.sep) + os.sep)
        path, is_folder = absolute, folder
        # The path itself (but the current directory), then the folders above it inside the project.
        while path == absolute != str(self.cwd) or any(path.startswith(top) for top in tops):
            reason = self._exclude_reason(path, is_folder)
            if reason is not None:
                return reason
            path, is_folder = os.path.dirname(path), True
        return None

    def skipped_summary(self) -> str:
        """What exclude and git skipped: ``3 files skipped by exclude, 1 folder by .gitignore``
        (empty when nothing was)."""
        parts: list[str] = []
        for kind in ("exclude", ".gitignore"):
            files, folders = self.skipped_counts.get(kind, (0, 0))
            counted = " and ".join(plural(count, noun) for count, noun in ((files, "file"), (folders, "folder")) if count)
            if counted:
                parts.append(f"{counted} {'skipped ' if not parts else ''}by {kind}")
        return ", ".join(parts)

    def cache_of(self, settings: Settings) -> FindingsCache | None:
        if self.cache_dir is None:
            return None
        cache = self._caches.get(id(settings))
        if cache is None:
            cache = self._caches[id(settings)] = FindingsCache(self.cache_dir, settings)
        return cache

    def observed_of(self, settings: Settings) -> ObservedRun | None:
        """The recording files of ``settings`` are analysed with, read on first use."""
        if settings.observed is None:
            return None
        recording = self._recordings.get(settings.observed)
        if recording is None:
            from codemods.observed import load

            observations = load(settings.observed)
            recording = self._recordings[settings.observed] = ObservedRun(observations, settings.observed, self.cwd)
        return recording

    def recordings(self) -> list[ObservedRun]:
        return list(self._recordings.values())

    def view_of(self, path: Path, settings: Settings, roots: Iterable[Path] = (), source: bytes | None = None) -> ProjectView:
        """The project around the file ``path`` as a run sees it (``roots``: the folders
        the run's files' top packages are in), for a file analysed on its own; with its
        text ``source``, told what the recording saw in it."""
        from codemods.summaries import file_project_view

        view = file_project_view(path, settings, self.cache_of(settings), [*roots, *self.extra_roots()])
        recording = self.observed_of(settings) if source is not None else None
        if recording is None or source is None:
            return view
        observed = with_observed(view, recording.sites(path, source))
        assert observed is not None  # given a view, it gives one
        return observed

    def extra_roots(self) -> list[Path]:
        """Where a run finds modules besides the folders of its files' top packages."""
        return [self.cwd, self.cwd / "src"]

    def save_caches(self) -> None:
        for cache in self._caches.values():
            cache.save()
        if self._gitignored is not None:
            self._gitignored.save()


def make_project(invocation: Invocation, changes: dict[str, Any], project_type: type[Project] = Project) -> Project:
    """Each file's settings with the command line's ``changes`` applied, and where the
    cache goes (raises ``ConfigError``)."""

    def adjust(settings: Settings) -> Settings:
        return replace(settings, **changes) if changes else settings

    project = project_type(SettingsTree(invocation.config, adjust), invocation.exclude, None)
    if not invocation.no_cache:
        found = project.settings_for(invocation.first_path())
        root = found.source.parent if found.source else Path.cwd()
        project.cache_dir = invocation.cache_dir or default_cache_dir(root.resolve())
    return project


def announce_settings(invocation: Invocation, project: Project, tally: Tally) -> None:
    """With ``-v``: where the settings come from."""
    if invocation.output.verbose:
        settings = project.settings_for(invocation.first_path())
        where = settings.source or "defaults (no [tool.loopsafe] found)"
        tally.echo(f"loopsafe: settings from {where} (each file: its nearest pyproject.toml)", True)


def files_to_look_at(paths: Sequence[str], project: Project, tally: Tally) -> list[SourceFile]:
    """The files under ``paths`` (but stdin), the paths that failed and the files given
    but excluded said on stderr; each file's settings and recording read (a broken
    configuration or recording stops the run here, not midway)."""
    excluded: list[str] = []
    files, errors = discover([Path(p) for p in paths if p != STDIN], project.skipped, project.cwd, excluded,
                             project.named_skipped)
    for display, error in errors:
        tally.error(display, error)
    # Named paths skipped (--force-exclude) pass silently, as ruff's: pre-commit names every file.
    for display in excluded if tally.output.verbose else ():
        reason = project.named_skip_reason(os.path.abspath(display), os.path.isdir(display))
        tally.echo(f"{display}: skipped: matches an exclude pattern ({reason}; force-exclude)", True)
    if not files and not errors and any(p != STDIN for p in paths):
        given = ", ".join(p for p in paths if p != STDIN)
        counts = project.skipped_counts.setdefault("exclude", [0, 0])
        for display in excluded:
            counts[os.path.isdir(display)] += 1
        skipped = project.skipped_summary()
        tally.say(f"loopsafe: warning: no Python files to check under {given}: {skipped}" if skipped
                  else f"loopsafe: warning: no Python files found under {given}")
    for file in files:
        project.observed_of(project.settings_of_file(file))
    if tally.output.verbose:
        tally.echo(f"loopsafe: {plural(len(files), 'Python file')} to look at", True)
    return files


#: Runs with fewer files finish before a progress bar would help.
PROGRESS_MIN_FILES = 200


def shows_progress(total: int, stderr: IO[str]) -> bool:
    """Whether a run over ``total`` files shows a progress bar on ``stderr``: long runs
    on a terminal, never in CI or when piped."""
    return total >= PROGRESS_MIN_FILES and not os.environ.get("CI") and stderr.isatty()


def say_observed(project: Project, tally: Tally) -> None:
    """What became of the recordings' observations, with the run's summary."""
    for recording in project.recordings():
        for line in recording.summary():
            tally.say(f"loopsafe: {line}")


#: Exit statuses, for CI: nothing found; blocking calls found (check), changes needed
#: (diff), calls left for review (fix); a file or path could not be processed, or the
#: command line or configuration is wrong.
EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


def exit_status(tally: Tally, found: bool, exit_zero: bool = False) -> int:
    """``exit_zero`` (``--exit-zero``): what is found does not fail the run; errors do."""
    if tally.errors:
        return EXIT_ERROR
    return EXIT_FOUND if found and not exit_zero else EXIT_CLEAN


# -- check's report ----------------------------------------------------------------------


def report_findings(results: Iterable[tuple[str, TransformResult]], output_format: str, statistics: bool,
                    by_cost: bool, tally: Tally, describe: Describe | None = None) -> bool:
    """``check``'s output for ``results`` (shown name, result) in the format asked for,
    and its summary; whether anything was found. ``describe``: for ``json``, what the
    findings of a file are beyond themselves (``codemods.ruff_json``)."""
    found: list[tuple[str, Finding]] = []
    json_entries = output_format == "json" and not statistics
    described: dict[tuple[str, Finding], dict[str, Any]] = {}
    if json_entries:  # the paths that failed before any file was looked at
        tally.findings.extend(_error_entry(display, error) for display, error in tally.failures)
    for display, result in results:
        if result.error is not None:
            tally.error(display, result.error)
            if json_entries:
                tally.findings.append(_error_entry(display, result.error))
            continue
        if json_entries and result.findings:
            assert describe is not None, "json is printed with each finding's details"
            details = describe(display, result)
            described.update(((display, finding), details(finding)) for finding in result.findings)
        for finding in result.findings:
            found.append((display, finding))
            if not statistics and not by_cost:
                _show(display, finding, output_format, tally, described.get((display, finding)))
    if by_cost:
        found = _costliest_first(found)
        if not statistics:
            for display, finding in found:
                _show(display, finding, output_format, tally, described.get((display, finding)))
    if statistics:
        _print_statistics([finding for _, finding in found], tally, by_cost, output_format == "json")
    elif output_format == "json":
        tally.echo(json.dumps(tally.findings, indent=2), False)
    elif output_format == "sarif":
        from codemods.sarif import sarif_log

        tally.echo(json.dumps(sarif_log(found, tally.failures), indent=2), False)
    if output_format == "text" or statistics:
        fixable = sum(1 for _, finding in found if finding.fixable)
        files = len({display for display, _ in found})
        where = f" in {plural(files, 'file')}" if found else ""
        tally.say(f"loopsafe: {plural(len(found), 'blocking call')} found{where}{tally.failed()}")
        costs = [finding.cost for _, finding in found if finding.cost is not None]
        if costs:
            from codemods.observed import format_seconds

            tally.say(f"loopsafe: {len(costs)} of them stalled the event loop when recorded, "
                      f"{format_seconds(sum(cost.seconds for cost in costs))} in all"
                      f"{'' if by_cost else ' (costliest first: --sort cost)'}")
        if fixable:
            tally.say(f"loopsafe: {fixable} fixable with `loopsafe fix` (see them first with `loopsafe diff`)")
    return bool(found)


def _show(display: str, finding: Finding, output_format: str, tally: Tally,
          details: dict[str, Any] | None = None) -> None:
    """One finding in the format asked for (JSON's are collected, printed as one list;
    ``details``: its ruff fields the finding does not carry)."""
    if output_format == "text":
        tally.echo(finding.format(display), False)
    elif output_format == "github":
        tally.echo(
            f"::error file={display},line={finding.line},col={finding.column},"
            f"title=loopsafe {finding.code}::{_github_escape(finding.message)}", False,
        )
    elif output_format == "json":
        tally.findings.append({
            "path": display, "line": finding.line, "column": finding.column,
            "code": finding.code, "name": finding.name, "fixable": finding.fixable,
            "message": finding.message, **({"chain": list(finding.chain)} if finding.chain else {}),
            **({"cost": finding.cost.to_json()} if finding.cost is not None else {}),
            # ruff's fields, for the tools that read ruff's JSON:
            "filename": _absolute(display), "location": _position(finding.line, finding.column),
            **(details or {"end_location": _position(finding.line, finding.column), "fix": None, "noqa_row": None}),
            "url": None, "cell": None,
        })


def _error_entry(display: str, error: FileError) -> dict[str, Any]:
    """A file that could not be processed, as a JSON entry: ruff's ``invalid-syntax`` for
    a file that is not Python; the others (a file that cannot be read, or analysed)
    have no code."""
    code = INVALID_SYNTAX if error.syntax else None
    line, column = error.line or 1, error.column or 1
    return {
        "path": display, "line": line, "column": column, "code": code, "name": code or "error", "fixable": False,
        "message": error.message, "filename": _absolute(display), "location": _position(line, column),
        "end_location": _position(line, column), "fix": None, "noqa_row": None, "url": None, "cell": None,
    }


#: ruff's code (and name) of a file it cannot parse.
INVALID_SYNTAX = "invalid-syntax"


def _absolute(display: str) -> str:
    """The file's absolute path, as ruff gives it (``-``: stdin without a name, as ruff)."""
    return STDIN if display == UNNAMED_STDIN else os.path.abspath(display)


def _position(row: int, column: int) -> dict[str, int]:
    return {"row": row, "column": column}


def _costliest_first(found: list[tuple[str, Finding]]) -> list[tuple[str, Finding]]:
    """``check --sort cost``: the findings a recording saw stall the loop, the longest
    stalled first, then the others, each group in the usual order (a stable sort)."""
    return sorted(found, key=lambda item: (0, -item[1].cost.seconds) if item[1].cost is not None else (1, 0.0))


def _print_statistics(findings: Sequence[Finding], tally: Tally, by_cost: bool = False, as_json: bool = False) -> None:
    """``count  CODE  name  (N fixable)``, most frequent first, as ``ruff --statistics``;
    then, for the rows a recording saw stall the loop, the time and the steps
    (``by_cost``: those rows first, the longest first). ``as_json``: a list of rows as
    ruff's (``code``, ``name``, ``count``, ``fixable``, ``fixable_count``; ``cost`` where
    observed), the files that could not be processed counted as ruff counts its
    ``invalid-syntax`` (``code`` null)."""
    counts: dict[tuple[str, str], list[int]] = {}
    costs: dict[tuple[str, str], list[Cost]] = {}
    for finding in findings:
        count = counts.setdefault((finding.code, finding.name), [0, 0])
        count[0] += 1
        count[1] += finding.fixable
        if finding.cost is not None:
            costs.setdefault((finding.code, finding.name), []).append(finding.cost)
    observed: dict[tuple[str, str], Cost | None] = {}
    if costs:
        from codemods.observed import merge_costs

        observed = {row: merge_costs(found) for row, found in costs.items()}

    def order(item: tuple[tuple[str, str], list[int]]) -> tuple[float, int, tuple[str, str]]:
        cost = observed.get(item[0])
        return (-cost.seconds if by_cost and cost is not None else 0.0, -item[1][0], item[0])

    rows = sorted(counts.items(), key=order)
    if as_json:
        failed: dict[str, int] = {}
        for _, error in tally.failures:
            name = INVALID_SYNTAX if error.syntax else "error"
            failed[name] = failed.get(name, 0) + 1
        table = [(order(((code, name), counts)), {
            "code": code, "name": name, "count": counts[0], "fixable": counts[1] > 0, "fixable_count": counts[1],
            **({"cost": cost.to_json()} if (cost := observed.get((code, name))) is not None else {}),
        }) for (code, name), counts in rows]
        table += [((0.0, -total, ("", name)), {"code": None, "name": name, "count": total, "fixable": False,
                                               "fixable_count": 0}) for name, total in failed.items()]
        tally.echo(json.dumps([row for _, row in sorted(table, key=lambda item: item[0])], indent=2), False)
        return
    for (code, name), (total, fixable) in rows:
        cost = observed.get((code, name))
        stalled = f"  observed {cost.amount}" if cost is not None else ""
        tally.echo(f"{total:>6}  {code}  {shown_name(name)}  ({fixable} fixable){stalled}", False)


def _github_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"

"""The ``loopsafe`` command line: ``check``, ``diff`` and ``fix``.

Exit status, for CI:
  0  nothing found / nothing to change
  1  blocking calls found (check), changes needed (diff), calls left for review (fix);
     0 instead with --exit-zero
  2  a file or path could not be processed, or the command line / config is wrong
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import click

from codemods import __version__, invocation
from codemods.cache import CACHE_DIR_NAME, ENVIRONMENT_VARIABLE
from codemods.codes import normalize_selector, selector_error
from codemods.config import ConfigError, Settings
from codemods.findings import FileError, Finding, TransformResult
from codemods.invocation import (
    EXIT_ERROR,
    STDIN,
    Invocation,
    Output,
    Tally,
    announce_settings,
    exit_status,
    files_to_look_at,
    make_project,
    plural,
    report_findings,
    say_observed,
    shows_progress,
)
from codemods.observed import DEFAULT_FILE as OBSERVED_FILE, ObservedError
from codemods.project import run_project
from codemods.runner import (
    ChangedOnDisk,
    ReadOnlyFile,
    FileOutcome,
    ObservedRun,
    SourceFile,
    default_jobs,
    line_map,
    unified_diff,
    write_atomically,
)

if TYPE_CHECKING:
    from codemods.invocation import Describe
    from codemods.ruff_json import FileWork



class ConfigProblem(click.ClickException):
    """A mistake in the configuration: shown without a traceback, exit status 2 (as
    usage errors), not 1, which means "blocking calls found"."""

    exit_code = EXIT_ERROR


def _split_codes(context: click.Context, parameter: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """``--select LS251,ls24 --select ASYNC`` -> ``("LS251", "LS24", "ASYNC")``: selectors,
    kept as given (how specific each is decides, as in ruff: ``codemods.codes``)."""
    selectors: list[str] = []
    for value in values:
        for text in filter(None, (part.strip() for part in value.split(","))):
            selector = normalize_selector(text)
            if selector is None:
                raise click.BadParameter(selector_error(text))
            selectors.append(selector)
    return tuple(selectors)


def _common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("paths", nargs=-1, required=False, type=click.Path(path_type=str)),
        click.option(
            "--select", "select", multiple=True, metavar="CODES", callback=_split_codes,
            help="Only these codes, instead of `select` in [tool.loopsafe] (default: ALL): codes (LS251, "
            "or its ASYNC251) or prefixes (LS25, LS2, LS, ASYNC, ALL); comma-separated or repeated. Fixes too.",
        ),
        click.option(
            "--extend-select", "extend_select", multiple=True, metavar="CODES", callback=_split_codes,
            help="These codes or prefixes too, besides `select`.",
        ),
        click.option(
            "--ignore", "ignore", multiple=True, metavar="CODES", callback=_split_codes,
            help="Leave these codes or prefixes alone; with `ignore` in [tool.loopsafe] unless --select is "
            "given. As in ruff, a more specific code or prefix wins (--select LS2 --ignore LS25 --select "
            "LS251); of two as specific, --ignore.",
        ),
        click.option("--no-transitive", "no_transitive", is_flag=True, default=False,
                     help="Do not follow calls of the project's own functions (LS301); same as --ignore LS301."),
        click.option("--exit-zero", "exit_zero", is_flag=True, default=False,
                     help="Exit 0 even when calls are found or files would change; 2 still means a file "
                     "could not be processed or the command line or configuration is wrong."),
        click.option("-q", "--quiet", is_flag=True, default=False,
                     help="Print findings and errors only: no summary, hint or progress bar."),
        click.option("-v", "--verbose", is_flag=True, default=False,
                     help="Also say which settings apply and how many files were looked at."),
        click.option(
            "--stdin-filename", "stdin_filename", metavar="PATH", default=None,
            help="With `-` (stdin): the file it holds, for editors and pre-commit: settings are "
            "looked up from it, excludes apply to it, messages name it.",
        ),
        click.option(
            "--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
            help="Colour the diff: auto = on a terminal, unless NO_COLOR is set.",
        ),
        click.option(
            "--exclude", "exclude", multiple=True, metavar="GLOB",
            help="Skip files and folders matching GLOB (relative path or name). Repeatable; "
            "adds to `exclude` in [tool.loopsafe].",
        ),
        click.option(
            "--respect-gitignore/--no-respect-gitignore", "respect_gitignore", default=None,
            help="Skip what git ignores (.gitignore files, .git/info/exclude, the global excludes file) "
            "when walking folders inside a git repository, and what .ignore files list, in git or not "
            "(default; `respect-gitignore` in [tool.loopsafe]). Files named on the command line are looked at "
            "all the same.",
        ),
        click.option(
            "--force-exclude/--no-force-exclude", "force_exclude", default=None,
            help="Apply the exclude patterns to paths named on the command line (and --stdin-filename) "
            "too, for pre-commit, which names every file; `force-exclude` in [tool.loopsafe]. "
            "Without it, a named file is looked at even if excluded.",
        ),
        click.option(
            "--native-sleep/--no-native-sleep", "native_sleep", default=None,
            help="Rewrite time.sleep(x) as `await asyncio.sleep(x)` (default) or with "
            "asyncio.to_thread like every other call.",
        ),
        click.option(
            "--config", "config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Read [tool.loopsafe] from this pyproject.toml instead of the nearest one.",
        ),
        click.option(
            "-j", "--jobs", type=click.IntRange(min=1), default=None,
            help="Files processed in parallel (default: all cores).",
        ),
        click.option(
            "--no-cache", "no_cache", is_flag=True, default=False,
            help=f"Neither read nor write the findings cache ({CACHE_DIR_NAME}/ beside the project's "
            f"pyproject.toml, or ${ENVIRONMENT_VARIABLE}), which spares reading unchanged files.",
        ),
        click.option(
            "--cache-dir", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
            help="Keep the findings cache in this folder instead.",
        ),
        click.option(
            "--target-version", "target_version", metavar="3.X", default=None,
            help="Oldest Python the code runs on (default: `target-version` in [tool.loopsafe], "
            "else the project's requires-python). Below 3.9, calls are offloaded with "
            "loop.run_in_executor instead of asyncio.to_thread.",
        ),
        click.option(
            "--observed", "observed", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path), default=None,
            help=f"Use what `loopsafe record` saw ({OBSERVED_FILE}): a finding at a call that stalled the "
            "event loop says how long; a call loopsafe did not know of becomes LS401 (offloaded by fix where "
            "safe). Observations of a file changed since the recording are dropped (the summary counts them). "
            "Default: `observed` in [tool.loopsafe].",
        ),
    ]
    @functools.wraps(command)
    def with_invocation(
        paths: tuple[str, ...], exclude: tuple[str, ...], native_sleep: bool | None, config: Path | None,
        jobs: int | None, target_version: str | None, no_cache: bool, cache_dir: Path | None,
        select: tuple[str, ...], ignore: tuple[str, ...], quiet: bool, verbose: bool, color: str,
        stdin_filename: str | None, no_transitive: bool, observed: Path | None, extend_select: tuple[str, ...],
        exit_zero: bool, respect_gitignore: bool | None, force_exclude: bool | None, **rest: Any,
    ) -> Any:
        if no_transitive:
            ignore = (*ignore, "LS301")
        colored = {"always": True, "never": False}.get(color)
        if colored is None and os.environ.get("NO_COLOR"):
            colored = False  # https://no-color.org: any value turns colour off
        invocation = Invocation(
            paths or (".",), exclude, native_sleep, config, jobs, target_version, no_cache, cache_dir, select,
            ignore, Output(quiet, verbose and not quiet, colored), stdin_filename, observed, extend_select, exit_zero,
            respect_gitignore, force_exclude,
        )
        return command(invocation, **rest)

    wrapped: Callable[..., Any] = with_invocation
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


class Project(invocation.Project):
    """``invocation.Project`` whose configuration and recording problems are the click
    app's: shown without a traceback, exit status 2."""

    def settings_for(self, path: Path, folder: bool | None = None) -> Settings:
        try:
            return super().settings_for(path, folder)
        except ConfigError as error:
            raise ConfigProblem(str(error)) from None

    def observed_of(self, settings: Settings) -> ObservedRun | None:
        try:
            return super().observed_of(settings)
        except ObservedError as error:
            raise ConfigProblem(str(error)) from None


class _WithoutFix(click.Command):
    """``check`` and ``diff``: ``--fix``, as ruff users write ``ruff check --fix``, is a usage
    error that says which command rewrites (click would suggest ``--config``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as error:
            if error.option_name != "--fix":
                raise
            then = "makes the changes it shows" if self.name == "diff" else \
                "rewrites them (`loopsafe diff` shows the changes first)"
            raise click.UsageError(
                f"No such option: --fix. `loopsafe {self.name}` changes no file: `loopsafe fix` {then}.", ctx,
            ) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="loopsafe")
def main() -> None:
    """Find blocking calls inside coroutines and move them off the event loop.

    A call such as `time.sleep(1)`, `requests.get(url)` or `subprocess.run(cmd)` inside
    an `async def` freezes the event loop and every task on it. loopsafe finds these
    calls (resolving names through imports and scopes, never by spelling) and rewrites
    them to `await asyncio.to_thread(func, *args, **kwargs)`, or to an exact asyncio
    equivalent (`await asyncio.sleep(x)`). Calls with no safe rewrite are reported.

    \b
    Commands:
      check  list blocking calls, change nothing           (exit 1 if any)
      diff   print the rewrite as a unified diff, change nothing (exit 1 if any change)
      fix    rewrite files in place                        (exit 1 if calls need review)
      server a language server for editors (LSP over stdin/stdout)
      record run a program, record where its event loop stalled  (exit: the program's)
    Exit 2 means a file could not be processed or the configuration is wrong;
    --exit-zero turns 1 into 0 (not 2).

    Each file gets the settings of [tool.loopsafe] in its nearest pyproject.toml.
    """


def _load(invocation: Invocation) -> tuple[Project, Tally]:
    """The project (each file's settings, excludes, caches) and a tally for this run."""
    try:
        changes = invocation.settings_changes()
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--target-version") from None
    try:
        project = make_project(invocation, changes, Project)
    except ConfigError as error:
        raise ConfigProblem(str(error)) from None
    assert isinstance(project, Project)
    tally = Tally(_echo, output=invocation.output)
    announce_settings(invocation, project, tally)
    return project, tally


def _echo(text: str, err: bool = False, nl: bool = True, color: bool | None = None) -> None:
    """Every line a command prints while it runs: on a line of its own, the progress bar
    wiped first (it is drawn again when the next file is done)."""
    if _progress is not None:
        _progress.wipe()
    click.echo(text, err=err, nl=nl, color=color)


def _outcomes(invocation: Invocation, project: Project, tally: Tally, findings_only: bool = False) -> Iterator[FileOutcome]:
    """Outcomes streamed in path order; files are not held in memory all at once."""
    files = files_to_look_at(invocation.paths, project, tally)
    outcomes = run_project(
        files, project.settings_of_file, invocation.jobs or default_jobs(), findings_only, project.cache_of,
        extra_roots=project.extra_roots(), observed_of=project.observed_of,
    )
    return _saving(project, outcomes if tally.output.quiet else _with_progress(outcomes, len(files)))


def _saving(project: Project, outcomes: Iterator[FileOutcome]) -> Iterator[FileOutcome]:
    """The outcomes; then (also after an interruption) the caches are saved."""
    try:
        yield from outcomes
    finally:
        project.save_caches()


class _ProgressBar:
    """``loopsafe  [#####-----]  28/222`` on the terminal line stderr is at: drawn as files
    are done (at most every 0.1 s), wiped before any other line goes out (``_echo``) and at
    the end, so that no output lands on it. Kept shorter than the terminal is wide: a line
    that wrapped could not be wiped."""

    WIPE = "\r\x1b[K"  # to the line's start, and clear it

    def __init__(self, stream: IO[str], total: int) -> None:
        self.stream, self.total = stream, total
        self.shown = False
        self.drawn_at = 0.0

    def draw(self, done: int) -> None:
        now = time.monotonic()
        if self.shown and done < self.total and now - self.drawn_at < 0.1:
            return
        width = self.columns() - 1
        count = f"  {done}/{self.total}"
        room = max(0, min(36, width - len("loopsafe  []") - len(count)))
        filled = room * done // self.total
        line = f"loopsafe  [{'#' * filled}{'-' * (room - filled)}]{count}"
        self.stream.write(self.WIPE + line[:width])
        self.stream.flush()
        self.shown, self.drawn_at = True, now

    def columns(self) -> int:
        """The width of the terminal the bar is on (stdout may be piped elsewhere)."""
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80
        except (OSError, ValueError, AttributeError):
            return shutil.get_terminal_size().columns

    def wipe(self) -> None:
        if self.shown:
            self.stream.write(self.WIPE)
            self.stream.flush()
            self.shown = False


#: The progress bar on the terminal while a long run goes, if one is.
_progress: _ProgressBar | None = None


def _with_progress(outcomes: Iterator[FileOutcome], total: int) -> Iterator[FileOutcome]:
    """A progress bar on stderr for long runs on a terminal; silent in CI and when piped.
    What the caller prints of each outcome goes out through ``_echo``, which wipes it."""
    global _progress
    stderr = click.get_text_stream("stderr")
    if not shows_progress(total, stderr):
        yield from outcomes
        return
    bar = _progress = _ProgressBar(stderr, total)
    try:
        bar.draw(0)
        for done, outcome in enumerate(outcomes, start=1):
            yield outcome
            bar.draw(done)
    finally:
        bar.wipe()
        _progress = None


def _stdin(invocation: Invocation, project: Project) -> tuple[bytes, TransformResult]:
    """stdin and its result, with the settings of ``--stdin-filename`` (else of the
    current directory); a name that ``exclude`` skips under ``--force-exclude`` passes
    through unchanged."""
    from codemods.engine import transform_source

    source = click.get_binary_stream("stdin").read()
    name = os.path.abspath(invocation.stdin_filename or "stdin.py")
    if invocation.stdin_filename is not None and project.named_skipped(name, False):
        return source, TransformResult(source, source)
    settings = project.settings_for(Path(name), folder=False)
    project.observed_of(settings)  # a recording that cannot be used stops the run, named or not
    # Named, it is that module of its project: calls into the other modules are followed
    # as a check of the file by path follows them, and what a recording saw in it applies.
    view = (project.view_of(Path(name).resolve(), settings, source=source)
            if invocation.stdin_filename is not None else None)
    return source, transform_source(source, settings, invocation.stdin_name, project=view)


def _with_stdin(invocation: Invocation, project: Project,
                outcomes: Iterator[FileOutcome]) -> Iterator[tuple[str, TransformResult]]:
    if STDIN in invocation.paths:
        yield invocation.stdin_name, _stdin(invocation, project)[1]
    for outcome in outcomes:
        yield outcome.file.display, outcome.result


def _finish(invocation: Invocation, tally: Tally, found: bool) -> None:
    sys.exit(exit_status(tally, found, invocation.exit_zero))


@main.command(cls=_WithoutFix)
@_common_options
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
    show_default=True,
    help="text: `path:line:col: CODE message`; json: a list of objects with ruff's fields too (filename, "
    "location, end_location, fix with its edits, noqa_row; a file that cannot be parsed: code invalid-syntax), "
    "and a `cost` where a recording saw the call stall the loop (--observed); "
    "github: GitHub Actions annotations; sarif: a SARIF 2.1.0 log (GitHub code scanning).",
)
@click.option("--statistics", is_flag=True, default=False,
              help="Print how many findings each code and callable has (and, with --observed, how long "
              "the recording saw them stall the loop), instead of the findings.")
@click.option(
    "--sort", "sort", type=click.Choice(["path", "cost"]), default="path", show_default=True,
    help="path: file by file, each by line. cost (with --observed): the findings the recording saw "
    "stall the event loop first, costliest first, then the others by path; with --statistics, the rows "
    "by observed time.",
)
@click.option("--add-noqa", "add_noqa", is_flag=True, default=False,
              help="Add `# noqa: LSxxx` where each finding would be suppressed (to adopt loopsafe on a "
              "large codebase and fail CI on new findings only); changes only those lines.")
def check(invocation: Invocation, output_format: str, statistics: bool, sort: str, add_noqa: bool) -> None:
    """List every blocking call in a coroutine; change no file (but with --add-noqa).

    Each line is `path:line:col: CODE message`; the message says how loopsafe fixes the
    call, or why it cannot, and with --observed how long a recording saw it stall the
    event loop. Without PATHS, the current directory. Exit 1 if anything is found.
    """
    project, tally = _load(invocation)
    if add_noqa:
        _add_noqa_comments(invocation, project, tally)
        return
    results = _with_stdin(invocation, project, _outcomes(invocation, project, tally, True))
    describe = None
    if output_format == "json" and not statistics:
        results, describe = _json_details(invocation, project, results)
    found = report_findings(results, output_format, statistics, sort == "cost", tally, describe)
    say_observed(project, tally)
    _finish(invocation, tally, found)


def _json_details(invocation: Invocation, project: Project,
                  results: Iterator[tuple[str, TransformResult]]) -> tuple[Iterator[tuple[str, TransformResult]], Describe]:
    """For ``check --format json``: each finding's ruff fields beyond itself (where its
    call ends, its ``# noqa`` line, its fix as edits), from the file read again and seen
    in its project as the run saw it (stdin: as ``_stdin`` sees it). Every call's fix is
    a rewrite of its own, so the files with findings are described on all cores
    (``-j``), as the run's files were analysed: ``results`` are all taken first (JSON is
    printed at the end anyway), then handed on in their order."""
    from codemods.ruff_json import details_of_files, key

    taken = list(results)
    stdin = invocation.stdin_name if STDIN in invocation.paths else None
    roots = _roots_of(Path(os.path.abspath(display)) for display, _ in taken if display != stdin)
    work: dict[str, FileWork] = {}
    for display, result in taken:
        if result.error is not None or not result.findings:
            continue
        if display == stdin:
            path = Path(os.path.abspath(invocation.stdin_filename or "stdin.py"))
            source = result.source
            settings = project.settings_for(path, folder=False)
            view = project.view_of(path.resolve(), settings, source=source) if invocation.stdin_filename else None
        else:
            path = Path(os.path.abspath(display))
            try:  # a file answered from the cache was not read
                source = result.source or path.read_bytes()
            except OSError:
                continue
            settings = project.settings_of_text(str(path.parent))
            view = project.view_of(path, settings, roots, source)
        if source:
            work[display] = (source, settings, str(path), view)
    described = details_of_files(work, invocation.jobs or default_jobs())

    def describe(display: str, result: TransformResult) -> Callable[[Finding], dict[str, Any]]:
        found = described.get(display, {})
        return lambda finding: found[key(finding)].to_json(finding) if key(finding) in found else {}

    return iter(taken), describe


def _add_noqa_comments(invocation: Invocation, project: Project, tally: Tally) -> None:
    """``check --add-noqa``: suppression comments on the lines of the findings ``check``
    lists (those of calls into other modules too: each file is seen in its project)."""
    from codemods.engine import add_noqa

    # Every file's findings first (not its bytes): where modules are found depends on all files.
    found: list[tuple[SourceFile, list[Finding]]] = []
    for outcome in _outcomes(invocation, project, tally, findings_only=True):
        if outcome.result.error is not None:
            tally.error(outcome.file.display, outcome.result.error)
        else:
            found.append((outcome.file, outcome.result.findings))
    roots = _roots_of(file.path for file, _ in found)
    added = files = 0
    for file, findings in found:
        if not findings:
            continue
        display = file.display
        source = file.path.read_bytes()
        settings = project.settings_of_file(file)
        commented = add_noqa(
            source, settings, str(file.path), selected=_among(findings),
            project=project.view_of(file.path, settings, roots, source),
        )
        if commented.error is not None:
            tally.error(display, commented.error)
            continue
        if commented.changed:
            try:
                write_atomically(file.path, commented.output, source)
            except (ChangedOnDisk, ReadOnlyFile, OSError) as error:
                tally.error(display, FileError(f"not written: {error}"))
                continue
            added += len(commented.findings)
            files += 1
        placed = _among(commented.findings)
        for finding in findings:
            if not placed(finding):  # never silently: `check` would still list it
                _echo(f"{display}:{finding.line}:{finding.column}: warning: {finding.code} not suppressed: "
                      "loopsafe found no line for its `# noqa` comment", err=True)
    tally.say(f"loopsafe: {plural(added, 'finding')} suppressed with `# noqa` in {plural(files, 'file')}"
              f"{tally.failed()}")
    say_observed(project, tally)
    _finish(invocation, tally, False)


def _roots_of(paths: Iterable[Path]) -> list[Path]:
    """The folders of the top packages of a run's files: where the run found its modules
    (``codemods.project``), so a file seen again on its own is seen in the same project."""
    from codemods.module_names import module_name_of

    folders: dict[str, tuple[list[str], str]] = {}
    return sorted({module_name_of(path, folders)[2] for path in paths})


def _among(findings: Sequence[Finding]) -> Callable[[Finding], bool]:
    """Whether a finding is one of ``findings`` (the same call and code)."""
    places = {(finding.line, finding.column, finding.code) for finding in findings}
    return lambda finding: (finding.line, finding.column, finding.code) in places


def _echo_diff(text: str, color: bool | None) -> None:
    """The diff on stdout, coloured on a terminal (``color`` ``None``), always or never."""
    # Split at "\n" only: diff lines may hold form feeds, which splitlines splits at.
    for line in io.StringIO(text, newline="\n"):
        if line.startswith(("+++", "---")):
            line = click.style(line, bold=True)
        elif line.startswith("@@"):
            line = click.style(line, fg="cyan")
        elif line.startswith("+"):
            line = click.style(line, fg="green")
        elif line.startswith("-"):
            line = click.style(line, fg="red")
        _echo(line, nl=False, color=color)


def _report_unfixable(display: str, result: TransformResult, tally: Tally, written: bool = False) -> None:
    """Count the calls rewritten and list those left for review; ``written``: where they
    are in the rewritten file, as the user will now see it."""
    tally.calls_fixed += result.fixed_count
    left = _left_after_fix(result) if written and result.left is not None else result.findings
    for finding in left:
        if not finding.fixable:
            tally.calls_reported += 1
            _echo(finding.format(display), err=True)


def _left_after_fix(result: TransformResult) -> list[Finding]:
    """What is left in a rewritten file: the rewritten file's findings (``result.left``,
    found without the recording, whose places are the old file's), with the calls the
    recording alone found and the fix left (LS401 reported) moved to where they are now,
    and the cost the recording saw on each."""
    observed = [finding for finding in result.findings if finding.cost is not None and not finding.fixable]
    if not observed:
        return list(result.left or [])
    now = line_map(result.source, result.output)
    moved = [replace(finding, line=now(finding.line)) for finding in observed]
    costs = {(finding.line, finding.code, finding.name): finding.cost for finding in moved}
    left = [replace(finding, cost=costs.get((finding.line, finding.code, finding.name))) for finding in result.left or []]
    static = {(finding.line, finding.code, finding.name) for finding in left}
    return sorted([*left, *(f for f in moved if (f.line, f.code, f.name) not in static)])


@main.command(cls=_WithoutFix)
@_common_options
def diff(invocation: Invocation) -> None:
    """Print the rewrite as a unified diff; change no file.

    The diff has `a/` and `b/` prefixes relative to the current directory, so
    `loopsafe diff src/ | git apply` applies it. Calls that cannot be rewritten are
    listed on stderr. Without PATHS, the current directory. Exit 1 if any file would change.
    """
    project, tally = _load(invocation)
    for display, result in _with_stdin(invocation, project, _outcomes(invocation, project, tally)):
        if result.error is not None:
            tally.error(display, result.error)
            continue
        _report_unfixable(display, result, tally)
        if result.changed:
            tally.files_changed += 1
            _echo_diff(unified_diff(result.source, result.output, display), invocation.output.color)
    tally.summarize(dry_run=True)
    say_observed(project, tally)
    _finish(invocation, tally, tally.files_changed > 0)


@main.command()
@_common_options
def fix(invocation: Invocation) -> None:
    """Rewrite files in place.

    Files with nothing to change are not touched; each file is replaced atomically
    (a temporary file, then a rename), so an interrupted run leaves every file old or
    new. `-` reads stdin and writes the result to stdout. Without PATHS, the current
    directory. Calls that cannot be rewritten are listed on stderr; exit 1 if there are
    any. Run the project's formatter afterwards: rewritten lines may be longer.
    """
    project, tally = _load(invocation)
    if STDIN in invocation.paths:
        source, result = _stdin(invocation, project)
        if result.error is not None:
            tally.error(invocation.stdin_name, result.error)
            click.get_binary_stream("stdout").write(source)
        else:
            _report_unfixable(invocation.stdin_name, result, tally, written=True)
            click.get_binary_stream("stdout").write(result.output)
            tally.files_changed += int(result.changed)
        click.get_binary_stream("stdout").flush()  # before the summary on stderr
    for outcome in _outcomes(invocation, project, tally):
        result, display = outcome.result, outcome.file.display
        if result.error is not None:
            tally.error(display, result.error)
            continue
        if not result.changed:
            _report_unfixable(display, result, tally)
            continue
        try:
            write_atomically(outcome.file.path, result.output, result.source)
        except ChangedOnDisk:
            tally.error(display, FileError("changed on disk while loopsafe ran; not written"))
            continue
        except ReadOnlyFile:
            tally.error(display, FileError("read-only (no write permission bit); not written: make it writable "
                                           "to fix it, or exclude it"))
            continue
        except OSError as error:
            tally.error(display, FileError(f"cannot write: {error.strerror or error}"))
            continue
        _report_unfixable(display, result, tally, written=True)
        tally.files_changed += 1
    tally.summarize(dry_run=False)
    say_observed(project, tally)
    _finish(invocation, tally, tally.calls_reported > 0)


@main.command()
@click.option("--stdio", is_flag=True, default=False,
              help="Talk over stdin/stdout: the only transport, so this changes nothing (editor clients "
              "often pass it).")
def server(stdio: bool) -> None:
    """Run loopsafe as a language server (LSP) on stdin/stdout, for editors.

    Diagnostics as you type (every finding, with its fix or the reason there is none),
    a quick fix per call, `# noqa` suppression, and "fix all" (code action kind
    `source.fixAll.loopsafe`, the same edit as `loopsafe fix`). Settings come from each
    document's nearest pyproject.toml, as for `check`. See the README for VS Code,
    Neovim and Helix.
    """
    try:
        from codemods.server import main as serve
    except ImportError as error:  # pygls/lsprotocol missing from an old installation
        raise click.ClickException(f"the language server needs pygls and lsprotocol ({error})") from None
    serve()


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              default="loopsafe-observed.json", show_default=True, help="Where the observations go.")
@click.option("--threshold", metavar="MS", type=click.FloatRange(min=0, min_open=True), default=20.0,
              show_default=True, help="A loop step longer than this many milliseconds is a stall.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def record(output: Path, threshold: float, command: tuple[str, ...]) -> None:
    """Run COMMAND and record where its event loops stalled, for `check --observed`.

    \b
      loopsafe record -- python -m pytest tests/
      loopsafe record -o before.json --threshold 50 -- python app.py --port 8080

    Every Python process COMMAND starts is recorded (pytest-xdist workers, `subprocess`
    with `sys.executable`), through a sitecustomize module on PYTHONPATH, from the moment
    it runs an asyncio event loop (a program without one pays nothing). A loop step that
    runs longer than the threshold is a stall: its time goes to the call in the project's
    innermost coroutine that was in progress (the project: files under the current
    directory, outside site-packages and virtual environments), with the chain of calls
    below it down to the one that blocked. Work handed to a thread (`asyncio.to_thread`)
    is not a stall.

    FILE (JSON; the format is documented in codemods/observed.py) holds per call site:
    path, line and columns, the coroutine, the stalls, their total and longest time, the
    chains seen, and each module's content hash (`check` drops observations of a module
    changed since). A summary goes to stderr.

    COMMAND's output and exit status are its own (a command killed by a signal kills
    loopsafe with it; 127/126: it could not be started; 2: FILE could not be written).
    Ctrl-C goes to COMMAND, and loopsafe waits for it. Not recorded: a Python started with
    -I, -E or -S (no sitecustomize), Pythons before 3.9, loops not built on asyncio's
    (uvloop).
    """
    from codemods.recording.session import CommandError, die_like, exit_status, summarize, write
    from codemods.recording.session import record as record_command

    try:
        outcome = record_command(command, threshold, Path.cwd())
    except CommandError as error:
        click.echo(f"loopsafe record: {error}", err=True)
        sys.exit(error.status)
    try:
        write(output, outcome.observations)
    except OSError as error:
        click.echo(f"loopsafe record: cannot write {output}: {error.strerror or error}", err=True)
        sys.exit(2)
    summarize(outcome.observations, output, sys.stderr)
    sys.stderr.flush()
    die_like(outcome.returncode)
    sys.exit(exit_status(outcome.returncode))

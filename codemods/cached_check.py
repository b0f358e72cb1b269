"""``loopsafe check`` answered from the findings cache, before the click app is loaded.

When nothing changed since the last run (each file's size and modification time as
stored, the same settings and loopsafe code: ``codemods.cache``), ``check`` only walks,
stats, reads the cache and prints. This does that without importing click, the analyses,
libcst or the catalog: the command line is read here, for the options this understands,
with click's rules (``codemods.cli`` declares the options; this reads the same ones the
same way), and the report is ``codemods.invocation``'s, which the click app prints too.

Anything else is declined (``answer`` gives ``None`` and has printed nothing) and goes to
the click app: another command, help, a mistake on the command line (click says what
it is), stdin, ``--no-cache``, ``--observed``, ``--add-noqa``, ``--format json`` without
``--statistics`` (each finding's fix, as edits, is not in the cache), a configuration error, a
file the cache does not answer for, output click would change (colour codes, a stream
that cannot encode it) or a progress bar.
"""

from __future__ import annotations

import codecs
import os
import stat
import sys
from pathlib import Path

from codemods.codes import normalize_selector
from codemods.config import ConfigError, Settings
from codemods.invocation import (
    STDIN,
    Invocation,
    Output,
    Project,
    Tally,
    announce_settings,
    exit_status,
    files_to_look_at,
    make_project,
    report_findings,
    say_observed,
    shows_progress,
)
from codemods.project import cached_outcomes
from codemods.runner import ObservedRun

TYPE_CHECKING = False  # as typing's, which a check answered from the cache does not import
if TYPE_CHECKING:
    from typing import Any, Sequence

#: Options without a value: name -> (what it sets, to what).
_FLAGS: dict[str, tuple[str, Any]] = {
    "-q": ("quiet", True), "--quiet": ("quiet", True),
    "-v": ("verbose", True), "--verbose": ("verbose", True),
    "--no-transitive": ("no_transitive", True),
    "--native-sleep": ("native_sleep", True), "--no-native-sleep": ("native_sleep", False),
    "--statistics": ("statistics", True), "--exit-zero": ("exit_zero", True),
    "--respect-gitignore": ("respect_gitignore", True), "--no-respect-gitignore": ("respect_gitignore", False),
    "--force-exclude": ("force_exclude", True), "--no-force-exclude": ("force_exclude", False),
}
#: Options with a value: name -> what it sets.
_VALUED: dict[str, str] = {
    "--select": "select", "--ignore": "ignore", "--exclude": "exclude", "--color": "color",
    "--config": "config", "-j": "jobs", "--jobs": "jobs", "--cache-dir": "cache_dir",
    "--target-version": "target_version", "--format": "output_format", "--sort": "sort",
    "--extend-select": "extend_select",
}
#: Options that may be repeated, each value kept (the others: the last one wins).
_REPEATED = frozenset({"select", "ignore", "exclude", "extend_select"})
#: Options whose value is one of these.
_CHOICES: dict[str, tuple[str, ...]] = {
    "color": ("auto", "always", "never"),
    "output_format": ("text", "json", "github", "sarif"),
    "sort": ("path", "cost"),
}
_DEFAULTS: dict[str, Any] = {
    "quiet": False, "verbose": False, "no_transitive": False, "native_sleep": None, "statistics": False,
    "select": (), "ignore": (), "exclude": (), "color": "auto", "config": None, "jobs": None, "cache_dir": None,
    "target_version": None, "output_format": "text", "sort": "path", "extend_select": (), "exit_zero": False,
    "respect_gitignore": None, "force_exclude": None,
}


class _Declined(Exception):
    """The run is not one this answers: the click app runs it."""


def answer(arguments: Sequence[str]) -> int | None:
    """The exit status of ``loopsafe ARGUMENTS``, its output printed, when it is a
    ``check`` the findings cache answers; ``None``, nothing printed, otherwise."""
    try:
        return _answer(arguments)
    except _Declined:
        return None


def _answer(arguments: Sequence[str]) -> int:
    options = _read_command_line(arguments)
    invocation = _invocation(options)
    lines: list[tuple[str, bool]] = []
    tally = Tally(lambda text, err: lines.append((text, err)), output=invocation.output)
    try:
        changes = invocation.settings_changes()
    except ValueError:
        raise _Declined from None  # click says what is wrong with --target-version
    try:
        project = make_project(invocation, changes, _CacheOnly)
        announce_settings(invocation, project, tally)
        files = files_to_look_at(invocation.paths, project, tally)
    except ConfigError:
        raise _Declined from None
    if not invocation.output.quiet and shows_progress(len(files), sys.stderr):
        raise _Declined
    outcomes = cached_outcomes(files, project.settings_of_file, project.cache_of, project.extra_roots())
    if outcomes is None:
        raise _Declined
    results = ((outcome.file.display, outcome.result) for outcome in outcomes)
    found = report_findings(results, options["output_format"], options["statistics"], options["sort"] == "cost",
                            tally)
    say_observed(project, tally)
    if not _print(lines):
        return 1  # as click exits when the reader went away (``loopsafe check | head``)
    return exit_status(tally, found, invocation.exit_zero)


class _CacheOnly(Project):
    """A run's project for files whose findings come from the cache: a recording
    (``observed``) has the files read."""

    def observed_of(self, settings: Settings) -> ObservedRun | None:
        if settings.observed is not None:
            raise _Declined
        return None


def _read_command_line(arguments: Sequence[str]) -> dict[str, Any]:
    """The options of ``check ...`` as click reads them (``click.parser``): options and
    paths in any order, ``--`` before paths only, ``--name=value`` or ``--name value``,
    ``-qv`` and ``-j4``; repeated options add up or the last wins. ``_Declined`` for
    any other command line."""
    if not arguments or arguments[0] != "check":
        raise _Declined
    options = dict(_DEFAULTS)
    paths: list[str] = []
    waiting = list(arguments[1:])

    def set_option(name: str, value: Any) -> None:
        options[name] = (*options[name], value) if name in _REPEATED else value

    def take_value() -> str:
        if not waiting:
            raise _Declined  # "Option ... requires an argument."
        return waiting.pop(0)

    while waiting:
        argument = waiting.pop(0)
        if argument == "--":
            paths.extend(waiting)
            break
        if argument[:1] != "-" or len(argument) == 1:
            paths.append(argument)
            continue
        name, equals, explicit = argument.partition("=")
        if name in _VALUED and name.startswith("--"):
            if equals:
                waiting.insert(0, explicit)
            set_option(_VALUED[name], take_value())
        elif name in _FLAGS and name.startswith("--"):
            if equals:
                raise _Declined  # "Option ... does not take a value."
            set_option(*_FLAGS[name])
        elif argument.startswith("--"):
            raise _Declined  # an option this does not read (or none at all)
        else:
            for position, letter in enumerate(argument[1:], start=2):
                short = f"-{letter}"
                if short in _VALUED:
                    if position < len(argument):
                        waiting.insert(0, argument[position:])
                    set_option(_VALUED[short], take_value())
                    break
                if short not in _FLAGS:
                    raise _Declined
                set_option(*_FLAGS[short])
    options["paths"] = tuple(paths)
    _check_values(options)
    return options


def _check_values(options: dict[str, Any]) -> None:
    """The values as click's parameter types take them; ``_Declined`` where click would
    refuse one (or might)."""
    for name, choices in _CHOICES.items():
        if options[name] not in choices:
            raise _Declined
    if options["output_format"] == "json" and not options["statistics"]:
        raise _Declined  # each finding's fix, as edits, needs the file read and analysed again
    for name in ("select", "ignore", "extend_select"):
        selectors = []
        for value in options[name]:
            for text in filter(None, (part.strip() for part in value.split(","))):
                selector = normalize_selector(text)
                if selector is None:
                    raise _Declined
                selectors.append(selector)
        options[name] = tuple(selectors)
    jobs = options["jobs"]
    if jobs is not None:
        if not (jobs.isascii() and jobs.isdigit()) or int(jobs) < 1:
            raise _Declined
        options["jobs"] = int(jobs)
    for path in options["paths"]:
        if path == STDIN or not _usable_path(path, file_okay=True, dir_okay=True):
            raise _Declined
    config, cache_dir = options["config"], options["cache_dir"]
    if config is not None:
        if not os.path.exists(config) or not _usable_path(config, file_okay=True, dir_okay=False):
            raise _Declined
        options["config"] = Path(config)
    if cache_dir is not None:
        if not _usable_path(cache_dir, file_okay=False, dir_okay=True):
            raise _Declined
        options["cache_dir"] = Path(cache_dir)


def _usable_path(path: str, file_okay: bool, dir_okay: bool) -> bool:
    """What ``click.Path`` checks of a path that exists: a file or a folder as allowed,
    readable (a path that does not exist passes)."""
    try:
        status = os.stat(path)
    except OSError:
        return True
    if not file_okay and stat.S_ISREG(status.st_mode) or not dir_okay and stat.S_ISDIR(status.st_mode):
        return False
    return os.access(path, os.R_OK)


def _invocation(options: dict[str, Any]) -> Invocation:
    """As ``codemods.cli`` makes it of the same options."""
    ignore = options["ignore"]
    if options["no_transitive"]:
        ignore = (*ignore, "LS301")
    colored = {"always": True, "never": False}.get(options["color"])
    if colored is None and os.environ.get("NO_COLOR"):
        colored = False
    return Invocation(
        options["paths"] or (".",), options["exclude"], options["native_sleep"], options["config"],
        options["jobs"], options["target_version"], False, options["cache_dir"], options["select"], ignore,
        Output(options["quiet"], options["verbose"] and not options["quiet"], colored),
        extend_select=options["extend_select"], exit_zero=options["exit_zero"],
        respect_gitignore=options["respect_gitignore"], force_exclude=options["force_exclude"],
    )


def _print(lines: list[tuple[str, bool]]) -> bool:
    """``lines`` (text, to stderr) written as ``click.echo`` writes each: the text and a
    newline, flushed (so that stdout and stderr interleave alike on one terminal or
    file); ``False`` if a reader went away (a broken pipe: what is left goes nowhere).
    ``_Declined`` before anything is written where click would write other bytes:
    colour codes (which it strips when not on a terminal), a stream that is not UTF-8
    (which it may replace), text UTF-8 cannot encode (an error)."""
    streams = {False: sys.stdout, True: sys.stderr}
    for stream in streams.values():
        encoding = getattr(stream, "encoding", None)
        if stream is None or encoding is None or codecs.lookup(encoding).name != "utf-8":
            raise _Declined
    for text, _ in lines:
        if "\x1b" in text:
            raise _Declined
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _Declined from None
    start = 0
    while start < len(lines):
        err = lines[start][1]
        end = start
        while end < len(lines) and lines[end][1] == err:
            end += 1
        stream = streams[err]
        try:
            stream.write("".join(f"{text}\n" for text, _ in lines[start:end]))
            stream.flush()
        except BrokenPipeError:
            # What is still buffered would fail again at exit: it goes to /dev/null.
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
            return False
        start = end
    return True


__all__ = ["answer"]

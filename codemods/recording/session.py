"""``loopsafe record``, the parent's side: runs the command with the recorder in every
Python process it starts, then turns what they saw into the observations file.

The command runs with ``PYTHONPATH`` led by ``boot/`` (whose ``sitecustomize.py`` loads the
agent when a loop starts) and the record folder and threshold in the environment; stdin,
stdout and stderr are its own. While it runs, Ctrl-C (which the terminal sends to the
command too) is left to the command and loopsafe waits; SIGTERM and SIGHUP sent to loopsafe
are passed on to it. Its exit status is loopsafe's; a command killed by a signal kills
loopsafe with the same signal, once the observations are written.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from codemods.observed import Observations, format_seconds
from codemods.recording.attribution import observations, read_recording

BOOT_DIR = Path(__file__).resolve().parent / "boot"
AGENT = BOOT_DIR.parent / "agent.py"
DIRECTORY_VARIABLE = "LOOPSAFE_RECORD_DIR"
THRESHOLD_VARIABLE = "LOOPSAFE_RECORD_THRESHOLD_MS"


class CommandError(Exception):
    """The command could not be started; ``status`` is what a shell would exit with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Outcome:
    returncode: int  # the command's (negative: killed by that signal)
    observations: Observations


def recording_environment(environ: Mapping[str, str], folder: str, threshold_ms: float) -> dict[str, str]:
    env = dict(environ)
    previous = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(BOOT_DIR) + (os.pathsep + previous if previous else "")
    env[DIRECTORY_VARIABLE] = folder
    env[THRESHOLD_VARIABLE] = repr(float(threshold_ms))
    return env


def record(command: Sequence[str], threshold_ms: float, root: Path) -> Outcome:
    """Run ``command`` recorded, in the current directory; raises ``CommandError``."""
    precompile()
    with tempfile.TemporaryDirectory(prefix="loopsafe-record-") as folder:
        returncode = run(command, recording_environment(os.environ, folder, threshold_ms))
        recording = read_recording(Path(folder))
    return Outcome(returncode, observations(recording, root, command, threshold_ms))


def precompile() -> None:
    """Byte-compile, for this Python, the files every recorded process loads, if they are
    not: a process that may not write bytecode (PYTHONDONTWRITEBYTECODE) would compile
    them at each start (2-3 ms; 0.2 ms from bytecode). Where they cannot be written (an
    installation pip compiled), nothing is done."""
    for source in (BOOT_DIR / "sitecustomize.py", AGENT):
        try:
            cached = Path(importlib.util.cache_from_source(str(source)))
            if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
                py_compile.compile(str(source), cfile=str(cached), doraise=True)
        except (OSError, py_compile.PyCompileError, NotImplementedError, ValueError):
            pass


def run(command: Sequence[str], env: Mapping[str, str]) -> int:
    try:
        process = subprocess.Popen(list(command), env=dict(env))
    except FileNotFoundError:
        raise CommandError(f"{command[0]}: command not found", 127) from None
    except OSError as error:
        raise CommandError(f"{command[0]}: cannot run: {error.strerror or error}", 126) from None
    with _signals_to(process):
        return process.wait()


@contextmanager
def _signals_to(process: subprocess.Popen[Any]) -> Iterator[None]:
    """While ``process`` runs: Ctrl-C is its business (the terminal sends it to both), and
    SIGTERM/SIGHUP sent to loopsafe alone are passed on."""
    previous: dict[int, Any] = {}

    def forward(signum: int, _frame: object) -> None:
        try:
            process.send_signal(signum)
        except OSError:
            pass

    handlers: list[tuple[str, Any]] = [("SIGINT", signal.SIG_IGN), ("SIGTERM", forward), ("SIGHUP", forward)]
    try:
        for name, handler in handlers:
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, handler)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def write(path: Path, observations: Observations) -> None:
    """Write the observations file atomically (a reader never sees half of it)."""
    folder = path.resolve().parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(observations.dumps())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def die_like(returncode: int) -> None:
    """When the command was killed by a signal, end this process by the same signal."""
    if returncode >= 0 or sys.platform == "win32":
        return
    try:
        signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
    except (OSError, ValueError):
        pass


def exit_status(returncode: int) -> int:
    """The status a shell reports for the command (128 + N when signal N killed it)."""
    return 128 - returncode if returncode < 0 else returncode


def summarize(observations: Observations, output: Path, out: TextIO, top: int = 5) -> None:
    """A few lines on ``out``: how much stalled, where the file is, the costliest sites."""
    threshold = f"{observations.threshold_ms:g} ms"
    if observations.processes == 0:
        out.write(
            f"loopsafe record: no event loop ran in a recorded Python process (a Python run with -I, -E or -S, or a"
            f" loop not built on asyncio's, cannot be recorded); wrote {output}\n"
        )
        return
    processes = "1 process" if observations.processes == 1 else f"{observations.processes} processes"
    stalls = "1 stall" if observations.stalls == 1 else f"{observations.stalls} stalls"
    outside = (
        f" ({format_seconds(observations.unattributed_seconds)} outside the project's code)"
        if observations.unattributed_seconds >= 0.0005 else ""
    )
    seconds = format_seconds(observations.stalled_seconds)
    out.write(
        f"loopsafe record: {stalls} longer than {threshold} in {processes} running an event loop, {seconds} in all"
        f"{outside}; wrote {output}\n"
    )
    sites = sorted(observations.sites, key=lambda s: (-s.seconds, s.path, s.line))
    for site in sites[:top]:
        out.write(f"  {site.path}:{site.line}: {site.function}: {site.cost.describe()}\n")
    if len(sites) > top:
        out.write(f"  ... and {len(sites) - top} more sites (loopsafe check --observed {output})\n")

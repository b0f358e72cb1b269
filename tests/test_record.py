"""`loopsafe record`'s parent side, without running a program: how sampled stacks become
call sites (project files, positions, chains, shares of a stall), the files the agent
writes, the summary, the command's help and failures, and what may import the recorder.

The recorder at run time is tested in tests/test_record_runtime.py."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from codemods import observed
from codemods.cli import main
from codemods.recording.attribution import (
    RECORDING_PACKAGE,
    Frame,
    Process,
    ProjectFiles,
    Recording,
    Stall,
    observations,
    read_recording,
)
from codemods.recording.session import exit_status, recording_environment, summarize

SERVICE = '''\
import hashlib

from app import util


class Worker:
    async def handle(self, rows):
        total = util.compute(rows) + util.other(rows)
        for row in range(rows):
            total += row
        digest = hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 10)
        value = await (self
                       .fetch(rows))
        return total, digest, value

    async def fetch(self, rows):
        return await util.slow(rows)


def on_timer():
    util.compute(3)
'''

UTIL = '''\
import lib


def compute(rows):
    return lib.helper(rows)


def other(rows):
    return rows


async def slow(rows):
    return lib.helper(rows + 1)
'''

LIB = '''\
import time
def helper(rows):
    time.sleep(rows / 1000)
    return rows
'''


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "service.py").write_text(SERVICE)
    (tmp_path / "app" / "util.py").write_text(UTIL)
    venv = tmp_path / ".venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "lib.py").write_text(LIB)
    return tmp_path


def positions_of(source: str, text: str, kind: type[ast.expr] = ast.Call) -> tuple[int, int, int, int]:
    """(line, end_line, col, end_col) of the ``kind`` node whose source is ``text``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, kind) and ast.get_source_segment(source, node) == text:
            assert node.end_lineno is not None and node.end_col_offset is not None
            return node.lineno, node.end_lineno, node.col_offset, node.end_col_offset
    raise AssertionError(f"no {kind.__name__} {text!r}")


def lib_frame(project: Path) -> Frame:
    return Frame(str(project / ".venv/lib/lib.py"), "lib", "helper", 3, positions_of(LIB, "time.sleep(rows / 1000)"),
                 False, "CALL")


def compute_frame(project: Path) -> Frame:
    return Frame(str(project / "app/util.py"), "app.util", "compute", 5, positions_of(UTIL, "lib.helper(rows)"),
                 False, "CALL")


def handle_frame(project: Path, text: str = "util.compute(rows)", op: str = "CALL",
                 kind: type[ast.expr] = ast.Call) -> Frame:
    where = positions_of(SERVICE, text, kind)
    return Frame(str(project / "app/service.py"), "app.service", "Worker.handle", where[0], where, True, op)


def only_site(project: Path, stack: tuple[Frame, ...], seconds: float = 0.1) -> observed.ObservedSite:
    found = observations(Recording([Process(1, "3.11.7", ())], [Stall(seconds, ((1, stack),))]), project)
    assert len(found.sites) == 1, found.sites
    return found.sites[0]


def test_time_goes_to_the_call_in_the_innermost_project_coroutine(project: Path) -> None:
    site = only_site(project, (lib_frame(project), compute_frame(project), handle_frame(project)))
    line, end_line, col, end_col = positions_of(SERVICE, "util.compute(rows)")
    assert (site.path, site.line, site.col_offset, site.end_line, site.end_col_offset) == (
        "app/service.py", line, col, end_line, end_col)
    assert (site.kind, site.function, site.callee, site.in_call) == ("coroutine", "Worker.handle", "compute", True)
    # The chain: the project helper, the library outside the project (a venv in the
    # project's folder), and the C function it was calling, read from its source.
    assert site.chains[0].through == ("app.util.compute()", "lib.helper()", "time.sleep()")
    assert (site.steps, site.seconds, site.longest) == (1, pytest.approx(0.1), pytest.approx(0.1))


def test_an_awaited_project_coroutine_is_the_innermost(project: Path) -> None:
    slow = Frame(str(project / "app/util.py"), "app.util", "slow", 13, positions_of(UTIL, "lib.helper(rows + 1)"),
                 True, "CALL")
    fetch = Frame(str(project / "app/service.py"), "app.service", "Worker.fetch", 17,
                  positions_of(SERVICE, "await util.slow(rows)", ast.Await), True, "SEND")
    site = only_site(project, (lib_frame(project), slow, fetch, handle_frame(project, "self\n                       .fetch(rows)")))
    assert (site.path, site.line, site.function, site.callee) == ("app/util.py", 13, "slow", "helper")
    assert site.chains[0].through == ("lib.helper()", "time.sleep()")


def test_an_await_in_progress_is_placed_at_the_awaited_call(project: Path) -> None:
    # 3.11+ give the instruction awaiting a coroutine the position of the whole `await`
    # expression; the site is the call inside it, as `ast` places it.
    outer = positions_of(SERVICE, "await util.slow(rows)", ast.Await)
    fetch = Frame(str(project / "app/service.py"), "app.service", "Worker.fetch", 17, outer, True, "SEND")
    slow = Frame(str(project / ".venv/lib/lib.py"), "lib", "slow", 3, None, True, "CALL")
    site = only_site(project, (slow, fetch))
    line, end_line, col, end_col = positions_of(SERVICE, "util.slow(rows)")
    assert (site.line, site.col_offset, site.end_line, site.end_col_offset) == (line, col, end_line, end_col)
    assert site.in_call and site.callee == "slow"


def test_a_multi_line_method_call_is_placed_where_the_call_starts(project: Path) -> None:
    # The CALL of `self\n.fetch(rows)` has the position of `fetch(rows)` (3.11-3.13).
    call = positions_of(SERVICE, "self\n                       .fetch(rows)")
    instruction = (call[1], call[1], SERVICE.splitlines()[call[1] - 1].index("fetch"), call[3])
    frame = Frame(str(project / "app/service.py"), "app.service", "Worker.handle", instruction[0], instruction,
                  True, "CALL")
    site = only_site(project, (frame,))
    assert (site.line, site.end_line, site.col_offset, site.end_col_offset) == call


def test_time_in_the_coroutines_own_code_is_no_call(project: Path) -> None:
    # On 3.13 a loop's FOR_ITER has exactly the position of `range(rows)`: the site must
    # not pass for that call.
    frame = handle_frame(project, "range(rows)", op="FOR_ITER")
    site = only_site(project, (frame,))
    assert not site.in_call and site.chains == (observed.Chain((), 1, pytest.approx(0.1)),)
    assert (site.line, site.col_offset) == positions_of(SERVICE, "range(rows)")[::2]


def test_a_c_function_called_by_the_coroutine_ends_the_chain(project: Path) -> None:
    frame = handle_frame(project, 'hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 10)')
    assert only_site(project, (frame,)).chains[0].through == ("hashlib.pbkdf2_hmac()",)


def test_a_plain_function_the_loop_ran_is_a_callback_site(project: Path) -> None:
    timer = Frame(str(project / "app/service.py"), "app.service", "on_timer", 21,
                  positions_of(SERVICE, "util.compute(3)"), False, "CALL")
    site = only_site(project, (lib_frame(project), compute_frame(project), timer))
    assert (site.kind, site.function, site.line, site.callee) == ("callback", "compute", 5, "helper")
    assert site.path == "app/util.py"


def test_time_outside_the_project_is_unattributed(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "other.py"
    elsewhere.write_text("async def f():\n    pass\n")
    stacks = (
        (3, (lib_frame(project),)),
        (1, (Frame(str(elsewhere), "other", "f", 2, None, True, "CALL"),)),
        (1, (Frame("<frozen importlib._bootstrap>", "importlib._bootstrap", "_find_and_load", 1, None, False),)),
        (5, (lib_frame(project), compute_frame(project), handle_frame(project))),
    )
    found = observations(Recording([Process(1, "3.11.7", ())], [Stall(0.2, stacks)]), project)
    assert found.unattributed_seconds == pytest.approx(0.1)
    assert [site.seconds for site in found.sites] == [pytest.approx(0.1)]
    assert (found.stalls, found.stalled_seconds, found.processes) == (1, pytest.approx(0.2), 1)


def test_site_packages_and_a_pythons_prefix_are_not_the_project(project: Path) -> None:
    files = ProjectFiles(project, [str(project / "python")])
    for relative in ("lib/site-packages/x.py", "python/lib/y.py", "dist-packages/z.py"):
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text("")
        assert files.key(str(project / relative)) is None, relative
    assert files.key(str(project / "app/util.py")) == "app/util.py"
    assert files.key(str(project / "app/missing.py")) is None
    repository = ProjectFiles(Path(observed.__file__).parent.parent)
    assert repository.key(observed.__file__) == "codemods/observed.py"
    assert repository.key(str(RECORDING_PACKAGE / "agent.py")) is None  # the recorder itself is never the project
    # A Python's folder that holds the project does not exclude it.
    assert ProjectFiles(project, [str(project.parent)]).key(str(project / "app/util.py")) == "app/util.py"


def test_a_stall_is_shared_among_its_samples_and_steps_count_stalls(project: Path) -> None:
    at_compute = (lib_frame(project), compute_frame(project), handle_frame(project))
    at_pbkdf2 = (handle_frame(project, 'hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 10)'),)
    stalls = [Stall(0.1, ((3, at_compute), (1, at_pbkdf2))), Stall(0.05, ((2, at_compute),))]
    found = observations(Recording([Process(1, "3.11.7", ())], stalls), project, ("python", "x.py"), 25.0)
    compute, pbkdf2 = found.sites
    assert (compute.steps, compute.seconds, compute.longest) == (2, pytest.approx(0.125), pytest.approx(0.075))
    assert (pbkdf2.steps, pbkdf2.seconds) == (1, pytest.approx(0.025))
    assert found.modules == {"app/service.py": observed.content_hash(SERVICE.encode())}
    assert (found.command, found.threshold_ms, found.root) == (("python", "x.py"), 25.0, str(project))
    # What is written is what `check --observed` reads.
    assert observed.parse(json.loads(found.dumps())).dumps() == found.dumps()


def test_a_module_gone_since_cannot_hold_a_site(project: Path) -> None:
    # A module the program wrote and removed: its time goes to the next project frame.
    stack = (lib_frame(project), compute_frame(project), handle_frame(project))
    recording = Recording([Process(1, "3.11.7", ())], [Stall(0.1, ((1, stack),))])
    (project / "app/service.py").unlink()
    assert [(s.path, s.kind) for s in observations(recording, project).sites] == [("app/util.py", "callback")]
    (project / "app/util.py").unlink()
    found = observations(recording, project)
    assert found.sites == () and found.unattributed_seconds == pytest.approx(0.1)


def test_before_3_11_lines_and_names_only(project: Path) -> None:
    # Frames of 3.9/3.10: no positions, the code's name for its qualified name. The
    # qualified name comes from the source; two calls on one line are told apart by the
    # function each was in.
    def handle(op: str = "CALL_METHOD") -> Frame:
        return Frame(str(project / "app/service.py"), "app.service", "handle", 8, None, True, op)

    compute = Frame(str(project / "app/util.py"), "app.util", "compute", 5, None, False, "CALL_METHOD")
    other = Frame(str(project / "app/util.py"), "app.util", "other", 9, None, False, "RETURN_VALUE")
    stalls = [Stall(0.1, ((1, (compute, handle())), (1, (other, handle()))), lines_only=True)]
    found = observations(Recording([Process(1, "3.9.18", ())], stalls), project)
    assert sorted((s.line, s.col_offset, s.function, s.callee) for s in found.sites) == [
        (8, None, "Worker.handle", "compute"), (8, None, "Worker.handle", "other")]
    assert {s.chains[0].through for s in found.sites} == {("app.util.compute()",), ("app.util.other()",)}
    assert found.pythons == ("3.9.18",)


def test_the_agents_files_are_read_and_a_broken_line_skipped(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("record")
    header = {"process": {"pid": 7, "python": "3.12.1", "executable": sys.executable, "cwd": str(project),
                          "prefixes": [sys.prefix], "threshold_ms": 20.0}}
    frame = [str(project / "app/service.py"), "app.service", "Worker.handle", 8,
             list(positions_of(SERVICE, "util.compute(rows)")), True, "CALL"]
    pbkdf2 = [*frame[:3], 11, list(positions_of(SERVICE, 'hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 10)')),
              True, "CALL"]
    # Four samples over 10 ms at one call, one over 30 ms at the other (it waited for the
    # GIL): the time is shared by weight, not by count.
    stall = {"seconds": 0.06, "samples": 5, "stacks": [[4, [frame], 0.01], [1, [pbkdf2], 0.03]]}
    # A process's line may come twice (its watchdog and its loop's end both write it).
    lines = "\n".join(json.dumps(r) for r in (header, stall, header))
    (folder / "7-1.jsonl").write_text(lines + '\n{"seconds": 0.0')
    (folder / "8-1.jsonl").write_text(json.dumps({**header, "process": {**header["process"], "python": "3.9.18"}}))
    recording = read_recording(folder)
    assert [p.python for p in recording.processes] == ["3.12.1", "3.9.18"]
    assert recording.stalls[0].stacks[0] == (0.01, (Frame(*frame[:4], tuple(frame[4]), True, "CALL"),))
    found = observations(recording, project)
    assert found.pythons == ("3.9.18", "3.12.1") and found.processes == 2
    assert [(s.line, s.seconds) for s in found.sites] == [(8, pytest.approx(0.015)), (11, pytest.approx(0.045))]


def test_summary(project: Path) -> None:
    import io

    stack = (lib_frame(project), compute_frame(project), handle_frame(project))
    found = observations(Recording([Process(1, "3.11.7", ())], [Stall(2.5, ((1, stack),))]), project)
    out = io.StringIO()
    summarize(found, Path("obs.json"), out)
    assert out.getvalue() == (
        "loopsafe record: 1 stall longer than 20 ms in 1 process running an event loop, 2.5 s in all; wrote obs.json\n"
        "  app/service.py:8: Worker.handle: stalled the event loop 2.5 s in 1 step when recorded,"
        " through app.util.compute() -> lib.helper() -> time.sleep()\n"
    )
    out = io.StringIO()
    summarize(observations(Recording(), project), Path("obs.json"), out)
    assert "no event loop ran" in out.getvalue() and "-I, -E or -S" in out.getvalue()


def test_environment_and_exit_status() -> None:
    env = recording_environment({"PYTHONPATH": "/x", "HOME": "/h"}, "/tmp/r", 12.5)
    boot = Path(env["PYTHONPATH"].split(":")[0])
    assert (boot / "sitecustomize.py").is_file() and env["PYTHONPATH"].endswith(":/x")
    assert (env["LOOPSAFE_RECORD_DIR"], env["LOOPSAFE_RECORD_THRESHOLD_MS"], env["HOME"]) == ("/tmp/r", "12.5", "/h")
    assert recording_environment({}, "/tmp/r", 20)["PYTHONPATH"] == str(boot)
    assert (exit_status(3), exit_status(-2)) == (3, 130)


def test_help_says_what_is_recorded(runner: object) -> None:
    from click.testing import CliRunner

    assert isinstance(runner, CliRunner)
    result = runner.invoke(main, ["record", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for expected in ("-I, -E or -S", "codemods/observed.py", "output and exit status are its own",
                     "asyncio.to_thread", "--output FILE", "--threshold MS"):
        assert expected in text, expected
    assert "record" in runner.invoke(main, ["--help"]).output


def test_a_command_that_cannot_start(runner: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    assert isinstance(runner, CliRunner)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["record", "--", str(tmp_path / "no-such-program")])
    assert result.exit_code == 127 and "command not found" in result.stderr
    assert runner.invoke(main, ["record"]).exit_code == 2  # COMMAND is required
    result = runner.invoke(main, ["record", "-o", str(tmp_path / "no" / "such" / "dir.json"), "--",
                                  sys.executable, "-c", "raise SystemExit(4)"])
    assert result.exit_code == 2 and "cannot write" in result.stderr


def test_check_stays_lean() -> None:
    """Only the record command imports the recorder, inside its body: `check` never does."""
    package = Path(observed.__file__).parent
    importers = []
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "recording" in path.relative_to(package).parts or "codemods.recording" not in text:
            continue
        tree = ast.parse(text)
        for function in [tree, *ast.walk(tree)]:
            if not isinstance(function, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in function.body:
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                    [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
                if any(name.startswith("codemods.recording") for name in names):
                    importers.append((path.name, getattr(function, "name", "<module>")))
    assert set(importers) == {("cli.py", "record")}


@pytest.mark.skipif(sys.version_info < (3, 10), reason="sys.stdlib_module_names is 3.10+")
def test_the_agent_is_python_3_9_standard_library_only() -> None:
    for path in (RECORDING_PACKAGE / "agent.py", RECORDING_PACKAGE / "boot" / "sitecustomize.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 9))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                for name in names:
                    assert name and name.split(".")[0] in {*sys.stdlib_module_names, "__future__"}, (path, name)


@pytest.fixture()
def agent(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The agent's module, loaded apart (as the boot file loads it), threshold 20 ms."""
    import importlib.util

    monkeypatch.setenv("LOOPSAFE_RECORD_THRESHOLD_MS", "20")
    spec = importlib.util.spec_from_file_location("_loopsafe_record_agent_under_test", RECORDING_PACKAGE / "agent.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def late_period_stalls(agent: Any, samples: list[tuple[float, object]], end: float) -> list[float]:
    """The stalls the agent finds in a late period that began with a beat at 0 (each
    sample: its time and the step it saw, an object standing for a Handle._run frame)."""
    period = agent._LatePeriod(0.0)
    for now, step in samples:
        period.add(now, (step, (("code", 1, 0, "m"),)))
    return [round(seconds, 4) for seconds, _ in period.stalls(end)]


def test_the_agent_cuts_a_late_period_into_steps(agent: Any) -> None:
    assert (agent.BEAT, agent.EARLY, agent.PERIOD) == (0.005, 0.005, 0.005)
    first, second, third, fourth = object(), object(), object(), object()
    # A long iteration of short steps, each seen once: no stall.
    assert late_period_stalls(agent, [(0.01, first), (0.02, second), (0.03, third), (0.04, fourth)], 0.045) == []
    # One step all along: from the middle of the beat interval to the beat's return.
    assert late_period_stalls(agent, [(0.01 * n, first) for n in range(1, 11)], 0.102) == [0.0995]
    # A long step after short ones: from between its first sample and the one before.
    samples = [(0.01, first), (0.02, second), *((0.01 * n, third) for n in range(3, 10))]
    assert late_period_stalls(agent, samples, 0.092) == [0.067]
    # Seen once, alone (the beat ran right after): counted from a period before it was
    # seen, not from the beat (the loop may have run other steps before it).
    assert late_period_stalls(agent, [(0.03, first)], 0.04) == []
    assert late_period_stalls(agent, [(0.01, first)], 0.04) == [0.035]
    # Outside any step (no Handle._run frame: the loop's own code, waiting in select for a
    # CPU), however long: no stall.
    assert late_period_stalls(agent, [(0.01 * n, None) for n in range(1, 11)], 0.102) == []


def test_the_agent_writes_json_without_the_json_module(agent: Any) -> None:
    value = {"seconds": 0.105, "stacks": [[3, [["/p/\u00e9\"\\\n\x01.py", None, "f", 7, [7, 7, 4, 20], True, "CALL"]],
                                           1e-07]], "name": "\udcff", "n": 12345678901234567890, "ok": False}
    text = agent._json(value)
    assert json.loads(text.encode("utf-8", "backslashreplace")) == value

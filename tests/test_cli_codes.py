"""The habits of ruff users, second round (issue 24), through the installed ``loopsafe``
script: code prefixes in --select/--ignore/--extend-select and in [tool.loopsafe], resolved
as ruff resolves rules; --exit-zero; ``check --fix``; a progress bar that never mixes with
the output on a terminal; ``server --stdio``."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import pytest

from codemods.codes import CODES, enabled_codes
from tests.conftest import find_tool

#: One call of each of several codes (LS301: through the module's own sync function).
CALLS = """\
import os
import subprocess
import time


def settle():
    time.sleep(1)


async def handler(path):
    time.sleep(1)
    input()
    os.remove(path)
    subprocess.run(["ls"])
    settle()
"""
#: The codes of CALLS, by line: LS251 LS250 LS260 LS221 LS301.

A_WHILE_AGO = time.time() - 60


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\n")
    (tmp_path / "app.py").write_text(CALLS)
    for path in tmp_path.iterdir():
        os.utime(path, (A_WHILE_AGO, A_WHILE_AGO))  # older than the cache's racy window: a second run is warm
    return tmp_path


def _env() -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("CI", None)
    env.pop("LOOPSAFE_CACHE_DIR", None)
    return env


def _run(folder: Path, *arguments: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([find_tool("loopsafe", "pip install -e ."), *arguments], cwd=folder, capture_output=True,
                          text=True, input=stdin, env=_env(), timeout=60)


def _runs(folder: Path, commands: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Several runs at once (each its own cache fingerprint or none: they do not race)."""
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda command: _run(folder, *command), commands))


def _codes(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split()[1] for line in done.stdout.splitlines()]


#: (select, extend-select, ignore) layers, the configuration's first -> the codes wanted.
RESOLVED: list[tuple[list[tuple[tuple[str, ...] | None, tuple[str, ...], tuple[str, ...]]], set[str]]] = [
    ([(("LS25",), (), ())], {"LS250", "LS251"}),
    ([(("ASYNC",), (), ("ASYNC2",))], set()),  # as specific: ignore wins
    ([(("ASYNC",), (), ("ASYNC23",))], {"LS200", "LS210", "LS212", "LS220", "LS221", "LS222", "LS240", "LS250",
                                        "LS251"}),
    ([(("LS2",), ("LS251",), ("LS25",))], {code for code in CODES if code.startswith("LS2")} - {"LS250"}),
    ([(("LS251",), (), ("LS",))], {"LS251"}),  # the more specific wins, whichever the option
    ([(("LS251",), (), ("LS251",))], set()),
    ([(("ALL",), (), ("LS2",))], {"LS301", "LS401"}),
    # No select: adjusts what the layer before wanted (every code, at first).
    ([(None, (), ("LS2", "LS4"))], {"LS301"}),
    ([(("LS25",), (), ("LS251",)), (None, ("LS3",), ())], {"LS250", "LS301"}),
    # The command line's select starts afresh: the configured ignore goes too (ruff's rule).
    ([(("LS25",), (), ("LS251",)), (("LS251",), (), ())], {"LS251"}),
]


@pytest.mark.parametrize(("layers", "expected"), RESOLVED)
def test_selectors_resolve_as_ruff_resolves_rules(layers: list[tuple[tuple[str, ...] | None, tuple[str, ...],
                                                                     tuple[str, ...]]], expected: set[str]) -> None:
    assert enabled_codes(layers) == expected


def test_prefixes_select_through_the_command_line_and_the_configuration(project: Path) -> None:
    """Each selection twice: the first run fills the cache, the second (files unchanged,
    answered from it without click) must print the same."""
    (project / "elsewhere").mkdir()
    (project / "elsewhere" / "pyproject.toml").write_text(
        '[tool.loopsafe]\nselect = ["LS25"]\nextend-select = ["ls26", "LS3"]\nignore = ["ASYNC251"]\n'
    )
    (project / "elsewhere" / "app.py").write_text(CALLS)
    for path in (project / "elsewhere").iterdir():
        os.utime(path, (A_WHILE_AGO, A_WHILE_AGO))
    selections: list[tuple[list[str], list[str]]] = [
        # ASYNC: the codes with a ruff / flake8-async counterpart (not LS260, LS301).
        (["--select", "async", "--ignore", "ASYNC25", "app.py"], ["LS221"]),
        # The more specific selector wins; of two as specific, --ignore.
        (["--select", "LS2", "--ignore", "LS25,LS260", "--extend-select", "LS251", "--select", "LS3", "app.py"],
         ["LS251", "LS221", "LS301"]),
        # The configuration's select / extend-select / ignore (codes and prefixes)...
        (["elsewhere/app.py"], ["LS250", "LS260", "LS301"]),
        # ... adjusted by --ignore and --extend-select, replaced by --select.
        (["--ignore", "LS3", "--extend-select", "LS221", "elsewhere/app.py"], ["LS250", "LS260", "LS221"]),
        (["--select", "LS251", "elsewhere/app.py"], ["LS251"]),
    ]
    commands = [["check", *options] for options, _ in selections]
    cold = _runs(project, commands)
    warm = _runs(project, commands)
    for (options, expected), first, second in zip(selections, cold, warm):
        assert (_codes(first), first.returncode) == (expected, 1), (options, first.stderr)
        assert (second.returncode, second.stdout, second.stderr) == (first.returncode, first.stdout, first.stderr)


def test_a_selector_that_selects_nothing_is_an_error_listing_the_codes(project: Path) -> None:
    option, unknown, configured = _runs(project, [
        ["check", "--select", "LS251,E501", "app.py"],
        ["check", "--extend-select", "ASYNC1", "app.py"],  # ruff's ASYNC1xx: none of them is loopsafe's
        ["check", "--ignore", "LS9", "app.py"],
    ])
    for done, text in ((option, "'E501'"), (unknown, "'ASYNC1'"), (configured, "'LS9'")):
        assert done.returncode == 2 and done.stdout == "", done.stderr
        assert f"{text} is not a loopsafe code or prefix" in done.stderr and "Traceback" not in done.stderr
    # Every code there is, from the data: LS301 and LS401 too, and the ASYNC counterparts.
    for code in ("LS200", "LS233", "LS272", "LS280", "LS301", "LS401", "ASYNC200", "ASYNC251"):
        assert code in option.stderr, code
    assert "LS200-" not in option.stderr and "ASYNC2xx" not in option.stderr
    (project / "pyproject.toml").write_text('[tool.loopsafe]\nextend-select = ["LS2", "LS9"]\n')
    broken = _run(project, "check", "app.py")
    assert broken.returncode == 2
    assert "[tool.loopsafe]: extend-select: 'LS9' is not a loopsafe code or prefix" in broken.stderr


def test_exit_zero_passes_what_is_found_but_not_errors(project: Path) -> None:
    (project / "broken.py").write_text("async def f(:\n")
    os.utime(project / "broken.py", (A_WHILE_AGO, A_WHILE_AGO))
    found, changes, failed = _runs(project, [
        ["check", "--exit-zero", "app.py"],
        ["diff", "--exit-zero", "--no-cache", "app.py"],
        ["check", "--exit-zero", "--no-cache", "-j1", "app.py", "broken.py"],
    ])
    assert (found.returncode, len(found.stdout.splitlines())) == (0, 5), found.stderr
    assert changes.returncode == 0 and changes.stdout.startswith("--- a/app.py"), changes.stderr
    assert failed.returncode == 2 and "broken.py:1:13: error: cannot parse" in failed.stderr
    warm = _run(project, "check", "--exit-zero", "app.py")  # answered from the cache
    assert (warm.returncode, warm.stdout, warm.stderr) == (found.returncode, found.stdout, found.stderr)
    helped = _run(project, "check", "--help").stdout
    assert "--exit-zero" in helped and "2 still means" in " ".join(helped.split())


def test_check_fix_says_to_run_loopsafe_fix(project: Path) -> None:
    check, diff, fix_only = _runs(project, [["check", "--fix", "app.py"], ["diff", "app.py", "--fix"],
                                            ["check", "--fixx", "app.py"]])
    for done, command in ((check, "check"), (diff, "diff")):
        assert done.returncode == 2 and done.stdout == ""
        assert f"No such option: --fix. `loopsafe {command}` changes no file: `loopsafe fix`" in done.stderr
        assert "Did you mean" not in done.stderr
    assert "`loopsafe diff` shows the changes first" in check.stderr
    assert fix_only.returncode == 2 and "No such option: --fixx" in fix_only.stderr  # click's, as before
    assert "time.sleep(1)\n    input()" in (project / "app.py").read_text()  # nothing was changed


def _screen(output: bytes) -> list[str]:
    """What a terminal shows of ``output``: its lines, ``\\r`` back to a line's start,
    ``ESC[K`` clearing the rest of the line (what the progress bar writes); a last line
    without a newline (the bar left behind) too, if it holds anything."""
    lines: list[str] = []
    line: list[str] = []
    column = 0
    for token in re.findall(r"\r\n|\n|\r|\x1b\[K|[^\r\n\x1b]+|\x1b", output.decode()):
        if token in ("\r\n", "\n"):
            lines.append("".join(line))
            line, column = [], 0
        elif token == "\r":
            column = 0
        elif token == "\x1b[K":
            del line[column:]
        else:
            line[column:column + len(token)] = token
            column += len(token)
    return [*lines, "".join(line)] if line else lines


def test_the_progress_bar_never_shares_a_line_with_the_output(tmp_path: Path) -> None:
    """On a terminal, a run over 200 files and more draws a bar on stderr; a finding on
    stdout (or an error on stderr) must start a line of its own, and the bar be gone at
    the end: every line on the screen is one a piped run prints."""
    for number in range(230):
        body = "import time\n\n\nasync def f():\n    time.sleep(1)\n" if number % 23 == 0 else "x = 1\n"
        (tmp_path / f"m{number:03}.py").write_text(body)
    (tmp_path / "broken.py").write_text("async def f(:\n")
    leader, follower = pty.openpty()
    env = {**_env(), "COLUMNS": "80"}
    for path in tmp_path.iterdir():
        os.utime(path, (A_WHILE_AGO, A_WHILE_AGO))  # cached: the piped run below is answered from the cache
    process = subprocess.Popen([find_tool("loopsafe"), "check", "-j1", "."], cwd=tmp_path,
                               stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed (Linux)
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 2
    output = b"".join(chunks)
    assert b"loopsafe  [" in output and b"231/231" in output  # a bar was drawn
    piped = _run(tmp_path, "check", "-j1", ".")
    expected = [*piped.stdout.splitlines(), *piped.stderr.splitlines()]
    assert len(expected) == 10 + 1 + 2  # the findings, the file that cannot be parsed, the summary
    assert sorted(_screen(output)) == sorted(expected)


def _message(payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_server_accepts_stdio(tmp_path: Path) -> None:
    """Editor clients start ``loopsafe server --stdio``: initialize, shutdown and exit over
    its stdin and stdout."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None},
    ]
    done = subprocess.run([find_tool("loopsafe"), "server", "--stdio"], cwd=tmp_path, capture_output=True,
                          input=b"".join(map(_message, messages)), env=_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(body) for body in re.split(rb"Content-Length: \d+\r\n(?:[^\r\n]+\r\n)*\r\n", done.stdout) if body]
    by_id = {answer["id"]: answer for answer in answers if "id" in answer}
    assert "capabilities" in by_id[1]["result"] and "codeActionProvider" in by_id[1]["result"]["capabilities"]
    assert by_id[2] == {"jsonrpc": "2.0", "id": 2, "result": None}
    helped = _run(tmp_path, "server", "--help").stdout
    assert "--stdio" in helped and "only transport" in helped

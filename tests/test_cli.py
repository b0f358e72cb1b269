"""The click CLI, driven through CliRunner on temporary trees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from codemods.cli import main
from tests.conftest import find_tool

SERVICE = '''\
"""A small service."""
import subprocess
import time

import requests


async def fetch(url: str) -> dict:
    time.sleep(0.1)  # backoff
    return requests.get(url, timeout=5).json()


async def build(cmd: tuple[str, ...]) -> str:
    return subprocess.check_output(cmd, text=True)


def sync_helper() -> None:
    time.sleep(1)
'''

SERVICE_FIXED = '''\
"""A small service."""
import asyncio
import subprocess
import time

import requests


async def fetch(url: str) -> dict:
    await asyncio.sleep(0.1)  # backoff
    return (await asyncio.to_thread(requests.get, url, timeout=5)).json()


async def build(cmd: tuple[str, ...]) -> str:
    return await asyncio.to_thread(subprocess.check_output, cmd, text=True)


def sync_helper() -> None:
    time.sleep(1)
'''

GENEXP = '''\
import os


async def sizes(paths):
    return sum(len(os.listdir(p)) for p in paths)
'''

CLEAN = "import asyncio\n\n\nasync def main():\n    await asyncio.sleep(1)\n"


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "service.py").write_text(SERVICE)
    (tmp_path / "src" / "pkg" / "clean.py").write_text(CLEAN)
    (tmp_path / "src" / "pkg" / "genexp.py").write_text(GENEXP)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(runner: CliRunner, *args: str, input: bytes | None = None):
    return runner.invoke(main, list(args), input=input, catch_exceptions=False)


def test_help_explains_commands_and_exit_codes(runner: CliRunner) -> None:
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    for word in ("check", "diff", "fix", "asyncio.to_thread", "Exit 2"):
        assert word in result.output
    for command in ("check", "diff", "fix"):
        sub = invoke(runner, command, "--help")
        assert sub.exit_code == 0 and "--exclude" in sub.output


def test_check_lists_findings_and_exits_1(runner: CliRunner, tree: Path) -> None:
    result = invoke(runner, "check", "src")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines == [
        "src/pkg/genexp.py:5:20: LS260 os.listdir() blocks the event loop; not fixed automatically: "
        "inside a generator expression, where an await would turn it into an async generator; "
        "use a list comprehension or move the call out",
        "src/pkg/service.py:9:5: LS251 time.sleep() blocks the event loop; fix: await asyncio.sleep(...)",
        "src/pkg/service.py:10:12: LS210 requests.get() blocks the event loop; "
        "fix: await asyncio.to_thread(requests.get, ...)",
        "src/pkg/service.py:14:12: LS221 subprocess.check_output() blocks the event loop; "
        "fix: await asyncio.to_thread(subprocess.check_output, ...)",
    ]
    assert (tree / "src/pkg/service.py").read_text() == SERVICE


def test_check_clean_tree_exits_0(runner: CliRunner, tree: Path) -> None:
    result = invoke(runner, "check", "src/pkg/clean.py")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_check_json_and_github_formats(runner: CliRunner, tree: Path) -> None:
    import json

    result = invoke(runner, "check", "--format", "json", "src/pkg/service.py")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(d["line"], d["code"], d["fixable"]) for d in data] == [
        (9, "LS251", True), (10, "LS210", True), (14, "LS221", True)
    ]
    result = invoke(runner, "check", "--format", "github", "src/pkg/genexp.py")
    assert result.stdout.startswith("::error file=src/pkg/genexp.py,line=5,col=20,title=loopsafe LS260::")


def test_diff_writes_nothing_and_is_git_appliable(runner: CliRunner, tree: Path) -> None:
    before = (tree / "src/pkg/service.py").read_bytes()
    result = invoke(runner, "diff", "src")
    assert result.exit_code == 1
    assert (tree / "src/pkg/service.py").read_bytes() == before
    assert result.stdout.startswith("--- a/src/pkg/service.py\n+++ b/src/pkg/service.py\n")
    assert "\x1b[" not in result.stdout  # no colour when not on a terminal
    assert "1 file would change, 3 calls would be rewritten, 1 call left for manual review" in result.stderr
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", "."], check=True)
        subprocess.run(["git", "apply", "-"], input=result.stdout.encode(), check=True)
        assert (tree / "src/pkg/service.py").read_text() == SERVICE_FIXED


def test_diff_of_a_file_with_form_feeds_and_unicode_separators_applies(runner: CliRunner, tree: Path) -> None:
    # str.splitlines splits at \x0c, \x1c, \x85, \u2028...; Python and patch tools do not.
    source = (
        "import time\n\x0c\n# section \x1c end\n\n\nasync def f():\n"
        "    note = 'a\u2028b\x85c'\n    time.sleep(1)\n    return note\n"
    )
    (tree / "src/pkg/feeds.py").write_bytes(source.encode())
    fixed = invoke(runner, "fix", "-", input=source.encode()).stdout_bytes
    result = invoke(runner, "diff", "src/pkg/feeds.py")
    assert result.exit_code == 1
    assert "No newline" not in result.stdout
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", "."], check=True)
        subprocess.run(["git", "apply", "-"], input=result.stdout_bytes, check=True)
        assert (tree / "src/pkg/feeds.py").read_bytes() == fixed


def test_diff_of_a_file_outside_the_current_directory_has_plain_headers(
    runner: CliRunner, tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "job.py"
    outside.write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    result = invoke(runner, "diff", str(outside))
    assert result.stdout.startswith(f"--- {outside}\n+++ {outside}\n")


def test_diff_without_changes_exits_0(runner: CliRunner, tree: Path) -> None:
    result = invoke(runner, "diff", "src/pkg/clean.py")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_fix_rewrites_in_place_and_second_run_has_nothing_to_do(runner: CliRunner, tree: Path) -> None:
    clean = tree / "src/pkg/clean.py"
    os.utime(clean, (1_000_000, 1_000_000))
    result = invoke(runner, "fix", "src")
    assert result.exit_code == 1  # the generator-expression call needs a human
    assert (tree / "src/pkg/service.py").read_text() == SERVICE_FIXED
    assert clean.stat().st_mtime == 1_000_000  # untouched
    assert "loopsafe: 1 file changed, 3 calls rewritten, 1 call left for manual review" in result.stderr
    assert "src/pkg/genexp.py:5:20: LS260" in result.stderr
    again = invoke(runner, "fix", "src")
    assert "0 files changed, 0 calls rewritten" in again.stderr
    assert (tree / "src/pkg/service.py").read_text() == SERVICE_FIXED


def test_fix_keeps_file_mode(runner: CliRunner, tree: Path) -> None:
    target = tree / "src/pkg/service.py"
    target.chmod(0o755)
    invoke(runner, "fix", str(target))
    assert target.stat().st_mode & 0o777 == 0o755
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".loopsafe")]


def test_fix_stdin_to_stdout(runner: CliRunner, tree: Path) -> None:
    result = invoke(runner, "fix", "-", input=SERVICE.encode())
    assert result.exit_code == 0
    assert result.stdout == SERVICE_FIXED


def test_bad_files_are_named_and_the_rest_is_processed(runner: CliRunner, tree: Path) -> None:
    (tree / "src/broken.py").write_text("async def f(:\n    pass\n")
    (tree / "src/garbage.py").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00async\xff\xfe")
    result = invoke(runner, "fix", "src", "missing_dir")
    assert result.exit_code == 2
    assert "src/broken.py:1:13: error: cannot parse" in result.stderr
    assert "src/garbage.py" in result.stderr and "error" in result.stderr
    assert "missing_dir: error: no such file or directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tree / "src/pkg/service.py").read_text() == SERVICE_FIXED
    assert (tree / "src/broken.py").read_text() == "async def f(:\n    pass\n"


def test_deeply_nested_expression_does_not_crash(runner: CliRunner, tree: Path) -> None:
    terms = " + ".join(["time.sleep(0)"] * 600)
    (tree / "deep.py").write_text(f"import time\n\n\nasync def f():\n    return {terms}\n")
    result = invoke(runner, "fix", "deep.py")
    assert result.exit_code == 0, result.stderr
    code = (tree / "deep.py").read_text()
    assert code.count("await asyncio.sleep(0)") == 600
    compile(code, "deep.py", "exec")


def test_walk_skips_vcs_venv_node_modules_and_excludes(runner: CliRunner, tree: Path) -> None:
    for folder in (".git", "node_modules", "env", "__pycache__", "generated"):
        (tree / "src" / folder).mkdir()
        (tree / "src" / folder / "x.py").write_text(SERVICE)
    (tree / "src/env/pyvenv.cfg").write_text("home = /usr\n")
    result = invoke(runner, "check", "src", "--exclude", "generated", "--exclude", "genexp.py")
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {"src/pkg/service.py"}


def test_symlink_loop_does_not_hang(runner: CliRunner, tree: Path) -> None:
    (tree / "src/pkg/loop").symlink_to(tree / "src", target_is_directory=True)
    (tree / "src/pkg/dangling.py").symlink_to(tree / "nowhere.py")
    result = invoke(runner, "check", "src")
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 4


def test_pyproject_settings_are_used(runner: CliRunner, tree: Path) -> None:
    (tree / "pyproject.toml").write_text(
        '[tool.loopsafe]\nnative-sleep = false\nexclude = ["src/pkg/genexp.py"]\n'
        '[tool.loopsafe.blocking]\n"pkg.legacy.fetch" = "to_thread"\n'
    )
    (tree / "src/pkg/uses_legacy.py").write_text(
        "from pkg.legacy import fetch\n\n\nasync def go():\n    return fetch(1)\n"
    )
    result = invoke(runner, "diff", "src")
    assert "+    await asyncio.to_thread(time.sleep, 0.1)  # backoff" in result.stdout
    assert "+    return await asyncio.to_thread(fetch, 1)" in result.stdout
    assert "genexp" not in result.stdout + result.stderr


def test_an_excluded_file_named_on_the_command_line_is_checked_unless_force_exclude(
    runner: CliRunner, tree: Path
) -> None:
    # As ruff: a named file is looked at; --force-exclude (pre-commit) skips it silently, -v says why.
    (tree / "pyproject.toml").write_text('[tool.loopsafe]\nexclude = ["src/pkg/genexp.py"]\n')
    result = invoke(runner, "check", "src/pkg/genexp.py", "src/pkg/service.py")
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {"src/pkg/genexp.py", "src/pkg/service.py"}
    result = invoke(runner, "check", "--force-exclude", "src/pkg/genexp.py", "src/pkg/service.py")
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {"src/pkg/service.py"}
    assert "genexp" not in result.stderr and result.exit_code == 1
    result = invoke(runner, "check", "-v", "--force-exclude", "src/pkg/genexp.py", "src/pkg/service.py")
    assert f"src/pkg/genexp.py: skipped: matches an exclude pattern (exclude in {tree / 'pyproject.toml'}; " \
        "force-exclude)" in result.stderr


def test_bad_config_is_a_clean_error(runner: CliRunner, tree: Path) -> None:
    (tree / "pyproject.toml").write_text('[tool.loopsafe]\nnative_sleep = "yes"\n')
    result = invoke(runner, "check", "src")
    assert result.exit_code != 0
    assert "unknown key(s) native_sleep" in result.stderr
    assert "Traceback" not in result.stderr


def test_parallel_output_is_sorted_and_same_as_serial(runner: CliRunner, tree: Path) -> None:
    for i in range(12):
        (tree / "src" / f"mod{i:02}.py").write_text(SERVICE)
    serial = invoke(runner, "check", "-j", "1", "src")
    parallel = invoke(runner, "check", "-j", "2", "src")
    assert serial.stdout == parallel.stdout
    paths = [line.split(":")[0] for line in serial.stdout.splitlines()]
    assert paths == sorted(paths)


# -- the installed entry points, run as a user would ---------------------------------


def test_console_script_in_subprocess(tree: Path) -> None:
    loopsafe = find_tool("loopsafe", "a console script: pip install -e .")
    done = subprocess.run([loopsafe, "fix", "src"], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert (tree / "src/pkg/service.py").read_text() == SERVICE_FIXED
    version = subprocess.run([loopsafe, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "loopsafe" in version.stdout


def test_python_dash_m_codemods(tree: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "codemods", "check", "src/pkg/service.py"],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "LS251" in done.stdout


def test_libcst_tool_runs_the_codemod(tree: Path) -> None:
    target = tree / "src/pkg/service.py"
    done = subprocess.run(
        [sys.executable, "-m", "libcst.tool", "codemod", "-x",
         "codemods.command.OffloadBlockingCalls", "--no-format", str(target)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert target.read_text() == SERVICE_FIXED


def test_libcst_tool_gets_the_compile_check_too(tmp_path: Path) -> None:
    # ``ast`` accepts a module-level ``return``, ``compile()`` does not: the rewrite cannot
    # be checked, so the codemod skips the file, as the CLI and the fixit rule refuse it.
    target = tmp_path / "broken.py"
    source = "import time\n\n\nasync def f():\n    time.sleep(1)\n\nreturn 1\n"
    target.write_text(source)
    done = subprocess.run(
        [sys.executable, "-m", "libcst.tool", "codemod", "-x",
         "codemods.command.OffloadBlockingCalls", "--no-format", str(target)],
        capture_output=True, text=True,
    )
    assert "this Python cannot compile the file ('return' outside function" in done.stderr
    assert "Skipped 1 files" in done.stderr
    assert target.read_text() == source


def test_libcst_tool_reads_the_projects_settings(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\nnative-sleep = false\n")
    target = tmp_path / "slow.py"
    target.write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    command = [sys.executable, "-m", "libcst.tool", "codemod", "-x", "codemods.command.OffloadBlockingCalls",
               "--no-format", str(target)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "await asyncio.to_thread(time.sleep, 1)" in target.read_text()  # as the CLI would, not asyncio.sleep
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\nnative-sleep = 3\n")
    target.write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    done = subprocess.run(command, capture_output=True, text=True)
    assert "loopsafe cannot run:" in done.stderr and "native-sleep must be true or false" in done.stderr
    assert "time.sleep(1)" in target.read_text()


def test_examples_fix_compiles_and_second_run_is_a_no_op(runner: CliRunner, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    examples = Path(__file__).parent.parent / "examples"
    shutil.copytree(examples, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    first = invoke(runner, "fix", "examples")
    assert first.exit_code == 1  # one generator expression left for review
    assert "3 files changed, 21 calls rewritten, 1 call left for manual review" in first.stderr
    for path in (tmp_path / "examples").glob("*.py"):
        compile(path.read_bytes(), str(path), "exec")
    second = invoke(runner, "fix", "examples")
    assert "0 files changed, 0 calls rewritten, 1 call left for manual review" in second.stderr
    assert invoke(runner, "diff", "examples").stdout == ""


def test_diff_is_coloured_on_a_terminal(runner: CliRunner, tree: Path) -> None:
    result = runner.invoke(main, ["diff", "src/pkg/service.py"], color=True)
    assert "\x1b[32m+    await asyncio.sleep(0.1)  # backoff" in result.stdout
    assert "\x1b[31m-    time.sleep(0.1)  # backoff" in result.stdout


def test_pre_commit_hooks_name_real_commands() -> None:
    import re

    text = (Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text()
    hooks = dict(re.findall(r"- id: (\S+)\n(?:  .*\n)*?  entry: (.+)\n", text))
    assert hooks == {"loopsafe-check": "loopsafe check --force-exclude", "loopsafe-fix": "loopsafe fix --force-exclude"}
    for entry in hooks.values():
        assert entry.split()[1] in main.commands


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from codemods import cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    outcomes = [object()] * 300
    monkeypatch.delenv("CI", raising=False)
    terminal = Terminal()
    monkeypatch.setattr(cli.click, "get_text_stream", lambda name: terminal)
    assert list(cli._with_progress(iter(outcomes), 300)) == outcomes  # type: ignore[arg-type]
    assert "loopsafe" in terminal.getvalue() and "300/300" in terminal.getvalue()

    piped = io.StringIO()
    monkeypatch.setattr(cli.click, "get_text_stream", lambda name: piped)
    assert list(cli._with_progress(iter(outcomes), 300)) == outcomes  # type: ignore[arg-type]
    assert piped.getvalue() == ""

    monkeypatch.setenv("CI", "true")
    terminal = Terminal()
    monkeypatch.setattr(cli.click, "get_text_stream", lambda name: terminal)
    list(cli._with_progress(iter(outcomes), 300))  # type: ignore[arg-type]
    assert terminal.getvalue() == ""


def test_every_finding_is_one_line_even_for_a_callee_spread_over_lines(tmp_path: Path) -> None:
    source = tmp_path / "spread.py"
    source.write_text(
        "from pathlib import Path\n\n\nasync def save(self):\n"
        "    target = Path(\n        self.folder\n        or 'out'\n    ).expanduser()\n"
        "    with contextlib.redirect_stdout(\n        self.buffer\n    ):\n        target.touch()\n"
    )
    source.write_text("import contextlib\n" + source.read_text())
    result = CliRunner().invoke(main, ["check", "--no-cache", str(source)])
    lines = result.output.splitlines()
    assert len(lines) == 4 and lines[2] == "loopsafe: 2 blocking calls found in 1 file", result.output
    assert lines[3] == "loopsafe: 1 fixable with `loopsafe fix` (see them first with `loopsafe diff`)"
    assert "fix: await asyncio.to_thread(Path(self.folder or 'out').expanduser)" in lines[0]
    assert "inside `with contextlib.redirect_stdout(self.buffer):`" in lines[1]

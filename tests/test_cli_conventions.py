"""The habits of ruff and black users (issue 12): exit codes, codes in --select/--ignore
and in the configuration, --statistics, -q/-v, --color and NO_COLOR, `# NOQA`, a default
path, summaries that count errors and say what is fixable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from codemods.cli import main

WORKER = """\
import os
import time


async def poll(path):
    time.sleep(1)
    os.remove(path)
    os.listdir(path)  # NOQA: LS260
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\n")
    (tmp_path / "worker.py").write_text(WORKER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def _run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(main, [*args, "--no-cache"])
    return result.exit_code, result.stdout, result.stderr


def test_check_without_paths_checks_the_current_directory(runner: CliRunner, project: Path) -> None:
    code, out, err = _run(runner, "check")
    assert code == 1
    assert out.splitlines() == [
        "worker.py:6:5: LS251 time.sleep() blocks the event loop; fix: await asyncio.sleep(...)",
        "worker.py:7:5: LS260 os.remove() blocks the event loop; fix: await asyncio.to_thread(os.remove, ...)",
    ]
    # The upper-case suppression comment on line 8 works, as in flake8 and ruff.
    assert "loopsafe: 2 blocking calls found in 1 file" in err
    assert "loopsafe: 2 fixable with `loopsafe fix`" in err


@pytest.mark.parametrize("option", [["--select", "LS251"], ["--select", "async251"], ["--ignore", "LS260,LS240"]])
def test_select_and_ignore_take_codes(runner: CliRunner, project: Path, option: list[str]) -> None:
    code, out, _ = _run(runner, "check", *option)
    assert code == 1
    assert [line.split()[1] for line in out.splitlines()] == ["LS251"]


def test_select_limits_the_fix_too(runner: CliRunner, project: Path) -> None:
    code, _, err = _run(runner, "fix", "--select", "LS260")
    assert code == 0, err
    fixed = (project / "worker.py").read_text()
    assert "await asyncio.to_thread(os.remove, path)" in fixed and "time.sleep(1)" in fixed


@pytest.mark.parametrize("unwanted", [["--select", "LS232"], ["--ignore", "LS230"], ["noqa"]])
def test_the_calls_of_a_block_s_files_are_found_when_its_open_is_not_wanted(
    runner: CliRunner, tmp_path: Path, unwanted: list[str]
) -> None:
    """Inside ``with open(...) as file`` the name is that file, whatever else the coroutine
    binds to it; not wanting LS230 (the ``open()``) must not lose the writes (seen on
    catuserbot's removebg.py: ``--select LS232`` listed one call fewer than ``check``)."""
    noqa = "  # noqa: LS230" if unwanted == ["noqa"] else ""
    (tmp_path / "saver.py").write_text(
        "async def save(response):\n"
        f'    with open("out.png", "wb") as file:{noqa}\n'
        "        file.write(response.content)\n"
        "    file = None\n"
        "    return file\n"
    )
    options = [] if unwanted == ["noqa"] else unwanted
    code, out, err = _run(runner, "check", *options, str(tmp_path / "saver.py"))
    assert code == 1, err
    assert [line.split()[1:3] for line in out.splitlines()] == [["LS232", "file.write()"]]


def test_a_code_that_is_not_ours_is_a_usage_error(runner: CliRunner, project: Path) -> None:
    code, _, err = _run(runner, "check", "--select", "E501")
    assert code == 2
    assert "'E501' is not a loopsafe code" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("ignore", ['["LS251"]', '["ASYNC251"]', '["time.sleep"]'])
def test_configured_ignore_accepts_codes_and_names(runner: CliRunner, project: Path, ignore: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.loopsafe]\nignore = {ignore}\n")
    code, out, _ = _run(runner, "check")
    assert code == 1
    assert [line.split()[1] for line in out.splitlines()] == ["LS260"]


def test_a_misspelled_ignore_entry_is_an_error_naming_the_key(runner: CliRunner, project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.loopsafe]\nignore = ["os.listdirr"]\n')
    code, out, err = _run(runner, "check")
    assert code == 2  # not 1: CI must tell a broken configuration from findings
    assert out == ""
    assert "[tool.loopsafe]: ignore: 'os.listdirr' is neither a code or prefix (LS251, LS25, ASYNC251) nor a name in the " \
        "catalog (did you mean 'os.listdir'?)" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["check", "diff", "fix"])
def test_every_configuration_error_exits_2(runner: CliRunner, project: Path, command: str) -> None:
    (project / "pyproject.toml").write_text("[tool.loopsafe]\nnative-sleep = 3\n")
    code, _, err = _run(runner, command)
    assert code == 2
    assert "native-sleep must be true or false" in err


def test_statistics_count_codes_and_callables(runner: CliRunner, project: Path) -> None:
    (project / "other.py").write_text("import time\n\n\nasync def f():\n    time.sleep(2)\n")
    code, out, err = _run(runner, "check", "--statistics")
    assert code == 1
    assert out.splitlines() == ["     2  LS251  time.sleep  (2 fixable)", "     1  LS260  os.remove  (1 fixable)"]
    assert "loopsafe: 3 blocking calls found in 2 files" in err


def test_quiet_prints_findings_only_and_verbose_says_where_settings_come_from(
    runner: CliRunner, project: Path
) -> None:
    _, out, err = _run(runner, "check", "-q")
    assert len(out.splitlines()) == 2 and err == ""
    _, _, err = _run(runner, "check", "-v")
    assert f"loopsafe: settings from {project / 'pyproject.toml'}" in err
    assert "loopsafe: 1 Python file to look at" in err


def test_errors_are_counted_in_the_summary(runner: CliRunner, project: Path) -> None:
    (project / "broken.py").write_text("async def f(:\n    pass\n")
    code, _, err = _run(runner, "check")
    assert code == 2
    assert "broken.py:1:13: error: cannot parse" in err
    assert "loopsafe: 2 blocking calls found in 1 file, 1 file could not be processed" in err
    code, _, err = _run(runner, "diff")
    assert code == 2
    assert err.rstrip().endswith("2 calls would be rewritten, 0 calls left for manual review, "
                                 "1 file could not be processed")


def test_color_of_the_diff(runner: CliRunner, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = _run(runner, "diff", "--color", "always")
    assert "\x1b[32m+" in out  # green additions, even when not on a terminal
    _, out, _ = _run(runner, "diff")
    assert "\x1b[" not in out  # auto: not a terminal here
    monkeypatch.setenv("NO_COLOR", "1")
    _, out, _ = _run(runner, "diff", "--color", "always")
    assert "\x1b[32m+" in out  # an explicit request wins over NO_COLOR


def test_no_color_is_honoured_on_a_terminal(project: Path) -> None:
    # A pseudo-terminal, so that `auto` would colour: NO_COLOR turns it off.
    pty = pytest.importorskip("pty")
    script = (
        "import sys; from codemods.cli import main; "
        "sys.argv = ['loopsafe', 'diff', '--no-cache', 'worker.py']; main()"
    )
    outputs = {}
    for no_color in ("", "1"):
        env = {**os.environ, "NO_COLOR": no_color}
        leader, follower = pty.openpty()
        done = subprocess.run([sys.executable, "-c", script], stdout=follower, stderr=subprocess.DEVNULL,
                              env=env, cwd=project, check=False)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        assert done.returncode == 1
        outputs[no_color] = b"".join(chunks)
    assert b"\x1b[32m+" in outputs[""]
    assert b"\x1b[" not in outputs["1"]


def test_workers_are_capped_by_the_files_to_parse(runner: CliRunner, project: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    started: list[int] = []
    real = concurrent.futures.ProcessPoolExecutor

    def recording(max_workers: int, **kwargs: object) -> concurrent.futures.ProcessPoolExecutor:
        started.append(max_workers)
        return real(max_workers=max_workers, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", recording)
    code, out, _ = _run(runner, "check", "-j", "16", "worker.py")
    assert code == 1 and len(out.splitlines()) == 2
    assert started == []  # one file: no workers at all
    for name in ("a", "b", "c"):
        (project / f"{name}.py").write_text(WORKER)
    code, out, _ = _run(runner, "check", "-j", "16")
    assert code == 1 and len(out.splitlines()) == 8
    assert started == [4]


def test_calls_left_by_fix_are_reported_at_their_line_in_the_fixed_file(runner: CliRunner, project: Path) -> None:
    (project / "sizes.py").write_text(
        "import os\n\n\nasync def sizes(path, folders):\n    with open(path) as fh:\n        data = fh.read()\n"
        "    return data, sum(len(os.listdir(f)) for f in folders)\n"
    )
    code, _, err = _run(runner, "fix", "sizes.py")
    assert code == 1
    fixed = (project / "sizes.py").read_text().splitlines()
    line = next(number for number, text in enumerate(fixed, 1) if "os.listdir" in text)
    assert line == 11  # the block moved into a function above it: four lines further down
    column = fixed[line - 1].index("os.listdir") + 1
    assert f"sizes.py:{line}:{column}: LS260 os.listdir() blocks the event loop; not fixed automatically" in err
    # and `check` on the fixed file agrees
    _, out, _ = _run(runner, "check", "sizes.py")
    assert out.startswith(f"sizes.py:{line}:{column}: LS260")


def test_stdin_filename_names_stdin_and_picks_its_settings_and_excludes(runner: CliRunner, project: Path) -> None:
    sub = project / "service"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[tool.loopsafe]\nnative-sleep = false\nexclude = ["legacy_*.py"]\n')
    source = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
    result = runner.invoke(main, ["check", "-", "--stdin-filename", "service/app.py", "--no-cache"], input=source)
    assert result.exit_code == 1
    # The name in the message, and the settings of service/pyproject.toml (no native sleep).
    assert result.stdout.startswith("service/app.py:5:5: LS251 time.sleep() blocks the event loop; "
                                    "fix: await asyncio.to_thread(time.sleep, ...)")
    result = runner.invoke(main, ["fix", "-", "--stdin-filename", "service/legacy_jobs.py", "--no-cache",
                                  "--force-exclude"], input=source)
    assert result.exit_code == 0 and result.stdout == source  # excluded: passed through unchanged


def _monorepo(root: Path) -> None:
    sleeper = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
    (root / "pyproject.toml").write_text("[tool.loopsafe]\n")
    (root / "app.py").write_text(sleeper)
    service = root / "service"
    service.mkdir()
    (service / "pyproject.toml").write_text('[tool.loopsafe]\nnative-sleep = false\nexclude = ["gen_*.py"]\n')
    (service / "worker.py").write_text(sleeper)
    (service / "gen_stubs.py").write_text(sleeper)


def test_each_file_uses_its_nearest_configuration_whatever_the_order(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _monorepo(tmp_path)
    monkeypatch.chdir(tmp_path)
    one = _run(runner, "check", "service/worker.py", "app.py")
    other = _run(runner, "check", "app.py", "service/worker.py")
    assert one == other
    assert one[1].splitlines() == [
        "app.py:5:5: LS251 time.sleep() blocks the event loop; fix: await asyncio.sleep(...)",
        "service/worker.py:5:5: LS251 time.sleep() blocks the event loop; fix: await asyncio.to_thread(time.sleep, ...)",
    ]
    # Walking the whole tree: service/'s own exclude applies to its files.
    code, out, _ = _run(runner, "check")
    assert "gen_stubs" not in out and len(out.splitlines()) == 2
    # --config: one configuration for every file.
    code, out, _ = _run(runner, "check", "--config", "service/pyproject.toml", "app.py")
    assert "asyncio.to_thread(time.sleep" in out


def test_command_line_excludes_are_relative_to_the_current_directory(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _monorepo(tmp_path)
    monkeypatch.chdir(tmp_path / "service")
    code, out, _ = _run(runner, "check", "..", "--exclude", "worker.py", "--exclude", "../app.py")
    assert (code, out) == (0, "")
    code, out, _ = _run(runner, "check", ".", "--exclude", "service/worker.py")  # not relative to a pyproject
    assert "worker.py:5:5" in out


def test_a_warm_run_over_two_configurations_reads_nothing(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _monorepo(tmp_path)
    for path in tmp_path.rglob("*.py"):
        os.utime(path, (1_000_000_000, 1_000_000_000))  # outside the racy window
    monkeypatch.chdir(tmp_path)
    cold = runner.invoke(main, ["check", "-j", "1"])
    reads: list[str] = []
    original = Path.read_bytes

    def counting(self: Path) -> bytes:
        if self.suffix == ".py" and str(self.absolute()).startswith(str(tmp_path)):
            reads.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    warm = runner.invoke(main, ["check", "-j", "1"])
    assert (warm.exit_code, warm.stdout) == (cold.exit_code, cold.stdout) and cold.exit_code == 1
    assert reads == []


def test_add_noqa_suppresses_every_finding_once_and_keeps_comments(runner: CliRunner, project: Path) -> None:
    (project / "long.py").write_text(
        "import os\n\n\nasync def f(p):\n    x = (\n        os.listdir(p)\n    )  # keep me\n"
        "    os.remove(p)  # noqa: E501\n    return x\n"
    )
    code, _, err = _run(runner, "check", "--add-noqa")
    assert code == 0, err
    assert "loopsafe: 4 findings suppressed with `# noqa` in 2 files" in err
    assert (project / "long.py").read_text() == (
        "import os\n\n\nasync def f(p):\n    x = (\n        os.listdir(p)\n    )  # keep me  # noqa: LS260\n"
        "    os.remove(p)  # noqa: E501, LS260\n    return x\n"
    )
    assert "time.sleep(1)  # noqa: LS251" in (project / "worker.py").read_text()
    before = {path.name: path.read_text() for path in project.glob("*.py")}
    assert _run(runner, "check")[0:2] == (0, "")  # nothing left
    _run(runner, "check", "--add-noqa")
    assert {path.name: path.read_text() for path in project.glob("*.py")} == before  # idempotent


def test_a_folder_without_python_files_says_so(runner: CliRunner, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# docs\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(runner, "check", "docs")
    assert (code, out) == (0, "")
    assert "loopsafe: warning: no Python files found under docs" in err


def test_include_walks_a_folder_skipped_by_default(runner: CliRunner, project: Path) -> None:
    (project / "build").mkdir()  # a package of that name, not build output
    (project / "build" / "steps.py").write_text(WORKER)
    code, out, _ = _run(runner, "check")
    assert "build/" not in out
    (project / "pyproject.toml").write_text('[tool.loopsafe]\ninclude = ["build"]\n')
    code, out, _ = _run(runner, "check")
    assert "build/steps.py:6:5: LS251" in out
    code, out, _ = _run(runner, "check", "build")  # named on the command line: always walked
    assert "build/steps.py:6:5: LS251" in out


def test_the_installed_command_as_a_user_runs_it(tmp_path: Path) -> None:
    """The same conventions through the console script, in a subprocess."""
    from tests.conftest import find_tool

    loopsafe = find_tool("loopsafe", "pip install -e .")
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\n")
    (tmp_path / "worker.py").write_text(WORKER)
    env = {**os.environ, "NO_COLOR": "1"}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([loopsafe, *args, "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                              input=stdin, env=env)

    found = run("check")  # no path: the current directory
    assert found.returncode == 1 and len(found.stdout.splitlines()) == 2
    assert run("check", "--select", "LS260").stdout.count("LS260") == 1
    assert "     1  LS251  time.sleep  (1 fixable)" in run("check", "--statistics").stdout
    named = run("check", "-", "--stdin-filename", "svc.py", stdin="import time\nasync def f():\n    time.sleep(1)\n")
    assert named.stdout.startswith("svc.py:3:5: LS251")
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\nignore = [\"LS999\"]\n")
    broken = run("check")
    assert broken.returncode == 2 and "'LS999' is neither a code" in broken.stderr and "Traceback" not in broken.stderr


HELPERS = """\
import json


def read_settings(path):
    with open(path) as fh:
        return json.load(fh)


def load_config(path):
    return read_settings(path)


async def handler(path: str):
    return load_config(path)
"""


@pytest.mark.parametrize(
    ("config", "option", "reported"),
    [
        ("", (), ["LS301 load_config() blocks the event loop (through load_config() -> read_settings() -> "
                  "open()); fix: await asyncio.to_thread(load_config, ...)"]),
        ("", ("--no-transitive",), []),
        ("transitive = false\n", (), []),
        ('ignore = ["LS301"]\n', (), []),
        ('non-blocking = ["read_settings"]\n', (), []),  # declared: the chain stops there
    ],
)
def test_transitive_findings_and_how_to_turn_them_off(runner: CliRunner, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, config: str,
                                                       option: tuple[str, ...], reported: list[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\n" + config)
    (tmp_path / "app.py").write_text(HELPERS)
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(runner, "check", *option)
    assert [line.split(": ", 1)[1] for line in out.splitlines()] == reported
    assert code == (1 if reported else 0)


def test_json_and_sarif_carry_the_chain_of_a_call_across_modules(runner: CliRunner, project: Path) -> None:
    (project / "worker.py").unlink()
    package = project / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "storage.py").write_text("def load(path):\n    with open(path) as fh:\n        return fh.read()\n")
    (package / "handlers.py").write_text(
        "from app.storage import load\n\n\nasync def handler(path: str):\n    return load(path)\n"
    )
    code, out, _ = _run(runner, "check", "--format", "json")
    [finding] = json.loads(out)
    assert (finding["path"], finding["line"], finding["code"], finding["fixable"]) == ("app/handlers.py", 5, "LS301", True)
    assert finding["chain"] == ["app.storage.load()", "open()"]
    assert "(through app.storage.load() -> open())" in finding["message"]
    code, out, _ = _run(runner, "check", "--format", "sarif")
    [result] = json.loads(out)["runs"][0]["results"]
    assert result["properties"]["chain"] == ["app.storage.load()", "open()"]


def test_the_readme_ruff_setting_keeps_loopsafe_noqa_comments_through_ruff_fix(tmp_path: Path) -> None:
    """The README's `lint.external` snippet, as a project would paste it: `ruff check
    --fix` with RUF100 (unused noqa) leaves `# noqa: LS251` alone, and loopsafe still
    reads it (the console scripts of both, from the outside)."""
    import re

    from tests.conftest import find_tool

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    [snippet] = re.findall(r"```toml\n(\[tool\.ruff\.lint\]\n[^`]*)```", readme)
    assert 'external = ["LS"]' in snippet
    (tmp_path / "pyproject.toml").write_text(snippet + "\n[tool.loopsafe]\n")
    # E501 is not enabled: RUF100 takes it out, and without `external` the LS code with it.
    source = "import time\n\n\nasync def tick():\n    time.sleep(1)  # noqa: E501, LS251\n"
    (tmp_path / "worker.py").write_text(source)
    ruff = subprocess.run([find_tool("ruff"), "check", "--select", "RUF100", "--fix", "--no-cache", "."],
                          cwd=tmp_path, capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    assert (tmp_path / "worker.py").read_text() == source.replace("E501, ", "")
    check = subprocess.run([find_tool("loopsafe"), "check", "--no-cache", "."], cwd=tmp_path,
                           capture_output=True, text=True)
    assert (check.returncode, check.stdout) == (0, ""), check.stderr


def test_the_readme_options_table_lists_every_option_of_each_command() -> None:
    """The README's options table against what click declares: every option of check,
    diff, fix and server is a row (its names as the CLI spells them), each row says the
    commands that take it, and no row names an option that does not exist."""
    import re

    import click

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Options\n", 1)[1].split("\nWhat they do", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented: dict[str, set[str]] = {}
    for row in rows:
        names_cell, commands_cell = row.split(" | ")[:2]
        commands = {command.strip() for command in commands_cell.split(",")}
        for name in re.findall(r"`(-[-\w]+)", names_cell) + re.findall(r"/ `(--[-\w]+)`", names_cell):
            documented.setdefault(name, set()).update(commands)
    declared: dict[str, set[str]] = {}
    assert isinstance(main, click.Group)
    for command_name in ("check", "diff", "fix", "server"):
        command = main.commands[command_name]
        for parameter in command.params:
            if isinstance(parameter, click.Option) and "--help" not in parameter.opts:
                for name in (*parameter.opts, *parameter.secondary_opts):
                    declared.setdefault(name, set()).add(command_name)
    assert documented == declared

"""The fixit rule: its own VALID/INVALID cases through fixit's test helper, and fixit
itself run end to end on a temporary project."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from fixit.testing import add_lint_rule_tests_to_module, generate_lint_rule_test_cases

from codemods.engine import transform_source
from codemods import lint
from tests.conftest import find_tool

# Instances, not classes: fixit silently generates zero tests for classes.
# This defines a TestCase class named BlockingCallInCoroutine in this module.
add_lint_rule_tests_to_module(globals(), [lint.BlockingCallInCoroutine()])


def test_rule_cases_are_really_collected() -> None:
    rule = lint.BlockingCallInCoroutine
    cases = generate_lint_rule_test_cases([rule()])
    methods = [name for case in cases for name in dir(case) if name.startswith("test_")]
    expected = len(rule.VALID) + len(rule.INVALID)
    assert expected >= 8
    assert len(methods) == expected
    # And this module holds them, so pytest collects and runs them.
    generated = globals()["BlockingCallInCoroutine"]
    assert generated is not rule
    assert len([n for n in dir(generated) if n.startswith("test_")]) == expected


def test_rule_is_autofixing() -> None:
    assert lint.BlockingCallInCoroutine.AUTOFIX


SERVICE = '''\
"""Payments worker."""
from __future__ import annotations

import subprocess
from time import sleep

import requests


async def charge(url: str, payload: tuple[str, ...]) -> dict:
    sleep(0.5)
    response = requests.post(url, json=payload, timeout=10)
    return response.json()


async def report(url: str, cmd: tuple[str, ...]) -> None:
    requests.post(url, data=subprocess.check_output(cmd))
    requests.get(url)  # lint-ignore: BlockingCallInCoroutine


async def audit(paths) -> int:
    return sum(len(subprocess.getoutput(p)) for p in paths)
'''

CLEAN = '''\
import asyncio


async def main() -> None:
    await asyncio.sleep(0)
'''


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fixit]\nroot = true\nenable = ["codemods.lint"]\ndisable = ["fixit.rules"]\n'
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "service.py").write_text(SERVICE)
    (tmp_path / "src" / "clean.py").write_text(CLEAN)
    return tmp_path


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    fixit = find_tool("fixit", "a dependency of loopsafe")
    return subprocess.run([fixit, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_fixit_lint_fails_and_names_file_and_line(project: Path) -> None:
    done = _run(["lint", "src/service.py"], project)
    assert "Failed to load rules" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    places = sorted(
        tuple(int(n) for n in line.split(" ")[0].split("@")[1].split(":")) for line in lines
    )
    assert all(line.startswith("src/service.py@") for line in lines)
    assert places == [(11, 4), (12, 15), (17, 4), (17, 28), (22, 19)]
    assert any("LS251 time.sleep() blocks the event loop; fix: await asyncio.sleep(...)" in line for line in lines)
    # Same codes and messages as `loopsafe check`.
    check = transform_source(SERVICE.encode())
    expected_messages = sorted(f"{f.code} {f.message}" for f in check.findings if f.line != 18)
    got_messages = sorted(line.split(" BlockingCallInCoroutine: ")[1].replace(" (has autofix)", "") for line in lines)
    assert got_messages == expected_messages


def test_the_rule_reads_the_settings_of_the_linted_files_project(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Run from elsewhere: [tool.loopsafe] comes from the project holding the file.
    with (project / "pyproject.toml").open("a") as config:
        config.write("\n[tool.loopsafe]\nnative-sleep = false\n")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    done = _run(["lint", str(project / "src" / "service.py")], elsewhere)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "LS251 time.sleep() blocks the event loop; fix: await asyncio.to_thread(sleep, ...)" in done.stdout
    assert "asyncio.sleep(...)" not in done.stdout


def test_a_broken_configuration_is_reported_not_replaced_by_defaults(project: Path) -> None:
    with (project / "pyproject.toml").open("a") as config:
        config.write('\n[tool.loopsafe]\nignore = ["os.listdirr"]\n')
    done = _run(["lint", "src/service.py"], project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.count("BlockingCallInCoroutine") == 1
    assert "loopsafe cannot run: " in done.stdout and "did you mean 'os.listdir'?" in done.stdout


def test_the_configured_exclude_applies_to_the_rule_as_to_the_cli(project: Path) -> None:
    with (project / "pyproject.toml").open("a") as config:
        config.write('\n[tool.loopsafe]\nexclude = ["src/service.py"]\n')
    done = _run(["lint", "src/service.py"], project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BlockingCallInCoroutine" not in done.stdout


def test_fixits_python_version_38_gets_fixes_for_38_not_a_disabled_rule(project: Path) -> None:
    config = (project / "pyproject.toml").read_text().replace("root = true", 'root = true\npython-version = "3.8"')
    (project / "pyproject.toml").write_text(config)
    done = _run(["lint", "src/service.py"], project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "get_running_loop().run_in_executor(None, functools.partial(contextvars.copy_context().run," in done.stdout
    assert "to_thread" not in done.stdout


def test_fixit_lint_passes_a_clean_file(project: Path) -> None:
    done = _run(["lint", "src/clean.py"], project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Failed to load rules" not in done.stderr


def test_fixit_fix_equals_loopsafe_fix(project: Path) -> None:
    done = _run(["fix", "--automatic", "src/service.py"], project)
    assert done.returncode == 0, done.stderr
    fixed = (project / "src" / "service.py").read_text()
    compile(fixed, "service.py", "exec")
    assert "import asyncio" in fixed
    assert "from time import sleep" not in fixed
    assert "    requests.get(url)  # lint-ignore: BlockingCallInCoroutine" in fixed

    # loopsafe honours fixit's ignore comment only inside fixit; compare the rest.
    ours = transform_source(SERVICE.encode()).output.decode()
    assert fixed == ours.replace(
        "    await asyncio.to_thread(requests.get, url)  # lint-ignore",
        "    requests.get(url)  # lint-ignore",
    )
    again = _run(["lint", "src/service.py"], project)
    assert again.returncode == 1  # only the generator expression is left
    assert len(again.stdout.splitlines()) == 1 and "@22:" in again.stdout


# -- one implementation: fixit's autofix equals `loopsafe fix` on every fixture --------

from fixit.engine import LintRunner  # noqa: E402
from fixit.ftypes import Config  # noqa: E402

from tests.fixture_cases import FixtureCase, discover  # noqa: E402

# Observations reach the rule through the configuration (``observed`` in ``[tool.loopsafe]``),
# not a fixture's ``observed.json``: the cases with one are compared through the CLI's fronts.
CASES = [case for case in discover() if case.observed_file is None]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fixit_autofix_matches_the_codemod(case: FixtureCase, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = case.settings()
    monkeypatch.setattr(lint, "_settings_for", lambda folder: settings)
    source = case.input.read_bytes()
    runner = LintRunner(case.input, source)
    violations = list(runner.collect_violations([lint.BlockingCallInCoroutine()], Config(path=case.input)))
    fixed = runner.apply_replacements(violations).bytes
    assert fixed.decode() == case.expected.read_bytes().decode()
    # Same findings, same messages, same places (fixit columns are 0-based).
    expected = transform_source(source, settings)
    assert sorted((v.range.start.line, v.range.start.column + 1, v.message) for v in violations) == sorted(
        (f.line, f.column, f"{f.code} {f.message}") for f in expected.findings
    )
    # Each fixable finding, and only those, offers its fix ("(has autofix)", counted).
    assert sorted((v.range.start.line, v.range.start.column + 1) for v in violations if v.autofixable) == sorted(
        (f.line, f.column) for f in expected.findings if f.fixable
    )


def test_fixit_goes_through_the_same_door_as_the_cli(project: Path) -> None:
    """No fix is offered for a module whose rewrite this Python cannot compile (a
    `return` outside a function: libcst reads it, the compiler refuses it), as the CLI
    leaves such a file unchanged; the findings are still reported."""
    broken = "import os\n\nasync def f():\n    return os.listdir('.')\n\nreturn 1\n"
    (project / "src" / "broken.py").write_text(broken)
    done = _run(["lint", "src/broken.py"], project)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert "LS260 os.listdir()" in done.stdout, done.stdout
    assert "(has autofix)" not in done.stdout
    assert transform_source(broken.encode()).error is not None  # the CLI refuses it too


def test_the_rule_follows_other_modules_as_check_does(project: Path) -> None:
    """Calls into other modules are followed, from the modules' files, and from the
    summaries in loopsafe's cache once a `loopsafe check` left it."""
    package = project / "src" / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "storage.py").write_text("def load(path):\n    with open(path) as fh:\n        return fh.read()\n")
    (package / "handlers.py").write_text("from app.storage import load\n\n\nasync def handler(path: str):\n    return load(path)\n")
    an_hour_ago = time.time() - 3600
    for module in package.iterdir():
        os.utime(module, (an_hour_ago, an_hour_ago))  # the cache keeps no file edited just now
    alone = _run(["lint", "src/app/handlers.py"], project)
    assert alone.returncode == 1, alone.stdout + alone.stderr
    loopsafe = find_tool("loopsafe", "this project's console script")
    checked = subprocess.run([loopsafe, "check", "src/app"], cwd=project, capture_output=True, text=True)
    assert checked.returncode == 1 and "LS301" in checked.stdout, checked.stdout + checked.stderr
    assert (project / ".loopsafe_cache").is_dir()
    linted = _run(["lint", "src/app/handlers.py"], project)
    assert linted.returncode == 1, linted.stdout + linted.stderr
    assert linted.stdout == alone.stdout
    assert "src/app/handlers.py@5:11" in linted.stdout
    # A module changed since the check is read from its file (its cached summary is stale).
    (package / "storage.py").write_text("def load(path):\n    with open(path, 'rb') as fh:\n        return fh.read()\n")
    relinted = _run(["lint", "src/app/handlers.py"], project)
    assert relinted.stdout == linted.stdout, relinted.stdout + relinted.stderr
    assert "LS301 load() blocks the event loop (through app.storage.load() -> open()); fix: " in linted.stdout
    fixed = _run(["fix", "--automatic", "src/app/handlers.py"], project)
    assert fixed.returncode in (0, 1), fixed.stdout + fixed.stderr
    assert "return await asyncio.to_thread(load, path)" in (package / "handlers.py").read_text()


def test_every_fixable_finding_of_a_file_offers_its_fix_and_fix_applies_them_once(project: Path) -> None:
    """A file whose fix adds ``import asyncio``, drops ``import time`` and moves a with
    block into a function: each of its 22 fixable findings is marked and counted (not only
    the first), and ``fixit fix --automatic`` still writes what ``loopsafe fix`` writes. The
    header's ignore comment is about the first statement: it drops no finding elsewhere."""
    body = [f"    os.remove('f{i}')" if i % 2 else f"    time.sleep({i})" for i in range(20)]
    many = "\n".join([
        "# lint-ignore: BlockingCallInCoroutine", "import os", "import time", "", "",
        "async def main() -> None:", *body, "    with open('x') as fh:", "        fh.read()", "",
    ])
    (project / "src" / "many.py").write_text(many)
    linted = _run(["lint", "src/many.py"], project)
    lines = linted.stdout.splitlines()
    assert len(lines) == 22 and all(line.endswith(" (has autofix)") for line in lines), linted.stdout
    assert "22 auto-fixes available" in linted.stderr, linted.stderr
    fixed = _run(["fix", "--automatic", "src/many.py"], project)
    assert "22 auto-fixes available, 22 fixes applied" in fixed.stderr, fixed.stderr
    by_fixit = (project / "src" / "many.py").read_text()
    assert by_fixit == transform_source(many.encode()).output.decode() != many
    assert by_fixit.count("await asyncio.") == 21 and "import time" not in by_fixit

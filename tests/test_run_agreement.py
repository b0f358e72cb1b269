"""Runs that must agree: a project whose files are older than two seconds (as in a copied
or aged checkout), checked cold, warm and without the cache, with one worker and two.

The project has the shape that broke on a real application (AstrBot): a folder without
``__init__.py`` inside a regular package (a PEP 420 namespace portion), whose modules
are imported by their full dotted name from elsewhere in the package.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from codemods.cli import main

PROJECT = {
    "bot/__init__.py": "",
    "bot/core/__init__.py": "",
    # No __init__.py: a namespace portion of the package bot.core.
    "bot/core/utils/media.py": (
        "import os\n"
        "from bot.core.utils.paths import temp_dir\n"
        "\n"
        "def describe(name):\n"
        "    return temp_dir() + '/' + name\n"
        "\n"
        "async def exists(name):\n"
        "    return os.path.exists(describe(name))\n"
    ),
    "bot/core/utils/paths.py": (
        "import os\n"
        "\n"
        "def temp_dir():\n"
        "    return os.path.realpath('data/temp')\n"
    ),
    "bot/core/runner.py": (
        "from bot.core.utils.media import describe\n"
        "from bot.core.utils import paths\n"
        "\n"
        "async def handle(name):\n"
        "    if describe(name):\n"
        "        return paths.temp_dir()\n"
        "    return None\n"
    ),
    "tests/test_runner.py": (
        "from bot.core.utils.media import describe\n"
        "\n"
        "async def test_describe():\n"
        "    assert not describe('x')\n"
    ),
}


def _write_aged(root: Path) -> None:
    past = time.time() - 3600
    for relative, text in PROJECT.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.utime(path, (past, past))


def _check(runner, root: Path, *options: str) -> tuple[int, list[dict[str, object]], str]:  # type: ignore[no-untyped-def]
    old = os.getcwd()
    os.chdir(root)
    try:
        result = runner.invoke(main, ["check", "--format", "json", *options, "."])
    finally:
        os.chdir(old)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout or "[]"), result.stderr


def test_namespace_portion_in_a_package_is_one_module_aged_cold_warm(runner, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LOOPSAFE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "app"
    _write_aged(root)
    cold = _check(runner, root)
    warm = _check(runner, root)
    again = _check(runner, root, "-j", "2")
    uncached = _check(runner, root, "--no-cache", "-j", "1")
    assert "Traceback" not in cold[2] and "error" not in cold[2], cold[2]
    assert cold == warm == again == uncached
    messages = {(f["path"], f["line"], f["code"]): f["message"] for f in cold[1]}
    # The modules of the portion are named under the package, never by their short name.
    chain = messages[("bot/core/runner.py", 5, "LS301")]
    assert "bot.core.utils.media.describe()" in chain and "bot.core.utils.paths.temp_dir()" in chain, chain
    assert ("bot/core/runner.py", 6, "LS301") in messages
    assert ("tests/test_runner.py", 4, "LS301") in messages
    assert all(" media." not in m and "(media." not in m for m in messages.values())


def test_a_bug_met_on_one_file_is_that_files_error_and_the_run_goes_on(runner, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An internal error while analysing one module, or while deciding its calls over the
    project, is that file's error (named, exit 2); the other files are still checked, and
    ``fix`` still rewrites them."""
    import codemods.engine
    import codemods.summaries

    root = tmp_path / "app"
    _write_aged(root)
    real_plan = codemods.engine._plan

    def plan_failing_on_paths(tree, source, settings, comments=None, project=None):  # type: ignore[no-untyped-def]
        if b"def temp_dir" in source:
            raise RuntimeError("planted bug")
        return real_plan(tree, source, settings, comments, project)

    def decide_failing(self, module, result):  # type: ignore[no-untyped-def]
        raise KeyError("planted")

    monkeypatch.setattr(codemods.engine, "_plan", plan_failing_on_paths)
    (root / "bot/core/utils/paths.py").write_text(PROJECT["bot/core/utils/paths.py"] + "\nasync def warm():\n    temp_dir()\n")
    (root / "bot/core/plain.py").write_text("import time\n\nasync def nap():\n    time.sleep(1)\n")
    code, findings, errors = _check(runner, root, "--no-cache", "-j", "1")
    assert code == 2
    assert "bot/core/utils/paths.py: error: internal error: RuntimeError: planted bug" in errors, errors
    assert "Traceback" not in errors
    assert {f["path"] for f in findings if f["code"]} == {
        "bot/core/plain.py", "bot/core/runner.py", "bot/core/utils/media.py", "tests/test_runner.py"
    }
    assert [(f["path"], f["code"]) for f in findings if not f["code"]] == [("bot/core/utils/paths.py", None)]

    monkeypatch.setattr(codemods.summaries.ProjectSummaries, "decide", decide_failing)
    code, findings, errors = _check(runner, root, "--no-cache", "-j", "1")
    assert code == 2
    assert "bot/core/runner.py: error: internal error: KeyError: 'planted'" in errors, errors
    assert "Traceback" not in errors
    old = os.getcwd()
    os.chdir(root)
    try:
        fixed = runner.invoke(main, ["fix", "--no-cache", "-j", "1", "."])
    finally:
        os.chdir(old)
    assert fixed.exit_code == 2 and "internal error: KeyError" in fixed.stderr, fixed.stderr
    # A file whose calls need no other module is still fixed.
    assert "await asyncio.sleep(1)" in (root / "bot/core/plain.py").read_text()


def test_stdin_sees_the_project_a_check_of_the_folder_sees(runner, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A module in a folder of top-level modules (``tests/`` without ``__init__.py``) that
    replaces a project function counts for a file checked through standard input as it
    does for a check of the whole folder."""
    root = tmp_path / "app"
    _write_aged(root)
    (root / "tests/test_paths.py").write_text(
        "from bot.core.utils import paths\n\n\ndef test_temp(monkeypatch):\n"
        "    monkeypatch.setattr(paths, 'temp_dir', lambda: 'x')\n"
    )
    code, by_path, _ = _check(runner, root, "--no-cache")
    wanted = [f for f in by_path if f["path"] == "bot/core/runner.py"]
    assert any("assigned elsewhere" in f["message"] for f in wanted), wanted
    old = os.getcwd()
    os.chdir(root)
    try:
        result = runner.invoke(
            main, ["check", "--no-cache", "--format", "json", "-", "--stdin-filename", "bot/core/runner.py"],
            input=(root / "bot/core/runner.py").read_bytes(),
        )
    finally:
        os.chdir(old)
    assert json.loads(result.stdout) == wanted

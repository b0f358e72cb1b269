"""Every front gives the same findings for the same project.

One small package (``shop``): two coroutine modules calling helpers of their own module
and of other modules (a subpackage, a relative import, a module attribute), some
fixable, some reported, one suppressed by ``# noqa``. Each front is driven on it and
its findings (path, line, column, code, message) compared with ``loopsafe check`` by
path: the text and JSON formats, standard input with ``--stdin-filename``, ``--select``
and ``--ignore`` (and ``ignore`` in ``[tool.loopsafe]``) by each finding's own code,
``--add-noqa`` (then ``check`` is clean), the fixit rule, the language server; and check
itself cold, warm and without the cache, with one and two jobs, on files just written
and on files older than the cache's two seconds, with its paths in any order.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
import time
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner, Result
from lsprotocol import types

from codemods.cli import main
from tests.test_server import Editor, apply, run

#: path, line, column, code, message
Found = tuple[str, int, int, str, str]

PROJECT = {
    "pyproject.toml": '[project]\nname = "shop"\nrequires-python = ">=3.10"\n\n[tool.loopsafe]\n',
    "shop/__init__.py": "",
    "shop/util/__init__.py": "",
    "shop/storage.py": '''\
        """Where the shop keeps its files."""
        import json
        import os
        import sqlite3


        def load_config(path):
            with open(path) as handle:
                return json.load(handle)


        def save_report(path, text):
            with open(path, "w") as handle:
                handle.write(text)


        def open_db(path):
            return sqlite3.connect(path)


        def data_dir():
            return os.path.realpath("data")
        ''',
    "shop/net.py": '''\
        """Prices from the supplier."""
        import requests


        def fetch_rates(url):
            return requests.get(url, timeout=5).json()
        ''',
    "shop/util/clock.py": '''\
        import time


        def backoff(attempt):
            time.sleep(2 ** attempt)
        ''',
    "shop/service.py": '''\
        """The shop's request handlers."""
        import asyncio
        import os
        import shutil
        import time
        from pathlib import Path

        from shop import net
        from shop.storage import data_dir, load_config, open_db, save_report

        from .util.clock import backoff


        def archive(path):
            shutil.copy(path, path + ".bak")


        def count_orders(folder):
            return len(os.listdir(folder))


        async def refresh(url: str, config_path: str, attempt: int):
            config = load_config(config_path)
            rates = net.fetch_rates(url)
            backoff(attempt)
            archive(config_path)
            time.sleep(0.1)
            return config, rates


        async def close_day(report_path: str, lines):
            save_report(report_path, "\\n".join(lines))
            db = open_db("shop.db")
            total = sum(count_orders(folder) for folder in lines)
            try:
                await asyncio.sleep(0)
            finally:
                os.remove(report_path)
            return db, total


        async def data_root():
            return Path(data_dir()).resolve()  # the fix of resolve() holds that of data_dir()
        ''',
    # No blocking call of its own: the screen passes it over, the project looks again.
    "shop/jobs.py": '''\
        """Nightly jobs."""
        from shop import storage
        from shop.service import archive


        def settings_of(path):
            return storage.load_config(path)


        async def nightly(path: str, lines):
            archive(path)
            storage.save_report(path, "\\n".join(lines))  # noqa: LS301
            return settings_of(path)
        ''',
}

COROUTINE_MODULES = ("shop/jobs.py", "shop/service.py")
#: Older than the cache's two seconds (``cache.RACY_SECONDS``): files the cache keeps.
AN_HOUR_AGO = time.time() - 3600


def write(root: Path, aged: bool = True) -> Path:
    for name, text in PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    if aged:
        age(root)
    return root


def age(root: Path) -> None:
    for path in root.rglob("*.py"):
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))


@pytest.fixture()
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = write(tmp_path / "shop-project")
    monkeypatch.chdir(root)
    return root


def invoke(*args: str, input: bytes | None = None) -> Result:
    # A runner of our own: stderr apart from stdout (see ``tests.conftest.runner``).
    runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()
    result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def check(*args: str, input: bytes | None = None, status: int = 1) -> list[Found]:
    """The findings of ``loopsafe check --format json ARGS``, sorted."""
    result = invoke("check", "--format", "json", *args, input=input)
    assert result.exit_code == status, result.stdout + result.stderr
    return sorted(
        (item["path"], item["line"], item["column"], item["code"], item["message"]) for item in json.loads(result.stdout)
    )


def reference() -> list[Found]:
    """What ``check`` by path finds, with neither cache nor workers."""
    return check("--no-cache", "-j", "1", "shop")


def test_the_project_holds_what_the_fronts_are_compared_on(shop: Path) -> None:
    found = reference()
    places = {(path, line, code) for path, line, _, code, _ in found}
    assert {
        ("shop/service.py", 23, "LS301"),  # load_config, from another module
        ("shop/service.py", 24, "LS301"),  # net.fetch_rates, a module's attribute
        ("shop/service.py", 25, "LS301"),  # backoff, from a subpackage by a relative import
        ("shop/service.py", 26, "LS301"),  # archive, of its own module
        ("shop/service.py", 27, "LS251"),  # time.sleep, directly
        ("shop/service.py", 32, "LS301"),  # save_report
        ("shop/service.py", 33, "LS301"),  # open_db: a connection bound to its thread
        ("shop/service.py", 34, "LS301"),  # count_orders in a generator expression
        ("shop/service.py", 38, "LS260"),  # os.remove in `finally:`
        ("shop/service.py", 43, "LS301"),  # data_dir(), inside...
        ("shop/service.py", 43, "LS240"),  # ...the call of Path.resolve(), whose fix quotes it
        ("shop/jobs.py", 11, "LS301"),  # archive, of the other coroutine module
        ("shop/jobs.py", 13, "LS301"),  # settings_of, of its own module, into another
    } <= places
    assert ("shop/jobs.py", 12, "LS301") not in places  # suppressed by the comment on its line
    fixable = {message.split("; ", 1)[1].startswith("fix: ") for *_, message in found}
    assert fixable == {True, False}
    text = invoke("check", "--no-cache", "-j", "1", "shop")
    assert sorted(text.stdout.splitlines()) == sorted(
        f"{path}:{line}:{column}: {code} {message}" for path, line, column, code, message in found
    )


def test_stdin_with_its_filename_finds_what_a_check_by_path_finds(shop: Path) -> None:
    expected = reference()
    for name in COROUTINE_MODULES:
        source = (shop / name).read_bytes()
        assert check("--no-cache", "-", "--stdin-filename", name, input=source) == [
            found for found in expected if found[0] == name
        ]
        # With the cache the check by path left, too.
        check("shop")
        assert check("-", "--stdin-filename", name, input=source) == [found for found in expected if found[0] == name]
    # And `fix -` rewrites what `fix` by path rewrites.
    fixed_by_stdin = {
        name: invoke("fix", "--no-cache", "-", "--stdin-filename", name, input=(shop / name).read_bytes()).stdout
        for name in COROUTINE_MODULES
    }
    assert invoke("fix", "--no-cache", "shop").exit_code == 1  # calls left for review
    assert fixed_by_stdin == {name: (shop / name).read_text() for name in COROUTINE_MODULES}
    assert "return await asyncio.to_thread(settings_of, path)" in fixed_by_stdin["shop/jobs.py"]


SELECTIONS: list[tuple[list[str], Callable[[str], bool]]] = [
    (["--select", "LS301"], lambda code: code == "LS301"),
    (["--select", "LS251,LS260"], lambda code: code in ("LS251", "LS260")),
    (["--ignore", "LS301"], lambda code: code != "LS301"),
    (["--no-transitive"], lambda code: code != "LS301"),
    # The chains of backoff() end in time.sleep (LS251): they are LS301 findings all the same.
    (["--ignore", "LS251"], lambda code: code != "LS251"),
    (["--select", "LS301", "--ignore", "LS301"], lambda code: False),
]


@pytest.mark.parametrize("options, kept", SELECTIONS, ids=[" ".join(options) for options, _ in SELECTIONS])
def test_select_and_ignore_go_by_each_findings_own_code(
    shop: Path, options: list[str], kept: Callable[[str], bool]
) -> None:
    expected = [found[:4] for found in reference() if kept(found[3])]
    selected = check("--no-cache", *options, "shop", status=1 if expected else 0)
    # The messages may differ from the reference's: a fix quoting a call not rewritten
    # now (Path(data_dir()).resolve with LS301 ignored) says so.
    assert [found[:4] for found in selected] == expected
    for name in COROUTINE_MODULES:
        source = (shop / name).read_bytes()
        assert check("--no-cache", *options, "-", "--stdin-filename", name, input=source,
                     status=1 if any(found[0] == name for found in expected) else 0) == [
            found for found in selected if found[0] == name
        ]


def test_ignore_in_the_configuration_goes_by_each_findings_own_code(shop: Path) -> None:
    expected = check("--no-cache", "--ignore", "LS251", "shop")
    assert [found[:4] for found in expected] == [found[:4] for found in reference() if found[3] != "LS251"]
    pyproject = shop / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'ignore = ["LS251"]\n')
    assert check("--no-cache", "shop") == expected
    assert check("shop") == expected


def test_add_noqa_suppresses_every_finding_check_lists(shop: Path) -> None:
    expected = reference()
    result = invoke("check", "--add-noqa", "shop")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"loopsafe: {len(expected)} findings suppressed with `# noqa` in 2 files" in result.stderr
    assert "not suppressed" not in result.stderr
    assert check("shop", status=0) == []
    assert check("--no-cache", "shop", status=0) == []
    again = invoke("check", "--add-noqa", "shop")
    assert "loopsafe: 0 findings suppressed" in again.stderr
    jobs = (shop / "shop/jobs.py").read_text()
    assert "    archive(path)  # noqa: LS301\n" in jobs
    assert '    storage.save_report(path, "\\n".join(lines))  # noqa: LS301\n' in jobs  # as it was


def test_the_fixit_rule_finds_what_check_finds(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fixit.engine import LintRunner
    from fixit.ftypes import Config

    from codemods import lint, summaries

    def lint_all() -> list[Found]:
        found = []
        for name in COROUTINE_MODULES:
            path = shop / name
            runner = LintRunner(path, path.read_bytes())
            for violation in runner.collect_violations([lint.BlockingCallInCoroutine()], Config(path=path)):
                code, message = violation.message.split(" ", 1)
                found.append((name, violation.range.start.line, violation.range.start.column + 1, code, message))
        return sorted(found)

    expected = reference()
    assert lint_all() == expected
    check("shop")  # the summaries in loopsafe's cache are read too (by a new fixit process)
    assert (shop / ".loopsafe_cache").is_dir()
    monkeypatch.setattr(summaries, "_PROJECTS", {})
    assert lint_all() == expected


def test_the_language_server_finds_what_check_finds(shop: Path) -> None:
    expected = reference()
    documents = {name: (shop / name).read_text() for name in COROUTINE_MODULES}

    async def session(editor: Editor) -> tuple[list[Found], list[types.CodeAction]]:
        found: list[Found] = []
        ranges = {}
        for name, text in documents.items():
            for diagnostic in await editor.diagnostics(editor.open(name, text), 1):
                start = diagnostic.range.start
                found.append((name, start.line + 1, start.character + 1, str(diagnostic.code), diagnostic.message))
                ranges[found[-1][:3]] = diagnostic.range
        # Suppressing a call into another module, from the editor.
        actions = await editor.actions(editor.uri("shop/jobs.py"), ranges["shop/jobs.py", 13, 12])
        return found, actions

    found, actions = run(session, shop)
    assert sorted(found) == expected
    [suppress] = [action for action in actions if action.title.startswith("loopsafe: suppress LS301")]
    assert "    return settings_of(path)  # noqa: LS301\n" in apply(documents["shop/jobs.py"], suppress.edit)


def test_every_run_finds_the_same(shop: Path) -> None:
    """Cold, warm and without the cache; one job and two; paths in any order; files just
    written (the cache keeps none) and older than two seconds (it keeps them all)."""
    expected = reference()
    cache = shop / ".loopsafe_cache"
    runs: dict[str, list[Found]] = {}
    write(shop, aged=False)
    runs["fresh files"] = check("shop")
    runs["fresh files, warm"] = check("shop")
    age(shop)
    shutil.rmtree(cache, ignore_errors=True)
    runs["cold"] = check("-j", "1", "shop")
    runs["warm"] = check("-j", "1", "shop")
    runs["warm, two jobs"] = check("-j", "2", "shop")
    runs["no cache, two jobs"] = check("--no-cache", "-j", "2", "shop")
    shutil.rmtree(cache, ignore_errors=True)
    runs["cold, two jobs"] = check("-j", "2", "shop")
    runs["warm, second"] = check("-j", "2", "shop")
    files = sorted(str(path.relative_to(shop)) for path in (shop / "shop").rglob("*.py"))
    runs["files in order"] = check("--no-cache", *files)
    runs["files reversed"] = check("--no-cache", *reversed(files))
    runs["files reversed, warm"] = check(*reversed(files))
    runs["files reversed, warm, two jobs"] = check("-j", "2", *reversed(files))
    assert {name: found for name, found in runs.items() if found != expected} == {}
    # A coroutine module checked alone finds what it finds in the whole project.
    for name in COROUTINE_MODULES:
        mine = [found for found in expected if found[0] == name]
        assert check("--no-cache", name) == mine
        assert check(name) == mine
        assert check("-j", "2", name, "shop/storage.py") == mine


# -- calls typed by another module's return annotations -----------------------------------

TYPED_PROJECT = {
    "pyproject.toml": '[project]\nname = "lab"\nrequires-python = ">=3.10"\n\n[tool.loopsafe]\n',
    "lab/__init__.py": "",
    "lab/paths.py": '''\
        """What the coroutines' calls return, by the return annotations."""
        from pathlib import Path

        import httpx


        def data_dir() -> Path:
            return Path("data")


        def client() -> httpx.Client:
            return httpx.Client()
        ''',
    # No blocking call of its own: the screen passes it over, the project looks again.
    "lab/jobs.py": '''\
        from lab import paths


        async def prepare():
            paths.data_dir().mkdir(exist_ok=True)
        ''',
    # A blocking call of its own: analysed whole at once, the typed calls wait for the project.
    "lab/service.py": '''\
        import time

        from lab.paths import client, data_dir


        async def fetch(url: str):
            time.sleep(0.1)
            folder = data_dir()
            folder.exists()
            return client().get(url)
        ''',
}
TYPED_MODULES = ("lab/jobs.py", "lab/service.py")


@pytest.fixture()
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lab-project"
    for name, text in TYPED_PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    age(root)
    monkeypatch.chdir(root)
    return root


def test_every_front_types_calls_by_another_modules_return_annotations(
    lab: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fixit.engine import LintRunner
    from fixit.ftypes import Config

    from codemods import lint, summaries

    expected = check("--no-cache", "-j", "1", "lab")
    assert [found[:4] for found in expected] == [
        ("lab/jobs.py", 5, 5, "LS240"),  # paths.data_dir().mkdir()
        ("lab/service.py", 7, 5, "LS251"),
        ("lab/service.py", 9, 5, "LS240"),  # folder = data_dir(); folder.exists()
        ("lab/service.py", 10, 12, "LS212"),  # client().get(url)
    ]
    cache = lab / ".loopsafe_cache"
    runs = {
        "cold": check("-j", "1", "lab"), "warm": check("-j", "1", "lab"), "warm, two jobs": check("-j", "2", "lab"),
        "no cache, two jobs": check("--no-cache", "-j", "2", "lab"),
    }
    shutil.rmtree(cache)
    runs["cold, two jobs"] = check("-j", "2", "lab")
    runs["warm, after two jobs"] = check("-j", "1", "lab")
    for name in TYPED_MODULES:
        mine = [found for found in expected if found[0] == name]
        source = (lab / name).read_bytes()
        runs[f"{name} alone"] = check("--no-cache", name) + [f for f in expected if f[0] != name]
        runs[f"{name} on stdin"] = check("--no-cache", "-", "--stdin-filename", name, input=source) + [
            f for f in expected if f[0] != name]
        runs[f"{name} on stdin, warm"] = check("-", "--stdin-filename", name, input=source) + [
            f for f in expected if f[0] != name]
        assert mine
    assert {name: sorted(found) for name, found in runs.items() if sorted(found) != expected} == {}

    def lint_all() -> list[Found]:
        found = []
        for name in TYPED_MODULES:
            path = lab / name
            runner = LintRunner(path, path.read_bytes())
            for violation in runner.collect_violations([lint.BlockingCallInCoroutine()], Config(path=path)):
                code, message = violation.message.split(" ", 1)
                found.append((name, violation.range.start.line, violation.range.start.column + 1, code, message))
        return sorted(found)

    monkeypatch.setattr(summaries, "_PROJECTS", {})
    assert lint_all() == expected

    async def session(editor: Editor) -> list[Found]:
        found: list[Found] = []
        for name in TYPED_MODULES:
            for diagnostic in await editor.diagnostics(editor.open(name, (lab / name).read_text()), 1):
                start = diagnostic.range.start
                found.append((name, start.line + 1, start.character + 1, str(diagnostic.code), diagnostic.message))
        return found

    assert sorted(run(session, lab)) == expected

    # And `fix -` rewrites what `fix` by path rewrites.
    fixed_by_stdin = {
        name: invoke("fix", "--no-cache", "-", "--stdin-filename", name, input=(lab / name).read_bytes()).stdout
        for name in TYPED_MODULES
    }
    assert invoke("fix", "lab").exit_code == 0
    assert fixed_by_stdin == {name: (lab / name).read_text() for name in TYPED_MODULES}
    assert "    await asyncio.to_thread(paths.data_dir().mkdir, exist_ok=True)\n" in fixed_by_stdin["lab/jobs.py"]


def test_a_changed_return_annotation_changes_the_findings_of_the_modules_calling_it(lab: Path) -> None:
    typed = check("lab")
    helper = lab / "lab/paths.py"
    text = helper.read_text()
    helper.write_text(text.replace("def data_dir() -> Path:", "def data_dir() -> str:"))
    os.utime(helper, (AN_HOUR_AGO + 60, AN_HOUR_AGO + 60))  # the cache sees the change, and keeps it
    untyped = check("lab")
    assert untyped == check("--no-cache", "lab")
    assert [found[:4] for found in untyped] == [
        ("lab/service.py", 7, 5, "LS251"), ("lab/service.py", 10, 12, "LS212"),
    ]
    helper.write_text(text)
    os.utime(helper, (AN_HOUR_AGO + 120, AN_HOUR_AGO + 120))
    assert check("lab") == typed
    assert check("-j", "2", "lab") == typed

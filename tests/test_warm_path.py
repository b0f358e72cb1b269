"""``loopsafe check`` answered from the findings cache (``codemods.cached_check``): the same
bytes and exit status as the click app, without importing click, the analyses or libcst;
anything it does not answer goes to the click app, with nothing printed."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner, Result

import codemods.cache as cache_module
from codemods.cached_check import answer
from codemods.cli import main

AN_HOUR_AGO = time.time() - 3600

FILES = {
    "pyproject.toml": '[project]\nrequires-python = ">=3.9"\n\n[tool.loopsafe]\nexclude = ["legacy_*.py"]\n',
    "pkg/__init__.py": "",
    "pkg/util.py": "import time\n\n\ndef pause():\n    time.sleep(1)\n",
    "pkg/app.py": (
        "import os\nimport time\n\nfrom pkg.util import pause\n\n\n"
        "async def handler(path):\n    time.sleep(1)\n    pause()\n    return os.path.exists(path)\n"
    ),
    "pkg/quiet.py": "async def nothing():\n    return 1\n",
    "broken/bad.py": "async def f(:\n    pass\n",
    "legacy_old.py": "import time\n\n\nasync def old():\n    time.sleep(2)\n",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))  # older than the cache's racy window
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOOPSAFE_CACHE_DIR", raising=False)
    return tmp_path


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        return CliRunner()  # click >= 8.2 keeps stderr apart


def _click(arguments: list[str]) -> tuple[int, bytes, bytes]:
    result: Result = _runner().invoke(main, arguments)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout_bytes, result.stderr_bytes or b""


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """``answer`` with stdout and stderr caught: (status, stdout, stderr)."""

    def run(arguments: list[str]) -> tuple[int | None, bytes, bytes]:
        out, err = io.BytesIO(), io.BytesIO()
        with monkeypatch.context() as patch:
            patch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8", write_through=True))
            patch.setattr(sys, "stderr", io.TextIOWrapper(err, encoding="utf-8", write_through=True))
            status = answer(arguments)
            return status, out.getvalue(), err.getvalue()  # before the wrappers go, closing them

    yield run


ANSWERED = [
    ["check", "pkg"],
    ["check"],
    ["check", "-q", "pkg"],
    ["check", "--format", "json", "--statistics", "pkg", "broken"],
    ["check", "--format=sarif", "."],
    ["check", "--format", "github", "pkg", "broken"],
    ["check", "--statistics", "pkg"],
    ["check", "--sort", "cost", "--statistics", "-q", "."],
    ["check", "--select", "LS251,ASYNC240", "--select", "LS301", "pkg"],
    ["check", "--ignore", "LS301", "pkg"],
    ["check", "--select", "ls2", "--ignore", "LS25", "--extend-select=ASYNC251", "pkg"],
    ["check", "--exit-zero", "pkg", "broken"],
    ["check", "--exit-zero", "pkg"],
    ["check", "--no-transitive", "pkg/app.py"],
    ["check", "pkg/app.py", "legacy_old.py", "nowhere.py"],
    ["check", "-qv", "pkg"],
    ["check", "-v", "pkg", "--exclude", "quiet.py"],
    ["check", "--target-version", "3.8", "--no-native-sleep", "pkg"],
    ["check", "--config", "pyproject.toml", "--color", "never", "pkg"],
    ["check", "--cache-dir", "elsewhere", "-j", "1", "--", "pkg"],
    ["check", "-qj2", "pkg"],
    ["check", "--force-exclude", "legacy_old.py", "pkg/app.py"],
    ["check", "--no-respect-gitignore", "--no-force-exclude", "legacy_old.py"],
]


@pytest.mark.parametrize("arguments", ANSWERED, ids=" ".join)
def test_the_cache_answers_as_the_click_app_prints(project: Path, fast, arguments: list[str]) -> None:  # type: ignore[no-untyped-def]
    cold = _click(arguments)
    assert _click([arguments[0], "--no-cache", *arguments[1:]]) == cold
    warm = _click(arguments)
    assert warm == cold
    assert fast(arguments) == warm  # answered, not declined: ``None`` would differ


DECLINED = [
    ["check", "-"],
    ["check", "--format", "json", "pkg"],  # each finding's fix as edits: the files are read again
    ["check", "--no-cache", "pkg"],
    ["check", "--add-noqa", "pkg"],
    ["check", "--observed", "recorded.json", "pkg"],
    ["check", "--stdin-filename", "pkg/app.py", "pkg"],
    ["check", "-h"],
    ["check", "--help"],
    ["--version"],
    ["diff", "pkg"],
    ["check", "--select", "LS999", "pkg"],
    ["check", "--extend-select", "ASYNC1", "pkg"],
    ["check", "--fix", "pkg"],
    ["check", "-j0", "pkg"],
    ["check", "-j"],
    ["check", "--format", "xml", "pkg"],
    ["check", "--quiet=yes", "pkg"],
    ["check", "-q=", "pkg"],
    ["check", "--config", "missing.toml", "pkg"],
    ["check", "--config", "pkg", "pkg"],
    ["check", "--cache-dir", "pyproject.toml", "pkg"],
    ["check", "--target-version", "2.7", "pkg"],
    ["check", "--unknown", "pkg"],
    ["check", "-x", "pkg"],
]


def test_what_the_cache_does_not_answer_goes_to_the_click_app(project: Path, fast) -> None:  # type: ignore[no-untyped-def]
    _click(["check", "."])
    for arguments in DECLINED:
        assert fast(arguments) == (None, b"", b""), arguments


def test_a_changed_file_configuration_or_loopsafe_goes_the_slow_way(project: Path, fast,  # type: ignore[no-untyped-def]
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    arguments = ["check", "pkg"]
    _click(arguments)
    assert fast(arguments)[0] == 1
    # A module another one's finding depends on (LS301 through pkg.util.pause).
    util = project / "pkg" / "util.py"
    util.write_text("import time\n\n\ndef pause():\n    return 1\n")
    os.utime(util, (AN_HOUR_AGO + 60, AN_HOUR_AGO + 60))
    assert fast(arguments) == (None, b"", b"")
    changed = _click(arguments)
    assert b"LS301" not in changed[1]
    assert fast(arguments) == changed
    # The settings.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(FILES["pyproject.toml"] + 'ignore = ["LS251"]\n')
    assert fast(arguments) == (None, b"", b"")
    assert fast(arguments) != _click(arguments) == fast(arguments)
    # loopsafe's own code (the catalog, the analyses).
    monkeypatch.setattr(cache_module, "_code_digest", lambda: b"another loopsafe")
    assert fast(arguments) == (None, b"", b"")


def test_the_command_answers_without_click_the_catalog_or_the_analyses(project: Path) -> None:
    """The ``loopsafe`` script's function in a new process, as a warm ``check`` runs."""
    import tomllib

    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["loopsafe"] == "codemods.__main__:main"
    arguments = ["check", "--format", "json", "--statistics", "pkg", "broken"]
    expected = _click(arguments)
    script = (
        "import sys\nfrom codemods.__main__ import main\ntry:\n    main()\nfinally:\n    sys.stdout.flush()\n"
        "    loaded = sorted(name for name in sys.modules if name.startswith(('click', 'libcst', 'codemods')))\n"
        "    sys.stderr.write('MODULES ' + ' '.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *arguments], cwd=project, capture_output=True, check=False)
    stderr, _, modules = done.stderr.rpartition(b"MODULES ")
    assert (done.returncode, done.stdout, stderr) == expected
    loaded = modules.decode().split()
    assert "codemods.cached_check" in loaded
    heavy = ("click", "libcst", "codemods.cli", "codemods.catalog", "codemods.engine", "codemods.analysis",
             "codemods.rewrite", "codemods.summaries", "codemods.observed", "codemods.declared")
    assert [name for name in loaded if name.startswith(heavy)] == []


SPECIFIERS = [
    ">=3.12", ">=3.8", ">= 3.9", " >=3.11 ", ">=3.9.1", ">=3.09", ">=3.99", ">=3.100", ">=3.9.0rc1", "~=3.10",
    ">=3.9,<4.0", ">=3.9, <4", "<4,>=3.8", ">=3.9,<4.0.0", ">=3.9,<4.1", ">=3.9,<3", ">=3.10,<3.13", ">=3.9,<3.10",
    ">=3.9,<3.10.0", ">=3.9,<3.10.0.0", ">=3.9,<3.9", ">=3.9,<3.9.5", ">=3.9,<3.010", ">=3.9,>=3.10", ">=3.9,!=3.9.0",
    ">=3.9,<=3.11", ">=3.9,",
]


def test_the_usual_requires_python_is_read_without_packaging_as_packaging_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import codemods.config as config

    def minimum(spec: str) -> object:
        try:
            return config.minimum_from_requires_python(spec)
        except ValueError:
            return ValueError

    quick = [minimum(spec) for spec in SPECIFIERS]
    simple = [config._simple_minimum(spec) for spec in SPECIFIERS]
    monkeypatch.setattr(config, "_simple_minimum", lambda spec: None)
    assert [minimum(spec) for spec in SPECIFIERS] == quick
    assert sum(answer is not None for answer in simple) >= 15  # most of them without packaging


def test_the_options_read_without_click_are_the_ones_click_declares() -> None:
    """``cached_check`` reads ``check``'s options itself (click is not imported there): its
    names, flag values, repetition, choices and defaults must be what ``codemods.cli``
    declares, or the answer from the cache would read a command line differently."""
    import click

    from codemods import cached_check

    command = main.commands["check"]
    assert isinstance(command, click.Command)
    declared = {option.name: option for option in command.params if isinstance(option, click.Option)}
    read = {**{name: dest for name, (dest, _) in cached_check._FLAGS.items()}, **cached_check._VALUED}
    for name, dest in read.items():
        option = declared[dest]
        assert name in [*option.opts, *option.secondary_opts], (name, dest)
        assert option.is_flag == (name in cached_check._FLAGS), name
        if name in cached_check._FLAGS:
            assert cached_check._FLAGS[name][1] == (name in option.opts), name  # ``--no-x`` sets False
        assert option.multiple == (dest in cached_check._REPEATED), name
        choices = getattr(option.type, "choices", None)
        assert (list(choices) if choices is not None else None) == (
            list(cached_check._CHOICES[dest]) if dest in cached_check._CHOICES else None), name
        default = () if option.multiple and option.default is None else option.default
        assert cached_check._DEFAULTS[dest] == default, name
    assert set(cached_check._DEFAULTS) == set(read.values())
    # What it does not read goes to click (``_Declined``): every other option of ``check``.
    assert set(declared) - set(read.values()) == {"stdin_filename", "no_cache", "observed", "add_noqa"}

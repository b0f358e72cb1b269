"""requires-python read as PEP 440 specifiers, and how it picks the offload strategy."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from codemods.cli import main
from codemods.config import ConfigError, load_settings, minimum_from_requires_python


@pytest.mark.parametrize(
    ("spec", "oldest", "legacy"),
    [
        (">3.8", (3, 8), True),  # 3.8.1 > 3.8: 3.8 is supported, so no to_thread
        (">=3", (3, 0), True),
        (">=3.8", (3, 8), True),
        (">3.8.5", (3, 8), True),
        ("~=3.8.5", (3, 8), True),
        (">=2.7", (3, 0), True),
        ("!=3.8.*,>=3.7", (3, 7), True),
        ("!=3.0.*,!=3.1.*,>=2.7", (3, 2), True),
        ("==3.8.0rc1", (3, 8), True),
        (">3.8.99", (3, 8), True),
        (">=3.9", (3, 9), False),
        (">= 3.9", (3, 9), False),
        (">=3.9.0", (3, 9), False),
        ("~=3.10", (3, 10), False),
        ("==3.11.*", (3, 11), False),
        (">=3.9,<4", (3, 9), False),
        ("!=3.8.*,>=3.8", (3, 9), False),
        (">=3.8,!=3.8.*", (3, 9), False),
        ("<3", None, False),
    ],
)
def test_requires_python_is_read_as_a_specifier(spec: str, oldest: tuple[int, int] | None, legacy: bool,
                                                tmp_path: Path) -> None:
    assert minimum_from_requires_python(spec) == oldest
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\nrequires-python = "{spec}"\n')
    assert load_settings(tmp_path).legacy_executor is legacy
    # The same with a [tool.loopsafe] table that does not set target-version.
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "x"\nrequires-python = "{spec}"\n[tool.loopsafe]\nnative-sleep = true\n'
    )
    assert load_settings(tmp_path).legacy_executor is legacy


def test_target_version_wins_over_requires_python(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nrequires-python = ">=3.7"\n[tool.loopsafe]\ntarget-version = "3.9"\n'
    )
    assert load_settings(tmp_path).target_version == (3, 9)


@pytest.mark.parametrize("spec", ["3.9", ">=three", "=>3.9", ">=3.9;"])
def test_invalid_requires_python_is_a_config_error_naming_the_file(spec: str, tmp_path: Path) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text(f'[project]\nrequires-python = "{spec}"\n')
    with pytest.raises(ConfigError, match="requires-python") as error:
        load_settings(tmp_path)
    assert str(project) in str(error.value) and repr(spec) in str(error.value)
    project.write_text(f'[project]\nrequires-python = "{spec}"\n[tool.loopsafe]\n')
    with pytest.raises(ConfigError, match="requires-python"):
        load_settings(tmp_path)


def test_requires_python_must_be_a_string(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nrequires-python = 3.9\n")
    with pytest.raises(ConfigError, match="must be a string"):
        load_settings(tmp_path)


def test_cli_reports_an_invalid_requires_python_without_a_traceback(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=three"\n')
    (tmp_path / "a.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["check", "a.py"], catch_exceptions=False)
    assert result.exit_code == 2  # a configuration error: exit 2, never 1 ("blocking calls found")
    assert "pyproject.toml: [project] requires-python: '>=three' is not a valid PEP 440" in result.stderr
    assert "Traceback" not in result.stderr


def test_requires_python_below_3_9_gives_run_in_executor(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">3.8"\n')
    (tmp_path / "a.py").write_text("import os\n\n\nasync def f(p):\n    os.remove(p)\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["fix", "a.py"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "run_in_executor(None, functools.partial(contextvars.copy_context().run, os.remove, p))" in (tmp_path / "a.py").read_text()

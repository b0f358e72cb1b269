"""Nothing is lost or half-written: encodings and layout survive, writes are atomic,
and every kind of bad input is named without a traceback while the run goes on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from codemods import runner as runner_module
from codemods.cli import main
from codemods.runner import ChangedOnDisk, write_atomically

SLEEPY = "import time\n\nasync def f():\n    time.sleep(1)\n"
FIXED = "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n"


@pytest.fixture()
def cli(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The shared ``runner``, run in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    return runner


def fix(cli: CliRunner, *paths: str):
    return cli.invoke(main, ["fix", "-j", "1", *paths], catch_exceptions=False)


# -- bytes survive -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        ("crlf", SLEEPY.replace("\n", "\r\n").encode(), FIXED.replace("\n", "\r\n").encode()),
        ("bom", b"\xef\xbb\xbf" + SLEEPY.encode(), b"\xef\xbb\xbf" + FIXED.encode()),
        ("tabs", SLEEPY.replace("    ", "\t").encode(), FIXED.replace("    ", "\t").encode()),
        ("no_final_newline", SLEEPY.rstrip("\n").encode(), FIXED.rstrip("\n").encode()),
        (
            "latin1_cookie",
            "# -*- coding: latin-1 -*-\nimport os\n\nasync def f():\n    os.remove('café')\n".encode("latin-1"),
            "# -*- coding: latin-1 -*-\nimport asyncio\nimport os\n\nasync def f():\n"
            "    await asyncio.to_thread(os.remove, 'café')\n".encode("latin-1"),
        ),
    ],
)
def test_encoding_and_layout_survive(cli: CliRunner, tmp_path: Path, name: str, before: bytes, after: bytes) -> None:
    target = tmp_path / f"{name}.py"
    target.write_bytes(before)
    result = fix(cli, target.name)
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes() == after


def test_mode_is_kept_and_no_temporary_file_remains(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "script.py"
    target.write_text(SLEEPY)
    target.chmod(0o750)
    fix(cli, "script.py")
    assert target.stat().st_mode & 0o777 == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["script.py"]


def test_a_read_only_file_is_refused_even_as_root(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "frozen.py"
    target.write_text(SLEEPY)
    target.chmod(0o444)
    result = fix(cli, "frozen.py")
    assert result.exit_code == 2
    assert "frozen.py: error: read-only (no write permission bit); not written" in result.stderr
    assert target.read_text() == SLEEPY and target.stat().st_mode & 0o777 == 0o444


def test_hard_links_keep_sharing_the_file(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "shared.py"
    target.write_text(SLEEPY)
    other = tmp_path / "other_name.py"
    os.link(target, other)
    result = fix(cli, "shared.py")
    assert result.exit_code == 0, result.stderr
    assert other.read_text() == FIXED  # the same inode: both names see the fix
    assert os.path.samefile(target, other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other_name.py", "shared.py"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root (CI runs as root)")
def test_owner_and_group_are_kept_when_root_fixes_a_users_file(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "theirs.py"
    target.write_text(SLEEPY)
    os.chown(target, 4321, 4322)
    target.chmod(0o640)
    result = fix(cli, "theirs.py")
    assert result.exit_code == 0, result.stderr
    status = target.stat()
    assert (status.st_uid, status.st_gid, status.st_mode & 0o777) == (4321, 4322, 0o640)
    assert target.read_text() == FIXED


def test_another_users_file_is_written_in_place_when_its_owner_cannot_be_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not root: a new file would belong to us. Rewriting the file in place keeps its owner.
    target = tmp_path / "theirs.py"
    target.write_text(SLEEPY)
    inode = target.stat().st_ino
    real_stat = os.stat

    def stat_as_another_user(path: object, *args: object, **kwargs: object) -> os.stat_result:
        found = real_stat(path, *args, **kwargs)  # type: ignore[arg-type]
        if str(path) == str(target):
            values = list(found)
            values[4] += 1  # st_uid: someone else
            return os.stat_result(values)
        return found

    def refuse(*args: object) -> None:
        raise PermissionError("not permitted")

    monkeypatch.setattr(os, "stat", stat_as_another_user)
    monkeypatch.setattr(os, "chown", refuse)
    write_atomically(target, FIXED.encode(), SLEEPY.encode())
    monkeypatch.undo()
    assert target.read_text() == FIXED and target.stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.py"]


def test_a_folder_that_allows_no_new_file_gets_the_file_rewritten_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (As root a read-only folder is writable anyway: the refusal is simulated.)
    target = tmp_path / "a.py"
    target.write_text(SLEEPY)

    def no_new_file(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    import tempfile  # the runner imports it where it writes

    monkeypatch.setattr(tempfile, "mkstemp", no_new_file)
    write_atomically(target, FIXED.encode(), SLEEPY.encode())
    assert target.read_text() == FIXED


# -- atomic writes -----------------------------------------------------------------------


def test_refuses_to_overwrite_a_file_changed_after_reading(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_text("edited by someone else\n")
    with pytest.raises(ChangedOnDisk):
        write_atomically(target, FIXED.encode(), SLEEPY.encode())
    assert target.read_text() == "edited by someone else\n"


def test_cli_reports_a_file_changed_while_running(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.py"
    target.write_text(SLEEPY)
    real = runner_module.process_file

    def process_then_edit(path: Path, *rest):  # type: ignore[no-untyped-def]
        result = real(path, *rest)
        path.write_text(SLEEPY + "# a concurrent edit\n")
        return result

    monkeypatch.setattr(runner_module, "process_file", process_then_edit)
    result = fix(cli, "a.py")
    assert result.exit_code == 2
    assert "a.py: error: changed on disk while loopsafe ran; not written" in result.stderr
    assert target.read_text() == SLEEPY + "# a concurrent edit\n"


def test_interrupted_write_leaves_the_old_file(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text(SLEEPY)
    second.write_text(SLEEPY)
    calls = {"n": 0}
    real_replace = os.replace

    def replace_then_interrupt(src, dst):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(runner_module.os, "replace", replace_then_interrupt)
    result = CliRunner().invoke(main, ["fix", "-j", "1", "a.py", "b.py"])
    assert isinstance(result.exception, KeyboardInterrupt) or result.exit_code != 0
    # One file is new, the other old; neither is half-written, no temporary file is left.
    assert first.read_text() == FIXED
    assert second.read_text() == SLEEPY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py"]


# -- the bad-input matrix ----------------------------------------------------------------

BAD_INPUTS: dict[str, bytes] = {
    "binary.py": b"\x7fELF\x02\x01\x01\x00\x00\x00async def\xff\xfe",
    "python2.py": b"async def f():\n    print 'hello'\n",
    "syntax_error.py": b"async def f(:\n    pass\n",
    "not_utf8.py": "async def f():\n    return 'café'\n".encode("latin-1"),
    "bad_cookie.py": b"# -*- coding: klingon -*-\nasync def f():\n    pass\n",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_file_is_named_and_the_run_goes_on(cli: CliRunner, tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(BAD_INPUTS[name])
    (tmp_path / "good.py").write_text(SLEEPY)
    result = fix(cli, ".")
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith(name)]
    assert len(lines) == 1 and ": error: " in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / name).read_bytes() == BAD_INPUTS[name]
    assert (tmp_path / "good.py").read_text() == FIXED


def test_latin1_with_cookie_is_fine(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_bytes("# coding: latin-1\nasync def f():\n    return 'café'\n".encode("latin-1"))
    assert fix(cli, "ok.py").exit_code == 0


@pytest.mark.parametrize("content", [b"", b"   \n\n\t\n", b"\n"])
def test_empty_and_whitespace_files_are_untouched(cli: CliRunner, tmp_path: Path, content: bytes) -> None:
    (tmp_path / "empty.py").write_bytes(content)
    result = fix(cli, "empty.py")
    assert result.exit_code == 0
    assert (tmp_path / "empty.py").read_bytes() == content


def test_very_long_file(cli: CliRunner, tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(20_000))
    (tmp_path / "long.py").write_text(f"import time\n\nasync def f():\n{body}    time.sleep(1)\n")
    result = fix(cli, "long.py")
    assert result.exit_code == 0
    assert (tmp_path / "long.py").read_text().endswith("    await asyncio.sleep(1)\n")


@pytest.mark.parametrize("depth", [600, 3000])
def test_deeply_nested_expressions(cli: CliRunner, tmp_path: Path, depth: int) -> None:
    terms = " + ".join(["n"] * depth)
    (tmp_path / "deep.py").write_text(f"import time\n\nasync def f(n):\n    time.sleep(0)\n    return {terms}\n")
    result = fix(cli, "deep.py")
    assert result.exit_code == 0, result.stderr
    assert "await asyncio.sleep(0)" in (tmp_path / "deep.py").read_text()


def test_nesting_beyond_what_cpython_compiles_is_reported(cli: CliRunner, tmp_path: Path) -> None:
    source = "import os\n\nasync def f():\n    return " + "[" * 300 + "os.listdir('.')" + "]" * 300 + "\n"
    (tmp_path / "nest.py").write_text(source)
    result = fix(cli, "nest.py")
    assert result.exit_code == 2
    # CPython's own parser refuses it, with its message and position.
    assert "nest.py:4:212: error: cannot parse: too many nested parentheses" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "nest.py").read_text() == source


def test_paths_that_are_not_files(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "dir.py").mkdir()
    (tmp_path / "dir.py" / "inner.py").write_text(SLEEPY)
    (tmp_path / "broken.py").symlink_to(tmp_path / "nowhere.py")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    result = fix(cli, "dir.py", "broken.py", "missing.py", "loop")
    assert result.exit_code == 2
    assert "broken.py: error: broken symbolic link" in result.stderr
    assert "missing.py: error: no such file or directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "dir.py" / "inner.py").read_text() == FIXED


def test_fix_twice_over_a_whole_project(cli: CliRunner, tmp_path: Path) -> None:
    """Every fixture input as one project: the second run has nothing left to do."""
    from tests.fixture_cases import discover

    project = tmp_path / "project"
    for case in discover():
        if case.settings_file is None:
            (project / case.name).mkdir(parents=True)
            (project / case.name / "module.py").write_bytes(case.input.read_bytes())
    first = cli.invoke(main, ["fix", "-j", "2", "project"], catch_exceptions=False)
    assert first.exit_code in (0, 1), first.stderr
    assert " 0 files changed" not in first.stderr
    for path in project.rglob("*.py"):
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    second = cli.invoke(main, ["fix", "-j", "2", "project"], catch_exceptions=False)
    assert "loopsafe: 0 files changed, 0 calls rewritten" in second.stderr
    assert cli.invoke(main, ["diff", "project"]).stdout == ""

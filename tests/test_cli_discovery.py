"""Which files a run looks at, as ruff's: what git ignores is skipped by a walk
(``respect-gitignore``), a path named on the command line is looked at unless
``--force-exclude``, and a run left with no file says what skipped them. Driven through
the installed console script, cold and answered from the findings cache (warm)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import find_tool

SLEEPER = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
FIXED = "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n"
AN_HOUR_AGO = time.time() - 3600

#: A repository's files and where each rule of git's comes from.
REPOSITORY = {
    ".gitignore": "generated/\n/top.py\nlogs/*\n!logs/kept.py\nx.py\nsub/top.py\n",
    "app.py": SLEEPER,
    "top.py": SLEEPER,                   # /top.py: only at the top
    "sub/top.py": SLEEPER,
    "sub/ok.py": SLEEPER,
    "generated/gen.py": SLEEPER,         # an ignored folder: not entered
    "logs/old.py": SLEEPER,              # logs/* ...
    "logs/kept.py": SLEEPER,             # ... !logs/kept.py re-includes it
    "sub/.gitignore": "deep.py\n",       # a nested .gitignore applies below its folder
    "sub/deep.py": SLEEPER,
    "sub/inner/deep.py": SLEEPER,
    "deep.py": SLEEPER,
    "local_notes.py": SLEEPER,           # .git/info/exclude
    "scratch.py": SLEEPER,               # the global excludes file (core.excludesFile)
    "x.py": SLEEPER,
    "nested/.git/HEAD": "ref: refs/heads/main\n",  # another repository: the outer rules stop there
    "nested/x.py": SLEEPER,
}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))  # outside the cache's racy window: a second run is warm


def _environment(home: Path) -> dict[str, str]:
    """The user's git configuration in ``home``: a global excludes file named by core.excludesFile."""
    (home / ".gitconfig").write_text('[user]\n\tname = x\n[core]\n\texcludesFile = "~/global-ignore"\n')
    (home / "global-ignore").write_text("scratch.py\n")
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("GIT_", "LOOPSAFE_"))}
    return {**environment, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


def _loopsafe(cwd: Path, env: dict[str, str], *arguments: str, stdin: str | None = None) -> tuple[int, str, str]:
    done = subprocess.run([find_tool("loopsafe"), *arguments], cwd=cwd, env=env, capture_output=True, text=True,
                          input=stdin)
    return done.returncode, done.stdout, done.stderr


def _files(stdout: str) -> set[str]:
    return {line.split(":")[0] for line in stdout.splitlines()}


def _answered_warm(arguments: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch,
                   env: dict[str, str]) -> tuple[int | None, str, str]:
    """``loopsafe ARGUMENTS`` as the findings cache answers it (``None``: declined)."""
    from codemods.cached_check import answer

    out, err = io.BytesIO(), io.BytesIO()
    with monkeypatch.context() as patch:
        patch.chdir(cwd)
        for key in ("HOME", "XDG_CONFIG_HOME"):
            patch.setenv(key, env[key])
        patch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8", write_through=True))
        patch.setattr(sys, "stderr", io.TextIOWrapper(err, encoding="utf-8", write_through=True))
        status = answer(arguments)
        return status, out.getvalue().decode(), err.getvalue().decode()


def test_a_walk_skips_what_git_ignores_as_git_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git = shutil.which("git")
    assert git is not None, "git is needed to compare with git's own view"
    home, root = tmp_path / "home", tmp_path / "repository"
    home.mkdir()
    env = _environment(home)
    root.mkdir()
    subprocess.run([git, "init", "-q"], cwd=root, env=env, check=True)
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("# git's own comment\nlocal_*.py\n")
    _write(root, REPOSITORY)
    # git's answer: the untracked files it does not ignore (the nested repository is its own).
    listed = subprocess.run([git, "ls-files", "--others", "--exclude-standard", "--", "*.py"], cwd=root, env=env,
                            capture_output=True, text=True, check=True).stdout.split()
    assert "scratch.py" not in listed and "local_notes.py" not in listed and "logs/kept.py" in listed
    expected = {name for name in listed if not name.startswith("nested/")} | {"nested/x.py"}

    cold = _loopsafe(root, env, "check")
    assert cold[0] == 1 and _files(cold[1]) == expected, cold[2]
    warm = _loopsafe(root, env, "check")
    assert warm == cold
    assert _answered_warm(["check"], root, monkeypatch, env) == warm
    # The cold run kept pathspec's translations: a warm run does not import it (a fifth of its time).
    imports = subprocess.run([sys.executable, "-X", "importtime", find_tool("loopsafe"), "check"], cwd=root, env=env,
                             capture_output=True, text=True)
    assert imports.stdout == cold[1] and "pathspec" not in imports.stderr and "| codemods.gitignore" in imports.stderr
    # From a folder below, the repository's rules are the same (`..` is the folder above).
    below = {f"../{name[len('sub/'):]}" for name in expected if name.startswith("sub/")}
    assert _files(_loopsafe(root / "sub" / "inner", env, "check", "..")[1]) == below == {"../ok.py"}
    # A changed .gitignore is read again.
    (root / ".gitignore").write_text(REPOSITORY[".gitignore"] + "app.py\n")
    assert _files(_loopsafe(root, env, "check")[1]) == expected - {"app.py"}
    (root / ".gitignore").write_text(REPOSITORY[".gitignore"])
    # diff and fix walk alike: an ignored file would not be rewritten.
    diff = _loopsafe(root, env, "diff")[1]
    assert {line[len("+++ b/"):] for line in diff.splitlines() if line.startswith("+++ b/")} == expected
    # Off: every file, from the command line or the configuration.
    everything = {name for name in REPOSITORY if name.endswith(".py")}
    assert _files(_loopsafe(root, env, "check", "--no-respect-gitignore")[1]) == everything
    (root / "pyproject.toml").write_text("[tool.loopsafe]\nrespect-gitignore = false\n")
    assert _files(_loopsafe(root, env, "check")[1]) == everything
    assert _files(_loopsafe(root, env, "check", "--respect-gitignore")[1]) == expected
    (root / "pyproject.toml").unlink()
    # Named paths are taken as given (ruff's too): an ignored file, an ignored folder.
    named = _loopsafe(root, env, "check", "generated", "scratch.py", "sub/deep.py")
    assert _files(named[1]) == {"generated/gen.py", "scratch.py", "sub/deep.py"}
    # Everything skipped: the warning says by what.
    code, out, err = _loopsafe(root, env, "check", "--exclude", "*.py")
    assert (code, out) == (0, "")
    assert "loopsafe: warning: no Python files to check under .: 13 files skipped by exclude, " \
        "1 folder by .gitignore\n" in err
    # Outside a repository no .gitignore is read (ruff's neither).
    shutil.rmtree(root / ".git")
    assert _files(_loopsafe(root, env, "check")[1]) == everything


def test_force_exclude_applies_exclude_to_named_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _environment(tmp_path)
    project = tmp_path / "project"
    _write(project, {
        "pyproject.toml": '[tool.loopsafe]\nexclude = ["gen_*.py", "vendored"]\n',
        "gen_api.py": SLEEPER, "vendored/lib.py": SLEEPER, "app.py": SLEEPER,
        "hooked/pyproject.toml": '[tool.loopsafe]\nexclude = ["gen_*.py"]\nforce-exclude = true\n',
        "hooked/gen_x.py": SLEEPER, "hooked/ok.py": SLEEPER,
    })
    named = ["gen_api.py", "vendored/lib.py", "app.py"]
    # ruff's default: a named file is looked at even if excluded.
    assert _files(_loopsafe(project, env, "check", *named)[1]) == set(named)
    # pre-commit's way: excluded named files (and files in excluded folders) are left out silently.
    cold = _loopsafe(project, env, "check", "--force-exclude", *named)
    assert (cold[0], _files(cold[1])) == (1, {"app.py"})
    assert "gen_api" not in cold[2] and "vendored" not in cold[2]
    warm = _loopsafe(project, env, "check", "--force-exclude", *named)
    assert warm == cold
    assert _answered_warm(["check", "--force-exclude", *named], project, monkeypatch, env) == warm
    # Only excluded files given: nothing to do is no failure, and the warning says why.
    code, out, err = _loopsafe(project, env, "check", "--force-exclude", "gen_api.py", "vendored")
    assert (code, out) == (0, "")
    assert "loopsafe: warning: no Python files to check under gen_api.py, vendored: 1 file and 1 folder skipped " \
        "by exclude\n" in err
    # force-exclude = true in [tool.loopsafe]; --no-force-exclude overrides it.
    assert _files(_loopsafe(project, env, "check", "hooked/gen_x.py", "hooked/ok.py")[1]) == {"hooked/ok.py"}
    assert _files(_loopsafe(project, env, "check", "--no-force-exclude", "hooked/gen_x.py")[1]) == {"hooked/gen_x.py"}
    # stdin named by --stdin-filename: fixed unless --force-exclude, then passed through unchanged.
    assert _loopsafe(project, env, "fix", "-", "--stdin-filename", "gen_api.py", stdin=SLEEPER)[1] == FIXED
    assert _loopsafe(project, env, "fix", "-", "--stdin-filename", "gen_api.py", "--force-exclude",
                     stdin=SLEEPER)[0:2] == (0, SLEEPER)


@pytest.mark.parametrize("key", ["respect-gitignore", "force-exclude"])
def test_the_walk_settings_are_true_or_false(key: str) -> None:
    from codemods.config import ConfigError, settings_from_table

    assert getattr(settings_from_table({key: True}), key.replace("-", "_")) is True
    with pytest.raises(ConfigError, match=f"{key} must be true or false"):
        settings_from_table({key: "yes"})


def test_one_expression_per_file_decides_as_pathspec_does() -> None:
    # The walk matches each pattern file as one expression (last pattern first); pathspec's
    # own GitIgnoreSpec is the reference for entries whose folders above are not ignored.
    from pathspec import GitIgnoreSpec

    from codemods.gitignore import _Patterns

    lines = ["*.py[co]", "build", "/top.py", "docs/**/gen_*.py", "!docs/keep/gen_ok.py", "logs/*", "!logs/kept.py",
             "a/**/b", "\\#hash.py", "spaced\\ name.py", "[!x]y.py", "**/cache/", "!cache.py", "*.py", "!app*.py"]
    spec = GitIgnoreSpec.from_lines(lines)
    patterns = _Patterns(os.sep, [(p.regex.pattern, bool(p.include)) for p in spec.patterns if p.include is not None])
    paths = ["app.py", "top.py", "sub/top.py", "m.pyc", "build/", "build", "x/build/", "docs/a/gen_x.py",
             "docs/keep/gen_ok.py", "logs/old.py", "logs/kept.py", "a/b", "a/x/y/b", "#hash.py", "spaced name.py",
             "ay.py", "xy.py", "cache/", "q/cache/", "cache.py", "app_2.py", "lib/app.py", "lib/util.py"]
    for path in paths:
        folder = path.endswith("/")
        assert patterns.verdict(os.sep + path.rstrip("/"), folder) == spec.check_file(path).include, path


#: `.ignore` files (ripgrep's, which ruff's walk honours), with and without git around them.
IGNORE_FILES = {
    ".ignore": "generated/\nlocal_*.py\n",
    ".gitignore": "kept.py\n",
    "app.py": SLEEPER,
    "generated/gen.py": SLEEPER,
    "local_notes.py": SLEEPER,
    "kept.py": SLEEPER,                  # .gitignore ignores it, inside git ...
    "sub/.ignore": "!kept.py\nsolo.py\n",  # ... and a deeper .ignore takes it back: .ignore comes first
    "sub/kept.py": SLEEPER,
    "sub/solo.py": SLEEPER,
    "sub/other.py": SLEEPER,
}


def test_ignore_files_are_read_as_ruff_reads_them_in_git_or_not(tmp_path: Path) -> None:
    """The files loopsafe looks at are those ruff would (`ruff check --show-files`), in a
    tree with `.ignore` files outside git (only they apply), then inside (they come before
    `.gitignore`); a named ignored file is looked at; --no-respect-gitignore walks them all."""
    home, tree = tmp_path / "home", tmp_path / "tree"
    home.mkdir()
    env = _environment(home)
    _write(tree, IGNORE_FILES)
    ruff = find_tool("ruff")

    def ruff_files() -> set[str]:
        shown = subprocess.run([ruff, "check", "--show-files", "--no-cache", "."], cwd=tree, env=env,
                               capture_output=True, text=True, check=True).stdout
        return {str(Path(line).relative_to(tree)) for line in shown.split() if line.endswith(".py")}

    for inside_git in (False, True):
        if inside_git:
            subprocess.run(["git", "init", "-q", "."], cwd=tree, env=env, check=True)
        expected = {"app.py", "sub/kept.py", "sub/other.py"} | (set() if inside_git else {"kept.py"})
        assert ruff_files() == expected
        assert _files(_loopsafe(tree, env, "check", "--no-cache", ".")[1]) == expected
    assert _files(_loopsafe(tree, env, "check", "--no-cache", "sub/solo.py")[1]) == {"sub/solo.py"}
    walked = _files(_loopsafe(tree, env, "check", "--no-cache", "--no-respect-gitignore", ".")[1])
    assert walked == {name for name in IGNORE_FILES if name.endswith(".py")}

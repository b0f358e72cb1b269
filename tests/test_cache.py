"""The findings cache: unchanged files are not read again; anything else is recomputed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from codemods.cache import Cached, CACHE_DIR_NAME, FindingsCache
from codemods.cli import main
from codemods.config import Settings
from codemods.findings import FileError, Finding

WORKER = '''\
import time
import threading

LOCK = threading.Lock()


async def poll(path):
    time.sleep(1)
    with LOCK:
        time.sleep(2)
'''
PLAIN = "def helper():\n    return 1\n"
AN_HOUR_AGO = time.time() - 3600


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\n")
    src = tmp_path / "src"
    src.mkdir()
    (src / "worker.py").write_text(WORKER)
    (src / "plain.py").write_text(PLAIN)
    for path in src.iterdir():
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))  # older than the racy window
    return src


def _check(project: Path, *extra: str, jobs: int = 1) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", f"-j{jobs}", *extra, str(project)])
    return result.exit_code, result.output


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The project's Python sources read while the test runs."""
    seen: list[str] = []
    original = Path.read_bytes

    def counting(self: Path) -> bytes:
        if self.suffix == ".py" and self.resolve().is_relative_to(tmp_path.resolve()):
            seen.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    return seen


@pytest.mark.parametrize("jobs", [1, 2])  # in process, and files read here for the workers
def test_a_warm_run_reads_no_unchanged_source(tmp_path: Path, reads: list[str],
                                              monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    cold = _check(project, jobs=jobs)
    assert cold[0] == 1 and "LS251" in cold[1]
    assert sorted(reads) == ["plain.py", "worker.py"]
    assert (tmp_path / CACHE_DIR_NAME / ".gitignore").read_text().endswith("*\n")
    reads.clear()
    warm = _check(project, jobs=jobs)
    assert warm == cold
    assert reads == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_python_cannot_parse_is_not_read_again(tmp_path: Path, reads: list[str],
                                                       monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    # Its error follows from its bytes: a warm run repeats it without reading the file
    # (nor starting workers for it).
    project = _project(tmp_path)
    broken = project / "broken.py"
    broken.write_text("async def f(:\n    pass\n")
    os.utime(broken, (AN_HOUR_AGO, AN_HOUR_AGO))
    monkeypatch.chdir(tmp_path)
    cold = _check(project, jobs=jobs)
    assert cold[0] == 2 and "broken.py:1:13: error: cannot parse" in cold[1]
    reads.clear()
    assert _check(project, jobs=jobs) == cold
    assert reads == []


def test_a_file_that_could_not_be_read_is_tried_again(tmp_path: Path) -> None:
    path = tmp_path / "locked.py"
    path.write_text(PLAIN)
    os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))
    cache = FindingsCache(tmp_path / "cache", Settings())
    cache.put(path, path.stat(), [], FileError("cannot read: Permission denied", transient=True))
    assert cache.get(path, path.stat()) is None
    cache.put(path, path.stat(), [], FileError("cannot parse: invalid syntax", 1, 1))
    assert cache.get(path, path.stat()) == Cached([], FileError("cannot parse: invalid syntax", 1, 1))


def test_a_changed_file_is_read_again(tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    _check(project)
    worker = project / "worker.py"
    worker.write_text(WORKER.replace("time.sleep(1)", "pass"))
    os.utime(worker, (AN_HOUR_AGO + 60, AN_HOUR_AGO + 60))
    reads.clear()
    code, output = _check(project)
    assert reads == ["worker.py"]
    assert output.count("LS251") == 1


def test_same_size_and_time_but_other_settings_are_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    native = _check(project)[1]
    threaded = _check(project, "--no-native-sleep")[1]
    assert "await asyncio.sleep" in native and "asyncio.to_thread(time.sleep" in threaded
    assert _check(project)[1] == native  # each set of settings has its own entries


def test_no_cache_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    _check(project, "--no-cache")
    assert not (tmp_path / CACHE_DIR_NAME).exists()


def test_cache_dir_option_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    _check(project, "--cache-dir", str(tmp_path / "elsewhere"))
    assert list((tmp_path / "elsewhere").glob("findings-*.json"))
    monkeypatch.setenv("LOOPSAFE_CACHE_DIR", str(tmp_path / "from-env"))
    _check(project)
    assert list((tmp_path / "from-env").glob("findings-*.json"))
    assert not (tmp_path / CACHE_DIR_NAME).exists()


def test_fix_rewrites_files_whose_findings_are_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    _check(project)
    result = CliRunner().invoke(main, ["fix", "-j1", str(project)])
    fixed = (project / "worker.py").read_text()
    assert "await asyncio.sleep(1)" in fixed and "        time.sleep(2)" in fixed
    assert "process-wide state" in result.output  # the reported call, from the cache or not
    # The rewritten file's mtime is new: the next check reads it again and finds what fix reported.
    code, output = _check(project)
    assert code == 1 and output.count("LS251") == 1 and "process-wide state" in output


def test_files_modified_just_now_are_not_stored(tmp_path: Path) -> None:
    source = tmp_path / "fresh.py"
    source.write_text(WORKER)
    cache = FindingsCache(tmp_path / "cache", Settings())
    cache.put(source, source.stat(), [])
    cache.save()
    assert not (tmp_path / "cache").exists()


def test_concurrent_runs_merge_and_never_leave_half_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    files = []
    for name in ("a.py", "b.py"):
        path = tmp_path / name
        path.write_text(PLAIN)
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))
        files.append(path)
    finding = Finding(3, 5, "LS251", "time.sleep", True, "await asyncio.sleep(...)")
    first, second = FindingsCache(folder, Settings()), FindingsCache(folder, Settings())
    first.put(files[0], files[0].stat(), [finding])
    second.put(files[1], files[1].stat(), [])
    first.save()
    second.save()  # loaded before first saved: merges what is on disk now
    reloaded = FindingsCache(folder, Settings())
    assert reloaded.get(files[0], files[0].stat()) == Cached([finding])
    assert reloaded.get(files[1], files[1].stat()) == Cached([])
    assert not list(folder.glob("*.tmp"))


def test_a_corrupt_or_unwritable_cache_never_fails_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    expected = _check(project, "--no-cache")
    cold = _check(project)
    assert cold == expected
    [stored] = (tmp_path / CACHE_DIR_NAME).glob("findings-*[0-9a-f].json")
    stored.write_text('{"files": {"x": [1, 2, [[1]]]')  # cut short
    for summaries in (tmp_path / CACHE_DIR_NAME).glob("findings-*.summaries.json"):
        summaries.write_text('{"x": [1, 2')
    assert _check(project) == expected
    json.loads(stored.read_text())  # rewritten whole
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert _check(project, "--cache-dir", str(blocker / "cache")) == expected


def test_the_code_of_every_subpackage_is_in_the_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    # A change to the analysis (a subpackage) must invalidate findings stored before it.
    import codemods.cache as cache_module
    from codemods.config import Settings

    cache_module._code_digest.cache_clear()  # read once per process: this one reads it again
    before = cache_module.fingerprint(Settings())
    analysis_file = Path(cache_module.__file__).parent / "analysis" / "finder.py"
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        data = real_read_bytes(self)
        return data + b"# changed" if self == analysis_file else data

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    cache_module._code_digest.cache_clear()
    try:
        assert cache_module.fingerprint(Settings()) != before
    finally:
        cache_module._code_digest.cache_clear()


# -- calls of project functions across modules (codemods.project) -----------------------

APP = '''\
from app import storage


async def handler(path):
    return storage.load(path)
'''
BLOCKING_STORAGE = '''\
def load(path):
    with open(path) as fh:
        return fh.read()
'''
PURE_STORAGE = '''\
def load(path):
    return path.upper()
'''


def _app(tmp_path: Path, storage: str | None) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\n")
    package = tmp_path / "app"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "handlers.py").write_text(APP)
    if storage is not None:
        (package / "storage.py").write_text(storage)
    for path in package.iterdir():
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))
    return package


def _edit(path: Path, text: str | None, age: float) -> None:
    if text is None:
        path.unlink()
        return
    path.write_text(text)
    os.utime(path, (age, age))


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize(
    ("before", "after"),
    [(BLOCKING_STORAGE, PURE_STORAGE), (PURE_STORAGE, BLOCKING_STORAGE), (None, BLOCKING_STORAGE),
     (BLOCKING_STORAGE, None)],
    ids=["helper-stops-blocking", "helper-starts-blocking", "module-appears", "module-goes"],
)
def test_a_warm_run_sees_a_change_in_the_module_a_call_reaches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str | None, after: str | None, jobs: int
) -> None:
    """The findings of ``handlers.py`` depend on ``storage.py``: a warm run must follow an
    edit there although ``handlers.py`` itself did not change, and agree with a cold run."""
    package = _app(tmp_path, before)
    monkeypatch.chdir(tmp_path)
    first = _check(package, jobs=jobs)
    assert ("LS301" in first[1]) == (before == BLOCKING_STORAGE)
    assert _check(package, jobs=jobs) == first  # warm, nothing changed
    _edit(package / "storage.py", after, AN_HOUR_AGO + 60)
    warm = _check(package, jobs=jobs)
    assert warm == _check(package, "--no-cache", jobs=jobs)
    assert ("LS301" in warm[1]) == (after == BLOCKING_STORAGE)


def test_a_warm_run_decides_calls_across_modules_without_reading_them(
    tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _app(tmp_path, BLOCKING_STORAGE)
    monkeypatch.chdir(tmp_path)
    cold = _check(package)
    assert "handlers.py:5:12: LS301" in cold[1] and "storage.load() -> open()" in cold[1]
    assert "storage.py" in reads  # read for its summary
    reads.clear()
    assert _check(package) == cold
    assert reads == []  # the stored decision holds: storage.py is unchanged

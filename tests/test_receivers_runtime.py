"""Receivers typed through ``self``, properties, return annotations and ``Path.open()``
(``codemods.analysis.receivers``), run before and after ``fix``: the same outcome, with
another task running; blockbuster sees the original block the loop, and not the rewrite."""

from __future__ import annotations

from pathlib import Path

from tests.differential import assert_same_behaviour, describe, observe, rewrite

#: A store whose paths come from an attribute set in ``__init__``, a property and a method
#: annotated ``-> Path``, saved while another task reads the store; the chain
#: ``self.root.joinpath(...).open().read()`` binds the path before the thread starts, as
#: the original reads it first.
PROGRAM = '''
import asyncio
from pathlib import Path


class Store:
    def __init__(self, tmp):
        self.root = Path(tmp) / "a"

    @property
    def data(self) -> Path:
        return self.root / "data.txt"

    def backup(self) -> Path:
        return self.root / "backup.txt"

    async def save(self, text):
        self.root.mkdir()
        self.data.write_text(text)
        self.backup().write_text(text.upper())
        first = self.root.joinpath("data.txt").open().read()
        return first, self.backup().read_text()


async def copy(tmp):
    with Path(tmp, "a", "data.txt").open() as source, Path(tmp, "copy.txt").open("w") as target:
        target.write(source.read())
    handle = Path(tmp, "copy.txt").open()
    line = handle.readline()
    handle.close()
    return line


async def watch(store, seen):
    for _ in range(20):
        seen.add(store.root.name)
        await asyncio.sleep(0)


async def main(tmp):
    store = Store(tmp)
    seen = set()
    saved, _ = await asyncio.gather(store.save("hello"), watch(store, seen))
    return saved, await copy(tmp), seen
'''


def test_typed_receivers_are_fixed_and_keep_behaviour(tmp_path: Path) -> None:
    rewritten, findings = assert_same_behaviour(PROGRAM, tmp_path)
    fixed = sorted({finding.name for finding in findings if finding.fixable})
    assert fixed == [
        "file.close", "file.read", "file.readline", "file.write", "pathlib.Path.mkdir", "pathlib.Path.open",
        "pathlib.Path.read_text", "pathlib.Path.write_text",
    ], findings
    assert "lambda path=self.root.joinpath(\"data.txt\"): path.open().read()" in rewritten  # bound, not re-read
    before = observe(PROGRAM, tmp_path / "watched-original", watched=True)
    assert before.error is not None and before.error.startswith("BlockingError"), describe(before)
    after = observe(rewritten, tmp_path / "watched-rewritten", watched=True)
    assert after.error is None, f"{describe(after)}\n{rewritten}"


#: A process waited for through its Popen object, kept on the instance, while a ticker
#: task runs: after the fix the loop runs the ticker during the wait (it did not before).
POPEN_PROGRAM = '''
import asyncio
import subprocess
import sys


class Runner:
    def __init__(self):
        self.proc = None

    async def run(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
        return self.proc.wait(timeout=10)


async def tick(ticks, done):
    while not done:
        ticks.append(1)
        await asyncio.sleep(0.01)


async def main(tmp):
    ticks, done = [], []
    ticker = asyncio.ensure_future(tick(ticks, done))
    await asyncio.sleep(0.05)
    before = len(ticks)
    code = await Runner().run()
    during = len(ticks) - before
    done.append(True)
    await ticker
    return code, during > 5
'''


def test_a_popen_wait_lets_other_tasks_run_after_the_fix(tmp_path: Path) -> None:
    rewritten, findings = rewrite(POPEN_PROGRAM)
    assert [(f.name, f.fixable) for f in findings] == [
        ("subprocess.Popen", False), ("subprocess.Popen.wait", True),
    ], findings
    assert "await asyncio.to_thread(self.proc.wait, timeout=10)" in rewritten
    before = observe(POPEN_PROGRAM, tmp_path / "original", timeout=10)
    after = observe(rewritten, tmp_path / "rewritten", timeout=10)
    assert before.error is None and before.result == "(0, False)", describe(before)
    assert after.error is None and after.result == "(0, True)", describe(after)

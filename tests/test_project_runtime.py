"""The fixture projects at run time: offloading a safe project helper frees the event loop
and changes nothing else; offloading an unsafe one changes what the program does.

Each program runs in a fresh interpreter (``sys.executable``; ``PYTHONPATH`` = the tree
under test, copied to a temporary folder; the current directory a temporary work folder),
driven by a small script that prints its outcome as JSON:

- the safe side (``cross_module_helper_is_offloaded``): the original tree (``input/``) and
  the rewritten one (``expected/``) return the same result and leave the same files; while
  the handler runs, a ticker task counts its ticks: none in the original (the helper's
  ``time.sleep`` and file writes hold the loop), many in the rewritten tree;
- the unsafe side: a helper that loopsafe reports rather than offloads, offloaded by hand
  (``await asyncio.to_thread(...)`` written into a copy of the input) behaves differently
  from the original, while the expected tree leaves the call as it is and behaves as the
  original does: ``helpers_sharing_module_state_are_reported`` loses an update of a
  module-level dict that two tasks make; ``helpers_needing_the_loop_or_frame_are_reported``
  hangs on a ``StopIteration`` that cannot cross from the worker thread.

The expected trees are hand-written, so these tests hold whatever loopsafe does;
``tests/test_projects.py`` checks that ``loopsafe fix`` gives those trees.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

PROJECTS = Path(__file__).parent / "fixtures" / "projects"


def _tree(tmp_path: Path, project: str, side: str, name: str = "") -> Path:
    """A copy of ``<project>/<side>/`` as ``tmp_path/tree-<name or side>`` (no ``__pycache__``
    is ever written into the repository's)."""
    return Path(shutil.copytree(PROJECTS / project / side, tmp_path / f"tree-{name or side}",
                                ignore=shutil.ignore_patterns("__pycache__")))


def _hand_offloaded(tmp_path: Path, project: str, module: str, call: str, offloaded: str) -> Path:
    """A copy of the input with one call offloaded by hand, as loopsafe must not do it."""
    tree = _tree(tmp_path, project, "input", "hand-offloaded")
    path = tree / module
    source = path.read_text()
    assert source.count(call) == 1, f"{module} should hold `{call}` once"
    lines = source.replace(call, offloaded).splitlines(keepends=True)
    first_import = next(i for i, line in enumerate(lines) if line.startswith(("import ", "from ")))
    path.write_text("".join([*lines[:first_import], "import asyncio\n", *lines[first_import:]]))
    return tree


def _run(tree: Path, driver: str, tmp_path: Path, timeout: float = 30) -> Any:
    """Run ``driver`` with ``tree`` importable, in a fresh work folder; its last line of output, as JSON.
    The work folder is left for the caller to compare (``_files``)."""
    work = tmp_path / f"work-{tree.name}"
    work.mkdir()
    script = tmp_path / f"driver-{tree.name}.py"
    script.write_text(textwrap.dedent(driver))
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _files(tmp_path: Path, tree: Path) -> dict[str, str]:
    work = tmp_path / f"work-{tree.name}"
    return {path.relative_to(work).as_posix(): path.read_text() for path in sorted(work.rglob("*")) if path.is_file()}


# -- safe: offloaded, the loop runs meanwhile, same result -----------------------------------------

TICKER = """
    import asyncio
    import json
    import time

    from reports.handlers import publish


    async def main():
        ticks = 0
        ticking = asyncio.Event()

        async def ticker():
            nonlocal ticks
            ticking.set()
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        task = asyncio.create_task(ticker())
        await ticking.wait()  # the ticker runs, and is waiting for its first tick
        before, started = ticks, time.perf_counter()
        result = await publish("report.json", [["alpha", 1], ["beta", 2]])
        during, elapsed = ticks - before, time.perf_counter() - started
        task.cancel()
        return {"result": result, "ticks": during, "elapsed": elapsed}


    print(json.dumps(asyncio.run(main())))
"""


def test_safe_helper_offloaded_frees_the_loop_and_keeps_the_result(tmp_path: Path) -> None:
    project = "cross_module_helper_is_offloaded"
    original = _tree(tmp_path, project, "input")
    rewritten = _tree(tmp_path, project, "expected")
    assert "await asyncio.to_thread(save_report, path, rows)" in (rewritten / "reports/handlers.py").read_text()

    before = _run(original, TICKER, tmp_path)
    after = _run(rewritten, TICKER, tmp_path)

    assert after["result"] == before["result"]
    assert _files(tmp_path, rewritten) == _files(tmp_path, original)
    assert set(_files(tmp_path, original)) == {"report.json", "report.json.bak"}
    # The helper sleeps 0.2 s: in the original the loop is held all that time (the handler
    # never awaits, so the ticker cannot run); rewritten, it ticks every few milliseconds.
    assert before["elapsed"] >= 0.2 and after["elapsed"] >= 0.2
    assert before["ticks"] <= 1, before
    assert after["ticks"] >= 5, after


# -- unsafe: offloading by hand changes the outcome; loopsafe leaves the call -----------------------

TWO_VISITS = """
    import asyncio
    import json

    from sessions import registry
    from sessions.web import visit


    async def main():
        # Two requests for the same page at once: each counts its visit in registry.VISITS.
        counts = await asyncio.gather(visit("visits.txt", "home"), visit("visits.txt", "home"))
        return {"counts": counts, "visits": registry.VISITS, "total": registry.TOTAL}


    print(json.dumps(asyncio.run(main())))
"""


def test_helper_writing_module_state_offloaded_by_hand_loses_an_update(tmp_path: Path) -> None:
    project = "helpers_sharing_module_state_are_reported"
    call = "count = record_visit(path, page)"
    original = _tree(tmp_path, project, "input")
    expected = _tree(tmp_path, project, "expected")
    naive = _hand_offloaded(tmp_path, project, "sessions/web.py", call,
                            "count = await asyncio.to_thread(record_visit, path, page)")
    assert call in (expected / "sessions/web.py").read_text(), "loopsafe leaves the call on the loop"

    reference = _run(original, TWO_VISITS, tmp_path)
    assert reference == {"counts": [1, 2], "visits": {"home": 2}, "total": 2}
    assert _run(expected, TWO_VISITS, tmp_path) == reference
    # In threads, both read the count before either writes it back (the helper sleeps in
    # between): one visit is lost.
    assert _run(naive, TWO_VISITS, tmp_path) == {"counts": [1, 1], "visits": {"home": 1}, "total": 2}
    # The files are the same: what differs is the state the helper shares with other tasks.
    assert _files(tmp_path, naive) == _files(tmp_path, original) == _files(tmp_path, expected)


FIRST_LINE = """
    import asyncio
    import json

    from jobs.worker import first_line


    async def main():
        open("empty.txt", "w").close()
        try:
            line = await asyncio.wait_for(first_line("empty.txt"), 0.5)
        except asyncio.TimeoutError:
            return {"outcome": "hung"}
        return {"outcome": "returned", "line": line}


    print(json.dumps(asyncio.run(main())))
"""


def test_helper_raising_stop_iteration_offloaded_by_hand_hangs(tmp_path: Path) -> None:
    project = "helpers_needing_the_loop_or_frame_are_reported"
    call = "return read_header(path)"
    original = _tree(tmp_path, project, "input")
    expected = _tree(tmp_path, project, "expected")
    naive = _hand_offloaded(tmp_path, project, "jobs/worker.py", call,
                            "return await asyncio.to_thread(read_header, path)")
    assert call in (expected / "jobs/worker.py").read_text(), "loopsafe leaves the call on the loop"

    # On the loop, next() on an empty file raises StopIteration, which the handler catches.
    reference = _run(original, FIRST_LINE, tmp_path)
    assert reference == {"outcome": "returned", "line": ""}
    assert _run(expected, FIRST_LINE, tmp_path) == reference
    # In a thread, asyncio cannot set StopIteration on the awaited future ("StopIteration
    # interacts badly with generators"): the task never wakes up.
    assert _run(naive, FIRST_LINE, tmp_path) == {"outcome": "hung"}


# -- project-wide facts and thread-unsafe helpers, several programs in one interpreter ----------
#
# Each mechanism runs three trees: the original (``input/``), loopsafe's (``expected/``, which
# ``tests/test_projects.py`` proves is what ``loopsafe fix`` writes) and a naive offload written
# by hand. loopsafe's must behave as the original; the naive one must not. One interpreter runs
# them all (a fresh import of the tree's package for each), with ~1 s timeouts for hangs.

BATCH = """
import asyncio
import importlib
import json
import os
import sys

jobs = json.load(open(sys.argv[1]))
results = {}
for job in jobs:
    for name in [m for m in sys.modules if m.split(".")[0] == job["package"]]:
        del sys.modules[name]
    sys.path.insert(0, job["tree"])
    importlib.invalidate_caches()
    os.chdir(job["work"])
    namespace = {}
    exec(compile(job["driver"], job["name"], "exec"), namespace)
    try:
        results[job["name"]] = asyncio.run(namespace["main"]())
    except Exception as error:
        results[job["name"]] = {"error": repr(error)}
    sys.path.remove(job["tree"])
print(json.dumps(results))
"""


def _offloaded_copy(tmp_path: Path, project: str, module: str, call: str, offloaded: str, name: str) -> Path:
    """A copy of the input with one call offloaded by hand (``import asyncio`` added first)."""
    tree = _tree(tmp_path, project, "input", name)
    path = tree / module
    source = path.read_text()
    assert source.count(call) == 1, f"{module} should hold `{call}` once"
    path.write_text("import asyncio\n" + source.replace(call, offloaded))
    return tree


def _batch(tmp_path: Path, jobs: list[tuple[str, Path, str, str]]) -> dict[str, Any]:
    """Run each ``(name, tree, package, driver)`` in one interpreter; their results by name."""
    specs = []
    for name, tree, package, driver in jobs:
        work = tmp_path / f"work-{name.replace('/', '-')}"
        work.mkdir()
        specs.append({"name": name, "tree": str(tree), "package": package, "work": str(work),
                      "driver": textwrap.dedent(driver)})
    listing = tmp_path / "jobs.json"
    listing.write_text(json.dumps(specs))
    script = tmp_path / "batch.py"
    script.write_text(textwrap.dedent(BATCH))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, str(script), str(listing)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


#: JournalWriter overrides write_batch: it records the rows, then writes them. A watcher
#: compares the journal with the file while two flushes run.
OVERRIDE = """
    import asyncio
    from shop.journal import JournalWriter

    async def main():
        writer = JournalWriter()
        open("out.txt", "w").close()
        snapshots = []
        done = False

        async def watch():
            while not done:
                lines = len(open("out.txt").read().split())
                snapshots.append(len(writer.journal) == lines)
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0)
        await asyncio.gather(writer.flush("out.txt", ["a\\n"]), writer.flush("out.txt", ["b\\n"]))
        done = True
        await watcher
        return {"consistent": all(snapshots), "journal": sorted(writer.journal)}
"""

#: shop.patches replaces store.save by a function counting orders (read, write the file, store).
MONKEYPATCHED = """
    import asyncio
    import shop.patches
    from shop.handlers import place

    async def main():
        await asyncio.gather(place("orders.txt", "tea"), place("orders.txt", "cake"))
        return {"count": shop.patches.ORDERS["count"], "lines": len(open("orders.txt").read().split())}
"""

#: A task holds an RLock on the loop's thread and calls the handler under it.
RLOCK_HELD = """
    import asyncio
    import threading
    from work.handlers import append_line

    async def main():
        lock = threading.RLock()
        with lock:
            try:
                await asyncio.wait_for(append_line("log.txt", "one", lock), 1)
            except asyncio.TimeoutError:
                return {"outcome": "deadlock"}
        return {"outcome": "written", "text": open("log.txt").read()}
"""

#: ``records.__next__()`` on an exhausted iterator.
EXHAUSTED = """
    import asyncio
    from work.handlers import take_record

    async def main():
        open("records.txt", "w").close()
        try:
            record = await asyncio.wait_for(take_record("records.txt", iter([])), 1)
        except asyncio.TimeoutError:
            return {"outcome": "hung"}
        return {"outcome": "returned", "record": record}
"""

#: write_verbose sets the logger to DEBUG and back; another task logs at DEBUG meanwhile.
LOG_WINDOW = """
    import asyncio
    import logging
    from work.handlers import write_debug

    async def main():
        log = logging.getLogger("work")
        log.setLevel(logging.INFO)
        seen = []

        class Keep(logging.Handler):
            def emit(self, record):
                seen.append(record.getMessage())

        log.addHandler(Keep())
        log.propagate = False
        done = False

        async def chatter():
            while not done:
                log.debug("other task")
                await asyncio.sleep(0.005)

        task = asyncio.create_task(chatter())
        await asyncio.sleep(0)
        await write_debug("verbose.txt", "text")
        done = True
        await task
        return {"leaked": seen.count("other task"), "text": open("verbose.txt").read()}
"""


def test_project_wide_facts_and_unsafe_helpers_at_run_time(tmp_path: Path) -> None:
    shop, work = "what_runs_is_decided_by_the_whole_project", "helpers_doing_thread_unsafe_things_are_reported"
    trees = {
        "shop": (_tree(tmp_path, shop, "input", "shop-input"), _tree(tmp_path, shop, "expected", "shop-expected")),
        "work": (_tree(tmp_path, work, "input", "work-input"), _tree(tmp_path, work, "expected", "work-expected")),
    }
    naive = {
        "override": ("shop", _offloaded_copy(
            tmp_path, shop, "shop/writers.py", "self.write_batch(path, rows)",
            "await asyncio.to_thread(self.write_batch, path, rows)", "override-naive")),
        "monkeypatched": ("shop", _offloaded_copy(
            tmp_path, shop, "shop/handlers.py", "store.save(path, order)",
            "await asyncio.to_thread(store.save, path, order)", "monkeypatched-naive")),
        "rlock": ("work", _offloaded_copy(
            tmp_path, work, "work/handlers.py", "helpers.append_locked(path, text, lock)",
            "await asyncio.to_thread(helpers.append_locked, path, text, lock)", "rlock-naive")),
        "exhausted": ("work", _offloaded_copy(
            tmp_path, work, "work/handlers.py", "return helpers.first_record(path, pending)",
            "return await asyncio.to_thread(helpers.first_record, path, pending)", "exhausted-naive")),
        "log-window": ("work", _offloaded_copy(
            tmp_path, work, "work/handlers.py", "helpers.write_verbose(path, message)",
            "await asyncio.to_thread(helpers.write_verbose, path, message)", "log-window-naive")),
    }
    drivers = {"override": OVERRIDE, "monkeypatched": MONKEYPATCHED, "rlock": RLOCK_HELD, "exhausted": EXHAUSTED,
               "log-window": LOG_WINDOW}
    jobs = []
    for mechanism, (package, naive_tree) in naive.items():
        original, loopsafe = trees[package]
        for side, tree in (("original", original), ("loopsafe", loopsafe), ("naive", naive_tree)):
            jobs.append((f"{mechanism}/{side}", tree, package, drivers[mechanism]))
    results = _batch(tmp_path, jobs)

    expected_originals = {
        # The override runs on the loop: no other task sees the journal ahead of the file.
        "override": {"consistent": True, "journal": ["a\n", "b\n"]},
        "monkeypatched": {"count": 2, "lines": 2},
        "rlock": {"outcome": "written", "text": "one\n"},
        # On the loop, StopIteration reaches the handler, which catches it.
        "exhausted": {"outcome": "returned", "record": None},
        # The level is DEBUG only while no other task runs.
        "log-window": {"leaked": 0, "text": "text"},
    }
    for mechanism, original in expected_originals.items():
        assert results[f"{mechanism}/original"] == original, mechanism
        assert results[f"{mechanism}/loopsafe"] == original, mechanism
        assert results[f"{mechanism}/naive"] != original, (mechanism, results[f"{mechanism}/naive"])
    # How the naive offloads fail, precisely:
    assert results["override/naive"]["consistent"] is False  # the journal ran ahead of the file
    assert results["monkeypatched/naive"] == {"count": 1, "lines": 2}  # an order lost from the count
    assert results["rlock/naive"] == {"outcome": "deadlock"}  # re-entrancy is per thread
    assert results["exhausted/naive"] == {"outcome": "hung"}  # StopIteration cannot cross the Future
    assert results["log-window/naive"]["leaked"] > 0  # the other task logged at DEBUG meanwhile

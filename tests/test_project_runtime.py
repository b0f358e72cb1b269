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

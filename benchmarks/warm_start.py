"""A warm ``loopsafe check`` (unchanged tree, cache present) against ruff's cached run, and
where its start-up goes, import by import.

    python benchmarks/warm_start.py TREE [TREE...] [--runs 7]

Per tree: ``loopsafe check -q .`` is run once to fill the cache, then ``--runs`` times
alternating with ``ruff check --select ASYNC -q .`` (cached too); the medians of the CPU
time (user + system, which other work on the machine inflates less than wall clock) and
of the wall clock, and their ratio to ruff. Then ``python -X importtime -m codemods check
-q .``: the smallest self time of each module over the runs, the costliest first, and
whether click, libcst or an analysis module was imported.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("click", "libcst", "codemods.analysis", "codemods.engine", "codemods.catalog", "codemods.rewrite")


def _timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def _imports(tree: Path, runs: int) -> tuple[dict[str, int], list[int]]:
    """Each module's smallest self time (µs) over ``runs``, and each run's total."""
    smallest: dict[str, int] = {}
    totals: list[int] = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "codemods", "check", "-q", "."], cwd=tree,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        total = 0
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, _, name = line[len("import time:"):].split("|")
            module = name.strip()
            smallest[module] = min(smallest.get(module, 1 << 62), int(own))
            total += int(own)
        totals.append(total)
    return smallest, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--top", type=int, default=15)
    options = parser.parse_args()
    loopsafe = [sys.executable, "-m", "codemods", "check", "-q", "."]
    ruff = ["ruff", "check", "--select", "ASYNC", "-q", "."]
    for tree in options.trees:
        tree = tree.resolve()
        for command in (loopsafe, ruff):  # fill the caches
            subprocess.run(command, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        for _ in range(options.runs):
            ours.append(_timed(loopsafe, tree))
            theirs.append(_timed(ruff, tree))
        cpu, wall = (statistics.median(run[i] for run in ours) for i in (0, 1))
        ruff_cpu, ruff_wall = (statistics.median(run[i] for run in theirs) for i in (0, 1))
        print(f"{tree.name}: loopsafe warm cpu {cpu:.3f} s wall {wall:.3f} s; ruff cached cpu {ruff_cpu:.3f} s "
              f"wall {ruff_wall:.3f} s; ratio cpu {cpu / max(ruff_cpu, 1e-3):.1f}x wall {wall / ruff_wall:.1f}x")
        smallest, totals = _imports(tree, options.runs)
        heavy = sorted(m for m in smallest if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
        print(f"  imports: median total {statistics.median(totals) / 1000:.1f} ms (sum of self times), "
              f"sum of smallest {sum(smallest.values()) / 1000:.1f} ms; heavy modules imported: {heavy or 'none'}")
        for module, own in sorted(smallest.items(), key=lambda item: -item[1])[:options.top]:
            print(f"  {own / 1000:7.2f} ms  {module}")
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()

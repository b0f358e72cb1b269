"""How fast can any Python checker be on a tree? Floors next to ruff, per application.

    python benchmarks/floors.py                   # every corpus tree, 5 rounds
    python benchmarks/floors.py --only maubot --repeat 3 --json out.json

Issue 23 asks for `check` within 15x of ruff cold and 2x of ruff's cached run. This script
measures, in the same run and per tree, what a Python process cannot avoid, so a ratio
over target can be read as "our work" or "Python's own floor":

- ``start``: ``python -c pass`` (interpreter and site, nothing of ours);
- ``warm floor``: start, walk the tree, ``stat`` every ``.py`` file (the least a cache
  lookup must do before it can print anything);
- ``parse floor``: start, read every ``.py`` file holding ``async``, ``ast.parse`` it,
  spread over ``--jobs`` forked processes (the least an ``ast``-based analysis must do:
  it cannot judge a coroutine it has not parsed).

Each floor is timed as a fresh process, like the tools. Ratios are floor / ruff, the same
quotient the targets are written in; a floor over the target means no Python tool built
on ``ast`` can meet it on that tree.
"""

from __future__ import annotations

import argparse
import json
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_apps import DEFAULT_ROOT, executable  # noqa: E402

WARM_FLOOR = """
import os, sys
n = 0
for root, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if not d.startswith('.')]
    for name in files:
        if name.endswith('.py'):
            os.stat(os.path.join(root, name)); n += 1
"""

PARSE_FLOOR = """
import ast, os, sys
from concurrent.futures import ProcessPoolExecutor

def parse(path):
    with open(path, 'rb') as file:
        source = file.read()
    if b'async' not in source:
        return 0
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        pass
    return 1

paths = []
for root, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if not d.startswith('.')]
    paths += [os.path.join(root, name) for name in files if name.endswith('.py')]
jobs = int(sys.argv[2])
if jobs == 1:
    sum(map(parse, paths))
else:
    with ProcessPoolExecutor(jobs) as pool:
        sum(pool.map(parse, paths, chunksize=8))
"""


def wall(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(tree: Path, repeat: int, jobs: int) -> dict[str, float]:
    ruff = executable("ruff")
    python = sys.executable
    commands = {
        "ruff cold": [ruff, "check", "--select", "ASYNC", "--no-cache", "-q", "."],
        "ruff warm": [ruff, "check", "--select", "ASYNC", "-q", "."],
        "start": [python, "-c", "pass"],
        "warm floor": [python, "-c", WARM_FLOOR, "."],
        "parse floor": [python, "-c", PARSE_FLOOR, ".", str(jobs)],
    }
    wall(commands["ruff warm"], tree)  # fills ruff's cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            times[name].append(wall(argv, tree))
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians["warm floor / ruff warm"] = medians["warm floor"] / medians["ruff warm"]
    medians["parse floor / ruff cold"] = medians["parse floor"] / medians["ruff cold"]
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    trees = sorted(p for p in options.root.iterdir() if p.is_dir())
    if options.only:
        trees = [t for t in trees if any(t.name.startswith(o) for o in options.only)]
    results = {}
    print("| application | ruff cold | parse floor | ratio | ruff warm | start | warm floor | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for tree in trees:
        with tempfile.TemporaryDirectory(prefix="loopsafe-floors-") as work:
            copy = Path(work) / tree.name
            shutil.copytree(tree, copy, symlinks=True)  # modification times kept
            m = measure(copy, options.repeat, options.jobs)
        results[tree.name] = m
        print(
            f"| {tree.name.split('-')[0]} | {m['ruff cold']:.3f} | {m['parse floor']:.3f} | "
            f"{m['parse floor / ruff cold']:.1f}x | {m['ruff warm']:.3f} | {m['start']:.3f} | "
            f"{m['warm floor']:.3f} | {m['warm floor / ruff warm']:.1f}x |",
            flush=True,
        )
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

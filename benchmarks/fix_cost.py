"""What ``fix`` costs next to ``check`` on the same tree, in CPU time (issue 23: fix <= 4x
the cold check).

    python benchmarks/fix_cost.py PATH [PATH...] [--repeat N]

Each PATH (a tree or one module) is copied to a temporary folder; ``loopsafe check
--no-cache -j 1`` and ``loopsafe fix --no-cache -j 1`` run on fresh copies, alternating,
N times. Prints the median CPU seconds (user + system of the child) of each, their ratio,
and the peak resident memory of ``fix``. CPU time, not wall clock: on a shared machine it is what
stays put.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path


def _run(arguments: list[str], where: Path) -> tuple[float, int]:
    """CPU seconds and peak RSS (KB) of one ``loopsafe`` run in ``where``."""
    child = subprocess.Popen(["loopsafe", *arguments], cwd=where, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0  # reaped here: Popen must not wait for it again
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def _fresh(path: Path, scratch: Path) -> tuple[Path, str]:
    """A copy of ``path`` to run in, and the argument naming what to check in it."""
    copy = Path(tempfile.mkdtemp(dir=scratch))
    if path.is_dir():
        shutil.copytree(path, copy / "tree")
        return copy / "tree", "."
    shutil.copy2(path, copy / path.name)
    return copy, path.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    print("| tree | check CPU s | fix CPU s | fix / check | fix peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch:
        for path in options.paths:
            checks: list[float] = []
            fixes: list[float] = []
            peak = 0
            for _ in range(options.repeat):
                where, target = _fresh(path, Path(scratch))
                checks.append(_run(["check", "-q", "--no-cache", "-j", "1", target], where)[0])
                where, target = _fresh(path, Path(scratch))
                cpu, rss = _run(["fix", "-q", "--no-cache", "-j", "1", target], where)
                fixes.append(cpu)
                peak = max(peak, rss)
            check, fix = statistics.median(checks), statistics.median(fixes)
            print(f"| {path.name} | {check:.2f} | {fix:.2f} | {fix / check:.1f}x | {peak / 1024:.0f} |")


if __name__ == "__main__":
    main()

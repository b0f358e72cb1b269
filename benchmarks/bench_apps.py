"""Time loopsafe against ruff per application, in the same run (issue 23's targets).

    python benchmarks/bench_apps.py                       # every tree of the corpus, 5 rounds
    python benchmarks/bench_apps.py --only catuserbot --repeat 3 --json out.json

For each application (a tree under ``--root``, default the corpus sources that
``benchmarks/corpus.py`` downloads to ``~/.cache/loopsafe-corpus/src``), in a private copy
whose files keep their old modification times:

- ``ruff cold``: ``ruff check --select ASYNC --no-cache -q .``
- ``ruff warm``: ``ruff check --select ASYNC -q .`` (after one untimed run filled ruff's cache)
- ``check cold``: ``loopsafe check -q --no-cache .``
- ``check warm``: ``loopsafe check -q .`` (after one untimed run filled loopsafe's cache)
- ``fix``: ``loopsafe fix -q --no-cache .`` on a fresh copy each round (the copy is not timed)

Each round runs every command once, in this order, so that a busy moment of the machine
falls on all of them alike; the table gives medians and the ratios the issue sets targets
for: check cold / ruff cold (<= 15x), check warm / ruff warm (<= 2x), fix / check cold
(<= 4x), and the peak memory of loopsafe's runs. Trees are measured one at a time, never
aggregated: start-up counts as a user meets it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TARGETS = {"cold": 15.0, "warm": 2.0, "fix": 4.0}
DEFAULT_ROOT = Path.home() / ".cache/loopsafe-corpus/src"  # where benchmarks/corpus.py downloads


def executable(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        sys.exit(f"{name} not found next to {sys.executable} nor on PATH")
    return on_path


def timed(argv: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run of ``argv`` in ``cwd``."""
    # stderr to a file, not a pipe: `fix` lists what it left there, more than a pipe holds
    # while nobody reads it.
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        stderr.seek(0)
        errors = stderr.read().decode(errors="replace")
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1, 2) or "Traceback" in errors:  # 2: a file it cannot parse
        sys.exit(f"{' '.join(argv)} in {cwd} failed ({process.returncode}):\n{errors}")
    return elapsed, usage.ru_maxrss


def measure_tree(tree: Path, rounds: int, work: Path) -> dict[str, object]:
    loopsafe, ruff = executable("loopsafe"), executable("ruff")
    copy = work / tree.name
    shutil.copytree(tree, copy, symlinks=True)  # copy2: modification times kept
    commands = {
        "ruff cold": [ruff, "check", "--select", "ASYNC", "--no-cache", "-q", "."],
        "ruff warm": [ruff, "check", "--select", "ASYNC", "-q", "."],
        "check cold": [loopsafe, "check", "-q", "--no-cache", "."],
        "check warm": [loopsafe, "check", "-q", "."],
    }
    # Fill both caches once, untimed.
    timed(commands["ruff warm"], copy)
    timed(commands["check warm"], copy)
    seconds: dict[str, list[float]] = {name: [] for name in [*commands, "fix"]}
    memory: dict[str, int] = {}
    for _ in range(rounds):
        for name, argv in commands.items():
            elapsed, rss = timed(argv, copy)
            seconds[name].append(elapsed)
            memory[name] = max(memory.get(name, 0), rss)
        fresh = work / f"{tree.name}-fix"
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.copytree(tree, fresh, symlinks=True)
        elapsed, rss = timed([loopsafe, "fix", "-q", "--no-cache", "."], fresh)
        seconds["fix"].append(elapsed)
        memory["fix"] = max(memory.get("fix", 0), rss)
        shutil.rmtree(fresh)
    shutil.rmtree(copy)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    files = sum(1 for _ in tree.rglob("*.py"))
    return {
        "tree": tree.name,
        "files": files,
        "runs": seconds,
        "median": medians,
        "peak_rss_kib": memory,
        "ratio": {
            "cold": medians["check cold"] / medians["ruff cold"],
            "warm": medians["check warm"] / medians["ruff warm"],
            "fix": medians["fix"] / medians["check cold"],
        },
    }


def mark(ratio: dict[str, float], key: str) -> str:
    return f"{ratio[key]:.1f}x" + ("" if ratio[key] <= TARGETS[key] else " (over)")


def table(results: list[dict]) -> str:
    head = ("| application | files | ruff cold | check cold | ratio | ruff warm | check warm | ratio "
            "| fix | fix / check | peak RSS (fix) |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for result in results:
        m, r = result["median"], result["ratio"]

        lines.append(
            f"| {result['tree'].split('-')[0]} | {result['files']} | {m['ruff cold']:.3f} | {m['check cold']:.2f} "
            f"| {mark(r, 'cold')} | {m['ruff warm']:.3f} | {m['check warm']:.3f} | {mark(r, 'warm')} | {m['fix']:.2f} "
            f"| {mark(r, 'fix')} | {result['peak_rss_kib']['fix'] // 1024} MiB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--only", action="append", default=[], help="a tree's name prefix (repeatable)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per tree (medians)")
    parser.add_argument("--json", type=Path, help="also write the raw runs here")
    options = parser.parse_args()
    trees = sorted(p for p in options.root.iterdir() if p.is_dir())
    if options.only:
        trees = [t for t in trees if any(t.name.startswith(o) for o in options.only)]
    if not trees:
        sys.exit(f"no trees under {options.root} (run benchmarks/corpus.py once to download them)")
    results = []
    with tempfile.TemporaryDirectory(prefix="loopsafe-bench-apps-") as work:
        for tree in trees:
            results.append(measure_tree(tree, options.repeat, Path(work)))
            print(table(results[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(results))
    if options.json:
        ruff_version = subprocess.run([executable("ruff"), "--version"], capture_output=True, text=True).stdout.strip()
        revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                  cwd=Path(__file__).parent).stdout.strip()
        options.json.write_text(json.dumps({
            "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "ruff": ruff_version, "loopsafe_revision": revision, "repeat": options.repeat, "results": results,
        }, indent=1))


if __name__ == "__main__":
    main()

"""What following calls across modules (LS301) costs `loopsafe check` on the applications.

    python benchmarks/bench_transitive.py                 # 5 rounds, against HEAD~1
    python benchmarks/bench_transitive.py --base 8e4b1ce  # against that commit's codemods/
    python benchmarks/bench_transitive.py --json out.json

Runs, alternating so that the shared machine's drift hits all alike, on one copy of the
13 applications of `corpus.toml` (downloaded once by `corpus.py`):
  base         `check --no-cache` with the `codemods/` of --base (exported with `git archive`)
  check        `check --no-cache` with the work tree
  no-transitive `check --no-cache --no-transitive` with the work tree (LS301 off)
  warm         `check` with the work tree, its cache filled by an untimed run first
  warm-base    the same with --base
  ruff         `ruff check --no-cache --select ASYNC`
Medians, and ratios against base and ruff. Each tool prints nothing but its exit status
here; the findings are not compared (`corpus.py` does that).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import DEFAULT_CACHE, export_rev  # noqa: E402


def timed(argv: list[str], cwd: Path, env_path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env={**os.environ, "PYTHONPATH": str(env_path)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="HEAD~1", help="commit to compare with (default: HEAD~1)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sources = DEFAULT_CACHE / "src"
    if not sources.is_dir():
        sys.exit(f"no applications under {sources}: run `python benchmarks/corpus.py` once first")
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    with tempfile.TemporaryDirectory(prefix="loopsafe-bench-") as temporary:
        work = Path(temporary)
        apps = work / "apps"
        shutil.copytree(sources, apps)
        base = export_rev(args.base, work / "base")
        python = sys.executable
        check = [python, "-m", "codemods", "check", "-q", "."]
        runs: dict[str, list[float]] = {k: [] for k in ("base", "check", "no-transitive", "warm", "warm-base", "ruff")}
        timed(check, apps, ROOT)  # fills the work tree's cache (and warms the disk)
        base_cache = work / "base-cache"
        for _ in range(args.rounds):
            runs["base"].append(timed([*check, "--no-cache"], apps, base))
            runs["check"].append(timed([*check, "--no-cache"], apps, ROOT))
            runs["no-transitive"].append(timed([*check, "--no-cache", "--no-transitive"], apps, ROOT))
            runs["warm"].append(timed(check, apps, ROOT))
            timed([*check, "--cache-dir", str(base_cache)], apps, base)
            runs["warm-base"].append(timed([*check, "--cache-dir", str(base_cache)], apps, base))
            if ruff:
                runs["ruff"].append(timed([ruff, "check", "--no-cache", "--select", "ASYNC", "-q", "."], apps, ROOT))
    medians = {name: statistics.median(times) for name, times in runs.items() if times}
    for name, median in medians.items():
        line = f"{name:14} median {median:6.3f} s"
        if name in ("check", "no-transitive"):
            line += f"  {median / medians['base'] - 1:+.0%} vs base"
        if name == "warm":
            line += f"  {median / medians['warm-base'] - 1:+.0%} vs warm-base"
        if "ruff" in medians and name in ("check", "base", "warm"):
            line += f"  {median / medians['ruff']:.1f}x ruff"
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"base": args.base, "rounds": args.rounds, "runs": runs, "medians": medians},
                                        indent=2))


if __name__ == "__main__":
    main()

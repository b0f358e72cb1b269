"""Time loopsafe on single big modules, the shapes where cost per file shows.

    python benchmarks/big_modules.py              # both shapes, 3 runs each
    python benchmarks/big_modules.py --repeat 1

Shapes (generated, written to a temporary folder):
  mostly-sync   ~72,000 lines: 9,000 plain functions with file I/O, one coroutine with one
                blocking call (what the focused pass is for: rewrite cost should follow the
                coroutine, not the module);
  many-findings ~17,000 lines: 1,000 coroutines with 15 blocking calls each (15,000
                findings; a third `time.sleep`, whose import the rewrite drops).
For each: `loopsafe check`, `loopsafe diff` and `loopsafe fix` (on a fresh copy), all
with `--no-cache`; medians printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def mostly_sync() -> str:
    lines = ["import json", "import os", ""]
    for i in range(9000):
        lines += [f"def helper{i}(path):", "    with open(path) as f:", "        data = json.load(f)",
                  f"    if data.get('k{i}'):", "        os.remove(path)", "    return data", "", ""]
    lines += ["async def main(path):", "    os.remove(path)", "    return helper1(path)", ""]
    return "\n".join(lines)


def many_findings() -> str:
    lines = ["import os", "import time", ""]
    for i in range(1000):
        lines.append(f"async def job{i}(path):")
        lines += [f"    os.remove(path + '{k}')" if k % 3 else f"    time.sleep({k})" for k in range(15)]
        lines.append("")
    return "\n".join(lines) + "\n"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    loopsafe = [sys.executable, "-m", "codemods"]
    print("| module | lines | check (s) | diff (s) | fix (s) |\n|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="loopsafe-big-") as tmp:
        for name, text in (("mostly-sync", mostly_sync()), ("many-findings", many_findings())):
            module = Path(tmp) / f"{name}.py"
            module.write_text(text)
            medians = []
            for command in ("check", "diff", "fix"):
                runs = []
                for _ in range(args.repeat):
                    target = module
                    if command == "fix":
                        target = Path(tmp) / f"{name}-copy.py"
                        shutil.copyfile(module, target)
                    runs.append(timed([*loopsafe, command, "--no-cache", str(target)]))
                medians.append(statistics.median(runs))
            print(f"| {name} | {text.count(chr(10)) + 1:,} | " + " | ".join(f"{m:.1f}" for m in medians) + " |",
                  flush=True)


if __name__ == "__main__":
    main()

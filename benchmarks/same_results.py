"""Snapshot loopsafe's findings and rewrites on real trees, and compare a later state with it.

    python benchmarks/same_results.py snapshot DIR [--only NAME ...] [--root ROOT]
    python benchmarks/same_results.py compare DIR [--only NAME ...] [--root ROOT]

For each tree under ROOT (default: the corpus sources, ``~/.cache/loopsafe-corpus/src``),
runs the installed ``loopsafe`` from the tree's top: ``check --no-cache --format json .``
and ``diff --no-cache .`` (writes nothing), and stores stdout and the exit status in DIR.
``compare`` runs the same and prints each tree whose output differs; exit status 1 if any
does. Speed work must leave both byte for byte the same (issue 23).
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
from pathlib import Path

COMMANDS = {
    "check": ["check", "--no-cache", "--format", "json", "."],
    "diff": ["diff", "--no-cache", "."],
}


def outputs(tree: Path) -> dict[str, str]:
    results = {}
    for name, arguments in COMMANDS.items():
        run = subprocess.run(["loopsafe", *arguments], cwd=tree, capture_output=True, text=True, check=False)
        if "Traceback" in run.stderr:
            print(f"{tree.name}: {name}: traceback\n{run.stderr}", file=sys.stderr)
        results[name] = f"exit {run.returncode}\n{run.stdout}"
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("snapshot", "compare"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--only", action="append", default=[], help="a tree's name prefix (repeatable)")
    parser.add_argument("--root", type=Path, default=Path.home() / ".cache/loopsafe-corpus/src")
    options = parser.parse_args()
    trees = sorted(p for p in options.root.iterdir() if p.is_dir())
    if options.only:
        trees = [t for t in trees if any(t.name.startswith(o) for o in options.only)]
    options.directory.mkdir(parents=True, exist_ok=True)
    differing = 0
    for tree in trees:
        for name, text in outputs(tree).items():
            stored = options.directory / f"{tree.name}.{name}.txt"
            if options.mode == "snapshot":
                stored.write_text(text)
                print(f"{tree.name} {name}: {text.count(chr(10))} lines stored")
            elif not stored.exists():
                print(f"{tree.name} {name}: no snapshot")
                differing += 1
            elif stored.read_text() != text:
                differing += 1
                print(f"{tree.name} {name}: DIFFERS")
                sys.stdout.writelines(list(difflib.unified_diff(
                    stored.read_text().splitlines(True), text.splitlines(True), "snapshot", "now", n=1))[:60])
            else:
                print(f"{tree.name} {name}: same")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())

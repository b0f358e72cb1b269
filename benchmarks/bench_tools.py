"""Time loopsafe against its peers on the same files, in one run.

    python benchmarks/bench_tools.py                  # stdlib + generated trees, 3 runs each
    python benchmarks/bench_tools.py --quick          # a small, fast sample
    python benchmarks/bench_tools.py --json out.json  # also write the raw numbers

Tools (each run on exactly the same list of files, copied into one workspace):
  loopsafe check, loopsafe diff, ruff check --select ASYNC, flake8 --select ASYNC
  (flake8-async, with -j = cores), and fixit lint with only loopsafe's rule enabled.
Corpora:
  stdlib     the standard library of the running Python (sysconfig), without site-packages
  generated  N coroutine-free modules; and the same tree with K of them holding
             coroutines with blocking calls, for K in --coroutine-files (cost vs K)
  apps       the 13 async applications pinned in corpus.toml (bots, web UIs, agents;
             downloaded once by corpus.py): code where nearly every module has coroutines
Runs marked "(warm cache)" are timed after one untimed run filled the tool's cache;
the others run without a cache (`--no-cache`).
Medians of --repeat runs; ratios are against `loopsafe check` on the same corpus.
Needs: the loopsafe package installed, and ruff, flake8 + flake8-async, fixit on PATH
(next to this Python first). A tool missing is reported as such, not faked.
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
import sysconfig
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent

GENERATED_PLAIN = '''\
"""Module {i}: ordinary synchronous code."""
import os
import json


def load(path):
    with open(path) as handle:
        return json.load(handle)


class Store{i}:
    def __init__(self, root):
        self.root = root

    def keys(self):
        return sorted(name for name in os.listdir(self.root) if name.endswith(".json"))

    def get(self, key):
        return load(os.path.join(self.root, key))
'''

GENERATED_ASYNC = '''\
"""Module {i}: a worker with blocking calls in coroutines."""
import os
import subprocess
import time

import requests


async def fetch(url):
    time.sleep(0.1)
    return requests.get(url, timeout=5).json()


async def build(path):
    os.makedirs(path, exist_ok=True)
    return subprocess.run(["make", "-C", path], check=True)


class Handler{i}:
    async def handle(self, job):
        data = await fetch(job["url"])
        return [item for item in data if os.path.exists(item)]
'''


def tool(name: str) -> str | None:
    found = BIN / name
    return str(found) if found.exists() else shutil.which(name)


def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts and p.is_file())


#: Copies get this modification time: files edited in the last seconds are not cached
#: (loopsafe's cache skips them as "racily clean", as git does), and a real tree is older.
AN_HOUR_AGO = time.time() - 3600


def make_workspace(files: list[Path], root: Path, base: Path | None) -> Path:
    """Copy ``files`` (relative to ``base``) under ``root/src``, with a fixit config."""
    src = root / "src"
    for path in files:
        target = src / (path.relative_to(base) if base else Path(path.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        os.utime(target, (AN_HOUR_AGO, AN_HOUR_AGO))
    (root / "pyproject.toml").write_text(
        '[tool.fixit]\nroot = true\nenable = ["codemods.lint"]\ndisable = ["fixit.rules"]\n'
    )
    return src


def app_files() -> tuple[list[Path], Path]:
    """The async applications of ``corpus.toml`` (downloaded once by ``corpus.py``)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import corpus  # benchmarks/corpus.py: the pinned wheels and their cache

    base = corpus.DEFAULT_CACHE / "src"
    files = []
    for project in corpus.load_corpus(corpus.DEFAULT_CORPUS):
        source = corpus.fetch(project, corpus.DEFAULT_CACHE)
        files += [source / name for name in corpus.python_files(source)]
    return files, base


def make_generated(root: Path, total: int, with_coroutines: int) -> Path:
    src = root / "src"
    for i in range(total):
        folder = src / f"pkg{i // 100:03}"
        folder.mkdir(parents=True, exist_ok=True)
        template = GENERATED_ASYNC if i < with_coroutines else GENERATED_PLAIN
        (folder / f"mod{i:05}.py").write_text(template.format(i=i))
        os.utime(folder / f"mod{i:05}.py", (AN_HOUR_AGO, AN_HOUR_AGO))
    (root / "pyproject.toml").write_text(
        '[tool.fixit]\nroot = true\nenable = ["codemods.lint"]\ndisable = ["fixit.rules"]\n'
    )
    return src


#: Labels of runs timed with their cache filled by one untimed run first.
WARM = "(warm cache)"


def commands(src: Path, jobs: int) -> dict[str, list[str] | None]:
    loopsafe, ruff, flake8, fixit = tool("loopsafe"), tool("ruff"), tool("flake8"), tool("fixit")
    ruff_cache = str(src.parent / ".ruff_cache")
    return {
        "loopsafe check": [loopsafe, "check", "--no-cache", "-j", str(jobs), str(src)] if loopsafe else None,
        f"loopsafe check {WARM}": [loopsafe, "check", "-j", str(jobs), str(src)] if loopsafe else None,
        "loopsafe diff": [loopsafe, "diff", "--no-cache", "-j", str(jobs), str(src)] if loopsafe else None,
        "ruff --select ASYNC": [ruff, "check", "--select", "ASYNC", "--no-cache", "--isolated", "--exit-zero", "-q", str(src)] if ruff else None,
        f"ruff --select ASYNC {WARM}": [ruff, "check", "--select", "ASYNC", "--cache-dir", ruff_cache, "--isolated",
                                        "--exit-zero", "-q", str(src)] if ruff else None,
        "flake8 --select ASYNC": [flake8, "--select", "ASYNC", "-j", str(jobs), "--exit-zero", str(src)] if flake8 else None,
        "fixit lint (loopsafe rule)": [fixit, "lint", str(src)] if fixit else None,
    }


def time_command(argv: list[str], cwd: Path, timeout: float) -> tuple[float | None, str]:
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, ""
    elapsed = time.perf_counter() - start
    return elapsed, done.stderr


def measure(name: str, src: Path, args: argparse.Namespace, results: dict) -> None:
    cwd = src.parent
    rows = results.setdefault(name, {})
    for label, argv in commands(src, args.jobs).items():
        if any(skip in label for skip in args.skip):
            continue
        if argv is None:
            rows[label] = {"error": "not installed"}
            continue
        # flake8-async and fixit take minutes on the stdlib: one run each.
        repeat = 1 if label.startswith(("flake8", "fixit")) else args.repeat
        times: list[float] = []
        if label.endswith(WARM):
            time_command(argv, cwd, args.timeout)  # fills the cache
        for _ in range(repeat):
            elapsed, stderr = time_command(argv, cwd, args.timeout)
            if elapsed is None:
                rows[label] = {"timeout": args.timeout}
                break
            if label.startswith("fixit") and "Failed to load rules" in stderr:
                rows[label] = {"error": "fixit did not load codemods.lint"}
                break
            times.append(elapsed)
        else:
            rows[label] = {"median": statistics.median(times), "runs": times}
        print(f"  {name}: {label}: {rows[label]}", file=sys.stderr, flush=True)


def time_fix(src: Path) -> float:
    loopsafe = tool("loopsafe")
    assert loopsafe is not None
    start = time.perf_counter()
    subprocess.run([loopsafe, "fix", str(src)], cwd=src.parent, capture_output=True, check=False)
    return time.perf_counter() - start


def table(results: dict) -> str:
    lines = []
    for corpus, rows in results.items():
        if not isinstance(rows, dict) or "loopsafe check" not in rows:
            continue
        base = rows["loopsafe check"].get("median")
        lines += [f"\n**{corpus}**\n", "| tool | median (s) | vs loopsafe check |", "|---|---:|---:|"]
        for label, row in rows.items():
            if "median" in row:
                ratio = f"{row['median'] / base:.2f}x" if base else "-"
                lines.append(f"| {label} | {row['median']:.2f} | {ratio} |")
            elif "timeout" in row:
                bound = f"> {row['timeout'] / base:.0f}x" if base else "-"
                lines.append(f"| {label} | > {row['timeout']:.0f} (timed out) | {bound} |")
            else:
                lines.append(f"| {label} | {row['error']} | - |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=900.0, help="per tool run, seconds")
    parser.add_argument("--limit", type=int, default=0, help="at most this many stdlib files (0: all)")
    parser.add_argument("--generated", type=int, default=10_000, help="files in the generated tree")
    parser.add_argument("--coroutine-files", default="0,100,200,400", help="files with coroutines, comma-separated")
    parser.add_argument("--corpus", action="append", choices=["stdlib", "generated", "apps"], default=None)
    parser.add_argument("--skip", action="append", default=[], help="skip tools whose label contains this")
    parser.add_argument("--quick", action="store_true", help="--limit 300 --generated 1000 --repeat 1")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.limit, args.generated, args.repeat = 300, 1000, 1
    corpora = args.corpus or ["stdlib", "generated"]
    results: dict = {
        "machine": {
            "cores": os.cpu_count(),
            "cpu": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                         if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor(),
            "python": platform.python_version(),
            "versions": {
                name: subprocess.run([tool(name) or name, "--version"], capture_output=True, text=True).stdout.strip()
                for name in ("loopsafe", "ruff", "flake8", "fixit") if tool(name)
            },
        }
    }
    # An installed package has its bytecode compiled (pip does it); an editable checkout
    # may not (PYTHONDONTWRITEBYTECODE): compile it so start-up is measured as users see it.
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "codemods"), quiet=1)
    with tempfile.TemporaryDirectory(prefix="loopsafe-bench-") as tmp:
        if "stdlib" in corpora:
            files = stdlib_files()
            if args.limit:
                files = files[: args.limit]
            base = Path(sysconfig.get_paths()["stdlib"])
            src = make_workspace(files, Path(tmp) / "stdlib", base)
            name = f"stdlib ({len(files)} files)"
            print(f"{name} ...", file=sys.stderr)
            measure(name, src, args, results)
        if "apps" in corpora:
            files, base = app_files()
            src = make_workspace(files, Path(tmp) / "apps", base)
            name = f"async applications ({len(files)} files)"
            print(f"{name} ...", file=sys.stderr)
            measure(name, src, args, results)
        if "generated" in corpora:
            for count in [int(c) for c in args.coroutine_files.split(",")]:
                root = Path(tmp) / f"generated-{count}"
                src = make_generated(root, args.generated, count)
                name = f"generated ({args.generated} files, {count} with coroutines)"
                print(f"{name} ...", file=sys.stderr)
                measure(name, src, args, results)
                if count == 0:
                    fresh = make_generated(Path(tmp) / "fix-copy", args.generated, 0)
                    results[name]["loopsafe fix"] = {"median": time_fix(fresh), "runs": []}
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""What a change to the catalog or the analysis finds on real applications, per library, and what it costs.

    python benchmarks/new_findings.py --base bfb17f1 --mirrors /work/.mirror
    python benchmarks/new_findings.py --base bfb17f1 --only ultroid --sample 60 --sample-out sample.md
    python benchmarks/new_findings.py --base bfb17f1 --json benchmarks/results/new.json

For each project of `benchmarks/corpus.toml` (fetched and unpacked as `corpus.py` does),
`python -m codemods check --no-cache --format json` runs on the project's tree with
loopsafe's `codemods/` as committed in `--base` and as in the work tree (`--rev` for
another commit), `--repeat` times each, alternating, cold (no cache). Printed per project:

- findings before and after, and the findings that are new (keyed by file, line, column,
  code and name) and gone, counted per library (the first part of the finding's qualified
  name: `PIL.Image.open` -> PIL; LS301 findings are counted as `(project helpers)`);
- the median wall time of both and their ratio (issue 21: `check` no more than 10% slower).

`--sample N` draws N of the new findings (seeded, `--seed`) spread over the libraries and
writes them, each with its message and the code around it, to `--sample-out` (Markdown),
for a person to read each one and mark it true (the call blocks the event loop where it
is) or false: the precision of what a change adds is measured by reading, not guessed.

Nothing of the projects is imported or run.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import DEFAULT_CACHE, DEFAULT_CORPUS, REPO, SetupError, export_rev, fetch, load_corpus  # noqa: E402

Key = tuple[str, int, int, str, str]


def library_of(finding: dict[str, Any]) -> str:
    if finding["code"] == "LS301":
        return "(project helpers)"
    if finding["code"] == "LS280":
        return "(busy-wait loops)"
    return str(finding.get("name") or "?").split(".")[0]


def run_check(codemods_root: Path, tree: Path) -> tuple[list[dict[str, Any]], float]:
    environment = dict(os.environ, PYTHONPATH=str(codemods_root))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "codemods", "check", "--no-cache", "--format", "json", str(tree)],
        cwd=tree, env=environment, capture_output=True, text=True, check=False,
    )
    elapsed = time.perf_counter() - started
    # Exit 2 with findings on stdout: some file could not be read or parsed (its error on stderr).
    try:
        findings: list[dict[str, Any]] = json.loads(done.stdout)
    except ValueError:
        raise SetupError(f"loopsafe check on {tree} exited {done.returncode}:\n{done.stderr[-2000:]}") from None
    return findings, elapsed


def key(finding: dict[str, Any], tree: Path) -> Key:
    path = Path(finding["path"])  # relative to the tree (the check's working folder), or absolute
    relative = os.path.relpath(path if path.is_absolute() else tree / path, tree)
    return (relative, finding["line"], finding["column"], finding["code"], str(finding.get("name")))


def snippet(tree: Path, relative: str, line: int, context: int = 3) -> str:
    lines = (tree / relative).read_text(encoding="utf-8", errors="replace").splitlines()
    first, last = max(1, line - context), min(len(lines), line + context)
    return "\n".join(f"{'>' if n == line else ' '}{n:5} {lines[n - 1]}" for n in range(first, last + 1))


def compare(project_label: str, tree: Path, base: Path, new: Path, repeat: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"base": [], "new": []}
    results: dict[str, list[dict[str, Any]]] = {}
    for _ in range(repeat):
        for name, root in (("base", base), ("new", new)):
            findings, elapsed = run_check(root, tree)
            times[name].append(elapsed)
            results[name] = findings
    before = {key(f, tree): f for f in results["base"]}
    after = {key(f, tree): f for f in results["new"]}
    added = [after[k] | {"relative": k[0]} for k in sorted(set(after) - set(before))]
    gone = [before[k] | {"relative": k[0]} for k in sorted(set(before) - set(after))]
    base_time, new_time = statistics.median(times["base"]), statistics.median(times["new"])
    return {
        "project": project_label, "before": len(before), "after": len(after),
        "new": added, "gone": gone,
        "new_by_library": dict(collections.Counter(map(library_of, added)).most_common()),
        "gone_by_library": dict(collections.Counter(map(library_of, gone)).most_common()),
        "new_fixable": sum(1 for f in added if f.get("fixable")),
        "seconds_base": base_time, "seconds_new": new_time, "ratio": new_time / base_time if base_time else None,
        "times": times,
    }


def write_sample(results: Sequence[dict[str, Any]], trees: dict[str, Path], size: int, seed: int, out: Path) -> None:
    """``size`` new findings, spread over libraries (round robin over shuffled groups)."""
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = collections.defaultdict(list)
    for result in results:
        for finding in result["new"]:
            groups[library_of(finding)].append((result["project"], finding))
    chooser = random.Random(seed)
    for members in groups.values():
        chooser.shuffle(members)
    chosen: list[tuple[str, dict[str, Any]]] = []
    order = sorted(groups)
    while len(chosen) < size and any(groups[name] for name in order):
        for name in order:
            if groups[name] and len(chosen) < size:
                chosen.append(groups[name].pop())
    parts = [f"# A sample of new findings (seed {seed}, {len(chosen)} drawn)\n",
             "Verdict per finding: **true** (the call blocks the event loop where it is) or **false**, and why.\n"]
    for number, (project, finding) in enumerate(chosen, 1):
        tree = trees[project]
        parts.append(f"## {number}. {project}: {finding['relative']}:{finding['line']} {finding['code']} "
                     f"`{finding.get('name')}` ({'fixable' if finding.get('fixable') else 'reported'})\n")
        parts.append(f"{finding['message']}\n\n```python\n{snippet(tree, finding['relative'], finding['line'])}\n```\n")
        parts.append("verdict: \n")
    out.write_text("\n".join(parts), encoding="utf-8")


def print_table(results: Sequence[dict[str, Any]]) -> None:
    print(f"{'project':<48} {'before':>6} {'after':>6} {'new':>5} {'fixable':>7} {'gone':>5} "
          f"{'s base':>7} {'s new':>7} {'ratio':>6}  new by library")
    for r in results:
        libraries = ", ".join(f"{name} {count}" for name, count in r["new_by_library"].items())
        print(f"{r['project']:<48} {r['before']:>6} {r['after']:>6} {len(r['new']):>5} {r['new_fixable']:>7} "
              f"{len(r['gone']):>5} {r['seconds_base']:>7.2f} {r['seconds_new']:>7.2f} {r['ratio']:>6.2f}  {libraries}")
    total: collections.Counter[str] = collections.Counter()
    for r in results:
        total.update(r["new_by_library"])
    print("\nnew findings over the corpus, per library:", ", ".join(f"{n} {c}" for n, c in total.most_common()))
    gone: collections.Counter[str] = collections.Counter()
    for r in results:
        gone.update(r["gone_by_library"])
    if gone:
        print("findings gone, per library:", ", ".join(f"{n} {c}" for n, c in gone.most_common()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, metavar="REV", help="the loopsafe commit to compare with")
    parser.add_argument("--rev", metavar="REV", help="the new loopsafe commit (default: the work tree)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--mirrors", type=Path, metavar="DIR")
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, for the median time (default: 3)")
    parser.add_argument("--json", type=Path, help="write the full result here")
    parser.add_argument("--sample", type=int, default=0, metavar="N", help="draw N new findings to read")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--sample-out", type=Path, default=Path("new-findings-sample.md"))
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="no runs: print and sample the result a --json run wrote")
    options = parser.parse_args(argv)
    projects = [p for p in load_corpus(options.corpus) if not options.only or p.name in options.only]
    if options.from_json:
        results = json.loads(options.from_json.read_text(encoding="utf-8"))["results"]
        trees = {p.label: fetch(p, options.cache, options.mirrors) for p in projects}
        for result in results:  # counted again, with this version's groups
            result["new_by_library"] = dict(collections.Counter(map(library_of, result["new"])).most_common())
            result["gone_by_library"] = dict(collections.Counter(map(library_of, result["gone"])).most_common())
        print_table(results)
        if options.sample:
            write_sample(results, trees, options.sample, options.seed, options.sample_out)
        return 0
    with tempfile.TemporaryDirectory() as work:
        base = export_rev(options.base, Path(work) / "base")
        new = export_rev(options.rev, Path(work) / "new") if options.rev else REPO
        results, trees = [], {}
        for project in projects:
            tree = fetch(project, options.cache, options.mirrors)
            trees[project.label] = tree
            results.append(compare(project.label, tree, base, new, options.repeat))
            print(f"{project.label}: {len(results[-1]['new'])} new", file=sys.stderr)
    print_table(results)
    if options.json:
        options.json.write_text(json.dumps({"base": options.base, "rev": options.rev or "work tree",
                                            "results": results}, indent=1), encoding="utf-8")
    if options.sample:
        write_sample(results, trees, options.sample, options.seed, options.sample_out)
        print(f"sample of {options.sample} written to {options.sample_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

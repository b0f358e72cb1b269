"""Check on any tree that the engine's shortcuts never change a result.

    python benchmarks/verify_shortcuts.py PATH [PATH...]

For every ``*.py`` file under PATH that has a coroutine, runs the engine as the CLI does
(byte prefilter, the ``ast`` screen and finder, the rewrite on the focused module) and
the plan and rewrite on the whole module without the screen and the focus, and fails on
the first file where findings, or the ``fix`` output, differ. Prints the
files compared and the time each way. The test suite does this on fixtures and a few
stdlib modules; this script is for large trees of real code.
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

from codemods.config import Settings
from codemods.engine import _transform, has_coroutine, run_with_deep_stack, transform_source


def main(paths: list[str]) -> int:
    settings = Settings()
    files = findings = 0
    quick_seconds = whole_seconds = 0.0
    for root in paths:
        for path in sorted(Path(root).rglob("*.py")):
            source = path.read_bytes()
            if not has_coroutine(source):
                continue
            files += 1
            start = time.perf_counter()
            quick = transform_source(source, settings, str(path), findings_only=True)
            middle = time.perf_counter()
            whole = run_with_deep_stack(partial(_transform, source, settings, str(path), True))
            quick_seconds += middle - start
            whole_seconds += time.perf_counter() - middle
            if whole.error is not None:
                continue  # libcst cannot read it; both ways report that
            if quick.findings != whole.findings:
                print(f"{path}: findings differ:\n  {quick.findings}\n  {whole.findings}")
                return 1
            fixed = transform_source(source, settings, str(path))
            reference = run_with_deep_stack(partial(_transform, source, settings, str(path), False))
            if (fixed.output, fixed.findings) != (reference.output, reference.findings):
                print(f"{path}: the fix differs")
                return 1
            findings += len(whole.findings)
    print(
        f"{files} files with coroutines, {findings} findings: identical both ways; "
        f"finding took {quick_seconds:.1f} s with the shortcuts, {whole_seconds:.1f} s without"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))

"""Every line that ruff's ASYNC2 rules flag in a fixture input is rewritten or reported
by loopsafe, except for the deliberate disagreements listed (with the reason) below."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from codemods.engine import transform_source
from tests.conftest import find_tool
from tests.fixture_cases import FIXTURES, discover

# Lines ruff flags that loopsafe deliberately leaves alone, by fixture case and line.
_AWAITED = "already awaited (`await time.sleep(0)` is broken code); a rewrite would give `await await`"
DISAGREEMENTS: dict[tuple[str, int], str] = {
    ("already_awaited_left_alone", 5): _AWAITED,
    ("awaited_alias_call_keeps_import", 5): _AWAITED,
    ("parenthesized_await_left_alone", 5): _AWAITED,
    ("os_path_pure_functions_are_not_findings", 5): "os.path.normpath is pure string work, no I/O",
    ("os_wait_calls", 6): "os.waitpid with os.WNOHANG returns at once",
    ("os_wait_calls", 7): "os.waitpid with os.WNOHANG (among other flags) returns at once",
    ("local_assigned_after_use_shadows", 5): (
        "`requests` is assigned later in the function, so here it is an unbound local, not the module"
    ),
    ("ignore_several_entries", 6): "time.sleep is in `ignore` in this case's settings",
    ("noqa_and_loopsafe_ignore_comments", 9): "suppressed with `# noqa: LS210`, loopsafe's own code",
    ("noqa_on_compound_statement_headers", 8): "suppressed with `# loopsafe: ignore`",
}


def test_every_ruff_async2_finding_is_rewritten_or_reported() -> None:
    ruff = find_tool("ruff", "it is in the test extra")
    done = subprocess.run(
        [ruff, "check", "--select", "ASYNC2", "--output-format", "json", "--no-cache", "--isolated",
         "--exit-zero", str(FIXTURES)],
        capture_output=True, text=True, check=True,
    )
    flagged: dict[Path, set[tuple[int, str]]] = {}
    for item in json.loads(done.stdout):
        path = Path(item["filename"])
        if path.name == "input.py" or path.name.endswith(".input.py"):
            flagged.setdefault(path.resolve(), set()).add((item["location"]["row"], item["code"]))
    assert sum(len(v) for v in flagged.values()) > 100  # ruff really ran over the inputs

    missed: list[str] = []
    for case in discover():
        lines = flagged.get(case.input.resolve(), set())
        if not lines:
            continue
        result = transform_source(case.input.read_bytes(), case.settings())
        ours = {finding.line for finding in result.findings}
        before = case.input.read_text().splitlines()
        after = set(result.output.decode().splitlines())
        for line, code in sorted(lines):
            # Found, or rewritten along with something else (a with block moved to a thread).
            if line in ours or before[line - 1] not in after or (case.name, line) in DISAGREEMENTS:
                continue
            missed.append(f"    ({case.name!r}, {line}): {code}: {before[line - 1].strip()}")
    assert not missed, "ruff flags lines that loopsafe neither rewrites nor reports:\n" + "\n".join(missed)

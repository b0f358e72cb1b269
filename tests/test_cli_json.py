"""``loopsafe check --format json`` with ruff's fields, through the installed console script:
each entry's ``filename``, ``location``/``end_location`` (the call), ``noqa_row`` (where
``--add-noqa`` puts the comment), ``fix`` whose ``edits`` give exactly the editor's quick
fix of that call (``engine.fix_one``); files that cannot be parsed as entries; ruff's rows
for ``--statistics --format json``; the second (warm) run printing the same bytes."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from codemods.analysis.finder import MOVES_WITH_BLOCK
from codemods.findings import shown_name
from tests.conftest import find_tool

AN_HOUR_AGO = time.time() - 3600

APP = '''import asyncio
import os
import time

import requests

from pkg.util import pause


async def handler(url, path):
    label = "café"; time.sleep(1)
    data = requests.get(
        url,
        timeout=3,
    )
    with open(path) as f:
        text = f.read()
    if requests.head(url).ok:
        pause()
    await asyncio.sleep(0)
    return label, data, text, os.path.exists(path)
'''

FILES = {
    "pkg/__init__.py": "",
    "pkg/util.py": "import time\n\n\ndef pause():\n    time.sleep(1)\n",
    "pkg/app.py": APP,
    # No asyncio import: each fix adds it.
    "pkg/other.py": "import time\n\n\nasync def other(path):\n    time.sleep(2)\n    return open(path).read()\n",
    "broken/bad.py": "async def f(:\n    pass\n",
}
#: The keys every entry had before ruff's were added, and ruff's.
OURS = {"path", "line", "column", "code", "name", "fixable", "message"}
RUFFS = {"filename", "location", "end_location", "fix", "noqa_row", "url", "cell"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))  # older than the cache's racy window: a warm run answers
    return tmp_path


def _loopsafe(cwd: Path, *arguments: str, stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
    done = subprocess.run([find_tool("loopsafe"), *arguments], cwd=cwd, input=stdin, capture_output=True,
                          check=False, env={**os.environ, "LOOPSAFE_CACHE_DIR": str(cwd / ".cache")})
    return done.returncode, done.stdout, done.stderr


def _offset(text: str, location: dict[str, int]) -> int:
    """A ruff position (1-based row and character column) as an offset into ``text``."""
    lines = text.splitlines(keepends=True)
    return sum(len(line) for line in lines[: location["row"] - 1]) + location["column"] - 1


def _apply(text: str, edits: list[dict[str, Any]]) -> str:
    for edit in sorted(edits, key=lambda e: _offset(text, e["location"]), reverse=True):
        start, end = _offset(text, edit["location"]), _offset(text, edit["end_location"])
        assert start <= end
        text = text[:start] + edit["content"] + text[end:]
    return text


def _call_at(text: str, row: int, column: int) -> str:
    """The source of the call that starts at (row, 1-based character column)."""
    line = text.splitlines()[row - 1]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call) and node.lineno == row:
            if len(line.encode("utf-8")[: node.col_offset].decode("utf-8")) == column - 1:
                segment = ast.get_source_segment(text, node)
                assert segment is not None
                return segment
    raise AssertionError(f"no call at {row}:{column}")


def test_json_entries_carry_rufs_fields_and_the_fix_of_their_call(project: Path) -> None:
    from codemods.config import Settings
    from codemods.engine import fix_one, locate_findings
    from codemods.summaries import file_project_view

    arguments = ("check", "--format", "json", "pkg", "broken")
    cold = _loopsafe(project, *arguments, "-j", "2")  # the files described on two forked workers
    assert cold[0] == 2  # a file could not be parsed
    assert _loopsafe(project, *arguments, "-j", "2") == cold  # warm: the findings from the cache, the same bytes
    assert _loopsafe(project, *arguments, "-j", "1") == cold  # one file after the other, in this process
    entries = json.loads(cold[1])
    root = project.resolve()

    # A file that cannot be parsed is an entry (and still said on stderr), as ruff's invalid-syntax.
    errors = [entry for entry in entries if not entry["code"] or not entry["code"].startswith("LS")]
    assert [(e["code"], e["path"], e["location"], e["fix"], e["filename"]) for e in errors] == [
        ("invalid-syntax", "broken/bad.py", {"row": 1, "column": 13}, None, str(root / "broken/bad.py"))
    ]
    assert errors[0]["message"] in cold[2].decode()

    findings = [entry for entry in entries if entry not in errors]
    assert {entry["path"] for entry in findings} == {"pkg/app.py", "pkg/other.py"}
    assert {"LS251", "LS210", "LS230", "LS301"} <= {entry["code"] for entry in findings}
    settings = Settings()
    spans: dict[tuple[str, int, int, str], tuple[int, int, int, int]] = {}
    views = {}
    for name in ("pkg/app.py", "pkg/other.py"):
        path = project / name
        views[name] = file_project_view(path, settings, None, [project])
        located, error = locate_findings(path.read_bytes(), settings, str(path), views[name])
        assert error is None
        spans.update(((name, f.line, f.column, f.code), span) for f, span in located)

    in_blocks = 0
    for entry in findings:
        assert OURS | RUFFS <= set(entry), entry
        path = project / entry["path"]
        text = path.read_text(encoding="utf-8")
        assert entry["filename"] == str(root / entry["path"])
        assert entry["location"] == {"row": entry["line"], "column": entry["column"]}
        assert (entry["url"], entry["cell"]) == (None, None)
        # From location to end_location: the call, whatever its characters (``café`` before one).
        start, end = _offset(text, entry["location"]), _offset(text, entry["end_location"])
        assert text[start:end] == _call_at(text, entry["line"], entry["column"])
        # Each fixable finding's edits, alone, give the quick fix of its call, which compiles.
        assert (entry["fix"] is not None) == entry["fixable"], entry
        if entry["fix"] is None:
            continue
        assert entry["fix"]["applicability"] == "safe" and entry["fix"]["message"] in entry["message"]
        span = spans[(entry["path"], entry["line"], entry["column"], entry["code"])]
        if entry["fix"]["message"] == MOVES_WITH_BLOCK:  # a call in a `with` block: its fix is the block's
            in_blocks += 1
            [block] = [e for e in findings if e["path"] == entry["path"] and e["code"] == "LS230"
                       and e["line"] < entry["line"] and "with block moves" in e["message"]]
            assert block["fix"] == {**entry["fix"], "message": block["fix"]["message"]}
            span = spans[(block["path"], block["line"], block["column"], block["code"])]
        expected = fix_one(path.read_bytes(), settings, str(path), span, views[entry["path"]])
        assert expected.error is None and expected.changed
        fixed = _apply(text, entry["fix"]["edits"])
        assert fixed.encode("utf-8") == expected.output
        compile(fixed, str(path), "exec")

    assert in_blocks == 1  # f.read() in app.py's `with open(path) as f`
    # The multi-line call and the with block: their noqa lines are those of --add-noqa.
    app = {(entry["code"], entry["line"]): entry for entry in findings if entry["path"] == "pkg/app.py"}
    assert app["LS210", 12]["end_location"]["row"] == 15 and app["LS210", 12]["noqa_row"] == 15
    assert app["LS230", 16]["noqa_row"] == 16
    copy = project / "copy"
    shutil.copytree(project / "pkg", copy / "pkg")
    assert _loopsafe(copy, "check", "--add-noqa", "pkg")[0] == 0
    commented: dict[tuple[str, int], set[str]] = {}
    for entry in findings:
        commented.setdefault((entry["path"], entry["noqa_row"]), set()).add(entry["code"])
    for name in ("pkg/app.py", "pkg/other.py"):
        before = (project / name).read_text(encoding="utf-8").splitlines()
        after = (copy / name).read_text(encoding="utf-8").splitlines()
        changed = {row for row, (old, new) in enumerate(zip(before, after), 1) if old != new}
        assert changed == {row for path, row in commented if path == name}
        for row in changed:
            assert set(after[row - 1].partition("# noqa: ")[2].split(", ")) == commented[(name, row)]

    # As a tool applies them: each fix whose edits start after the last applied one ends
    # (ruff's rule); what that gives compiles.
    for name in ("pkg/app.py", "pkg/other.py"):
        text = (project / name).read_text(encoding="utf-8")
        fixes = sorted((entry["fix"]["edits"] for entry in findings if entry["path"] == name and entry["fix"]),
                       key=lambda edits: min(_offset(text, e["location"]) for e in edits))
        applied: list[dict[str, Any]] = []
        last_end = -1
        for edits in fixes:
            if min(_offset(text, e["location"]) for e in edits) <= last_end:
                continue
            applied += edits
            last_end = max(_offset(text, e["end_location"]) for e in edits)
        assert len(applied) >= (3 if name == "pkg/app.py" else 2)
        compile(_apply(text, applied), name, "exec")

    # A file on stdin, named: the entries of the file it names.
    status, out, _ = _loopsafe(project, "check", "--format", "json", "-", "--stdin-filename", "pkg/other.py",
                               stdin=(project / "pkg/other.py").read_bytes())
    assert status == 1 and json.loads(out) == [entry for entry in findings if entry["path"] == "pkg/other.py"]


def test_statistics_json_has_rufs_rows_and_the_warm_run_prints_the_same(project: Path) -> None:
    arguments = ("check", "--format", "json", "--statistics", "pkg", "broken")
    cold = _loopsafe(project, *arguments)
    warm = _loopsafe(project, *arguments)  # answered from the cache without click
    assert warm == cold and cold[0] == 2
    rows = json.loads(cold[1])
    assert all(list(row) == ["code", "name", "count", "fixable", "fixable_count"] for row in rows)
    assert [row["count"] for row in rows] == sorted((row["count"] for row in rows), reverse=True)
    assert {"code": None, "name": "invalid-syntax", "count": 1, "fixable": False, "fixable_count": 0} in rows
    counted: dict[tuple[str, str], list[int]] = {}
    for line in _loopsafe(project, "check", "pkg")[1].decode().splitlines():  # the findings, one a line
        code, message = line.split(": ", 1)[1].split(" ", 1)
        count = counted.setdefault((code, message.split("()", 1)[0]), [0, 0])
        count[0] += 1
        count[1] += "; fix: " in message
    # The rows name each callable as json's findings do, qualified (`builtins.open`); messages, as code calls it.
    assert {(row["code"], shown_name(row["name"])): [row["count"], row["fixable_count"]]
            for row in rows if row["code"]} == counted
    assert all(row["fixable"] == (row["fixable_count"] > 0) for row in rows)


def test_stdin_is_named_as_ruff_names_it(project: Path) -> None:
    status, out, _ = _loopsafe(project, "check", "--format", "json", "-", stdin=FILES["broken/bad.py"].encode())
    assert status == 2
    assert [(entry["filename"], entry["code"]) for entry in json.loads(out)] == [("-", "invalid-syntax")]


def test_a_call_into_another_top_package_of_the_run_has_its_fix(tmp_path: Path) -> None:
    """Two top packages named on the command line, one calling a blocking function of the
    other (LS301): the file is described in the project the run saw, both packages in it,
    so its fix is there (it was null when only the file's own package was looked in)."""
    files = {
        "pyproject.toml": "[tool.loopsafe]\n",
        "a/app/__init__.py": "",
        "a/app/main.py": "from lib.util import pause\n\n\nasync def handler():\n    pause()\n",
        "b/lib/__init__.py": "",
        "b/lib/util.py": "import time\n\n\ndef pause():\n    time.sleep(1)\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    status, out, _ = _loopsafe(tmp_path, "check", "--no-cache", "--format", "json", "a", "b")
    [entry] = json.loads(out)
    assert (status, entry["code"], entry["fixable"]) == (1, "LS301", True)
    fixed = _apply(files["a/app/main.py"], entry["fix"]["edits"])
    assert "await asyncio.to_thread(pause)" in fixed
    compile(fixed, "main.py", "exec")

"""``--observed`` at every front: what a recording (``loopsafe record``) saw reaches the
analysis of each file the same way whatever the run, and the fronts show it.

The project is ``tests.test_fronts``'s shop. Its observations file is written here from
``ObservedSite`` objects, with the real content hash of each module (no recorder needed):
a stall at ``time.sleep`` (LS251, of the module's own), at ``load_config()`` (LS301: a
call into another module, decided with the project's summaries) and at ``archive()``
(LS301, in the module the screen passes over). Each run is compared with the others:
cold, warm and without the cache, one job and two, by path and on standard input, the
fixit rule and the language server; and a run without ``--observed`` after them still
finds what it found before (the cache never keeps a cost).
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from codemods import observed as observed_module
from codemods.findings import Finding
from codemods.observed import Chain, Cost, Observations, ObservedSite, content_hash
from tests.test_fronts import COROUTINE_MODULES, age, invoke, reference, write

#: path, line, column, code, message, cost (JSON) or None
Found = tuple[str, int, int, str, str, Any]

#: (module, line, seconds, steps): where the recording saw the loop stall.
STALLS = [
    ("shop/service.py", 27, 2.0, 10),  # time.sleep(0.1): LS251
    ("shop/service.py", 23, 0.25, 3),  # load_config(config_path): LS301, from another module
    ("shop/jobs.py", 11, 0.5, 4),  # archive(path): LS301, the screen passes the module over
]


def site_at(root: Path, path: str, line: int, seconds: float, steps: int) -> ObservedSite:
    """A site at the outermost call starting on ``line`` of ``path``, where ``ast`` puts it."""
    tree = ast.parse((root / path).read_bytes())
    call = min((node for node in ast.walk(tree) if isinstance(node, ast.Call) and node.lineno == line),
               key=lambda node: node.col_offset)
    function = next(node.name for node in ast.walk(tree) if isinstance(node, ast.AsyncFunctionDef)
                    and node.lineno <= line <= (node.end_lineno or node.lineno))
    callee = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
    return ObservedSite(
        path=path, line=line, col_offset=call.col_offset, end_line=call.end_lineno, end_col_offset=call.end_col_offset,
        kind="coroutine", function=function, callee=callee, steps=steps, seconds=seconds, longest=seconds / steps,
        chains=(Chain((f"{callee}()",), steps, seconds),),
    )


def record(root: Path, stalls: list[tuple[str, int, float, int]] = STALLS, name: str = "observed.json") -> Path:
    """An observations file of ``stalls``, for the modules as they are now."""
    sites = tuple(site_at(root, *stall) for stall in stalls)
    observations = Observations(
        root=str(root), sites=sites, modules={site.path: content_hash((root / site.path).read_bytes()) for site in sites},
        command=("python", "-m", "pytest"), stalls=sum(site.steps for site in sites),
        stalled_seconds=sum(site.seconds for site in sites),
    )
    target = root / name
    target.write_text(observations.dumps())
    return target


@pytest.fixture()
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = write(tmp_path / "shop-project")
    monkeypatch.chdir(root)
    return root


def check(*args: str, input: bytes | None = None, status: int = 1) -> list[Found]:
    """The findings of ``loopsafe check --format json ARGS``, with their cost, sorted."""
    result = invoke("check", "--format", "json", *args, input=input)
    assert result.exit_code == status, result.stdout + result.stderr
    return sorted(
        (item["path"], item["line"], item["column"], item["code"], item["message"], item.get("cost"))
        for item in json.loads(result.stdout)
    )


def costed(found: list[Found]) -> dict[tuple[str, int, str], float]:
    return {(path, line, code): cost["seconds"] for path, line, _, code, _, cost in found if cost is not None}


EXPECTED_COSTS = {
    ("shop/service.py", 27, "LS251"): 2.0,
    ("shop/service.py", 23, "LS301"): 0.25,
    ("shop/jobs.py", 11, "LS301"): 0.5,
}


def test_every_run_gives_the_costs_and_the_cache_keeps_none(shop: Path) -> None:
    """Cold, warm, without the cache, one job and two: the same findings with the same
    costs; the findings are those of a check without the recording, costs aside; and a
    check without it afterwards, warm, has no cost."""
    static = reference()
    observed = str(record(shop))
    runs: dict[str, list[Found]] = {}
    runs["no cache"] = check("--no-cache", "-j", "1", "--observed", observed, "shop")
    found = runs["no cache"]
    assert costed(found) == EXPECTED_COSTS
    assert [item[:4] for item in found] == [item[:4] for item in static]
    [sleep] = [item for item in found if item[3] == "LS251"]
    assert sleep[4].endswith("; stalled the event loop 2.0 s in 10 steps when recorded"), sleep[4]
    assert sleep[5] == {"seconds": 2.0, "steps": 10, "longest": 0.2, "through": ["sleep()"]}
    check("shop")  # a cache of the static findings, for every file
    runs["warm"] = check("-j", "1", "--observed", observed, "shop")
    runs["warm, two jobs"] = check("-j", "2", "--observed", observed, "shop")
    shutil.rmtree(shop / ".loopsafe_cache")
    runs["cold, two jobs"] = check("-j", "2", "--observed", observed, "shop")
    runs["warm again"] = check("-j", "2", "--observed", observed, "shop")
    runs["no cache, two jobs"] = check("--no-cache", "-j", "2", "--observed", observed, "shop")
    runs["files one by one"] = sorted(
        item for name in COROUTINE_MODULES for item in check("--observed", observed, name)
    )
    assert {name: run for name, run in runs.items() if run != found} == {}
    assert [item[:5] for item in check("-j", "1", "shop")] == static
    assert [item[:5] for item in check("-j", "2", "shop")] == static


def test_a_module_changed_since_the_recording_has_its_sites_dropped_and_counted(shop: Path) -> None:
    observed = str(record(shop))
    jobs = shop / "shop/jobs.py"
    jobs.write_text(jobs.read_text() + "# edited after the recording\n")
    age(shop)
    for attempt in ("cold", "warm"):
        result = invoke("check", "--observed", observed, "shop")
        assert result.exit_code == 1, attempt
        assert "loopsafe: 2 observed sites in 1 module given to the analysis" in result.stderr, attempt
        assert ("loopsafe: 1 observed site in 1 module dropped: changed since recorded; record again"
                in result.stderr), attempt
        assert "jobs.py:11:" in result.stdout and "stalled" not in result.stdout.split("jobs.py:11:")[1].split("\n")[0]
    assert costed(check("--observed", observed, "shop")) == {
        key: seconds for key, seconds in EXPECTED_COSTS.items() if key[0] != "shop/jobs.py"
    }
    # -q: findings and errors only.
    assert "observed" not in invoke("check", "-q", "--observed", observed, "shop").stderr


def test_observations_no_file_of_the_run_is_recorded_in_are_said_so(shop: Path, tmp_path: Path) -> None:
    elsewhere = write(tmp_path / "elsewhere")
    observed = str(record(elsewhere))
    (elsewhere / "shop/service.py").write_text("# another project\n")
    result = invoke("check", "--observed", observed, "shop/util")
    assert result.exit_code == 0
    assert "none of the 2 modules recorded in" in result.stderr
    # A checkout of the recorded project elsewhere: its modules are found relative to the current directory.
    found = check("--no-cache", "--observed", observed, "shop")
    assert costed(found) == EXPECTED_COSTS


@pytest.mark.parametrize("command", ["check", "diff", "fix"])
def test_an_observations_file_that_cannot_be_used_stops_the_run_naming_it(shop: Path, command: str) -> None:
    before = {path: path.read_bytes() for path in shop.rglob("*.py")}
    problems = {
        "missing.json": None,
        "not-json.json": "{",
        "other-version.json": json.dumps({"loopsafe_observed": 99, "root": "/", "modules": {}, "sites": []}),
        "not-observations.json": json.dumps({"files": []}),
    }
    for name, text in problems.items():
        if text is not None:
            (shop / name).write_text(text)
        result = invoke(command, "--observed", name, "shop")
        assert result.exit_code == 2, (name, result.stdout, result.stderr)
        assert f"{name}: " in result.stderr, result.stderr
        assert result.stdout == ""
    assert {path: path.read_bytes() for path in shop.rglob("*.py")} == before
    # On standard input too, named or not.
    source = (shop / "shop/service.py").read_bytes()
    for named in (["--stdin-filename", "shop/service.py"], []):
        result = invoke(command, "--observed", "missing.json", "-", *named, input=source)
        assert result.exit_code == 2 and "missing.json: cannot read the observations file" in result.stderr


def test_sort_cost_lists_the_costliest_first_then_the_usual_order(shop: Path) -> None:
    observed = str(record(shop))
    usual = invoke("check", "--observed", observed, "shop").stdout.splitlines()
    assert invoke("check", "--sort", "path", "--observed", observed, "shop").stdout.splitlines() == usual
    by_cost = invoke("check", "--sort", "cost", "--observed", observed, "shop")
    assert by_cost.exit_code == 1
    lines = by_cost.stdout.splitlines()
    assert [line.split(": ", 1)[0].rsplit(":", 1)[0] for line in lines[:3]] == [
        "shop/service.py:27", "shop/jobs.py:11", "shop/service.py:23",
    ]
    assert lines[3:] == [line for line in usual if line not in lines[:3]]
    assert sorted(lines) == sorted(usual)
    assert "loopsafe: 3 of them stalled the event loop when recorded, 2.8 s in all\n" in by_cost.stderr
    assert "(costliest first: --sort cost)" in invoke("check", "--observed", observed, "shop").stderr
    # The JSON list and the SARIF results come in the same order.
    as_json = json.loads(invoke("check", "--format", "json", "--sort", "cost", "--observed", observed, "shop").stdout)
    assert [item["line"] for item in as_json[:3]] == [27, 11, 23]
    assert [item.get("cost", {}).get("seconds") for item in as_json[:4]] == [2.0, 0.5, 0.25, None]
    sarif = json.loads(invoke("check", "--format", "sarif", "--sort", "cost", "--observed", observed, "shop").stdout)
    results = sarif["runs"][0]["results"]
    assert [result["locations"][0]["physicalLocation"]["region"]["startLine"] for result in results[:3]] == [27, 11, 23]
    assert results[0]["properties"]["cost"] == as_json[0]["cost"]
    assert all("cost" not in result["properties"] for result in results[3:])
    # Without a recording, --sort cost is the usual order.
    assert invoke("check", "--sort", "cost", "shop").stdout.splitlines() == [
        line.split("; stalled")[0] for line in usual
    ]


def test_statistics_show_the_observed_time_of_each_row(shop: Path) -> None:
    observed = str(record(shop))
    rows = invoke("check", "--statistics", "--observed", observed, "shop").stdout.splitlines()
    plain = invoke("check", "--statistics", "shop").stdout.splitlines()
    assert [row.split("  observed")[0] for row in rows] == plain
    assert "     1  LS251  time.sleep  (1 fixable)  observed 2.0 s in 10 steps" in rows
    assert "  LS301  archive  " in next(row for row in rows if "observed 500 ms in 4 steps" in row)
    by_cost = invoke("check", "--statistics", "--sort", "cost", "--observed", observed, "shop").stdout.splitlines()
    assert by_cost[0] == "     1  LS251  time.sleep  (1 fixable)  observed 2.0 s in 10 steps"
    assert "observed 500 ms in 4 steps" in by_cost[1]
    assert sorted(by_cost) == sorted(rows)


def test_standard_input_with_its_filename_gets_the_sites_of_that_file(shop: Path) -> None:
    observed = str(record(shop))
    by_path = check("--no-cache", "--observed", observed, "shop")
    for name in COROUTINE_MODULES:
        source = (shop / name).read_bytes()
        mine = [item for item in by_path if item[0] == name]
        assert check("--observed", observed, "-", "--stdin-filename", name, input=source) == mine
        # Not what the recording saw: the sites are dropped.
        edited = check("--observed", observed, "-", "--stdin-filename", name, input=source + b"# edited\n")
        assert costed(edited) == {}
        assert [(*item[:4], item[4].split("; stalled")[0]) for item in mine] == [item[:5] for item in edited]
    # Unnamed, stdin is no recorded module.
    service = (shop / "shop/service.py").read_bytes()
    assert check("--observed", observed, "-", input=service) == check("-", input=service)
    result = invoke("fix", "--observed", observed, "-", "--stdin-filename", "shop/service.py",
                    input=(shop / "shop/service.py").read_bytes())
    assert "loopsafe: 2 observed sites in 1 module given to the analysis" in result.stderr
    assert "await asyncio.sleep(0.1)" in result.stdout


def test_select_keeps_the_costs_of_the_codes_it_selects(shop: Path) -> None:
    observed = str(record(shop))
    selected = check("--no-cache", "--select", "LS251", "--observed", observed, "shop")
    assert costed(selected) == {("shop/service.py", 27, "LS251"): 2.0}
    assert {item[3] for item in selected} == {"LS251"}
    assert costed(check("--no-cache", "--ignore", "LS251", "--observed", observed, "shop")) == {
        key: seconds for key, seconds in EXPECTED_COSTS.items() if key[2] != "LS251"
    }


def test_diff_and_fix_say_what_became_of_the_observations(shop: Path) -> None:
    observed = str(record(shop))
    diff = invoke("diff", "--observed", observed, "shop")
    assert diff.exit_code == 1
    assert "loopsafe: 3 observed sites in 2 modules given to the analysis" in diff.stderr
    fixed = invoke("fix", "--observed", observed, "shop")
    assert fixed.exit_code == 1  # calls left for review, as without a recording
    assert "loopsafe: 3 observed sites in 2 modules given to the analysis" in fixed.stderr
    # The files changed: a second fix finds the recording stale, and changes nothing.
    again = invoke("fix", "--observed", observed, "shop")
    assert "loopsafe: 3 observed sites in 2 modules dropped: changed since recorded; record again" in again.stderr
    assert "0 files changed" in again.stderr


def test_the_configuration_names_the_recording_relative_to_its_folder(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record(shop, name="recorded.json")
    pyproject = shop / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'observed = "recorded.json"\n')
    expected = check("--no-cache", "--observed", "recorded.json", "shop")
    assert costed(expected) == EXPECTED_COSTS
    assert check("shop") == expected
    monkeypatch.chdir(shop / "shop")  # the configuration's folder, not the current directory
    assert [(f"shop/{item[0]}", *item[1:]) for item in check("--no-cache", ".")] == expected
    monkeypatch.chdir(shop)
    # The command line overrides it.
    other = record(shop, [("shop/service.py", 27, 7.0, 1)], name="other.json")
    assert costed(check("--no-cache", "--observed", str(other), "shop")) == {("shop/service.py", 27, "LS251"): 7.0}
    # A configured file that cannot be read stops the run, named.
    (shop / "recorded.json").unlink()
    result = invoke("check", "shop")
    assert result.exit_code == 2 and f"{shop / 'recorded.json'}: cannot read the observations file" in result.stderr
    pyproject.write_text(pyproject.read_text().replace('"recorded.json"', "3"))
    result = invoke("check", "shop")
    assert result.exit_code == 2 and "observed must be the path of a file" in result.stderr


def test_the_fixit_rule_and_the_language_server_see_the_costs_check_sees(shop: Path) -> None:
    from fixit.engine import LintRunner
    from fixit.ftypes import Config

    from codemods import lint, server

    record(shop, name="recorded.json")
    pyproject = shop / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'observed = "recorded.json"\n')
    expected = [item[:5] for item in check("--no-cache", "shop")]
    assert any("stalled the event loop" in item[4] for item in expected)
    assert linted(shop, COROUTINE_MODULES) == expected
    assert served(shop, COROUTINE_MODULES) == expected
    # A recording that cannot be used: said on the module, as a broken configuration is.
    (shop / "recorded.json").write_text("{")
    lint._settings_for.cache_clear()
    path = shop / "shop/service.py"
    [violation] = LintRunner(path, path.read_bytes()).collect_violations([lint.BlockingCallInCoroutine()],
                                                                         Config(path=path))
    assert violation.message.startswith(f"loopsafe cannot run: {shop / 'recorded.json'}: not an observations file")
    located, problem = server._analyse(path.read_text(), str(path))
    assert located == [] and problem is not None and "recorded.json: not an observations file" in problem.message


def linted(root: Path, modules: tuple[str, ...]) -> list[tuple[str, int, int, str, str]]:
    """What the fixit rule reports on ``modules``, as ``check`` lists findings."""
    from fixit.engine import LintRunner
    from fixit.ftypes import Config

    from codemods import lint

    lint._settings_for.cache_clear()  # the tests' projects come and go in one process
    found = []
    for name in modules:
        path = root / name
        runner = LintRunner(path, path.read_bytes())
        for violation in runner.collect_violations([lint.BlockingCallInCoroutine()], Config(path=path)):
            code, message = violation.message.split(" ", 1)
            found.append((name, violation.range.start.line, violation.range.start.column + 1, code, message))
    return sorted(found)


def served(root: Path, modules: tuple[str, ...]) -> list[tuple[str, int, int, str, str]]:
    """What the language server's analysis finds in ``modules`` opened as they are."""
    from codemods import server

    found = []
    for name in modules:
        located, problem = server._analyse((root / name).read_text(), str(root / name))
        assert problem is None, problem
        found += [(name, finding.line, finding.column, finding.code, finding.message) for finding, _ in located]
    return sorted(found)


def test_the_cache_never_keeps_a_cost(tmp_path: Path) -> None:
    import os

    from codemods.cache import FindingsCache
    from codemods.config import Settings

    target = tmp_path / "module.py"
    target.write_text("x = 1\n")
    os.utime(target, (1_000_000, 1_000_000))
    status = target.stat()
    cost = Cost(1.5, 3, 0.7, ("f()",))
    finding = Finding(3, 5, "LS251", "time.sleep", True, "await asyncio.sleep(1)", ("a()",), cost=cost)
    cache = FindingsCache(tmp_path / "cache", Settings())
    cache.put(target, status, [finding])
    cache.save()
    stored = json.loads(cache.path.read_text())
    assert "1.5" not in json.dumps(stored)
    cached = FindingsCache(tmp_path / "cache", Settings()).get(target, status)
    assert cached is not None
    [again] = cached.findings
    assert again == finding and again.cost is None and again.chain == ("a()",)


def test_a_recording_is_read_once_per_run(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    observed = str(record(shop))
    reads: list[Path] = []
    real = observed_module.load

    def counting(path: Path) -> Observations:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(observed_module, "load", counting)
    invoke("check", "--no-cache", "--observed", observed, "shop", "-", "--stdin-filename", "shop/jobs.py",
           input=(shop / "shop/jobs.py").read_bytes())
    assert reads == [Path(observed)]


def test_a_site_at_a_call_decided_with_other_modules_gets_its_cost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A call of another module's function, decided over the project's summaries without a
    second look (the module's findings are finished as they are), gets the cost of its
    site; the decision the cache stored for the module (without a recording) is not the
    answer for a run with one, nor is one made with it (an LS401 finding) stored."""
    root = tmp_path / "app-project"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.loopsafe]\n")
    (root / "app/__init__.py").write_text("")
    (root / "app/store.py").write_text("import sqlite3\n\n\ndef connect(path):\n    return sqlite3.connect(path)\n")
    (root / "app/main.py").write_text(
        "import time\n\nfrom app.store import connect\n\n\nasync def handler(path):\n"
        "    time.sleep(1)\n    return connect(path)\n\n\nasync def names(path):\n    return sorted(path.split())\n"
    )
    age(root)
    monkeypatch.chdir(root)
    observed = str(record(root, [("app/main.py", 8, 0.75, 5), ("app/main.py", 7, 0.5, 2), ("app/main.py", 12, 0.1, 1)]))
    expected = {("app/main.py", 8, "LS301"): 0.75, ("app/main.py", 7, "LS251"): 0.5, ("app/main.py", 12, "LS401"): 0.1}
    static = check("app")  # stores the decision
    assert [item[3] for item in static] == ["LS251", "LS301"] and costed(static) == {}
    for jobs in ("1", "2"):
        assert costed(check("-j", jobs, "--observed", observed, "app")) == expected
        assert costed(check("--no-cache", "-j", jobs, "--observed", observed, "app")) == expected
    assert check("app") == static


# -- LS401: calls no list knows, that the recording saw stall the loop ----------------------

SERVICE = '''\
import hashlib
import time


def checksum(moves):
    total = 0
    for index, move in enumerate(moves):
        total = (total * 31 + move * index) % 1_000_003
    return total


async def sign_up(password: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), b"salt", 1000)


async def report(moves: tuple[int, ...]) -> int:
    return checksum(moves)


async def wait() -> None:
    time.sleep(0.1)
'''
#: pbkdf2_hmac (a C function of the standard library), checksum() (a CPU-bound helper of
#: the module's own) and time.sleep (LS251).
SERVICE_STALLS = [("app/service.py", 13, 1.5, 6), ("app/service.py", 17, 0.5, 2), ("app/service.py", 21, 0.25, 2)]


@pytest.fixture()
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "app-project"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.loopsafe]\n")
    (root / "app/__init__.py").write_text("")
    (root / "app/service.py").write_text(SERVICE)
    age(root)
    monkeypatch.chdir(root)
    return root


def test_calls_only_the_recording_saw_are_ls401_in_every_run(app: Path) -> None:
    observed = str(record(app, SERVICE_STALLS))
    static = check("app")
    assert [item[3] for item in static] == ["LS251"] and costed(static) == {}
    expected = check("--no-cache", "--observed", observed, "app")
    assert costed(expected) == {
        ("app/service.py", 13, "LS401"): 1.5, ("app/service.py", 17, "LS401"): 0.5, ("app/service.py", 21, "LS251"): 0.25,
    }
    [pbkdf2, helper] = [item for item in expected if item[3] == "LS401"]
    assert pbkdf2[4].startswith("hashlib.pbkdf2_hmac() stalled the event loop 1.5 s in 6 steps when recorded")
    assert pbkdf2[4].endswith("; fix: await asyncio.to_thread(hashlib.pbkdf2_hmac, ...)")
    assert helper[4].endswith("; fix: await asyncio.to_thread(checksum, ...)")
    runs = {
        "warm": check("--observed", observed, "app"),
        "warm, two jobs": check("-j", "2", "--observed", observed, "app"),
        "stdin": check("--observed", observed, "-", "--stdin-filename", "app/service.py", input=SERVICE.encode()),
    }
    assert {name: found for name, found in runs.items() if found != expected} == {}
    # Selected and ignored by their code; only LS401 found still exits 1.
    assert [item[3] for item in check("--select", "LS401", "--observed", observed, "app")] == ["LS401", "LS401"]
    assert [item[3] for item in check("--ignore", "LS401", "--observed", observed, "app")] == ["LS251"]
    # The cache kept no LS401 and no cost: a run without the recording finds what it found.
    assert check("app") == static
    assert check("-j", "2", "app") == static
    # The fixit rule and the language server, told by the configuration.
    (app / "pyproject.toml").write_text(f"[tool.loopsafe]\nobserved = {json.dumps(observed)}\n")
    assert check("app") == expected
    assert linted(app, ("app/service.py",)) == [item[:5] for item in expected]
    assert served(app, ("app/service.py",)) == [item[:5] for item in expected]


def test_fix_offloads_what_the_recording_saw_and_a_second_fix_changes_nothing(app: Path) -> None:
    observed = str(record(app, SERVICE_STALLS))
    by_stdin = invoke("fix", "--observed", observed, "-", "--stdin-filename", "app/service.py", input=SERVICE.encode())
    assert by_stdin.exit_code == 0, by_stdin.stderr
    diff = invoke("diff", "--observed", observed, "app")
    assert "+    return await asyncio.to_thread(checksum, moves)\n" in diff.stdout
    assert "to_thread(checksum" not in invoke("diff", "app").stdout  # without the recording, no LS401
    fixed = invoke("fix", "--observed", observed, "app")
    assert fixed.exit_code == 0, fixed.stderr
    assert "loopsafe: 1 file changed, 3 calls rewritten, 0 calls left for manual review" in fixed.stderr
    text = (app / "app/service.py").read_text()
    assert text == by_stdin.stdout
    assert 'return await asyncio.to_thread(hashlib.pbkdf2_hmac, "sha256", password.encode(), b"salt", 1000)' in text
    assert "return await asyncio.to_thread(checksum, moves)" in text
    again = invoke("fix", "--observed", observed, "app")
    assert again.exit_code == 0 and (app / "app/service.py").read_text() == text
    assert "loopsafe: 3 observed sites in 1 module dropped: changed since recorded; record again" in again.stderr
    assert check("--observed", observed, "app", status=0) == []


def test_fix_lists_the_calls_it_left_where_they_are_now_with_their_cost(app: Path) -> None:
    """The rewritten file's findings are found without the recording (its places are the
    old file's): the calls only the recording found, left unfixed, are listed all the
    same, moved as the lines moved (an import added above them), and exit 1."""
    module = app / "app/service.py"
    module.write_text(
        "import os\n\nCACHE = {}\n\n\nasync def handler(path):\n    os.remove(path)\n"
        "    entries = os.scandir(path)\n    return sorted(CACHE.values()), entries\n"
    )
    observed = str(record(app, [("app/service.py", 9, 0.5, 3), ("app/service.py", 8, 0.25, 1)]))
    source = module.read_bytes()
    by_stdin = invoke("fix", "--observed", observed, "-", "--stdin-filename", "app/service.py", input=source)
    fixed = invoke("fix", "--observed", observed, "app")
    assert fixed.exit_code == by_stdin.exit_code == 1
    assert "1 call rewritten, 2 calls left for manual review" in fixed.stderr
    lines = module.read_text().splitlines()
    assert lines[0] == "import asyncio" and lines[9] == "    return sorted(CACHE.values()), entries"
    left = [line for line in fixed.stderr.splitlines() if line.startswith("app/service.py:")]
    assert [line.split(" ", 2)[:2] for line in left] == [["app/service.py:9:15:", "LS260"],
                                                         ["app/service.py:10:12:", "LS401"]]
    assert left[0].endswith("; stalled the event loop 250 ms in 1 step when recorded")
    assert "sorted() stalled the event loop 500 ms in 3 steps when recorded" in left[1]
    assert left == [line for line in by_stdin.stderr.splitlines() if line.startswith("app/service.py:")]
    # What check lists there now, without the recording.
    assert [item[:4] for item in check("app")] == [("app/service.py", 9, 15, "LS260")]


def test_line_map_follows_the_lines_a_rewrite_moved() -> None:
    from codemods.runner import line_map

    now = line_map(b"a\nb\nc\nd\n", b"import x\na\nB\nc\n")
    assert [now(line) for line in (1, 2, 3, 4)] == [2, 3, 4, 4]  # 4 was removed: the line before it is the last
    now = line_map(b"a\nb\nc\n", b"a\nc\n")
    assert [now(line) for line in (1, 2, 3)] == [1, 2, 2]

"""The loop the issue asks for, through the installed console script: record a small
application run as a script, check with what was seen, fix, and record again; and the
README's walkthrough on ``examples/accounts``, whose tests are recorded under
``python -m pytest``.

The application stalls its loop four ways no catalog entry covers (``slowlib`` lies outside
the project, as an installed library would):
- through a library function (``slowlib.load``: a ``time.sleep`` and a file read);
- through a C function that releases the GIL (``hashlib.pbkdf2_hmac``);
- through a CPU-bound loop in a helper of the project (``crunch``);
- on a conditional slow path (``cached_label``: slow on a cache miss only), a helper that
  writes module state, so that offloading it would let two tasks race on the cache:
  reported, not rewritten.
After ``fix --observed``, the first three are gone from a new recording; the fourth stays.
The program's output and exit status are its own, recorded or not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SLOWLIB = '''\
import time


def load(path):
    time.sleep(0.06)  # a slow disk, a remote mount
    with open(path) as file:
        return file.read()
'''

SERVICE = '''\
import asyncio
import hashlib

import slowlib

SALT = b"e2e"
_labels = {}


def crunch(n):
    total = 0
    for i in range(n):
        total = (total * 31 + i) % 1_000_003
    return total


def cached_label(key):
    if key not in _labels:
        text = key
        for _ in range(1_500_000):
            text = text.strip()
        _labels[key] = text.upper()
    return _labels[key]


async def read_config(path: str) -> str:
    return slowlib.load(path)


async def hash_password(password: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), SALT, 200_000).hex()[:8]


async def total(n: int) -> int:
    return crunch(n)


async def label(key: str) -> str:
    return cached_label(key)


async def main(path):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    beat = asyncio.ensure_future(ticker())
    results = [await read_config(path), await hash_password("pw"), await total(600_000), await label("x")]
    beat.cancel()
    return results
'''

SCRIPT = '''\
import asyncio
import sys

from service import main

print(asyncio.run(main("config.txt")))
sys.exit(3)
'''

TESTS = '''\
import asyncio

from service import main


def test_service():
    assert asyncio.run(main("config.txt"))[0] == "mode=fast\\n"
'''


def _loopsafe() -> str:
    from tests.conftest import find_tool

    return find_tool("loopsafe", "pip install -e .")


def _app(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    library = tmp_path / "site"
    library.mkdir()
    (library / "slowlib.py").write_text(SLOWLIB)
    app = tmp_path / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text("[tool.loopsafe]\n\n[tool.pytest.ini_options]\naddopts = \"-p no:cacheprovider\"\n")
    (app / "service.py").write_text(SERVICE)
    (app / "main.py").write_text(SCRIPT)
    (app / "test_service.py").write_text(TESTS)
    (app / "config.txt").write_text("mode=fast\n")
    env = {**os.environ, "PYTHONPATH": str(library), "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return app, env


def _run(app: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=app, env=env, capture_output=True, text=True, timeout=120)


def _sites(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    return {f"{site['path']}:{site['line']}": site for site in document["sites"]}


#: Code an offload runs on the loop: a busy machine can stall a step there (the executor's
#: first worker thread starting, its queue's ``put()``), which is not the work the offload
#: moved to the thread. A chain that enters the offload is all machinery on the loop's
#: thread, whatever C call it ends in (those are named from source: ``self._work_queue.put()``).
_OFFLOAD_MACHINERY = ("asyncio.", "concurrent.futures.", "threading.", "futures.Future(")


def _stalling(path: Path) -> set[str]:
    """The sites of a recording where the loop stalled in the program's own work: not those
    whose every chain goes into the offload's machinery."""

    def machinery_only(site: dict[str, Any]) -> bool:
        chains = [chain["through"] for chain in site["chains"]]
        return bool(chains) and all(
            through and through[0].startswith(_OFFLOAD_MACHINERY) for through in chains
        )

    return {where for where, site in _sites(path).items() if not machinery_only(site)}


def test_record_check_fix_and_record_again(tmp_path: Path) -> None:
    """As a script; under pytest: the walkthrough test below, and the recorder's own tests
    (``tests/test_record_runtime.py``, pytest-xdist workers included)."""
    command = ["main.py"]
    loopsafe = _loopsafe()
    app, env = _app(tmp_path)
    plain = _run(app, env, sys.executable, *command)
    recorded = _run(app, env, loopsafe, "record", "-o", "seen.json", "--", sys.executable, *command)
    # The command's own output and exit status (the script exits 3).
    assert recorded.returncode == plain.returncode == 3
    assert recorded.stdout.splitlines()[: 1] == plain.stdout.splitlines()[: 1]

    lines = SERVICE.splitlines()

    def line_of(text: str) -> str:
        return f"service.py:{next(i for i, line in enumerate(lines, 1) if text in line)}"

    sites = _sites(app / "seen.json")
    wanted = {
        line_of("return slowlib.load(path)"): "slowlib.load",
        line_of("return hashlib.pbkdf2_hmac("): "pbkdf2_hmac",
        line_of("return crunch(n)"): "crunch",
        line_of("return cached_label(key)"): "cached_label",
    }
    for where, through in wanted.items():
        assert where in sites, (where, sorted(sites), recorded.stderr)
        assert sites[where]["seconds"] >= 0.01, sites[where]
        assert any(through in step for chain in sites[where]["chains"] for step in chain["through"]) or (
            sites[where]["callee"] and through.endswith(sites[where]["callee"])
        ), sites[where]

    checked = _run(app, env, loopsafe, "check", "--no-cache", "--observed", "seen.json", "--sort", "cost", ".")
    assert checked.returncode == 1, checked.stderr
    listed = [line for line in checked.stdout.splitlines() if line.startswith("service.py:")]
    for where in wanted:
        finding = next(line for line in listed if line.startswith(where + ":"))
        assert " LS401 " in finding and "stalled the event loop" in finding, finding
    label = next(line for line in listed if line.startswith(line_of("return cached_label(key)") + ":"))
    assert "not fixed automatically" in label and "_labels" in label, label

    fixed = _run(app, env, loopsafe, "fix", "--no-cache", "--observed", "seen.json", ".")
    assert fixed.returncode == 1, fixed.stderr  # the greeting helper is left for review
    source = (app / "service.py").read_text()
    compile(source, "service.py", "exec")
    assert "await asyncio.to_thread(slowlib.load, path)" in source
    assert "await asyncio.to_thread(hashlib.pbkdf2_hmac," in source
    assert "await asyncio.to_thread(crunch, n)" in source
    assert "return cached_label(key)" in source

    again = _run(app, env, loopsafe, "record", "-o", "again.json", "--", sys.executable, *command)
    assert again.returncode == plain.returncode
    lines = source.splitlines()
    sites = _stalling(app / "again.json")
    assert line_of("return cached_label(key)") in sites
    for text in ("slowlib.load, path", "hashlib.pbkdf2_hmac,", "crunch, n"):
        assert line_of(text) not in sites, (text, sorted(sites))

    # The old recording is of the module as it was: dropped, and said so.
    stale = _run(app, env, loopsafe, "check", "--no-cache", "--observed", "seen.json", ".")
    assert "LS401" not in stale.stdout and "changed since" in stale.stderr, stale.stderr


def test_the_readme_walkthrough_on_the_bundled_example(tmp_path: Path) -> None:
    """README, "Walkthrough": record `examples/accounts`' tests, fix with what was seen,
    record again: only the greeting, reported (it fills a module cache), still stalls."""
    import shutil

    loopsafe = _loopsafe()
    app = Path(shutil.copytree(Path(__file__).parent.parent / "examples" / "accounts", tmp_path / "accounts"))
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    pytest_run = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    recorded = _run(app, env, loopsafe, "record", "--", *pytest_run)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    source = (app / "accounts.py").read_text()

    def line_of(text: str) -> str:
        return f"accounts.py:{next(i for i, line in enumerate(source.splitlines(), 1) if text in line)}"

    sign_up, greeting = line_of("digest = hashlib.pbkdf2_hmac("), line_of("return greeting(language)")
    report, pause = line_of("checksum {checksum(moves)}"), line_of("time.sleep(0.05)")
    assert {sign_up, greeting, report, pause} <= set(_sites(app / "loopsafe-observed.json")), recorded.stderr

    fixed = _run(app, env, loopsafe, "fix", "--observed", "loopsafe-observed.json")
    assert fixed.returncode == 1 and "4 calls rewritten, 1 call left for manual review" in fixed.stderr, fixed.stderr
    assert f"{greeting}:16: LS401 greeting() stalled the event loop" in fixed.stderr, fixed.stderr
    assert "`_rendered`" in fixed.stderr

    source = (app / "accounts.py").read_text()
    again = _run(app, env, loopsafe, "record", "--", *pytest_run)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _stalling(app / "loopsafe-observed.json") == {line_of("return greeting(language)")}, again.stderr

"""Observations in the analysis (``codemods.analysis.observed_sites``): sites matched to the
calls of a module's coroutines, on positions (3.11+) and on lines (before), the cost a
static finding at a site carries, and what the matching makes of positions real
interpreters give (every pyenv Python present, one small program each)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Sequence

import pytest

from codemods.analysis.detector import SourceText
from codemods.analysis.modules import ModuleName, ProjectView
from codemods.analysis.observed_sites import (
    AMBIGUOUS, CALLBACK, COMPREHENSION, LOOP_ITEMS, NESTED, OWN_CODE, ObservedSites,
)
from codemods.engine import transform_source
from codemods.findings import Finding
from codemods.observed import Chain, Cost, ObservedSite
from tests.fixture_cases import FixtureCase, discover


def module(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def site_at(
    source: str, text: str, nth: int = 0, *, lines_only: bool = False, callee: str | None = None,
    seconds: float = 0.5, steps: int = 3, through: tuple[str, ...] = ("lib.work()",), function: str = "",
) -> ObservedSite:
    """A site at the ``nth`` call whose source is ``text``, as a recording would give it."""
    tree = ast.parse(source)
    calls = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.get_source_segment(source, n) == text),
        key=lambda n: (n.lineno, n.col_offset),
    )
    call = calls[nth]
    coroutine = function or next(
        f.name for f in ast.walk(tree) if isinstance(f, ast.AsyncFunctionDef)
        and f.lineno <= call.lineno <= (f.end_lineno or f.lineno)
    )
    positions = (None, None, None) if lines_only else (call.col_offset, call.end_lineno, call.end_col_offset)
    return ObservedSite(
        "app.py", call.lineno, *positions, kind="coroutine", function=coroutine, callee=callee, steps=steps,
        seconds=seconds, longest=seconds / steps, chains=(Chain(through, steps, seconds),) if through else (),
    )


def findings(source: str, sites: Sequence[ObservedSite], **view: object) -> list[Finding]:
    result = transform_source(source.encode(), project=ProjectView(observed=tuple(sites), **view), findings_only=True)
    assert result.error is None, result.error
    return result.findings


def costs(found: list[Finding]) -> dict[str, Cost | None]:
    return {finding.name: finding.cost for finding in found}


# -- a static finding at a site carries its cost -------------------------------------------


def test_a_catalog_call_at_a_site_carries_its_cost_in_its_message() -> None:
    source = module("""
        import time

        async def handler():
            time.sleep(0.1)
            time.sleep(0.2)
    """)
    site = site_at(source, "time.sleep(0.2)", seconds=2.3, steps=41, through=("time.sleep()",))
    first, second = findings(source, [site])
    assert first.cost is None and second.cost == site.cost
    # The chain does not repeat the call it is of.
    assert second.message.endswith("fix: await asyncio.sleep(...); stalled the event loop 2.3 s in 41 steps when recorded")
    # Compared without the cost: the same findings as without observations.
    assert [first, second] == findings(source, [])


def test_a_call_spread_over_lines_is_matched_by_its_end_when_its_start_moved() -> None:
    """Python 3.11+ gives a method call written ``obj.\\ method()`` the position of
    ``method()``: the call whose end is the site's, and whose span holds its start."""
    source = module("""
        import requests

        async def handler(url: str):
            return requests.\\
                get(url, timeout=5)
    """)
    whole = site_at(source, "requests.\\\n        get(url, timeout=5)")
    moved = ObservedSite("app.py", 5, 8, 5, 27, "coroutine", "handler", None, 2, 0.4, 0.3)
    assert costs(findings(source, [moved])) == {"requests.get": moved.cost}
    assert costs(findings(source, [whole])) == {"requests.get": whole.cost}
    # A span that starts outside the call is not the call's: the coroutine's own code.
    outside = ObservedSite("app.py", 4, 0, 5, 27, "coroutine", "handler", None, 2, 0.4, 0.3)
    assert costs(findings(source, [outside])) == {"requests.get": None, "handler": outside.cost}


def test_a_site_recorded_with_lines_only_is_narrowed_by_its_callee() -> None:
    source = module("""
        import os
        import shutil

        async def tidy(a: str, b: str):
            shutil.copy(a, b); os.remove(a)
    """)
    copying = site_at(source, "shutil.copy(a, b)", lines_only=True, callee="copy", seconds=0.9)
    removing = site_at(source, "os.remove(a)", lines_only=True, callee="remove", seconds=0.2)
    found = costs(findings(source, [copying, removing]))
    assert found == {"shutil.copy": copying.cost, "os.remove": removing.cost}
    # No callee (a C function): the line holds two calls, neither holds the other.
    unnamed = site_at(source, "os.remove(a)", lines_only=True)
    found = findings(source, [unnamed])
    assert costs(found) == {"shutil.copy": None, "os.remove": None, "tidy": unnamed.cost}
    assert [f.detail for f in found if f.code == "LS401"] == [AMBIGUOUS.format("shutil.copy(), os.remove()")]


def test_a_line_only_site_without_a_callee_goes_to_the_outermost_call() -> None:
    source = module("""
        import json

        async def load(path: str):
            return json.loads(open(path).read())
    """)
    site = site_at(source, "json.loads(open(path).read())", lines_only=True)
    # ``open(path).read()`` is a finding on the line, but json.loads holds it: the site is
    # json.loads's, which no static finding covers (LS401, its argument made on the loop).
    assert costs(findings(source, [site])) == {"file.read": None, "json.loads": site.cost}
    inner = site_at(source, "open(path).read()", lines_only=True, callee="read")
    assert costs(findings(source, [inner])) == {"file.read": inner.cost}


def test_sites_at_one_call_are_merged() -> None:
    source = module("""
        import time

        async def handler():
            time.sleep(1)
    """)
    one = site_at(source, "time.sleep(1)", seconds=1.0, steps=2, through=("time.sleep()",))
    two = site_at(source, "time.sleep(1)", lines_only=True, seconds=3.0, steps=5, through=("x()",))
    (finding,) = findings(source, [one, two])
    assert finding.cost == Cost(4.0, 7, max(one.longest, two.longest), ("x()",))


def test_the_first_call_of_a_chain_gives_its_cost_to_the_chain() -> None:
    source = module("""
        async def read(path: str):
            return open(path).read()
    """)
    site = site_at(source, "open(path)")
    (finding,) = findings(source, [site])
    assert (finding.name, finding.cost) == ("file.read", site.cost)


def test_what_stalls_in_a_block_that_moves_is_the_blocks_cost() -> None:
    source = module("""
        import hashlib

        async def digest(path: str):
            with open(path, "rb") as fh:
                data = fh.read()
                key = hashlib.pbkdf2_hmac("sha256", data, b"salt", 100_000)
            return key
    """)
    stall = site_at(source, 'hashlib.pbkdf2_hmac("sha256", data, b"salt", 100_000)', seconds=1.2)
    reading = site_at(source, "fh.read()", seconds=0.1)
    found = findings(source, [stall, reading])
    assert costs(found) == {"builtins.open": stall.cost, "file.read": reading.cost}


def test_a_function_handed_to_a_call_that_runs_it_gets_the_calls_cost() -> None:
    source = module("""
        import os

        async def newest(paths: list[str]):
            return max(paths, key=os.path.getmtime)
    """)
    site = site_at(source, "max(paths, key=os.path.getmtime)")
    assert costs(findings(source, [site])) == {"os.path.getmtime": site.cost}


def test_a_project_helper_at_a_site_carries_the_cost() -> None:
    source = module("""
        import time

        def pause():
            time.sleep(1)

        async def handler():
            pause()
    """)
    site = site_at(source, "pause()")
    assert costs(findings(source, [site])) == {"pause": site.cost}


def test_a_helper_decided_with_the_project_carries_the_cost_there() -> None:
    """A call of another module's function waits for the project's summaries
    (``codemods.project``): the pending call carries the cost to its finding."""
    source = module("""
        from app.store import save

        async def handler():
            save()
    """)
    site = site_at(source, "save()")
    view = ProjectView(ModuleName("app.handlers"), others={}, summarise=True, observed=(site,))
    result = transform_source(source.encode(), project=view, findings_only=True)
    assert result.findings == [] and [call.cost for call in result.pending] == [site.cost]
    assert [call.step for call in result.pending] == [("call", "app.store.save")]


def test_the_rewritten_file_is_analysed_without_the_observations() -> None:
    """What is left after a fix is listed at its line in the new file; the sites' positions
    are the old file's, so they are not looked at there."""
    source = module("""
        import subprocess
        import time

        async def handler(cmd: str):
            time.sleep(1)
            subprocess.Popen(cmd)
    """)
    site = site_at(source, "subprocess.Popen(cmd)")
    result = transform_source(source.encode(), project=ProjectView(observed=(site,)))
    assert [f.cost for f in result.findings] == [None, site.cost]
    assert result.left is not None and [(f.name, f.cost) for f in result.left] == [("subprocess.Popen", None)]


def test_summaries_do_not_depend_on_observations() -> None:
    source = module("""
        import time

        def pause():
            time.sleep(1)

        def compute(n):
            return sum(range(n))

        async def handler():
            pause()
            compute(10)
    """)
    sites = (site_at(source, "pause()"), site_at(source, "compute(10)"))
    view = ProjectView(ModuleName("app.handlers"), others={}, summarise=True)
    plain = transform_source(source.encode(), project=view, findings_only=True)
    observed = transform_source(
        source.encode(), project=ProjectView(ModuleName("app.handlers"), others={}, summarise=True, observed=sites),
        findings_only=True,
    )
    assert plain.summary is not None and observed.summary is not None
    name, keys, facts, *rest = plain.summary
    assert observed.summary[:2] == [name, keys] and observed.summary[3:] == rest
    assert {k: v for k, v in observed.summary[2].items() if k in facts} == facts


# -- the positions real interpreters give ------------------------------------------------

#: Runs a coroutine that calls ``probe`` in the ways positions differ between versions;
#: ``probe`` notes the innermost coroutine frame's position, as the recorder samples it.
PROBES = module('''
    import asyncio
    import json
    import sys


    def probe(*args):
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_flags & 0x80:  # CO_COROUTINE
            frame = frame.f_back
        if sys.version_info >= (3, 11):
            line, end, col, end_col = list(frame.f_code.co_positions())[frame.f_lasti // 2]
            SEEN.append([line, col, end, end_col])
        else:
            SEEN.append([frame.f_lineno, None, None, None])
        return probe


    def items():
        probe("items")
        yield 1


    class Waiting:
        def __await__(self):
            probe("await")
            return (yield from asyncio.sleep(0).__await__())


    class Holder:
        method = staticmethod(probe)


    class Entering:
        def __enter__(self):
            probe("enter")

        def __exit__(self, *exc):
            return False


    SEEN = []


    async def main():
        probe("plain")
        Holder.method(
            "spread")
        Holder.\\
            method("moved")
        found = [probe(n) for n in ["comprehension"]]
        for item in items():
            pass
        await Waiting()
        with Entering():
            pass
        return found


    asyncio.run(main())
    print(json.dumps(SEEN))
''')
#: What each probe's site must be matched to: a call (its source), or a reported stall.
EXPECTED = ["probe(\"plain\")", "Holder.method(\n        \"spread\")", "Holder.\\\n        method(\"moved\")"]


def _pythons() -> list[str]:
    found = sorted(Path("/root/.pyenv/versions").glob("3.*/bin/python"))
    versions = {p.parts[-3].rpartition(".")[0]: str(p) for p in found}
    wanted = [versions[v] for v in ("3.9", "3.10", "3.11", "3.12", "3.13") if v in versions]
    return wanted or [sys.executable]


def _place(positions: list[int | None]) -> tuple[str, str | None, bool, bool, bool]:
    line, col, end, end_col = positions
    site = ObservedSite("app.py", line or 0, col, end, end_col, "coroutine", "main", None, 1, 0.1, 0.1)
    (placed,) = ObservedSites(ast.parse(PROBES), [site], SourceText(PROBES)).placed
    shown = ast.get_source_segment(PROBES, placed.call) if placed.call is not None else ""
    return shown or "", placed.problem, placed.awaited, placed.iterated, placed.entered


@pytest.mark.parametrize("python", _pythons(), ids=lambda path: Path(path).parts[-3] if "pyenv" in path else "this")
def test_the_positions_an_interpreter_gives_are_matched(python: str, tmp_path: Path) -> None:
    done = subprocess.run([python, "-c", PROBES], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert len(seen) == 7
    placed = [_place(positions) for positions in seen]
    assert [p[0] for p in placed[:3]] == EXPECTED
    comprehension, loop, awaited, entered = placed[3:]
    if comprehension[1] is not None:  # 3.11: the comprehension runs as a function of its own
        assert comprehension[1] == COMPREHENSION.format('[probe(n) for n in ["comprehension"]]')
    else:
        assert comprehension[0] == "probe(n)"
    if loop[1] is not None:  # 3.11, 3.12: the ``for`` statement's position
        assert loop[1] == LOOP_ITEMS.format("items()")
    else:  # 3.13 (and lines only): the iterable's, a call whose items are made as it is iterated
        assert loop[0] == "items()" and loop[3]
    assert awaited[0] == "Waiting()" and awaited[2]
    # Entering a ``with`` block: its statement's position (3.11, 3.12) or its context
    # manager's call's (3.13): that call, which may have stalled or not.
    assert entered[0] == "Entering()" and entered[4] and entered[1] is None


# -- LS401: calls no static finding covers --------------------------------------------------


def test_an_offload_is_not_offloaded_again() -> None:
    """Recorded again after the fix, a site at ``await asyncio.to_thread(...)`` (its
    arguments are evaluated there) is no call to move: the work runs in a thread."""
    source = module("""
        import asyncio
        import zlib

        async def pack(blob: bytes) -> bytes:
            return await asyncio.to_thread(zlib.compress, blob)

        async def pack_too(blob: bytes) -> bytes:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, zlib.compress, blob)
    """)
    sites = [site_at(source, "asyncio.to_thread(zlib.compress, blob)"),
             site_at(source, "loop.run_in_executor(None, zlib.compress, blob)")]
    result = transform_source(source.encode(), project=ProjectView(observed=tuple(sites)))
    assert result.findings == [] and result.output == source.encode()


def test_what_is_exempt_or_found_statically_is_not_ls401() -> None:
    source = module("""
        import time
        import zlib

        def pause():
            time.sleep(1)

        async def handler(blob: bytes):
            zlib.compress(blob)  # noqa: LS401
            time.sleep(1)  # noqa: LS251
            pause()
            zlib.crc32(blob)
    """)
    sites = [site_at(source, text, nth) for text, nth in
             (("zlib.compress(blob)", 0), ("time.sleep(1)", 1), ("pause()", 0), ("zlib.crc32(blob)", 0))]
    assert [(f.code, f.name) for f in findings(source, sites)] == [("LS301", "pause"), ("LS401", "zlib.crc32")]
    from codemods.config import Settings

    result = transform_source(
        source.encode(), Settings(ignore=frozenset({"LS301"})), project=ProjectView(observed=tuple(sites)),
        findings_only=True,
    )
    # LS301 not wanted: the helper blocks statically all the same, it is not LS401.
    assert [(f.code, f.name) for f in result.findings] == [("LS401", "zlib.crc32")]
    result = transform_source(
        source.encode(), Settings(ignore=frozenset({"LS401"})), project=ProjectView(observed=tuple(sites)),
    )
    assert [(f.code, f.name, f.cost) for f in result.findings] == [("LS301", "pause", sites[2].cost)]
    assert b"zlib.crc32(blob)\n" in result.output


def test_a_method_of_a_module_imported_as_such_may_run_in_a_thread() -> None:
    source = module("""
        import app.codec
        from app import codec

        async def handle(blob: bytes):
            first = app.codec.pack(blob)
            second = codec.pack(blob)
            return first, second
    """)
    sites = [site_at(source, "app.codec.pack(blob)"), site_at(source, "codec.pack(blob)")]
    first, second = findings(source, sites)
    assert first.fixable and first.detail == "await asyncio.to_thread(app.codec.pack, ...)"
    # ``codec`` may be a module or an object of ``app``: another task's too.
    assert not second.fixable and "the object it is called on, `codec`, is a name imported" in second.detail


def test_a_call_in_a_lambda_is_not_the_coroutines() -> None:
    source = module("""
        import zlib

        async def handle(blob: bytes):
            later = lambda: zlib.compress(blob)
            return later
    """)
    (finding,) = findings(source, [site_at(source, "zlib.compress(blob)")])
    assert (finding.name, finding.fixable) == ("zlib.compress", False)
    assert finding.detail == NESTED.format("a lambda")


def test_a_callback_is_reported_in_a_module_without_coroutines() -> None:
    source = module("""
        def on_tick(counts):
            counts["ticks"] = sum(range(10**7))
    """)
    site = ObservedSite("app.py", 2, None, None, None, "callback", "on_tick", None, 3, 0.3, 0.1)
    (finding,) = findings(source, [site])
    assert (finding.line, finding.column, finding.code, finding.name) == (2, 5, "LS401", "on_tick")
    assert finding.detail == CALLBACK and finding.cost == site.cost


STORE = module("""
    def checksum(data: bytes) -> int:
        total = 0
        for byte in data:
            total = (total * 31 + byte) % 1_000_000_007
        return total

    CACHE = {}

    def remember(key: str) -> str:
        CACHE[key] = key * 1000
        return CACHE[key]
""")
HANDLERS = module("""
    import hashlib

    from app.store import checksum, remember

    async def handle(data: bytes, key: str):
        return checksum(data), remember(key), hashlib.sha512(data).digest(), hashlib.scrypt(data, salt=b"s", n=2, r=8, p=1)
""")


def test_another_modules_function_is_judged_with_the_project() -> None:
    """A first look waits for the project's summaries (``codemods.project``); decided there,
    the function that touches only its arguments runs in a thread, the other is reported
    (judged as LS301 judges a helper); a second look with the summaries fixes it."""
    from codemods.analysis.helpers import ModuleSummary, ProjectIndex, ProjectText
    from codemods.analysis.observed_sites import call_finding
    from codemods.config import Settings
    from codemods.engine import summarise_source

    sites = (site_at(HANDLERS, "checksum(data)"), site_at(HANDLERS, "remember(key)"),
             site_at(HANDLERS, "hashlib.sha512(data).digest()"),
             site_at(HANDLERS, 'hashlib.scrypt(data, salt=b"s", n=2, r=8, p=1)'))
    first = ProjectView(ModuleName("app.handlers"), others={}, summarise=True, observed=sites)
    looked = transform_source(HANDLERS.encode(), project=first, findings_only=True)
    # A method of a value is decided here; what ``hashlib`` is waits for the project (as
    # every call through an import does).
    assert [(f.name, f.fixable) for f in looked.findings] == [("hashlib.sha512(data).digest", False)]
    assert [call.step for call in looked.pending if call.observed is not None] == [
        ("call", "app.store.checksum"), ("call", "app.store.remember"), ("call", "hashlib.scrypt"),
    ]
    sources = {"app.store": STORE.encode(), "app.handlers": HANDLERS.encode()}
    summaries: dict[str, ModuleSummary] = {
        name: summarise_source(text, Settings(), name, False) for name, text in sources.items()
    }
    index = ProjectIndex(summaries.get, ProjectText({name: (lambda t=text: t) for name, text in sources.items()}))
    decided = [call_finding(call, index, "app.handlers") for call in looked.pending]
    assert [(f.code, f.name, f.fixable, f.cost) for f in decided if f is not None] == [
        ("LS401", "checksum", True, sites[0].cost), ("LS401", "remember", False, sites[1].cost),
        ("LS401", "hashlib.scrypt", True, sites[3].cost),
    ]
    assert decided[1] is not None and "remember(): it changes the module variable `CACHE`" in decided[1].detail
    again = ProjectView(ModuleName("app.handlers"), others={"app.store": summaries["app.store"]}, complete=True,
                        scanned=dict(index.scanned), observed=sites)
    fixed = transform_source(HANDLERS.encode(), project=again)
    assert [(f.name, f.fixable) for f in fixed.findings] == [
        ("checksum", True), ("remember", False), ("hashlib.sha512(data).digest", False), ("hashlib.scrypt", True),
    ]
    assert b"return await asyncio.to_thread(checksum, data), remember(key), hashlib.sha512(data).digest(), " \
           b"await asyncio.to_thread(hashlib.scrypt, data" in fixed.output


def test_what_a_call_hands_or_reaches_is_judged_too() -> None:
    """A function or class of the module handed to a library call runs in the thread with
    it; a context variable set in a thread stays in the thread's copy of the context; an
    attribute of a function is the function's code; and what the recording saw the call
    run (its chain) may belong to the loop's thread."""
    source = module("""
        import contextvars
        import functools
        import sdk

        REQUEST = contextvars.ContextVar("request")
        SEEN = {}

        def rank(row: str) -> int:
            return SEEN.setdefault(row, len(SEEN))

        @functools.lru_cache
        def render(name: str) -> str:
            return name * 1000

        async def handle(rows: tuple[str, ...], name: str):
            ordered = sorted(rows, key=rank)
            REQUEST.set(name)
            render.cache_clear()
            legacy = sdk.fetch_all(name)
            plain = sorted(rows)
            return ordered, legacy, plain
    """)
    sites = [site_at(source, "sorted(rows, key=rank)"), site_at(source, "REQUEST.set(name)"),
             site_at(source, "render.cache_clear()"),
             site_at(source, "sdk.fetch_all(name)",
                     through=("sdk.fetch_all()", "asyncio.base_events.BaseEventLoop.run_until_complete()")),
             site_at(source, "sorted(rows)")]
    ordered, *others = findings(source, sites)
    found = {f.name: f for f in others}
    assert "its argument `rank` hands it `rank`, a function of the module" in ordered.detail
    assert "`REQUEST`, is a context variable" in found["REQUEST.set"].detail
    assert "an attribute of a function of the module" in found["render.cache_clear"].detail
    assert "the recording saw it run asyncio.base_events.BaseEventLoop.run_until_complete()" in found["sdk.fetch_all"].detail
    assert [f.name for f in [ordered, *others] if f.fixable] == ["sorted"] and found["sorted"].line == 20


def _everywhere(tree: ast.Module) -> tuple[ObservedSite, ...]:
    """A site at every call and statement of every coroutine, with positions and by line."""
    sites: list[ObservedSite] = []
    for coroutine in ast.walk(tree):
        if not isinstance(coroutine, ast.AsyncFunctionDef):
            continue
        for node in ast.walk(coroutine):
            if isinstance(node, (ast.Call, ast.stmt)):
                sites.append(ObservedSite("app.py", node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                                          "coroutine", coroutine.name, None, 1, 0.1, 0.1))
            if isinstance(node, ast.Call):
                sites.append(ObservedSite("app.py", node.lineno, None, None, None, "coroutine", coroutine.name,
                                          _called(node), 1, 0.1, 0.1))
    return tuple(sites)


def _called(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


SAMPLED = [case for number, case in enumerate(discover()) if number % 40 == 0]


@pytest.mark.parametrize("case", SAMPLED, ids=[case.name for case in SAMPLED])
def test_sites_everywhere_give_a_fix_that_compiles_and_stays(case: FixtureCase) -> None:
    """Every call and statement of every coroutine of a fixture recorded as a stall: the
    fix compiles, ``check`` agrees with it, and fixing its output again (the observations
    stale) changes nothing: what an offload leaves is judged as what it replaced."""
    source, settings = case.input.read_bytes(), case.settings()
    project = ProjectView(observed=_everywhere(ast.parse(source)))
    fixed = transform_source(source, settings, project=project)
    assert fixed.error is None, fixed.error
    compile(fixed.output, str(case.input), "exec", dont_inherit=True)
    assert transform_source(source, settings, project=project, findings_only=True).findings == fixed.findings
    again = transform_source(fixed.output, settings)
    assert again.error is None and again.output == fixed.output


def test_a_site_not_in_a_call_is_the_coroutines_own_code() -> None:
    """``in_call`` false: the time went in the coroutine's own bytecode at that place (an
    operator, a loop, an import), not in a call on the line: no call is offloaded for it."""
    source = module("""
        import zlib

        async def handle(blob: bytes, n: int):
            size = len(zlib.compress(blob)) * sum(range(n)) ** 50
            return size
    """)
    inside = site_at(source, "len(zlib.compress(blob))", lines_only=True)
    own = ObservedSite("app.py", inside.line, None, None, None, "coroutine", "handle", None, 2, 0.2, 0.1, in_call=False)
    (finding,) = findings(source, [own])
    assert (finding.name, finding.fixable, finding.detail, finding.column) == ("handle", False, OWN_CODE, 5)

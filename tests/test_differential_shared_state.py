r"""Direct rewrites and the state other tasks share across the await they add.

Each test runs three versions of a small program (``tests/differential.py``) with
concurrent tasks: the original; a naive rewrite written by hand (the await added where
a careless codemod would add it), which must behave differently (a lost update,
``dictionary changed size during iteration``, a global rebound by another task read
late, a context variable read as its default); and loopsafe's output, which must behave
like the original, whether loopsafe fixed the call or only reported it.
"""

from __future__ import annotations

from pathlib import Path

from codemods.config import Settings
from tests.differential import assert_same_behaviour, observe, rewrite
from tests.test_differential import program


def _differs(naive: str, original: str, tmp_path: Path) -> str:
    """Run both; the naive rewrite must behave differently. Returns its result."""
    before = observe(original, tmp_path / "original-for-naive")
    after = observe(naive, tmp_path / "naive")
    assert before != after, f"the naive rewrite behaves like the original: {after}"
    return after.result or str(after.error)


# -- a with block reading a module-level ContextVar --------------------------------------

_CONTEXT = program(
    r'''
    import contextvars

    REQUEST_ID = contextvars.ContextVar("request_id", default="-")


    async def log_line(tmp, name, text):
        with open(os.path.join(tmp, name + ".log"), "a") as log:
            log.write(f"{REQUEST_ID.get()} {text}\n")


    async def handle(tmp, name):
        REQUEST_ID.set(name)
        for i in range(3):
            await log_line(tmp, name, f"line {i}")
            await asyncio.sleep(0)


    async def main(tmp):
        await asyncio.gather(*(handle(tmp, f"req-{n}") for n in range(4)))
    '''
)


def test_block_reading_a_context_variable_moves(tmp_path: Path) -> None:
    """``REQUEST_ID.get()`` in a moved block reads the task's value: ``to_thread`` and the
    3.8 strategy run the helper in a copy of the task's context. A bare
    ``run_in_executor`` (no copy) would write the default."""
    naive = _CONTEXT.replace(
        '    with open(os.path.join(tmp, name + ".log"), "a") as log:\n'
        '        log.write(f"{REQUEST_ID.get()} {text}\\n")\n',
        "    def _blocking_io(tmp, name, text):\n"
        '        with open(os.path.join(tmp, name + ".log"), "a") as log:\n'
        '            log.write(f"{REQUEST_ID.get()} {text}\\n")\n'
        "    await asyncio.get_running_loop().run_in_executor(None, _blocking_io, tmp, name, text)\n",
    )
    assert naive != _CONTEXT
    _differs(naive, _CONTEXT, tmp_path)
    assert observe(naive, tmp_path / "naive-files").files["req-1.log"] == b"- line 0\n- line 1\n- line 2\n"
    for settings in (None, Settings(target_version=(3, 8))):
        rewritten, findings = assert_same_behaviour(_CONTEXT, tmp_path / str(settings is None), settings=settings)
        assert "def _blocking_io(" in rewritten, rewritten
        assert all(finding.fixable for finding in findings), findings
        if settings is not None:
            assert "copy_context().run, _blocking_io" in rewritten, rewritten
    files = observe(_CONTEXT, tmp_path / "files").files
    assert files["req-1.log"] == b"req-1 line 0\nreq-1 line 1\nreq-1 line 2\n"


# -- loops over lazy views of shared containers ------------------------------------------

_LAZY_LOOP = program(
    r'''
    SESSIONS = {f"s{i}": f"s{i}.txt" for i in range(5)}


    async def sweep(tmp, log):
        for i, (sid, name) in enumerate(SESSIONS.items()):
            log.append((i, sid, os.path.getsize(os.path.join(tmp, name))))


    async def sizes(tmp):
        return [os.path.getsize(os.path.join(tmp, name)) for name in map(str, SESSIONS.values())]


    async def joiner():
        await asyncio.sleep(0)
        SESSIONS["late"] = "late.txt"


    async def main(tmp):
        await asyncio.to_thread(seed, tmp, {f"s{i}.txt": "x" * i for i in range(5)} | {"late.txt": ""})
        log = []
        try:
            await asyncio.gather(sweep(tmp, log), joiner())
            found, _ = await asyncio.gather(sizes(tmp), joiner())
        except RuntimeError as error:
            log.append(str(error))
            found = None
        return log, found
    '''
)


def test_loops_over_lazy_views_of_a_shared_dict_are_reported(tmp_path: Path) -> None:
    """``enumerate(SESSIONS.items())`` and ``map(str, SESSIONS.values())`` read the dict as
    the loop goes: an await in the body (or the comprehension's element) lets the joiner add
    a key, and the next step raises ``dictionary changed size during iteration``. loopsafe
    reports both calls and leaves the program as it was."""
    naive = _LAZY_LOOP.replace(
        "os.path.getsize(os.path.join(tmp, name))))",
        "await asyncio.to_thread(os.path.getsize, os.path.join(tmp, name))))",
    ).replace(
        "[os.path.getsize(os.path.join(tmp, name)) for",
        "[await asyncio.to_thread(os.path.getsize, os.path.join(tmp, name)) for",
    )
    assert naive.count("await asyncio.to_thread(os.path.getsize") == 2
    assert "dictionary changed size during iteration" in _differs(naive, _LAZY_LOOP, tmp_path)
    rewritten, findings = assert_same_behaviour(_LAZY_LOOP, tmp_path)
    reported = [f for f in findings if f.name == "os.path.getsize"]
    assert len(reported) == 2 and all(
        not f.fixable and "inside a loop over `SESSIONS`" in f.detail for f in reported
    ), reported
    assert "os.path.getsize(os.path.join(tmp, name))))" in rewritten
    copy = _LAZY_LOOP.replace("enumerate(SESSIONS.items())", "enumerate(list(SESSIONS.items()))")
    fixed, findings = assert_same_behaviour(copy, tmp_path / "copy")
    line = next(n for n, text in enumerate(copy.splitlines(), 1) if "log.append((i, sid" in text)
    assert [f.fixable for f in findings if f.line == line] == [True], findings
    assert "await asyncio.to_thread(os.path.getsize" in fixed


# -- read-modify-write of a shared target across the added await --------------------------

_READ_MODIFY_WRITE = program(
    r'''
    class Stats:
        def __init__(self):
            self.total = 0
            self.files = 0
            self.twice = 0


    TOTAL = 0
    COUNTS = {}


    async def add(stats, tmp, key):
        global TOTAL
        path = os.path.join(tmp, "a.txt")
        stats.total = stats.total + os.path.getsize(path)
        COUNTS[key] = COUNTS.get(key, 0) + os.path.getsize(path)
        TOTAL = TOTAL + os.path.getsize(path)
        stats.files += len(os.listdir(tmp))
        stats.twice = stats.twice + os.path.getsize(path) + os.path.getsize(path)


    async def main(tmp):
        await asyncio.to_thread(seed, tmp, {"a.txt": "x" * 100, "b.txt": ""})
        stats = Stats()
        await asyncio.gather(*(add(stats, tmp, "a") for _ in range(5)))
        return stats.total, COUNTS, TOTAL, stats.files, stats.twice
    '''
)


def test_read_modify_write_of_a_shared_target_is_hoisted_or_reported(tmp_path: Path) -> None:
    """``x = x + f()`` reads x before the await the fix adds and writes it after: five
    concurrent adds of 100 give 100 instead of 500 when the await is added in place (as
    ``self.files += len(await ...)`` did). loopsafe evaluates the call first, then reads
    and writes the target with no await between (attribute, ``d.get(k, 0)`` and global
    forms, ``+=`` with a call around the blocking one), and reports the call when the
    value reads the target before more than one part (``x = x + f() + g()``)."""
    naive = _READ_MODIFY_WRITE
    for call in ("os.path.getsize(path)", "os.listdir(tmp)"):
        function, argument = call[:-1].split("(")
        naive = naive.replace(call, f"await asyncio.to_thread({function}, {argument})")
    # Updates are lost in each statement (how many depends on when the threads finish).
    assert _differs(naive, _READ_MODIFY_WRITE, tmp_path).startswith("(100, ")
    assert observe(_READ_MODIFY_WRITE, tmp_path / "original").result == "(500, {'a': 500}, 500, 10, 1000)"
    rewritten, findings = assert_same_behaviour(_READ_MODIFY_WRITE, tmp_path)
    for hoisted in (
        "_result = await asyncio.to_thread(os.path.getsize, path)\n    stats.total = stats.total + _result\n",
        "_result_2 = await asyncio.to_thread(os.path.getsize, path)\n    COUNTS[key] = COUNTS.get(key, 0) + _result_2\n",
        "_result_3 = await asyncio.to_thread(os.path.getsize, path)\n    TOTAL = TOTAL + _result_3\n",
        "_result_4 = len(await asyncio.to_thread(os.listdir, tmp))\n    stats.files += _result_4\n",
        "stats.twice = stats.twice + os.path.getsize(path) + os.path.getsize(path)\n",
    ):
        assert hoisted in rewritten, rewritten
    reported = [f for f in findings if not f.fixable]
    assert len(reported) == 2 and all("after it reads `stats.twice`" in f.detail for f in reported), findings


# -- chains run by a lambda: arguments bound when the lambda is made ----------------------

_CHAIN = program(
    r'''
    import threading
    from concurrent.futures import ThreadPoolExecutor

    CURRENT = None


    class Reader:
        def __init__(self, path):
            self.path = path

        async def read(self):
            return open(self.path).read()


    async def read_current():
        return open(CURRENT).read()


    async def switch(tmp, reader, gate):
        global CURRENT
        await asyncio.sleep(0)
        CURRENT = os.path.join(tmp, "b.txt")
        reader.path = os.path.join(tmp, "b.txt")
        gate.set()


    async def main(tmp):
        global CURRENT
        await asyncio.to_thread(seed, tmp, {"a.txt": "alpha", "b.txt": "beta"})
        CURRENT = os.path.join(tmp, "a.txt")
        reader = Reader(os.path.join(tmp, "a.txt"))
        # One worker, busy until the switch: a thread reads what it reads after it.
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
        gate = threading.Event()
        busy = loop.run_in_executor(None, gate.wait)
        found = await asyncio.gather(read_current(), reader.read(), switch(tmp, reader, gate))
        await busy
        return found
    '''
)


def test_chain_arguments_are_bound_when_the_lambda_is_made(tmp_path: Path) -> None:
    """``open(CURRENT).read()`` and ``open(self.path).read()`` read the path at once; in
    ``lambda: open(CURRENT).read()`` the thread reads it when it runs, after another task
    rebound the global and changed the attribute: it opens the other file. loopsafe binds
    them as the lambda is made (``lambda current=CURRENT: ...``), as the original
    evaluates them, before the thread starts."""
    naive = _CHAIN.replace(
        "return open(self.path).read()", "return await asyncio.to_thread(lambda: open(self.path).read())"
    ).replace("return open(CURRENT).read()", "return await asyncio.to_thread(lambda: open(CURRENT).read())")
    assert _differs(naive, _CHAIN, tmp_path) == "['beta', 'beta', None]"
    assert observe(_CHAIN, tmp_path / "original").result == "['alpha', 'alpha', None]"
    rewritten, findings = assert_same_behaviour(_CHAIN, tmp_path)
    assert "await asyncio.to_thread(lambda path=self.path: open(path).read())" in rewritten, rewritten
    assert "await asyncio.to_thread(lambda current=CURRENT: open(current).read())" in rewritten, rewritten
    assert all(f.fixable for f in findings), findings


def test_a_second_run_sees_the_bound_lambda_as_the_earlier_fix() -> None:
    """After the fix, a block kept on the loop holds ``await asyncio.to_thread(lambda
    path=cfg["path"]: open(path).read())``; judged again, it is the chain it replaced
    (``codemods.analysis.prior_fixes``), so the block keeps its reason and nothing changes."""
    source = (
        "async def load(path):\n"
        '    cfg = {"path": path}\n'
        "    with open(path) as f:\n"
        '        text = open(cfg["path"]).read()\n'
        "        if not text:\n"
        "            return None\n"
        "        return text + f.read()\n"
    )
    fixed, first = rewrite(source)
    assert 'await asyncio.to_thread(lambda path=cfg["path"]: open(path).read())' in fixed, fixed
    again, second = rewrite(fixed)
    assert again == fixed
    reasons = [[f.detail for f in findings if not f.fixable] for findings in (first, second)]
    assert reasons[0] == reasons[1] == ["the with block cannot move to a thread: it contains a return"], reasons

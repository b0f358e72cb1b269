r"""What a worker thread is handed, at run time (``codemods.analysis.confinement``).

Each case is a small program (``async def main(tmp)``, run by ``tests/differential.py``)
that hands a value to a function of its own module which blocks (an LS301 call), or to
a moved ``with open(...)`` block, while another task runs. Every case comes with the
*naive* offload written out by hand: the call (or block) run with ``asyncio.to_thread``
whatever it is handed.

- UNSAFE cases hand over something other tasks can touch, or that is bound to a thread
  or the loop: the naive offload behaves differently from the original (an exception
  the original does not raise, or a lost result), and loopsafe reports the call with the
  reason, leaving the program as it was;
- SAFE cases hand over immutable values or objects the coroutine owns: loopsafe
  offloads the call, and the rewrite behaves like the original.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.differential import assert_same_behaviour, describe, observe, rewrite

PRELUDE = r'''
import asyncio
import os
import sqlite3
import time

#: Shared by the tasks: the registry other tasks add to while a call runs.
REGISTRY = {f"k{i}": i for i in range(20)}


def write_keys(keys, path):
    """Iterates what it is given slowly, in whatever thread runs it."""
    with open(path, "w") as fh:
        for key in keys:
            time.sleep(0.002)
            fh.write(f"{key}\n")


async def add_keys():
    for i in range(40):
        REGISTRY[f"new{i}"] = i
        await asyncio.sleep(0.001)
'''


def program(body: str) -> str:
    return textwrap.dedent(PRELUDE).lstrip() + "\n\n" + textwrap.dedent(body).lstrip()


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    #: The call as written (it must occur once), and as a naive offload writes it.
    call: str
    offloaded: str
    #: Safe: loopsafe offloads the call; else: loopsafe reports it with ``reason`` in its message.
    safe: bool
    reason: str = ""

    @property
    def naive(self) -> str:
        assert self.source.count(self.call) == 1, self.name
        return self.source.replace(self.call, self.offloaded)


CASES = [
    Case(
        "module_dict_iterated_in_the_thread",
        program('''
            async def main(tmp):
                adder = asyncio.create_task(add_keys())
                await asyncio.sleep(0)
                write_keys(REGISTRY, os.path.join(tmp, "keys.txt"))
                await adder
                return len(REGISTRY)
        '''),
        'write_keys(REGISTRY, os.path.join(tmp, "keys.txt"))',
        'await asyncio.to_thread(write_keys, REGISTRY, os.path.join(tmp, "keys.txt"))',
        safe=False, reason="its argument `REGISTRY` is a module-level variable other tasks can change",
    ),
    Case(
        "generator_over_a_shared_dict",
        program('''
            async def main(tmp):
                adder = asyncio.create_task(add_keys())
                await asyncio.sleep(0)
                write_keys((key.upper() for key in REGISTRY), os.path.join(tmp, "keys.txt"))
                await adder
                return len(REGISTRY)
        '''),
        'write_keys((key.upper() for key in REGISTRY), os.path.join(tmp, "keys.txt"))',
        'await asyncio.to_thread(write_keys, (key.upper() for key in REGISTRY), os.path.join(tmp, "keys.txt"))',
        safe=False, reason="is a generator expression",
    ),
    Case(
        "attribute_held_by_a_local",
        program('''
            class Store:
                def __init__(self):
                    self.entries = REGISTRY

                async def save(self, path):
                    entries = self.entries
                    write_keys(entries, path)


            async def main(tmp):
                adder = asyncio.create_task(add_keys())
                await asyncio.sleep(0)
                await Store().save(os.path.join(tmp, "keys.txt"))
                await adder
                return len(REGISTRY)
        '''),
        "write_keys(entries, path)",
        "await asyncio.to_thread(write_keys, entries, path)",
        safe=False, reason="its argument `entries` holds `self.entries`, an attribute other tasks can change",
    ),
    Case(
        "future_resolved_in_the_thread",
        program('''
            def finish(future, path):
                with open(path, "w") as fh:
                    fh.write("done")
                future.set_result("ok")


            async def main(tmp):
                loop = asyncio.get_running_loop()
                loop.set_debug(True)  # call_soon from another thread raises, instead of corrupting silently
                future = loop.create_future()
                listener = asyncio.create_task(asyncio.wait_for(future, 1))  # a callback on the future
                await asyncio.sleep(0)
                finish(future, os.path.join(tmp, "done.txt"))
                return await listener
        '''),
        'finish(future, os.path.join(tmp, "done.txt"))',
        'await asyncio.to_thread(finish, future, os.path.join(tmp, "done.txt"))',
        safe=False, reason="it calls `future.set_result()`",
    ),
    Case(
        "sqlite_connection_dumped_in_the_thread",
        program('''
            def dump(connection, path):
                with open(path, "w") as fh:
                    for line in connection.iterdump():
                        fh.write(line + "\\n")


            async def main(tmp):
                connection = sqlite3.connect(":memory:")
                connection.execute("create table t (x)")
                connection.execute("insert into t values (1)")
                dump(connection, os.path.join(tmp, "dump.sql"))
                return connection.total_changes
        '''),
        'dump(connection, os.path.join(tmp, "dump.sql"))',
        'await asyncio.to_thread(dump, connection, os.path.join(tmp, "dump.sql"))',
        safe=False, reason="it calls `connection.iterdump()`",
    ),
    Case(
        "block_reading_a_local_bound_to_module_state",
        program('''
            async def main(tmp):
                adder = asyncio.create_task(add_keys())
                await asyncio.sleep(0)
                keys = REGISTRY
                with open(os.path.join(tmp, "keys.txt"), "w") as fh:
                    for key in keys:
                        time.sleep(0.002)
                        fh.write(key)
                await adder
                return len(REGISTRY)
        '''),
        'with open(os.path.join(tmp, "keys.txt"), "w") as fh:\n'
        '        for key in keys:\n'
        '            time.sleep(0.002)\n'
        '            fh.write(key)\n',
        'def _blocking_io(keys):\n'
        '        with open(os.path.join(tmp, "keys.txt"), "w") as fh:\n'
        '            for key in keys:\n'
        '                time.sleep(0.002)\n'
        '                fh.write(key)\n'
        '    await asyncio.to_thread(_blocking_io, keys)\n',
        safe=False, reason="it reads `keys`, which holds `REGISTRY`, a module-level variable",
    ),
    # -- safe: immutable values and objects the coroutine owns are still offloaded ------------
    Case(
        "snapshot_made_on_the_loop",
        program('''
            async def main(tmp):
                adder = asyncio.create_task(add_keys())
                await asyncio.sleep(0)
                write_keys(sorted(str(key) for key in REGISTRY), os.path.join(tmp, "keys.txt"))
                await adder
                return len(REGISTRY)
        '''),
        'write_keys(sorted(str(key) for key in REGISTRY), os.path.join(tmp, "keys.txt"))',
        'await asyncio.to_thread(write_keys, sorted(str(key) for key in REGISTRY), os.path.join(tmp, "keys.txt"))',
        safe=True,
    ),
    Case(
        "owned_list_and_constant_path",
        program('''
            NAME = "keys.txt"


            async def main(tmp):
                adder = asyncio.create_task(add_keys())
                rows = [f"row{i}" for i in range(10)]
                rows.append("last")
                write_keys(rows, os.path.join(tmp, NAME))
                await adder
                return len(REGISTRY)
        '''),
        "write_keys(rows, os.path.join(tmp, NAME))",
        "await asyncio.to_thread(write_keys, rows, os.path.join(tmp, NAME))",
        safe=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_naive_offload_changes_behaviour_of_unsafe_cases(case: Case, tmp_path: Path) -> None:
    if case.safe:
        pytest.skip("a safe case: the offload is loopsafe's own (test_rewrite_keeps_behaviour)")
    before = observe(case.source, tmp_path / "original")
    after = observe(case.naive, tmp_path / "naive")
    assert before.error is None, describe(before)
    assert before != after, f"the naive offload should change what the program does\n{describe(after)}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_rewrite_keeps_behaviour(case: Case, tmp_path: Path) -> None:
    rewritten, findings = assert_same_behaviour(case.source, tmp_path)
    first_line = case.call.splitlines()[0]
    if case.safe:
        assert first_line not in rewritten and case.offloaded.splitlines()[0] in rewritten, rewritten
    else:
        assert first_line in rewritten, rewritten
        line = next(i for i, text in enumerate(textwrap.dedent(case.source).splitlines(), 1) if first_line in text)
        [finding] = [f for f in findings if f.line == line]
        assert not finding.fixable and case.reason in finding.detail, finding


def test_the_naive_offload_of_a_safe_case_is_what_loopsafe_writes() -> None:
    """The safe cases' hand-written offload is loopsafe's output (so the check above is real)."""
    for case in CASES:
        if case.safe:
            rewritten, _ = rewrite(case.source)
            assert case.offloaded in rewritten, case.name

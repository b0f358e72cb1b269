"""A DB-API driver at run time: the coroutine's own connection is offloaded and the loop
runs other tasks during each call, with the same results; a connection other tasks share
is reported, not rewritten, because the driver's ``threadsafety`` (1) forbids two threads
in one connection at once, which the naive offload does.

The driver is a stand-in named ``pymysql`` (so loopsafe's catalog applies to it), put in
``sys.modules`` for the run: sqlite3 behind DB-API names, made with
``check_same_thread=False``, each call taking ``DELAY`` seconds, and a guard that raises
as soon as two threads are inside one connection (what ``threadsafety = 1`` promises
not to survive; a real pymysql connection corrupts its protocol state instead).
"""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path

import pytest

from tests.differential import describe, observe, rewrite

DRIVER = '''
import sqlite3
import threading
import time

threadsafety = 1
DELAY = 0.03


class ProgrammingError(Exception):
    pass


class Connection:
    def __init__(self, database):
        self._db = sqlite3.connect(database, check_same_thread=False)
        self._inside = threading.Lock()

    def _enter(self):
        if not self._inside.acquire(blocking=False):
            raise ProgrammingError("two threads used one connection at once")
        time.sleep(DELAY)  # the round trip to the server

    def cursor(self):
        return Cursor(self)

    def commit(self):
        self._enter()
        try:
            self._db.commit()
        finally:
            self._inside.release()


class Cursor:
    def __init__(self, connection):
        self._connection = connection
        self._cursor = connection._db.cursor()

    def execute(self, operation, parameters=()):
        self._connection._enter()
        try:
            self._cursor.execute(operation, parameters)
        finally:
            self._connection._inside.release()

    def executemany(self, operation, seq_of_parameters):
        self._connection._enter()
        try:
            self._cursor.executemany(operation, seq_of_parameters)
        finally:
            self._connection._inside.release()

    def fetchall(self):
        return self._cursor.fetchall()


def connect(database):
    return Connection(database)
'''

#: The coroutine's own connection: every call is offloaded; ``ticks`` counts what the
#: loop ran during the query.
OWN_CONNECTION = '''
import asyncio
import os

import pymysql

TICKS = []


async def tick():
    while True:
        TICKS.append(None)
        await asyncio.sleep(0.002)


async def main(tmp):
    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    conn = pymysql.connect(os.path.join(tmp, "sales.db"))
    cur = conn.cursor()
    cur.execute("create table sales (day text, total integer)")
    cur.executemany("insert into sales values (?, ?)", [("mon", 3), ("tue", 4), ("mon", 5)])
    conn.commit()
    before = len(TICKS)
    cur.execute("select day, sum(total) from sales group by day order by day")
    during = len(TICKS) - before
    rows = cur.fetchall()
    ticker.cancel()
    return rows, during
'''

#: One connection shared by two tasks (a module global): reported.
SHARED_CONNECTION = '''
import asyncio

import pymysql

CONN = pymysql.connect(":memory:")


async def record(day: str, total: int) -> None:
    cur = CONN.cursor()
    cur.execute("insert into sales values (?, ?)", (day, total))


async def main(tmp):
    setup = CONN.cursor()
    setup.execute("create table sales (day text, total integer)")
    await asyncio.gather(record("mon", 3), record("tue", 4))
    rows = CONN.cursor()
    rows.execute("select count(*) from sales")
    return rows.fetchall()
'''


@pytest.fixture(autouse=True)
def stand_in_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("pymysql")
    exec(compile(DRIVER, "<pymysql stand-in>", "exec"), module.__dict__)  # noqa: S102 - the stand-in driver
    monkeypatch.setitem(sys.modules, "pymysql", module)


def test_own_connection_is_offloaded_and_the_loop_runs_during_each_call(tmp_path: Path) -> None:
    rewritten, findings = rewrite(OWN_CONNECTION)
    assert findings and all(f.fixable for f in findings), findings
    assert "await asyncio.to_thread(cur.execute," in rewritten and "await asyncio.to_thread(conn.commit)" in rewritten
    before = observe(OWN_CONNECTION, tmp_path / "original")
    after = observe(rewritten, tmp_path / "rewritten")
    assert before.error is None and after.error is None, describe(after)
    rows_before, during_before = eval(before.result)  # noqa: S307 - repr of a tuple of rows and an int
    rows_after, during_after = eval(after.result)  # noqa: S307
    assert rows_before == rows_after == [("mon", 8), ("tue", 4)]
    assert during_before == 0  # the query froze the loop
    assert during_after > 0, describe(after)  # the ticker ran while the query did


def test_shared_connection_is_reported_not_rewritten(tmp_path: Path) -> None:
    rewritten, findings = rewrite(SHARED_CONNECTION)
    lines = textwrap.dedent(SHARED_CONNECTION).splitlines()
    record = next(n for n, text in enumerate(lines, 1) if "cur.execute(" in text)
    [finding] = [f for f in findings if f.line == record]
    assert not finding.fixable
    assert "`cur`, holds `CONN`, a module-level variable" in finding.detail
    assert "pymysql.threadsafety is 1" in finding.detail
    assert '    cur.execute("insert into sales values (?, ?)", (day, total))' in rewritten
    # What the report prevents: the naive offload lets two threads into the connection.
    naive = SHARED_CONNECTION.replace(
        'cur.execute("insert into sales values (?, ?)", (day, total))',
        'await asyncio.to_thread(cur.execute, "insert into sales values (?, ?)", (day, total))',
    )
    original = observe(SHARED_CONNECTION, tmp_path / "original")
    offloaded = observe(naive, tmp_path / "naive")
    assert original.error is None and original.result == "[(2,)]", describe(original)
    assert offloaded.error == "ProgrammingError: two threads used one connection at once", describe(offloaded)
    assert observe(rewritten, tmp_path / "rewritten") == original

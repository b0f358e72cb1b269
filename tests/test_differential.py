r"""Differential cases for moving ``with open(...)`` blocks off the event loop.

Each case is a small, realistic program (``async def main(tmp)``, see
``tests/differential.py``) holding a ``with open(...)`` block inside a coroutine,
often with other tasks running concurrently. Every case comes with the *naive* move
written out by hand: what a careless codemod produces, i.e. the block moved into
``def _blocking_io(...)`` run by ``await asyncio.to_thread(...)``, where the parameters
are the names the block binds that are also bound elsewhere in the coroutine, and the
results are the names the block binds that are used anywhere else.

Four checks per case:

* ``test_naive_move_changes_behaviour``: the naive move really behaves differently (or,
  for the few hazards a plain function cannot even express, does not compile). This
  proves the case detects its hazard.
* ``test_rewrite_keeps_behaviour``: loopsafe's rewrite behaves exactly like the original.
* ``test_move_case_is_moved`` (MOVE cases): the data flow is safe, so loopsafe must move
  the block (a ``_blocking_io`` helper, no ``with`` left in the coroutine) and the rewrite
  must no longer block the loop (blockbuster).
* ``test_report_case_is_reported`` (REPORT cases): loopsafe must leave the ``with`` line
  (marked ``# hazard``) as it is and report it as not fixable.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from codemods.catalog import user_entry
from codemods.config import Settings
from tests.differential import (
    HANG,
    PROGRAM_FILENAME,
    assert_same_behaviour,
    coroutine_blocks,
    describe,
    observe,
    rewrite,
)

#: Marks the ``with`` line a REPORT case is about.
MARKER = "# hazard"

#: Shared by every program: input files are written by a plain function run in a
#: thread, so setting up does not itself block the loop (blockbuster stays quiet).
PRELUDE = r'''
import asyncio
import os


def seed(tmp, files):
    """Write the program's input files (run with asyncio.to_thread)."""
    for name, text in files.items():
        with open(os.path.join(tmp, name), "w") as out:
            out.write(text)
'''


def program(body: str) -> str:
    """A complete program: the prelude, then ``body``."""
    return textwrap.dedent(PRELUDE).lstrip() + "\n\n" + textwrap.dedent(body).lstrip()


@dataclass(frozen=True)
class Case:
    name: str
    #: What goes wrong when the block is moved naively.
    hazard: str
    source: str
    #: The naive move of ``source``, written by hand.
    naive: str
    #: True: loopsafe must move the block; False: it must report it.
    move: bool
    #: The code of the finding expected on the ``with`` line of a REPORT case.
    code: str = "LS230"
    timeout: float = 3.0
    #: False where a plain function cannot hold the block (await, break, ...).
    naive_compiles: bool = True
    #: Text the rewrite must contain: other blocking calls in the file are still fixed.
    also_fixed: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", program(self.source))
        object.__setattr__(self, "naive", program(self.naive))

    @property
    def hazard_line(self) -> int:
        """The 1-based line of the ``with`` marked ``# hazard``."""
        lines = [n for n, text in enumerate(self.source.splitlines(), 1) if MARKER in text]
        assert len(lines) == 1, f"{self.name}: exactly one line must be marked {MARKER!r}"
        return lines[0]


def move(name: str, hazard: str, source: str, naive: str, **options: object) -> Case:
    return Case(name, hazard, source, naive, move=True, **options)  # type: ignore[arg-type]


def report(name: str, hazard: str, source: str, naive: str, **options: object) -> Case:
    return Case(name, hazard, source, naive, move=False, **options)  # type: ignore[arg-type]


# -- MOVE: data flow a correct move must get right --------------------------------------

MOVE_CASES = [
    move(
        "m_a_same_handle_name_twice",
        "`f` is bound by both blocks: passing it to the first helper reads it unbound",
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"a.txt": "alpha\n", "b.txt": "beta\n"})
            with open(os.path.join(tmp, "a.txt")) as f:
                first = f.read()
            with open(os.path.join(tmp, "b.txt")) as f:
                second = f.read()
            return first + second
        """,
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"a.txt": "alpha\n", "b.txt": "beta\n"})
            def _blocking_io(f):
                with open(os.path.join(tmp, "a.txt")) as f:
                    first = f.read()
                return f, first
            f, first = await asyncio.to_thread(_blocking_io, f)
            def _blocking_io_2(f):
                with open(os.path.join(tmp, "b.txt")) as f:
                    second = f.read()
                return f, second
            f, second = await asyncio.to_thread(_blocking_io_2, f)
            return first + second
        """,
    ),
    move(
        "m_b_read_then_reassigned",
        "`text` is reassigned after the block: it is no input of the block",
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"greeting.txt": "  Hello, World  \n"})
            with open(os.path.join(tmp, "greeting.txt")) as f:
                text = f.read()
            text = text.strip()
            return text.upper()
        """,
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"greeting.txt": "  Hello, World  \n"})
            def _blocking_io(text):
                with open(os.path.join(tmp, "greeting.txt")) as f:
                    text = f.read()
                return text
            text = await asyncio.to_thread(_blocking_io, text)
            text = text.strip()
            return text.upper()
        """,
    ),
    move(
        "m_c_loop_accumulator",
        # `total` and `longest` carry over from one iteration's block to the next (the
        # loop's back edge: `longest` is read by nothing after the loop); `line` is
        # reused by a later loop, so its value after the block is dead.
        "`line` is rebound later: passing it reads it unbound on the first iteration",
        r"""
        async def main(tmp):
            files = {"1.log": "a\nbb\n", "2.log": "ccc\n", "3.log": "dddd\nee\nf\n"}
            await asyncio.to_thread(seed, tmp, files)
            total = 0
            longest = ""
            for name in files:
                with open(os.path.join(tmp, name)) as f:
                    for line in f.read().splitlines():
                        total += len(line)
                        if len(line) > len(longest):
                            longest = line
                            print("longest so far:", name, longest)
                print(name, "running total:", total)
            report = []
            for line in ("lines", "done"):
                report.append(line)
            return total, report
        """,
        r"""
        async def main(tmp):
            files = {"1.log": "a\nbb\n", "2.log": "ccc\n", "3.log": "dddd\nee\nf\n"}
            await asyncio.to_thread(seed, tmp, files)
            total = 0
            longest = ""
            for name in files:
                def _blocking_io(total, longest, line):
                    with open(os.path.join(tmp, name)) as f:
                        for line in f.read().splitlines():
                            total += len(line)
                            if len(line) > len(longest):
                                longest = line
                                print("longest so far:", name, longest)
                    return total, longest, line
                total, longest, line = await asyncio.to_thread(_blocking_io, total, longest, line)
                print(name, "running total:", total)
            report = []
            for line in ("lines", "done"):
                report.append(line)
            return total, report
        """,
    ),
    move(
        "m_d_rebound_on_one_branch",
        # `settings` is bound before the block and replaced on one branch only: it must go
        # in and come back. `raw` (a walrus) is reused after the loop.
        "`raw` is rebound after the loop: passing it reads it unbound",
        r"""
        import json


        async def main(tmp):
            files = {"empty.json": "", "user.json": '{"theme": "dark"}'}
            await asyncio.to_thread(seed, tmp, files)
            themes = []
            for name in files:
                settings = {"theme": "light"}
                with open(os.path.join(tmp, name)) as f:
                    if (raw := f.read()).strip():
                        settings = json.loads(raw)
                themes.append(settings["theme"])
            raw = ", ".join(themes)
            return raw
        """,
        r"""
        import json


        async def main(tmp):
            files = {"empty.json": "", "user.json": '{"theme": "dark"}'}
            await asyncio.to_thread(seed, tmp, files)
            themes = []
            for name in files:
                settings = {"theme": "light"}
                def _blocking_io(settings, raw):
                    with open(os.path.join(tmp, name)) as f:
                        if (raw := f.read()).strip():
                            settings = json.loads(raw)
                    return settings, raw
                settings, raw = await asyncio.to_thread(_blocking_io, settings, raw)
                themes.append(settings["theme"])
            raw = ", ".join(themes)
            return raw
        """,
    ),
    move(
        "m_e_dead_and_live_results",
        # `header` is assigned in the block and never read afterwards (rebound first);
        # only `rows` has to come back.
        "`header` is rebound after the block: passing it reads it unbound",
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"scores.csv": "name,score\nada,3\nbob,5\n"})
            with open(os.path.join(tmp, "scores.csv")) as f:
                header = f.readline()  # skipped: the report has its own header
                rows = [line.split(",") for line in f.read().splitlines()]
            header = ["player", "points"]
            lines = [",".join(header)] + [",".join(row) for row in rows]
            with open(os.path.join(tmp, "report.csv"), "w") as out:
                out.write("\n".join(lines) + "\n")
            return len(rows)
        """,
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"scores.csv": "name,score\nada,3\nbob,5\n"})
            def _blocking_io(header):
                with open(os.path.join(tmp, "scores.csv")) as f:
                    header = f.readline()  # skipped: the report has its own header
                    rows = [line.split(",") for line in f.read().splitlines()]
                return header, rows
            header, rows = await asyncio.to_thread(_blocking_io, header)
            header = ["player", "points"]
            lines = [",".join(header)] + [",".join(row) for row in rows]
            def _blocking_io_2():
                with open(os.path.join(tmp, "report.csv"), "w") as out:
                    out.write("\n".join(lines) + "\n")
            await asyncio.to_thread(_blocking_io_2)
            return len(rows)
        """,
    ),
    move(
        "m_f_local_dict_with_other_tasks",
        # Two saves run concurrently, each dumping its own local dict: nothing is shared,
        # so the blocks may overlap. The handle is reused for the read-back check.
        "`fh` is bound by both blocks: passing it to the first helper reads it unbound",
        r"""
        import json


        async def save_profile(tmp, user, scores):
            payload = {"user": user, "scores": scores, "best": max(scores)}
            path = os.path.join(tmp, user + ".json")
            with open(path, "w") as fh:
                json.dump(payload, fh, indent=2, sort_keys=True)
            with open(path) as fh:
                saved = json.load(fh)
            return user, saved == payload


        async def main(tmp):
            return await asyncio.gather(
                save_profile(tmp, "ada", list(range(3000))),
                save_profile(tmp, "bob", list(range(5000))),
            )
        """,
        r"""
        import json


        async def save_profile(tmp, user, scores):
            payload = {"user": user, "scores": scores, "best": max(scores)}
            path = os.path.join(tmp, user + ".json")
            def _blocking_io(fh):
                with open(path, "w") as fh:
                    json.dump(payload, fh, indent=2, sort_keys=True)
                return fh
            fh = await asyncio.to_thread(_blocking_io, fh)
            def _blocking_io_2(fh):
                with open(path) as fh:
                    saved = json.load(fh)
                return fh, saved
            fh, saved = await asyncio.to_thread(_blocking_io_2, fh)
            return user, saved == payload


        async def main(tmp):
            return await asyncio.gather(
                save_profile(tmp, "ada", list(range(3000))),
                save_profile(tmp, "bob", list(range(5000))),
            )
        """,
    ),
]

# -- REPORT: hazards a moved block cannot survive ------------------------------------

REPORT_CASES = [
    report(
        "r01_bound_on_one_path_only",
        "`data` is bound on one path only and not before: returning it raises UnboundLocalError",
        r"""
        async def read_notes(tmp, wanted):
            with open(os.path.join(tmp, "notes.txt")) as f:  # hazard
                if wanted:
                    data = f.read()
            return data if wanted else None


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"notes.txt": "remember the milk\n"})
            return await read_notes(tmp, True), await read_notes(tmp, False)
        """,
        r"""
        async def read_notes(tmp, wanted):
            def _blocking_io():
                with open(os.path.join(tmp, "notes.txt")) as f:
                    if wanted:
                        data = f.read()
                return data
            data = await asyncio.to_thread(_blocking_io)
            return data if wanted else None


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"notes.txt": "remember the milk\n"})
            return await read_notes(tmp, True), await read_notes(tmp, False)
        """,
    ),
    report(
        "r02_global",
        "`global COUNTER` does not reach the helper: COUNTER += 1 is a helper local",
        r"""
        COUNTER = 0


        async def count_lines(path):
            global COUNTER
            with open(path) as f:  # hazard
                for _ in f:
                    COUNTER += 1
            return COUNTER


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"a.txt": "1\n2\n3\n"})
            first = await count_lines(os.path.join(tmp, "a.txt"))
            return first, await count_lines(os.path.join(tmp, "a.txt")), COUNTER
        """,
        r"""
        COUNTER = 0


        async def count_lines(path):
            global COUNTER
            def _blocking_io():
                with open(path) as f:
                    for _ in f:
                        COUNTER += 1
                return COUNTER
            COUNTER = await asyncio.to_thread(_blocking_io)
            return COUNTER


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"a.txt": "1\n2\n3\n"})
            first = await count_lines(os.path.join(tmp, "a.txt"))
            return first, await count_lines(os.path.join(tmp, "a.txt")), COUNTER
        """,
    ),
    report(
        "r03_nonlocal",
        "`nonlocal seen` does not reach the helper: seen += 1 is a helper local",
        r"""
        def make_counter(tmp):
            seen = 0

            async def count(name):
                nonlocal seen
                with open(os.path.join(tmp, name)) as f:  # hazard
                    for _ in f:
                        seen += 1
                return seen

            return count


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"a.txt": "1\n2\n", "b.txt": "3\n4\n5\n"})
            count = make_counter(tmp)
            return [await count("a.txt"), await count("b.txt")]
        """,
        r"""
        def make_counter(tmp):
            seen = 0

            async def count(name):
                nonlocal seen
                def _blocking_io():
                    with open(os.path.join(tmp, name)) as f:
                        for _ in f:
                            seen += 1
                    return seen
                seen = await asyncio.to_thread(_blocking_io)
                return seen

            return count


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"a.txt": "1\n2\n", "b.txt": "3\n4\n5\n"})
            count = make_counter(tmp)
            return [await count("a.txt"), await count("b.txt")]
        """,
    ),
    report(
        "r04_zero_argument_super",
        "zero-argument super() needs the method's frame: RuntimeError: super(): no arguments",
        r"""
        import json


        class Store:
            def decode(self, text):
                return json.loads(text)


        class CountingStore(Store):
            def __init__(self):
                self.loads = 0

            def decode(self, text):
                self.loads += 1
                return super().decode(text)

            async def load(self, path):
                with open(path) as f:  # hazard
                    data = super().decode(f.read())
                return data


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"cfg.json": '{"debug": true}'})
            store = CountingStore()
            return await store.load(os.path.join(tmp, "cfg.json")), store.loads
        """,
        r"""
        import json


        class Store:
            def decode(self, text):
                return json.loads(text)


        class CountingStore(Store):
            def __init__(self):
                self.loads = 0

            def decode(self, text):
                self.loads += 1
                return super().decode(text)

            async def load(self, path):
                def _blocking_io():
                    with open(path) as f:
                        data = super().decode(f.read())
                    return data
                data = await asyncio.to_thread(_blocking_io)
                return data


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"cfg.json": '{"debug": true}'})
            store = CountingStore()
            return await store.load(os.path.join(tmp, "cfg.json")), store.loads
        """,
    ),
    report(
        "r05_locals",
        "locals() in the helper sees the helper's frame: `count` is missing",
        r"""
        TEMPLATE = "Dear {user}, you have {count} new messages.\n"


        async def write_letter(tmp, user, count):
            with open(os.path.join(tmp, user + ".txt"), "w") as f:  # hazard
                f.write(TEMPLATE.format_map(locals()))


        async def main(tmp):
            await write_letter(tmp, "ada", 3)
            return "sent"
        """,
        r"""
        TEMPLATE = "Dear {user}, you have {count} new messages.\n"


        async def write_letter(tmp, user, count):
            def _blocking_io():
                with open(os.path.join(tmp, user + ".txt"), "w") as f:
                    f.write(TEMPLATE.format_map(locals()))
            await asyncio.to_thread(_blocking_io)


        async def main(tmp):
            await write_letter(tmp, "ada", 3)
            return "sent"
        """,
    ),
    report(
        "r06a_format_exc_in_handler",
        "the worker thread has no current exception: format_exc() gives 'NoneType: None'",
        r"""
        import traceback


        def parse_port(text):
            return int(text)


        async def main(tmp):
            try:
                port = parse_port("eighty")
            except ValueError:
                with open(os.path.join(tmp, "errors.log"), "a") as f:  # hazard
                    f.write(traceback.format_exc().splitlines()[-1] + "\n")
                port = 80
            return port
        """,
        r"""
        import traceback


        def parse_port(text):
            return int(text)


        async def main(tmp):
            try:
                port = parse_port("eighty")
            except ValueError:
                def _blocking_io():
                    with open(os.path.join(tmp, "errors.log"), "a") as f:
                        f.write(traceback.format_exc().splitlines()[-1] + "\n")
                await asyncio.to_thread(_blocking_io)
                port = 80
            return port
        """,
    ),
    report(
        "r06b_bare_raise_in_handler",
        "a bare raise in the worker thread: RuntimeError: No active exception to reraise",
        r"""
        async def handle(tmp, value):
            try:
                return int(value)
            except ValueError:
                with open(os.path.join(tmp, "errors.log"), "a") as f:  # hazard
                    f.write(f"bad value {value!r}\n")
                    raise


        async def main(tmp):
            try:
                await handle(tmp, "x")
            except ValueError as error:
                return f"caught: {error}"
        """,
        r"""
        async def handle(tmp, value):
            try:
                return int(value)
            except ValueError:
                def _blocking_io():
                    with open(os.path.join(tmp, "errors.log"), "a") as f:
                        f.write(f"bad value {value!r}\n")
                        raise
                await asyncio.to_thread(_blocking_io)


        async def main(tmp):
            try:
                await handle(tmp, "x")
            except ValueError as error:
                return f"caught: {error}"
        """,
    ),
    report(
        "r06c_exc_info_in_handler_fdopen",
        "sys.exc_info() in the worker thread is (None, None, None)",
        r"""
        import sys


        async def main(tmp):
            fd = os.open(os.path.join(tmp, "crash.log"), os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                {}["session"]
            except KeyError:
                with os.fdopen(fd, "w") as f:  # hazard
                    kind, value, _ = sys.exc_info()
                    f.write(f"{kind.__name__}: {value}\n")
            return "reported"
        """,
        r"""
        import sys


        async def main(tmp):
            fd = os.open(os.path.join(tmp, "crash.log"), os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                {}["session"]
            except KeyError:
                def _blocking_io():
                    with os.fdopen(fd, "w") as f:
                        kind, value, _ = sys.exc_info()
                        f.write(f"{kind.__name__}: {value}\n")
                await asyncio.to_thread(_blocking_io)
            return "reported"
        """,
        code="LS231",
    ),
    report(
        "r07_closure_reads_rebound_name",
        "label() reads the coroutine's `section`, which the helper's own copy no longer updates",
        r"""
        async def main(tmp):
            notes = "# fruit\napple\npear\n# veg\nleek\n"
            await asyncio.to_thread(seed, tmp, {"notes.txt": notes})
            section = "misc"

            def label(item):
                return f"{section}: {item}"

            src, dst = os.path.join(tmp, "notes.txt"), os.path.join(tmp, "labelled.txt")
            with open(src) as f, open(dst, "w") as out:  # hazard
                for line in f.read().splitlines():
                    if line.startswith("# "):
                        section = line[2:]
                    else:
                        out.write(label(line) + "\n")
            return section
        """,
        r"""
        async def main(tmp):
            notes = "# fruit\napple\npear\n# veg\nleek\n"
            await asyncio.to_thread(seed, tmp, {"notes.txt": notes})
            section = "misc"

            def label(item):
                return f"{section}: {item}"

            src, dst = os.path.join(tmp, "notes.txt"), os.path.join(tmp, "labelled.txt")
            def _blocking_io(section):
                with open(src) as f, open(dst, "w") as out:
                    for line in f.read().splitlines():
                        if line.startswith("# "):
                            section = line[2:]
                        else:
                            out.write(label(line) + "\n")
                return section
            section = await asyncio.to_thread(_blocking_io, section)
            return section
        """,
    ),
    report(
        "r08_lambda_captures_local",
        "the lambda made in the helper reads the helper's `column`, not the coroutine's",
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"scores.csv": "name,score\nbob,3\nada,5\ncy,1\n"})
            column = 0
            with open(os.path.join(tmp, "scores.csv")) as f:  # hazard
                header = f.readline().rstrip("\n").split(",")
                rows = [line.rstrip("\n").split(",") for line in f]
                column = header.index("score")
                by_column = lambda row: row[column]
            by_score = [row[0] for row in sorted(rows, key=by_column)]
            column = header.index("name")
            by_name = [row[0] for row in sorted(rows, key=by_column)]
            return by_score, by_name
        """,
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"scores.csv": "name,score\nbob,3\nada,5\ncy,1\n"})
            column = 0
            def _blocking_io(column):
                with open(os.path.join(tmp, "scores.csv")) as f:
                    header = f.readline().rstrip("\n").split(",")
                    rows = [line.rstrip("\n").split(",") for line in f]
                    column = header.index("score")
                    by_column = lambda row: row[column]
                return header, rows, column, by_column
            header, rows, column, by_column = await asyncio.to_thread(_blocking_io, column)
            by_score = [row[0] for row in sorted(rows, key=by_column)]
            column = header.index("name")
            by_name = [row[0] for row in sorted(rows, key=by_column)]
            return by_score, by_name
        """,
    ),
    report(
        "r09_next_on_empty_file",
        "StopIteration cannot cross a Future: the awaiting task never wakes",
        r"""
        async def read_header(path):
            try:
                with open(path) as f:  # hazard
                    header = next(f).rstrip("\n")
            except StopIteration:
                return None
            return header


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"full.csv": "id,name\n1,ada\n", "empty.csv": ""})
            headers = []
            for name in ("full.csv", "empty.csv"):
                headers.append(await read_header(os.path.join(tmp, name)))
            return headers
        """,
        r"""
        async def read_header(path):
            try:
                def _blocking_io():
                    with open(path) as f:
                        header = next(f).rstrip("\n")
                    return header
                header = await asyncio.to_thread(_blocking_io)
            except StopIteration:
                return None
            return header


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"full.csv": "id,name\n1,ada\n", "empty.csv": ""})
            headers = []
            for name in ("full.csv", "empty.csv"):
                headers.append(await read_header(os.path.join(tmp, name)))
            return headers
        """,
        timeout=1.0,
    ),
    report(
        "r10a_sqlite_connection_used_in_block",
        "a sqlite3 connection made on the loop's thread is used in the worker: ProgrammingError",
        r"""
        import sqlite3


        def open_db():
            db = sqlite3.connect(":memory:")
            db.execute("CREATE TABLE scores (name TEXT, score INTEGER)")
            return db


        async def import_scores(db, path):
            with open(path) as f:  # hazard
                for line in f:
                    name, score = line.split(",")
                    db.execute("INSERT INTO scores VALUES (?, ?)", (name, int(score)))


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"scores.csv": "ada,5\nbob,3\n"})
            db = open_db()
            await import_scores(db, os.path.join(tmp, "scores.csv"))
            return db.execute("SELECT name, score FROM scores ORDER BY score").fetchall()
        """,
        r"""
        import sqlite3


        def open_db():
            db = sqlite3.connect(":memory:")
            db.execute("CREATE TABLE scores (name TEXT, score INTEGER)")
            return db


        async def import_scores(db, path):
            def _blocking_io():
                with open(path) as f:
                    for line in f:
                        name, score = line.split(",")
                        db.execute("INSERT INTO scores VALUES (?, ?)", (name, int(score)))
            await asyncio.to_thread(_blocking_io)


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"scores.csv": "ada,5\nbob,3\n"})
            db = open_db()
            await import_scores(db, os.path.join(tmp, "scores.csv"))
            return db.execute("SELECT name, score FROM scores ORDER BY score").fetchall()
        """,
    ),
    report(
        "r10b_sqlite_connection_made_in_block",
        "a sqlite3 connection made in the worker is used on the loop's thread: ProgrammingError",
        r"""
        import sqlite3


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"db.conf": ":memory:\n"})
            with open(os.path.join(tmp, "db.conf")) as f:  # hazard
                db = sqlite3.connect(f.read().strip())
            db.execute("CREATE TABLE events (name TEXT)")
            db.execute("INSERT INTO events VALUES ('started')")
            rows = db.execute("SELECT name FROM events").fetchall()
            db.close()
            return rows
        """,
        r"""
        import sqlite3


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"db.conf": ":memory:\n"})
            def _blocking_io():
                with open(os.path.join(tmp, "db.conf")) as f:
                    db = sqlite3.connect(f.read().strip())
                return db
            db = await asyncio.to_thread(_blocking_io)
            db.execute("CREATE TABLE events (name TEXT)")
            db.execute("INSERT INTO events VALUES ('started')")
            rows = db.execute("SELECT name FROM events").fetchall()
            db.close()
            return rows
        """,
    ),
    report(
        "r11_event_loop_api_in_block",
        "get_running_loop() in the worker: RuntimeError: no running event loop",
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"jobs.txt": "resize\nupload\n"})
            done = []

            async def run_job(name):
                await asyncio.sleep(0)
                done.append(name)

            jobs = []
            with open(os.path.join(tmp, "jobs.txt")) as f:  # hazard
                for line in f:
                    jobs.append(asyncio.get_running_loop().create_task(run_job(line.strip())))
            await asyncio.gather(*jobs)
            return done
        """,
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"jobs.txt": "resize\nupload\n"})
            done = []

            async def run_job(name):
                await asyncio.sleep(0)
                done.append(name)

            jobs = []
            def _blocking_io():
                with open(os.path.join(tmp, "jobs.txt")) as f:
                    for line in f:
                        jobs.append(asyncio.get_running_loop().create_task(run_job(line.strip())))
            await asyncio.to_thread(_blocking_io)
            await asyncio.gather(*jobs)
            return done
        """,
    ),
    report(
        "r12a_plugin_loader_uses_the_loop",
        "a project function called in the block starts a task on the running loop",
        r"""
        PLUGINS = {}


        async def start_plugin(name):
            await asyncio.sleep(0)
            return f"{name} started"


        def load_plugin(name):
            '''Register a plugin and start it in the background.'''
            PLUGINS[name] = asyncio.get_running_loop().create_task(start_plugin(name))


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"plugins.txt": "auth\nmetrics\n"})
            with open(os.path.join(tmp, "plugins.txt")) as manifest:  # hazard
                for name in manifest:
                    load_plugin(name.strip())
            return await asyncio.gather(*PLUGINS.values())
        """,
        r"""
        PLUGINS = {}


        async def start_plugin(name):
            await asyncio.sleep(0)
            return f"{name} started"


        def load_plugin(name):
            '''Register a plugin and start it in the background.'''
            PLUGINS[name] = asyncio.get_running_loop().create_task(start_plugin(name))


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"plugins.txt": "auth\nmetrics\n"})
            def _blocking_io():
                with open(os.path.join(tmp, "plugins.txt")) as manifest:
                    for name in manifest:
                        load_plugin(name.strip())
            await asyncio.to_thread(_blocking_io)
            return await asyncio.gather(*PLUGINS.values())
        """,
    ),
    report(
        "r12b_threading_local",
        "a project function called in the block reads a threading.local set on the loop's thread",
        r"""
        import threading

        request = threading.local()


        def audit(event):
            '''One audit line for the current request (its user is set by the middleware).'''
            return f"[{request.user}] {event}\n"


        async def export(tmp, user):
            request.user = user
            with open(os.path.join(tmp, "audit.log"), "a") as log:  # hazard
                log.write(audit("exported the report"))
            return "ok"


        async def main(tmp):
            return [await export(tmp, "ada"), await export(tmp, "bob")]
        """,
        r"""
        import threading

        request = threading.local()


        def audit(event):
            '''One audit line for the current request (its user is set by the middleware).'''
            return f"[{request.user}] {event}\n"


        async def export(tmp, user):
            request.user = user
            def _blocking_io():
                with open(os.path.join(tmp, "audit.log"), "a") as log:
                    log.write(audit("exported the report"))
            await asyncio.to_thread(_blocking_io)
            return "ok"


        async def main(tmp):
            return [await export(tmp, "ada"), await export(tmp, "bob")]
        """,
    ),
    report(
        "r13_import_in_block",
        "the imported module's top level runs in the worker, where no event loop runs",
        r"""
        import importlib
        import sys

        PLUGIN = '''
        import asyncio

        LOOP = asyncio.get_running_loop()
        NAME = "greeter"
        '''


        async def main(tmp):
            files = {"plugins.txt": "greeter_plugin\n", "greeter_plugin.py": PLUGIN}
            await asyncio.to_thread(seed, tmp, files)
            sys.path.insert(0, tmp)
            try:
                names = []
                with open(os.path.join(tmp, "plugins.txt")) as f:  # hazard
                    for line in f:
                        module = importlib.import_module(line.strip())
                        names.append(module.NAME)
                return names
            finally:
                sys.path.remove(tmp)
        """,
        r"""
        import importlib
        import sys

        PLUGIN = '''
        import asyncio

        LOOP = asyncio.get_running_loop()
        NAME = "greeter"
        '''


        async def main(tmp):
            files = {"plugins.txt": "greeter_plugin\n", "greeter_plugin.py": PLUGIN}
            await asyncio.to_thread(seed, tmp, files)
            sys.path.insert(0, tmp)
            try:
                names = []
                def _blocking_io():
                    with open(os.path.join(tmp, "plugins.txt")) as f:
                        for line in f:
                            module = importlib.import_module(line.strip())
                            names.append(module.NAME)
                await asyncio.to_thread(_blocking_io)
                return names
            finally:
                sys.path.remove(tmp)
        """,
    ),
    report(
        "r14_partial_state_on_error",
        "the handler reads counters the block updated before it raised; the helper never returns them",
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"numbers.txt": "1\n2\nthree\n4\n"})
            count = 0
            total = 0
            try:
                with open(os.path.join(tmp, "numbers.txt")) as f:  # hazard
                    for line in f:
                        total += int(line)
                        count += 1
            except ValueError as error:
                return f"stopped after {count} numbers (sum {total}): {error}"
            return count, total
        """,
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"numbers.txt": "1\n2\nthree\n4\n"})
            count = 0
            total = 0
            try:
                def _blocking_io(total, count):
                    with open(os.path.join(tmp, "numbers.txt")) as f:
                        for line in f:
                            total += int(line)
                            count += 1
                    return total, count
                total, count = await asyncio.to_thread(_blocking_io, total, count)
            except ValueError as error:
                return f"stopped after {count} numbers (sum {total}): {error}"
            return count, total
        """,
    ),
    report(
        "r15_attribute_shared_with_another_task",
        # The background task records visits until the cache is saved. On the loop the
        # save is atomic: it finds nothing to do. Against a thread it always gets one step
        # in before the save resumes (the thread's result reaches the loop one callback
        # later), so the outcome differs however the threads are scheduled.
        "json.dump(self.entries) in the worker while another task adds entries",
        r"""
        import json


        class Cache:
            def __init__(self, path):
                self.path = path
                self.entries = {f"user:{i}": i for i in range(50_000)}
                self.saved = False

            async def save(self):
                with open(self.path, "w") as f:  # hazard
                    json.dump(self.entries, f, indent=1)
                self.saved = True

            async def record_visits(self):
                guest = 0
                while not self.saved:
                    self.entries[f"guest:{guest}"] = 1
                    guest += 1
                    await asyncio.sleep(0)


        async def main(tmp):
            cache = Cache(os.path.join(tmp, "cache.json"))
            await asyncio.gather(cache.save(), cache.record_visits())
            return len(cache.entries)
        """,
        r"""
        import json


        class Cache:
            def __init__(self, path):
                self.path = path
                self.entries = {f"user:{i}": i for i in range(50_000)}
                self.saved = False

            async def save(self):
                def _blocking_io():
                    with open(self.path, "w") as f:
                        json.dump(self.entries, f, indent=1)
                await asyncio.to_thread(_blocking_io)
                self.saved = True

            async def record_visits(self):
                guest = 0
                while not self.saved:
                    self.entries[f"guest:{guest}"] = 1
                    guest += 1
                    await asyncio.sleep(0)


        async def main(tmp):
            cache = Cache(os.path.join(tmp, "cache.json"))
            await asyncio.gather(cache.save(), cache.record_visits())
            return len(cache.entries)
        """,
    ),
    report(
        "r16_module_dict_shared_with_another_task",
        # As in r15, the other task runs until the export is done, so it always gets at
        # least one step in while a worker thread would be iterating.
        "the worker iterates a module-level dict while another task registers more handlers",
        r"""
        REGISTRY = {f"handler_{i}": i for i in range(100_000)}


        async def export_registry(path, exported):
            with open(path, "w") as f:  # hazard
                for name in REGISTRY:
                    f.write(name + "\n")
            exported.set()


        async def register_late_handlers(exported):
            late = 0
            while not exported.is_set():
                REGISTRY[f"late_{late}"] = late
                late += 1
                await asyncio.sleep(0)


        async def main(tmp):
            exported = asyncio.Event()
            path = os.path.join(tmp, "handlers.txt")
            await asyncio.gather(export_registry(path, exported), register_late_handlers(exported))
            return len(REGISTRY)
        """,
        r"""
        REGISTRY = {f"handler_{i}": i for i in range(100_000)}


        async def export_registry(path, exported):
            def _blocking_io():
                with open(path, "w") as f:
                    for name in REGISTRY:
                        f.write(name + "\n")
            await asyncio.to_thread(_blocking_io)
            exported.set()


        async def register_late_handlers(exported):
            late = 0
            while not exported.is_set():
                REGISTRY[f"late_{late}"] = late
                late += 1
                await asyncio.sleep(0)


        async def main(tmp):
            exported = asyncio.Event()
            path = os.path.join(tmp, "handlers.txt")
            await asyncio.gather(export_registry(path, exported), register_late_handlers(exported))
            return len(REGISTRY)
        """,
    ),
    report(
        "r17a_return_in_block",
        "`return` in the helper returns from the helper: the coroutine falls through",
        r"""
        async def find_role(path, user):
            with open(path) as f:  # hazard
                for line in f:
                    if line.startswith(user + ":"):
                        return line.split(":", 1)[1].strip()
            return None


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"users.txt": "ada:admin\nbob:guest\n"})
            path = os.path.join(tmp, "users.txt")
            return await find_role(path, "bob"), await find_role(path, "cy")
        """,
        r"""
        async def find_role(path, user):
            def _blocking_io():
                with open(path) as f:
                    for line in f:
                        if line.startswith(user + ":"):
                            return line.split(":", 1)[1].strip()
            await asyncio.to_thread(_blocking_io)
            return None


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"users.txt": "ada:admin\nbob:guest\n"})
            path = os.path.join(tmp, "users.txt")
            return await find_role(path, "bob"), await find_role(path, "cy")
        """,
    ),
    report(
        "r17b_break_to_outer_loop",
        "`break` aimed at the loop around the block: a helper cannot hold it",
        r"""
        async def first_nonempty(tmp, names):
            found = None
            for name in names:
                with open(os.path.join(tmp, name)) as f:  # hazard
                    text = f.read().strip()
                    if text:
                        found = name, text
                        break
            return found


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"a.cfg": "", "b.cfg": "x=1\n", "c.cfg": "y=2\n"})
            return await first_nonempty(tmp, ["a.cfg", "b.cfg", "c.cfg"])
        """,
        r"""
        async def first_nonempty(tmp, names):
            found = None
            for name in names:
                def _blocking_io(found):
                    with open(os.path.join(tmp, name)) as f:
                        text = f.read().strip()
                        if text:
                            found = name, text
                            break
                    return found
                found = await asyncio.to_thread(_blocking_io, found)
            return found


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"a.cfg": "", "b.cfg": "x=1\n", "c.cfg": "y=2\n"})
            return await first_nonempty(tmp, ["a.cfg", "b.cfg", "c.cfg"])
        """,
        naive_compiles=False,
    ),
    report(
        "r17c_continue_to_outer_loop",
        "`continue` aimed at the loop around the block: a helper cannot hold it",
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"a.cfg": "", "b.cfg": "x=1\n", "c.cfg": "y=2\n"})
            settings = {}
            for name in ("a.cfg", "b.cfg", "c.cfg"):
                with open(os.path.join(tmp, name)) as f:  # hazard
                    text = f.read()
                    if not text:
                        continue
                    key, value = text.strip().split("=")
                settings[key] = value
            return settings
        """,
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"a.cfg": "", "b.cfg": "x=1\n", "c.cfg": "y=2\n"})
            settings = {}
            for name in ("a.cfg", "b.cfg", "c.cfg"):
                def _blocking_io():
                    with open(os.path.join(tmp, name)) as f:
                        text = f.read()
                        if not text:
                            continue
                        key, value = text.strip().split("=")
                    return key, value
                key, value = await asyncio.to_thread(_blocking_io)
                settings[key] = value
            return settings
        """,
        naive_compiles=False,
    ),
    report(
        "r17d_continue_in_for_else",
        # The `else:` of a for loop is not inside that loop: this `continue` targets the
        # outer loop. loopsafe used to take it for an inner one and fail on the whole file.
        "`continue` in a for-else clause aims at the loop around the block",
        r"""
        import time


        async def pause():
            time.sleep(0)


        async def main(tmp):
            files = {"a.py": "import os\n# TODO: tidy\n", "b.py": "x = 1\n"}
            await asyncio.to_thread(seed, tmp, files)
            todo = []
            for name in files:
                with open(os.path.join(tmp, name)) as f:  # hazard
                    for line in f:
                        if "TODO" in line:
                            break
                    else:
                        continue
                    todo.append(name)
            await pause()
            return todo
        """,
        r"""
        import time


        async def pause():
            await asyncio.sleep(0)


        async def main(tmp):
            files = {"a.py": "import os\n# TODO: tidy\n", "b.py": "x = 1\n"}
            await asyncio.to_thread(seed, tmp, files)
            todo = []
            for name in files:
                def _blocking_io():
                    with open(os.path.join(tmp, name)) as f:
                        for line in f:
                            if "TODO" in line:
                                break
                        else:
                            continue
                        todo.append(name)
                await asyncio.to_thread(_blocking_io)
            await pause()
            return todo
        """,
        naive_compiles=False,
        also_fixed="await asyncio.sleep(0)",
    ),
    report(
        "r18a_yield_in_block",
        "`yield` makes the helper a generator: the async generator becomes a coroutine",
        r"""
        async def read_lines(path):
            with open(path) as f:  # hazard
                for line in f:
                    yield line.rstrip("\n")


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"log.txt": "one\ntwo\n"})
            return [line async for line in read_lines(os.path.join(tmp, "log.txt"))]
        """,
        r"""
        async def read_lines(path):
            def _blocking_io():
                with open(path) as f:
                    for line in f:
                        yield line.rstrip("\n")
            await asyncio.to_thread(_blocking_io)


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"log.txt": "one\ntwo\n"})
            return [line async for line in read_lines(os.path.join(tmp, "log.txt"))]
        """,
    ),
    report(
        "r18b_await_in_block",
        "`await` in the block: a helper run in a thread cannot hold it",
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"lines.txt": "a\nb\n"})
            queue = asyncio.Queue()
            with open(os.path.join(tmp, "lines.txt")) as f:  # hazard
                for line in f:
                    await queue.put(line.strip())
            return [queue.get_nowait() for _ in range(queue.qsize())]
        """,
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"lines.txt": "a\nb\n"})
            queue = asyncio.Queue()
            def _blocking_io():
                with open(os.path.join(tmp, "lines.txt")) as f:
                    for line in f:
                        await queue.put(line.strip())
            await asyncio.to_thread(_blocking_io)
            return [queue.get_nowait() for _ in range(queue.qsize())]
        """,
        naive_compiles=False,
    ),
    report(
        "r18c_async_for_in_block",
        "`async for` in the block: a helper run in a thread cannot hold it",
        r"""
        async def fetch_rows():
            for i in range(3):
                await asyncio.sleep(0)
                yield f"row {i}"


        async def main(tmp):
            with open(os.path.join(tmp, "rows.txt"), "w") as f:  # hazard
                async for row in fetch_rows():
                    f.write(row + "\n")
            return "saved"
        """,
        r"""
        async def fetch_rows():
            for i in range(3):
                await asyncio.sleep(0)
                yield f"row {i}"


        async def main(tmp):
            def _blocking_io():
                with open(os.path.join(tmp, "rows.txt"), "w") as f:
                    async for row in fetch_rows():
                        f.write(row + "\n")
            await asyncio.to_thread(_blocking_io)
            return "saved"
        """,
        naive_compiles=False,
    ),
    report(
        "r18d_async_comprehension_in_block",
        # loopsafe used to move this block and fail on the whole file.
        "an async comprehension in the block: a plain function cannot hold it",
        r"""
        import time


        async def fetch_rows():
            for i in range(3):
                await asyncio.sleep(0)
                yield f"row {i}"


        async def pause():
            time.sleep(0)


        async def main(tmp):
            with open(os.path.join(tmp, "rows.txt"), "w") as f:  # hazard
                f.write("\n".join([row async for row in fetch_rows()]) + "\n")
            await pause()
            return "saved"
        """,
        r"""
        import time


        async def fetch_rows():
            for i in range(3):
                await asyncio.sleep(0)
                yield f"row {i}"


        async def pause():
            await asyncio.sleep(0)


        async def main(tmp):
            def _blocking_io():
                with open(os.path.join(tmp, "rows.txt"), "w") as f:
                    f.write("\n".join([row async for row in fetch_rows()]) + "\n")
            await asyncio.to_thread(_blocking_io)
            await pause()
            return "saved"
        """,
        naive_compiles=False,
        also_fixed="await asyncio.sleep(0)",
    ),
    report(
        "r20_finally_reads_rebound_name",
        "the enclosing finally reads `stage`, which the block updated before raising",
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"numbers.txt": "1\n2\nx\n"})
            stage = "opening"
            try:
                with open(os.path.join(tmp, "numbers.txt")) as f:  # hazard
                    stage = "reading"
                    numbers = [int(line) for line in f]
                    stage = "done"
            finally:
                print("import stopped at stage:", stage)
            return numbers
        """,
        r"""
        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"numbers.txt": "1\n2\nx\n"})
            stage = "opening"
            try:
                def _blocking_io(stage):
                    with open(os.path.join(tmp, "numbers.txt")) as f:
                        stage = "reading"
                        numbers = [int(line) for line in f]
                        stage = "done"
                    return stage, numbers
                stage, numbers = await asyncio.to_thread(_blocking_io, stage)
            finally:
                print("import stopped at stage:", stage)
            return numbers
        """,
    ),
    # Beyond the brief's list: hazards from the note that come from where the block
    # sits (the new await), not from what it contains.
    report(
        "r21_block_inside_iteration_over_shared_dict",
        "the new await inside `for sid in SESSIONS` lets another task resize the dict",
        r"""
        SESSIONS = {f"s{i}": i for i in range(5)}


        async def dump_sessions(tmp):
            for sid in SESSIONS:
                with open(os.path.join(tmp, sid + ".txt"), "w") as f:  # hazard
                    f.write(str(SESSIONS[sid]))


        async def log_in():
            for i in range(3):
                SESSIONS[f"new{i}"] = i
                await asyncio.sleep(0)


        async def main(tmp):
            await asyncio.gather(dump_sessions(tmp), log_in())
            return len(SESSIONS)
        """,
        r"""
        SESSIONS = {f"s{i}": i for i in range(5)}


        async def dump_sessions(tmp):
            for sid in SESSIONS:
                def _blocking_io():
                    with open(os.path.join(tmp, sid + ".txt"), "w") as f:
                        f.write(str(SESSIONS[sid]))
                await asyncio.to_thread(_blocking_io)


        async def log_in():
            for i in range(3):
                SESSIONS[f"new{i}"] = i
                await asyncio.sleep(0)


        async def main(tmp):
            await asyncio.gather(dump_sessions(tmp), log_in())
            return len(SESSIONS)
        """,
    ),
    report(
        "r23_call_in_finally_cancelled_again",
        "a second cancel() hits an offloaded cleanup call in finally: the rest is skipped",
        r"""
        import shutil


        async def worker(folder, log):
            try:
                await asyncio.sleep(10)
            finally:
                shutil.rmtree(folder)  # hazard
                log.append("cleanup finished")


        async def main(tmp):
            log = []
            folder = os.path.join(tmp, "scratch")
            await asyncio.to_thread(os.makedirs, folder)
            task = asyncio.create_task(worker(folder, log))
            await asyncio.sleep(0)  # the worker starts and waits
            task.cancel()
            await asyncio.sleep(0)  # the worker starts its cleanup
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            return log
        """,
        r"""
        import shutil


        async def worker(folder, log):
            try:
                await asyncio.sleep(10)
            finally:
                await asyncio.to_thread(shutil.rmtree, folder)
                log.append("cleanup finished")


        async def main(tmp):
            log = []
            folder = os.path.join(tmp, "scratch")
            await asyncio.to_thread(os.makedirs, folder)
            task = asyncio.create_task(worker(folder, log))
            await asyncio.sleep(0)  # the worker starts and waits
            task.cancel()
            await asyncio.sleep(0)  # the worker starts its cleanup
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            return log
        """,
        code="LS261",
    ),
    report(
        "r24_call_in_bare_except_swallows_cancellation",
        "an offloaded call under a bare except: a cancel() arriving there is swallowed",
        r"""
        import time


        async def worker(log):
            try:
                await asyncio.sleep(10)
            except:  # noqa: E722 - what the hazard is about
                time.sleep(0.01)  # hazard
                log.append("handled")
            log.append("went on after cancellation")


        async def main(tmp):
            log = []
            task = asyncio.create_task(worker(log))
            await asyncio.sleep(0)
            task.cancel()
            await asyncio.sleep(0)  # the handler starts
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                log.append("cancelled")
            return log
        """,
        r"""
        import time


        async def worker(log):
            try:
                await asyncio.sleep(10)
            except:  # noqa: E722 - what the hazard is about
                await asyncio.sleep(0.01)
                log.append("handled")
            log.append("went on after cancellation")


        async def main(tmp):
            log = []
            task = asyncio.create_task(worker(log))
            await asyncio.sleep(0)
            task.cancel()
            await asyncio.sleep(0)  # the handler starts
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                log.append("cancelled")
            return log
        """,
        code="LS251",
    ),
    report(
        "r25_call_under_redirect_stdout",
        "an await under redirect_stdout captures another task's print",
        r"""
        import contextlib
        import io
        import time


        async def quiet(log):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                time.sleep(0.01)  # hazard
            log.append(buffer.getvalue())


        async def chatty():
            await asyncio.sleep(0)
            print("hello from another task")


        async def main(tmp):
            log = []
            await asyncio.gather(quiet(log), chatty())
            return log
        """,
        r"""
        import contextlib
        import io
        import time


        async def quiet(log):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                await asyncio.sleep(0.01)
            log.append(buffer.getvalue())


        async def chatty():
            await asyncio.sleep(0)
            print("hello from another task")


        async def main(tmp):
            log = []
            await asyncio.gather(quiet(log), chatty())
            return log
        """,
        code="LS251",
    ),
    report(
        "r27_call_in_loop_over_shared_dict",
        "an await in a loop over a module dict lets another task resize it",
        r"""
        import time

        SESSIONS = {f"s{i}": i for i in range(5)}


        async def sweep(log):
            for sid in SESSIONS:
                time.sleep(0.001)  # hazard
                log.append(sid)


        async def joiner():
            await asyncio.sleep(0)
            SESSIONS["late"] = 99


        async def main(tmp):
            log = []
            try:
                await asyncio.gather(sweep(log), joiner())
            except RuntimeError as error:
                log.append(str(error))
            return log
        """,
        r"""
        import time

        SESSIONS = {f"s{i}": i for i in range(5)}


        async def sweep(log):
            for sid in SESSIONS:
                await asyncio.sleep(0.001)
                log.append(sid)


        async def joiner():
            await asyncio.sleep(0)
            SESSIONS["late"] = 99


        async def main(tmp):
            log = []
            try:
                await asyncio.gather(sweep(log), joiner())
            except RuntimeError as error:
                log.append(str(error))
            return log
        """,
        code="LS251",
    ),
    report(
        "r22_block_in_finally_cancelled_again",
        "a second cancel() hits the new await in finally: the rest of the cleanup is skipped",
        r"""
        async def worker(tmp, log):
            try:
                await asyncio.sleep(10)
            finally:
                with open(os.path.join(tmp, "worker.log"), "w") as f:  # hazard
                    f.write("flushed\n")
                log.append("cleanup finished")


        async def main(tmp):
            log = []
            task = asyncio.create_task(worker(tmp, log))
            await asyncio.sleep(0)  # the worker starts and waits
            task.cancel()  # shutdown
            await asyncio.sleep(0)  # the worker starts its cleanup
            task.cancel()  # an impatient second request
            try:
                await task
            except asyncio.CancelledError:
                pass
            return log
        """,
        r"""
        async def worker(tmp, log):
            try:
                await asyncio.sleep(10)
            finally:
                def _blocking_io():
                    with open(os.path.join(tmp, "worker.log"), "w") as f:
                        f.write("flushed\n")
                await asyncio.to_thread(_blocking_io)
                log.append("cleanup finished")


        async def main(tmp):
            log = []
            task = asyncio.create_task(worker(tmp, log))
            await asyncio.sleep(0)  # the worker starts and waits
            task.cancel()  # shutdown
            await asyncio.sleep(0)  # the worker starts its cleanup
            task.cancel()  # an impatient second request
            try:
                await task
            except asyncio.CancelledError:
                pass
            return log
        """,
    ),
    report(
        "r28_call_in_class_body_inside_coroutine",
        "a class body runs when the coroutine defines the class, but cannot hold an await",
        r"""
        async def make_settings(tmp):
            class Settings:
                text = open(os.path.join(tmp, "settings.txt")).read()  # hazard

            return Settings


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"settings.txt": "debug=1"})
            return (await make_settings(tmp)).text
        """,
        r"""
        async def make_settings(tmp):
            class Settings:
                text = await asyncio.to_thread(lambda: open(os.path.join(tmp, "settings.txt")).read())

            return Settings


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"settings.txt": "debug=1"})
            return (await make_settings(tmp)).text
        """,
        code="LS232",
        naive_compiles=False,
    ),
    report(
        "r29_comprehension_over_shared_dict",
        "an await in a comprehension over a module dict lets another task resize it",
        r"""
        import os

        SESSIONS = {f"s{i}": f"s{i}.txt" for i in range(5)}


        async def sweep(tmp):
            return {sid: os.path.exists(os.path.join(tmp, name)) for sid, name in SESSIONS.items()}  # hazard


        async def joiner():
            await asyncio.sleep(0)
            SESSIONS["late"] = "late.txt"


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"s1.txt": "", "s3.txt": ""})
            try:
                found, _ = await asyncio.gather(sweep(tmp), joiner())
            except RuntimeError as error:
                return str(error)
            return found
        """,
        r"""
        import os

        SESSIONS = {f"s{i}": f"s{i}.txt" for i in range(5)}


        async def sweep(tmp):
            return {sid: await asyncio.to_thread(os.path.exists, os.path.join(tmp, name)) for sid, name in SESSIONS.items()}


        async def joiner():
            await asyncio.sleep(0)
            SESSIONS["late"] = "late.txt"


        async def main(tmp):
            await asyncio.to_thread(seed, tmp, {"s1.txt": "", "s3.txt": ""})
            try:
                found, _ = await asyncio.gather(sweep(tmp), joiner())
            except RuntimeError as error:
                return str(error)
            return found
        """,
        code="LS240",
    ),
    report(
        "r30_call_in_try_whose_handler_swallows_cancellation",
        "an await in a try under `except BaseException: pass`: the cancel() is swallowed and the loop goes on",
        r"""
        import time


        async def poll(log):
            for _ in range(3):
                try:
                    time.sleep(0.01)  # hazard
                except BaseException:
                    log.append("swallowed")
                await asyncio.sleep(0)  # where the original is cancelled
            log.append("finished")


        async def main(tmp):
            log = []
            task = asyncio.create_task(poll(log))
            await asyncio.sleep(0)  # the poller starts
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                log.append("cancelled")
            return log
        """,
        r"""
        import time


        async def poll(log):
            for _ in range(3):
                try:
                    await asyncio.sleep(0.01)
                except BaseException:
                    log.append("swallowed")
                await asyncio.sleep(0)  # where the original is cancelled
            log.append("finished")


        async def main(tmp):
            log = []
            task = asyncio.create_task(poll(log))
            await asyncio.sleep(0)  # the poller starts
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                log.append("cancelled")
            return log
        """,
        code="LS251",
    ),
    report(
        "r31_call_under_suppress_of_a_constant_tuple",
        "`suppress(*CANCELS)` with CancelledError in the module constant: a `while True` poller never ends",
        r"""
        import contextlib

        CANCELS = (asyncio.CancelledError, OSError)


        async def poll(tmp, log, stop):
            while not stop:
                with contextlib.suppress(*CANCELS):
                    log.append(os.path.exists(os.path.join(tmp, "ready")))  # hazard
                await asyncio.sleep(0)  # where the original is cancelled


        async def main(tmp):
            log = []
            stop = []
            task = asyncio.create_task(poll(tmp, log, stop))
            await asyncio.sleep(0)  # the poller starts
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=0.3)
            stop.append(True)  # ends the poller that cancel() did not
            await asyncio.wait({task})
            return "cancelled" if done and task.cancelled() else "still running after cancel()"
        """,
        r"""
        import contextlib

        CANCELS = (asyncio.CancelledError, OSError)


        async def poll(tmp, log, stop):
            while not stop:
                with contextlib.suppress(*CANCELS):
                    log.append(await asyncio.to_thread(os.path.exists, os.path.join(tmp, "ready")))
                await asyncio.sleep(0)  # where the original is cancelled


        async def main(tmp):
            log = []
            stop = []
            task = asyncio.create_task(poll(tmp, log, stop))
            await asyncio.sleep(0)  # the poller starts
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=0.3)
            stop.append(True)  # ends the poller that cancel() did not
            await asyncio.wait({task})
            return "cancelled" if done and task.cancelled() else "still running after cancel()"
        """,
        code="LS240",
    ),
    report(
        "r32_call_in_handler_before_raise",
        "an await in a handler that re-raises: cancelled there, CancelledError replaces the error (ASYNC120)",
        r"""
        import time


        async def fetch(log):
            try:
                raise ConnectionError("refused")
            except ConnectionError:
                time.sleep(0.01)  # hazard
                log.append("backed off")
                raise


        async def main(tmp):
            log = []
            task = asyncio.create_task(fetch(log))
            await asyncio.sleep(0)  # fetch starts
            task.cancel()
            try:
                await task
            except BaseException as error:  # noqa: BLE001 - which one is the point
                log.append(type(error).__name__)
            return log
        """,
        r"""
        import time


        async def fetch(log):
            try:
                raise ConnectionError("refused")
            except ConnectionError:
                await asyncio.sleep(0.01)
                log.append("backed off")
                raise


        async def main(tmp):
            log = []
            task = asyncio.create_task(fetch(log))
            await asyncio.sleep(0)  # fetch starts
            task.cancel()
            try:
                await task
            except BaseException as error:  # noqa: BLE001 - which one is the point
                log.append(type(error).__name__)
            return log
        """,
        code="LS251",
    ),
]

CASES = MOVE_CASES + REPORT_CASES
_IDS = [case.name for case in CASES]
assert len(set(_IDS)) == len(_IDS), "case names must be unique"


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_original_is_deterministic(case: Case, tmp_path: Path) -> None:
    """Two runs of the original agree: any difference a rewrite makes is the rewrite's."""
    first = observe(case.source, tmp_path / "first", timeout=case.timeout)
    second = observe(case.source, tmp_path / "second", timeout=case.timeout)
    assert first.error != HANG, f"the original program hangs\n{describe(first)}"
    assert first == second, f"two runs of the original differ\n{describe(first)}\n{describe(second)}"


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_naive_move_changes_behaviour(case: Case, tmp_path: Path) -> None:
    """The hand-written naive move differs from the original: the case has teeth."""
    original = observe(case.source, tmp_path / "original", timeout=case.timeout)
    assert original.error != HANG, f"the original program hangs\n{describe(original)}"
    if not case.naive_compiles:
        with pytest.raises(SyntaxError):
            compile(case.naive, PROGRAM_FILENAME, "exec", dont_inherit=True)
        return
    naive = observe(case.naive, tmp_path / "naive", timeout=case.timeout)
    assert naive != original, (
        f"the naive move behaves like the original: the case does not detect {case.hazard!r}\n"
        f"{describe(original)}"
    )


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_rewrite_keeps_behaviour(case: Case, tmp_path: Path) -> None:
    assert_same_behaviour(case.source, tmp_path, timeout=case.timeout)


@pytest.mark.parametrize("case", MOVE_CASES, ids=[case.name for case in MOVE_CASES])
def test_move_case_is_moved(case: Case, tmp_path: Path) -> None:
    """Safe data flow: the block moves, and the loop is no longer blocked."""
    before = observe(case.source, tmp_path / "original", watched=True)
    assert before.error is not None and before.error.startswith("BlockingError"), (
        f"blockbuster does not see the original block the loop\n{describe(before)}"
    )
    rewritten, _ = rewrite(case.source)
    assert rewritten != case.source
    left = {name: lines for name, lines in coroutine_blocks(rewritten).items() if lines}
    assert not left, f"with blocks left in coroutines (name: lines): {left}\n{rewritten}"
    helpers = [
        node.name
        for node in ast.walk(ast.parse(rewritten))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_blocking_io")
    ]
    assert helpers, f"no _blocking_io helper in the rewrite\n{rewritten}"
    after = observe(rewritten, tmp_path / "rewritten", watched=True)
    assert after.error is None, f"the rewrite still blocks or fails\n{describe(after)}\n{rewritten}"


#: What the report must say for each REPORT case: the hazard itself must be detected,
#: not some other reason that happens to stop the move.
REASONS: dict[str, str] = {
    "r01_bound_on_one_path_only": "`data` is bound on some paths through the block only",
    "r02_global": "declares global",
    "r03_nonlocal": "declares nonlocal",
    "r04_zero_argument_super": "super() without arguments",
    "r05_locals": "calls locals()",
    "r06a_format_exc_in_handler": "`except` handler and calls `traceback.format_exc()`",
    "r06b_bare_raise_in_handler": "bare `raise`",
    "r06c_exc_info_in_handler_fdopen": "`except` handler and calls `sys.exc_info()`",
    "r07_closure_reads_rebound_name": "a function defined in the coroutine",
    "r08_lambda_captures_local": "defines a lambda that reads `column`",
    "r09_next_on_empty_file": "next() without a default",
    "r10a_sqlite_connection_used_in_block": "`db.execute()`",
    "r10b_sqlite_connection_made_in_block": "sqlite3 connection is bound to the thread",
    "r11_event_loop_api_in_block": "`asyncio.get_running_loop()`, which belongs to the event loop",
    "r12a_plugin_loader_uses_the_loop": "`load_plugin()`, code of this module or project",
    "r12b_threading_local": "`audit()`, code of this module or project",
    "r13_import_in_block": "imports modules",
    "r14_partial_state_on_error": "it assigns `total`, which an enclosing `except` or `finally` reads",
    "r15_attribute_shared_with_another_task": "it reads `self.entries`, which other tasks may change",
    "r16_module_dict_shared_with_another_task": "it reads `REGISTRY`, module-level state",
    "r17a_return_in_block": "contains a return",
    "r17b_break_to_outer_loop": "break out of the block",
    "r17c_continue_to_outer_loop": "continue out of the block",
    "r17d_continue_in_for_else": "continue out of the block",
    "r18a_yield_in_block": "contains a yield",
    "r18b_await_in_block": "contains an await",
    "r18c_async_for_in_block": "contains an async for",
    "r18d_async_comprehension_in_block": "contains an async comprehension",
    "r20_finally_reads_rebound_name": "it assigns `stage`, which an enclosing `except` or `finally` reads",
    "r21_block_inside_iteration_over_shared_dict": "inside a loop over `SESSIONS`",
    "r22_block_in_finally_cancelled_again": "inside `finally:`",
    "r23_call_in_finally_cancelled_again": "inside `finally:`",
    "r25_call_under_redirect_stdout": "which holds process-wide state",
    "r27_call_in_loop_over_shared_dict": "inside a loop over `SESSIONS`",
    "r24_call_in_bare_except_swallows_cancellation": "inside a handler that catches cancellation",
    "r28_call_in_class_body_inside_coroutine": "in a class body",
    "r29_comprehension_over_shared_dict": "inside a loop over `SESSIONS`",
    "r30_call_in_try_whose_handler_swallows_cancellation": "whose `except BaseException` handler catches the cancellation",
    "r31_call_under_suppress_of_a_constant_tuple": "which would swallow the cancellation",
    "r32_call_in_handler_before_raise": "inside an `except` handler that raises afterwards:",
}


def test_every_report_case_names_its_reason() -> None:
    assert set(REASONS) == {case.name for case in REPORT_CASES}


@pytest.mark.parametrize("case", REPORT_CASES, ids=[case.name for case in REPORT_CASES])
def test_report_case_is_reported(case: Case) -> None:
    """Unsafe to move: the with line stays as it is and is reported as not fixable."""
    line = case.hazard_line
    rewritten, findings = rewrite(case.source)
    reported = [f for f in findings if f.line == line and f.code == case.code and not f.fixable]
    assert reported and REASONS[case.name] in reported[0].detail, (
        f"no unfixable {case.code} finding on line {line} (hazard: {case.hazard}); findings:\n"
        + "\n".join(map(str, findings))
    )
    with_line = case.source.splitlines()[line - 1]
    assert with_line in rewritten.splitlines(), f"the with line was changed or moved\n{rewritten}"
    if case.also_fixed is not None:
        assert case.also_fixed in rewritten, f"other blocking calls are not fixed\n{rewritten}"


def test_legacy_executor_keeps_context_variables(tmp_path: Path) -> None:
    """Below Python 3.9, ``run_in_executor`` alone runs the call without the task's context
    variables (a request id reads its default in the thread); loopsafe's spelling copies
    the context as ``asyncio.to_thread`` does."""
    source = program(
        r'''
        import sys


        async def main(tmp):
            module = "import contextvars\nREQUEST = contextvars.ContextVar('request', default='none')\n"
            module += "def who():\n    return REQUEST.get()\n"
            await asyncio.to_thread(seed, tmp, {"ctxmod.py": module})
            sys.path.insert(0, tmp)
            import ctxmod

            ctxmod.REQUEST.set("req-42")
            return ctxmod.who()
        '''
    )
    settings = Settings(extra=(user_entry("ctxmod.who"),), target_version=(3, 8))
    rewritten, findings = assert_same_behaviour(source, tmp_path, settings=settings)
    assert "run_in_executor" in rewritten and "copy_context().run" in rewritten
    assert [f.fixable for f in findings if f.name == "ctxmod.who"] == [True]
    naive = rewritten.replace("functools.partial(contextvars.copy_context().run, ctxmod.who)", "ctxmod.who")
    assert naive != rewritten
    assert observe(naive, tmp_path / "naive").result == "'none'"
    assert observe(rewritten, tmp_path / "again").result == "'req-42'"


_AUGMENTED = program(
    r"""
    class Stats:
        def __init__(self):
            self.total = 0


    async def add(stats, path):
        stats.total += os.path.getsize(path)


    async def main(tmp):
        await asyncio.to_thread(seed, tmp, {"a.txt": "x" * 100})
        stats = Stats()
        await asyncio.gather(*(add(stats, os.path.join(tmp, "a.txt")) for _ in range(5)))
        return stats.total
    """
)


def test_augmented_assignment_to_a_shared_target_is_hoisted(tmp_path: Path) -> None:
    """``stats.total += await ...`` reads the target before the await: 5 concurrent adds
    of 100 give 100. The call is evaluated first instead, and the target read with the
    write: 500, as the original (which ran them one after the other)."""
    naive = _AUGMENTED.replace(
        "stats.total += os.path.getsize(path)", "stats.total += await asyncio.to_thread(os.path.getsize, path)"
    )
    assert observe(naive, tmp_path / "naive").result == "100"
    rewritten, findings = assert_same_behaviour(_AUGMENTED, tmp_path)
    assert "_result = await asyncio.to_thread(os.path.getsize, path)\n    stats.total += _result" in rewritten
    assert observe(rewritten, tmp_path / "watched", watched=True).result == "500"


_LOCKED = r"""
import asyncio
import threading
import time

LOCK = threading.Lock()


async def flush(log, name):
    with LOCK:
        time.sleep(0.05)
        log.append(name)


async def main():
    log = []
    await asyncio.gather(flush(log, "a"), flush(log, "b"))
    print(log)


asyncio.run(main())
"""


def test_sleep_under_a_thread_lock_is_not_made_an_await() -> None:
    """``time.sleep`` under ``with threading.Lock():`` turned into ``await asyncio.sleep``
    lets a second task block the loop's only thread on the held lock: a deadlock (the
    program hangs, so it runs in a child process with a timeout). loopsafe reports the
    call and leaves the program as it was."""
    import subprocess
    import sys

    def run(source: str) -> str:
        try:
            done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=5)
        except subprocess.TimeoutExpired:
            return HANG
        return done.stdout.strip()

    naive = _LOCKED.replace("time.sleep(0.05)", "await asyncio.sleep(0.05)")
    assert run(_LOCKED) == "['a', 'b']"
    assert run(naive) == HANG
    rewritten, findings = rewrite(_LOCKED)
    assert rewritten == _LOCKED.lstrip("\n") or rewritten == _LOCKED
    [finding] = findings
    assert not finding.fixable and "which holds process-wide state" in finding.detail


_CANCELLATION_RERAISED = program(
    r"""
    import time


    async def poll(log):
        for _ in range(3):
            try:
                time.sleep(0.01)
            except asyncio.CancelledError:
                raise
            except BaseException:
                log.append("swallowed")
            await asyncio.sleep(0)
        log.append("finished")


    async def main(tmp):
        log = []
        task = asyncio.create_task(poll(log))
        await asyncio.sleep(0)  # the poller starts
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            log.append("cancelled")
        return log
    """
)


def test_try_whose_handler_reraises_cancellation_is_fixed(tmp_path: Path) -> None:
    """The case r30 with `except asyncio.CancelledError: raise` before the broad handler:
    the cancellation the new await can raise goes on, so the call is fixed, and the task
    is cancelled as the original is."""
    rewritten, findings = assert_same_behaviour(_CANCELLATION_RERAISED, tmp_path)
    assert "await asyncio.sleep(0.01)" in rewritten
    assert [f.fixable for f in findings] == [True]
    assert observe(rewritten, tmp_path / "again").result == "['cancelled']"

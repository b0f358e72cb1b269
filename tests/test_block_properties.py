"""Generated coroutines with ``with open(...)`` blocks: the moved blocks must keep behaviour.

A ``with open(...) as f:`` block in a coroutine moves into a local ``def _blocking_io``
run by ``asyncio.to_thread``; names it rebinds travel in as arguments and back as results.
That is data flow, and data flow is where the move goes wrong. The generator below builds
small coroutines over a handful of names reused everywhere (``a b c n i data text line f
g``): assignments, augmented assignments, ``del``, branches that bind on one path only,
``for`` and ``while`` loops with blocks inside (reading what earlier iterations left),
``try``/``except``/``finally`` around blocks, walrus, tuple unpacking, prints of
variables that may be unbound, several blocks sharing the handle name ``f``, nested
``with open``, breaks and returns. The properties:

- P1: the rewrite compiles (``compile()``) and a second pass changes nothing;
- P2: the original and the rewrite behave the same (``tests.differential``): printed
  output, return value, exception (``UnboundLocalError`` is not ``NameError``), files;
- P3: on a fixed list of plain programs the block IS moved (so "report everything" fails)
  and behaves the same.

``hypothesis.event`` records whether each generated block was moved or reported (and
why): run with ``--hypothesis-show-statistics`` to see the ratio.

Profiles as in ``tests/test_fuzz.py``: ``ci`` (the default, bounded: about 10 s) and
``dev`` (``HYPOTHESIS_PROFILE=dev pytest tests/test_block_properties.py``, a few minutes).
In ``dev`` each shape of difference (``error: ok -> UnboundLocalError (an argument)``,
``stdout: ok -> ok``...) fails as its own exception type, so hypothesis shrinks and
reports every shape it meets, not only the first.
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from codemods.findings import Finding
from tests.differential import assert_same_behaviour, observe, rewrite
from tests.fixture_cases import listed

T = TypeVar("T")

# The same profiles as tests/test_fuzz.py (registered here too, so this file runs alone).
_QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=_QUIET)
settings.register_profile("dev", max_examples=2000, deadline=None, suppress_health_check=_QUIET)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)

#: Examples per property: bounded in ``ci`` (each behaviour example runs two programs),
#: thousands in ``dev``.
_LONG = PROFILE != "ci"
COMPILE_EXAMPLES = 5000 if _LONG else 80
BEHAVIOUR_EXAMPLES = 3000 if _LONG else 60

INTS = ["a", "b", "c", "n", "i"]
STRS = ["data", "text", "line"]
HANDLES = ["f", "g"]
NAMES = INTS + STRS + HANDLES
TEXT_FILES = ["x.txt", "y.txt"]
JSON_FILE = "d.json"
MISSING = "missing.txt"

HEADER = "import json\n\n\nasync def main(tmp):\n"
MAX_LINES = 18  # besides the prologue binding the names


class _Handle:
    """A name bound by ``with open(...) as name`` in the block being generated."""

    def __init__(self, name: str, file: str, mode: str) -> None:
        self.name = name
        self.file = file
        self.mode = mode
        self.open = True

    @property
    def json(self) -> bool:
        return self.file == JSON_FILE


class _Builder:
    """Draws one coroutine body as indented lines; every choice shrinks toward the simplest."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.budget = MAX_LINES
        self.written: set[str] = set()  # files some earlier block writes (maybe on a path not taken)
        self.loops = 0  # enclosing loops (break/continue are valid)
        self.handles: list[_Handle] = []  # open handles, innermost last
        self.counters = 0  # while-loop counters w0, w1, ... (never assigned elsewhere)
        self.depth = 0

    # -- drawing helpers ---------------------------------------------------------------

    def pick(self, options: Sequence[T]) -> T:
        return options[self.draw(st.integers(0, len(options) - 1))]

    def weighted(self, *options: tuple[int, Callable[[], T]]) -> T:
        """Calls one of the options, chosen by weight; the first option is the simplest."""
        total = sum(w for w, _ in options)
        roll = self.draw(st.integers(0, total - 1))
        for weight, make in options:
            if roll < weight:
                return make()
            roll -= weight
        raise AssertionError("unreachable")

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) >= 100 - percent

    # -- expressions -------------------------------------------------------------------

    def int_name(self) -> str:
        return self.pick(INTS)

    def str_name(self) -> str:
        return self.pick(STRS)

    def int_expr(self, depth: int = 0) -> str:
        if depth > 1:
            return self.pick(["0", "1", "2", self.int_name()])
        return self.weighted(
            (3, lambda: str(self.pick([0, 1, 2, 3]))),
            (5, self.int_name),
            (3, lambda: f"{self.int_name()} + {self.pick([1, 2])}"),
            (2, lambda: f"{self.int_name()} * 2"),
            (2, lambda: f"{self.int_name()} - {self.int_expr(depth + 1)}"),
            (3, lambda: f"len({self.str_name()})"),
            (1, lambda: f"len(str({self.pick(NAMES[:-2])}))"),
            (1, lambda: f"10 // {self.int_name()}"),
            (2, lambda: f"(n := {self.int_expr(depth + 1)})"),
        )

    def str_expr(self) -> str:
        return self.weighted(
            (3, lambda: repr(self.pick(["ab", "x\n", "", "1 2\n3\n"]))),
            (4, self.str_name),
            (3, lambda: f"str({self.int_name()})"),
            (2, lambda: f"str({self.str_name()}) + {self.pick(['.', 'y'])!r}"),
            (1, lambda: f"str({self.str_name()}).strip()"),
            (1, lambda: f"str({self.str_name()})[:2]"),
        )

    def condition(self) -> str:
        return self.weighted(
            (3, lambda: f"{self.int_name()} > {self.pick([0, 1, 2])}"),
            (2, lambda: f"{self.int_name()} == {self.pick([0, 1, 2])}"),
            (2, lambda: f"{self.int_name()} % 2 == 0"),
            (2, self.str_name),
            (2, lambda: f"len({self.str_name()}) > {self.pick([0, 2])}"),
            (1, lambda: f"(n := {self.int_expr(1)}) > 1"),
            (1, lambda: f"{self.pick(HANDLES)}.closed"),
        )

    def printed(self, name: str) -> str:
        return f"{name}.closed" if name in HANDLES else name

    # -- statements --------------------------------------------------------------------

    def body(self, most: int, make: Callable[[], list[str]]) -> list[str]:
        """At least one statement (``pass`` when the budget is spent), at most ``most``."""
        lines: list[str] = []
        for index in range(most):
            # "One more?" drawn before each statement but the first: the shrinker deletes
            # statements one at a time.
            if self.budget <= 0 or (index and not self.chance(55)):
                break
            lines += make()
        return lines or self.line("pass")

    def line(self, text: str) -> list[str]:
        self.budget -= 1
        return [text]

    def nested(self, header: str, make_body: Callable[[], list[str]]) -> list[str]:
        self.budget -= 1
        self.depth += 1
        try:
            inner = make_body()
        finally:
            self.depth -= 1
        return [header] + ["    " + line for line in inner]

    def simple(self) -> list[str]:
        """A one-line statement valid anywhere."""
        return self.weighted(
            (6, lambda: self.line(f"{self.int_name()} = {self.int_expr()}")),
            (4, lambda: self.line(f"{self.str_name()} = {self.str_expr()}")),
            (4, lambda: self.line(f"print({self.pick(['1', '2', '3'])!r}, " + ", ".join(
                self.printed(self.pick(NAMES)) for _ in range(self.draw(st.integers(1, 3)))) + ")")),
            (4, lambda: self.line(f"{self.int_name()} += {self.int_expr(1)}")),
            (1, lambda: self.line(f"{self.pick(['text', 'line'])} += {self.str_expr()}")),
            (2, lambda: self.line(f"del {self.pick(NAMES)}")),
            (2, lambda: self.line(self.pick([
                "a, b = b, a", "a, n = n, a", "n, text = len(text), str(n)", "c, data = 1, 'z'",
                "i, line = 0, text", "a, b = b, c + 1",
            ]))),
            (1, lambda: self.line(f"print('w', (n := {self.int_expr(1)}))")),
            (1, lambda: self.line(f"{self.pick(HANDLES)} = None")),
        )

    def break_or_continue(self) -> list[str]:
        return self.line(self.pick(["break", "continue"]))

    def ret(self) -> list[str]:
        names = [self.pick(NAMES[:-2]) for _ in range(self.draw(st.integers(0, 2)))]
        return self.line("return " + ", ".join(names) if names else "return")

    def if_statement(self, make: Callable[[], list[str]]) -> list[str]:
        lines = self.nested(f"if {self.condition()}:", lambda: self.body(2, make))
        if self.chance(45) and self.budget > 0:
            lines += self.nested("else:", lambda: self.body(2, make))
        return lines

    def for_statement(self, make: Callable[[], list[str]]) -> list[str]:
        target = self.pick(["i", "i", "a", "n"])
        header = f"for {target} in range({self.pick([2, 0, 1, 3])}):"
        return self.loop(header, [], make)

    def while_statement(self, make: Callable[[], list[str]]) -> list[str]:
        counter = f"w{self.counters}"
        self.counters += 1
        limit = self.pick([2, 1, 3])
        start = self.line(f"{counter} = 0")
        if self.chance(50):
            return start + self.loop(f"while {counter} < {limit}:", [f"{counter} += 1"], make)
        # ``while True`` left by a break.
        return start + self.loop("while True:", [f"{counter} += 1", f"if {counter} > {limit}:", "    break"], make)

    def loop(self, header: str, first: list[str], make: Callable[[], list[str]]) -> list[str]:
        self.budget -= len(first)
        self.loops += 1
        try:
            return self.nested(header, lambda: first + self.body(3, make))
        finally:
            self.loops -= 1

    def try_statement(self, make: Callable[[], list[str]]) -> list[str]:
        lines = self.nested("try:", lambda: self.body(3, make))
        caught = self.pick(["Exception", "OSError", "ZeroDivisionError", "(ValueError, OSError)", "NameError"])

        def handler() -> list[str]:
            lines = self.line("print('E', type(e).__name__, " + self.printed(self.pick(NAMES)) + ")")
            if self.chance(40):
                lines += self.simple()
            return lines

        lines += self.nested(f"except {caught} as e:", handler)
        if self.chance(35) and self.budget > 0:
            lines += self.nested("finally:", lambda: self.body(2, lambda: self.simple()))
        return lines

    # -- with open blocks --------------------------------------------------------------

    def with_open(self) -> list[str]:
        name = self.pick(["f", "f", "f", "g"])
        mode = self.weighted((5, lambda: "w"), (5, lambda: "r"), (2, lambda: "a"))
        if mode == "r":
            known = sorted(self.written)
            if known and not self.chance(12):
                file = self.pick(known)
            else:
                file = self.pick([MISSING, *TEXT_FILES, JSON_FILE])
        else:
            file = self.pick([*TEXT_FILES, JSON_FILE]) if mode == "w" else self.pick(TEXT_FILES)
            self.written.add(file)
        spelled_mode = self.pick(["", f", {mode!r}"]) if mode == "r" else f", {mode!r}"
        header = f"with open(f'{{tmp}}/{file}'{spelled_mode}) as {name}:"
        handle = _Handle(name, file, mode)
        for other in self.handles:
            if other.name == name:
                other.open = False  # the same name now holds the inner file
        self.handles.append(handle)
        try:
            return self.nested(header, lambda: self.block_body(handle))
        finally:
            self.handles.pop()

    def block_body(self, handle: _Handle) -> list[str]:
        lines: list[str] = []
        if handle.json and handle.mode == "w":
            lines += self.line(f"json.dump({self.json_value()}, {handle.name})")
        lines += self.body(4, self.block_statement)
        return lines

    def json_value(self) -> str:
        return self.pick([
            "[a, n]", "{'n': n}", "text", "[i, line]", "{'a': a, 'data': data}", "b",
        ])

    def handle_statement(self) -> list[str]:
        handles = [h for h in self.handles if h.open]
        if not handles:
            return self.simple()
        h = self.pick(handles)
        assert isinstance(h, _Handle)
        if h.mode in ("w", "a"):
            if h.json:
                return self.line(f"{self.int_name()} = {self.int_expr()}")
            return self.weighted(
                (3, lambda: self.line(f"{h.name}.write({self.str_expr()})")),
                (3, lambda: self.line(f"{h.name}.write(str({self.int_expr()}))")),
                (1, lambda: self.line(f"{h.name}.write(str({self.pick(STRS)}) + '\\n')")),
            )
        if h.json:
            return self.weighted(
                (3, lambda: self.line(f"data = json.load({h.name})")),
                (1, lambda: self.line(f"n = len(json.load({h.name}))")),
                (1, lambda: self.line(f"text = {h.name}.read()")),
            )
        return self.weighted(
            (3, lambda: self.line(f"{self.str_name()} = {h.name}.read()")),
            (3, lambda: self.line_loop(h)),
            (2, lambda: self.line(f"line = {h.name}.readline()")),
            (1, lambda: self.line(f"n = len({h.name}.read())")),
        )

    def line_loop(self, h: _Handle) -> list[str]:
        def loop_body() -> list[str]:
            lines = self.line(self.pick(["n += 1", "n = n + len(line)", "text = line", "c += 1"]))
            if self.chance(40):
                lines += self.nested(f"if {self.condition()}:", lambda: self.break_or_continue())
            if self.chance(30):
                lines += self.block_statement()
            return lines

        self.loops += 1
        try:
            return self.nested(f"for line in {h.name}:", loop_body)
        finally:
            self.loops -= 1

    def block_statement(self) -> list[str]:
        """A statement inside a with block."""
        deep = self.depth >= 4 or self.budget < 4
        options: list[tuple[int, Callable[[], list[str]]]] = [
            (12, self.handle_statement),
            (12, self.simple),
        ]
        if not deep:
            options += [
                (4, lambda: self.if_statement(self.block_statement)),
                (4, lambda: self.for_statement(self.block_statement)),
                (1, lambda: self.while_statement(self.block_statement)),
                (2, lambda: self.try_statement(self.block_statement)),
                (2, self.with_open),
            ]
        if self.loops:
            # An inner loop's break, or (no loop in the block) one aimed at a loop outside it.
            options.append((2, lambda: self.nested(f"if {self.condition()}:", self.break_or_continue)))
        options.append((1, lambda: self.nested(f"if {self.condition()}:", self.ret)))
        return self.weighted(*options)

    # -- the coroutine -----------------------------------------------------------------

    def statement(self) -> list[str]:
        """A statement of the coroutine, outside any with block."""
        deep = self.depth >= 3 or self.budget < 5
        options: list[tuple[int, Callable[[], list[str]]]] = [(12, self.simple), (12, self.with_open)]
        if self.loops:
            options.append((4, self.with_open))  # blocks in loops: values from earlier iterations
        if not deep:
            options += [
                (4, lambda: self.if_statement(self.statement)),
                (4, lambda: self.for_statement(self.statement)),
                (2, lambda: self.while_statement(self.statement)),
                (3, lambda: self.try_statement(self.statement)),
            ]
        if self.loops:
            options.append((2, lambda: self.nested(f"if {self.condition()}:", self.break_or_continue)))
        options.append((1, lambda: self.nested(f"if {self.condition()}:", self.ret)))
        return self.weighted(*options)

    def prologue(self) -> list[str]:
        """Most names start bound, so that most programs reach their blocks; some don't."""
        lines = []
        for name in INTS + STRS:
            if self.chance(70):
                value = self.pick([1, 0, 2, 3]) if name in INTS else self.pick(["ab", "", "7\n"])
                lines.append(f"{name} = {value!r}")
        return lines

    def program(self) -> str:
        lines: list[str] = self.prologue()
        for _ in range(7):
            if self.budget <= 0 or not self.chance(80):
                break
            lines += self.statement()
        if not any("with open" in line for line in lines):
            lines += self.with_open()  # every program has a block
        if self.chance(60):
            lines += self.ret()
        return HEADER + "".join(f"    {line}\n" for line in lines)


@st.composite
def coroutine_programs(draw: st.DrawFn) -> str:
    source = _Builder(draw).program()
    compile(source, "<generated>", "exec", dont_inherit=True)  # the generator only makes valid code
    return source


# -- classification for the statistics ------------------------------------------------

_BLOCK = re.compile(r"^\s*with open\(", re.MULTILINE)


def _record(source: str, output: str, findings: list[Finding]) -> None:
    blocks = len(_BLOCK.findall(source))
    moved = len(re.findall(r"^\s*def _blocking_io", output, re.MULTILINE))
    if moved == 0:
        event("blocks: none moved")
    elif moved >= blocks:
        event("blocks: all moved")
    else:
        event("blocks: some moved")
    for finding in findings:
        if not finding.fixable and "cannot move" in finding.detail:
            reason = finding.detail.split("cannot move to a thread: ", 1)[-1]
            reason = re.sub(r"`[^`]*`", "`_`", reason).split(": ")[0]  # one event per kind of reason
            event(f"reported: {reason[:90]}")


# -- P1: compiles, idempotent ----------------------------------------------------------


#: Programs these properties once failed on (minimal forms), replayed on every run.
REGRESSIONS = [
    # Two blocks share `f`, read before either: moving both must keep `f` a local.
    HEADER + "    print(f.closed)\n    with open(f'{tmp}/x.txt', 'w') as f:\n        pass\n"
    "    with open(f'{tmp}/y.txt', 'w') as f:\n        pass\n",
    # A block that stays reads `c` before its only binding, in a block that moves.
    HEADER + "    b = 1\n    n = 1\n    a = 0\n    with open(f'{tmp}/missing.txt') as f:\n        text = 'ab'\n"
    "        a, b = b, c + 1\n        for line in f:\n            n += 1\n"
    "    with open(f'{tmp}/d.json', 'w') as f:\n        json.dump([a, n], f)\n        c = 0\n",
    # `f = None` elsewhere must not hide that `f` is the block's own file inside it.
    HEADER + "    with open(f'{tmp}/x.txt', 'w') as f:\n        f = None\n"
    "    with open(f'{tmp}/x.txt', 'w') as f:\n        f.write('ab')\n",
    # Two blocks bind `f`, read outside both; the later one deletes it: the first block
    # keeps `f` a local, so the second moves on both passes (idempotent).
    HEADER + "    with open(f'{tmp}/d.json', 'w') as f:\n        json.dump([1], f)\n    a = 0\n"
    "    if a > 1:\n        print(f.closed)\n    else:\n        with open(f'{tmp}/d.json', 'w') as f:\n"
    "            json.dump([a], f)\n            del f\n",
    # A nested block that moves takes the enclosing block's only binding of `line` with it.
    HEADER + "    print('1', line)\n    with open(f'{tmp}/missing.txt') as f:\n"
    "        with open(f'{tmp}/missing.txt') as f:\n            if a > 0:\n                line = f.read()\n",
    # An inner `with open(...) as f` keeps `f` a file in the outer block (idempotent).
    HEADER + "    a = 0\n    if a > 0:\n        del a\n        for i in range(2):\n"
    "            with open(f'{tmp}/x.txt', 'w') as f:\n                f.write('ab')\n"
    "                with open(f'{tmp}/x.txt', 'w') as f:\n                    f.write('ab')\n"
    "    with open(f'{tmp}/x.txt', 'w') as f:\n        f = None\n",
    # A name bound only in a block, read earlier in the loop: it must stay a local.
    HEADER + "    for i in range(2):\n        if i:\n            print(text)\n"
    "        with open(f'{tmp}/x.txt', 'w') as f:\n            text = str(i)\n",
    # A block that stays holds one that moves: after the fix, check gives the outer block's
    # own reason (a read before binding), not "it defines `_blocking_io`".
    HEADER + "    with open(f'{tmp}/d.json', 'w') as f:\n        json.dump([a, n], f)\n        a = 0\n"
    "        with open(f'{tmp}/x.txt', 'w') as f:\n            f.write('ab')\n",
    # The same, where the moved block returns the file it rebinds: `f` must stay a file.
    HEADER + "    with open(f'{tmp}/missing.txt') as f:\n        for i in range(2):\n            del a\n"
    "            data = f.read()\n            with open(f'{tmp}/x.txt', 'w') as f:\n                f.write('ab')\n",
]


def _with_regressions(test: Callable[[str], None]) -> Callable[[str], None]:
    for source in REGRESSIONS:
        test = example(source)(test)
    return test


@_with_regressions
@given(coroutine_programs())
@settings(max_examples=COMPILE_EXAMPLES)
def test_rewrite_compiles_and_is_idempotent(source: str) -> None:
    output, findings = rewrite(source)
    _record(source, output, findings)
    compile(output, "<rewritten>", "exec", dont_inherit=True)
    again, after = rewrite(output)
    assert again == output, "a second pass changed the rewrite"
    assert listed(after) == listed(findings, reported_only=True), "check after fix differs"


# -- P2: same behaviour ----------------------------------------------------------------


#: One AssertionError subclass per shape of difference, so that a long run (``dev``)
#: shrinks and reports each shape on its own instead of the first one found.
_SHAPES: dict[str, type[AssertionError]] = {}


def _shape(source: str, directory: Path) -> str:
    """How the rewrite's behaviour differs, e.g. ``error: ok -> UnboundLocalError (argument)``."""
    output, _ = rewrite(source)
    before = observe(source, directory / "shape-original")
    after = observe(output, directory / "shape-rewritten")
    fields = ("error", "result", "stdout", "files")
    differing = [field for field in fields if getattr(before, field) != getattr(after, field)]

    def kind(error: str | None) -> str:
        return "ok" if error is None else error.split(":", 1)[0]

    shape = f"{'+'.join(differing) or 'nothing'}: {kind(before.error)} -> {kind(after.error)}"
    unbound = re.search(r"(?:local|free) variable '(\w+)'", after.error or "")
    if unbound and kind(before.error) != kind(after.error):
        name = unbound.group(1)
        helpers = re.findall(r"def _blocking_io\w*\(([^)]*)\)", output)
        returned = re.findall(r"^\s*return (.*)$", output, re.MULTILINE)
        if any(name in params.replace(" ", "").split(",") for params in helpers):
            shape += " (an argument)"
        elif any(re.search(rf"\b{name}\b", line) for line in returned):
            shape += " (a result)"
        else:
            shape += " (read in the helper)"
    return shape


@_with_regressions
@given(coroutine_programs())
@settings(max_examples=BEHAVIOUR_EXAMPLES)
def test_rewrite_behaves_the_same(source: str) -> None:
    with tempfile.TemporaryDirectory(prefix="loopsafe-prop-") as directory:
        try:
            output, findings = assert_same_behaviour(source, Path(directory))
        except AssertionError as difference:
            if not _LONG:
                raise
            shape = _shape(source, Path(directory))
            kind = _SHAPES.setdefault(
                shape, type("Difference", (AssertionError,), {"__qualname__": f"Difference[{shape}]"})
            )
            raise kind(f"{shape}\n{difference}") from None
    _record(source, output, findings)


# -- P3: plain programs are moved ------------------------------------------------------

PLAIN = {
    "straight_line": """
        text = 'hello'
        with open(f'{tmp}/x.txt', 'w') as f:
            f.write(text)
        with open(f'{tmp}/x.txt') as f:
            data = f.read()
        print(data)
        return data
    """,
    "block_in_a_loop": """
        for i in range(3):
            with open(f'{tmp}/x.txt', 'a') as f:
                f.write(str(i))
        with open(f'{tmp}/x.txt') as f:
            print(f.read())
    """,
    "result_used_later": """
        with open(f'{tmp}/x.txt', 'w') as f:
            f.write('1 2\\n3\\n')
        n = 0
        with open(f'{tmp}/x.txt') as f:
            for line in f:
                n += 1
        print(n)
        return n
    """,
    "two_blocks_share_f": """
        with open(f'{tmp}/x.txt', 'w') as f:
            f.write('a')
        with open(f'{tmp}/y.txt', 'w') as f:
            f.write('b')
        print(f.closed)
    """,
    "accumulator_across_iterations": """
        total = 0
        for i in range(3):
            with open(f'{tmp}/x.txt', 'w') as f:
                f.write(str(total))
            total = total + i
        print(total)
        return total
    """,
    "json_round_trip": """
        data = {'a': 1, 'b': [1, 2]}
        with open(f'{tmp}/d.json', 'w') as f:
            json.dump(data, f)
        with open(f'{tmp}/d.json') as f:
            loaded = json.load(f)
        return loaded == data, loaded
    """,
    "rebinds_an_argument": """
        text = 'x'
        with open(f'{tmp}/x.txt', 'w') as f:
            f.write(text)
            text = text + 'y'
        print(text)
    """,
    "block_in_a_branch": """
        n = 2
        if n > 1:
            with open(f'{tmp}/x.txt', 'w') as f:
                f.write(str(n))
        else:
            n = 0
        return n
    """,
    "inner_loop_with_break": """
        with open(f'{tmp}/x.txt', 'w') as f:
            f.write('a\\nb\\nc\\n')
        count = 0
        with open(f'{tmp}/x.txt') as f:
            for line in f:
                if line.startswith('b'):
                    break
                count += 1
        print(count)
    """,
    "missing_file_in_try": """
        try:
            with open(f'{tmp}/missing.txt') as f:
                data = f.read()
        except FileNotFoundError as e:
            print('missing', type(e).__name__)
    """,
}


def _plain(body: str) -> str:
    return HEADER + textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", "    ")


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_blocks_are_moved(name: str, tmp_path: Path) -> None:
    source = _plain(PLAIN[name])
    output, _ = assert_same_behaviour(source, tmp_path)
    assert "_blocking_io" in output and "to_thread" in output, f"the block was not moved:\n{output}"
    assert output.count("def _blocking_io") == len(_BLOCK.findall(source)), output


#: What the generator must reach, as patterns over the coroutine's body.
VARIETY = {
    "del": r"^\s*del \w+$",
    "for loop": r"^\s*for \w+ in range\(",
    "while loop": r"^\s*while ",
    "try/except": r"^\s*except .* as e:$",
    "finally": r"^\s*finally:$",
    "walrus": r":= ",
    "tuple unpacking": r"^\s*\w+, \w+ = ",
    "augmented assignment": r"^\s*\w+ \+= ",
    "else branch": r"^\s*else:$",
    "json.dump": r"json\.dump\(",
    "json.load": r"json\.load\(",
    "for line in a handle": r"^\s*for line in [fg]:$",
    "break": r"^\s*break$",
    "return": r"^\s*return\b",
    "block in a loop or branch": r"^ {8,}with open",
    "nested block": r"^( +)with open.*\n(?:\1 +\S.*\n)*?\1 +with open",
    "two blocks share f": r"as f:(.*\n)+.*as f:",
    "missing file": r"missing\.txt",
}


def test_generator_variety() -> None:
    """The generator reaches the constructs it is meant to stress (cheap: nothing runs)."""
    seen: set[str] = set()

    @given(coroutine_programs())
    @settings(max_examples=300, database=None, derandomize=True, phases=[Phase.generate])
    def collect(source: str) -> None:
        body = source.split("async def main(tmp):\n", 1)[1]
        seen.update(name for name, pattern in VARIETY.items() if re.search(pattern, body, re.MULTILINE))

    collect()
    assert not VARIETY.keys() - seen, sorted(VARIETY.keys() - seen)


def test_matches_any_answers_the_same_through_its_split_of_a_catalog_tuple() -> None:
    """``matches_any`` splits a catalog tuple once (names, ``module.*`` prefixes): the
    answers are those of reading the patterns one by one."""
    from codemods import catalog
    from codemods.analysis.block_analysis import matches_any

    tuples = [v for v in vars(catalog).values() if isinstance(v, tuple) and len(v) > 4 and all(isinstance(p, str) for p in v)]
    names = {"", "os", "os.path.join", "builtins.open"}
    for patterns in tuples:
        for p in patterns:
            names |= {p, p[:-1], p[:-1] + "x.y", p + "z", p.rsplit(".", 1)[0]}
    for patterns in tuples:
        for name in names:
            one_by_one = any(name == p or (p.endswith(".*") and name.startswith(p[:-1])) for p in patterns)
            assert matches_any(name, patterns) == one_by_one, (name, patterns[:3])

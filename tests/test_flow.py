"""The data-flow analyses (``codemods.analysis.flow``) on the shapes that decide a block's plan."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from codemods.analysis.flow import FunctionFlow


def _flow(source: str) -> tuple[FunctionFlow, ast.With]:
    """The flow of the only function in ``source``, about its ``with ... as marked`` block."""
    function = ast.parse(textwrap.dedent(source)).body[0]
    assert isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
    marked = [
        node for node in ast.walk(function)
        if isinstance(node, ast.With) and any(
            isinstance(i.optional_vars, ast.Name) and i.optional_vars.id == "marked" for i in node.items
        )
    ]
    assert len(marked) == 1
    return FunctionFlow(function, marked), marked[0]


@pytest.mark.parametrize(
    ("source", "bound"),
    [
        # Bound on both branches, one branch leaves, a loop that may not run.
        ("async def f(p):\n if p: x = 1\n else: x = 2\n with open(p) as marked: pass", {"p", "x"}),
        ("async def f(p):\n if p: x = 1\n else: return\n with open(p) as marked: pass", {"p", "x"}),
        ("async def f(p):\n for i in p: x = 1\n with open(p) as marked: pass", {"p"}),
        # while True only ends by break: what was bound before every break.
        ("async def f(p):\n while True:\n  x = 1\n  if p: break\n with open(p) as marked: pass", {"p", "x"}),
        # for/else: the else runs when no break happened.
        ("async def f(p):\n for i in p:\n  x = 1\n  break\n else:\n  x = 2\n with open(p) as marked: pass",
         {"p", "x"}),
        # A handler that raises does not reach the block; one that passes does.
        ("async def f(p):\n try: x = 1\n except E: raise\n with open(p) as marked: pass", {"p", "x"}),
        ("async def f(p):\n try: x = 1\n except E: pass\n with open(p) as marked: pass", {"p"}),
        # `except ... as e` unbinds e after the handler; del unbinds too.
        ("async def f(p):\n try: pass\n except E as e: pass\n with open(p) as marked: pass", {"p"}),
        ("async def f(p):\n x = 1\n del x\n with open(p) as marked: pass", {"p"}),
        # A walrus binds for sure only where it surely runs.
        ("async def f(p):\n if (x := p) and (y := p): pass\n with open(p) as marked: pass", {"p", "x"}),
        # Bindings of a loop body reach the block on the next iteration only if surely bound.
        ("async def f(p):\n for i in p:\n  with open(p) as marked: pass\n  x = 1", {"p", "i"}),
        # match: a case that binds, and the path where no case matches.
        ("async def f(p):\n match p:\n  case [x]: pass\n  case _: x = 0\n with open(p) as marked: pass",
         {"p", "x"}),
        ("async def f(p):\n match p:\n  case [x]: pass\n with open(p) as marked: pass", {"p"}),
    ],
)
def test_surely_bound_before_the_block(source: str, bound: set[str]) -> None:
    flow, block = _flow(source)
    assert flow.bound_before[block] == frozenset(bound)


@pytest.mark.parametrize(
    ("source", "live", "on_error"),
    [
        ("async def f(p):\n with open(p) as marked: x = 1\n return x", {"x"}, set()),
        # Rebound before any read: not live.
        ("async def f(p):\n with open(p) as marked: x = 1\n x = 2\n return x", set(), set()),
        # Read on the next iteration, before it is bound again there.
        ("async def f(p):\n for i in p:\n  print(x)\n  with open(p) as marked: x = 1", {"x", "p"}, set()),
        # Read by a closure, which may run at any time.
        ("async def f(p):\n g = lambda: x\n with open(p) as marked: x = 1\n x = 2\n return g", {"x", "g"}, {"x"}),
        # Read by a handler of an enclosing try, and by a finally.
        ("async def f(p):\n n = 0\n try:\n  with open(p) as marked: n = 1\n except E:\n  print(n)", set(), {"n"}),
        ("async def f(p):\n n = 0\n try:\n  with open(p) as marked: n = 1\n finally:\n  print(n)", {"n"}, {"n"}),
        # A handler that falls through to a read after the try.
        ("async def f(p):\n try:\n  with open(p) as marked: n = 1\n except E:\n  pass\n return n", {"n"}, {"n"}),
    ],
)
def test_read_after_the_block(source: str, live: set[str], on_error: set[str]) -> None:
    flow, block = _flow(source)
    assert flow.live_after[block] & flow.locals - {"marked"} == frozenset(live)
    assert flow.live_on_error[block] & flow.locals == frozenset(on_error)


def test_locals_exclude_global_and_nonlocal_declarations() -> None:
    flow, _ = _flow("async def f(p):\n global g\n g = 1\n with open(p) as marked: y = [z for z in p]")
    assert flow.locals == {"p", "marked", "y"}
    assert flow.declared_global == {"g"}


def test_walks_see_what_ast_walk_sees() -> None:
    """``walk`` and ``child_nodes`` are ``ast.walk`` and ``ast.iter_child_nodes`` (order
    included); ``walk_syntax`` gives the same nodes but contexts and operators."""
    import codemods.analysis.finder as sample
    from codemods.analysis.flow import child_nodes, walk, walk_syntax

    source = Path(sample.__file__).read_text() + (
        "\nmatch x:\n    case {'a': [1, *rest], **kw} if not a < b: pass\n    case C(y=z) | None: pass\n"
        "try:\n    pass\nexcept* E as e:\n    del a.b, c[d]\nf'{x!r:>{w}}'\nlambda *a, k=1, **kw: (yield)\n"
    )
    tree = ast.parse(source)
    assert list(walk(tree)) == list(ast.walk(tree))
    assert all(child_nodes(n) == list(ast.iter_child_nodes(n)) for n in ast.walk(tree))
    markers = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
    expected = [n for n in ast.walk(tree) if not isinstance(n, markers)]
    found = list(walk_syntax(tree))
    assert len(found) == len(expected) and {id(n) for n in found} == {id(n) for n in expected}

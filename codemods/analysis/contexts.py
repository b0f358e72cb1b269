"""Where code in a coroutine runs, and why an await may not be added there: the
contexts the finder (``codemods.analysis.finder``) pushes while it walks a module."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterable, Sequence

from codemods.analysis.flow import child_nodes
from codemods.analysis.bindings import ModuleScopes, Scope, resolve
from codemods.catalog import CANCELLATION


@dataclass(frozen=True)
class Context:
    """Where the code being visited runs."""

    in_coroutine: bool
    #: Set when the code is in a coroutine but an ``await`` may not be added there.
    no_await_reason: str | None = None
    #: Inside a ``with`` block that moves to a worker thread as a whole.
    moving: bool = False

    @property
    def rewritable(self) -> bool:
        """An await may be added here (a moving block has a reason too: never rewritable)."""
        return self.in_coroutine and self.no_await_reason is None


NOT_COROUTINE = Context(in_coroutine=False)
COROUTINE = Context(in_coroutine=True)
GENERATOR_EXPRESSION = Context(
    in_coroutine=True,
    no_await_reason=(
        "inside a generator expression, where an await would turn it into an async "
        "generator; use a list comprehension or move the call out"
    ),
)
MOVING_BLOCK = Context(
    in_coroutine=True,
    no_await_reason="it moves to a worker thread with its `with` block",
    moving=True,
)
IN_FINALLY = (
    "inside `finally:`, where an await can be cancelled again and skip the rest of the cleanup; "
    "keep it blocking there, or move the cleanup out of the finally block"
)
IN_CANCELLATION_HANDLER = (
    "inside a handler that catches cancellation (bare `except:`, `BaseException`, `CancelledError`), "
    "where a new await can swallow a cancellation or be cancelled again"
)
SWALLOWS_CANCELLATION = (
    "inside `try:` whose `{}` handler catches the cancellation an await here can raise and does not "
    "re-raise it: the task could no longer be cancelled (in a loop, it never ends); re-raise it "
    "(`except asyncio.CancelledError: raise` before that handler) to have the call fixed"
)
IN_RAISING_HANDLER = (
    "inside an `except` handler that raises afterwards: if the task is cancelled at a new "
    "await there, the exception being handled is discarded and CancelledError propagates instead "
    "(flake8-async ASYNC120); keep the call blocking, or move it out of the handler"
)
GENERATOR_ARGUMENT = (
    "its argument `{}` is a generator expression, which would run lazily in the worker thread, reading "
    "what it iterates over while other tasks may change it; pass a list (`[... for ...]`) to have it fixed"
)
IN_CLASS_BODY = (
    "in a class body, which runs on the event loop when the coroutine defines the class "
    "but cannot hold an await; compute the value before the class statement"
)
IN_LOOP_OVER_SHARED = (
    "inside a loop over `{}`, which other tasks may change while an await here lets them "
    "run (dictionary changed size during iteration, or skipped items)"
)
FSTRING_DEBUG = Context(
    in_coroutine=True,
    no_await_reason="inside an f-string `=` expression, whose text would change",
)


#: How deep module constants naming other constants are followed (``A = (B, C)``; ``B = ...``).
_CONSTANT_DEPTH = 4
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


class Cancellation:
    """Which exception handlers catch a task's cancellation, and which give it back.

    An exception is named directly (``BaseException``, ``asyncio.CancelledError``), in a
    tuple, starred (``suppress(*CANCELS)``) or through a module constant bound once to
    such a tuple (``CANCELS = (asyncio.CancelledError, Exception)``).
    """

    def __init__(self, tree: ast.Module, scopes: ModuleScopes) -> None:
        self._tree = tree
        self._scopes = scopes
        self._constants: dict[ast.AST, ast.expr] | None = None

    def _constant_values(self) -> dict[ast.AST, ast.expr]:
        """Module-level ``NAME = value`` statements: the ``Name`` target -> the value."""
        if self._constants is None:
            self._constants = {}
            for statement in self._tree.body:
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    self._constants[statement.targets[0]] = statement.value
                elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                    self._constants[statement.target] = statement.value
        return self._constants

    def names(self, expression: ast.expr, scope: Scope, depth: int = 0) -> set[str]:
        """The qualified names of the exceptions ``expression`` names."""
        if isinstance(expression, (ast.Tuple, ast.List)):
            return {name for element in expression.elts for name in self.names(element, scope, depth)}
        if isinstance(expression, ast.Starred):
            return self.names(expression.value, scope, depth)
        if isinstance(expression, ast.Call):
            if resolve(expression.func, scope) == {"anyio.get_cancelled_exc_class"}:
                return {"anyio.get_cancelled_exc_class"}
            return set()
        found = resolve(expression, scope)
        if found or not isinstance(expression, ast.Name) or depth >= _CONSTANT_DEPTH:
            return found
        bindings = scope[expression.id]
        values = self._constant_values()
        if len(bindings) != 1 or bindings[0].scope.kind != "module" or bindings[0].node not in values:
            return set()
        value = values[bindings[0].node]
        return self.names(value, self._scopes.scope_or(value, scope), depth + 1) if _is_exception_spelling(value) else set()

    def catches(self, handler: ast.ExceptHandler) -> bool:
        """Whether the handler catches a task's cancellation."""
        if handler.type is None:
            return True
        names = self.names(handler.type, self._scopes.scope_of(handler))
        return bool(names & CANCELLATION) or "anyio.get_cancelled_exc_class" in names

    def swallower(self, handlers: Sequence[ast.ExceptHandler]) -> ast.ExceptHandler | None:
        """The handler of a ``try`` that catches a cancellation raised in its body and does
        not re-raise it, if any (the first handler that catches it decides)."""
        for handler in handlers:
            if self.catches(handler):
                return None if self._reraises(handler.body, handler.name, handler) else handler
        return None

    def _reraises(self, statements: Sequence[ast.stmt], name: str | None, handler: ast.ExceptHandler) -> bool:
        """Whether every way through ``statements`` re-raises the caught exception (bare
        ``raise`` or ``raise <name>``), or re-raises it when it is a cancellation
        (``if isinstance(error, asyncio.CancelledError): raise``) before anything else can
        leave the handler."""
        for statement in statements:
            if isinstance(statement, ast.Raise):
                return statement.exc is None or (isinstance(statement.exc, ast.Name) and statement.exc.id == name)
            if isinstance(statement, ast.If):
                if self._reraises(statement.body, name, handler) and (
                    self._reraises(statement.orelse, name, handler) or self._tests_cancellation(statement.test, name, handler)
                ):
                    return True
            elif isinstance(statement, (ast.With, ast.AsyncWith)) and self._reraises(statement.body, name, handler):
                return True
            if _may_leave(statement):
                return False
        return False

    def _tests_cancellation(self, test: ast.expr, name: str | None, handler: ast.ExceptHandler) -> bool:
        """``isinstance(error, asyncio.CancelledError)`` or ``not isinstance(error, Exception)``."""
        negated = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
        call = test.operand if isinstance(test, ast.UnaryOp) and negated else test
        if not (
            isinstance(call, ast.Call) and len(call.args) == 2 and not call.keywords
            and isinstance(call.args[0], ast.Name) and call.args[0].id == name
        ):
            return False
        scope = self._scopes.scope_of(handler)
        if resolve(call.func, scope) != {"builtins.isinstance"}:
            return False
        names = self.names(call.args[1], scope)
        if negated:
            return names == {"builtins.Exception"}
        return bool(names & (CANCELLATION - {"builtins.BaseException"}))


def _is_exception_spelling(value: ast.expr) -> bool:
    return isinstance(value, (ast.Tuple, ast.Name, ast.Attribute))


def _may_leave(statement: ast.stmt) -> bool:
    """Whether the statement may leave the handler: ``return``, a ``raise``, or a
    ``break``/``continue`` of a loop around it (nested functions aside)."""
    pending: list[tuple[ast.AST, bool]] = [(statement, False)]
    while pending:
        node, in_loop = pending.pop()
        if isinstance(node, (ast.Return, ast.Raise)) or (isinstance(node, (ast.Break, ast.Continue)) and not in_loop):
            return True
        if isinstance(node, _SCOPES):
            continue
        inner = in_loop or isinstance(node, _LOOPS)
        pending.extend((child, inner) for child in child_nodes(node))
    return False


def raises_in(handler: ast.ExceptHandler) -> tuple[list[ast.Raise], list[ast.stmt]]:
    """The ``raise`` statements of a handler (not of functions in it), and the loops in it
    that hold one (a statement anywhere in such a loop may be followed by the raise)."""
    raises: list[ast.Raise] = []
    loops: list[ast.stmt] = []
    for statement in handler.body:
        _collect_raises(statement, raises, loops)
    return raises, loops


def _collect_raises(node: ast.AST, raises: list[ast.Raise], loops: list[ast.stmt]) -> bool:
    if isinstance(node, _SCOPES):
        return False
    found = isinstance(node, ast.Raise)
    if found:
        raises.append(node)  # type: ignore[arg-type]
    for child in child_nodes(node):
        found = _collect_raises(child, raises, loops) or found
    if found and isinstance(node, _LOOPS):
        loops.append(node)
    return found


def raise_after(statement: ast.stmt, handlers: Iterable[tuple[list[ast.Raise], list[ast.stmt]]]) -> int | None:
    """The line of a ``raise`` of an enclosing handler that may run after ``statement``
    starts (later in the handler, around it, or in a loop holding both), if any."""
    start = (statement.lineno, statement.col_offset)
    for raises, loops in handlers:
        for raised in raises:
            if (raised.end_lineno or raised.lineno, raised.end_col_offset or 0) > start:
                return raised.lineno
        for loop in loops:
            if (loop.lineno, loop.col_offset) <= start <= (loop.end_lineno or loop.lineno, loop.end_col_offset or 0):
                return next(r.lineno for r in raises if _inside(r, loop))
    return None


def _inside(node: ast.stmt, outer: ast.stmt) -> bool:
    return (outer.lineno, outer.col_offset) <= (node.lineno, node.col_offset) and (
        (node.end_lineno or node.lineno, node.end_col_offset or 0)
        <= (outer.end_lineno or outer.lineno, outer.end_col_offset or 0)
    )

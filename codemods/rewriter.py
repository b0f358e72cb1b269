"""How a blocking call is rewritten: the CST nodes that replace it.

Everything here is a pure function of nodes, shared by the codemod and the fixit rule.
Layout survives: argument nodes are reused as they are, so comments and line breaks
inside a call stay where the user put them.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import libcst as cst
from libcst.metadata import GlobalScope, QualifiedName, QualifiedNameSource, Scope

ASYNCIO = "asyncio"


def dotted(name: str) -> cst.Name | cst.Attribute:
    """``"aio.to_thread"`` as a CST expression."""
    head, *rest = name.split(".")
    node: cst.Name | cst.Attribute = cst.Name(head)
    for part in rest:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def _first_arg_comma(call: cst.Call) -> cst.Comma:
    """The comma after the callable we insert as the first argument.

    In a call laid out one argument per line, the callable gets its own line too.
    """
    ws = call.whitespace_before_args
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return cst.Comma(
            whitespace_after=ws.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
        )
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def to_thread_call(call: cst.Call, offload: str) -> cst.Call:
    """``f(a, k=b)`` -> ``asyncio.to_thread(f, a, k=b)`` (not yet awaited)."""
    callee = call.func
    args: list[cst.Arg]
    if call.args:
        args = [cst.Arg(value=callee, comma=_first_arg_comma(call)), *call.args]
    else:
        args = [cst.Arg(value=callee)]
    return call.with_changes(func=dotted(offload), args=args, lpar=[], rpar=[])


def native_call(call: cst.Call, native: str) -> cst.Call:
    """``time.sleep(x)`` -> ``asyncio.sleep(x)`` (not yet awaited)."""
    return call.with_changes(func=dotted(native), lpar=[], rpar=[])


def is_single_positional(call: cst.Call) -> bool:
    """One plain positional argument: what the native equivalents accept exactly."""
    return len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star


def awaited(original: cst.Call, replacement: cst.Call) -> cst.Await:
    """``await replacement``, keeping the parentheses the user had around the call."""
    return cst.Await(expression=replacement, lpar=original.lpar, rpar=original.rpar)


def parenthesize(node: cst.BaseExpression) -> cst.BaseExpression:
    """Parenthesize an ``await`` that became the primary of an attribute, subscript or call.

    ``await`` binds looser than ``.x``, ``[i]`` and ``(...)``: ``await f().json()`` awaits
    ``.json()``. An unparenthesized ``Await`` in such a position can only be one of ours,
    because the parser never produces one there.
    """
    if isinstance(node, cst.Await) and not node.lpar:
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node


class AsyncioSpelling:
    """How to spell ``asyncio.<name>`` at a call site, reusing the module's own imports.

    ``import asyncio as aio`` gives ``aio.to_thread``; ``from asyncio import to_thread``
    gives ``to_thread``. With no usable import, ``asyncio.<name>`` is spelled out and the
    caller adds ``import asyncio``, provided that nothing else is called ``asyncio`` there.
    """

    def __init__(self, module: cst.Module) -> None:
        self._module_aliases: list[str] = []
        self._from_aliases: dict[str, list[str]] = {}
        for stmt in module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                self._collect(small)

    def _collect(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                if alias.evaluated_name == ASYNCIO:
                    self._module_aliases.append(alias.evaluated_alias or ASYNCIO)
        elif (
            isinstance(small, cst.ImportFrom)
            and not small.relative
            and small.module is not None
            and not isinstance(small.names, cst.ImportStar)
            and _dotted_text(small.module) == ASYNCIO
        ):
            for alias in small.names:
                bound = alias.evaluated_alias or alias.evaluated_name
                self._from_aliases.setdefault(alias.evaluated_name, []).append(bound)

    def candidates(self, name: str) -> Iterable[str]:
        yield from self._from_aliases.get(name, [])
        for alias in self._module_aliases:
            yield f"{alias}.{name}"
        # Bound by an import that is not a plain top-level statement (``try:``, ``if``).
        yield f"{ASYNCIO}.{name}"

    def spell(self, name: str, scope: Scope) -> tuple[str, bool] | None:
        """``(spelling, needs_import)``, or ``None`` when no spelling is safe here."""
        wanted = {QualifiedName(f"{ASYNCIO}.{name}", QualifiedNameSource.IMPORT)}
        for candidate in self.candidates(name):
            bindings = scope[candidate.split(".", 1)[0]]
            # A binding local to a function may come after the call: only module-level
            # imports are certain to be bound when the coroutine runs.
            if (
                bindings
                and all(isinstance(b.scope, GlobalScope) for b in bindings)
                and set(scope.get_qualified_names_for(candidate)) == wanted
            ):
                return candidate, False
        if not scope[ASYNCIO]:
            return f"{ASYNCIO}.{name}", True
        return None


def _dotted_text(node: cst.Attribute | cst.Name) -> str:
    parts: list[str] = []
    current: cst.BaseExpression = node
    while isinstance(current, cst.Attribute):
        parts.append(current.attr.value)
        current = current.value
    assert isinstance(current, cst.Name)
    parts.append(current.value)
    return ".".join(reversed(parts))


__all__: Sequence[str] = (
    "AsyncioSpelling",
    "awaited",
    "dotted",
    "is_single_positional",
    "native_call",
    "parenthesize",
    "to_thread_call",
)

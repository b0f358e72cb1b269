"""Which code runs *in* a coroutine: the lexical context tracker.

A call is in a coroutine only when it is lexically inside the body of an ``async def``
and not inside a nested ``def``, ``lambda`` or class body (those run elsewhere, or run
later, and ``await`` is a SyntaxError there). Decorators, default values and the bases
of a nested class run in the enclosing scope, so the tracker pushes on the *body*
attribute hooks, not on the nodes themselves.

The hooks have the same signature in ``CSTVisitor``, ``CSTTransformer`` and fixit's
``LintRule``, so this mixin serves the codemod and the lint rule alike. Put it first in
the bases so that its hooks are the ones that run.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import libcst as cst

from codemods.analysis.contexts import (
    COROUTINE, FSTRING_DEBUG, GENERATOR_EXPRESSION, IN_CANCELLATION_HANDLER, IN_CLASS_BODY, IN_FINALLY,
    NOT_COROUTINE, Context,
)


class CoroutineScopeTracker:
    """Mixin keeping a stack of ``Context`` while a tree is visited."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._start_tracking()

    def _start_tracking(self) -> None:
        self._contexts: list[Context] = [NOT_COROUTINE]
        # The first ``for ... in`` of a generator expression is evaluated eagerly in
        # the enclosing scope; an await there is fine.
        self._eager_comp_fors: set[cst.CompFor] = set()

    @property
    def coroutine_context(self) -> Context:
        return self._contexts[-1]

    def _push(self, context: Context) -> None:
        self._contexts.append(context)

    def _pop(self) -> None:
        self._contexts.pop()

    def _push_generator(self) -> None:
        context = self.coroutine_context
        # Code moving to a thread with its block runs there whatever its form.
        self._push(GENERATOR_EXPRESSION if context.in_coroutine and not context.moving else context)

    # Function bodies: an async def starts a coroutine, a plain def ends it.
    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self._push(COROUTINE if node.asynchronous is not None else NOT_COROUTINE)

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self._pop()

    def visit_Lambda_body(self, node: cst.Lambda) -> None:
        self._push(NOT_COROUTINE)

    def leave_Lambda_body(self, node: cst.Lambda) -> None:
        self._pop()

    def visit_ClassDef_body(self, node: cst.ClassDef) -> None:
        # A class body runs when the class statement does: inside a coroutine, on the loop.
        self._push_no_await(IN_CLASS_BODY)

    def leave_ClassDef_body(self, node: cst.ClassDef) -> None:
        self._pop()

    # Annotations of locals are never evaluated; those of nested defs are data, not work.
    def visit_Annotation_annotation(self, node: cst.Annotation) -> None:
        self._push(NOT_COROUTINE)

    def leave_Annotation_annotation(self, node: cst.Annotation) -> None:
        self._pop()

    # Generator expressions: everything but the first iterable runs lazily.
    def visit_GeneratorExp_elt(self, node: cst.GeneratorExp) -> None:
        self._eager_comp_fors.add(node.for_in)
        self._push_generator()

    def leave_GeneratorExp_elt(self, node: cst.GeneratorExp) -> None:
        self._pop()

    def visit_CompFor_target(self, node: cst.CompFor) -> None:
        self._push_lazy_part(node)

    def leave_CompFor_target(self, node: cst.CompFor) -> None:
        self._pop()

    def visit_CompFor_ifs(self, node: cst.CompFor) -> None:
        self._push_lazy_part(node)

    def leave_CompFor_ifs(self, node: cst.CompFor) -> None:
        self._pop()

    def visit_CompFor_inner_for_in(self, node: cst.CompFor) -> None:
        self._push_lazy_part(node)

    def leave_CompFor_inner_for_in(self, node: cst.CompFor) -> None:
        self._pop()

    def _push_lazy_part(self, node: cst.CompFor) -> None:
        if node in self._eager_comp_fors:
            self._push_generator()
        else:
            self._push_no_await(self._iteration_hazard(node))

    def _push_per_item(self, node: cst.ListComp | cst.SetComp | cst.DictComp) -> None:
        comp_for: cst.CompFor | None = node.for_in
        reason = None
        while comp_for is not None and reason is None:
            reason = self._iteration_hazard(comp_for)
            comp_for = comp_for.inner_for_in
        self._push_no_await(reason)

    def _pop_per_item(self, node: cst.ListComp | cst.SetComp | cst.DictComp) -> None:
        self._pop()

    # The element of a list, set or dict comprehension runs once per item of every ``for``.
    visit_ListComp_elt = visit_SetComp_elt = visit_DictComp_key = visit_DictComp_value = _push_per_item
    leave_ListComp_elt = leave_SetComp_elt = leave_DictComp_key = leave_DictComp_value = _pop_per_item

    def _iteration_hazard(self, node: cst.CompFor) -> str | None:
        if not self.coroutine_context.rewritable:
            return None  # nothing would be pushed: skip the name lookups
        return self.iteration_hazard(node)

    def iteration_hazard(self, node: cst.CompFor) -> str | None:
        """Why no await may go in the code run per item of ``node``; subclasses that
        resolve names say (an iteration over a container other tasks may change)."""
        return None

    # Cleanup and cancellation: an await there can be cancelled (again), which skips the
    # rest of the cleanup or is swallowed by the handler (flake8-async's ASYNC102).
    def visit_Finally_body(self, node: cst.Finally) -> None:
        self._push_no_await(IN_FINALLY)

    def leave_Finally_body(self, node: cst.Finally) -> None:
        self._pop()

    def visit_ExceptHandler_body(self, node: cst.ExceptHandler) -> None:
        self._push_no_await(IN_CANCELLATION_HANDLER if self.catches_cancellation(node) else None)

    def leave_ExceptHandler_body(self, node: cst.ExceptHandler) -> None:
        self._pop()

    def visit_ExceptStarHandler_body(self, node: cst.ExceptStarHandler) -> None:
        self._push(self.coroutine_context)  # except* cannot catch a bare cancellation alone

    def leave_ExceptStarHandler_body(self, node: cst.ExceptStarHandler) -> None:
        self._pop()

    def catches_cancellation(self, handler: cst.ExceptHandler) -> bool:
        """A bare ``except:``; subclasses that resolve names say more (``BaseException``)."""
        return handler.type is None

    def _push_no_await(self, reason: str | None) -> None:
        """Push a context where no await may be added, for ``reason``; ``None``: no change."""
        context = self.coroutine_context
        if reason is not None and context.rewritable:
            self._push(Context(in_coroutine=True, no_await_reason=reason))
        else:
            self._push(context)

    def visit_FormattedStringExpression_expression(
        self, node: cst.FormattedStringExpression
    ) -> None:
        if node.equal is not None and self.coroutine_context.in_coroutine and not self.coroutine_context.moving:
            self._push(FSTRING_DEBUG)
        else:
            self._push(self.coroutine_context)

    def leave_FormattedStringExpression_expression(
        self, node: cst.FormattedStringExpression
    ) -> None:
        self._pop()


# -- statements that hold no coroutine code, which the rewrite skips ------------------

_STATEMENT_CONTAINERS = (cst.SimpleStatementLine, cst.BaseCompoundStatement)


def may_hold_coroutine(node: cst.CSTNode) -> bool:
    """Whether a statement outside any coroutine contains an ``async def``.

    Only statements can be skipped: ``async def`` is a statement, so a statement without
    one nested in its blocks holds no coroutine code at all. Expressions are never
    skipped here (they are only met inside statements that were not skipped).
    """
    if not isinstance(node, _STATEMENT_CONTAINERS):
        return True
    if isinstance(node, cst.SimpleStatementLine):
        return False
    return _has_async_def(node)


def _has_async_def(statement: cst.CSTNode) -> bool:
    if isinstance(statement, cst.FunctionDef) and statement.asynchronous is not None:
        return True
    for block in blocks_of(statement):
        for inner in block:
            if isinstance(inner, cst.BaseCompoundStatement) and _has_async_def(inner):
                return True
    return False


def blocks_of(statement: cst.CSTNode) -> Iterator[Sequence[cst.CSTNode]]:
    """The statement lists directly inside a compound statement (bodies, else, handlers)."""
    for attribute in ("body", "orelse", "finalbody"):
        suite = getattr(statement, attribute, None)
        if isinstance(suite, (cst.Else, cst.Finally)):
            suite = suite.body
        elif isinstance(suite, cst.If):  # elif
            yield [suite]
            continue
        if isinstance(suite, cst.IndentedBlock):
            yield suite.body
    for handler in getattr(statement, "handlers", ()):
        if isinstance(handler.body, cst.IndentedBlock):
            yield handler.body.body
    for case in getattr(statement, "cases", ()):
        if isinstance(case.body, cst.IndentedBlock):
            yield case.body.body

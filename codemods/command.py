"""The codemod: a libcst transformer that rewrites blocking calls inside coroutines.

It ties the pieces together: ``scopes`` says where a call runs, ``detector`` says which
catalog entry it is, ``rewriter`` builds the replacement. Run it through
``codemods.engine.transform_source`` (what the CLI and the fixit rule do), or directly
with ``python -m libcst.tool codemod -x codemods.command.OffloadBlockingCalls --no-format PATH``.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from dataclasses import replace
from typing import Callable, Iterator, Sequence

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider, Scope, ScopeProvider

from codemods.catalog import BlockingCall, Strategy
from codemods.config import Settings
from codemods.detector import match_call
from codemods.findings import Finding
from codemods.rewriter import (
    ASYNCIO,
    AsyncioSpelling,
    awaited,
    is_single_positional,
    native_call,
    parenthesize,
    to_thread_call,
)
from codemods.scopes import CoroutineScopeTracker

_AMBIGUOUS = "the name may also refer to something that is not {name}"
_CODE = cst.Module([])  # renders a node as source text
_NO_ASYNCIO = "`asyncio` means something else here, so `import asyncio` cannot be added"


class OffloadBlockingCalls(CoroutineScopeTracker, VisitorBasedCodemodCommand):
    DESCRIPTION = (
        "Rewrite blocking calls inside coroutines to `await asyncio.to_thread(...)`, "
        "or to an exact asyncio equivalent (`time.sleep` -> `asyncio.sleep`)."
    )
    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(
        self,
        context: CodemodContext,
        settings: Settings | None = None,
        native_sleep: bool | None = None,
        suppressed: Callable[[cst.Call], bool] | None = None,
    ) -> None:
        super().__init__(context)
        settings = settings or Settings()
        self.settings = settings
        self.native_sleep = settings.native_sleep if native_sleep is None else native_sleep
        self.index = settings.index
        #: Decides whether a blocking call is exempt (e.g. by a lint-ignore comment).
        self.suppressed = suppressed
        self.findings: list[Finding] = []
        #: Each finding with the call node (of the input tree) it is about.
        self.located: list[tuple[Finding, cst.Call]] = []
        #: Input call node -> its replacement (which includes rewrites of nested calls).
        self.replacements: dict[cst.Call, cst.Await] = {}
        #: The tree with calls rewritten, before imports are added or removed.
        self.calls_only: cst.Module | None = None
        self._pending: list[tuple[cst.Call, BlockingCall, bool, str]] = []
        self._awaited: set[cst.Call] = set()
        self._spelling: AsyncioSpelling | None = None
        #: Set by callers that already know the source has a coroutine (engine prefilter).
        self.prefiltered = False

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument(
            "--no-native-sleep",
            dest="native_sleep",
            action="store_false",
            default=None,
            help="rewrite time.sleep with asyncio.to_thread too, not asyncio.sleep",
        )

    # -- driving ---------------------------------------------------------------------

    @contextmanager
    def _handle_metadata_reference(self, module: cst.Module) -> Iterator[cst.Module]:
        # As in libcst, but without MetadataWrapper's deep copy of the tree: this
        # transformer never mutates it, and the copy costs a fifth of a parse.
        old = self.context.wrapper
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        with self.resolve(wrapper):
            self.context = _replace_wrapper(self.context, wrapper)
            try:
                yield wrapper.module
            finally:
                self.context = _replace_wrapper(self.context, old)

    def transform_module(self, tree: cst.Module) -> cst.Module:
        if not self.prefiltered and "async" not in tree.code:
            raise SkipFile("no coroutine in this module")
        return _drop_exposed_blank_lines(tree, super().transform_module(tree))

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        self._spelling = AsyncioSpelling(tree)
        result = tree.visit(self)
        self._resolve_findings()
        self.calls_only = result
        return result

    def _resolve_findings(self) -> None:
        if not self._pending:
            return
        assert self.context.wrapper is not None
        # Positions are only computed for modules that have findings.
        positions = self.context.wrapper.resolve(PositionProvider)
        for call, entry, fixable, detail in self._pending:
            start = positions[call].start
            finding = Finding(start.line, start.column + 1, entry.code, entry.qualname, fixable, detail)
            self.findings.append(finding)
            self.located.append((finding, call))
            if not fixable:
                self.warn(f"line {finding.line}: {finding.code} {finding.message}")
        self.findings.sort()
        self.located.sort(key=lambda pair: pair[0])

    # -- visiting --------------------------------------------------------------------

    def visit_Await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self._awaited.add(node.expression)

    # An ``await`` we put in the primary position of ``.x``, ``[i]`` or ``(...)`` needs
    # parentheses; the parent node is where that position is known.
    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.Attribute:
        if isinstance(updated_node.value, cst.Await):
            return updated_node.with_changes(value=self._parenthesize(original_node.value, updated_node.value))
        return updated_node

    def leave_Subscript(self, original_node: cst.Subscript, updated_node: cst.Subscript) -> cst.Subscript:
        if isinstance(updated_node.value, cst.Await):
            return updated_node.with_changes(value=self._parenthesize(original_node.value, updated_node.value))
        return updated_node

    def _parenthesize(self, original: cst.BaseExpression, updated: cst.Await) -> cst.BaseExpression:
        wrapped = parenthesize(updated)
        if isinstance(original, cst.Call) and original in self.replacements:
            assert isinstance(wrapped, cst.Await)
            self.replacements[original] = wrapped
        return wrapped

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if isinstance(updated_node.func, cst.Await):
            updated_node = updated_node.with_changes(func=self._parenthesize(original_node.func, updated_node.func))
        if not self.coroutine_context.in_coroutine or original_node in self._awaited:
            return updated_node
        scope = self.get_metadata(ScopeProvider, original_node.func, None)
        match = match_call(original_node, scope, self.index)
        if match is None or scope is None:
            return updated_node
        if self.suppressed is not None and self.suppressed(original_node):
            return updated_node
        entry = match.entry
        reason: str | None
        if not match.certain:
            reason = _AMBIGUOUS.format(name=entry.qualname)
        elif entry.strategy is Strategy.REPORT:
            reason = entry.reason or "no safe automatic rewrite"
        else:
            reason = self.coroutine_context.no_await_reason
        if reason is not None:
            self._pending.append((original_node, entry, False, reason))
            return updated_node
        rewritten = self._rewrite(original_node, updated_node, entry, scope)
        if rewritten is None:
            self._pending.append((original_node, entry, False, _NO_ASYNCIO))
            return updated_node
        replacement, detail = rewritten
        self._pending.append((original_node, entry, True, detail))
        self.replacements[original_node] = replacement
        return replacement

    def _rewrite(
        self, original: cst.Call, updated: cst.Call, entry: BlockingCall, scope: Scope
    ) -> tuple[cst.Await, str] | None:
        assert self._spelling is not None
        use_native = (
            entry.strategy is Strategy.NATIVE
            and entry.native is not None
            and self.native_sleep
            and is_single_positional(original)
        )
        spelled = self._spelling.spell(entry.native if use_native and entry.native else "to_thread", scope)
        if spelled is None:
            return None
        spelling, needs_import = spelled
        if needs_import:
            AddImportsVisitor.add_needed_import(self.context, ASYNCIO)
        if use_native:
            # The callee is gone from the code; drop its import if nothing else uses it.
            RemoveImportsVisitor.remove_unused_import_by_node(self.context, original.func)
            return awaited(original, native_call(updated, spelling)), f"await {spelling}(...)"
        callee = _CODE.code_for_node(original.func)
        return awaited(original, to_thread_call(updated, spelling)), f"await {spelling}({callee}, ...)"


def _starts_blank(lines: Sequence[cst.EmptyLine]) -> bool:
    return bool(lines) and lines[0].comment is None


def _drop_exposed_blank_lines(before: cst.Module, after: cst.Module) -> cst.Module:
    """Removing a module's first import must not leave the file starting with a blank line."""
    if not before.body or not after.body:
        return after
    first = after.body[0]
    if not _starts_blank(first.leading_lines) or _starts_blank(before.body[0].leading_lines):
        return after
    lines = list(first.leading_lines)
    while _starts_blank(lines):
        lines.pop(0)
    return after.with_changes(body=[first.with_changes(leading_lines=lines), *after.body[1:]])


def _replace_wrapper(context: CodemodContext, wrapper: MetadataWrapper | None) -> CodemodContext:
    return replace(context, wrapper=wrapper)

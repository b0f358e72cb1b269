"""The codemod: a libcst transformer that rewrites blocking calls inside coroutines.

It ties the pieces together: ``scopes`` says where a call runs, ``detector`` says which
catalog entry it is, ``offload`` and ``blocks`` build the replacement. Run it through
``codemods.engine.transform_source`` (what the CLI and the fixit rule do), or directly
with ``python -m libcst.tool codemod -x codemods.command.OffloadBlockingCalls --no-format PATH``.
"""

from __future__ import annotations

import argparse
import ast
import re
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator

import libcst as cst
from libcst.codemod import Codemod, CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import Assignment, BaseAssignment, GlobalScope, MetadataWrapper, Scope, ScopeProvider

from codemods.block_analysis import BlockPlan, Refusal
from codemods.blocks import BlockMoves, build_helper
from codemods.catalog import (
    CANCELLATION, CATEGORIES, HOLDS_PROCESS_STATE, SAFE_CONTEXT_MANAGERS, BlockingCall, Framework, Strategy,
)
from codemods.config import Settings
from codemods.detector import Detector, Match, resolve, root_of
from codemods.findings import Finding
from codemods.analysis.frameworks import detect_framework
from codemods.offload import Offloader, Spelled
from codemods.rewriter import awaited, parenthesize
from codemods.positions import locate
from codemods.imports import add_imports_in_header, drop_exposed_blank_lines, remove_imports_in_statements
from codemods.analysis.contexts import COROUTINE, IN_LOOP_OVER_SHARED, MOVING_BLOCK
from codemods.scopes import CoroutineScopeTracker, may_hold_coroutine

_NO_NAME = "the names it needs (`asyncio`, ...) mean something else here, so they cannot be imported"
_MIXED = "the module imports both trio and asyncio, so loopsafe cannot tell which one runs it"
_SUPPRESS = re.compile(r"#\s*(?:loopsafe:\s*ignore\b|noqa\b(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?)")


def suppressed_by_comment(comment: str | None, code: str) -> bool:
    """``# loopsafe: ignore``, ``# noqa``, or ``# noqa: LS251`` / ``# noqa: ASYNC251``."""
    if not comment:
        return False
    match = _SUPPRESS.search(comment)
    if match is None:
        return False
    codes = match.group("codes")
    if codes is None:
        return True
    listed = set(re.split(r"[\s,]+", codes.strip()))
    async_code = next((c[1] for c in CATEGORIES.values() if c[0] == code), "")
    return code in listed or (async_code != "" and async_code in listed)


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
        # What ContextAwareTransformer.__init__ does, but for its search for methods
        # decorated with matchers: that calls getattr on each of the ~1,000 attributes of
        # the class (~7 ms an instance, more than analysing a small module), and this
        # class has none (its on_visit/on_leave bypass matcher dispatch; a test checks).
        Codemod.__init__(self, context)
        cst.CSTTransformer.__init__(self)
        self._extra_visit_funcs: dict[Any, Any] = {}
        self._extra_leave_funcs: dict[Any, Any] = {}
        self._matchers = {}  # the gating matchers, none here; set so the property reads
        self._start_tracking()
        settings = settings or Settings()
        if native_sleep is not None:
            settings = replace(settings, native_sleep=native_sleep)
        self.settings = settings
        self.detector = Detector(
            settings.index, settings.constructors, settings.annotations, frozenset(settings.ignore)
        )
        #: Decides whether a blocking call is exempt (e.g. by a lint-ignore comment).
        self.suppressed = suppressed
        self.findings: list[Finding] = []
        #: Each finding with the call node (of the input tree) it is about.
        self.located: list[tuple[Finding, cst.Call]] = []
        #: Input call node -> its replacement (which includes rewrites of nested calls).
        self.replacements: dict[cst.Call, cst.Await] = {}
        #: The tree with calls rewritten, before imports are added or removed.
        self.calls_only: cst.Module | None = None
        #: Set by callers that already know the source has a coroutine (engine prefilter).
        self.prefiltered = False
        #: The bytes the module was parsed from, when the caller has them.
        self.source: bytes | None = None
        #: Names read by code the caller cut from the module (``codemods.focus``): their
        #: imports are never dropped as unused.
        self.kept_names: frozenset[str] = frozenset()
        #: Set by callers that only want the findings (``loopsafe check``): imports are
        #: then not added or removed, which is most of the cost of a rewrite.
        self.findings_only = False
        self._pending: list[tuple[cst.Call, BlockingCall, bool, str]] = []
        self._awaited: set[cst.Call] = set()
        self._chain_heads: set[cst.Call] = set()
        self._blocks: dict[cst.With, tuple[BlockPlan, list[tuple[cst.Call, BlockingCall]]]] = {}
        self._block_moves: BlockMoves | None = None
        self._atomic_blocks: set[cst.With] = set()
        # Context managers an await may run inside: the catalog's (files, clients) and these.
        self._safe_context_managers = settings.index.keys() | settings.constructors.keys() | set(SAFE_CONTEXT_MANAGERS)
        # Names bound to context managers that hold process-wide state (``LOCK = threading.Lock()``).
        self._state_holders: set[cst.Name] = set()
        # Augmented assignments to shared targets whose call is evaluated first.
        self._hoists: set[cst.AugAssign] = set()
        self._current_line: cst.SimpleStatementLine | None = None
        self._typed_blocks: set[cst.With] = set()  # those that pushed detector.block_files
        # The ``open(...)`` calls of blocks that move, and the names of the blocking calls
        # each moving block carries with it (innermost last).
        self._block_openers: set[cst.Call] = set()
        self._carried: list[list[str]] = []
        self._comments: list[str | None] = [None]
        self._helper_names: dict[Scope, set[str]] = {}
        # Callees that a native rewrite removed from the code (``time.sleep``): their
        # imports go too when nothing else uses them.
        self._dropped_callees: list[tuple[cst.BaseExpression, Scope]] = []
        self._top_level_imports: set[cst.CSTNode] = set()
        self._full_import_removal = False
        self._imports_to_remove: set[cst.CSTNode] = set()
        # The module-level statement being visited, to locate findings cheaply.
        self._module_statements: set[cst.CSTNode] = set()
        self._top_statement: cst.CSTNode | None = None
        self._top_statement_of: dict[cst.Call, cst.CSTNode] = {}
        # Imports at the top level of a function body, in the order visited: they are
        # bound for every statement visited after them in that body.
        self._function_statements: set[cst.BaseStatement] = set()
        self._local_imports: set[cst.CSTNode] = set()
        self._offloader: Offloader | None = None
        self._framework_problem: str | None = None

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
            self.context = replace(self.context, wrapper=wrapper)
            try:
                yield wrapper.module
            finally:
                self.context = replace(self.context, wrapper=old)

    def transform_module(self, tree: cst.Module) -> cst.Module:
        if not self.prefiltered and "async" not in tree.code:
            raise SkipFile("no coroutine in this module")
        if self.findings_only:
            return Codemod.transform_module(self, tree)  # without the import passes
        result = super().transform_module(tree)
        if RemoveImportsVisitor.CONTEXT_KEY in self.context.scratch and self.calls_only is not None:
            # Only top-level imports were removed unless a full removal pass ran.
            result = drop_exposed_blank_lines(self.calls_only, result, blocks=self._full_import_removal)
        return result

    def _instantiate_and_run(self, transform: type, tree: cst.Module) -> cst.Module:
        if transform is AddImportsVisitor:
            return add_imports_in_header(self.context, tree)
        if transform is RemoveImportsVisitor and not self._full_import_removal:
            return remove_imports_in_statements(self.context, tree, self._imports_to_remove)
        return super()._instantiate_and_run(transform, tree)

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        self._module_statements = set(tree.body)
        self._top_level_imports = {
            small
            for statement in tree.body
            if isinstance(statement, cst.SimpleStatementLine)
            for small in statement.body
            if isinstance(small, (cst.Import, cst.ImportFrom))
        }
        python_tree = _python_tree(tree, self.source)
        framework = detect_framework(python_tree, self.source)
        if framework is None:
            self._framework_problem = _MIXED
            framework = Framework.ASYNCIO
        self._offloader = Offloader(
            tree, framework, self.settings.legacy_executor, self._local_imports.__contains__
        )
        self._block_moves = BlockMoves(tree, self.settings, python_tree)
        tree.visit(_BindingPass(self))
        result = tree.visit(self)
        self._resolve_findings(tree)
        if not self.findings_only:
            self._schedule_unused_imports()
        self.calls_only = result
        return result

    def _schedule_unused_imports(self) -> None:
        """Ask RemoveImportsVisitor to drop imports that only the rewritten calls used.

        Our scope analysis already knows every reference to each import, so the
        (costly) removal pass runs only when an import really lost its last use.
        """
        dropped = {root_of(callee) for callee, _ in self._dropped_callees}
        decided: set[BaseAssignment] = set()  # each import once, however many calls dropped it
        for callee, scope in self._dropped_callees:
            for assignment in scope[root_of(callee).value]:
                if not isinstance(assignment, Assignment) or not isinstance(
                    assignment.node, (cst.Import, cst.ImportFrom)
                ) or assignment in decided or assignment.name.split(".")[0] in self.kept_names:
                    continue
                decided.add(assignment)
                if all(reference.node in dropped for reference in assignment.references):
                    RemoveImportsVisitor.remove_unused_import_by_node(self.context, callee)
                    self._imports_to_remove.add(assignment.node)
                    if not isinstance(assignment.scope, GlobalScope) or assignment.node not in self._top_level_imports:
                        self._full_import_removal = True

    def _record(self, pending: tuple[cst.Call, BlockingCall, bool, str]) -> None:
        self._pending.append(pending)
        assert self._top_statement is not None
        self._top_statement_of[pending[0]] = self._top_statement

    def _resolve_findings(self, tree: cst.Module) -> None:
        if not self._pending:
            return
        positions = locate(tree, self._top_statement_of)
        for call, entry, fixable, detail in self._pending:
            line, column = positions[call]
            finding = Finding(line, column + 1, entry.code, entry.qualname, fixable, detail)
            self.findings.append(finding)
            self.located.append((finding, call))
            if not fixable:
                self.warn(f"line {finding.line}: {finding.code} {finding.message}")
        self.findings.sort()
        self.located.sort(key=lambda pair: pair[0])

    def _scope(self, node: cst.CSTNode) -> Scope | None:
        return self.get_metadata(ScopeProvider, node, None)

    # -- speed: the matcher machinery is unused, and code outside coroutines is skipped --

    # ContextAwareTransformer is a MatcherDecoratableTransformer; this transformer has no
    # matcher decorators, so go straight to the plain CSTTransformer dispatch.
    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self._comments.append(_line_comment(node))
            if node in self._module_statements:
                self._top_statement = node
        if not self.coroutine_context.in_coroutine and not may_hold_coroutine(node):
            if isinstance(node, cst.SimpleStatementLine):
                for small in node.body:  # module-level objects used by coroutines
                    if isinstance(small, cst.Assign):
                        self.visit_Assign(small)
                    elif isinstance(small, cst.AnnAssign):
                        self.visit_AnnAssign(small)
            return False
        return cst.CSTTransformer.on_visit(self, node)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        if isinstance(original_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self._comments.pop()
        return cst.CSTTransformer.on_leave(self, original_node, updated_node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        cst.CSTTransformer.on_visit_attribute(self, node, attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        cst.CSTTransformer.on_leave_attribute(self, original_node, attribute)

    # -- comments that suppress findings -----------------------------------------------

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef_body(node)
        if isinstance(node.body, cst.IndentedBlock):
            self._function_statements.update(node.body.body)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._current_line = node
        if node in self._function_statements:
            self._local_imports.update(s for s in node.body if isinstance(s, (cst.Import, cst.ImportFrom)))

    def _is_suppressed(self, call: cst.Call, entry: BlockingCall) -> bool:
        first_line = call.whitespace_before_args
        inline = (
            first_line.first_line.comment.value
            if isinstance(first_line, cst.ParenthesizedWhitespace) and first_line.first_line.comment
            else None
        )
        if suppressed_by_comment(self._comments[-1], entry.code) or suppressed_by_comment(inline, entry.code):
            return True
        return self.suppressed is not None and self.suppressed(call)

    def catches_cancellation(self, handler: cst.ExceptHandler) -> bool:
        if handler.type is None:
            return True
        scope = self._scope(handler)
        caught = handler.type.elements if isinstance(handler.type, cst.Tuple) else [cst.Element(handler.type)]
        names = {name for element in caught for name in (resolve(element.value, scope) if scope else set())}
        return bool(names & CANCELLATION)

    # -- where a new await would let other tasks in at the wrong moment ----------------

    def visit_With_body(self, node: cst.With) -> None:
        rewritable = node.asynchronous is None and self.coroutine_context.rewritable
        self._push_no_await(self._with_hazard(node) if rewritable else None)

    def leave_With_body(self, node: cst.With) -> None:
        self._pop()

    def visit_For_body(self, node: cst.For) -> None:
        rewritable = node.asynchronous is None and self.coroutine_context.rewritable
        self._push_no_await(self._loop_hazard(node, node.iter) if rewritable else None)

    def leave_For_body(self, node: cst.For) -> None:
        self._pop()

    def iteration_hazard(self, node: cst.CompFor) -> str | None:
        return self._loop_hazard(node, node.iter) if node.asynchronous is None else None

    def _loop_hazard(self, loop: cst.CSTNode, iterable: cst.BaseExpression) -> str | None:
        """Why no await may go in a loop's body: it iterates over a container other tasks may change."""
        shared = self._shared_iterable(iterable, self._scope(loop))
        return None if shared is None else IN_LOOP_OVER_SHARED.format(shared)

    def visit_AugAssign_value(self, node: cst.AugAssign) -> None:
        target = node.target
        shared = isinstance(target, (cst.Attribute, cst.Subscript)) or (
            isinstance(target, cst.Name) and self._is_nonlocal_name(target, self._scope(node))
        )
        reason = None
        if shared and self.coroutine_context.rewritable and self._hoistable(node):
            # ``self.total += f(p)`` -> ``_result = await ...`` then ``self.total += _result``:
            # the target is then read after the await, in one step with the write.
            self._hoists.add(node)
        elif shared:
            spelled = f"{cst.Module([]).code_for_node(target)} {cst.Module([]).code_for_node(node.operator).strip()}"
            reason = (
                f"on the right of `{spelled}`: the target is read before the await, so updates other tasks "
                "make meanwhile would be lost; assign the call's result to a local first"
            )
        self._push_no_await(reason)

    def leave_AugAssign_value(self, node: cst.AugAssign) -> None:
        self._pop()

    def _hoistable(self, node: cst.AugAssign) -> bool:
        """The value is one call and the target is read without side effects
        (``a.b.c``, ``a[k]``, a global name), alone on its line: evaluating the call first
        changes nothing but when the target is read."""
        line = self._current_line
        return (
            isinstance(node.value, cst.Call)
            and line is not None and len(line.body) == 1 and line.body[0] is node
            and _reads_plainly(node.target)
        )

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        statement = original_node.body[0] if original_node.body else None
        updated = updated_node.body[0] if updated_node.body else None
        if statement not in self._hoists or not isinstance(updated, cst.AugAssign):
            return updated_node
        if not isinstance(updated.value, cst.Await):
            return updated_node  # the call was not rewritten: nothing to hoist
        scope = self._scope(original_node)
        taken = self._helper_names.setdefault(scope, set()) if scope is not None else set()
        name = "_result"
        counter = 1
        while (scope is not None and (name in scope or scope.accesses[name])) or name in taken:
            counter += 1
            name = f"_result_{counter}"
        taken.add(name)
        # Not a call replacement any more (the fixit rule then carries the whole module).
        assert isinstance(statement, cst.AugAssign) and isinstance(statement.value, cst.Call)
        self.replacements.pop(statement.value, None)
        first = updated_node.with_changes(
            body=[cst.Assign([cst.AssignTarget(cst.Name(name))], updated.value.with_changes(lpar=[], rpar=[]))],
            trailing_whitespace=cst.TrailingWhitespace(),
        )
        second = cst.SimpleStatementLine(
            [updated.with_changes(value=cst.Name(name))], trailing_whitespace=updated_node.trailing_whitespace
        )
        return cst.FlattenSentinel([first, second])

    def _with_hazard(self, node: cst.With) -> str | None:
        scope = self._scope(node)
        if scope is None:
            return None
        for item in node.items:
            expression = item.item
            spelled = cst.Module([]).code_for_node(expression)
            callee = expression.func if isinstance(expression, cst.Call) else expression
            names = resolve(callee, scope)
            assignments = scope[expression.value] if isinstance(expression, cst.Name) else ()
            if names & HOLDS_PROCESS_STATE or (assignments and all(
                    isinstance(a, Assignment) and a.node in self._state_holders for a in assignments)):
                return (f"inside `with {spelled}:`, which holds process-wide state while its block runs: an await "
                        "here would let other tasks run inside it (a lock held across it deadlocks them)")
            if isinstance(expression, cst.Call) and names == {"contextlib.suppress"}:
                caught = {name for arg in expression.args for name in resolve(arg.value, scope)}
                if caught & CANCELLATION:
                    return (f"inside `with {spelled}:`, which would swallow the cancellation an await here "
                            "can raise")
                continue
            if names and names <= self._safe_context_managers:
                continue
            if self.detector.receiver_type(expression, scope) is not None:
                continue  # a file or client of the catalog
            if isinstance(expression, cst.Call) and self.detector.match(expression, scope) is not None:
                continue  # made by a blocking call of the catalog (``p.open()``): an I/O object
            return (f"inside `with {spelled}:`, a context manager loopsafe does not know to be safe: if it holds a "
                    "lock or process-wide state, an await here would let other tasks run inside it")
        return None

    @staticmethod
    def _shared_iterable(expression: cst.BaseExpression, scope: Scope | None) -> str | None:
        """``SHARED``, ``self.items``, ``d.items()`` on those: containers other tasks may change."""
        if scope is None:
            return None
        target = expression
        if (
            isinstance(target, cst.Call) and isinstance(target.func, cst.Attribute)
            and target.func.attr.value in ("items", "keys", "values") and not target.args
        ):
            target = target.func.value
        spelled = cst.Module([]).code_for_node(target)
        if isinstance(target, (cst.Attribute, cst.Subscript)):
            return spelled
        if isinstance(target, cst.Name):
            assignments = scope[target.value]
            module_variable = bool(assignments) and all(
                isinstance(a, Assignment) and isinstance(a.scope, GlobalScope)
                and not isinstance(a.node, (cst.Import, cst.ImportFrom, cst.FunctionDef, cst.ClassDef))
                for a in assignments
            )
            return spelled if module_variable else None
        return None

    @staticmethod
    def _is_nonlocal_name(name: cst.Name, scope: Scope | None) -> bool:
        """A name the coroutine updates in another scope (``global`` or ``nonlocal``)."""
        if scope is None:
            return False
        assignments = scope[name.value]
        return bool(assignments) and any(a.scope is not scope for a in assignments)

    # -- bindings of objects of blocking types ----------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            target = node.targets[0].target
            scope = self._scope(node)
            kind = self.detector.constructed_type(node.value, scope)
            if kind is None and scope is not None and isinstance(node.value, cst.Call):
                kind = self.detector.receiver_type(node.value, scope, excluding=target)  # p = p.resolve()
            self.detector.bind(target, kind)
            if (kind is None and scope is not None and isinstance(node.value, cst.Call)
                    and not resolve(node.value.func, scope).isdisjoint(HOLDS_PROCESS_STATE)):
                self._state_holders.add(target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name):
            scope = self._scope(node)
            kind = self.detector.annotated_type(node.annotation.annotation, scope)
            if kind is None and node.value is not None:
                kind = self.detector.constructed_type(node.value, scope)
            self.detector.bind(node.target, kind)

    def visit_Param(self, node: cst.Param) -> None:
        if node.annotation is not None:
            self.detector.bind(node, self.detector.annotated_type(node.annotation.annotation, self._scope(node)))

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self.detector.bind(node.asname.name, self.detector.constructed_type(node.item, self._scope(node)))

    # -- with open(...) blocks moved to a thread --------------------------------------

    def visit_With(self, node: cst.With) -> None:
        context = self.coroutine_context
        if not context.in_coroutine or context.moving or node.asynchronous is not None:
            return
        scope = self._scope(node)
        if scope is None:
            return
        opened: list[tuple[cst.Call, BlockingCall]] = []
        for item in node.items:
            match = self.detector.match(item.item, scope) if isinstance(item.item, cst.Call) else None
            if match is None or not match.entry.opens_file or match.reason is not None:
                return
            if self._is_suppressed(item.item, match.entry):  # type: ignore[arg-type]
                return
            opened.append((item.item, match.entry))  # type: ignore[arg-type]
        assert self._block_moves is not None and self._offloader is not None
        # Inside, its ``as`` names are its files, whatever the coroutine binds to them
        # elsewhere (a later block moved into a helper must not change that).
        file_type = self.settings.constructors.get("builtins.open")
        files = self._block_moves.files_of(node) if file_type is not None else set()
        self.detector.block_files.append((scope, {name: file_type for name in files if file_type is not None}))
        self._typed_blocks.add(node)
        taken = self._helper_names.setdefault(scope, set())
        plan = self._block_moves.verdict(node, taken)
        if context.no_await_reason is not None:  # where no await may go (finally, ...)
            plan = Refusal(f"it is {context.no_await_reason}", atomic=isinstance(plan, Refusal) and plan.atomic)
        if isinstance(plan, BlockPlan):
            if self._framework_problem is not None:
                plan = Refusal(self._framework_problem)
            elif self._offloader.offload(cst.Call(cst.Name(plan.helper)), scope) is None:
                plan = Refusal(_NO_NAME)
        if isinstance(plan, Refusal):
            for call, entry in opened:
                self._chain_heads.add(call)
                self._record((call, entry, False, f"the with block cannot move to a thread: {plan.reason}"))
            if plan.atomic:
                # No await may split it either: its calls are reported, not offloaded.
                self._atomic_blocks.add(node)
                self._push(replace(COROUTINE, no_await_reason=f"inside a with block that stays on the loop: {plan.reason}"))
            return
        self._blocks[node] = (plan, opened)
        taken.add(plan.helper)
        self._block_openers.update(call for call, _ in opened)
        self._carried.append([])
        # Calls inside are found, not rewritten: the whole block will run in a thread.
        self._push(MOVING_BLOCK)

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        if original_node in self._typed_blocks:
            self.detector.block_files.pop()
        if original_node in self._atomic_blocks:
            self._pop()
        if original_node not in self._blocks:
            return updated_node
        self._pop()
        carried = self._carried.pop()
        plan, opened = self._blocks[original_node]
        scope = self._scope(original_node)
        assert scope is not None and self._offloader is not None
        offloader = self._offloader
        spelled: list[Spelled] = []

        def offload(call: cst.Call) -> cst.BaseExpression:
            found = offloader.offload(call, scope)
            assert found is not None  # checked when the block was planned
            spelled.append(found)
            return cst.Await(found.node)

        statements = build_helper(updated_node, plan, offload)
        self._add_imports(spelled[0])
        detail = f"the with block moves into a function run by {spelled[0].runner}"
        if carried:
            detail += ", with " + ", ".join(f"{name}()" for name in carried) + " in it"
        for opener, entry in opened:
            self._record((opener, entry, True, detail))
        return cst.FlattenSentinel(statements)

    # -- calls -------------------------------------------------------------------------

    def visit_Await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self._awaited.add(node.expression)

    def visit_Call(self, node: cst.Call) -> None:
        # ``open(p).read()``, ``urlopen(u).read()``: the inner call, which makes the object
        # the outer one reads, is handled with the outer call (one trip to the thread).
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call) and self.coroutine_context.in_coroutine:
            scope = self._scope(func.value)
            inner = self.detector.match(func.value, scope) if scope is not None else None
            if inner is not None and inner.reason is None:
                outer = self.detector.match(node, scope) if scope is not None else None
                if (
                    outer is not None and outer.receiver is not None
                    and (inner.entry.opens_file or inner.entry.qualname in outer.receiver.constructors)
                ):
                    self._chain_heads.add(func.value)

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
        if (
            not self.coroutine_context.in_coroutine
            or original_node in self._awaited
            or original_node in self._chain_heads
            or original_node in self._block_openers
        ):
            return updated_node
        scope = self._scope(original_node.func)
        match = self.detector.match(original_node, scope) if scope is not None else None
        if match is None or scope is None or self._is_suppressed(original_node, match.entry):
            return updated_node
        entry = match.entry
        if self.coroutine_context.moving:
            self._carried[-1].append(entry.qualname)
            self._record((original_node, entry, True, "it runs in a worker thread with the `with` block it is in"))
            return updated_node
        reason = (
            match.reason
            or (entry.reason or "no safe automatic rewrite" if entry.strategy is Strategy.REPORT else None)
            or self.coroutine_context.no_await_reason
            or self._framework_problem
        )
        if reason is not None:
            self._record((original_node, entry, False, reason))
            return updated_node
        rewritten = self._rewrite(original_node, updated_node, match, scope)
        if isinstance(rewritten, str):
            self._record((original_node, entry, False, rewritten))
            return updated_node
        replacement, detail = rewritten
        self._record((original_node, entry, True, detail))
        self.replacements[original_node] = replacement
        return replacement

    def _rewrite(
        self, original: cst.Call, updated: cst.Call, match: Match, scope: Scope
    ) -> tuple[cst.Await, str] | str:
        assert self._offloader is not None
        entry = match.entry
        func = original.func
        if (
            match.receiver is not None
            and isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Call)
            and func.value in self._chain_heads
        ):
            return self._rewrite_chain(original, updated, scope)
        spelled: Spelled | None = None
        native = entry.strategy is Strategy.NATIVE and entry.native is not None
        if native and (entry.category != "sleep" or self.settings.native_sleep):
            assert entry.native is not None
            spelled = self._offloader.native(updated, entry.native, scope)
            if spelled is not None:
                self._dropped_callees.append((original.func, scope))
        if spelled is None:
            spelled = self._offloader.offload(updated, scope)
        if spelled is None:
            return _NO_NAME
        self._add_imports(spelled)
        return awaited(original, spelled.node), spelled.detail

    def _rewrite_chain(self, original: cst.Call, updated: cst.Call, scope: Scope) -> tuple[cst.Await, str] | str:
        """``open(p).read()`` -> ``await asyncio.to_thread(lambda: open(p).read())``.

        Both steps block, so both go to the thread. The lambda defers evaluating the
        arguments, so this is only done when they are plain names and literals.
        """
        assert self._offloader is not None
        if not all(_is_plain(arg.value) for arg in original.args) or not all(
            _is_plain(arg.value) for arg in original.func.value.args  # type: ignore[attr-defined]
        ):
            return "its arguments are not plain names or literals: a lambda would evaluate them later, in the thread"
        thunk = cst.Lambda(cst.Parameters(), updated.with_changes(lpar=[], rpar=[]))
        spelled = self._offloader.offload(cst.Call(thunk), scope)
        if spelled is None:
            return _NO_NAME
        self._add_imports(spelled)
        return awaited(original, spelled.node), spelled.detail

    def _add_imports(self, spelled: Spelled) -> None:
        for module in spelled.needs:
            AddImportsVisitor.add_needed_import(self.context, module)


class _BindingPass(cst.CSTVisitor):
    """Records the typed bindings (``f = open(p)``, ``with open(p) as f``) before the rewrite.

    A method call is typed only when every binding of its receiver is known, also the
    ones further down the coroutine: without this pass, ``f.write()`` between two ``with
    open(...) as f`` blocks would depend on the order of the walk, and a rewrite that
    moves the later block would change the verdict on the next run.
    """

    def __init__(self, command: OffloadBlockingCalls) -> None:
        super().__init__()
        self.command = command
        self._coroutines = 0  # how many async defs the walk is in

    def on_visit(self, node: cst.CSTNode) -> bool:
        command = self.command
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                if isinstance(small, cst.Assign):
                    command.visit_Assign(small)
                elif isinstance(small, cst.AnnAssign):
                    command.visit_AnnAssign(small)
            return False
        if isinstance(node, cst.BaseCompoundStatement) and not self._coroutines and not may_hold_coroutine(node):
            return False
        if isinstance(node, cst.FunctionDef) and node.asynchronous is not None:
            self._coroutines += 1
        elif isinstance(node, cst.Param):
            command.visit_Param(node)
        elif isinstance(node, cst.WithItem):
            command.visit_WithItem(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, cst.FunctionDef) and original_node.asynchronous is not None:
            self._coroutines -= 1


def _line_comment(statement: cst.CSTNode) -> str | None:
    """The comment ending a statement's (first) line: where ``# noqa`` goes."""
    if isinstance(statement, cst.SimpleStatementLine):
        whitespace = statement.trailing_whitespace
    else:
        body = getattr(statement, "body", None)
        if isinstance(body, cst.IndentedBlock):
            whitespace = body.header
        elif isinstance(body, cst.SimpleStatementSuite):
            whitespace = body.trailing_whitespace
        else:
            return None
    return whitespace.comment.value if whitespace.comment else None


def _reads_plainly(target: cst.BaseExpression) -> bool:
    """``a``, ``a.b.c``, ``a[k]``, ``a.b["k"]``: evaluating it calls nothing of ours."""
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, cst.Attribute):
        return _reads_plainly(target.value)
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        return (
            isinstance(index, cst.Index)
            and isinstance(index.value, (cst.Name, cst.Integer, cst.SimpleString))
            and _reads_plainly(target.value)
        )
    return False


def _is_plain(node: cst.BaseExpression) -> bool:
    """Evaluating it later, in another thread, gives the same value: names and literals.

    Not attributes: ``open(self.path).read()`` in a lambda would read ``self.path`` in the
    thread, later, after other tasks may have changed it.
    """
    if isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString, cst.Ellipsis)):
        return True
    if isinstance(node, cst.FormattedString):
        return all(
            _is_plain(part.expression) for part in node.parts if isinstance(part, cst.FormattedStringExpression)
        )
    if isinstance(node, cst.ConcatenatedString):
        return _is_plain(node.left) and _is_plain(node.right)
    return False


@dataclass
class ModuleRewrite:
    """The node-level result, for callers that hold a tree (the fixit rule)."""

    module: cst.Module
    #: ``module`` before imports were added or removed.
    calls_only: cst.Module
    findings: list[Finding]
    #: Each finding with the input call node it is about.
    located: list[tuple[Finding, cst.Call]]
    #: Input call node -> replacement; a replacement includes its nested rewrites.
    replacements: dict[cst.Call, cst.Await]


def _python_tree(tree: cst.Module, source: bytes | None) -> ast.Module | None:
    """CPython's own parse of the code being rewritten (``source``, the bytes libcst
    parsed, or else the module's code), for the analyses that run on ``ast``; ``None`` if
    this Python rejects the code."""
    try:
        return ast.parse(source if source is not None else tree.code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def rewrite_module(
    module: cst.Module,
    settings: Settings,
    filename: str = "<stdin>",
    suppressed: Callable[[cst.Call], bool] | None = None,
    findings_only: bool = False,
    source: bytes | None = None,
    kept: frozenset[str] = frozenset(),
) -> ModuleRewrite:
    """Rewrite a parsed module. The input tree is not modified; its nodes key the result.

    ``source``: the bytes ``module`` was parsed from, if the caller has them (spares
    generating the code again for the analyses on CPython's ``ast``).
    """
    command = OffloadBlockingCalls(CodemodContext(filename=filename), settings=settings, suppressed=suppressed)
    command.prefiltered = True
    command.findings_only = findings_only
    command.source = source
    command.kept_names = kept
    output = command.transform_module(module)
    assert command.calls_only is not None
    return ModuleRewrite(output, command.calls_only, command.findings, command.located, command.replacements)


__all__ = ["ModuleRewrite", "OffloadBlockingCalls", "rewrite_module", "suppressed_by_comment"]

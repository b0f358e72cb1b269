"""The rewrite: a libcst transformer that carries out a module's plan.

What to rewrite is decided on CPython's ``ast`` (``codemods.analysis.finder.plan_module``:
the findings, and for each fixable call how it is fixed; the ``with`` blocks that move;
the augmented assignments whose call is hoisted). This transformer finds those nodes by
position and builds the new code: ``codemods.rewrite.offload`` spells the offloading calls with
the module's own imports, ``codemods.rewrite.blocks`` builds the functions blocks move into,
libcst's import visitors add and remove imports. Run it through
``codemods.engine.transform_source`` (what the CLI and the fixit rule do), or directly
with ``python -m libcst.tool codemod -x codemods.command.OffloadBlockingCalls --no-format PATH``.
"""

from __future__ import annotations

import argparse
import ast
import bisect
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

import libcst as cst
from libcst.codemod import Codemod, CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import Assignment, BaseAssignment, BaseMetadataProvider, CodeRange, GlobalScope, MetadataWrapper, Scope, ScopeProvider

from codemods.analysis.finder import CHAIN, NATIVE, ModulePlan, Span, plan_module
from codemods.analysis.modules import ProjectView
from codemods.rewrite.blocks import build_helper
from codemods.catalog import BlockingCall
from codemods.config import ConfigError, Settings, load_settings
from codemods.rewrite.compiles import rewrite_problem
from codemods.findings import Finding
from codemods.rewrite.imports import add_imports_in_header, drop_exposed_blank_lines, remove_imports_in_statements
from codemods.analysis.spelling import Spelling
from codemods.rewrite.offload import native, offloaded
from codemods.rewrite.positions import ranges_at
from codemods.rewrite.nodes import awaited, parenthesize


class OffloadBlockingCalls(VisitorBasedCodemodCommand):
    DESCRIPTION = (
        "Rewrite blocking calls inside coroutines to `await asyncio.to_thread(...)`, "
        "or to an exact asyncio equivalent (`time.sleep` -> `asyncio.sleep`)."
    )
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (ScopeProvider,)

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
        #: Given by the engine (the CLI, the fixit rule); run by ``libcst.tool``, the command
        #: reads each file's nearest pyproject.toml itself (``transform_module``).
        self._given_settings = settings is not None
        self._native_sleep = native_sleep
        settings = settings or Settings()
        if native_sleep is not None:
            settings = replace(settings, native_sleep=native_sleep)
        self.settings = settings
        #: Decides whether a blocking call is exempt (e.g. by a lint-ignore comment).
        self.suppressed = suppressed
        #: When set, only the call at this span is rewritten (an editor's quick fix).
        self.only: Span | None = None
        #: The project around the module (``codemods.project``); alone by default.
        self.project = ProjectView()
        self.findings: list[Finding] = []
        #: Each finding with the call node (of the input tree) it is about (for a blocking
        #: function handed to another, ``max(ps, key=os.path.getmtime)``, the function's name).
        self.located: list[tuple[Finding, cst.BaseExpression]] = []
        #: Input call node -> its replacement (which includes rewrites of nested calls).
        self.replacements: dict[cst.Call, cst.Await] = {}
        #: The tree with calls rewritten, before imports are added or removed.
        self.calls_only: cst.Module | None = None
        #: The bytes the module was parsed from, when the caller has them.
        self.source: bytes | None = None
        #: Names read by code the caller cut from the module (``codemods.rewrite.focus``): their
        #: imports are never dropped as unused.
        self.kept_names: frozenset[str] = frozenset()
        #: Set by callers that only want the findings: nothing is rewritten.
        self.findings_only = False
        #: Why the rewrite must not be used (it does not compile), if so.
        self.problem: str | None = None
        #: Raise ``SkipFile`` then (as ``libcst.tool`` expects); callers that still want the
        #: findings (``rewrite_module``) read ``problem`` instead.
        self.refuse_uncompilable = True
        self._plan = ModulePlan()
        self._ranges: dict[cst.CSTNode, CodeRange] = {}
        self._planned_lines: list[int] = []
        self._hoists: set[cst.AugAssign | cst.Assign] = set()
        #: Arguments of chains that their lambda binds when it is made -> the parameter's name.
        self._bound_arguments: dict[cst.CSTNode, str] = {}
        self._bound_at: dict[Span, cst.BaseExpression] = {}
        self._helper_names: dict[Scope, set[str]] = {}
        # Callees that a native rewrite removed from the code (``time.sleep``): their
        # imports go too when nothing else uses them.
        self._dropped_callees: list[tuple[cst.BaseExpression, Scope]] = []
        self._top_level_imports: set[cst.CSTNode] = set()
        self._full_import_removal = False
        self._imports_to_remove: set[cst.CSTNode] = set()
        #: The plan, when the caller has it (``rewrite_unit``): the module is not analysed again.
        self.given_plan: ModulePlan | None = None
        #: Leave the imports to the caller (``rewrite_unit``: the module is one statement of a
        #: bigger one): ``needed_modules`` lists them, in the order the rewrite asked for them.
        self.imports_elsewhere = False
        self.needed_modules: list[str] = []

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
        if not self._given_settings and self.context.filename:
            self.settings = self._settings_of(Path(self.context.filename))
        source = self.source if self.source is not None else tree.bytes
        if self.given_plan is not None:
            self._plan = self._locate_plan(tree, self.given_plan)
        else:
            try:
                python_tree = ast.parse(source)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
                raise SkipFile(f"Python's own parser rejects the module: {error}") from error
            self._plan = self._make_plan(tree, python_tree, source)
        self._record_findings()
        if self.findings_only or not (self._plan.calls or self._plan.blocks):
            self.calls_only = tree
            return tree
        result = super().transform_module(tree)
        if RemoveImportsVisitor.CONTEXT_KEY in self.context.scratch and self.calls_only is not None:
            # Only top-level imports were removed unless a full removal pass ran.
            result = drop_exposed_blank_lines(self.calls_only, result, blocks=self._full_import_removal)
        self.problem = rewrite_problem(source, result.bytes, self.context.filename or "<unknown>")
        if self.problem is not None and self.refuse_uncompilable:
            raise SkipFile(self.problem)
        return result

    def _settings_of(self, path: Path) -> Settings:
        """The settings of the file's nearest pyproject.toml, as the CLI reads them."""
        try:
            settings = load_settings(path.absolute().parent)
        except ConfigError as error:
            raise SkipFile(f"loopsafe cannot run: {error}") from None
        return settings if self._native_sleep is None else replace(settings, native_sleep=self._native_sleep)

    def _make_plan(self, tree: cst.Module, python_tree: ast.Module, source: bytes) -> ModulePlan:
        only = self.only
        plan = plan_module(python_tree, source, self.settings, project=self.project,
                           suppressed=None if only is None else (lambda span: span != only))
        if self.suppressed is not None and plan.findings:
            # The caller's exemptions are about nodes: find the calls of the findings.
            ranges = ranges_at(tree, {span[0] for _, span in plan.located})
            calls = {_span(where): node for node, where in ranges.items() if isinstance(node, cst.Call)}
            suppressed = self.suppressed

            def exempt(span: Span) -> bool:
                node = calls.get(span)
                return node is not None and suppressed(node)

            plan = plan_module(python_tree, source, self.settings, suppressed=exempt, project=self.project)
        return self._locate_plan(tree, plan)

    def _locate_plan(self, tree: cst.Module, plan: ModulePlan) -> ModulePlan:
        """``plan``, with the positions of the nodes it names found in ``tree``."""
        lines = {span[0] for span in plan.calls} | {line for line, _ in plan.blocks} | {line for line, _ in plan.hoists}
        lines |= {span[0] for _, span in plan.located}
        self._planned_lines = sorted(lines)
        self._ranges = ranges_at(tree, lines)
        bound = {span: name for spans in plan.chain_parameters.values() for name, span in spans}
        if bound:
            for node, where in self._ranges.items():
                if isinstance(node, cst.BaseExpression) and _span(where) in bound:
                    self._bound_arguments[node] = bound[_span(where)]
                    self._bound_at[_span(where)] = node
        return plan

    def _record_findings(self) -> None:
        calls = {_span(where): node for node, where in self._ranges.items() if isinstance(node, cst.Call)}
        references = {
            _span(where): node for node, where in self._ranges.items() if isinstance(node, (cst.Name, cst.Attribute))
        }
        for finding, span in self._plan.located:
            self.findings.append(finding)
            node: cst.BaseExpression | None = calls.get(span) or references.get(span)
            if node is not None:
                self.located.append((finding, node))
            if not finding.fixable:
                self.warn(f"line {finding.line}: {finding.code} {finding.message}")

    def _instantiate_and_run(self, transform: type, tree: cst.Module) -> cst.Module:
        if transform is AddImportsVisitor:
            return add_imports_in_header(self.context, tree)
        if transform is RemoveImportsVisitor and not self._full_import_removal:
            return remove_imports_in_statements(self.context, tree, self._imports_to_remove)
        return super()._instantiate_and_run(transform, tree)

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        self._top_level_imports = {
            small
            for statement in tree.body
            if isinstance(statement, cst.SimpleStatementLine)
            for small in statement.body
            if isinstance(small, (cst.Import, cst.ImportFrom))
        }
        result = tree.visit(self)
        self._schedule_unused_imports()
        self.calls_only = result
        return result

    def _schedule_unused_imports(self) -> None:
        """Ask RemoveImportsVisitor to drop imports that only the rewritten calls used.

        Our scope analysis already knows every reference to each import, so the
        (costly) removal pass runs only when an import really lost its last use.
        """
        dropped = {_root_of(callee) for callee, _ in self._dropped_callees}
        decided: set[BaseAssignment] = set()  # each import once, however many calls dropped it
        for callee, scope in self._dropped_callees:
            for assignment in scope[_root_of(callee).value]:
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

    def _scope(self, node: cst.CSTNode) -> Scope | None:
        return self.get_metadata(ScopeProvider, node, None)

    def _start(self, node: cst.CSTNode) -> tuple[int, int] | None:
        where = self._ranges.get(node)
        return None if where is None else (where.start.line, where.start.column)

    # -- speed: the matcher machinery is unused, and statements without a plan are skipped --

    # ContextAwareTransformer is a MatcherDecoratableTransformer; this transformer has no
    # matcher decorators, so go straight to the plain CSTTransformer dispatch.
    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)) and not self._planned(node):
            return False
        return cst.CSTTransformer.on_visit(self, node)

    def _planned(self, statement: cst.CSTNode) -> bool:
        """Whether a statement spans a line of the plan."""
        where = self._ranges.get(statement)
        if where is None:
            return False
        first = where.start.line
        decorators = getattr(statement, "decorators", ())
        if decorators:
            # libcst's range of a def or class starts at its ``def``/``class`` line, below
            # its decorators, which run where the statement is (``@retry(wait=f())``).
            opening = self._ranges.get(decorators[0])
            first = min(first, opening.start.line) if opening is not None else first
        at = bisect.bisect_left(self._planned_lines, first)
        return at < len(self._planned_lines) and self._planned_lines[at] <= where.end.line

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        if self._bound_arguments:
            name = self._bound_arguments.get(original_node)
            if name is not None:
                return cst.Name(name)  # the chain's lambda binds it when it is made
        return cst.CSTTransformer.on_leave(self, original_node, updated_node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        cst.CSTTransformer.on_visit_attribute(self, node, attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        cst.CSTTransformer.on_leave_attribute(self, original_node, attribute)

    # -- read-modify-write assignments whose awaited part is hoisted ----------------------

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self._start(node) in self._plan.hoists:
            # ``self.total += f(p)`` -> ``_result = await ...`` then ``self.total += _result``:
            # the target is then read after the await, in one step with the write.
            self._hoists.add(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._start(node) in self._plan.hoists:
            self._hoists.add(node)  # ``x = x + f(p)``: the right operand goes first

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        statement = original_node.body[0] if original_node.body else None
        updated = updated_node.body[0] if updated_node.body else None
        if statement not in self._hoists or not isinstance(updated, (cst.AugAssign, cst.Assign)):
            return updated_node
        assert isinstance(statement, (cst.AugAssign, cst.Assign))
        if isinstance(updated, cst.Assign):
            assert isinstance(updated.value, cst.BinaryOperation) and isinstance(statement.value, cst.BinaryOperation)
            hoisted, original_part = updated.value.right, statement.value.right
        else:
            hoisted, original_part = updated.value, statement.value
        if not _holds_await(hoisted):
            return updated_node  # no call was rewritten: nothing to hoist
        scope = self._scope(original_node)
        taken = self._helper_names.setdefault(scope, set()) if scope is not None else set()
        name = "_result"
        counter = 1
        while (scope is not None and (name in scope or scope.accesses[name])) or name in taken:
            counter += 1
            name = f"_result_{counter}"
        taken.add(name)
        # Not call replacements any more (the fixit rule then carries the whole module).
        for call in _calls_in(original_part):
            self.replacements.pop(call, None)
        first = updated_node.with_changes(
            body=[cst.Assign([cst.AssignTarget(cst.Name(name))], hoisted.with_changes(lpar=[], rpar=[]))],
            trailing_whitespace=cst.TrailingWhitespace(),
        )
        rest = (
            updated.with_changes(value=updated.value.with_changes(right=cst.Name(name)))
            if isinstance(updated, cst.Assign) and isinstance(updated.value, cst.BinaryOperation)
            else updated.with_changes(value=cst.Name(name))
        )
        second = cst.SimpleStatementLine([rest], trailing_whitespace=updated_node.trailing_whitespace)
        return cst.FlattenSentinel([first, second])

    # -- with open(...) blocks moved to a thread --------------------------------------

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        start = self._start(original_node)
        planned = self._plan.blocks.get(start) if start is not None else None
        if planned is None:
            return updated_node
        plan, spelling = planned
        scope = self._scope(original_node)
        if scope is not None:
            self._helper_names.setdefault(scope, set()).add(plan.helper)
        statements = build_helper(updated_node, plan, lambda call: cst.Await(offloaded(call, spelling)))
        self._add_imports(spelling)
        return cst.FlattenSentinel(statements)

    # -- calls -------------------------------------------------------------------------

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
        where = self._ranges.get(original_node)
        planned = self._plan.calls.get(_span(where)) if where is not None else None
        if planned is None:
            return updated_node
        how, entry, spelling = planned
        replacement = self._rewrite(original_node, updated_node, how, entry, spelling)
        self.replacements[original_node] = replacement
        return replacement

    def _rewrite(
        self, original: cst.Call, updated: cst.Call, how: str, entry: BlockingCall, spelling: Spelling
    ) -> cst.Await:
        if how == CHAIN:
            # ``open(p).read()`` -> ``await asyncio.to_thread(lambda: open(p).read())``: both
            # steps block; arguments another task may change are bound when the lambda is
            # made (``lambda path=self.path: open(path).read()``), the others read later.
            where = self._ranges.get(original)
            no_space = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
            parameters = [
                cst.Param(cst.Name(name), default=self._bound_at[span], equal=no_space)
                for name, span in (self._plan.chain_parameters.get(_span(where), ()) if where is not None else ())
            ]
            thunk = cst.Lambda(cst.Parameters(params=parameters), updated.with_changes(lpar=[], rpar=[]))
            replacement = offloaded(cst.Call(thunk), spelling)
        elif how == NATIVE:
            assert entry.native is not None
            replacement = native(updated, entry.native, spelling)
            scope = self._scope(original.func)
            if scope is not None:
                # ``time.sleep`` is gone from the code: its import may go too.
                self._dropped_callees.append((original.func, scope))
        else:
            replacement = offloaded(updated, spelling)
        self._add_imports(spelling)
        return awaited(original, replacement)

    def _add_imports(self, spelling: Spelling) -> None:
        for module in spelling.needs:
            self.needed_modules.append(module)
            if not self.imports_elsewhere:
                AddImportsVisitor.add_needed_import(self.context, module)


def _span(where: CodeRange) -> Span:
    return (where.start.line, where.start.column, where.end.line, where.end.column)


def _holds_await(node: cst.CSTNode) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Await(self, node: cst.Await) -> bool:
            nonlocal found
            found = True
            return False

    node.visit(Finder())
    return found


def _calls_in(node: cst.CSTNode) -> list[cst.Call]:
    calls: list[cst.Call] = []

    class Collector(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            calls.append(node)

    node.visit(Collector())
    return calls


def _root_of(node: cst.BaseExpression) -> cst.Name:
    """``a`` in ``a.b.c``."""
    while isinstance(node, cst.Attribute):
        node = node.value
    assert isinstance(node, cst.Name)
    return node


@dataclass
class ModuleRewrite:
    """The node-level result, for callers that hold a tree (the fixit rule)."""

    module: cst.Module
    #: ``module`` before imports were added or removed.
    calls_only: cst.Module
    findings: list[Finding]
    #: Each finding with the input call node it is about (or the name of a function handed to another).
    located: list[tuple[Finding, cst.BaseExpression]]
    #: Input call node -> replacement; a replacement includes its nested rewrites.
    replacements: dict[cst.Call, cst.Await]
    #: Why ``module`` must not be used (it does not compile), if so.
    problem: str | None = None


def rewrite_module(
    module: cst.Module,
    settings: Settings,
    filename: str = "<stdin>",
    suppressed: Callable[[cst.Call], bool] | None = None,
    findings_only: bool = False,
    source: bytes | None = None,
    kept: frozenset[str] = frozenset(),
    project: ProjectView | None = None,
    only: Span | None = None,
) -> ModuleRewrite:
    """Rewrite a parsed module. The input tree is not modified; its nodes key the result.

    ``source``: the bytes ``module`` was parsed from, if the caller has them (spares
    generating the code again for the analyses on CPython's ``ast``).
    """
    command = OffloadBlockingCalls(CodemodContext(filename=filename), settings=settings, suppressed=suppressed)
    command.findings_only = findings_only
    command.refuse_uncompilable = False
    command.source = source
    command.kept_names = kept
    command.project = project or ProjectView()
    command.only = only
    output = command.transform_module(module)
    assert command.calls_only is not None
    return ModuleRewrite(
        output, command.calls_only, command.findings, command.located, command.replacements, command.problem
    )


class _UnitRewrite(OffloadBlockingCalls):
    """The rewrite of one top-level statement, without libcst's scope analysis: the scopes
    serve the choice of a hoist's name and the removal of an import a native rewrite made
    unused, both decided on the whole module (``codemods.rewrite.splice`` leaves modules
    with either to the tree rewrite of the module)."""

    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = ()

    def _scope(self, node: cst.CSTNode) -> Scope | None:
        return None


def rewrite_unit(
    source: bytes, settings: Settings, plan: ModulePlan, default_indent: str, filename: str = "<stdin>"
) -> tuple[bytes, list[str]] | None:
    """``source``, one top-level statement of a module (and the comment lines after it)
    with the changes of ``plan`` (positions counted in ``source``) made, and the modules
    those changes need imported, for the caller to add to the module; ``None`` if libcst
    cannot parse it or the rewrite does not compile. ``default_indent``: the module's,
    which libcst gives the blocks it builds (``with`` blocks moved into a function)."""
    try:
        module = cst.parse_module(
            source, config=cst.PartialParserConfig(default_indent=default_indent, default_newline="\n")
        )
    except (cst.ParserSyntaxError, RecursionError, ValueError, SyntaxError, UnicodeDecodeError, LookupError):
        return None
    command = _UnitRewrite(CodemodContext(filename=filename), settings=settings)
    command.refuse_uncompilable = False
    command.source = source
    command.given_plan = plan
    command.imports_elsewhere = True
    output = command.transform_module(module)
    return None if command.problem is not None else (output.bytes, command.needed_modules)


__all__ = ["ModuleRewrite", "OffloadBlockingCalls", "rewrite_module", "rewrite_unit"]

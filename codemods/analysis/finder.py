"""The findings of one module, on CPython's ``ast``: which calls in coroutines block,
and for each whether the fix can rewrite it or why it is only reported.

One walk over the statements that can hold coroutine code, in the order libcst visits
them, keeping the stack of contexts (``codemods.analysis.contexts``): where an await may
go, and why not. Calls are matched on the way out of them (their arguments first), as
the rewrite does; ``with open(...)`` blocks get their verdict from
``codemods.analysis.block_analysis``. Every reason and every fix text is the one ``loopsafe fix``
gives for the same call (a test compares both on every fixture).
"""

from __future__ import annotations

import ast
import bisect
import builtins
import keyword
import re
from dataclasses import dataclass, field, replace
from importlib.util import decode_source
from typing import Callable, Iterable, Sequence, cast

from codemods.analysis.bindings import ModuleScopes, Scope, resolve
from codemods.analysis.comments import Comments, suppressed_by_comment
from codemods.analysis.contexts import (
    COROUTINE, FSTRING_DEBUG, GENERATOR_EXPRESSION, IN_CANCELLATION_HANDLER, IN_CLASS_BODY, IN_FINALLY,
    GENERATOR_ARGUMENT, IN_LOOP_OVER_SHARED, IN_RAISING_HANDLER, MOVING_BLOCK, NOT_COROUTINE, SWALLOWS_CANCELLATION, Cancellation,
    Context, raise_after, raises_in,
)
from codemods.analysis.screen import ASYNC_DEF
from codemods.analysis.flow import COMPOUND_STATEMENTS, TRY_STATEMENTS, child_blocks, child_nodes, walk
from codemods.analysis.detector import Detector, Match, SourceText, arguments_of
from codemods.analysis.frameworks import detect_framework
from codemods.analysis import busy_wait
from codemods.analysis.helpers import CODE as HELPER_CODE
from codemods.analysis.helpers import (
    MISSING, HelperCall, ModuleFunctions, ModuleSummary, ProjectIndex, project_scan, typed_return,
)
from codemods.analysis.modules import ProjectView
from codemods.analysis.observed_sites import (
    AWAITED, CODE as OBSERVED_CODE, NO_FUNCTION, OBSERVED_ENTRY, ObservedSites, Verdicts, call_finding, called_name,
    costed, observed_finding,
)
from codemods.analysis.receivers import ModuleReceivers
from codemods.analysis.spelling import Speller, Spelling
from codemods.analysis.block_analysis import (
    BlockAnalysis, BlockPlan, ModuleConstants, Refusal, all_with_statements, matches_any, walk_in_order,
)
from codemods.analysis.handover import Handover
from codemods.catalog import (
    CALLS_ITS_CALLBACKS, CANCELLATION, HOLDS_PROCESS_STATE, LAZY_VIEW_ARGUMENTS, SAFE_CONTEXT_MANAGERS, THREAD_RUNNER_NAMES,
    THREAD_SAFE, VIEW_METHODS, BlockingCall, BlockingType, Framework, Strategy,
)
from codemods.config import Settings
from codemods.findings import Finding
from codemods.observed import ObservedSite, merge_costs
from codemods.analysis.prior_fixes import HELPER_NAME, Unfixed, unfix

_CALLS_LATER = "its arguments call functions: a lambda would call them later, in the thread"
NO_NAME = "the names it needs (`asyncio`, ...) mean something else here, so they cannot be imported"
MIXED = "the module imports both trio and asyncio, so loopsafe cannot tell which one runs it"
MOVES_WITH_BLOCK = "it runs in a worker thread with the `with` block it is in"
#: Stands for the project function a call reaches, where a catalog entry would be.
_HELPER_ENTRY = BlockingCall("", "helper")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


#: Where a node starts and ends in libcst's terms: (line, column, end line, end column),
#: columns in characters. Two calls may start at one place (``Path(p).resolve().exists()``).
Span = tuple[int, int, int, int]
#: How the fix rewrites a call: run it in a thread, use the native equivalent
#: (``asyncio.sleep``), or run it and the call that made its receiver in a thread together
#: (``open(p).read()``, through a lambda).
OFFLOAD, NATIVE, CHAIN = "offload", "native", "chain"


@dataclass
class ModulePlan:
    """Everything the rewrite needs to know about one module, decided here."""

    #: The findings, sorted; each with the span of its call.
    findings: list[Finding] = field(default_factory=list)
    located: list[tuple[Finding, Span]] = field(default_factory=list)
    #: The calls the fix rewrites, by span: how (``OFFLOAD``, ``NATIVE``, ``CHAIN``), and
    #: the catalog entry of the call.
    calls: dict[Span, tuple[str, BlockingCall, Spelling]] = field(default_factory=dict)
    #: The ``with`` blocks that move into a function run in a thread, by (line, column).
    blocks: dict[tuple[int, int], tuple[BlockPlan, Spelling]] = field(default_factory=dict)
    #: Chains run by a lambda (``CHAIN``), by span: the lambda's parameters, each with the
    #: span of the argument it binds when the lambda is made (``lambda path=self.path:
    #: open(path).read()``), as the original evaluates it, before the thread starts.
    chain_parameters: dict[Span, tuple[tuple[str, Span], ...]] = field(default_factory=dict)
    #: Assignments that read and write a shared target (``self.total += f(p)``,
    #: ``x = x + f(p)``) whose awaited part is hoisted above them, by (line, column).
    hoists: set[tuple[int, int]] = field(default_factory=set)
    #: Each finding with the line whose comment would suppress it (when the comments
    #: were read: ``Comments(source, always=True)``).
    comment_lines: list[tuple[Finding, int]] = field(default_factory=list)
    #: Calls of project functions whose answer needs modules the analysis did not have:
    #: the runner finishes their findings (``codemods.project``).
    pending: list[HelperCall] = field(default_factory=list)
    #: The module's summary, when it was asked for (``ProjectView.summarise``).
    summary: ModuleSummary | None = None

    @property
    def fixable(self) -> bool:
        return any(finding.fixable for finding in self.findings)


#: Decides whether a call (by span) is exempt: the fixit rule's ``# lint-ignore`` comments.
Suppressor = Callable[[Span], bool]


def plan_module(
    tree: ast.Module, source: bytes, settings: Settings, comments: Comments | None = None,
    suppressed: Suppressor | None = None, project: ProjectView | None = None,
) -> ModulePlan:
    """The findings of ``tree`` (parsed from ``source``) and the rewrite of each fixable
    one: the one door from a module's bytes to what loopsafe finds in it (``check``, the
    rewrite, ``--add-noqa``). ``comments``: the module's, if the caller reads them too."""
    text = decode_source(source)
    return _Finder(tree, text, settings, comments or Comments(source), suppressed, project or ProjectView()).run()


#: Where an ``async def`` may start, in decoded text (newlines made ``\n``): the prefilter's pattern.
_ASYNC_DEF_LINE = re.compile(ASYNC_DEF.pattern.decode(), re.MULTILINE)


def statements_with_coroutines(statements: Sequence[ast.stmt], source: str) -> set[ast.stmt]:
    """The statements that hold an ``async def`` in their blocks (not in expressions),
    themselves included. ``async def`` always starts a line: only the statements whose
    lines include such a line are looked into (most of a module is not)."""
    lines: list[int] = []
    at = 1
    last = 0
    for match in _ASYNC_DEF_LINE.finditer(source):
        at += source.count("\n", last, match.start())
        last = match.start()
        lines.append(at)
    found: set[ast.stmt] = set()
    _holding(statements, lines, found)
    return found


def _holding(statements: Sequence[ast.stmt], lines: list[int], found: set[ast.stmt]) -> bool:
    any_found = False
    for statement in statements:
        if not isinstance(statement, COMPOUND_STATEMENTS):
            continue
        first = bisect.bisect_left(lines, statement.lineno)
        if first == len(lines) or lines[first] > (statement.end_lineno or statement.lineno):
            continue  # no line of it starts an ``async def``
        inner = False
        for block in child_blocks(statement, scopes=True):
            inner = _holding(block, lines, found) or inner
        if inner or isinstance(statement, ast.AsyncFunctionDef):
            found.add(statement)
            any_found = True
    return any_found


class _Blocks:
    """Verdicts on the module's ``with`` blocks (``codemods.rewrite.blocks.BlockMoves`` on ``ast``)."""

    def __init__(self, tree: ast.Module, settings: Settings) -> None:
        self._tree = tree
        self._settings = settings
        self._analysis: BlockAnalysis | None = None
        self._pairs: dict[ast.AST, ast.AST] = {}
        self._unfixed: Unfixed | None = None

    def unfixed(self) -> Unfixed:
        """The module as it was before an earlier fix (``codemods.analysis.prior_fixes``)."""
        if self._unfixed is None:
            self._unfixed = unfix(self._tree)
        return self._unfixed

    def _prepare(self) -> BlockAnalysis:
        if self._analysis is None:
            # Judged as the code was before an earlier fix (same verdicts and reasons again).
            unfixed = self.unfixed()
            self._analysis = BlockAnalysis(
                unfixed.module, self._settings.index, self._settings.constructors, unfixed.awaits
            )
            ours = all_with_statements(self._tree)
            theirs = all_with_statements(unfixed.module)
            if len(ours) == len(theirs):
                self._pairs = dict(zip(ours, theirs))
        return self._analysis

    def files_of(self, node: ast.With) -> set[str]:
        try:
            analysis = self._prepare()
            paired = self._pairs.get(node)
            return analysis.files_of(paired) if isinstance(paired, ast.With) else set()
        except Exception:  # noqa: BLE001 - typing is an extra; verdict() reports failures
            return set()

    def verdict(self, node: ast.With, taken: Iterable[str]) -> BlockPlan | Refusal:
        try:
            analysis = self._prepare()
            paired = self._pairs.get(node)
            if not isinstance(paired, ast.With):
                return Refusal("loopsafe could not pair it with Python's own parse of the module")
            return analysis.verdict(paired, taken)
        except Exception as error:  # noqa: BLE001
            return Refusal(f"loopsafe could not analyse it (internal error: {type(error).__name__}: {error})")


class _Finder:
    def __init__(
        self, tree: ast.Module, source: str, settings: Settings, comments: Comments, suppressed: Suppressor | None,
        project: ProjectView,
    ) -> None:
        self.tree = tree
        self.suppressed = suppressed
        self.plan = ModulePlan()
        self.settings = settings
        self.source = source
        self.text = SourceText(source)
        self.scopes = ModuleScopes(tree)
        self.comments = comments
        self.detector = Detector(
            settings.index, settings.constructors, settings.annotations, settings.allows_entry, self.text,
            settings.declared_blocking,
        )
        self.detector.receivers = ModuleReceivers(tree, self.scopes, self.detector)
        framework = detect_framework(tree, source)
        self.framework_problem = MIXED if framework is None else None
        self.local_imports: set[ast.AST] = set()
        self.function_statements: set[ast.stmt] = set()
        self.speller = Speller(tree, framework or Framework.ASYNCIO, settings.legacy_executor, self.local_imports.__contains__)
        self.blocks = _Blocks(tree, settings)
        self.project = project
        self.functions = ModuleFunctions(
            tree, self.scopes, self.detector, comments, project.module, frozenset(settings.non_blocking)
        )
        self.index = ProjectIndex(self._load, project_scan(project))
        self.detector.receivers.imported = self._imported_return
        if HELPER_NAME in source:
            self._note_moved_blocks()
        self.safe_context_managers = settings.index.keys() | settings.constructors.keys() | set(SAFE_CONTEXT_MANAGERS)
        self.contexts: list[Context] = [NOT_COROUTINE]
        self.statement_comments: list[str | None] = [None]
        #: The statements being walked, innermost last.
        self.statements: list[ast.stmt] = []
        #: The statements holding an ``async def`` (the walk skips the others outside coroutines).
        self.holding_coroutines: set[ast.stmt] = set()
        self.awaited: set[ast.Call] = set()
        self.chain_heads: set[ast.Call] = set()
        self.handover = Handover(tree, self.scopes, self.detector, settings, self.chain_heads)
        self.block_openers: set[ast.Call] = set()
        self.carried: list[list[str]] = []
        self.state_holders: set[ast.AST] = set()
        self.helper_names: dict[Scope, set[str]] = {}
        #: Each statement walked -> the statements of its block, and its index there.
        self.siblings: dict[ast.stmt, tuple[Sequence[ast.stmt], int]] = {}
        #: Calls the fix rewrites -> (the function it calls instead, whether that is native).
        self.rewrites: dict[ast.Call, tuple[str, bool]] = {}
        #: Statements of one-line suites (``if x: f()``).
        self.inline_statements: set[ast.stmt] = set()
        self.cancellation = Cancellation(tree, self.scopes)
        #: The ``raise`` statements (and loops holding them) of the handlers being walked.
        self.raising_handlers: list[tuple[list[ast.Raise], list[ast.stmt]]] = []
        #: Calls evaluated after a read of the shared target their assignment writes
        #: (``x = x + f()``) -> why no await may go there.
        self.late_calls: dict[ast.Call, str] = {}
        self._constants: ModuleConstants | None = None
        self._busy_waits: busy_wait.BusyWaits | None = None
        #: Where a recording saw the module's coroutines stall the loop (``--observed``).
        self.observed = ObservedSites(tree, project.observed, self.text) if project.observed else None
        self._observed_verdicts: Verdicts | None = None

    def _note_moved_blocks(self) -> None:
        """Names a block moved by an earlier fix binds count as bound in its coroutine
        too, as they were before the fix: a method is typed the same before and after."""
        for helper in self.blocks.unfixed().helpers:
            coroutine = self.scopes.scope_of(helper)
            inside = self.scopes.scope_of(helper.body[0])
            for name in inside.names():
                bound = [b for b in inside.bindings_of(name) if not isinstance(b.node, ast.arg)]
                if bound:
                    self.detector.moved.setdefault(coroutine, {}).setdefault(name, []).extend(bound)

    def _load(self, name: str) -> ModuleSummary | None | object:
        if name == self.project.module.name:
            return self.functions.summary()
        others = self.project.others
        if others is None:
            return None
        return others.get(name, None if self.project.complete else MISSING)

    def _imported_return(self, call: ast.Call, scope: Scope) -> BlockingType | None:
        """What a coroutine's call of another module's function returns, by that function's
        summary (``typed_return``); a first look does not know it yet, and the decision
        sends such a module to a second look (``codemods.summaries``). Only in coroutines
        and with LS301 (which has the calls decided): the module's sync functions are
        summarised as other modules read them, without the project around them."""
        if not _in_coroutine(scope) or not self.settings.allows(HELPER_CODE):
            return None
        step = self.functions.callee(call, scope)
        if step is None:
            return None
        index = self.index
        outer, index.incomplete = index.incomplete, False
        try:
            typed = typed_return(index, step, self.project.module.name)
            if typed is None or index.incomplete or typed[0].partition(":")[0] == self.project.module.name:
                return None  # (the module's own functions: ``ModuleReceivers``)
            return self.detector.annotated_as(typed[1])
        finally:
            index.incomplete = outer

    @property
    def context(self) -> Context:
        return self.contexts[-1]

    def run(self) -> ModulePlan:
        self.holding_coroutines = statements_with_coroutines(self.tree.body, self.source)
        self._bind_statements(self.tree.body, coroutines=0)
        self._statements(self.tree.body)
        if self.observed is not None and self.settings.allows(OBSERVED_CODE):
            self.plan.located += self._verdicts().left(self.observed)  # no call answers for them
        plan = self.plan
        plan.located.sort(key=lambda pair: pair[0])
        plan.findings = [finding for finding, _ in plan.located]
        if self.project.summarise:
            # Sent to another process as JSON data: the names, and the facts the analysis
            # read; the rest are read there if an answer needs them.
            plan.summary = self.functions.summary()
        return plan

    # -- the typed bindings, first (``command._BindingPass``) ---------------------------

    def _bind_statements(self, statements: Sequence[ast.stmt], coroutines: int) -> None:
        for statement in statements:
            if not isinstance(statement, COMPOUND_STATEMENTS):
                self._bind_simple(statement)
                continue
            if not coroutines and statement not in self.holding_coroutines:
                continue
            inner = coroutines
            if isinstance(statement, _FUNCTIONS):
                self._bind_parameters(statement.args)
                inner += isinstance(statement, ast.AsyncFunctionDef)
            elif isinstance(statement, (ast.With, ast.AsyncWith)):
                for item in statement.items:
                    self._bind_with_item(item, statement)
            for block in child_blocks(statement, scopes=True):
                self._bind_statements(block, inner)

    def _bind_simple(self, statement: ast.stmt) -> None:
        if isinstance(statement, ast.Assign):
            self._bind_assign(statement)
        elif isinstance(statement, ast.AnnAssign):
            self._bind_annotated(statement)

    def _bind_assign(self, node: ast.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return
        target = node.targets[0]
        scope = self.scopes.scope_of(node)
        kind = self.detector.constructed_type(node.value, scope, excluding=target)
        if kind is None and isinstance(node.value, (ast.Call, ast.Name, ast.Attribute)):
            # ``p = p.resolve()``; an alias ``q = p``, ``http = self.http``; ``users = client.app.users``
            kind = self.detector.receiver_type(node.value, scope, excluding=target)
        self.detector.bind(target, kind)
        if kind is None and isinstance(node.value, ast.Call) and not resolve(node.value.func, scope).isdisjoint(
            HOLDS_PROCESS_STATE
        ):
            self.state_holders.add(target)

    def _bind_annotated(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name):
            scope = self.scopes.scope_of(node)
            kind = self.detector.annotated_type(node.annotation, scope)
            if kind is None and node.value is not None:
                kind = self.detector.constructed_type(node.value, scope)
            self.detector.bind(node.target, kind)

    def _bind_parameters(self, arguments: ast.arguments) -> None:
        for parameter in _parameters(arguments):
            if parameter.annotation is not None:
                scope = self.scopes.scope_of(parameter)
                self.detector.bind(parameter, self.detector.annotated_type(parameter.annotation, scope))

    def _bind_with_item(self, item: ast.withitem, statement: ast.stmt) -> None:
        if isinstance(item.optional_vars, ast.Name):
            scope = self.scopes.scope_of(statement)
            kind = self.detector.constructed_type(item.context_expr, scope)
            if kind is None and isinstance(item.context_expr, ast.Call):
                kind = self.detector.receiver_type(item.context_expr, scope)  # ``with conn.cursor() as cur``
            self.detector.bind(item.optional_vars, kind)

    # -- contexts -------------------------------------------------------------------------

    def _push(self, context: Context) -> None:
        self.contexts.append(context)

    def _pop(self) -> None:
        self.contexts.pop()

    def _push_no_await(self, reason: str | None) -> None:
        context = self.context
        if reason is not None and context.rewritable:
            self._push(Context(in_coroutine=True, no_await_reason=reason))
        else:
            self._push(context)

    def _push_generator(self) -> None:
        context = self.context
        self._push(GENERATOR_EXPRESSION if context.in_coroutine and not context.moving else context)

    # -- statements -----------------------------------------------------------------------

    def _statements(self, statements: Sequence[ast.stmt]) -> None:
        for index, statement in enumerate(statements):
            self.siblings[statement] = (statements, index)
            if self.raising_handlers and self.context.rewritable:
                # In a handler, no await before a raise: cancelled there, it would lose the exception.
                raised = raise_after(statement, self.raising_handlers)
                self._push_no_await(None if raised is None else IN_RAISING_HANDLER)
                self._statement(statement)
                self._pop()
            else:
                self._statement(statement)

    def _statement(self, statement: ast.stmt) -> None:
        compound = isinstance(statement, COMPOUND_STATEMENTS)
        if not self.context.in_coroutine and (not compound or statement not in self.holding_coroutines):
            if not compound:
                self._bind_simple(statement)  # module-level objects used by coroutines
            return
        self.statement_comments.append(self.comments.of_statement(statement) if not self.comments.empty else None)
        self.statements.append(statement)
        try:
            if compound:
                self._compound(statement)
            else:
                self._simple(statement)
        finally:
            self.statement_comments.pop()
            self.statements.pop()

    def _simple(self, statement: ast.stmt) -> None:
        if statement in self.function_statements:
            self._note_local_imports(statement)
        if isinstance(statement, ast.Assign):
            self._bind_assign(statement)
            self._expressions(statement.targets)
            self._assignment_hazard(statement)
            self._expression(statement.value)
        elif isinstance(statement, ast.AnnAssign):
            self._bind_annotated(statement)
            self._expression(statement.target)
            self._annotation(statement.annotation)
            if statement.value is not None:
                self._expression(statement.value)
        elif isinstance(statement, ast.AugAssign):
            self._expression(statement.target)
            self._push_no_await(self._augmented_hazard(statement))
            self._expression(statement.value)
            self._pop()
        else:
            for child in child_nodes(statement):
                if isinstance(child, ast.expr):
                    self._expression(child)

    def _note_local_imports(self, statement: ast.stmt) -> None:
        # libcst sees the statements of one line together: imports later on the line count.
        for sibling in self._same_line(statement):
            if isinstance(sibling, (ast.Import, ast.ImportFrom)):
                self.local_imports.add(sibling)

    def _same_line(self, statement: ast.stmt) -> Sequence[ast.stmt]:
        """The statements written on the line(s) of ``statement`` (``a = 1; b = 2``)."""
        body, at = self.siblings.get(statement, ([statement], 0))
        first = last = at
        while first > 0 and body[first - 1].end_lineno == body[first].lineno:
            first -= 1
        while last + 1 < len(body) and body[last].end_lineno == body[last + 1].lineno:
            last += 1
        return body[first : last + 1]

    def _compound(self, statement: ast.stmt) -> None:
        body: list[ast.stmt] = getattr(statement, "body", [])
        if body and body[0].lineno == statement.lineno:
            # ``if x: a += f()``: a one-line suite, which libcst holds without statement lines.
            self.inline_statements.update(body)
        if isinstance(statement, _FUNCTIONS):
            self._function(statement)
        elif isinstance(statement, ast.ClassDef):
            self._expressions(statement.decorator_list)
            self._expressions(statement.bases)
            self._expressions([k.value for k in statement.keywords])
            self._push_no_await(IN_CLASS_BODY)
            self._statements(statement.body)
            self._pop()
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            self._with(statement)
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            self._expression(statement.target)
            self._expression(statement.iter)
            rewritable = isinstance(statement, ast.For) and self.context.rewritable
            self._push_no_await(self._loop_hazard(statement.iter, self.scopes.scope_of(statement)) if rewritable else None)
            self._statements(statement.body)
            self._pop()
            self._statements(statement.orelse)
        elif isinstance(statement, (ast.While, ast.If)):
            found = len(self.plan.located) + len(self.plan.pending)
            self._expression(statement.test)
            self._statements(statement.body)
            if isinstance(statement, ast.While) and len(self.plan.located) + len(self.plan.pending) == found:
                self._busy_wait(statement)  # a loop holding a finding is left to it (an await may come)
            self._statements(statement.orelse)
        elif isinstance(statement, TRY_STATEMENTS):
            star = not isinstance(statement, ast.Try)
            statement = cast(ast.Try, statement)
            swallower = self.cancellation.swallower(statement.handlers) if self.context.rewritable else None
            caught = "except" if swallower is None or swallower.type is None else f"except {self.text(swallower.type)}"
            self._push_no_await(None if swallower is None else SWALLOWS_CANCELLATION.format(caught))
            self._statements(statement.body)
            self._pop()
            for handler in statement.handlers:
                if handler.type is not None:
                    self._expression(handler.type)
                if star:
                    self._push(self.context)
                else:
                    self._push_no_await(IN_CANCELLATION_HANDLER if self.cancellation.catches(handler) else None)
                self.raising_handlers.append(raises_in(handler))
                self._statements(handler.body)
                self.raising_handlers.pop()
                self._pop()
            self._statements(statement.orelse)
            self._push_no_await(IN_FINALLY)
            self._statements(statement.finalbody)
            self._pop()
        elif isinstance(statement, ast.Match):
            self._expression(statement.subject)
            for case in statement.cases:
                if case.guard is not None:
                    self._expression(case.guard)
                self._statements(case.body)

    def _busy_wait(self, loop: ast.While) -> None:
        """LS280: a loop that polls an object and never awaits (``codemods.analysis.busy_wait``)."""
        if not self.context.in_coroutine or self.context.moving or not self.settings.allows(busy_wait.CODE):
            return
        if self._busy_waits is None:
            self._busy_waits = busy_wait.BusyWaits(self.tree, self.scopes)
        poll = self._busy_waits.polled(loop)
        if poll is None or (self.suppressed is not None and self.suppressed(self._span(poll.node))):
            return
        if any(suppressed_by_comment(self.comments.of_statement(s), busy_wait.CODE) for s in (loop, poll.statement)):
            return
        line, column = self._start(poll.node)
        reason = busy_wait.reason(self.speller.framework)
        self._record_finding(poll.node, Finding(line, column + 1, busy_wait.CODE, poll.text, False, reason))

    def _function(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._expressions(function.decorator_list)
        self._parameters(function.args)
        if function.returns is not None:
            self._annotation(function.returns)
        self._push(COROUTINE if isinstance(function, ast.AsyncFunctionDef) else NOT_COROUTINE)
        header_line = function.body[0].lineno if function.body else 0
        if function.body and header_line > _colon_line(function):
            self.function_statements.update(function.body)
        # The handlers around the def do not hold its body: it runs when it is called.
        handlers, self.raising_handlers = self.raising_handlers, []
        self._statements(function.body)
        self.raising_handlers = handlers
        self._pop()

    def _parameters(self, arguments: ast.arguments) -> None:
        for parameter in _parameters(arguments):
            if parameter.annotation is not None:
                scope = self.scopes.scope_of(parameter)
                self.detector.bind(parameter, self.detector.annotated_type(parameter.annotation, scope))
                self._annotation(parameter.annotation)
        self._expressions([d for d in [*arguments.defaults, *arguments.kw_defaults] if d is not None])

    def _annotation(self, annotation: ast.expr) -> None:
        # Annotations of locals are never evaluated; those of nested defs are data, not work.
        self._push(NOT_COROUTINE)
        self._expression(annotation)
        self._pop()

    # -- with blocks ----------------------------------------------------------------------

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        typed, moving, atomic = False, False, False
        opened: list[tuple[ast.Call, BlockingCall]] = []
        if isinstance(node, ast.With):
            typed, moving, atomic, opened = self._with_block(node)
        for item in node.items:
            self._bind_with_item(item, node)
            self._expression(item.context_expr)
            if item.optional_vars is not None:
                self._expression(item.optional_vars)
        rewritable = isinstance(node, ast.With) and self.context.rewritable
        self._push_no_await(self._with_hazard(node) if rewritable else None)
        self._statements(node.body)
        self._pop()
        if typed:
            self.detector.block_files.pop()
        if atomic:
            self._pop()
        if moving:
            self._pop()
            carried = self.carried.pop()
            _, spelled = self.plan.blocks[self._start(node)]
            detail = f"the with block moves into a function run by {spelled.runner}"
            if carried:
                detail += ", with " + ", ".join(f"{name}()" for name in carried) + " in it"
            # What stalled in the block moves with it: its finding carries the cost.
            inside = self.observed.take_within(node, self._coroutine_of(node)) if self.observed is not None else []
            for call, entry in opened:
                self._record(call, entry, True, detail, also=inside)
                inside = []

    def _with_block(self, node: ast.With) -> tuple[bool, bool, bool, list[tuple[ast.Call, BlockingCall]]]:
        """A ``with open(...)`` block in a coroutine: does it move to a thread as a whole?

        Returns (typed, moving, atomic, openers): whether it pushed its files, whether it
        moves (a context was pushed), whether it stays whole on the loop (a context was
        pushed), and its opening calls.
        """
        context = self.context
        if not context.in_coroutine or context.moving:
            return False, False, False, []
        scope = self.scopes.scope_of(node)
        opened: list[tuple[ast.Call, BlockingCall]] = []
        for item in node.items:
            expression = item.context_expr
            match = self.detector.match(expression, scope) if isinstance(expression, ast.Call) else None
            if match is None or not match.entry.opens_file or match.reason is not None:
                return False, False, False, []
            assert isinstance(expression, ast.Call)
            opened.append((expression, match.entry))
        # Inside, its ``as`` names are its files, whatever the coroutine binds to them
        # elsewhere (a later block moved into a helper must not change that). So they are
        # when its opening is not wanted (``--select``, ``ignore``, a noqa comment): the calls of
        # its files are found all the same.
        file_type = self.settings.constructors.get("builtins.open")
        files = self.blocks.files_of(node) if file_type is not None else set()
        self.detector.block_files.append((scope, {name: file_type for name in files if file_type is not None}))
        if any(self._is_suppressed(call, entry) for call, entry in opened):
            return True, False, False, []
        taken = self.helper_names.setdefault(scope, set())
        plan = self.blocks.verdict(node, taken)
        if isinstance(plan, BlockPlan):
            hazard = self.handover.block_arguments_hazard(node, plan)
            if hazard is not None:
                plan = Refusal(hazard, atomic=True)
        if context.no_await_reason is not None:  # where no await may go (finally, ...)
            # Its own reason, when it has one, says more about the block (a bare ``raise`` in it).
            own = f"; and {plan.reason}" if isinstance(plan, Refusal) else ""
            plan = Refusal(f"it is {context.no_await_reason}{own}", atomic=isinstance(plan, Refusal) and plan.atomic)
        spelled = None
        if isinstance(plan, BlockPlan):
            spelled = self.speller.offload(plan.helper, keywords=False, scope=scope, arguments=False)
            if self.framework_problem is not None:
                plan = Refusal(self.framework_problem)
            elif spelled is None:
                plan = Refusal(NO_NAME)
        if isinstance(plan, Refusal):
            for call, entry in opened:
                self.chain_heads.add(call)
                self._record(call, entry, False, f"the with block cannot move to a thread: {plan.reason}")
            if plan.atomic:
                # No await may split it either: its calls are reported, not offloaded.
                self._push(replace(COROUTINE, no_await_reason=f"inside a with block that stays on the loop: {plan.reason}"))
            return True, False, plan.atomic, opened
        taken.add(plan.helper)
        assert spelled is not None
        self.plan.blocks[self._start(node)] = (plan, spelled)
        self.block_openers.update(call for call, _ in opened)
        self.carried.append([])
        # Calls inside are found, not rewritten: the whole block will run in a thread.
        self._push(MOVING_BLOCK)
        return True, True, False, opened

    # -- where a new await would let other tasks in at the wrong moment ----------------

    def _with_hazard(self, node: ast.With | ast.AsyncWith) -> str | None:
        scope = self.scopes.scope_of(node)
        for item in node.items:
            expression = item.context_expr
            spelled = self.text(expression)
            callee = expression.func if isinstance(expression, ast.Call) else expression
            names = resolve(callee, scope)
            assignments = scope[expression.id] if isinstance(expression, ast.Name) else []
            if names & HOLDS_PROCESS_STATE or (assignments and all(
                    a.node is not None and a.node in self.state_holders for a in assignments)):
                return (f"inside `with {spelled}:`, which holds process-wide state while its block runs: an await "
                        "here would let other tasks run inside it (a lock held across it deadlocks them)")
            if isinstance(expression, ast.Call) and names == {"contextlib.suppress"}:
                caught = {name for arg in arguments_of(expression) for name in self.cancellation.names(arg.value, scope)}
                if caught & CANCELLATION:
                    return (f"inside `with {spelled}:`, which would swallow the cancellation an await here "
                            "can raise")
                continue
            if names and names <= self.safe_context_managers:
                continue
            if self.detector.receiver_type(expression, scope) is not None:
                continue  # a file or client of the catalog
            if isinstance(expression, ast.Call) and self.detector.match(expression, scope) is not None:
                continue  # made by a blocking call of the catalog (``p.open()``): an I/O object
            return (f"inside `with {spelled}:`, a context manager loopsafe does not know to be safe: if it holds a "
                    "lock or process-wide state, an await here would let other tasks run inside it")
        return None

    def _loop_hazard(self, iterable: ast.expr, scope: Scope) -> str | None:
        """Why no await may go in a loop's body: it iterates over a container other tasks may change."""
        shared = self._shared_iterable(iterable, scope)
        return None if shared is None else IN_LOOP_OVER_SHARED.format(shared)

    def _shared_iterable(self, expression: ast.expr, scope: Scope) -> str | None:
        """``SHARED``, ``self.items``, ``d.items()`` on those: containers other tasks may change;
        also through lazy views of them (``enumerate(self.pending)``, ``zip``, ``map``, a
        generator expression), which read the container as the loop goes."""
        target = expression
        if isinstance(target, ast.GeneratorExp):
            return self._shared_iterable(target.generators[0].iter, scope)
        names = resolve(target.func, scope) if isinstance(target, ast.Call) else set()
        if names and names <= LAZY_VIEW_ARGUMENTS.keys():
            assert isinstance(target, ast.Call)
            if names == {"builtins.iter"} and len(target.args) == 2:
                return None
            for start, stop in {LAZY_VIEW_ARGUMENTS[name] for name in names}:
                for argument in target.args[start:stop]:
                    shared = self._shared_iterable(argument.value if isinstance(argument, ast.Starred) else argument, scope)
                    if shared is not None:
                        return shared
            return None
        if (
            isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute)
            and target.func.attr in VIEW_METHODS and not target.args and not target.keywords
        ):
            target = target.func.value
        if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice):
            return None  # ``items[:n]``: a copy (of a list, tuple or string)
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            return self.text(target)
        if isinstance(target, ast.Name):
            assignments = scope[target.id]
            module_variable = bool(assignments) and all(
                a.node is not None and a.scope.kind == "module"
                and not isinstance(a.node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                for a in assignments
            )
            return self.text(target) if module_variable else None
        return None

    def _augmented_hazard(self, node: ast.AugAssign) -> str | None:
        target = node.target
        scope = self.scopes.scope_of(node)
        shared = isinstance(target, (ast.Attribute, ast.Subscript)) or (
            isinstance(target, ast.Name) and _is_nonlocal_name(target, scope)
        )
        if not shared:
            return None
        if self.context.rewritable and self._hoistable(node):
            # ``self.total += f(p)`` -> ``_result = await ...`` then ``self.total += _result``.
            self.plan.hoists.add(self._start(node))
            return None
        operator = _OPERATORS[type(node.op)]
        return (
            f"on the right of `{self.text(target)} {operator}`: the target is read before the await, so updates "
            "other tasks make meanwhile would be lost; assign the call's result to a local first"
        )

    def _hoistable(self, node: ast.AugAssign) -> bool:
        return self._hoistable_statement(node, node.target) and self._hoistable_part(node.value, node.target)

    def _hoistable_statement(self, node: ast.stmt, target: ast.expr) -> bool:
        return node not in self.inline_statements and len(self._same_line(node)) == 1 and _reads_plainly(target)

    def _hoistable_part(self, part: ast.expr, target: ast.expr) -> bool:
        """Whether ``part`` of an assignment's value may be evaluated before the target is
        read: it reads nothing of the target and holds no await, and no call in it can
        change the target (blocking calls of the catalog and pure functions; or one call
        of anything, whose arguments call only pure functions, so that it is what the fix
        awaits if anything is). A plain read of the target has no effect, so only a read
        that fails (an attribute never set) tells the orders apart: the call has run."""
        scope = self.scopes.scope_of(part)
        if any(isinstance(n, (ast.Await, ast.Yield, ast.YieldFrom)) or _reads_target(n, target) for n in walk(part)):
            return False
        if not any(isinstance(n, ast.Call) for n in walk(part)):
            return False  # nothing the fix could await
        if isinstance(part, ast.Call) and all(
            self._is_pure(n, scope) for a in arguments_of(part) for n in walk(a.value) if isinstance(n, ast.Call)
        ):
            return True
        return all(
            self._is_pure(n, scope) or self.detector.match(n, scope) is not None
            for n in walk(part) if isinstance(n, ast.Call)
        )

    def _is_pure(self, call: ast.Call, scope: Scope) -> bool:
        """A function of the standard library that cannot change the coroutine's state (``len``, ``os.path.join``)."""
        names = resolve(call.func, scope)
        return bool(names) and all(matches_any(name, THREAD_SAFE) for name in names) and self.detector.match(
            call, scope) is None

    def _assignment_hazard(self, node: ast.Assign) -> None:
        """``x = x + f()``, ``d[k] = d.get(k, 0) + f()`` on a shared target: the value reads
        the target before the call, and the write comes after the await the fix adds, so
        updates other tasks make meanwhile would be lost. Hoisted as ``+=`` is when the
        value is the read, an operator, and a part that may go first; else the calls after
        the read are reported."""
        target = node.targets[0]
        if len(node.targets) != 1 or not self.context.rewritable or not (
            isinstance(target, (ast.Attribute, ast.Subscript))
            or (isinstance(target, ast.Name) and _is_nonlocal_name(target, self.scopes.scope_of(node)))
        ):
            return
        order = walk_in_order(node.value, lambdas=False)
        first = next((at for at, n in enumerate(order) if _reads_target(n, target)), None)
        if first is None:
            return
        value = node.value
        if (
            isinstance(value, ast.BinOp) and _reads_only(value.left) and self._hoistable_statement(node, target)
            and self._hoistable_part(value.right, target) and not any(
                isinstance(n, ast.Call) and self.detector.match(n, self.scopes.scope_of(n)) for n in walk(value.left))
        ):
            # ``self.n = self.n + f(p)`` -> ``_result = await ...`` then ``self.n = self.n + _result``.
            self.plan.hoists.add(self._start(node))
            return
        reason = (
            f"on the right of `{self.text(target)} = ...`, after it reads `{self.text(target)}`: the target is read "
            "before the await and written after it, so updates other tasks make meanwhile would be lost; assign the "
            "call's result to a local first"
        )
        for later in order[first + 1 :]:
            if isinstance(later, ast.Call):
                self.late_calls[later] = reason

    # -- expressions ------------------------------------------------------------------------

    def _expressions(self, expressions: Iterable[ast.expr]) -> None:
        for expression in expressions:
            self._expression(expression)

    def _expression(self, node: ast.expr) -> None:
        if isinstance(node, ast.Call):
            self._call(node)
        elif isinstance(node, ast.Await):
            if isinstance(node.value, ast.Call):
                self.awaited.add(node.value)
            self._expression(node.value)
        elif isinstance(node, ast.Lambda):
            self._expressions([d for d in [*node.args.defaults, *node.args.kw_defaults] if d is not None])
            self._push(NOT_COROUTINE)
            self._expression(node.body)
            self._pop()
        elif isinstance(node, _COMPREHENSIONS):
            self._comprehension(node)
        elif isinstance(node, ast.FormattedValue):
            debug = self.context.in_coroutine and not self.context.moving and self._is_debug(node)
            self._push(FSTRING_DEBUG if debug else self.context)
            self._expression(node.value)
            self._pop()
            if node.format_spec is not None:
                self._expression(node.format_spec)
        elif isinstance(node, (ast.Name, ast.Constant)):
            return
        else:
            for child in child_nodes(node):
                if isinstance(child, ast.expr):
                    self._expression(child)
                elif isinstance(child, (ast.keyword, ast.comprehension, ast.arguments)):
                    for inner in child_nodes(child):
                        if isinstance(inner, ast.expr):
                            self._expression(inner)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> None:
        generator = isinstance(node, ast.GeneratorExp)
        # The element runs once per item (lazily, for a generator expression).
        if generator:
            self._push_generator()
        else:
            reason = None
            for comprehension in node.generators:
                if reason is not None:
                    break
                reason = self._iteration_hazard(comprehension, node)
            self._push_no_await(reason)
        if isinstance(node, ast.DictComp):
            self._expression(node.key)
            self._expression(node.value)
        else:
            self._expression(node.elt)
        self._pop()
        self._generators(node, 0, generator)

    def _generators(self, node: ast.expr, at: int, generator: bool) -> None:
        """``for ... in`` number ``at`` and the ones after it (nested in it, as libcst has them)."""
        comprehensions: list[ast.comprehension] = node.generators  # type: ignore[attr-defined]
        comprehension = comprehensions[at]
        self._expression(comprehension.iter)  # in the enclosing part: the first one eagerly
        # The target, conditions and the inner ``for``s run lazily or once per item.
        if at == 0 and generator:
            self._push_generator()
        else:
            self._push_no_await(self._iteration_hazard(comprehension, node))
        self._expression(comprehension.target)
        self._expressions(comprehension.ifs)
        if at + 1 < len(comprehensions):
            self._generators(node, at + 1, generator)
        self._pop()

    def _iteration_hazard(self, comprehension: ast.comprehension, node: ast.expr) -> str | None:
        if not self.context.rewritable or comprehension.is_async:
            return None
        return self._loop_hazard(comprehension.iter, self.scopes.scope_of(comprehension))

    def _is_debug(self, node: ast.FormattedValue) -> bool:
        """``f"{x=}"``: ``ast`` spells it like ``f"x={x!r}"``, the source tells them apart."""
        value = node.value
        before = self.text.line_bytes(value.lineno)[: value.col_offset].rstrip()
        after = self.text.line_bytes(value.end_lineno or value.lineno)[value.end_col_offset :].lstrip()
        return before.endswith(b"{") and after.startswith(b"=") and not after.startswith(b"==")

    # -- calls ------------------------------------------------------------------------------

    def _call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and self.context.in_coroutine:
            # ``open(p).read()``: the inner call, which makes the object the outer one
            # reads, is handled with the outer call (one trip to the thread).
            scope = self.scopes.scope_of(func.value)
            inner = self.detector.match(func.value, scope)
            if inner is not None and inner.reason is None:
                outer = self.detector.match(node, scope)
                if (
                    outer is not None and outer.receiver is not None
                    and (inner.entry.opens_file or inner.entry.qualname in outer.receiver.constructors)
                ):
                    self.chain_heads.add(func.value)
        self._expression(func)
        for argument in arguments_of(node):
            self._expression(argument.value)
        self._leave_call(node)

    def _leave_call(self, node: ast.Call) -> None:
        context = self.context
        if not context.in_coroutine or node in self.awaited or node in self.chain_heads or node in self.block_openers:
            if node in self.awaited and context.in_coroutine and self.observed is not None:
                self._observed_awaited(node, self.observed)
            return
        scope = self.scopes.scope_of(node.func)
        if not context.moving and (node.args or node.keywords):
            found = len(self.plan.located)
            self._callbacks(node, scope)
            if self.observed is not None and len(self.plan.located) > found:
                self._add_cost(found, self.observed.take([node]))  # the functions it calls stalled it
        match = self.detector.match(node, scope)
        if match is None:
            if not self._leave_helper_call(node, scope) and self.observed is not None and self.observed.waiting(node):
                self._observed_call(node, scope, self.observed)
            return
        if self._is_suppressed(node, match.entry):
            if self.observed is not None:
                self.observed.take(self._made_with(node))  # found, though not wanted: not LS401 either
            return
        entry = match.entry
        if context.moving:
            self.carried[-1].append(entry.qualname)
            self._record(node, entry, True, MOVES_WITH_BLOCK)
            return
        reason = (
            match.reason
            or (entry.reason or "no safe automatic rewrite" if entry.strategy is Strategy.REPORT else None)
            or context.no_await_reason
            or self.late_calls.get(node)
            or self.framework_problem
        )
        if reason is None:
            reason = self._generator_argument(node)
        if reason is None and entry.shares is not None and entry.strategy is Strategy.TO_THREAD:
            reason = self.handover.arguments_hazard(node, entry.shares)
        if reason is None and match.holder is not None and match.receiver is not None and not _shareable(match):
            reason = self.handover.receiver_hazard(node, match.holder, match.receiver)
        if reason is not None:
            self._record(node, entry, False, reason)
            return
        fixed = self._fix_text(node, match, scope)
        self._record(node, entry, not fixed.startswith("!"), fixed.lstrip("!"))

    def _callbacks(self, node: ast.Call, scope: Scope) -> None:
        """Blocking functions handed to a function that calls them at once, on the loop
        (``max(paths, key=os.path.getmtime)``): reported, as the call they are made in."""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "sort":
            given = [k.value for k in node.keywords if k.arg == "key"]
        elif resolve(func, scope) & CALLS_ITS_CALLBACKS:
            given = [argument.value for argument in arguments_of(node)]
        else:
            return
        for function in given:
            if not isinstance(function, (ast.Name, ast.Attribute)):
                continue
            reference = ast.copy_location(ast.Call(func=function, args=[], keywords=[]), function)
            match = self.detector.match(reference, scope)
            if match is None or self._is_suppressed(reference, match.entry):
                continue
            self._record(function, match.entry, False, f"called by `{self.text(func)}` on the event loop")

    def _leave_helper_call(self, node: ast.Call, scope: Scope) -> bool:
        """A call of a project function that blocks through its body (LS301): run in a
        thread when all it touches is safe there, else reported with the reason. Whether
        it was decided here (found, exempt, or to be decided with the project)."""
        context = self.context
        if context.moving or not self.settings.allows(HELPER_CODE):
            return False  # it runs in the thread with its block; or LS301 is not wanted
        step = self.functions.callee(node, scope)
        if step is None:
            return False
        index = self.index
        index.incomplete = False
        if all(index.chain(key) is None for key in index.runs(step)) and not index.incomplete:
            return False
        if self._is_suppressed(node, _HELPER_ENTRY):
            if self.observed is not None:
                self.observed.take([node])
            return True
        place = context.no_await_reason or self.late_calls.get(node) or self.framework_problem
        if place is None:
            # What the thread is handed: the confinement rule names what a generator
            # argument reads, so it speaks first.
            hazard = self.handover.arguments_hazard(node, None)
            place = f"not run in a thread: {hazard}" if hazard is not None else self._generator_argument(node)
        fix = "" if place is not None else self._fix_text(node, Match(_HELPER_ENTRY), scope, register=False)
        line, column = self._start(node)
        placed = self.observed.placed_at(node) if self.observed is not None else []
        # A call a recording saw stall the loop is LS401 if the project's summaries show
        # it does not block after all (it waits for them, below).
        observed = self._verdicts().part(node, scope, placed) if placed else None
        call = HelperCall(line, column + 1, step, place, fix, costed([p.site for p in placed]), observed)
        index.incomplete = False
        finding = call_finding(call, index, self.project.module.name)
        if index.incomplete and not self.project.complete:
            self.plan.pending.append(call)  # decided where the project is at hand
            if self.observed is not None:
                self.observed.take([node])  # its finding, made there, carries the cost
            return True
        if finding is None:
            return False
        if finding.fixable:
            self._fix_text(node, Match(_HELPER_ENTRY if finding.code == HELPER_CODE else OBSERVED_ENTRY), scope)
        self._record_finding(node, finding)
        return True

    # -- calls a recording saw stall the loop, no static finding covers (LS401) ------------

    def _observed_call(self, node: ast.Call, scope: Scope, observed: ObservedSites) -> None:
        """A call that stalled the loop when recorded: run in a thread under every rule a
        fix follows (where an await may go; what the thread is handed, the object a method
        is of included; a project function judged as LS301 judges one; what it calls),
        else reported with the reason."""
        context = self.context
        if context.moving:
            return  # it moves with its block, whose finding carries the cost
        if self._is_suppressed(node, OBSERVED_ENTRY):
            observed.take([node])
            return
        placed = observed.placed_at(node)
        place = context.no_await_reason or self.late_calls.get(node) or self.framework_problem
        if place is None:
            hazard = self.handover.arguments_hazard(node, None)
            place = f"not run in a thread: {hazard}" if hazard is not None else self._generator_argument(node)
        step = self.functions.callee(node, scope)
        part = self._verdicts().part(node, scope, placed)
        decided = place is not None or (step is None and part.elsewhere is not None)
        fix = "" if decided else self._fix_text(node, Match(OBSERVED_ENTRY), scope, register=False)
        line, column = self._start(node)
        call = HelperCall(line, column + 1, step or NO_FUNCTION, place, fix, costed([p.site for p in placed]), part)
        index = self.index
        index.incomplete = False
        here = self.project.module.name
        finding = call_finding(call, index, here) if step is not None else observed_finding(call, [], index, here)
        if index.incomplete and not self.project.complete:
            self.plan.pending.append(call)  # decided where the project is at hand
            observed.take([node])
            return
        if finding is None:
            observed.take([node])  # it blocks through the project: LS301's, not wanted
            return
        if finding.fixable:
            self._fix_text(node, Match(OBSERVED_ENTRY), scope)
        self._record_finding(node, finding)

    def _verdicts(self) -> Verdicts:
        if self._observed_verdicts is None:
            self._observed_verdicts = Verdicts(
                self.tree, self.scopes, self.text, self.handover.confinement, self._module_constants,
                lambda call, holder: self.handover.receiver_hazard(call, holder, None), self.settings.allows(HELPER_CODE),
                self.source.count("\n") + 1,
            )
        return self._observed_verdicts

    def _module_constants(self) -> ModuleConstants:
        if self._constants is None:
            self._constants = ModuleConstants(self.tree, self.settings.constructors)
        return self._constants

    def _observed_awaited(self, node: ast.Call, observed: ObservedSites) -> None:
        """An awaited call a recording saw stall the loop: the stall is in the coroutine it
        awaits, which no thread can run (reported); an offload already runs in a thread."""
        if not observed.waiting(node):
            return
        func = node.func
        if resolve(func, self.scopes.scope_of(func)) & THREAD_RUNNER_NAMES or (
            isinstance(func, ast.Attribute) and func.attr == "run_in_executor"
        ):
            observed.take([node])  # an offload (an earlier fix's): its work runs in a thread
            return
        if self._is_suppressed(node, OBSERVED_ENTRY):
            observed.take([node])
            return
        cost = costed(observed.take([node]))
        line, column = self._start(node)
        through = cost.through if cost is not None else ()
        self._record_finding(
            node, Finding(line, column + 1, OBSERVED_CODE, called_name(self.text, node), False, AWAITED, through, cost)
        )

    def _generator_argument(self, node: ast.Call) -> str | None:
        """Why the call may not go to a thread with its arguments: one is a generator expression."""
        for argument in arguments_of(node):
            if isinstance(argument.value, ast.GeneratorExp):
                return GENERATOR_ARGUMENT.format(self.text(argument.value))
        return None

    def _fix_text(self, node: ast.Call, match: Match, scope: Scope, register: bool = True) -> str:
        """What the fix reads as, or ``!`` and why there is none; ``register``: the
        rewrite will do it (else only the text is wanted)."""
        entry = match.entry
        func = node.func
        if (
            match.receiver is not None and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call) and func.value in self.chain_heads
        ):
            parameters = self._chain_parameters(node, func.value, scope)
            if isinstance(parameters, str):
                return f"!{parameters}"
            spelled = self.speller.offload(self._chain_lambda(node, parameters), keywords=False, scope=scope,
                                           arguments=False)
            if spelled is not None and register:
                self.plan.calls[self._span(node)] = (CHAIN, entry, spelled)
                if parameters:
                    self.plan.chain_parameters[self._span(node)] = tuple(
                        (name, self._span(argument)) for name, argument in parameters
                    )
            return f"!{NO_NAME}" if spelled is None else spelled.detail
        spelled = None
        native = entry.strategy is Strategy.NATIVE and entry.native is not None
        if native and (entry.category != "sleep" or self.settings.native_sleep):
            assert entry.native is not None
            spelled = self.speller.native(node, entry.native, scope)
            if spelled is not None and register:
                self.plan.calls[self._span(node)] = (NATIVE, entry, spelled)
                if len(node.args) <= entry.native.positional:
                    self.rewrites[node] = (spelled.runner, True)
        if spelled is None:
            spelled = self.speller.offload(self._updated(func), keywords=bool(node.keywords), scope=scope,
                                           arguments=bool(node.args))
            if spelled is not None and register:
                self.plan.calls[self._span(node)] = (OFFLOAD, entry, spelled)
                if spelled.runner == spelled.detail[len("await "):].split("(")[0]:
                    self.rewrites[node] = (spelled.runner, False)
        return f"!{NO_NAME}" if spelled is None else spelled.detail

    def _chain_parameters(
        self, node: ast.Call, inner: ast.Call, scope: Scope
    ) -> list[tuple[str, ast.expr]] | str:
        """The arguments of ``open(a).read(b)`` a lambda must bind when it is made, with the
        names of its parameters; or why the chain cannot go to the thread in a lambda.

        A lambda reads its body's names when it runs, in the thread, later: literals and
        the coroutine's own variables (no other task can rebind them) may stay; another
        task may change an attribute, a subscript or a module variable meanwhile, so the
        inner call's arguments that read those are bound first, which is when the
        original evaluates them (before anything else). The outer call's are evaluated
        after the file is opened: binding them first would change the order."""
        bound: list[ast.expr] = []
        receiver = self._inner_receiver(inner, scope)
        if receiver is not None:
            # ``self.root.open().read()``: the path is read first, before the file opens.
            if not self._bindable(receiver):
                return "its receiver holds a blocking call fixed on its own: a lambda would evaluate it in the thread"
            bound.append(receiver)
        for argument in arguments_of(inner):
            if self._same_later(argument.value, scope):
                continue
            if argument.star or not self._bindable(argument.value):
                return ("its arguments hold a blocking call fixed on its own, a lambda, a comprehension or `:=`: "
                        "a lambda would evaluate them later, in the thread")
            bound.append(argument.value)
        for argument in arguments_of(node):
            if not self._same_later(argument.value, scope):
                return _CALLS_LATER if not _reads_only(argument.value, calls=False) else (
                    f"`{self.text(argument.value)}` is read after the file is opened: a lambda would read it later, in "
                    "the thread, where another task may have changed it")
        taken = {
            n.id for n in walk(node) if isinstance(n, ast.Name)
            and not any(n is m for value in bound for m in walk(value))
        }
        parameters: list[tuple[str, ast.expr]] = []
        for value in bound:
            base = value.attr if isinstance(value, ast.Attribute) else value.id if isinstance(value, ast.Name) else ""
            base = base.lower().strip("_") or next(
                (a.keyword for a in arguments_of(inner) if a.value is value and a.keyword), None
            ) or ("path" if (inner.args and value is inner.args[0]) or value is receiver else "value")
            name, counter = base, 1
            while name in taken or keyword.iskeyword(name) or hasattr(builtins, name):
                counter += 1
                name = f"{base}_{counter}"
            taken.add(name)
            parameters.append((name, value))
        return parameters

    def _inner_receiver(self, inner: ast.Call, scope: Scope) -> ast.expr | None:
        """The object the chain's first call is a method of (``self.root`` in
        ``self.root.open().read()``), when a lambda must bind it as it is made: not a
        local, nor a path made of values that stay the same (``Path(name)``)."""
        func = inner.func
        match = self.detector.match(inner, scope)
        if match is None or match.receiver is None or not isinstance(func, ast.Attribute):
            return None
        receiver = func.value
        if self._same_later(receiver, scope):
            return None
        if (
            isinstance(receiver, ast.Call) and self.detector.constructed_type(receiver, scope) is not None
            and resolve(receiver.func, scope) and all(
                not argument.star and self._same_later(argument.value, scope) for argument in arguments_of(receiver))
        ):
            return None
        return receiver

    def _bindable(self, value: ast.expr) -> bool:
        """An argument the lambda may evaluate when it is made, in the coroutine, on the
        loop, as the original does (``os.path.join(self.folder, name)``): not when a call
        in it is rewritten itself (or may be: a project function still to be decided)."""
        pending = {(call.line, call.column) for call in self.plan.pending}
        for node in walk(value):
            if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda, *_COMPREHENSIONS)):
                return False
            if isinstance(node, ast.Call) and (
                self._span(node) in self.plan.calls or (self._start(node)[0], self._start(node)[1] + 1) in pending
            ):
                return False
        return True

    def _same_later(self, value: ast.expr, scope: Scope) -> bool:
        """Evaluating ``value`` later, in the thread, gives what it gives now: literals,
        the coroutine's own variables, builtins, module constants."""
        if isinstance(value, ast.Constant):
            return not isinstance(value.value, complex)
        if isinstance(value, ast.Tuple):
            return all(self._same_later(element, scope) for element in value.elts)
        if isinstance(value, (ast.BinOp, ast.UnaryOp)):
            return _is_constant_expression(value)  # ``(1024 // 5, 1024 // 5)``
        if isinstance(value, ast.JoinedStr):
            return all(
                self._same_later(part.value, scope) and (part.format_spec is None or self._same_later(part.format_spec, scope))
                for part in value.values if isinstance(part, ast.FormattedValue)
            )
        if not isinstance(value, ast.Name):
            return False
        own = [scope]
        while own[-1].kind == "comprehension":
            own.append(own[-1].parent)
        bindings = scope[value.id]
        if bindings and all(b.scope.kind == "builtin" for b in bindings):
            return True
        if bindings and all(b.scope.kind == "module" for b in bindings):
            if self._constants is None:
                self._constants = ModuleConstants(self.tree, self.settings.constructors)
            return self._constants.module_kind(value.id) is not None
        return bool(bindings) and own[-1].kind == "function" and all(any(b.scope is s for s in own) for b in bindings)

    def _chain_lambda(self, node: ast.Call, parameters: list[tuple[str, ast.expr]]) -> str:
        """``lambda path=self.path: open(path).read()``, as the rewrite prints it."""
        if not parameters:
            return f"lambda: {self.text(node)}"
        body, at = [], self.text.offset(node.lineno, node.col_offset)
        for name, value in sorted(parameters, key=lambda pair: (pair[1].lineno, pair[1].col_offset)):
            start = self.text.offset(value.lineno, value.col_offset)
            body += [self.text.between(at, start), name]
            at = self.text.offset(value.end_lineno or value.lineno, value.end_col_offset or 0)
        body.append(self.text.between(at, self.text.offset(node.end_lineno or node.lineno, node.end_col_offset or 0)))
        defaults = ", ".join(f"{name}={self.text(value)}" for name, value in parameters)
        return f"lambda {defaults}: {''.join(body)}"

    # The text of a callee holding calls that are rewritten too, as the rewrite prints it
    # (``Path(p).expanduser().absolute()``: the inner call is offloaded first).

    def _updated(self, node: ast.expr) -> str:
        """The source of ``node`` with the rewritten calls inside it replaced by their rewrites."""
        start = self.text.offset(node.lineno, node.col_offset)
        end = self.text.offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
        return self._spliced(start, end, [node])

    def _spliced(self, start: int, end: int, roots: Sequence[ast.AST]) -> str:
        if not self.rewrites:
            return self.text.between(start, end)
        found: list[ast.Call] = []
        pending = list(roots)
        while pending:
            current = pending.pop()
            if isinstance(current, ast.Call) and current in self.rewrites:
                found.append(current)
                continue
            pending.extend(child_nodes(current))
        if not found:
            return self.text.between(start, end)
        found.sort(key=lambda call: (call.lineno, call.col_offset))
        parts: list[str] = []
        at = start
        for call in found:
            call_start = self.text.offset(call.lineno, call.col_offset)
            call_end = self.text.offset(call.end_lineno or call.lineno, call.end_col_offset or 0)
            parts.append(self.text.between(at, call_start))
            rewritten = self._rewritten(call)
            # ``await`` binds looser than ``.x``, ``[i]`` and ``(...)``: the rewrite adds parentheses there.
            before = self.text.between(start, call_start).rstrip()
            after = self.text.between(call_end, end).lstrip()
            if not (before.endswith("(") and after.startswith(")")) and after[:1] in (".", "[", "("):
                rewritten = f"({rewritten})"
            parts.append(rewritten)
            at = call_end
        parts.append(self.text.between(at, end))
        return "".join(parts)

    def _rewritten(self, call: ast.Call) -> str:
        runner, native = self.rewrites[call]
        func = call.func
        opening = self.text.opening_parenthesis(func.end_lineno or func.lineno, func.end_col_offset or 0)
        if opening is None:
            return self.text(call)
        inner = self._spliced(
            self.text.offset(*opening) + 1,
            self.text.offset(call.end_lineno or call.lineno, call.end_col_offset or 0) - 1,
            [*call.args, *call.keywords],
        )
        if native:
            return f"await {runner}({inner})"
        rest = inner.lstrip()
        if not rest.strip():
            return f"await {runner}({inner}{self._updated(func)})"
        return f"await {runner}({inner[: len(inner) - len(rest)]}{self._updated(func)}, {rest})"

    def _is_suppressed(self, call: ast.Call, entry: BlockingCall) -> bool:
        if not self.settings.allows(entry.code):
            return True  # a code not selected (``--select``, ``ignore``): neither reported nor fixed
        if self.suppressed is not None and self.suppressed(self._span(call)):
            return True
        if self.comments.empty:
            return False
        if suppressed_by_comment(self.statement_comments[-1], entry.code):
            return True
        func = call.func
        opening = self.text.opening_parenthesis(func.end_lineno or func.lineno, func.end_col_offset or 0)
        inline = self.comments.after_parenthesis(*opening) if opening is not None else None
        return suppressed_by_comment(inline, entry.code)

    def _record(
        self, call: ast.expr, entry: BlockingCall, fixable: bool, detail: str, also: Sequence[ObservedSite] = ()
    ) -> None:
        span = self._span(call)
        self._record_finding(call, Finding(span[0], span[1] + 1, entry.code, entry.qualname, fixable, detail), also)

    def _record_finding(self, call: ast.expr, finding: Finding, also: Sequence[ObservedSite] = ()) -> None:
        if self.observed is not None:
            # A finding at a call a recording saw stall the loop carries the cost (``also``:
            # what else it answers for, the rest of a block that moves with its call).
            sites = [*self.observed.take(self._made_with(call)), *also]
            if sites and finding.cost is None:
                finding = replace(finding, cost=costed(sites))
        span = self._span(call)
        self.plan.located.append((finding, span))
        if self.comments.tokenized and self.statements:
            line = self.comments.line_of(self.statements[-1])
            if line is not None:
                self.plan.comment_lines.append((finding, line))

    def _made_with(self, call: ast.expr) -> list[ast.expr]:
        """``call`` and the calls made in one trip to the thread with it (``open(p)`` of
        ``open(p).read()``): its finding answers for them."""
        found = [call]
        while isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.value in self.chain_heads:
            call = call.func.value
            found.append(call)
        return found

    def _add_cost(self, at: int, sites: Sequence[ObservedSite]) -> None:
        """The finding recorded ``at`` (in ``plan.located``) carries the cost of ``sites`` too."""
        if not sites:
            return
        finding, span = self.plan.located[at]
        own = [finding.cost] if finding.cost is not None else []
        merged = replace(finding, cost=merge_costs([*own, *(site.cost for site in sites)]))
        self.plan.located[at] = (merged, span)
        self.plan.comment_lines = [(merged if f is finding else f, line) for f, line in self.plan.comment_lines]

    def _coroutine_of(self, node: ast.AST) -> ast.AST | None:
        """The ``async def`` whose own code ``node`` is, if one is."""
        scope = self.scopes.scope_of(node)
        while not isinstance(scope.node, _FUNCTIONS) and scope.parent is not scope:
            scope = scope.parent
        return scope.node if isinstance(scope.node, ast.AsyncFunctionDef) else None

    def _start(self, node: ast.stmt | ast.expr) -> tuple[int, int]:
        # libcst's position of a node, like ``ast``'s, leaves out its parentheses.
        return node.lineno, self.text.column(node.lineno, node.col_offset)

    def _span(self, node: ast.expr | ast.stmt) -> Span:
        end_line = node.end_lineno or node.lineno
        return (*self._start(node), end_line, self.text.column(end_line, node.end_col_offset or 0))


def _is_constant_expression(node: ast.expr) -> bool:
    """Arithmetic on literal numbers and strings only (``1024 // 5``, ``-1``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, str, bytes)) and not isinstance(node.value, bool) or node.value is None
    if isinstance(node, ast.UnaryOp):
        return _is_constant_expression(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_constant_expression(node.left) and _is_constant_expression(node.right)
    return False


def _shareable(match: Match) -> bool:
    """Whether the method may run in a thread while other threads use its object."""
    kind = match.receiver
    assert kind is not None
    return kind.thread_safe or match.entry.qualname[len(kind.name) + 1:] in kind.thread_safe_methods


def encode_step(step: tuple[str, ...]) -> str:
    """A step as the runner carries it (``codemods.project``)."""
    return "\x00".join(step)


def decode_step(text: str) -> tuple[str, ...]:
    return tuple(text.split("\x00"))


def _parameters(arguments: ast.arguments) -> list[ast.arg]:
    found = [*arguments.posonlyargs, *arguments.args]
    if arguments.vararg is not None:
        found.append(arguments.vararg)
    found += arguments.kwonlyargs
    if arguments.kwarg is not None:
        found.append(arguments.kwarg)
    return found


def _colon_line(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The last line of a def's header, roughly: the body starts on a later one unless the
    def is a one-liner (``async def f(): ...``)."""
    ends = [function.lineno]
    if function.returns is not None:
        ends.append(function.returns.end_lineno or function.lineno)
    ends += [p.end_lineno or p.lineno for p in _parameters(function.args)]
    return max(ends)


def _in_coroutine(scope: Scope) -> bool:
    """Whether code of ``scope`` runs in a coroutine's body (lambdas, comprehensions and
    class bodies inside it count; a nested ``def`` does not)."""
    while not isinstance(scope.node, _FUNCTIONS):
        if scope.parent is scope:
            return False
        scope = scope.parent
    return isinstance(scope.node, ast.AsyncFunctionDef)


def _is_nonlocal_name(name: ast.Name, scope: Scope) -> bool:
    """A name the coroutine updates in another scope (``global`` or ``nonlocal``)."""
    assignments = scope[name.id]
    return bool(assignments) and any(a.scope is not scope for a in assignments)


def _reads_plainly(target: ast.expr) -> bool:
    """``a``, ``a.b.c``, ``a[k]``, ``a.b["k"]``: evaluating it calls nothing of ours."""
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, ast.Attribute):
        return _reads_plainly(target.value)
    if isinstance(target, ast.Subscript):
        index = target.slice
        return (
            (isinstance(index, ast.Name) or (isinstance(index, ast.Constant) and type(index.value) in (int, str)))
            and _reads_plainly(target.value)
        )
    return False


def _reads_target(node: ast.AST, target: ast.expr) -> bool:
    """Whether ``node`` reads the value ``target`` holds: the same expression, or
    ``d.get(k, ...)`` for ``d[k]``."""
    if isinstance(node, type(target)) and isinstance(getattr(node, "ctx", None), ast.Load):
        return ast.unparse(node) == ast.unparse(target)
    if (
        isinstance(target, ast.Subscript) and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get" and node.args and not isinstance(node.args[0], ast.Starred)
    ):
        return ast.unparse(node.func.value) == ast.unparse(target.value) and (
            ast.unparse(node.args[0]) == ast.unparse(target.slice)
        )
    return False


def _reads_only(node: ast.expr, calls: bool = True) -> bool:
    """Names, attributes, subscripts, literals and operators, and (with ``calls``)
    ``d.get(k, default)``: evaluating it changes nothing."""
    for child in walk(node):
        if isinstance(child, ast.Call):
            if not (calls and isinstance(child.func, ast.Attribute) and child.func.attr == "get" and not child.keywords
                    and 1 <= len(child.args) <= 2):
                return False
        elif isinstance(child, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda, ast.Starred,
                                *_COMPREHENSIONS)):
            return False
    return True


_OPERATORS = {
    ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.MatMult: "@=", ast.Div: "/=", ast.Mod: "%=",
    ast.Pow: "**=", ast.LShift: "<<=", ast.RShift: ">>=", ast.BitOr: "|=", ast.BitXor: "^=",
    ast.BitAnd: "&=", ast.FloorDiv: "//=",
}

"""Where a recording saw a module's coroutines stall the loop (``ProjectView.observed``,
``codemods.observed``), in the module's tree: each site matched to the call of a coroutine
it was at, the cost a finding there carries, and the LS401 findings of the sites no
static finding covers.

A site recorded on Python 3.11+ has the positions of the instruction the coroutine was at
(``code.co_positions()``): a call's are the ``ast.Call``'s own, except that a call spread
over lines may start at its attribute (``obj.\\ method()`` starts at ``method``), so a call
whose end is the site's and whose span holds the site's start counts too. An ``await``
(the coroutine suspended in ``SEND``) has the ``ast.Await``'s span; a ``for`` loop taking
its next item has the ``for`` statement's (3.11, 3.12) or its iterable's (3.13); a
comprehension run as a function of its own (3.11) the comprehension's; a class body the
``class`` statement's; entering or leaving a ``with`` block the ``with`` statement's
(3.11, 3.12) or its context manager's call's (3.13). A site recorded before 3.11 has a
line only (where the call starts; 3.10 gives a method call spread over lines the line of
its name): the calls there, narrowed by ``callee`` (the Python function the site was
calling, when there was one), else the outermost; several calls none of which holds the
others is ambiguous (reported). A site whose time went in the coroutine's own code
(``in_call`` false: a loop, an operator, an import) is no call's.

Only the coroutine's own calls are matched: a call in a lambda, a nested ``def`` or a
class body in it is not the coroutine's code (reported). The finder
(``codemods.analysis.finder``) takes a matched call's sites when it records a finding
there (``take``): its cost. What is left becomes LS401: a call is offloaded under every
rule other fixes follow (the finder's: where an await may go, what its arguments are), a
project function judged as LS301 judges a helper (``observed_finding``, also with the
project's summaries, through ``HelperCall.observed``), anything else by what it calls,
the object it is a method of, the code it is handed, and what the recording saw it run
(``Verdicts.part``); a call that makes what a loop iterates or a ``with`` block enters is
reported when it is not a project function (the recording cannot tell the call's stall
from the loop's or the block's). A site with no call to move is reported where it is
(``Verdicts.left``, ``Placed.problem``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from codemods.analysis.bindings import ModuleScopes, Scope, is_dotted_name, resolve
from codemods.analysis.block_analysis import CONTEXT_VAR, ModuleConstants
from codemods.analysis.confinement import Confinement
from codemods.analysis.detector import SourceText, arguments_of
from codemods.analysis.flow import child_nodes, split_dotted, walk
from codemods.analysis.helpers import (
    HelperCall, ObservedCall, ProjectIndex, Step, helper_finding, helper_refusal, method_reason, thread_reason,
)
from codemods.catalog import CATEGORIES, EVENT_LOOP_MODULES, BlockingCall
from codemods.findings import Finding
from codemods.observed import Cost, ObservedSite, merge_costs

CODE = CATEGORIES["observed"][0]
#: Stands for the call a recording saw stall the loop, where a catalog entry would be.
OBSERVED_ENTRY = BlockingCall("", "observed")

#: Why a site is reported without a call to move (finishing "not fixed automatically: ").
OWN_CODE = "the coroutine's own code ran on the loop; no call to move to a thread"
IMPORTS = ("it imports `{}` here, whose code runs on the loop the first time (and may need its thread); import it "
           "at module level")
AWAITED = ("the stall is inside the awaited coroutine, which cannot run in a thread: the call that blocks is in its "
           "code (or in the library it calls)")
LOOP_ITEMS = ("it stalled while the `for` loop took its next item from `{}`, which makes its items on the loop as it is "
              "iterated; move the whole loop into a function run with asyncio.to_thread")
COMPREHENSION = ("it stalled in the comprehension `{}`, which this Python runs as a function of its own: the recording "
                 "does not say which of its calls (record with Python 3.12+ to have it fixed)")
CLASS_BODY = "it stalled in the body of class `{}`, which runs on the loop and cannot hold an await"
NESTED = ("the call is in {} inside the coroutine, code with a frame of its own (not the coroutine's), where no await "
          "can go")
AMBIGUOUS = ("it was recorded with lines only (Python < 3.11), and the line holds several calls it may be ({}): record "
             "with Python 3.11+ to have it fixed")
NO_COROUTINE = "the recording places it in no `async def` of the module as it is now"
CALLBACK = ("a plain function the event loop called (a callback, not a coroutine) ran this long: no await can go there; "
            "run its work with loop.run_in_executor where it is scheduled, or make it a coroutine")
UNPLACED = "loopsafe did not meet the call in the coroutine's code"

#: Why a call may not go to a thread for what it calls (finishing "not fixed automatically: ").
ITERATED = ("it makes what a loop iterates, and the recording cannot tell a stall in the call from one in taking its "
            "items, which run on the loop whatever runs the call (a generator); move the whole loop into a function "
            "run with asyncio.to_thread")
ANY_FUNCTION = "it calls `{}`, {}, which may be any function: loopsafe cannot tell what would run in the thread"
CONSTRUCTS = "it constructs `{}`, a class of the module, whose code loopsafe does not follow"
OF_FUNCTION = "it calls `{}`, an attribute of a function of the module, whose code loopsafe does not follow"
DEFINED_HERE = "it calls `{}`, a function the coroutine defines, whose code loopsafe does not follow"
COROUTINE_FUNCTION = "it calls `{}`, a coroutine function: the call only makes a coroutine, so what stalled is not it"
ENTERED = ("it makes the context manager of a `with` block, and the recording cannot tell a stall in the call from "
           "one in entering or leaving the block, which runs on the loop whatever runs the call; move the whole block "
           "into a function run with asyncio.to_thread")
HANDS_CODE = ("its argument `{}` hands it `{}`, {} of the module, which the call may run in the thread, where "
              "loopsafe does not follow it")
CONTEXT_VARIABLE = ("the object it is called on, `{}`, is a context variable: a thread runs with a copy of the "
                    "coroutine's context, so what it sets there stays there")
REACHED = ("the recording saw it run {}, which belongs to {}: it cannot run in a worker thread as it does on the "
           "loop's")
#: What a call must not reach to go to a thread, by the module its code is in (a chain
#: names each function ``module.qualname()``), and what the module belongs to.
_LOOP_BOUND = (
    *((f"{module}.", "the event loop's thread") for module in EVENT_LOOP_MODULES),
    ("sqlite3.", "the thread that made its connection (check_same_thread)"),
    ("contextvars.", "the coroutine's context"),
    ("threading.local", "the thread it runs in"),
    ("signal.", "the main thread"),
)
PROJECT_CODE = ("it calls `{}`, code of the project that loopsafe cannot follow (not a plain function or method: a "
                "class, a callable object, a coroutine function)")

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
Span = tuple[int, int, int, int]


@dataclass(eq=False)
class Placed:
    """A site, where it is in the module's tree."""

    site: ObservedSite
    #: The coroutine it is in (``None``: a callback, or no coroutine holds its line).
    coroutine: ast.AsyncFunctionDef | None = None
    #: The coroutine's call it was at, when one is certain.
    call: ast.Call | None = None
    #: The call is awaited (the stall was inside the awaited coroutine).
    awaited: bool = False
    #: The call makes what a ``for`` loop or a comprehension iterates.
    iterated: bool = False
    #: The call makes the context manager a ``with`` statement enters.
    entered: bool = False
    #: Why no call of the coroutine is the site's, if none is (reported with it).
    problem: str | None = None
    #: The name it is reported under when it has no call (the coroutine, the iterable).
    name: str = ""
    #: The node it is reported at when it has no call (else at its line).
    node: ast.AST | None = None


@dataclass
class _Coroutine:
    """The nodes of one coroutine's own code, by span, and its calls by line."""

    node: ast.AsyncFunctionDef
    calls: dict[Span, ast.Call] = field(default_factory=dict)
    call_ends: dict[tuple[int, int], ast.Call] = field(default_factory=dict)
    by_line: dict[int, list[ast.Call]] = field(default_factory=dict)
    awaits: dict[Span, ast.Await] = field(default_factory=dict)
    loops: dict[Span, ast.For | ast.AsyncFor] = field(default_factory=dict)
    comprehensions: dict[Span, ast.expr] = field(default_factory=dict)
    classes: dict[Span, ast.ClassDef] = field(default_factory=dict)
    withs: dict[Span, ast.With | ast.AsyncWith] = field(default_factory=dict)
    imports: dict[Span, ast.Import | ast.ImportFrom] = field(default_factory=dict)
    #: Calls in a lambda, a nested ``def`` or a class body, and which.
    nested: dict[ast.Call, str] = field(default_factory=dict)
    awaited: set[ast.Call] = field(default_factory=set)
    iterated: set[ast.Call] = field(default_factory=set)
    entered: set[ast.Call] = field(default_factory=set)


class ObservedSites:
    """The sites of one module, matched to its coroutines' calls."""

    def __init__(self, tree: ast.Module, sites: Sequence[ObservedSite], text: SourceText) -> None:
        self.text = text
        self.placed: list[Placed] = []
        self._by_call: dict[ast.AST, list[Placed]] = {}
        self._taken: set[int] = set()
        coroutines = [node for node in walk(tree) if isinstance(node, ast.AsyncFunctionDef)]
        self._coroutines: dict[ast.AsyncFunctionDef, _Coroutine] = {}
        for site in sites:
            placed = self._place(site, coroutines)
            self.placed.append(placed)
            if placed.call is not None and placed.problem is None:
                self._by_call.setdefault(placed.call, []).append(placed)

    # -- what the finder asks -------------------------------------------------------------

    def waiting(self, call: ast.AST) -> bool:
        """Whether sites at ``call`` are still to be accounted for."""
        return any(id(p) not in self._taken for p in self._by_call.get(call, ()))

    def take(self, calls: Iterable[ast.AST]) -> list[ObservedSite]:
        """The sites at ``calls`` not taken yet, taken now (a finding carries their cost)."""
        found: list[ObservedSite] = []
        for call in calls:
            for placed in self._by_call.get(call, ()):
                if id(placed) not in self._taken:
                    self._taken.add(id(placed))
                    found.append(placed.site)
        return found

    def take_within(self, statement: ast.stmt, coroutine: ast.AST | None) -> list[ObservedSite]:
        """The sites of ``coroutine`` in the lines of ``statement`` not taken yet (a ``with``
        block that moves to a thread as a whole: its finding carries their cost)."""
        first, last = statement.lineno, statement.end_lineno or statement.lineno
        found: list[ObservedSite] = []
        for placed in self.placed:
            if id(placed) in self._taken or placed.coroutine is not coroutine or coroutine is None:
                continue
            where = placed.call or placed.node
            line = getattr(where, "lineno", placed.site.line)
            if first <= line <= last:
                self._taken.add(id(placed))
                found.append(placed.site)
        return found

    def left(self) -> list[Placed]:
        """The sites no finding took, in the order they were given."""
        return [placed for placed in self.placed if id(placed) not in self._taken]

    def placed_at(self, call: ast.AST) -> list[Placed]:
        return [p for p in self._by_call.get(call, ()) if id(p) not in self._taken]

    # -- matching ---------------------------------------------------------------------------

    def _place(self, site: ObservedSite, coroutines: list[ast.AsyncFunctionDef]) -> Placed:
        if site.kind != "coroutine":
            return Placed(site, problem=CALLBACK, name=site.function or "<callback>")
        around = [c for c in coroutines if c.lineno <= site.line <= (c.end_lineno or c.lineno)]
        if not around:
            return Placed(site, problem=NO_COROUTINE, name=site.function or "<coroutine>")
        innermost = max(around, key=lambda c: (c.lineno, c.col_offset))
        wanted = site.function.rpartition(".")[2]
        if wanted and innermost.name != wanted:
            named = [c for c in around if c.name == wanted]
            innermost = max(named, key=lambda c: (c.lineno, c.col_offset)) if named else innermost
        coroutine = self._coroutine(innermost)
        positioned = site.col_offset is not None and site.end_line is not None and site.end_col_offset is not None
        if not site.in_call:
            return self._own_place(site, coroutine, positioned)
        if positioned:
            assert site.col_offset is not None and site.end_line is not None and site.end_col_offset is not None
            return self._at_position(site, coroutine, (site.line, site.col_offset, site.end_line, site.end_col_offset))
        return self._on_line(site, coroutine)

    def _own_place(self, site: ObservedSite, coroutine: _Coroutine, positioned: bool) -> Placed:
        """A site whose time went in the coroutine's own code (no call made there): an
        import statement, or a loop, an operator, ... at its position (or line)."""
        imported = next((node for span, node in coroutine.imports.items() if (
            span == (site.line, site.col_offset, site.end_line, site.end_col_offset) if positioned
            else span[0] == site.line)), None)
        if imported is not None:
            names = ", ".join(alias.name for alias in imported.names)
            module = names if isinstance(imported, ast.Import) else "." * imported.level + (imported.module or "")
            return self._own_code(site, coroutine, imported, IMPORTS.format(module))
        return self._own_code(site, coroutine, None, OWN_CODE)

    def _at_position(self, site: ObservedSite, coroutine: _Coroutine, span: Span) -> Placed:
        call = coroutine.calls.get(span)
        if call is None:
            awaited = coroutine.awaits.get(span)
            if awaited is not None:
                if isinstance(awaited.value, ast.Call):
                    call = awaited.value
                else:
                    return self._own_code(site, coroutine, awaited, AWAITED)
        if call is None:
            ending = coroutine.call_ends.get(span[2:])
            if ending is not None and (ending.lineno, ending.col_offset) <= span[:2]:
                call = ending
        if call is not None:
            return self._at_call(site, coroutine, call)
        loop = coroutine.loops.get(span)
        if loop is not None:
            return self._loop_items(site, coroutine, loop)
        comprehension = coroutine.comprehensions.get(span)
        if comprehension is not None:
            return self._own_code(site, coroutine, comprehension, COMPREHENSION.format(self._shown(comprehension)))
        klass = coroutine.classes.get(span)
        if klass is not None:
            return self._own_code(site, coroutine, klass, CLASS_BODY.format(klass.name))
        block = coroutine.withs.get(span)
        if block is not None:
            # Entering or leaving it (3.11, 3.12): what made its context manager answers for it.
            made = next((i.context_expr for i in block.items if isinstance(i.context_expr, ast.Call)), None)
            if made is not None:
                return self._at_call(site, coroutine, made)
            return self._own_code(site, coroutine, block, ENTERED)
        return self._own_code(site, coroutine, None, OWN_CODE)

    def _loop_items(self, site: ObservedSite, coroutine: _Coroutine, loop: ast.For | ast.AsyncFor) -> Placed:
        """Named after what makes the items, when a call does (``squares(n)``)."""
        made = loop.iter
        name = called_name(self.text, made) if isinstance(made, ast.Call) else coroutine.node.name
        return Placed(site, coroutine.node, problem=LOOP_ITEMS.format(self._shown(made)), node=made, name=name)

    def _on_line(self, site: ObservedSite, coroutine: _Coroutine) -> Placed:
        calls = coroutine.by_line.get(site.line, [])
        if not calls:
            # Python 3.10 gives a method call spread over lines the line of its name.
            calls = [call for call in coroutine.calls.values() if isinstance(call.func, ast.Attribute)
                     and call.func.end_lineno == site.line and call.lineno < site.line]
        if not calls:
            loop = next((lp for lp in coroutine.loops.values() if lp.lineno == site.line), None)
            if loop is not None:
                return self._loop_items(site, coroutine, loop)
            return self._own_code(site, coroutine, None, OWN_CODE)
        callee = (site.callee or "").rpartition(".")[2]
        named = [call for call in calls if callee and _called_name(call) == callee]
        candidates = sorted(named or calls, key=lambda call: (call.lineno, call.col_offset))
        chosen = _outermost(candidates)
        if chosen is None:
            # Said of the coroutine, at the line's first call: which call stalled is not known.
            shown = ", ".join(f"{called_name(self.text, call)}()" for call in candidates)
            return Placed(site, coroutine.node, problem=AMBIGUOUS.format(shown), node=candidates[0],
                          name=coroutine.node.name)
        return self._at_call(site, coroutine, chosen)

    def _at_call(self, site: ObservedSite, coroutine: _Coroutine, call: ast.Call) -> Placed:
        nested = coroutine.nested.get(call)
        if nested is not None:
            return Placed(site, coroutine.node, call, problem=NESTED.format(nested), node=call,
                          name=called_name(self.text, call))
        return Placed(site, coroutine.node, call, awaited=call in coroutine.awaited, iterated=call in coroutine.iterated,
                      entered=call in coroutine.entered, name=called_name(self.text, call))

    def _own_code(self, site: ObservedSite, coroutine: _Coroutine, node: ast.AST | None, problem: str) -> Placed:
        name = coroutine.node.name if not isinstance(node, ast.Await) else _one_line(self._shown(node.value))
        return Placed(site, coroutine.node, problem=problem, node=node, name=name)

    def _shown(self, node: ast.AST) -> str:
        """``node`` as written (a finding's text puts its lines on one)."""
        return self.text(node)

    def _coroutine(self, node: ast.AsyncFunctionDef) -> _Coroutine:
        found = self._coroutines.get(node)
        if found is None:
            found = self._coroutines[node] = _index(node)
        return found


def _index(coroutine: ast.AsyncFunctionDef) -> _Coroutine:
    """The nodes of the coroutine's own code (decorators, defaults and annotations are the
    enclosing code's; a nested ``async def`` is a coroutine of its own)."""
    index = _Coroutine(coroutine)
    pending: list[tuple[ast.AST, str | None]] = [(statement, None) for statement in coroutine.body]
    while pending:
        node, nested = pending.pop()
        if isinstance(node, ast.AsyncFunctionDef):
            # A coroutine of its own; its decorators and defaults run here.
            pending += [(child, nested) for child in [*node.decorator_list, node.args]]
            continue
        if isinstance(node, ast.Call):
            span = _span(node)
            if nested is not None:
                index.nested[node] = nested
            index.calls.setdefault(span, node)
            index.call_ends.setdefault(span[2:], node)
            index.by_line.setdefault(node.lineno, []).append(node)
        elif isinstance(node, ast.Await) and nested is None:
            index.awaits[_span(node)] = node
            if isinstance(node.value, ast.Call):
                index.awaited.add(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)) and nested is None:
            index.loops[_span(node)] = node
            if isinstance(node.iter, ast.Call):
                index.iterated.add(node.iter)
        elif isinstance(node, _COMPREHENSIONS) and nested is None:
            index.comprehensions[_span(node)] = node
            for generator in node.generators:
                if isinstance(generator.iter, ast.Call):
                    index.iterated.add(generator.iter)
        elif isinstance(node, ast.ClassDef) and nested is None:
            index.classes[_span(node)] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and nested is None:
            index.imports[_span(node)] = node
        elif isinstance(node, (ast.With, ast.AsyncWith)) and nested is None:
            index.withs[_span(node)] = node
            index.entered.update(item.context_expr for item in node.items if isinstance(item.context_expr, ast.Call))
        inner = nested
        if isinstance(node, ast.Lambda):
            inner = nested or "a lambda"
        elif isinstance(node, ast.FunctionDef):
            inner = nested or f"the nested function `{node.name}`"
        elif isinstance(node, ast.ClassDef):
            inner = nested or f"the body of class `{node.name}`"
        for child in child_nodes(node):
            # A nested scope's decorators, defaults and bases run in the coroutine.
            outer = _runs_outside(node, child)
            pending.append((child, nested if outer else inner))
    return index


def _runs_outside(scope: ast.AST, child: ast.AST) -> bool:
    """Whether ``child`` of a nested scope runs where the scope is made (not in its body)."""
    if isinstance(scope, ast.Lambda):
        return child is not scope.body
    if isinstance(scope, ast.FunctionDef):
        return child in scope.decorator_list or child is scope.args or child is scope.returns
    if isinstance(scope, ast.ClassDef):
        return child in scope.decorator_list or child in scope.bases or child in scope.keywords
    return True


def _span(node: ast.AST) -> Span:
    return (node.lineno, node.col_offset, node.end_lineno or node.lineno,  # type: ignore[attr-defined]
            node.end_col_offset or 0)  # type: ignore[attr-defined]


def called_name(text: SourceText, call: ast.Call) -> str:
    """What a call calls, as written, on one line (``self.model.predict``)."""
    return _one_line(text(call.func))


_BREAK = re.compile(r"[ \t]*\\?(?:\r\n|\n|\r)[ \t\f]*")


def _one_line(text: str) -> str:
    return _BREAK.sub("", text)


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    a, b = _span(outer), _span(inner)
    return (a[0], a[1]) <= (b[0], b[1]) and (b[2], b[3]) <= (a[2], a[3])


def _outermost(calls: list[ast.Call]) -> ast.Call | None:
    """The call holding all the others, if one does."""
    for call in calls:
        if all(other is call or _contains(call, other) for other in calls):
            return call
    return None


def costed(sites: Sequence[ObservedSite]) -> Cost | None:
    """The cost a finding at these sites carries."""
    return merge_costs(site.cost for site in sites)


# -- the verdicts on calls no static finding covers (LS401) -----------------------------------


def callee_problem(call: ast.Call, scope: Scope, name: str, placed: Sequence[Placed]) -> str | None:
    """Why running what ``call`` calls in a thread may change what the program does, from
    the callee alone (its receiver and arguments are the confinement rule's)."""
    func = call.func
    names = resolve(func, scope)
    for qualified in sorted(names):
        reason = thread_reason(qualified, call)
        if reason is not None:
            return f"not run in a thread: {reason}"
    if isinstance(func, ast.Attribute):
        reason = method_reason(func)
        if reason is not None:
            return f"not run in a thread: {reason}"
        root = func.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and scope[root.id] and all(
            isinstance(b.node, _FUNCTIONS) for b in scope[root.id]
        ):
            return OF_FUNCTION.format(name)  # ``render.cache_clear()``: what it runs is the function's
    elif not isinstance(func, ast.Name):
        return ANY_FUNCTION.format(name, "what an expression gives")
    elif not names:
        bindings = scope[func.id]
        if bindings and all(isinstance(b.node, ast.ClassDef) for b in bindings):
            return CONSTRUCTS.format(name)
        if bindings and all(isinstance(b.node, ast.AsyncFunctionDef) for b in bindings):
            return COROUTINE_FUNCTION.format(name)
        if bindings and all(isinstance(b.node, ast.FunctionDef) for b in bindings):
            if any(b.scope.kind != "module" for b in bindings):
                return DEFINED_HERE.format(name)
        else:
            return ANY_FUNCTION.format(name, "a variable or a parameter")
    if any(p.iterated for p in placed):
        return ITERATED
    return ENTERED if any(p.entered for p in placed) else None


def reached(sites: Iterable[ObservedSite]) -> str | None:
    """Why what the recording saw below the sites (their chains) may not run in a worker
    thread: code of the event loop, of sqlite3, of the coroutine's context."""
    for site in sites:
        for chain in site.chains:
            for label in chain.through:
                for prefix, owner in _LOOP_BOUND:
                    if label.startswith(prefix):
                        return f"not run in a thread: {REACHED.format(label, owner)}"
    return None


#: The step of a call that names no function (a method of a value, a variable's callable).
NO_FUNCTION: Step = ("value",)


def call_finding(call: HelperCall, index: ProjectIndex, here: str) -> Finding | None:
    """The finding of a call of a project function: LS301's (``helper_finding``), or for a
    call a recording saw stall the loop that LS301 does not report (not blocking through
    the project, or LS301 not wanted), its LS401 finding."""
    if call.observed is not None:
        keys = index.runs(call.step)
        blocking = any(index.chain(key) is not None for key in keys)
        if not blocking:
            return observed_finding(call, keys, index, here)
        if not call.observed.helpers:
            return None  # found blocking through the project, under a code not wanted
    return helper_finding(call, index, here)


def observed_finding(call: HelperCall, keys: list[str], index: ProjectIndex, here: str) -> Finding:
    """The LS401 finding of a call no static finding covers: a project function is judged
    as LS301 judges it (its body, what it calls, what else may run), other project code is
    reported, anything else by its callee and receiver (``ObservedCall.elsewhere``);
    where an await may go and the arguments (``call.place``) hold for all."""
    observed = call.observed
    assert observed is not None
    if keys:
        refusal = helper_refusal(call.step, keys, index, here)
        reason = (f"not run in a thread: {refusal}" if refusal is not None else None) or observed.reached or call.place
    elif _project_code(call.step, index):
        reason = PROJECT_CODE.format(observed.name)
    else:
        reason = observed.elsewhere or observed.reached or call.place
    through = call.cost.through if call.cost is not None else ()
    if reason is not None:
        return Finding(call.line, call.column, CODE, observed.name, False, reason, through, call.cost)
    return Finding(call.line, call.column, CODE, observed.name, not call.fix.startswith("!"), call.fix.lstrip("!"),
                   through, call.cost)


def _project_code(step: Step, index: ProjectIndex) -> bool:
    """Whether a call of ``step`` (no function loopsafe follows) reaches the project's code
    (a class of it, an object of one of its modules)."""
    if step[0] == "method":
        return True  # ``self.m()`` in a class of the project
    if step[0] != "call":
        return False
    parts = step[1].split(".")
    return any(index.module(".".join(parts[:cut])) is not None for cut in range(len(parts) - 1, 0, -1))


def reported(placed: Placed) -> str:
    """Why a site without a call to judge is reported."""
    return placed.problem or UNPLACED


class Verdicts:
    """What the LS401 findings of a module need of it besides the walk (which knows where
    an await may go and what the arguments are): what a call calls, hands and reaches
    (``part``); the findings of the sites no call answers for (``left``)."""

    def __init__(
        self, tree: ast.Module, scopes: ModuleScopes, text: SourceText, confinement: Callable[[], Confinement],
        constants: Callable[[], ModuleConstants], receiver: Callable[[ast.Call, ast.expr], str | None], helpers: bool,
        lines: int,
    ) -> None:
        self.tree = tree
        #: The module's number of lines (a site of a corrupt recording may be past them).
        self.lines = lines
        self.scopes = scopes
        self.text = text
        self.confinement = confinement
        self.constants = constants
        #: Why the object a method is called on may be another task's (the finder's rule).
        self.receiver = receiver
        self.helpers = helpers
        self._modules: set[str] | None = None

    def part(self, call: ast.Call, scope: Scope, placed: Sequence[Placed]) -> ObservedCall:
        """What an LS401 finding of ``call`` needs besides the project's summaries."""
        name = called_name(self.text, call)
        elsewhere = callee_problem(call, scope, name, placed) or self._receiver(call, scope) or self._hands_code(call)
        return ObservedCall(name, elsewhere, self.helpers, reached(p.site for p in placed))

    def _receiver(self, call: ast.Call, scope: Scope) -> str | None:
        """Why the object a method is called on may be used by another task while the
        thread runs the method: it is not the coroutine's own (a module is not an object)."""
        func = call.func
        if not isinstance(func, ast.Attribute) or self._names_module(func.value, scope):
            return None
        holder = func.value
        if isinstance(holder, ast.Name) and scope[holder.id] and all(b.scope.kind == "module" for b in scope[holder.id]):
            if self.constants().module_kind(holder.id) == CONTEXT_VAR:
                return f"not run in a thread: {CONTEXT_VARIABLE.format(holder.id)}"
        hazard = self.receiver(call, holder)
        return None if hazard is None else f"not run in a thread: {hazard}"

    def _names_module(self, node: ast.expr, scope: Scope) -> bool:
        """``hashlib``, ``pkg.store`` (``import pkg.store``), ``np`` (``import numpy as np``): a
        module an ``import`` statement binds, as written."""
        split = split_dotted(node) if is_dotted_name(node) else None
        if split is None:
            return False
        bindings = scope[split[0]]
        if not bindings or not all(isinstance(b.node, ast.Import) for b in bindings):
            return False
        if self._modules is None:
            self._modules = set()
            for statement in walk(self.tree):
                if isinstance(statement, ast.Import):
                    for alias in statement.names:
                        parts = alias.name.split(".")
                        self._modules.update(
                            [alias.asname] if alias.asname else (".".join(parts[:end]) for end in range(1, len(parts) + 1))
                        )
        return "".join(split) in self._modules

    def _hands_code(self, call: ast.Call) -> str | None:
        """Why an argument hands a function or class of the module to a call that runs in
        a thread (as ``key=`` or a callback, it runs there too): loopsafe does not judge it
        there. Lambdas and bound methods are the confinement rule's (what they read)."""
        for argument in arguments_of(call):
            for name in walk(argument.value):
                if not isinstance(name, ast.Name) or not isinstance(name.ctx, ast.Load):
                    continue
                bindings = self.scopes.scope_or(name, self.scopes.module)[name.id]
                if bindings and all(isinstance(b.node, (*_FUNCTIONS, ast.ClassDef)) for b in bindings):
                    what = "a class" if isinstance(bindings[0].node, ast.ClassDef) else "a function"
                    shown = self.confinement().text(argument.value)
                    return f"not run in a thread: {HANDS_CODE.format(shown, name.id, what)}"
        return None

    def left(self, observed: ObservedSites) -> list[tuple[Finding, Span]]:
        """The sites no call of a coroutine answered for (its own code, a callback, a call
        the recording cannot single out, ...): reported where they are, one finding per
        place and reason."""
        merged: dict[tuple[int, int, str, str], tuple[list[ObservedSite], Span]] = {}
        for placed in observed.left():
            span = self._where(placed)
            key = (span[0], span[1], placed.name, reported(placed))
            merged.setdefault(key, ([], span))[0].append(placed.site)
        found: list[tuple[Finding, Span]] = []
        for (line, column, name, reason), (sites, span) in merged.items():
            cost = costed(sites)
            through = cost.through if cost is not None else ()
            found.append((Finding(line, column + 1, CODE, name, False, reason, through, cost), span))
        return found

    def _where(self, placed: Placed) -> Span:
        """Where a site is reported: its node (libcst's line and character columns), else
        its line, at its column if it has one, else where the line's code starts."""
        node = placed.call or placed.node
        text = self.text
        if isinstance(node, (ast.expr, ast.stmt)):
            end_line = node.end_lineno or node.lineno
            return (node.lineno, text.column(node.lineno, node.col_offset), end_line,
                    text.column(end_line, node.end_col_offset or 0))
        line = min(max(placed.site.line, 1), self.lines)
        code = text.line_bytes(line)
        offset = len(code) - len(code.lstrip())
        if code and placed.site.col_offset is not None and placed.site.col_offset <= len(code):
            try:
                code[: placed.site.col_offset].decode("utf-8")
                offset = placed.site.col_offset
            except UnicodeDecodeError:
                pass  # not where a character starts: not a position of this text
        column = text.column(line, offset) if code else 0
        return (line, column, line, column)

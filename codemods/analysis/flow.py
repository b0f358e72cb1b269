"""Data flow over one function body, on CPython's ``ast``: what is bound, what is read.

Two classic analyses, structured over statements (no explicit control-flow graph):

- **definite assignment** (forward, must): the local names surely bound when a statement
  starts. ``return``/``raise``/``break``/``continue`` make the rest unreachable; loops
  are iterated to a fixed point (``del`` can shrink the set); an ``except`` handler
  starts from what was bound before its ``try`` minus what the body may delete.
- **liveness** (backward, may): the local names that may be read after a statement
  before they are bound again, on the normal exit and on the exceptional one (the
  enclosing handlers and ``finally`` blocks within the function).

Names read by nested scopes (closures, lambdas, generator expressions, class bodies)
may be read at any time: they are live everywhere. Everything here is conservative in
the direction that makes a caller report rather than rewrite.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

Names = frozenset[str]
#: A definite-assignment state; ``None`` where the code cannot be reached.
State = "Names | None"

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
TRY_STATEMENTS = (ast.Try, ast.TryStar) if hasattr(ast, "TryStar") else (ast.Try,)
_MATCH = (ast.Match,) if hasattr(ast, "Match") else ()
#: The statements that hold blocks of statements (a comment after their header speaks for them).
COMPOUND_STATEMENTS: tuple[type[ast.stmt], ...] = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While,
    ast.With, ast.AsyncWith, *TRY_STATEMENTS, *_MATCH,
)


# -- events: the reads and bindings of one statement's own expressions, in order -----------


@dataclass(frozen=True)
class Event:
    kind: str  # "read", "bind" or "delete" (a delete reads the name, then unbinds it)
    name: str
    #: False for bindings that may not happen (walrus in ``a and (b := c)``).
    definite: bool = True


class _Events:
    """Reads and bindings of an expression in evaluation order, and nested-scope reads."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        #: Names read by code that runs later (lambdas, generator expressions, nested defs).
        self.deferred: set[str] = set()

    def expression(self, node: ast.AST | None, definite: bool = True) -> None:
        if node is None:
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                self.events.append(Event("read", node.id))
            elif isinstance(node.ctx, ast.Store):
                self.events.append(Event("bind", node.id, definite))
            else:
                self.events.append(Event("delete", node.id, definite))
        elif isinstance(node, ast.NamedExpr):
            self.expression(node.value, definite)
            self.expression(node.target, definite)
        elif isinstance(node, ast.BoolOp):
            self.expression(node.values[0], definite)
            for value in node.values[1:]:
                self.expression(value, False)
        elif isinstance(node, ast.IfExp):
            self.expression(node.test, definite)
            self.expression(node.body, False)
            self.expression(node.orelse, False)
        elif isinstance(node, ast.Compare):
            self.expression(node.left, definite)
            self.expression(node.comparators[0], definite)
            for comparator in node.comparators[1:]:
                self.expression(comparator, False)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                self.expression(key, definite)
                self.expression(value, definite)
        elif isinstance(node, ast.Lambda):
            self._defaults(node.args, definite)
            self.deferred |= free_reads(node)
        elif isinstance(node, _COMPREHENSIONS):
            self._comprehension(node, definite)
        else:
            for child in child_nodes(node):
                self.expression(child, definite)

    def _defaults(self, arguments: ast.arguments, definite: bool) -> None:
        for default in [*arguments.defaults, *arguments.kw_defaults]:
            self.expression(default, definite)

    def _comprehension(self, node: ast.AST, definite: bool) -> None:
        generators: list[ast.comprehension] = node.generators  # type: ignore[attr-defined]
        # The first iterable is evaluated here; the rest runs in the comprehension's own
        # scope: now for list/set/dict comprehensions, later for generator expressions.
        self.expression(generators[0].iter, definite)
        own = {name for generator in generators for name in bound_by_target(generator.target)}
        inner = _Events()
        for index, generator in enumerate(generators):
            if index:
                inner.expression(generator.iter, False)
            for condition in generator.ifs:
                inner.expression(condition, False)
        if isinstance(node, ast.DictComp):
            inner.expression(node.key, False)
            inner.expression(node.value, False)
        else:
            inner.expression(node.elt, False)  # type: ignore[attr-defined]
        later = isinstance(node, ast.GeneratorExp)
        for event in inner.events:
            if event.kind == "bind" and event.name not in own:  # a walrus binds out here
                self.events.append(Event("bind", event.name, False))
                if later:
                    self.deferred.add(event.name)
            elif event.kind == "read" and event.name not in own:
                if later:
                    self.deferred.add(event.name)
                else:
                    self.events.append(event)
        self.deferred |= inner.deferred


def bound_by_target(target: ast.AST) -> list[str]:
    """Names bound by an assignment target (``a``, ``a, *b``, not ``a.x`` or ``a[i]``)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in bound_by_target(element)]
    if isinstance(target, ast.Starred):
        return bound_by_target(target.value)
    return []


def free_reads(scope: ast.AST) -> set[str]:
    """Names a nested scope reads from outside itself (a superset: own locals excluded)."""
    own: set[str] = set()
    reads: set[str] = set()
    for node in walk(scope):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else own).add(node.id)
        elif isinstance(node, ast.arg):
            own.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not scope:
            own.add(node.name)
        elif isinstance(node, (ast.Nonlocal, ast.Global)):
            reads.update(node.names)
    # A name both read and bound inside may still be read from outside before it is
    # bound there (``def f(): print(x); x = 1`` is an error, but a nested def reading
    # it is not): keep every name that some inner function reads without binding.
    return reads - own | _reads_of_inner_functions(scope)


def _reads_of_inner_functions(scope: ast.AST) -> set[str]:
    result: set[str] = set()
    for node in walk(scope):
        if node is not scope and isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
            result |= free_reads(node)
    return result


def statement_events(statement: ast.stmt) -> _Events:
    """The events of a statement's own expressions (not of the statements it holds)."""
    events = _Events()
    expression = events.expression
    if isinstance(statement, ast.Assign):
        expression(statement.value)
        for target in statement.targets:
            expression(target)
    elif isinstance(statement, ast.AugAssign):
        if isinstance(statement.target, ast.Name):
            events.events.append(Event("read", statement.target.id))
            expression(statement.value)
            expression(statement.target)
        else:
            expression(statement.target.value)
            if isinstance(statement.target, ast.Subscript):
                expression(statement.target.slice)
            expression(statement.value)
    elif isinstance(statement, ast.AnnAssign):
        if statement.value is not None:
            expression(statement.value)
            expression(statement.target)
        elif not isinstance(statement.target, ast.Name):
            expression(statement.target)
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        expression(statement.iter)  # the target is bound per iteration, by the walker
    elif isinstance(statement, (ast.While, ast.If)):
        expression(statement.test)
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        for item in statement.items:
            expression(item.context_expr)
            expression(item.optional_vars)
    elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        for decorator in statement.decorator_list:
            expression(decorator)
        if isinstance(statement, ast.ClassDef):
            for base in [*statement.bases, *(k.value for k in statement.keywords)]:
                expression(base)
        else:
            events._defaults(statement.args, True)
        events.deferred |= free_reads(statement)
        events.events.append(Event("bind", statement.name))
    elif isinstance(statement, (ast.Import, ast.ImportFrom)):
        for alias in statement.names:
            events.events.append(Event("bind", alias.asname or alias.name.split(".")[0]))
    elif isinstance(statement, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
        pass
    elif isinstance(statement, TRY_STATEMENTS) or (_MATCH and isinstance(statement, _MATCH)):
        if _MATCH and isinstance(statement, _MATCH):
            expression(statement.subject)
    else:  # Expr, Return, Raise, Assert, Delete, ...
        for child in child_nodes(statement):
            expression(child)
    return events


# -- the statement structure -------------------------------------------------------------


#: Fields that never hold a node (names, numbers, flags): not read by the walks below.
_SCALAR_FIELDS = frozenset({
    "id", "attr", "arg", "module", "level", "conversion", "is_async", "simple", "kind", "type_comment", "tag",
})
#: Contexts (``Load``) and operators (``Add``): nodes no reader of ``walk_syntax`` wants.
_MARKER_FIELDS = frozenset({"ctx", "op", "ops"})
_NODE_FIELDS: dict[type, tuple[str, ...]] = {}
_SYNTAX_FIELDS: dict[type, tuple[str, ...]] = {}


def _node_fields(kind: type) -> tuple[str, ...]:
    fields = _NODE_FIELDS.get(kind)
    if fields is None:
        fields = _NODE_FIELDS[kind] = tuple(f for f in kind._fields if f not in _SCALAR_FIELDS)  # type: ignore[attr-defined]
    return fields


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes(node)``, as a list, at about half the cost (the analysis
    walks every module several times)."""
    found: list[ast.AST] = []
    for name in _node_fields(type(node)):
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            found.append(value)
        elif isinstance(value, list):
            found.extend(item for item in value if isinstance(item, ast.AST))
    return found


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk(node)``: the same nodes in the same order (breadth first), faster."""
    pending = deque([node])
    while pending:
        node = pending.popleft()
        yield node
        # ``child_nodes`` written out here: no call and no list per node, on a walk that
        # visits every node of every module.
        for name in _node_fields(type(node)):
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                pending.append(value)
            elif isinstance(value, list):
                pending.extend(item for item in value if isinstance(item, ast.AST))


def walk_syntax(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``walk(node)`` but contexts and operators, in no promised order: for
    readers that gather a set (about twice as fast as ``walk``)."""
    pending = [node]
    while pending:
        node = pending.pop()
        yield node
        kind = type(node)
        fields = _SYNTAX_FIELDS.get(kind)
        if fields is None:
            fields = _SYNTAX_FIELDS[kind] = tuple(f for f in _node_fields(kind) if f not in _MARKER_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                pending.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                pending.append(value)


def child_blocks(statement: ast.stmt, scopes: bool = False) -> Iterator[list[ast.stmt]]:
    """Statement lists held by a compound statement, in a fixed order.

    The bodies of nested functions and classes are included only with ``scopes``.
    """
    if not scopes and isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    for attribute in ("body", "orelse", "finalbody"):
        block = getattr(statement, attribute, None)
        if isinstance(block, list):
            yield block
    for handler in getattr(statement, "handlers", ()):
        yield handler.body
    for case in getattr(statement, "cases", ()):
        yield case.body


def walk_statements(statements: Sequence[ast.stmt], scopes: bool = False) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, in the order of ``child_blocks``."""
    for statement in statements:
        yield statement
        for block in child_blocks(statement, scopes):
            yield from walk_statements(block, scopes)


def _always_true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)


def _irrefutable(case: ast.AST) -> bool:
    pattern = case.pattern  # type: ignore[attr-defined]
    while isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        pattern = pattern.pattern
    return case.guard is None and isinstance(pattern, ast.MatchAs) and pattern.pattern is None  # type: ignore[attr-defined]


def pattern_names(pattern: ast.AST) -> list[str]:
    names: list[str] = []
    for node in walk(pattern):
        for attribute in ("name", "rest"):
            value = getattr(node, attribute, None)
            if isinstance(value, str) and isinstance(node, (ast.MatchAs, ast.MatchStar, ast.MatchMapping)):
                names.append(value)
    return names


def _meet(a: Names | None, b: Names | None) -> Names | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def deleted_in(statements: Sequence[ast.stmt]) -> set[str]:
    """Names that ``del`` may unbind anywhere in these statements (not nested scopes)."""
    names: set[str] = set()
    for statement in walk_statements(statements):
        for event in statement_events(statement).events:
            if event.kind == "delete":
                names.add(event.name)
        for handler in getattr(statement, "handlers", ()):
            if handler.name:  # ``except E as e`` deletes e at the end of the handler
                names.add(handler.name)
    return names


# -- definite assignment ------------------------------------------------------------------


class DefiniteAssignment:
    """Forward must-analysis. ``before[s]`` is the meet over every visit of ``s``.

    With ``exposed`` set, also collects the names read where they may not be bound yet
    (the reads that need a value from outside the analysed statements).
    """

    def __init__(self, track_exposed: bool = False) -> None:
        self.before: dict[ast.stmt, Names | None] = {}
        self.exposed: set[str] = set()
        self._track = track_exposed
        self._breaks: list[list[Names | None]] = []
        self._continues: list[list[Names | None]] = []

    def run(self, statements: Sequence[ast.stmt], state: Names | None) -> Names | None:
        for statement in statements:
            state = self._statement(statement, state)
        return state

    def _events(self, events: Iterable[Event], state: Names | None) -> Names | None:
        if state is None:
            return None
        current = set(state)
        for event in events:
            if event.kind == "read" or event.kind == "delete":
                if self._track and event.name not in current:
                    self.exposed.add(event.name)
            if event.kind == "bind" and event.definite:
                current.add(event.name)
            elif event.kind == "delete":
                current.discard(event.name)
        return frozenset(current)

    def _bind(self, state: Names | None, names: Iterable[str]) -> Names | None:
        return None if state is None else state | frozenset(names)

    def _statement(self, statement: ast.stmt, state: Names | None) -> Names | None:
        self.before[statement] = _meet(self.before.get(statement), state) if statement in self.before else state
        own = statement_events(statement).events
        if isinstance(statement, (ast.Return, ast.Raise)):
            self._events(own, state)
            return None
        if isinstance(statement, ast.Break):
            if self._breaks:
                self._breaks[-1].append(state)
            return None
        if isinstance(statement, ast.Continue):
            if self._continues:
                self._continues[-1].append(state)
            return None
        if isinstance(statement, ast.If):
            state = self._events(own, state)
            return _meet(self.run(statement.body, state), self.run(statement.orelse, state))
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            return self._loop(statement, self._events(own, state))
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            return self.run(statement.body, self._events(own, state))
        if isinstance(statement, TRY_STATEMENTS):
            return self._try(statement, state)
        if _MATCH and isinstance(statement, _MATCH):
            state = self._events(own, state)
            ends: Names | None = None
            reachable_without_match = True
            for case in statement.cases:
                entry = self._bind(state, pattern_names(case.pattern))
                entry = self._events(events_of(case.guard), entry)
                ends = _meet(ends, self.run(case.body, entry))
                if _irrefutable(case):
                    reachable_without_match = False
            return _meet(ends, state) if reachable_without_match else ends
        return self._events(own, state)

    def _loop(self, loop: ast.For | ast.AsyncFor | ast.While, entry: Names | None) -> Names | None:
        targets = bound_by_target(loop.target) if isinstance(loop, (ast.For, ast.AsyncFor)) else []
        head = entry
        while True:
            self._breaks.append([])
            self._continues.append([])
            body_entry = self._bind(head, targets)
            if isinstance(loop, ast.While):  # the test runs again each iteration (walrus)
                body_entry = self._events(statement_events(loop).events, head)
            end = self.run(loop.body, body_entry)
            breaks = self._breaks.pop()
            continues = self._continues.pop()
            back = end
            for state in continues:
                back = _meet(back, state)
            new_head = _meet(entry, back)
            if new_head == head:
                break
            head = new_head
        exhausted = None if isinstance(loop, ast.While) and _always_true(loop.test) else head
        if isinstance(loop, ast.While) and exhausted is not None:
            exhausted = self._events(statement_events(loop).events, exhausted)
        after = self.run(loop.orelse, exhausted)
        for state in breaks:
            after = _meet(after, state)
        return after

    def _try(self, statement: ast.Try | ast.TryStar, entry: Names | None) -> Names | None:
        may_delete = deleted_in(statement.body)
        handler_entry = None if entry is None else entry - may_delete
        body_end = self.run(statement.body, entry)
        normal = self.run(statement.orelse, body_end)
        for handler in statement.handlers:
            start = self._events(events_of(handler.type), handler_entry)
            start = self._bind(start, [handler.name] if handler.name else [])
            end = self.run(handler.body, start)
            if end is not None and handler.name:
                end = end - {handler.name}
            normal = _meet(normal, end)
        if not statement.finalbody:
            return normal
        # Entered from anywhere, with an exception in flight too.
        everywhere = deleted_in([*statement.orelse, *(s for h in statement.handlers for s in h.body)]) | may_delete
        after = self.run(statement.finalbody, normal)
        self.run(statement.finalbody, None if entry is None else entry - everywhere)
        return after


def events_of(expression: ast.AST | None) -> list[Event]:
    events = _Events()
    events.expression(expression)
    return events.events


# -- liveness ------------------------------------------------------------------------------


class Liveness:
    """Backward may-analysis of reads, recording the live sets around chosen statements."""

    def __init__(self, always_live: Names, targets: Iterable[ast.stmt]) -> None:
        self.always = always_live
        self.targets = set(targets)
        #: Target -> names that may be read after it completes normally.
        self.after: dict[ast.stmt, Names] = {}
        #: Target -> names an enclosing handler or ``finally`` may read if it raises.
        self.on_error: dict[ast.stmt, Names] = {}
        self._errors: list[Names] = [frozenset()]
        self._breaks: list[Names] = []
        self._continues: list[Names] = []
        self._returns: list[Names] = [frozenset()]

    def run(self, statements: Sequence[ast.stmt], out: Names) -> Names:
        live = out
        for statement in reversed(statements):
            live = self._statement(statement, live)
        return live

    def _events(self, events: Sequence[Event], out: Names) -> Names:
        live = set(out)
        for event in reversed(events):
            if event.kind == "bind":
                if event.definite:
                    live.discard(event.name)
            else:
                live.add(event.name)
        return frozenset(live) | self.always

    def _statement(self, statement: ast.stmt, out: Names) -> Names:
        out = out | self.always
        error = self._errors[-1]
        if statement in self.targets:
            self.after[statement] = self.after.get(statement, frozenset()) | out
            # Closures may read their variables whenever they run, also after a failure.
            self.on_error[statement] = self.on_error.get(statement, frozenset()) | error | self.always
        own = statement_events(statement).events
        if isinstance(statement, ast.Return):
            live = self._events(own, self._returns[-1])
        elif isinstance(statement, ast.Raise):
            live = self._events(own, error)
        elif isinstance(statement, ast.Break):
            live = self._breaks[-1] if self._breaks else frozenset()
        elif isinstance(statement, ast.Continue):
            live = self._continues[-1] if self._continues else frozenset()
        elif isinstance(statement, ast.If):
            live = self._events(own, self.run(statement.body, out) | self.run(statement.orelse, out))
        elif isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            live = self._loop(statement, out)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            live = self._events(own, self.run(statement.body, out))
        elif isinstance(statement, TRY_STATEMENTS):
            live = self._try(statement, out)
        elif _MATCH and isinstance(statement, _MATCH):
            live = out
            for case in statement.cases:
                inside = self.run(case.body, out)
                inside = self._events(events_of(case.guard), inside)
                live = live | (inside - frozenset(pattern_names(case.pattern)))
            live = self._events(own, live)
        else:
            live = self._events(own, out)
        # Any statement may raise before it binds anything.
        return live | error

    def _loop(self, loop: ast.For | ast.AsyncFor | ast.While, out: Names) -> Names:
        own = statement_events(loop).events
        after_else = self.run(loop.orelse, out)
        head: Names = frozenset()
        while True:
            self._breaks.append(out)
            self._continues.append(head)
            body = self.run(loop.body, head)
            self._breaks.pop()
            self._continues.pop()
            if isinstance(loop, ast.While):
                exits = frozenset() if _always_true(loop.test) else after_else
                new_head = self._events(own, body | exits)
            else:
                new_head = (body - frozenset(bound_by_target(loop.target))) | after_else | self.always
            if new_head <= head:
                break
            head = head | new_head
        return head if isinstance(loop, ast.While) else self._events(own, head)

    def _try(self, statement: ast.Try | ast.TryStar, out: Names) -> Names:
        outer_error = self._errors[-1]
        if statement.finalbody:
            # After the finally block, control goes on to whatever came next: the code
            # after the try, an outer handler, a loop head or the caller.
            continuing = out | outer_error | self._returns[-1]
            for stack in (self._breaks, self._continues):
                if stack:
                    continuing = continuing | stack[-1]
            final = self.run(statement.finalbody, continuing)
            after = self.run(statement.finalbody, out)
        else:
            final = frozenset()
            after = out
        self._errors.append(outer_error | final)
        self._returns.append(self._returns[-1] | final)
        handlers: Names = frozenset()
        for handler in statement.handlers:
            inside = self.run(handler.body, after)
            if handler.name:
                inside = inside - {handler.name}
            handlers = handlers | self._events(events_of(handler.type), inside)
        self._errors[-1] = outer_error | final | handlers
        body = self.run(statement.body, self.run(statement.orelse, after))
        self._errors.pop()
        self._returns.pop()
        return body | handlers | final


# -- one function ------------------------------------------------------------------------


@dataclass
class FunctionFlow:
    """The data-flow facts of one function body, for the statements asked about."""

    function: ast.FunctionDef | ast.AsyncFunctionDef
    #: Names local to the function: parameters and names it binds, minus global/nonlocal.
    locals: Names = field(init=False)
    declared_global: Names = field(init=False)
    declared_nonlocal: Names = field(init=False)
    #: Names read by code that may run at any time (closures, generator expressions).
    deferred_reads: Names = field(init=False)
    bound_before: dict[ast.stmt, Names | None] = field(init=False)
    live_after: dict[ast.stmt, Names] = field(init=False)
    live_on_error: dict[ast.stmt, Names] = field(init=False)

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef, targets: Iterable[ast.stmt]) -> None:
        self.function = function
        targets = list(targets)
        bound: set[str] = set(parameter_names(function.args))
        declared_global: set[str] = set()
        declared_nonlocal: set[str] = set()
        deferred: set[str] = set()
        for statement in walk_statements(function.body):
            if isinstance(statement, ast.Global):
                declared_global.update(statement.names)
            elif isinstance(statement, ast.Nonlocal):
                declared_nonlocal.update(statement.names)
            events = statement_events(statement)
            deferred |= events.deferred
            bound.update(bound_by_statement(statement, events))
            for handler in getattr(statement, "handlers", ()):
                deferred |= statement_events_of_expression(handler.type)
        self.declared_global = frozenset(declared_global)
        self.declared_nonlocal = frozenset(declared_nonlocal)
        self.locals = frozenset(bound - declared_global - declared_nonlocal)
        self.deferred_reads = frozenset(deferred) & self.locals
        entry = frozenset(parameter_names(function.args))
        assignment = DefiniteAssignment()
        assignment.run(function.body, entry)
        self.bound_before = {t: assignment.before.get(t) for t in targets}
        liveness = Liveness(self.deferred_reads, targets)
        liveness.run(function.body, frozenset())
        self.live_after = liveness.after
        self.live_on_error = liveness.on_error


def split_dotted(node: ast.AST) -> tuple[str, str] | None:
    """``("a", ".b.c")`` for ``a.b.c``: the name it starts from and the attributes after it
    (``a.b.c`` is their concatenation); ``None`` when it does not start from a name."""
    attributes: list[str] = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return node.id, "".join(f".{attribute}" for attribute in reversed(attributes))


def bound_by_statement(statement: ast.stmt, events: _Events | None = None) -> list[str]:
    """Names a statement binds itself (not the statements it holds), in every form:
    assignments, walrus, imports, defs, ``for``/``with`` targets, ``except ... as``,
    ``match`` captures, ``del``. ``events``: the statement's, if already computed."""
    events = events or statement_events(statement)
    names = [event.name for event in events.events if event.kind != "read"]
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        names.extend(bound_by_target(statement.target))
    names.extend(handler.name for handler in getattr(statement, "handlers", ()) if handler.name)
    for case in getattr(statement, "cases", ()):
        names.extend(pattern_names(case.pattern))
    return names


def statement_events_of_expression(expression: ast.AST | None) -> set[str]:
    events = _Events()
    events.expression(expression)
    return events.deferred


def parameter_names(arguments: ast.arguments) -> list[str]:
    names = [a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]]
    for extra in (arguments.vararg, arguments.kwarg):
        if extra is not None:
            names.append(extra.arg)
    return names

"""Busy-wait loops in coroutines (LS280): a ``while`` loop that polls an object until
another thread or task changes it, without ever awaiting. Nothing else runs on the loop
meanwhile, so a task it waits for never runs, and a thread's end is waited for at full CPU.
Reported only: what to await instead (an event, a future, the thread's ``join`` in a
worker) is the author's choice.

The rule, exactly: a ``while`` statement is a busy-wait when all of these hold.

1. It is in a coroutine: the nearest function around it is an ``async def`` (not a
   nested ``def``, a lambda or a class body).
2. Nothing in it lets another task run or waits itself: its test and body hold no
   ``await``, ``async for``, ``async with``, ``yield``, and no call except the polls and
   clocks of rule 5. A loop that calls anything else (``time.sleep(0.1)``,
   ``thread.join(0.1)``, ``q.get()``, ``items.pop()``, ``process_one()``, ``log(...)``)
   is left alone: it may wait, or change what it waits for. A blocking call in a loop
   has its own finding (``time.sleep`` is LS251, fixed with ``await asyncio.sleep``):
   the finder reports no LS280 for a loop holding any other finding.
3. Its body is inert: only ``pass``, ``...``, ``continue``; assignments to the
   coroutine's own plain names (``spins += 1``); and ``if`` statements whose blocks are
   inert, where ``break``, ``return value`` and ``raise Error(...)`` may also end the
   loop. A ``break``, ``return`` or ``raise`` outside an ``if`` ends the first pass: no
   loop.
4. It can end: its test is not a constant, or an ``if`` in it leaves the loop
   (``while True: if obj.ready(): break``).
5. Its conditions (its test, the tests of the ``if`` statements in it) poll state that
   only another thread or task can change, at least one of:
   - an attribute of an object (``self.done``, ``d.state == "ready"``, ``self.results[k]``);
   - a method of an object that answers at once (``d.isFinished()``, ``thread.is_alive()``,
     ``fut.done()``, ``proc.poll()``: ``catalog.STATE_QUERIES`` and the predicates named
     ``is...``/``has...``, ``catalog.BUSY_WAIT_PREDICATES``), with arguments that call
     nothing;
   - a module or enclosing function's name that a function rebinds somewhere in the
     module (``global done_flag`` / ``nonlocal done_flag``).
   The object is not an imported module (``os.path.isdir(p)`` is a function). Besides
   these, conditions and assigned values hold only constants, names, operators,
   subscripts, ``len()`` and the clocks of ``catalog.CLOCKS`` (for a deadline).
6. Nothing in it changes what its conditions read: no name it assigns (walrus included)
   is read by a condition (``while i < n: i += 1`` counts; ``while node.next: node =
   node.next`` walks a list).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codemods.analysis.flow import child_nodes, walk
from codemods.catalog import BUSY_WAIT_PREDICATES, CATEGORIES, CLOCKS, STATE_QUERIES, THREAD_RUNNERS, Framework

if TYPE_CHECKING:  # the screen imports this module: kept light
    from codemods.analysis.bindings import ModuleScopes, Scope

CODE = CATEGORIES["busy-wait"][0]

_NEVER_YIELDS = (ast.Await, ast.Yield, ast.YieldFrom, ast.Lambda)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_PLAIN = (ast.BoolOp, ast.UnaryOp, ast.Compare, ast.BinOp, ast.IfExp, ast.Constant, ast.Subscript, ast.Slice,
          ast.Tuple, ast.List, ast.Set, ast.JoinedStr, ast.FormattedValue, ast.NamedExpr, ast.Name, ast.Attribute)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
_EXITS = (ast.Break, ast.Return, ast.Raise)
#: The statements an inert body is made of (rule 3), before a closer look.
_INERT = (ast.Pass, ast.Continue, ast.Expr, ast.If, ast.Assign, ast.AugAssign, ast.AnnAssign, *_EXITS)


def may_busy_wait(loop: ast.While) -> bool:
    """A cheap first look for the screen (``codemods.analysis.screen``): whether the
    body of ``loop`` is made of the statements an inert body may hold, none of them an
    expression statement (but a constant) or an assignment of an awaited value."""
    for statement in _statements(loop.body):
        if not isinstance(statement, _INERT):
            return False
        if isinstance(statement, ast.Expr) and not isinstance(statement.value, ast.Constant):
            return False
        if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and isinstance(statement.value, ast.Await):
            return False
    return True


@dataclass(frozen=True)
class Poll:
    """What a busy-wait loop polls: the first of its polls, as written (``d.isFinished()``)."""

    #: The attribute, call or name polled (where the finding is placed).
    node: ast.expr
    #: The statement whose condition holds it: the loop, or an ``if`` in it.
    statement: ast.stmt
    text: str


class BusyWaits:
    """The busy-wait loops of one module (the rule is the module docstring's)."""

    def __init__(self, tree: ast.Module, scopes: ModuleScopes) -> None:
        self._tree = tree
        self._scopes = scopes
        self._rebound: set[str] | None = None

    def polled(self, loop: ast.While) -> Poll | None:
        """What ``loop`` polls if it is a busy-wait in a coroutine, else ``None``."""
        scope = self._scopes.scope_of(loop)
        if not isinstance(scope.node, ast.AsyncFunctionDef):
            return None
        conditions: list[tuple[ast.expr, ast.stmt]] = []
        assigned: set[str] = set()
        values: list[ast.expr] = []
        if not _inert(loop.body, conditions, values, assigned, top=True):
            return None
        test = loop.test
        if isinstance(test, ast.Constant):
            if not test.value or not any(isinstance(node, _EXITS) for node in _statements(loop.body)):
                return None  # never runs, or never ends
        else:
            conditions.insert(0, (test, loop))
        for condition, _ in conditions:
            assigned.update(
                node.target.id for node in walk(condition)
                if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name)
            )
        reader = _Reader(scope, assigned)
        polls: list[tuple[ast.expr, ast.stmt]] = []
        for condition, statement in conditions:
            found = reader.polls(condition)
            if found is None:
                return None
            polls += [(node, statement) for node in found]
        if not all(reader.reads_only(value) for value in values):
            return None
        if reader.names & assigned or not reader.owned(assigned):
            return None  # it changes what it reads, or state that is not its own
        for node, statement in polls:
            if not isinstance(node, ast.Name) or node.id in self.rebound():
                return Poll(node, statement, ast.unparse(node))
        return None

    def rebound(self) -> set[str]:
        """The names some function of the module declares ``global`` or ``nonlocal``."""
        if self._rebound is None:
            self._rebound = {
                name for node in walk(self._tree) if isinstance(node, (ast.Global, ast.Nonlocal))
                for name in node.names
            }
        return self._rebound


def reason(framework: Framework) -> str:
    """What to do about a busy-wait, in the module's framework."""
    library = framework.value
    return (
        "no other task runs while it spins (one that would change it never does); await in the loop: "
        f"`await {library}.sleep(0.1)` at least lets the others run; better, await what it waits for: "
        f"an event or future set when it changes (`{library}.Event`), "
        f"or `await {THREAD_RUNNERS[framework]}(thread.join)` for a thread's end"
    )


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    found: list[ast.stmt] = []
    for statement in body:
        found.append(statement)
        if isinstance(statement, ast.If):
            found += _statements(statement.body) + _statements(statement.orelse)
    return found


def _inert(
    body: list[ast.stmt], conditions: list[tuple[ast.expr, ast.stmt]], values: list[ast.expr], assigned: set[str],
    top: bool,
) -> bool:
    """Whether ``body`` only waits (rule 3); collects the tests of its ``if`` statements,
    the values it assigns and the names it assigns them to."""
    for statement in body:
        if isinstance(statement, (ast.Pass, ast.Continue)):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue
        if isinstance(statement, ast.If):
            conditions.append((statement.test, statement))
            if not (_inert(statement.body, conditions, values, assigned, top=False)
                    and _inert(statement.orelse, conditions, values, assigned, top=False)):
                return False
        elif isinstance(statement, _EXITS):
            if top or not _plain_exit(statement):
                return False
        elif isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if not all(isinstance(target, ast.Name) for target in targets) or statement.value is None:
                return False
            assigned.update(target.id for target in targets if isinstance(target, ast.Name))
            values.append(statement.value)
        else:
            return False
    return True


def _plain_exit(statement: ast.stmt) -> bool:
    """``break``, ``return value``, ``raise Error(...)``: the loop ends, once."""
    if isinstance(statement, ast.Return):
        return statement.value is None or not any(isinstance(n, (ast.Call, *_NEVER_YIELDS)) for n in walk(statement.value))
    if isinstance(statement, ast.Raise):
        raised = statement.exc
        if isinstance(raised, ast.Call):
            if not isinstance(raised.func, (ast.Name, ast.Attribute)):
                return False
            parts: list[ast.expr] = [*raised.args, *(k.value for k in raised.keywords)]
        else:
            parts = [raised] if raised is not None else []
        return not any(isinstance(n, (ast.Call, *_NEVER_YIELDS)) for part in parts for n in walk(part))
    return True


class _Reader:
    """Reads a loop's conditions: what they poll (rule 5), and whether they do anything else."""

    def __init__(self, scope: Scope, assigned: set[str]) -> None:
        self.scope = scope
        self.assigned = assigned
        #: The names the conditions read.
        self.names: set[str] = set()

    def polls(self, condition: ast.expr) -> list[ast.expr] | None:
        """The polls of ``condition``, outermost first; ``None`` if it does anything but read."""
        found: list[ast.expr] = []
        return found if self._read(condition, found, self.names) else None

    def reads_only(self, value: ast.expr) -> bool:
        """Whether an assigned value only reads, as a condition may."""
        return self._read(value, [], set())

    def owned(self, names: set[str]) -> bool:
        """Whether the names are the coroutine's own (not ``global``/``nonlocal`` there)."""
        return all(self.scope.bindings_of(name) for name in names)

    def _read(self, node: ast.AST, found: list[ast.expr], names: set[str]) -> bool:
        if isinstance(node, ast.Call):
            return self._call(node, found, names)
        if isinstance(node, ast.Name):
            names.add(node.id)
            if self._shared_name(node):
                found.append(node)
            return True
        if isinstance(node, ast.NamedExpr):
            return self._read(node.value, found, names)  # its target is assigned, not read
        if isinstance(node, ast.Attribute) and self._object(node.value):
            found.append(node)  # polled as a whole: ``self.state``, not ``self``
            return self._read(node.value, [], names)
        if isinstance(node, (ast.expr_context, ast.boolop, ast.unaryop, ast.cmpop, ast.operator)):
            return True
        if not isinstance(node, _PLAIN):
            return False
        return all(self._read(child, found, names) for child in child_nodes(node))

    def _call(self, node: ast.Call, found: list[ast.expr], names: set[str]) -> bool:
        func = node.func
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if not arguments and self._imported(func) & CLOCKS:
            return True
        if isinstance(func, ast.Name) and self._imported(func) == {"builtins.len"}:
            return len(node.args) == 1 and not node.keywords and self._read(node.args[0], found, names)
        if not isinstance(func, ast.Attribute) or not _asks(func.attr) or not self._object(func.value):
            return False
        if not all(_reads_only(part) for part in [func.value, *arguments]):
            return False
        found.append(node)
        return all(self._read(part, [], names) for part in [func.value, *arguments])

    def _imported(self, func: ast.expr) -> set[str]:
        """What ``func`` names if it is an imported or builtin name (``time.monotonic``)."""
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return set()
        bindings = self.scope[root.id]
        if not bindings or not all(b.is_import or b.is_builtin for b in bindings):
            return set()
        return {qualified.name for qualified in self.scope.qualified_names(func)}

    def _object(self, node: ast.expr) -> bool:
        """Whether ``node`` is an object whose state may change: not a module, class or function."""
        root = node
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        if not isinstance(root, ast.Name):
            return False
        bindings = self.scope[root.id]
        return bool(bindings) and not any(b.is_builtin or isinstance(b.node, _DEFINITIONS) for b in bindings)

    def _shared_name(self, node: ast.Name) -> bool:
        """A module's or enclosing function's name, not the coroutine's own (rule 5)."""
        if node.id in self.assigned:
            return False
        bindings = self.scope[node.id]
        return bool(bindings) and all(
            b.scope is not self.scope and not b.is_builtin and not isinstance(b.node, _DEFINITIONS) for b in bindings
        )


def _asks(method: str) -> bool:
    """Whether a method answers a question at once (``STATE_QUERIES``, ``is_alive``, ``isFinished``)."""
    name = method.lstrip("_")
    if name in STATE_QUERIES:
        return True
    for prefix in BUSY_WAIT_PREDICATES:
        rest = name[len(prefix):]
        if name.startswith(prefix) and rest and (rest[0] == "_" or rest[0].isupper()):
            return True
    return False


def _reads_only(node: ast.expr) -> bool:
    """An expression that calls nothing and never yields."""
    return not any(isinstance(n, (ast.Call, *_NEVER_YIELDS, *_SCOPES)) for n in walk(node))

"""May a ``with open(...)`` block move into a function run in a worker thread?

A block moves only when the program then behaves the same except that the block's work
no longer runs on the event loop. On CPython's ``ast`` of the module, this decides:

- **data flow** (``codemods.analysis.flow``): the helper's parameters are the coroutine's
  variables the block may read before it binds them (each must be surely bound when the
  block starts); its results are the variables it binds that may be read afterwards
  (each must be bound on every path through it, or passed in); no variable it binds may
  be read by an enclosing ``except``/``finally`` (a half-done block would leave its
  partial updates there);
- **control flow**: no ``return``/``yield``/``await``, no ``break``/``continue`` out of
  the block, no ``async for``/``async with``/async comprehension;
- **frames and threads**: no ``global``/``nonlocal``, zero-argument ``super()``,
  ``locals()``, frames, the exception being handled (inside an ``except``), ``next()``
  (its StopIteration cannot cross a Future: the awaiting task would hang), sqlite3
  objects (bound to their thread), asyncio, imports, ``exec``;
- **what runs in the thread**: only the catalog's blocking calls, ``THREAD_SAFE``
  callables, and methods of files, paths, loggers and plain values; no project code,
  closures or unknown libraries (they may use the event loop or shared state);
- **shared state**: no attribute of an object the block did not make (``self.cache``),
  no module-level variable that holds a mutable value or is rebound by a function: other
  tasks run while the thread does. Attribute reads in the ``open(...)`` arguments are
  evaluated before the thread starts instead, in their original order.

Values the coroutine holds in its own variables are taken to be its own here; the
variables a moved block is handed are checked by ``codemods.analysis.confinement`` (a
local bound to ``self.items`` keeps the block on the loop).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from typing import AbstractSet, Iterable, Mapping

from codemods.catalog import (
    CURRENT_EXCEPTION,
    EVENT_LOOP_MODULES,
    FILE_LIKE,
    LOGGER_METHODS,
    THREAD_BOUND,
    THREAD_SAFE,
    BlockingCall,
    BlockingType,
    Strategy,
)
from codemods.analysis.flow import (
    DefiniteAssignment, FunctionFlow, bound_by_statement, bound_by_target, child_blocks, child_nodes, free_reads, parameter_names, split_dotted, statement_events, walk, walk_statements,
)
from codemods.analysis.prior_fixes import HELPER_NAME


_BUILTINS = frozenset(dir(builtins))
EXCEPTION_CLASSES = frozenset(
    name for name in _BUILTINS if isinstance(getattr(builtins, name), type) and issubclass(getattr(builtins, name), BaseException)
)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)

# Kinds of values, as far as the analysis needs to know them.
DATA = "data"  # builtin values: str, bytes, numbers, containers, json documents
FILE = "file"  # files and file-like objects: any method is I/O on the object itself
PATH = "path"
LOGGER = "logger"
THREAD_BOUND_OBJECT = "thread-bound"
FUNCTION = "function"  # a def or lambda of the coroutine: code that would run in the thread
#: A module-level ``contextvars.ContextVar``: every offload strategy runs the thread in a copy
#: of the task's context, so ``get()`` there reads what the task would have read.
CONTEXT_VAR = "context-var"
_SAFE_KINDS = (DATA, FILE, PATH)


@dataclass(frozen=True)
class Hoisted:
    """An argument of the block's ``open(...)`` evaluated before the thread starts.

    ``position`` counts positional arguments; keyword arguments are named by ``keyword``.
    """

    item: int
    position: int
    keyword: str | None
    parameter: str


@dataclass(frozen=True)
class BlockPlan:
    """How a with block moves: the names passed in and the names returned."""

    helper: str
    arguments: tuple[str, ...]
    results: tuple[str, ...]
    hoisted: tuple[Hoisted, ...] = ()


@dataclass(frozen=True)
class Refusal:
    """Why a block cannot move.

    ``atomic``: the block shares state with other tasks, so it must also run without
    an await in it: its calls are not offloaded one by one either.
    """

    reason: str
    atomic: bool = False


class _Refusal(Exception):
    """Raised from deep in the review, caught at the top."""

    def __init__(self, reason: str, atomic: bool = False) -> None:
        super().__init__(reason)
        self.atomic = atomic


def ancestors(parents: Mapping[ast.AST, ast.AST], node: ast.AST, stop: ast.AST) -> list[ast.AST]:
    """The nodes that hold ``node``, innermost first, up to (without) ``stop``."""
    found: list[ast.AST] = []
    parent = parents.get(node)
    while parent is not None and parent is not stop:
        found.append(parent)
        parent = parents.get(parent)
    return found


#: The catalog's pattern tuples by id -> (the tuple itself, which keeps the id its own;
#: its patterns; the prefixes its ``module.*`` patterns match), made when first matched.
_SPLIT_PATTERNS: dict[int, tuple[tuple[str, ...], frozenset[str], tuple[str, ...]]] = {}


def matches_any(qualname: str, patterns: Iterable[str]) -> bool:
    """Whether ``qualname`` is one of ``patterns`` (``module.*``: every name under a module)."""
    if type(patterns) is tuple and len(patterns) > 4:  # a catalog tuple, asked again and again
        split = _SPLIT_PATTERNS.get(id(patterns))
        if split is None or split[0] is not patterns:
            split = _SPLIT_PATTERNS[id(patterns)] = (
                patterns, frozenset(patterns), tuple(p[:-1] for p in patterns if p.endswith(".*")),
            )
        return qualname in split[1] or qualname.startswith(split[2])
    return any(qualname == p or (p.endswith(".*") and qualname.startswith(p[:-1])) for p in patterns)


class ModuleFacts:
    """Module-level bindings: what each global name is."""

    def __init__(self, module: ast.Module) -> None:
        self.imports: dict[str, set[str]] = {}
        self.functions: set[str] = set()
        self.classes: set[str] = set()
        self.values: dict[str, list[ast.expr | None]] = {}
        self.rebound: set[str] = set()  # declared global by some function
        for statement in walk_statements(module.body):
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                for alias in statement.names:
                    if isinstance(statement, ast.Import):
                        name = alias.asname or alias.name.split(".")[0]
                        qualname = alias.name if alias.asname else alias.name.split(".")[0]
                    else:
                        name = alias.asname or alias.name
                        qualname = f"{'.' * statement.level}{statement.module or ''}.{alias.name}".lstrip(".")
                        if statement.level:
                            qualname = "." + qualname  # relative: project code
                    self.imports.setdefault(name, set()).add(qualname)
            elif isinstance(statement, _FUNCTIONS):
                self.functions.add(statement.name)
            elif isinstance(statement, ast.ClassDef):
                self.classes.add(statement.name)
            elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                value = statement.value if not isinstance(statement, ast.AugAssign) else None
                for target in targets:
                    single = isinstance(target, ast.Name)
                    for name in bound_by_target(target):
                        self.values.setdefault(name, []).append(value if single else None)
            elif isinstance(statement, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
                targets = (
                    [statement.target] if isinstance(statement, (ast.For, ast.AsyncFor))
                    else [i.optional_vars for i in statement.items if i.optional_vars is not None]
                )
                for target in targets:
                    for name in bound_by_target(target):
                        self.values.setdefault(name, []).append(None)
        for statement in walk_statements(module.body, scopes=True):  # ``global`` is a statement
            if isinstance(statement, ast.Global):
                self.rebound.update(statement.names)
        for statement in walk_statements(module.body):
            if isinstance(statement, (*_FUNCTIONS, ast.ClassDef)):
                continue  # binds its name, seen above (its events would walk its whole body)
            for event in statement_events(statement).events:
                if event.kind == "bind" and event.name not in self.values and not self.bindings(event.name):
                    self.values[event.name] = [None]  # walrus and other forms: value unknown

    def bindings(self, name: str) -> int:
        return (
            (name in self.imports) + (name in self.functions) + (name in self.classes) + (name in self.values)
        )


class ModuleConstants:
    """Which module-level variables hold values that never change (constants, paths,
    loggers): code run in a worker thread may read those, not the others."""

    def __init__(self, module: ast.Module, constructors: Mapping[str, BlockingType]) -> None:
        self.facts = ModuleFacts(module)
        self.constructors = constructors

    def qualnames(self, node: ast.expr, flow: FunctionFlow, local_imports: Mapping[str, set[str]]) -> set[str]:
        """What a dotted name refers to: import paths, ``builtins.x``, or ``<module>.x``."""
        split = split_dotted(node)
        if split is None:
            return set()
        root, suffix = split
        if root in flow.locals:
            return {q + suffix for q in local_imports.get(root, ())}
        facts = self.facts
        if root in facts.imports and facts.bindings(root) == 1:
            return {q + suffix for q in facts.imports[root]}
        if facts.bindings(root):
            return {f"<module>.{root}{suffix}"}
        if root in _BUILTINS:
            return {f"builtins.{root}{suffix}"}
        return set()

    def module_kind(self, name: str) -> str | None:
        """The kind of a module-level variable that no function rebinds, if it is known."""
        values = self.facts.values.get(name)
        if not values or name in self.facts.rebound or self.facts.bindings(name) != 1:
            return None
        kinds = {_immutable_kind(value, self) for value in values}
        return kinds.pop() if len(kinds) == 1 else None


class BlockAnalysis(ModuleConstants):
    """Verdicts on the ``with`` statements of one module."""

    def __init__(
        self,
        module: ast.Module,
        index: Mapping[str, BlockingCall],
        constructors: Mapping[str, BlockingType],
        offloaded: AbstractSet[ast.AST] = frozenset(),
    ) -> None:
        self.module = module
        #: Nodes that stand for awaits an earlier fix wrote (``codemods.analysis.prior_fixes.unfix``).
        self.offloaded = offloaded
        super().__init__(module, constructors)
        self.index = index
        self._parents: dict[ast.AST, ast.AST] = {}
        for node in walk_statements(module.body, scopes=True):
            for block in child_blocks(node, scopes=True):
                for child in block:
                    self._parents[child] = node
            for part in [*getattr(node, "handlers", ()), *getattr(node, "cases", ())]:
                for child in part.body:
                    self._parents[child] = part
                self._parents[part] = node
        self._flows: dict[ast.AST, FunctionFlow] = {}
        self._kinds: dict[ast.AST, dict[str, str | None]] = {}
        self._thread_bound: dict[ast.AST, set[str]] = {}
        self._reviews: dict[ast.With, _Review | None] = {}

    def verdict(self, block: ast.With, taken: Iterable[str] = ()) -> BlockPlan | Refusal:
        """The plan for moving ``block``, or why it cannot move."""
        review = self._review(block)
        if review is None:
            return Refusal("it is not directly in the coroutine")
        try:
            return review.plan(set(taken))
        except _Refusal as refusal:
            return Refusal(str(refusal), refusal.atomic)

    def files_of(self, block: ast.With) -> set[str]:
        """The ``as`` names of ``block`` that are its files throughout its body."""
        review = self._review(block)
        return set() if review is None else review.block_files

    def _review(self, block: ast.With) -> _Review | None:
        """The block's review, made once: ``files_of`` and ``verdict`` both ask for it."""
        if block not in self._reviews:
            function = self._function_of(block)
            self._reviews[block] = None if function is None else _Review(self, function, block)
        return self._reviews[block]

    def _function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        parent = self._parents.get(node)
        while parent is not None and not isinstance(parent, (*_FUNCTIONS, ast.ClassDef)):
            parent = self._parents.get(parent)
        return parent if isinstance(parent, _FUNCTIONS) else None

    def ancestors(self, node: ast.AST, function: ast.AST) -> list[ast.AST]:
        return ancestors(self._parents, node, function)

    def flow(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> FunctionFlow:
        if function not in self._flows:
            targets = [s for s in walk_statements(function.body) if isinstance(s, ast.With)]
            self._flows[function] = FunctionFlow(function, targets)
        return self._flows[function]

def _opens_on_receiver(node: ast.expr) -> bool:
    """``x.open(...)`` as an item of the block reviewed: the finder asks only about blocks
    whose items all open files (``p.open()`` on a path it typed), so its ``as`` name is a
    file; whether ``x`` may be read in the thread is reviewed with the call."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "open"


def _immutable_kind(value: ast.expr | None, analysis: ModuleConstants) -> str | None:
    """``DATA`` for immutable module constants, ``PATH`` for paths, ``LOGGER`` for loggers."""
    if value is None:
        return None
    if isinstance(value, ast.Constant):
        return DATA
    if isinstance(value, ast.JoinedStr):
        return DATA if all(_immutable_kind(v, analysis) for v in value.values if isinstance(v, ast.expr)) else None
    if isinstance(value, ast.FormattedValue):
        return _immutable_kind(value.value, analysis)
    if isinstance(value, ast.Tuple):
        return DATA if all(_immutable_kind(e, analysis) == DATA for e in value.elts) else None
    if isinstance(value, (ast.BinOp, ast.UnaryOp)):
        operands = [value.left, value.right] if isinstance(value, ast.BinOp) else [value.operand]
        kinds = {_immutable_kind(o, analysis) for o in operands}
        return PATH if PATH in kinds and None not in kinds else (DATA if kinds == {DATA} else None)
    if isinstance(value, ast.Name):
        return analysis.module_kind(value.id) if value.id != "__file__" else DATA
    if isinstance(value, ast.Attribute):
        base = _immutable_kind(value.value, analysis)
        return base if base == PATH else None
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Attribute) and _immutable_kind(func.value, analysis) == PATH:
            return PATH
        names = analysis.qualnames(func, _NO_FLOW, {})
        if names and all(analysis.constructors.get(q) is not None and analysis.constructors[q].name == "pathlib.Path"
                         for q in names):
            return PATH
        if names and all(q == "logging.getLogger" for q in names):
            return LOGGER
        if names and all(q == "contextvars.ContextVar" for q in names):
            return CONTEXT_VAR
        if names and all(q in ("os.getenv", "os.environ.get", "os.path.join", "os.path.dirname", "os.path.abspath",
                               "os.path.expanduser", "builtins.str", "builtins.int", "builtins.float")
                         for q in names):
            return DATA if all(_immutable_kind(a, analysis) for a in value.args) else None
    return None


class _NoFlow:
    locals: frozenset[str] = frozenset()


_NO_FLOW: FunctionFlow = _NoFlow()  # type: ignore[assignment]


class _Review:
    """One block, reviewed: raises ``_Refusal`` with the first reason it cannot move."""

    def __init__(self, analysis: BlockAnalysis, function: ast.FunctionDef | ast.AsyncFunctionDef, block: ast.With) -> None:
        self.analysis = analysis
        self.function = function
        self.block = block
        self.flow = analysis.flow(function)
        self.local_imports = self._local_imports()
        self.thread_bound: set[str] = set()
        self.block_files: set[str] = set()
        self.kinds = self._local_kinds()
        #: Inside the block, its ``as`` names are its files, whatever else the coroutine
        #: binds to them elsewhere, unless the block itself rebinds them.
        self.block_files = self._block_files()
        #: Locals that may hold a function or lambda the coroutine defined.
        self.functions = {
            node.name if not isinstance(node, ast.Assign) else node.targets[0].id  # type: ignore[attr-defined]
            for node in walk(function)
            if (isinstance(node, (*_FUNCTIONS, ast.ClassDef)) and node is not function)
            or (isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda)
                and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name))
        } & self.flow.locals
        self.hoisted = self._hoist()
        #: Whether the block holds an await an earlier fix wrote (``codemods.analysis.prior_fixes``):
        #: reviewed as the code it replaced, it refuses the block last.
        self.awaits_offloaded = bool(analysis.offloaded) and any(
            node in analysis.offloaded for statement in block.body for node in walk(statement)
        )
        #: The block as it will run in the thread: hoisted arguments become parameters.
        self.moved = self._moved_block()

    # -- the plan ----------------------------------------------------------------------

    def plan(self, taken: set[str]) -> BlockPlan:
        flow = self.flow
        if flow.declared_global or flow.declared_nonlocal:
            touched = sorted(self._names_in_block() & (flow.declared_global | flow.declared_nonlocal))
            if touched:
                which = "global" if touched[0] in flow.declared_global else "nonlocal"
                raise _Refusal(f"it uses `{touched[0]}`, which the coroutine declares {which}: "
                               "a function run in a thread would not share the declaration")
        for item in self.block.items:
            call = item.context_expr
            # ``self.root.open()``: the object the file is opened on would be read in the thread.
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and self._reads_shared_state(
                    call.func.value):
                raise _Refusal(f"it opens its file on `{ast.unparse(call.func.value)}`: in the thread it would read "
                               "state other tasks may change meanwhile")
        self._review_statements([self.moved], loops=0)
        self._review_context()
        arguments, results = self._data_flow()
        if self.awaits_offloaded:
            # Last: a block reported before `fix` offloaded its calls keeps its first reason.
            raise _Refusal("it contains an await")
        helper = HELPER_NAME
        counter = 1
        used = self._names_in_block() | flow.locals | taken | self._module_names()
        while helper in used:
            counter += 1
            helper = f"{HELPER_NAME}_{counter}"
        return BlockPlan(helper, arguments, results, self.hoisted)

    def _module_names(self) -> set[str]:
        facts = self.analysis.facts
        return {*facts.imports, *facts.functions, *facts.classes, *facts.values}

    def _data_flow(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        flow = self.flow
        block = self.block
        inside = DefiniteAssignment(track_exposed=True)
        inside.run([self.moved], frozenset())
        exposed = inside.exposed & flow.locals
        bound_here = self._bound_in_block() & flow.locals
        live_after = flow.live_after.get(block, frozenset()) & flow.locals
        results = bound_here & live_after
        # A name only blocks bind, but that the coroutine mentions elsewhere, must stay a
        # local of the coroutine (else reads of it elsewhere would go to a global or
        # builtin of the same name). The first block that binds it returns it: moved, it
        # leaves a binding behind; kept, it is one. Later blocks need not.
        results |= (bound_here & self._mentioned_outside() - self._bound_outside()) - self._bound_by_earlier_blocks()
        end = DefiniteAssignment().run([self.moved], frozenset(exposed))
        passed = set(exposed)
        if end is not None:
            passed |= results - end  # bound on some paths only: the value from before
        before = flow.bound_before.get(block)
        for name in sorted(passed, key=self._order):
            if before is not None and name not in before:
                if name in exposed:
                    raise _Refusal(f"`{name}` may have no value when the block starts, and the block reads it")
                raise _Refusal(f"`{name}` is bound on some paths through the block only, may have no value "
                               "before it, and is read after it")
        end = DefiniteAssignment().run([self.moved], frozenset(passed))
        if end is not None:
            for name in sorted(results - end, key=self._order):
                raise _Refusal(f"the block may delete `{name}`, which is read after it")
        partial = sorted(
            (bound_here - self._bound_last()) & flow.live_on_error.get(block, frozenset()), key=self._order
        )
        if partial:
            raise _Refusal(f"it assigns `{partial[0]}`, which an enclosing `except` or `finally` reads: if the "
                           "block failed half way, that code would no longer see the values it assigned")
        return tuple(sorted(passed, key=self._order)), tuple(sorted(results, key=self._order))

    def _order(self, name: str) -> tuple[int, str]:
        """Names in the order they first appear in the block."""
        if not hasattr(self, "_first_seen"):
            self._first_seen: dict[str, int] = {}
            for node in walk(self.moved):
                if isinstance(node, ast.Name):
                    position = (node.lineno << 16) + node.col_offset
                    self._first_seen[node.id] = min(self._first_seen.get(node.id, position), position)
        return self._first_seen.get(name, 1 << 40), name

    def _bound_last(self) -> set[str]:
        """Names bound only by the block's last statement, a plain assignment: nothing in
        the block that could still fail comes after them, so a failure leaves them as the
        original would (unbound by the block)."""
        last = self.moved.body[-1]
        if not isinstance(last, (ast.Assign, ast.AnnAssign)) or last.value is None:
            return set()
        names = set(bound_by_statement(last))
        elsewhere = {
            name for statement in walk_statements([self.moved])
            if statement is not last for name in bound_by_statement(statement)
        }
        return names - elsewhere

    def _mentioned_outside(self) -> set[str]:
        """Names the coroutine may read outside this block with no binding of its own.

        That is: mentioned outside every ``with open(...)`` block, or read by another
        such block before that block binds it (if that block stays, its read needs the
        name to stay a local of the coroutine).
        """
        blocks = self._movable_blocks()
        inside = {id(node) for block in blocks for node in walk(block)}
        mentioned = {
            node.id for node in walk(self.function)
            if isinstance(node, ast.Name) and id(node) not in inside
        }
        for other in blocks[1:]:
            reads = DefiniteAssignment(track_exposed=True)
            reads.run([other], frozenset())
            mentioned |= reads.exposed | free_reads_of_scopes(other)
        return mentioned

    def _bound_by_earlier_blocks(self) -> set[str]:
        """Names bound by blocks before this one, outside this one (an enclosing block's
        bindings inside this block leave with it)."""
        inside = {id(statement) for statement in walk_statements([self.block])}
        names: set[str] = set()
        for block in walk_statements(self.function.body):
            if block is self.block:
                return names
            if isinstance(block, ast.With) and self._opens_files(block):
                names.update(
                    name for statement in walk_statements([block]) if id(statement) not in inside
                    for name in bound_by_statement(statement)
                )
        return names

    def _movable_blocks(self) -> list[ast.With]:
        """This block and the other ``with open(...)`` blocks of the coroutine."""
        others = [
            block for block in walk_statements(self.function.body)
            if isinstance(block, ast.With) and block is not self.block and self._opens_files(block)
        ]
        return [self.block, *others]

    def _bound_outside(self) -> set[str]:
        """Names the coroutine binds outside every ``with open(...)`` block.

        Bindings in other blocks don't count: those blocks may move too, taking their
        bindings with them (two blocks that both bind ``f``, read before either).
        """
        moving = {id(statement) for block in self._movable_blocks() for statement in walk_statements([block])}
        names = set(parameter_names(self.function.args))
        for statement in walk_statements(self.function.body):
            if id(statement) not in moving:
                names.update(bound_by_statement(statement))
        return names

    def _block_files(self) -> set[str]:
        """``as`` names of the block's files that nothing in the block rebinds.

        Only bindings in the coroutine's own scope count: a comprehension variable or a
        parameter of nested code of the same name is another variable (callers check
        that the name they type is the coroutine's).
        """
        files = {
            item.optional_vars.id for item in self.block.items
            if isinstance(item.optional_vars, ast.Name) and (
                self._call_kind_of(item.context_expr) == FILE or _opens_on_receiver(item.context_expr))
        }
        rebound: set[str] = set()
        for statement in walk_statements(self.block.body):
            names = set(bound_by_statement(statement))
            if isinstance(statement, ast.With):  # another file under the same name is still a file
                names -= {
                    item.optional_vars.id for item in statement.items
                    if isinstance(item.optional_vars, ast.Name) and self._call_kind_of(item.context_expr) == FILE
                }
            rebound |= names
        return files - rebound

    def _call_kind_of(self, node: ast.expr) -> str | None:
        return self._call_kind(node) if isinstance(node, ast.Call) else None

    def _opens_files(self, block: ast.With) -> bool:
        """Whether every item of a ``with`` opens a file: a block loopsafe may move."""
        for item in block.items:
            if not isinstance(item.context_expr, ast.Call):
                return False
            names = self.analysis.qualnames(item.context_expr.func, self.flow, self.local_imports)
            entries = [self.analysis.index.get(name) for name in names]
            if not names and self._call_kind(item.context_expr) == FILE:
                continue  # ``p.open()`` on a path
            if not entries or not all(entry is not None and entry.opens_file for entry in entries):
                return False
        return True

    def _names_in_block(self) -> set[str]:
        return {node.id for node in walk(self.moved) if isinstance(node, ast.Name)}

    def _bound_in_block(self) -> set[str]:
        return {name for statement in walk_statements([self.moved]) for name in bound_by_statement(statement)}

    # -- kinds of the coroutine's variables ---------------------------------------------

    def _local_imports(self) -> dict[str, set[str]]:
        imports: dict[str, set[str]] = {}
        for statement in walk_statements(self.function.body):
            if isinstance(statement, ast.Import):
                for alias in statement.names:
                    name = alias.asname or alias.name.split(".")[0]
                    imports.setdefault(name, set()).add(alias.name if alias.asname else name)
            elif isinstance(statement, ast.ImportFrom) and not statement.level:
                for alias in statement.names:
                    imports.setdefault(alias.asname or alias.name, set()).add(f"{statement.module}.{alias.name}")
        # A name also bound otherwise is not (only) the import.
        other = {
            name for statement in walk_statements(self.function.body)
            if not isinstance(statement, (ast.Import, ast.ImportFrom))
            for name in bound_by_statement(statement)
        }
        return {name: qualnames for name, qualnames in imports.items() if name not in other}

    def _local_kinds(self) -> dict[str, str | None]:
        """Each local's kind when every binding of it gives the same kind."""
        cache = self.analysis._kinds.get(self.function)
        if cache is not None:
            self.thread_bound = self.analysis._thread_bound[self.function]
            return cache
        bindings: dict[str, list[tuple[str, ast.expr | None]]] = {}
        arguments = self.function.args
        for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            bindings.setdefault(argument.arg, []).append(("annotation", argument.annotation))
        for extra in (arguments.vararg, arguments.kwarg):
            if extra is not None:
                bindings.setdefault(extra.arg, []).append(("data", None))
        for node in walk(self.function):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                bindings.setdefault(node.targets[0].id, []).append(("value", node.value))
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in bound_by_target(target):
                        bindings.setdefault(name, []).append(("element", node.value))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                bindings.setdefault(node.target.id, []).append(("annotation", node.annotation))
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                bindings.setdefault(node.target.id, []).append(("value", node.value))
            elif isinstance(node, ast.NamedExpr):
                bindings.setdefault(node.target.id, []).append(("value", node.value))
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                for name in bound_by_target(node.target):
                    bindings.setdefault(name, []).append(("element", node.iter))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        bindings.setdefault(item.optional_vars.id, []).append(("value", item.context_expr))
                    elif item.optional_vars is not None:
                        for name in bound_by_target(item.optional_vars):
                            bindings.setdefault(name, []).append(("element", item.context_expr))
            elif isinstance(node, (*_FUNCTIONS, ast.ClassDef, ast.Lambda)) and node is not self.function:
                if not isinstance(node, ast.Lambda):
                    bindings.setdefault(node.name, []).append(("function", None))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bindings.setdefault(alias.asname or alias.name.split(".")[0], []).append(("import", None))
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bindings.setdefault(node.name, []).append(("exception", None))
        kinds: dict[str, str | None] = {name: None for name in bindings}
        self.analysis._kinds[self.function] = kinds
        self.kinds = kinds  # read by the kind() calls below
        # Kinds depend on other locals' kinds: iterate to a fixed point from "unknown".
        self.thread_bound = set()
        for _ in range(4):
            changed = False
            for name, sources in bindings.items():
                found = {self._binding_kind(how, value) for how, value in sources}
                if THREAD_BOUND_OBJECT in found:
                    self.thread_bound.add(name)
                kind = found.pop() if len(found) == 1 else None
                if kinds[name] != kind:
                    kinds[name] = kind
                    changed = True
            if not changed:
                break
        self.analysis._thread_bound[self.function] = self.thread_bound
        return kinds

    def _binding_kind(self, how: str, value: ast.expr | None) -> str | None:
        if how == "data" or how == "exception":
            return DATA
        if how == "function":
            return FUNCTION
        if how == "annotation":
            return self._annotation_kind(value)
        if how == "value":
            return self.kind(value) if value is not None else None
        if how == "element":
            container = self.kind(value) if value is not None else None
            return DATA if container in (DATA, FILE) else None
        return None

    def _annotation_kind(self, annotation: ast.expr | None) -> str | None:
        if annotation is None:
            return None
        if isinstance(annotation, ast.Subscript):
            annotation = annotation.value
        names = self.analysis.qualnames(annotation, self.flow, self.local_imports)
        if names and all(q in ("builtins.str", "builtins.bytes", "builtins.int", "builtins.float", "builtins.bool",
                               "builtins.list", "builtins.dict", "builtins.set", "builtins.tuple",
                               "typing.List", "typing.Dict", "typing.Set", "typing.Tuple") for q in names):
            return DATA
        if names and all(q.startswith("pathlib.") for q in names):
            return PATH
        return None

    def kind(self, node: ast.expr) -> str | None:
        """What an expression evaluates to, as far as moving it to a thread goes."""
        if isinstance(node, (ast.Constant, ast.JoinedStr, ast.List, ast.Tuple, ast.Set, ast.Dict,
                             ast.ListComp, ast.SetComp, ast.DictComp)):
            return DATA
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp)):
            operands = [n for n in child_nodes(node) if isinstance(n, ast.expr)]
            kinds = {self.kind(o) for o in operands}
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and self.kind(node.left) == PATH:
                return PATH
            return DATA if kinds <= {DATA} else None
        if isinstance(node, ast.Lambda):
            return FUNCTION
        if isinstance(node, ast.NamedExpr):
            return self.kind(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.block_files:
                return FILE
            if node.id in self.flow.locals or node.id in self.kinds:  # the latter: comprehension variables
                return self.kinds.get(node.id)
            return self.analysis.module_kind(node.id)
        if isinstance(node, ast.Subscript):
            return DATA if self.kind(node.value) == DATA else None
        if isinstance(node, ast.Attribute):
            base = self.kind(node.value)
            if base == PATH:
                return PATH if node.attr in ("parent", "parents") else DATA
            return DATA if base in (DATA, FILE) else None
        if isinstance(node, ast.Call):
            return self._call_kind(node)
        return None

    def _call_kind(self, call: ast.Call) -> str | None:
        func = call.func
        names = self.analysis.qualnames(func, self.flow, self.local_imports)
        if names:
            kinds: set[str | None] = set()
            for name in names:
                kind_of = self.analysis.constructors.get(name)
                if matches_any(name, FILE_LIKE):  # before constructors: zip and tar archives are both
                    kinds.add(FILE)
                elif kind_of is not None:
                    kinds.add(FILE if kind_of.name == "file" else PATH if kind_of.name == "pathlib.Path"
                              else THREAD_BOUND_OBJECT if kind_of.name.startswith("sqlite3") else None)
                elif name == "logging.getLogger":
                    kinds.add(LOGGER)
                elif matches_any(name, THREAD_SAFE) or name in self.analysis.index:
                    kinds.add(DATA)
                else:
                    kinds.add(None)
            return kinds.pop() if len(kinds) == 1 else None
        if isinstance(func, ast.Attribute):
            receiver = self.kind(func.value)
            if receiver == PATH:
                if func.attr == "open":
                    return FILE
                return PATH if func.attr in ("with_name", "with_stem", "with_suffix", "joinpath", "relative_to",
                                             "resolve", "absolute", "expanduser") else DATA
            if receiver == THREAD_BOUND_OBJECT:
                return THREAD_BOUND_OBJECT
            if receiver in (DATA, FILE):
                return DATA
        return None

    # -- the block's statements --------------------------------------------------------

    def _review_statements(self, statements: list[ast.stmt], loops: int) -> None:
        for statement in statements:
            self._review_statement(statement, loops)

    def _review_statement(self, statement: ast.stmt, loops: int) -> None:
        if isinstance(statement, ast.Return):
            raise _Refusal("it contains a return")
        if isinstance(statement, ast.Break) and not loops:
            raise _Refusal("it contains a break out of the block")
        if isinstance(statement, ast.Continue) and not loops:
            raise _Refusal("it contains a continue out of the block")
        if isinstance(statement, (ast.AsyncFor, ast.AsyncWith)):
            raise _Refusal("it contains an async for" if isinstance(statement, ast.AsyncFor) else
                           "it contains an async with")
        if isinstance(statement, (ast.Global, ast.Nonlocal)):
            raise _Refusal(f"it declares `{statement.names[0]}` "
                           f"{'global' if isinstance(statement, ast.Global) else 'nonlocal'}")
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            raise _Refusal("it imports a module, whose code would run in the worker thread")
        if isinstance(statement, (*_FUNCTIONS, ast.ClassDef)):
            raise _Refusal(f"it defines `{statement.name}`, which would close over the helper's variables "
                           "instead of the coroutine's")
        if isinstance(statement, ast.Raise) and statement.exc is None and not self._in_own_handler(statement):
            if self._in_handler():
                raise _Refusal("it is in an `except` handler and re-raises with a bare `raise`: a worker thread "
                               "has no exception being handled")
        self._review_expressions([child for child in child_nodes(statement) if isinstance(child, ast.expr)])
        for handler in getattr(statement, "handlers", ()):
            self._review_expressions([handler.type] if handler.type is not None else [])
        if isinstance(statement, (ast.For, ast.While)):
            self._review_statements(statement.body, loops + 1)
            self._review_statements(statement.orelse, loops)  # not in the loop: break/continue leave it
            return
        for block in child_blocks(statement):
            self._review_statements(block, loops)
        for case in getattr(statement, "cases", ()):
            if case.guard is not None:
                self._review_expressions([case.guard])

    def _in_own_handler(self, node: ast.AST) -> bool:
        """Whether a statement is inside an ``except`` handler that is itself in the block."""
        for ancestor in self.analysis.ancestors(node, self.function):
            if ancestor is self.block:
                return False
            if isinstance(ancestor, ast.ExceptHandler):
                return True
        return False

    def _in_handler(self) -> bool:
        return any(isinstance(a, ast.ExceptHandler) for a in self.analysis.ancestors(self.block, self.function))

    # -- the block's expressions -------------------------------------------------------

    def _review_expressions(self, expressions: Iterable[ast.expr]) -> None:
        for expression in expressions:
            # What a plain function cannot hold at all comes first.
            for node in walk(expression):
                if isinstance(node, ast.Await):
                    raise _Refusal("it contains an await")
                if isinstance(node, (ast.Yield, ast.YieldFrom)):
                    raise _Refusal("it contains a yield")
                if isinstance(node, ast.comprehension) and node.is_async:
                    raise _Refusal("it contains an async comprehension")
            callees = {id(node.func) for node in walk(expression) if isinstance(node, ast.Call)}
            for node in walk_in_order(expression):
                if id(node) not in callees:  # a callee is reviewed with its call
                    self._review_node(node)

    def _review_node(self, node: ast.AST) -> None:
        if isinstance(node, ast.Lambda):
            captured = sorted(free_reads(node) & (self.flow.locals | self._bound_in_block()))
            if captured:
                raise _Refusal(f"it defines a lambda that reads `{captured[0]}`: after the move it would read the "
                               "helper's variable, not the coroutine's")
        elif isinstance(node, ast.Call):
            self._review_call(node)
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            self._review_access(node)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id not in self.flow.locals:
                self._review_global(node.id)
            elif node.id in self.thread_bound:
                raise _Refusal(f"it uses `{node.id}`, a sqlite3 object, which is bound to the thread that "
                               "created it")
            elif node.id in self.functions:
                raise _Refusal(f"it uses `{node.id}`, a function defined in the coroutine, whose code would run "
                               "in the worker thread")

    def _review_global(self, name: str) -> None:
        facts = self.analysis.facts
        if name in facts.values or name in facts.rebound:
            kind = self.analysis.module_kind(name)
            if kind is None:
                raise _Refusal(f"it reads `{name}`, module-level state that other tasks may change while the "
                               "thread runs", atomic=True)
        elif name in facts.functions:  # handed to something that calls it (``key=helper``)
            raise _Refusal(f"it uses `{name}`, code of this module that loopsafe cannot show is safe in a "
                           "worker thread (it may use the event loop or shared state)")

    def _review_access(self, node: ast.Attribute | ast.Subscript) -> None:
        base = node.value
        root = base
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        if not isinstance(root, ast.Name):
            return  # on a call's result or a literal: reviewed there
        if root.id not in self.flow.locals:
            return  # modules and classes are not state; module-level variables are reviewed by name
        if self.kind(base) in (*_SAFE_KINDS, LOGGER):
            return
        if self._bound_only_in_block(root.id):
            return
        text = ast.unparse(node)
        if isinstance(node.ctx, ast.Load):
            raise _Refusal(f"it reads `{text}`, which other tasks may change while the thread runs", atomic=True)
        raise _Refusal(f"it changes `{text}`, which other tasks would see change while the coroutine waits",
                       atomic=True)

    def _bound_only_in_block(self, name: str) -> bool:
        """A variable the block made itself (``reader = csv.reader(f)``), not shared."""
        if name in self.flow.deferred_reads:
            return False
        inside = {id(n) for n in walk(self.moved)}
        for node in walk(self.function):
            if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load):
                if id(node) not in inside:
                    return False
            elif isinstance(node, ast.arg) and node.arg == name:
                return False
        return True

    def _review_call(self, call: ast.Call) -> None:
        func = call.func
        shown = ast.unparse(func)
        root = func
        while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
            root = root.func if isinstance(root, ast.Call) else root.value
        if isinstance(root, ast.Name) and root.id in self.flow.locals and root.id in self.thread_bound:
            raise _Refusal(f"it uses `{root.id}`, a sqlite3 object, which is bound to the thread that created it")
        if isinstance(func, ast.Attribute):
            receiver = self.kind(func.value)
            if receiver == LOGGER:
                self._review_logging(func.attr, shown, call)
                return
            if receiver in _SAFE_KINDS:  # a method of a plain value, a file or a path
                return
            if receiver == CONTEXT_VAR:
                if func.attr == "get":
                    return
                raise _Refusal(f"it calls `{shown}()`: in the worker thread it would change a copy of the task's "
                               "context, which the coroutine would not see")
        names = self.analysis.qualnames(func, self.flow, self.local_imports)
        if names:
            for name in sorted(names):
                self._review_callee(name, shown, call)
            return
        if isinstance(func, ast.Name):
            if func.id in self.functions:
                raise _Refusal(f"it calls `{shown}()`, a function defined in the coroutine, whose code would run "
                               "in the worker thread")
            if func.id in self.flow.locals:
                raise _Refusal(f"it calls `{shown}()`, a function the coroutine holds in a variable, which "
                               "loopsafe cannot show is safe in a worker thread")
            raise _Refusal(f"it calls `{shown}()`, which loopsafe cannot resolve")
        if isinstance(func, ast.Attribute):
            receiver = self.kind(func.value)
            if receiver == THREAD_BOUND_OBJECT:
                raise _Refusal(f"it uses `{ast.unparse(func.value)}`, a sqlite3 object, which is bound to the "
                               "thread that created it")
            if receiver == LOGGER:
                self._review_logging(func.attr, shown, call)
                return
            if receiver in _SAFE_KINDS:
                return
            root = func.value
            while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
                root = root.func if isinstance(root, ast.Call) else root.value
            if isinstance(root, ast.Name) and root.id in self.flow.locals and self._bound_only_in_block(root.id):
                kind = self.kinds.get(root.id)
                if kind in _SAFE_KINDS:
                    return
            raise _Refusal(f"it calls `{shown}()`, which loopsafe does not know to be safe in a worker thread "
                           "(it may use the event loop or state that other tasks share)")
        raise _Refusal(f"it calls `{shown}()`, which loopsafe does not know to be safe in a worker thread")

    def _review_callee(self, name: str, shown: str, call: ast.Call) -> None:
        no_arguments = not call.args and not call.keywords
        if name in THREAD_BOUND and (no_arguments or name not in ("builtins.super", "builtins.vars")):
            raise _Refusal(f"it {THREAD_BOUND[name]}")
        if name == "builtins.next":
            if len(call.args) < 2:
                raise _Refusal("it calls next() without a default: its StopIteration cannot cross from the "
                               "thread to the awaiting task, which would hang")
            return
        if matches_any(name, CURRENT_EXCEPTION) or any(k.arg == "exc_info" for k in call.keywords):
            if self._in_handler():
                raise _Refusal(f"it is in an `except` handler and calls `{shown}()`, which uses the exception "
                               "being handled: a worker thread has none")
        if name.split(".")[0] in EVENT_LOOP_MODULES:
            raise _Refusal(f"it calls `{shown}()`, which belongs to the event loop and must run on its thread")
        entry = self.analysis.index.get(name)
        if entry is not None:
            if entry.category == "database":
                raise _Refusal(f"it calls `{shown}()`: a sqlite3 connection is bound to the thread that made it")
            if entry.strategy is Strategy.REPORT and entry.category == "user":
                raise _Refusal(f"it calls `{shown}()`, configured as report-only")
            return
        if name in self.analysis.constructors or matches_any(name, THREAD_SAFE) or matches_any(name, FILE_LIKE):
            return
        if name.startswith("builtins."):
            if name[len("builtins."):] in EXCEPTION_CLASSES:
                return
            raise _Refusal(f"it calls `{shown}()`, which loopsafe does not know to be safe in a worker thread")
        if name.startswith("<module>.") or name.startswith("."):
            raise _Refusal(f"it calls `{shown}()`, code of this module or project that loopsafe cannot show is "
                           "safe in a worker thread (it may use the event loop or shared state)")
        raise _Refusal(f"it calls `{shown}()`, which loopsafe does not know to be safe in a worker thread")

    def _review_logging(self, method: str, shown: str, call: ast.Call) -> None:
        if method not in LOGGER_METHODS:
            raise _Refusal(f"it calls `{shown}()`, which loopsafe does not know to be safe in a worker thread")
        if (method == "exception" or any(k.arg == "exc_info" for k in call.keywords)) and self._in_handler():
            raise _Refusal(f"it is in an `except` handler and calls `{shown}()`, which logs the exception being "
                           "handled: a worker thread has none")

    # -- where the block stands --------------------------------------------------------

    def _review_context(self) -> None:
        for statement in walk_statements(self.function.body):
            for node in _own_expressions(statement):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
                    if node.func.id in ("locals", "vars") and node.func.id not in self.flow.locals:
                        raise _Refusal(f"the coroutine calls {node.func.id}(), which would not see the values "
                                       "the block assigns until it returns")

    # -- open(...) arguments evaluated before the thread starts -------------------------

    def _hoist(self) -> tuple[Hoisted, ...]:
        """Arguments of the block's ``open(...)`` calls that read shared state.

        They run first in the original too (the first item's before anything else; a
        later item's are plain reads, which opening a file cannot change), so evaluating
        them on the loop before the thread starts keeps the order and the values.
        """
        hoisted: list[Hoisted] = []
        used = self._names_in(self.block) | self.flow.locals | self._module_names()
        for index, item in enumerate(self.block.items):
            call = item.context_expr
            if not isinstance(call, ast.Call):
                continue
            arguments: list[tuple[int, str | None, ast.expr]] = [
                *((i, None, a) for i, a in enumerate(call.args)), *((0, k.arg, k.value) for k in call.keywords)
            ]
            for position, keyword, argument in arguments:
                if isinstance(argument, ast.Starred) or (keyword is None and any(
                    isinstance(a, ast.Starred) for a in call.args[:position]
                )):
                    continue
                if keyword is None and any(k.arg is None for k in call.keywords):
                    continue
                if not self._reads_shared_state(argument) or not self._plain_read(argument, calls=index == 0):
                    continue
                parameter = _parameter_name(argument, used)
                used.add(parameter)
                hoisted.append(Hoisted(index, position, keyword, parameter))
        return tuple(hoisted)

    def _moved_block(self) -> ast.With:
        """A shallow copy of the block with hoisted arguments replaced by their parameters."""
        if not self.hoisted:
            return self.block
        items = []
        for index, item in enumerate(self.block.items):
            call = item.context_expr
            mine = [h for h in self.hoisted if h.item == index]
            if mine and isinstance(call, ast.Call):
                args = list(call.args)
                keywords = list(call.keywords)
                for hoisting in mine:
                    name = ast.Name(hoisting.parameter, ast.Load(), lineno=call.lineno, col_offset=call.col_offset)
                    if hoisting.keyword is None:
                        args[hoisting.position] = name
                    else:
                        keywords = [ast.keyword(k.arg, name) if k.arg == hoisting.keyword else k for k in keywords]
                call = ast.Call(call.func, args, keywords, lineno=call.lineno, col_offset=call.col_offset)
            items.append(ast.withitem(call, item.optional_vars))
        moved = ast.With(items, self.block.body)
        ast.copy_location(moved, self.block)
        return moved

    @staticmethod
    def _names_in(node: ast.AST) -> set[str]:
        return {n.id for n in walk(node) if isinstance(n, ast.Name)}

    def _reads_shared_state(self, argument: ast.expr) -> bool:
        for node in walk(argument):
            if isinstance(node, (ast.Attribute, ast.Subscript)):
                root = node.value
                while isinstance(root, (ast.Attribute, ast.Subscript)):
                    root = root.value
                if not isinstance(root, ast.Name):
                    continue
                if root.id in self.flow.locals and self.kind(node.value) not in (*_SAFE_KINDS, LOGGER):
                    return True
                if root.id not in self.flow.locals and root.id in self.analysis.facts.values:
                    return self.analysis.module_kind(root.id) is None
            elif isinstance(node, ast.Name) and node.id not in self.flow.locals:
                if node.id in self.analysis.facts.values and self.analysis.module_kind(node.id) is None:
                    return True
        return False

    def _plain_read(self, node: ast.expr, calls: bool) -> bool:
        """Reads only: names, attributes, subscripts, constants, operators, pure calls."""
        for child in walk(node):
            if isinstance(child, (ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom, ast.Lambda, *_COMPREHENSION_NODES)):
                return False
            if isinstance(child, ast.Call):
                names = self.analysis.qualnames(child.func, self.flow, self.local_imports)
                pure = bool(names) and all(matches_any(n, THREAD_SAFE) and n not in self.analysis.index for n in names)
                if not calls or not pure:
                    return False
        return True


_COMPREHENSION_NODES = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _parameter_name(argument: ast.expr, used: set[str]) -> str:
    base = argument.attr if isinstance(argument, ast.Attribute) else "path"
    base = base.lstrip("_") or "path"
    name = base
    counter = 1
    while name in used or name in _BUILTINS:
        counter += 1
        name = f"{base}_{counter}"
    return name


def walk_in_order(node: ast.AST, lambdas: bool = True) -> list[ast.AST]:
    """Nodes of an expression in evaluation order: operands before the call that uses
    them, so the first problem found is the innermost (``super()`` in ``super().x()``).
    Without ``lambdas``, not into the bodies of lambdas (they run later)."""
    found: list[ast.AST] = []
    stack: list[tuple[ast.AST, bool]] = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        if expanded:
            found.append(current)
            continue
        stack.append((current, True))
        if lambdas or not isinstance(current, ast.Lambda):
            stack.extend((child, False) for child in reversed(list(child_nodes(current))))
    return found


def _own_expressions(statement: ast.stmt) -> Iterable[ast.AST]:
    for child in child_nodes(statement):
        if isinstance(child, ast.expr):
            yield from walk(child)


def free_reads_of_scopes(block: ast.AST) -> set[str]:
    """Names read by the functions and lambdas nested in ``block``."""
    return {
        name for node in walk(block) if isinstance(node, (*_FUNCTIONS, ast.Lambda, ast.ClassDef))
        for name in free_reads(node)
    }


def all_with_statements(module: ast.Module) -> list[ast.With | ast.AsyncWith]:
    """Every ``with`` statement, nested ones included, in the order of the statements."""
    return [s for s in walk_statements(module.body, scopes=True) if isinstance(s, (ast.With, ast.AsyncWith))]


__all__ = ["BlockAnalysis", "BlockPlan", "Hoisted", "HELPER_NAME", "Refusal", "all_with_statements", "walk_in_order"]

"""May a value handed to a worker thread be touched by another task while the thread runs?

Offloading a call (``await asyncio.to_thread(f, *args)``) lets other tasks run while ``f``
runs, and ``f`` reaches every object its arguments reach. Before, nothing ran in between.
So an argument must be something no other task can touch meanwhile
(/work/shared/notes/thread-confinement.md):

- an **immutable** value: str, bytes, numbers, bool, None, f-strings, paths, enum members,
  tuples of these, module constants never rebound (``ModuleConstants``), results of
  callables that give such values (``IMMUTABLE_RESULTS`` in the catalog), code;
- or an object the coroutine **owns**: made in it (a display, a comprehension, a copy of
  owned or immutable items, a fresh result such as ``json.loads``), not stored in an
  attribute, a global or another container, not handed to another function, task or
  callback and not captured by a nested function before the call (or anywhere in a loop
  around it).

Anything else is a ``Hazard``, *certain* when other tasks surely can reach the object (an
attribute of an object the coroutine did not make, a module variable holding a mutable
value or rebound, process-wide state, an owned object that escaped, a lazy view or
generator that would read any of these later, in the thread) or when it is bound to a
thread or to the loop (sqlite3 objects, asyncio futures, queues, events, locks, the loop,
threading locks: ``THREAD_AFFINE``); *uncertain* when loopsafe cannot tell where the value
comes from (a parameter of unknown type, the result of an unknown call, a name imported
from another module). Calls moved to a thread one by one (LS301 helpers, catalog calls)
refuse both; a moved ``with`` block refuses the certain ones only, as its own analysis
(``codemods.analysis.block_analysis``) takes the coroutine's variables to be its own.

Analysed on the module's ``ast`` with its scopes (``codemods.analysis.bindings``):
a name's value is the union of all its bindings (flow-insensitive, as ``scope[name]`` is).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Mapping, Sequence, Union

from codemods.analysis.flow import child_nodes, walk, walk_syntax
from codemods.analysis.bindings import Binding, ModuleScopes, Scope, resolve
from codemods.analysis.block_analysis import ModuleConstants, matches_any
from codemods.analysis.block_analysis import ancestors as ancestors_of
from codemods.analysis.prior_fixes import no_parameters
from codemods.catalog import (
    COPIES,
    FRESH_RESULTS,
    IMMUTABLE_ANNOTATIONS,
    IMMUTABLE_RESULTS,
    ITEM_RESULTS,
    LAZY_VIEWS,
    LOGGER_METHODS,
    LOOP_FACTORIES,
    SHARED_MODULE_STATE,
    THREAD_AFFINE,
    THREAD_RUNNER_NAMES,
    THREAD_SAFE,
    VIEW_METHODS,
    BlockingCall,
    BlockingType,
)

IMMUTABLE = "immutable"
OWNED = "owned"

#: Why a value is not confined (finishing "its argument `x` is ...").
ATTRIBUTE = "an attribute other tasks can change while the thread runs"
MODULE_VARIABLE = "a module-level variable other tasks can change while the thread runs"
PROCESS_STATE = "process-wide state other tasks can change while the thread runs"
IMPORTED = "a name imported from another module, whose other users can change it while the thread runs"
PARAMETER = ("a parameter of the coroutine, which may hold a mutable object its caller shares with other tasks "
             "(annotate it, `: str`, `: Path`, `: tuple[str, ...]`, if it is immutable)")
ENCLOSING = "a variable of an enclosing function, which other code can change while the thread runs"
UNKNOWN_RESULT = "a value from a call that loopsafe cannot show no other task holds"
UNKNOWN = "a value loopsafe cannot show no other task holds"

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
#: Methods that put their arguments into the object they are called on.
MUTATORS = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "appendleft", "extendleft"})
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_DISPLAYS = (ast.Tuple, ast.List, ast.Set)
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) or frozenset({"os", "sys", "logging", "subprocess"})
_ENUM_BASES = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag"})


@dataclass(frozen=True)
class Hazard:
    """Why a value handed to a thread may be touched by another task meanwhile."""

    #: The expression other tasks can reach, or its source text: a node is spelled (by
    #: ``render``) only when the hazard is told, as most are dropped by ``_worst``.
    source: ast.AST | str
    #: What it is, finishing "`culprit`, ...".
    why: str
    #: Other tasks surely can reach it, or it is bound to a thread or the loop (else:
    #: loopsafe cannot tell where it comes from).
    certain: bool
    #: The argument is a container holding ``culprit`` or its items, not ``culprit`` itself.
    items: bool = False
    #: It holds ``culprit``'s items (a copy, a loop variable), not ``culprit``.
    items_of: bool = False
    #: How ``source``, a node, is spelled.
    render: Callable[[ast.AST], str] = field(default=ast.unparse, compare=False, repr=False)

    @property
    def culprit(self) -> str:
        """The source text of the expression other tasks can reach."""
        return self.source if isinstance(self.source, str) else self.render(self.source)


Verdict = Union[str, Hazard]


def _worst(verdicts: Sequence[Verdict]) -> Verdict:
    """A value that may be any of these: the first certain hazard, else the first hazard,
    else owned if any is, else immutable."""
    hazards = [v for v in verdicts if isinstance(v, Hazard)]
    for hazard in hazards:
        if hazard.certain:
            return hazard
    if hazards:
        return hazards[0]
    return OWNED if OWNED in verdicts else IMMUTABLE


def _items_of(verdict: Verdict) -> Verdict:
    """The items of a container whose verdict is ``verdict`` (or a container holding such
    a value): a shared container's items are shared too, though they may be immutable
    (strings) as far as loopsafe can tell."""
    if isinstance(verdict, Hazard) and verdict.why not in _AFFINE_REASONS:
        return replace(verdict, items=True, items_of=True)
    return verdict


def _contained(verdict: Verdict) -> Verdict:
    """A container made now holding a value whose verdict is ``verdict``."""
    if isinstance(verdict, Hazard) and verdict.why not in _AFFINE_REASONS:
        return replace(verdict, items=True)
    return verdict


_AFFINE_REASONS = frozenset(THREAD_AFFINE.values())


def describe(shown: str, hazard: Hazard, label: str | None = None, subject: str = "its argument `{}`") -> str:
    """``its argument `self.state` is an attribute other tasks can change ...``; ``shown``
    is the argument's value as ``ast.unparse`` spells it, ``label`` how to name it
    (``json=self.state``), ``subject`` the words before the verb."""
    named = subject.format(label or shown)
    if hazard.culprit == shown and not hazard.items:
        return f"{named} is {hazard.why}"
    verb = "holds items of" if hazard.items_of else "holds" if shown.isidentifier() else "reaches"
    return f"{named} {verb} `{hazard.culprit}`, {hazard.why}"


class Confinement:
    """Verdicts on the values a module's coroutines hand to worker threads."""

    def __init__(
        self, tree: ast.Module, scopes: ModuleScopes, index: Mapping[str, BlockingCall],
        constructors: Mapping[str, BlockingType],
    ) -> None:
        self.tree = tree
        self.scopes = scopes
        #: Whether a qualified name is a blocking callable (the catalog; the finder adds those
        #: declared in ``blocking``): its call, run on the loop, gives a new value (``os.listdir``).
        self.blocks: Callable[[str], bool] = index.__contains__
        #: How an expression is named in a reason (the same before and after a fix).
        self.render: Callable[[ast.AST], str] = ast.unparse
        #: An expression as the code before a fix (offloads seen as the calls they replaced).
        self.before_fix: Callable[[ast.expr], ast.expr] = lambda node: node
        self.constants = ModuleConstants(tree, constructors)
        #: Constructors of the catalog's types: each call makes a new object.
        self.constructors = constructors
        #: The type of the object a call made its result from (``conn.cursor()``), if the
        #: catalog says it makes one (set by the finder, which knows the receivers' types).
        self.maker_type: Callable[[ast.Call], BlockingType | None] = lambda call: None
        #: Each node of ``tree`` -> the node it is a child of (the finder has it at hand).
        self.parents_of: Callable[[], dict[ast.AST, ast.AST]] = self._walk_parents
        self._parents: dict[ast.AST, ast.AST] | None = None
        self._loads: dict[ast.AST, dict[str, list[ast.Name]]] = {}
        # Asked again and again, across questions: each node's spelling, names and code
        # before a fix (nodes are keys, not ids: ``before_fix`` makes new ones).
        self._texts: dict[ast.AST, str] = {}
        self._names: dict[ast.AST, set[str]] = {}
        self._before: dict[ast.expr, ast.expr] = {}

    # -- the questions -------------------------------------------------------------------

    def hazard(self, argument: ast.expr, site: ast.AST, strict: bool = True, shallow: bool = False) -> Hazard | None:
        """Why ``argument``, handed to a thread at ``site`` (the call, or a moved ``with``
        statement), may be touched by another task meanwhile; ``None`` if it cannot.
        ``strict``: values of unknown origin and items of shared containers count too (a
        moved block takes them to be its own, as its own analysis does); ``shallow``: the
        argument is a container of immutable items (``subprocess.run``'s args): only the
        container counts."""
        try:
            verdict = _Evaluation(self, site).value(argument)
        except RecursionError:  # nested too deeply to follow
            verdict = Hazard(argument, UNKNOWN, certain=False, render=self.text)
        if not isinstance(verdict, Hazard) or (verdict.items and (shallow or not strict)):
            return None
        return verdict if strict or verdict.certain else None

    # -- machinery shared by evaluations -----------------------------------------------

    def parents(self) -> dict[ast.AST, ast.AST]:
        if self._parents is None:
            self._parents = self.parents_of()
        return self._parents

    def _walk_parents(self) -> dict[ast.AST, ast.AST]:
        parents: dict[ast.AST, ast.AST] = {}
        for node in walk(self.tree):
            for child in child_nodes(node):
                parents[child] = node
        return parents

    def loads(self, function: ast.AST) -> dict[str, list[ast.Name]]:
        """The reads of each name in ``function`` (walked once: a module asks about many values)."""
        found = self._loads.get(function)
        if found is None:
            found = self._loads[function] = {}
            for node in walk(function):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    found.setdefault(node.id, []).append(node)
        return found

    def text(self, node: ast.AST) -> str:
        """``render(node)``, once per node."""
        found = self._texts.get(node)
        if found is None:
            found = self._texts[node] = self.render(node)
        return found

    def unfixed(self, node: ast.expr) -> ast.expr:
        """``before_fix(node)``, once per node (the same new nodes each time)."""
        found = self._before.get(node)
        if found is None:
            found = self._before[node] = self.before_fix(node)
        return found

    def scope(self, node: ast.AST) -> Scope:
        return self.scopes.scope_or(node, self.scopes.module)

    def names(self, node: ast.expr) -> set[str]:
        """The qualified names ``node`` may stand for (callers do not change the set)."""
        found = self._names.get(node)
        if found is None:
            found = self._names[node] = resolve(node, self.scope(node))
        return found

    def is_enum(self, node: ast.expr) -> bool:
        """A module-level class deriving from ``enum.Enum`` (its members are constants)."""
        if not isinstance(node, ast.Name):
            return False
        bindings = self.scope(node)[node.id]
        return bool(bindings) and all(
            isinstance(b.node, ast.ClassDef) and any(self.names(base) & _ENUM_BASES for base in b.node.bases)
            for b in bindings
        )


#: What a verdict's evaluation looked at of the cycle cuts: the bindings (by node id) and
#: the escaping names it asked about.
Footprint = set[Union[int, str]]


class _Evaluation:
    """One question: the verdict on an expression, handed to a thread at ``site``.

    A value or binding reached along many paths (a name rebound from other names, each
    bound from others) is judged once where that cannot change the verdict: the cycle cuts
    (a binding in progress counts as immutable, an escape in progress as none) make a
    verdict depend on what is in progress where it is asked. Each verdict keeps the
    bindings and names it asked about (its footprint); it is kept if none of them was in
    progress when it was made, and reused where none of them is."""

    def __init__(self, confinement: Confinement, site: ast.AST) -> None:
        self.confinement = confinement
        self.site = site
        self.parents = confinement.parents()
        self.inside_site = {id(node) for node in walk_syntax(site)}
        #: Bindings (by node id) and names whose evaluation is in progress.
        self.visiting: set[int] = set()
        self.escaping: set[str] = set()
        #: The footprints of the evaluations in progress, innermost last.
        self.footprints: list[Footprint] = [set()]
        self.values: dict[ast.expr, tuple[Verdict, Footprint]] = {}
        self.bindings: dict[Binding, tuple[Verdict, Footprint]] = {}
        self.makers: dict[ast.Call, BlockingType | None] = {}

    def free(self, footprint: Footprint) -> bool:
        """Nothing ``footprint`` names is in progress: the verdict is the same here."""
        return footprint.isdisjoint(self.visiting) and footprint.isdisjoint(self.escaping)

    def text(self, node: ast.AST) -> str:
        return self.confinement.text(node)

    def at(self, node: ast.AST, why: str, certain: bool) -> Hazard:
        """A hazard whose culprit is ``node``, spelled only if told."""
        return Hazard(node, why, certain, render=self.confinement.text)

    def maker_type(self, call: ast.Call) -> BlockingType | None:
        # Asked once per question: the finder's receiver types grow as it walks the module.
        if call not in self.makers:
            self.makers[call] = self.confinement.maker_type(call)
        return self.makers[call]

    # -- expressions ------------------------------------------------------------------

    def value(self, node: ast.expr) -> Verdict:
        known = self.values.get(node)
        if known is not None and self.free(known[1]):
            self.footprints[-1] |= known[1]
            return known[0]
        self.footprints.append(set())
        try:
            verdict = self._value(node)
        finally:
            footprint = self.footprints.pop()
            self.footprints[-1] |= footprint
        if self.free(footprint):
            self.values[node] = (verdict, footprint)
        return verdict

    def _value(self, node: ast.expr) -> Verdict:
        if isinstance(node, ast.Await):
            # An offload an earlier fix wrote is judged as the call it replaced: a verdict
            # (and its reason) must read the same after a fix.
            before = self.confinement.unfixed(node)
            if not isinstance(before, ast.Await):
                return self.value(before)
        if isinstance(node, (ast.Constant, ast.JoinedStr, ast.Compare, ast.UnaryOp)):
            return IMMUTABLE
        if isinstance(node, ast.BinOp):
            if any(isinstance(o, ast.JoinedStr) or (isinstance(o, ast.Constant) and isinstance(o.value, (str, bytes)))
                   for o in (node.left, node.right)):
                return IMMUTABLE  # ``"%s" % x``, ``"a" + b``: a new str
            verdict = _worst([_items_of(self.value(node.left)), _items_of(self.value(node.right))])
            return verdict  # a new object (number, str, list of the operands' items)
        if isinstance(node, ast.BoolOp):
            return _worst([self.value(v) for v in node.values])
        if isinstance(node, ast.IfExp):
            return _worst([self.value(node.body), self.value(node.orelse)])
        if isinstance(node, ast.NamedExpr):
            return self.value(node.value)
        if isinstance(node, ast.Starred):
            return _items_of(self.value(node.value))
        if isinstance(node, _DISPLAYS):
            verdict = _worst([_contained(self.value(e)) for e in node.elts])
            if isinstance(node, ast.Tuple) and verdict == IMMUTABLE:
                return IMMUTABLE
            return verdict if isinstance(verdict, Hazard) else OWNED
        if isinstance(node, ast.Dict):
            parts = [_contained(self.value(p)) for p in [*node.keys, *node.values] if p is not None]
            parts += [_items_of(self.value(v)) for k, v in zip(node.keys, node.values) if k is None]
            verdict = _worst(parts)
            return verdict if isinstance(verdict, Hazard) else OWNED
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp)):
            elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            verdict = _worst([_contained(self.value(e)) for e in elements])
            return verdict if isinstance(verdict, Hazard) else OWNED
        if isinstance(node, (ast.GeneratorExp, ast.Lambda)):
            return self.lazy(node, node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Subscript):
            base = self.value(node.value)
            return base if base in (IMMUTABLE, OWNED) else _items_of(base)
        if isinstance(node, ast.Name):
            return self.name(node)
        return self.at(node, UNKNOWN, False)

    def items(self, iterable: ast.expr) -> Verdict:
        """The items a loop over ``iterable`` gets, on the loop's thread: a lazy view's are
        items of what it views, a generator's are its elements."""
        if isinstance(iterable, ast.Call) and self.call_is_lazy(iterable):
            sources = [*iterable.args, *(k.value for k in iterable.keywords)]
            if isinstance(iterable.func, ast.Attribute) and not sources:
                sources = [iterable.func.value]  # ``d.items()``
            return _worst([self.items(s) for s in sources])
        if isinstance(iterable, ast.GeneratorExp):
            return self.value(iterable.elt)
        return _items_of(self.value(iterable))

    def lazy(self, node: ast.expr, view: ast.expr) -> Verdict:
        """A generator, lambda or lazy view: what it reads, it reads later, in the thread."""
        parts: list[Verdict] = []
        for inner in walk(view):
            if inner is view:
                continue
            if isinstance(inner, ast.Call) and self.call_is_lazy(inner):
                continue  # its own arguments are walked
            if isinstance(inner, ast.Call):
                names = self.confinement.names(inner.func)
                pure = bool(names) and all(
                    matches_any(n, IMMUTABLE_RESULTS) or matches_any(n, COPIES) or matches_any(n, THREAD_SAFE)
                    for n in names
                )
                if not pure and not isinstance(inner.func, ast.Attribute):  # a method of an item: ``x.strip()``
                    parts.append(self.at(inner, "a call that would run in the thread, later", True))
            elif isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load) and not self.bound_within(inner, view):
                parts.append(self.value(inner))
            elif isinstance(inner, ast.Attribute) and isinstance(inner.ctx, ast.Load):
                root = inner.value
                while isinstance(root, (ast.Attribute, ast.Subscript)):
                    root = root.value
                if not (isinstance(root, ast.Name) and self.bound_within(root, view)):
                    parts.append(self.attribute(inner))
        verdict = _worst(parts)
        if isinstance(verdict, Hazard):
            what = "a generator expression" if isinstance(node, ast.GeneratorExp) else (
                "a lambda" if isinstance(node, ast.Lambda) else "a lazy iterator")
            culprit = verdict.culprit
            return Hazard(self.text(node), f"{what} that runs later, in the thread, reading `{culprit}`, {verdict.why}",
                          certain=verdict.certain)
        return OWNED

    def bound_within(self, name: ast.Name, view: ast.expr) -> bool:
        """A name bound by the generator or lambda itself (its variables, its parameters)."""
        bindings = self.confinement.scope(name)[name.id]
        inside = {id(n) for n in walk_syntax(view)}
        return bool(bindings) and all(b.node is not None and id(b.node) in inside for b in bindings)

    def call_is_lazy(self, call: ast.Call) -> bool:
        names = self.confinement.names(call.func)
        if names and all(matches_any(n, LAZY_VIEWS) for n in names):
            return True
        return (isinstance(call.func, ast.Attribute) and call.func.attr in VIEW_METHODS
                and not call.args and not call.keywords)

    def call(self, node: ast.Call) -> Verdict:
        func = node.func
        names = self.confinement.names(func)
        if names and all(n in THREAD_AFFINE for n in names):
            return self.at(node, THREAD_AFFINE[sorted(names)[0]], True)
        if self.call_is_lazy(node):
            return self.lazy(node, node)
        if names:
            if all(matches_any(n, IMMUTABLE_RESULTS) for n in names):
                return IMMUTABLE
            if all(matches_any(n, FRESH_RESULTS) or self.confinement.blocks(n) or n in self.confinement.constructors
                   for n in names):
                return OWNED
            if all(matches_any(n, COPIES) for n in names):
                # Made now, on the loop, from the items of its arguments (a generator runs now).
                parts = [self.items(a) for a in node.args] + [self.value(k.value) for k in node.keywords]
                verdict = _worst(parts)
                return verdict if isinstance(verdict, Hazard) else OWNED
            if all(matches_any(n, ITEM_RESULTS) for n in names) and node.args:
                return _items_of(self.value(node.args[0]))
        elif isinstance(func, ast.Name) and self.is_class(func):
            # A class of the module, made here: owned; it holds its arguments.
            verdict = _worst([_contained(self.value(a)) for a in [*node.args, *(k.value for k in node.keywords)]])
            return verdict if isinstance(verdict, Hazard) else OWNED
        elif isinstance(func, ast.Attribute):
            maker = self.maker_type(node)
            if maker is not None and maker.thread_safe:
                return OWNED  # a new object of one that threads may share (``self.pool.cursor()``)
            receiver = self.value(func.value)
            if maker is not None and isinstance(receiver, Hazard) and receiver.why not in _AFFINE_REASONS:
                return receiver  # a new object that uses its maker (a cursor, its connection)
            if isinstance(receiver, Hazard) and receiver.why in _AFFINE_REASONS:
                # ``conn.cursor()``; ``loop.create_future()`` gives an asyncio object
                why = THREAD_AFFINE["asyncio.Future"] if func.attr in LOOP_FACTORIES else receiver.why
                return self.at(node, why, True)
            if receiver in (IMMUTABLE, OWNED):
                return OWNED  # ``s.split()``, ``d.get(k)``: new values, or items of an owned object
        return self.at(node, UNKNOWN_RESULT, False)

    def is_class(self, name: ast.Name) -> bool:
        bindings = self.confinement.scope(name)[name.id]
        return bool(bindings) and all(isinstance(b.node, ast.ClassDef) for b in bindings)

    def attribute(self, node: ast.Attribute) -> Verdict:
        base = node.value
        if isinstance(base, ast.Name):
            bindings = self.confinement.scope(base)[base.id]
            if bindings and all(b.is_import for b in bindings):
                return self.module_attribute(node, bindings)
            if self.confinement.is_enum(base):
                return IMMUTABLE
            if bindings and all(isinstance(b.node, ast.ClassDef) for b in bindings):
                return self.at(node, ATTRIBUTE, True)  # a class attribute
        verdict = self.value(base)
        if verdict in (IMMUTABLE, OWNED):
            return verdict
        assert isinstance(verdict, Hazard)
        if verdict.why in _AFFINE_REASONS or verdict.why in (UNKNOWN_RESULT, UNKNOWN):
            return verdict  # ``conn.total_changes``; an attribute of a call's result: as unknown as it
        if verdict.why == IMPORTED:
            return self.at(node, IMPORTED, False)
        return self.at(node, ATTRIBUTE, True)

    def module_attribute(self, node: ast.Attribute, bindings: list[Binding]) -> Verdict:
        names = self.confinement.names(node)
        if names & set(SHARED_MODULE_STATE):
            return self.at(node, PROCESS_STATE, True)
        if all(isinstance(b.node, ast.Import) for b in bindings) and names and all(
            n.split(".")[0] in _STDLIB for n in names
        ):
            return IMMUTABLE  # ``subprocess.PIPE``, ``logging.DEBUG``: constants, functions, classes
        return self.at(node, IMPORTED, False)

    # -- names ------------------------------------------------------------------------

    def name(self, node: ast.Name) -> Verdict:
        bindings = self.confinement.scope(node)[node.id]
        if not bindings:
            return Hazard(node.id, UNKNOWN, certain=False)
        verdicts = [self.binding(b) for b in bindings]
        verdict = _worst(verdicts)
        if verdict == OWNED:
            escape = self.escape(node.id, bindings)
            if escape is not None:
                return Hazard(node.id, escape, certain=True)
            return self.filled(node.id, bindings)
        return verdict

    def binding(self, binding: Binding) -> Verdict:
        node = binding.node
        if node is None or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return IMMUTABLE  # a builtin, or code
        key = id(node)
        self.footprints[-1].add(key)
        if key in self.visiting:
            return IMMUTABLE  # ``x = x + [1]``: the other bindings decide
        known = self.bindings.get(binding)
        if known is not None and self.free(known[1]):
            self.footprints[-1] |= known[1]
            return known[0]
        self.visiting.add(key)
        self.footprints.append({key})
        try:
            verdict = self._binding(binding)
        finally:
            self.visiting.discard(key)
            footprint = self.footprints.pop()
            self.footprints[-1] |= footprint
        if self.free(footprint):
            self.bindings[binding] = (verdict, footprint)
        return verdict

    def _binding(self, binding: Binding) -> Verdict:
        node = binding.node
        assert node is not None
        if binding.scope.kind == "module":
            return self.module_binding(binding)
        if binding.is_import:
            return IMMUTABLE if isinstance(node, ast.Import) else Hazard(binding.name, IMPORTED, certain=False)
        if isinstance(node, ast.arg):
            return self.parameter(node, binding)
        if isinstance(node, ast.ExceptHandler):
            return OWNED
        if not self.in_site_function(binding) and binding.scope.kind == "function":
            return Hazard(binding.name, ENCLOSING, certain=False)
        if isinstance(node, ast.Name):
            return self.bound_value(node)
        return Hazard(binding.name, UNKNOWN, certain=False)

    def in_site_function(self, binding: Binding) -> bool:
        """Whether the name is bound in the function that holds the site."""
        return binding.scope.node is self.function_of(self.site)

    def function_of(self, node: ast.AST) -> ast.AST | None:
        parent = self.parents.get(node)
        while parent is not None and not isinstance(parent, _FUNCTIONS):
            parent = self.parents.get(parent)
        return parent

    def module_binding(self, binding: Binding) -> Verdict:
        node = binding.node
        if binding.is_import:
            return IMMUTABLE if isinstance(node, ast.Import) else Hazard(binding.name, IMPORTED, certain=False)
        if self.confinement.constants.module_kind(binding.name) is not None:
            return IMMUTABLE  # a constant, a path, a logger, never rebound
        return Hazard(binding.name, MODULE_VARIABLE, certain=True)

    def parameter(self, node: ast.arg, binding: Binding) -> Verdict:
        verdict = self.annotation(node.annotation) if node.annotation is not None else None
        if isinstance(verdict, str) and verdict in _AFFINE_REASONS:
            return Hazard(binding.name, verdict, certain=True)
        if verdict == IMMUTABLE:
            arguments = self.parents.get(node)
            # ``**options: str`` is a new dict of str; ``*names: str`` a tuple of str.
            return OWNED if isinstance(arguments, ast.arguments) and node is arguments.kwarg else IMMUTABLE
        return Hazard(binding.name, PARAMETER, certain=False)

    def annotation(self, node: ast.expr) -> str | None:
        """``IMMUTABLE`` for ``str``, ``Path | None``, ``tuple[str, ...]``, ``Literal[...]``;
        the reason for a thread-bound type; ``None`` for anything else."""
        if isinstance(node, ast.Constant) and node.value in (None, Ellipsis):
            return IMMUTABLE
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            parts = {self.annotation(node.left), self.annotation(node.right)}
            return parts.pop() if len(parts) == 1 else None
        if isinstance(node, ast.Subscript):
            names = self.confinement.names(node.value)
            if names and names <= {"typing.Literal"}:
                return IMMUTABLE
            if not names or not names <= {"typing.Optional", "typing.Union", "builtins.tuple", "typing.Tuple",
                                          "builtins.frozenset", "typing.FrozenSet"}:
                return None
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            parts = {self.annotation(e) for e in elements}
            return IMMUTABLE if parts == {IMMUTABLE} else None
        if isinstance(node, (ast.Name, ast.Attribute)):
            names = self.confinement.names(node)
            if names and all(n in THREAD_AFFINE for n in names):
                return THREAD_AFFINE[sorted(names)[0]]
            if (names and all(matches_any(n, IMMUTABLE_ANNOTATIONS) for n in names)) or self.confinement.is_enum(node):
                return IMMUTABLE
        return None

    def bound_value(self, target: ast.Name) -> Verdict:
        """The value a binding ``Name`` (a target) receives."""
        node: ast.AST = target
        unpacked = False
        parent = self.parents.get(node)
        while isinstance(parent, (ast.Tuple, ast.List, ast.Starred)):
            unpacked = True
            node, parent = parent, self.parents.get(parent)
        value: Verdict
        if isinstance(parent, ast.Assign):
            value = self.value(parent.value)
        elif isinstance(parent, ast.AnnAssign):
            value = self.value(parent.value) if parent.value is not None else IMMUTABLE
        elif isinstance(parent, ast.AugAssign):
            return _items_of(self.value(parent.value))  # ``x += y``: y's items join x
        elif isinstance(parent, ast.NamedExpr):
            value = self.value(parent.value)
        elif isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)):
            return self.items(parent.iter)
        elif isinstance(parent, ast.withitem):
            value = self.value(parent.context_expr)
        else:
            return Hazard(target.id, UNKNOWN, certain=False)
        return _items_of(value) if unpacked else value

    # -- escapes ----------------------------------------------------------------------

    def escape(self, name: str, bindings: list[Binding]) -> str | None:
        """How an object the coroutine made under ``name`` may have reached other tasks
        before the site (or anywhere in a loop around it), if it may have."""
        function = self.function_of(self.site)
        if function is None or any(b.scope.node is not function for b in bindings):
            return None
        self.footprints[-1].add(name)
        if name in self.escaping:
            return None
        self.escaping.add(name)
        try:
            return self._escape(name, bindings, function)
        finally:
            self.escaping.discard(name)

    def reads_before(self, name: str, function: ast.AST) -> Iterator[tuple[ast.Name, list[ast.AST]]]:
        """The reads of ``name`` in ``function`` that may run before the site (earlier, or
        anywhere in a loop around it), with their ancestors."""
        site_loops = {id(a) for a in self.ancestors(self.site, function) if isinstance(a, _LOOPS)}
        site_at = (getattr(self.site, "lineno", 0), getattr(self.site, "col_offset", 0))
        for node in self.confinement.loads(function).get(name, ()):
            if id(node) in self.inside_site:
                continue
            ancestors = self.ancestors(node, function)
            if (node.lineno, node.col_offset) < site_at or any(id(a) in site_loops for a in ancestors):
                yield node, ancestors

    def filled(self, name: str, bindings: list[Binding]) -> Verdict:
        """An owned container, with what the coroutine put into it before the site
        (``payload["state"] = self.state``, ``rows.append(row)``)."""
        function = self.function_of(self.site)
        if function is None or any(b.scope.node is not function for b in bindings):
            return OWNED
        parts: list[Verdict] = [OWNED]
        for node, _ in self.reads_before(name, function):
            holder = self.parents.get(node)
            if isinstance(holder, (ast.Subscript, ast.Attribute)) and isinstance(holder.ctx, ast.Store):
                statement = self.parents.get(holder)
                if isinstance(statement, ast.Assign):
                    parts.append(_contained(self.value(statement.value)))
            elif isinstance(holder, ast.Attribute) and holder.attr in MUTATORS:
                call = self.parents.get(holder)
                if isinstance(call, ast.Call) and call.func is holder:
                    parts += [_contained(self.value(a)) for a in [*call.args, *(k.value for k in call.keywords)]]
        return _worst(parts)

    def _escape(self, name: str, bindings: list[Binding], function: ast.AST) -> str | None:
        for node, ancestors in self.reads_before(name, function):
            functions = [a for a in ancestors if isinstance(a, _FUNCTIONS)]
            if functions and not (len(functions) == 1 and self.is_offload(functions[0])):
                if self.confinement.scope(node)[name] == bindings:
                    return ("an object the coroutine made, but a nested function or lambda captured it before the "
                            "thread starts")
                continue
            how = self.use(node)
            if how is not None:
                return f"an object the coroutine made, but {how} before the thread starts, so other tasks may reach it"
        return None

    def is_offload(self, function: ast.AST) -> bool:
        """``lambda: f(obj)`` run by ``asyncio.to_thread`` (an earlier fix's chain): it reads
        ``obj`` as ``f(obj)`` did before the fix, when the lambda runs, at once."""
        call = self.parents.get(function)
        if not (isinstance(function, ast.Lambda) and no_parameters(function.args) and isinstance(call, ast.Call)
                and call.args and call.args[0] is function):
            return False
        runners = self.confinement.names(call.func)
        return bool(runners) and runners <= THREAD_RUNNER_NAMES

    def ancestors(self, node: ast.AST, stop: ast.AST) -> list[ast.AST]:
        return ancestors_of(self.parents, node, stop)

    def use(self, node: ast.expr) -> str | None:
        """How a read of an owned object hands it on, if it does (``self.x = obj``, ``f(obj)``)."""
        child: ast.AST = node
        parent = self.parents.get(child)
        while isinstance(parent, (*_DISPLAYS, ast.Dict, ast.Starred, ast.keyword, ast.IfExp, ast.BoolOp)):
            child, parent = parent, self.parents.get(parent)
        if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and child is parent.value:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            for target in targets:
                if isinstance(target, (ast.Attribute, ast.Subscript)):
                    return f"it was stored in `{self.text(target)}`"
                if isinstance(target, ast.Name):
                    bindings = self.confinement.scope(target)[target.id]
                    if any(b.scope.kind == "module" for b in bindings):
                        return f"it was stored in the global `{target.id}`"
                    escape = self.escape(target.id, bindings) if target.id != getattr(node, "id", None) else None
                    if escape is not None:
                        return f"it is held by `{target.id}`, which is {escape.split(', ', 1)[0]}"
            return None
        if isinstance(parent, ast.Call) and child is not parent.func:
            func = parent.func
            names = self.confinement.names(func)
            if names and all(
                matches_any(n, IMMUTABLE_RESULTS) or matches_any(n, COPIES) or matches_any(n, FRESH_RESULTS)
                or (matches_any(n, THREAD_SAFE) and not matches_any(n, LAZY_VIEWS) and n != "builtins.getattr")
                for n in names
            ):
                return None  # reads it and keeps nothing of it
            if isinstance(func, ast.Attribute) and func.attr in LOGGER_METHODS:
                return None  # logged: formatted now (``logger.info("%s", rows)``)
            if isinstance(func, ast.Attribute) and self.value(func.value) in (IMMUTABLE, OWNED):
                return None  # into another object the coroutine owns (``rows.append(row)``)
            if names and names <= THREAD_RUNNER_NAMES and parent.args:
                func = parent.args[0]  # ``to_thread(f, obj)`` hands it to ``f``, as ``f(obj)`` did before a fix
            return f"it was handed to `{self.text(func)}()`"
        if isinstance(parent, (ast.Yield, ast.YieldFrom)):
            return "it was yielded"
        return None

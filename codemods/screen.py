"""A fast look with CPython's ``ast`` before libcst: which coroutines can have findings?

libcst's parse and scope analysis cost far more than CPython's ``ast``. Most modules
with coroutines call nothing from the catalog inside them, and most functions of a
module that does are not coroutines with such calls. One pass over the ``ast`` answers:

- ``needed``: can any coroutine call something in the catalog? If not, the module is
  returned as it is, unparsed by libcst.
- ``stubs``: the definitions (functions and classes outside any coroutine) that cannot
  matter to any finding but through the name they bind, which ``codemods.focus``
  shrinks to ``def name(): pass`` before libcst sees the module.

The screen only ever answers "maybe" or "certainly not": it over-approximates what the
detector can match (no scopes, every import anywhere, every name assigned from an
expression that mentions an imported name), so it never changes a result, only how fast
it comes. The fixture suite runs through it, and a test compares its results with runs
without it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class ScreenNames:
    """What the catalog can match: top-level modules, and builtins by bare name."""

    modules: frozenset[str]
    builtins: frozenset[str]

    @classmethod
    def from_qualnames(cls, qualnames: Iterable[str]) -> ScreenNames:
        modules: set[str] = set()
        builtins: set[str] = set()
        for name in qualnames:
            root, _, rest = name.partition(".")
            modules.add(root)  # ``import builtins; builtins.open(...)`` too
            if root == "builtins":
                builtins.add(rest.split(".")[0])
        return cls(frozenset(modules), frozenset(builtins))


@dataclass(frozen=True)
class Stub:
    """A definition that no finding depends on but through its name: it spans lines
    ``first``..``last`` (1-based) from byte ``column`` of line ``first`` (decorators
    excluded), and ``replacement`` (``def name(): pass``) binds the same name."""

    first: int
    column: int
    last: int
    replacement: str


@dataclass(frozen=True)
class Screen:
    needed: bool
    stubs: list[Stub] = field(default_factory=list)


#: The screen's answer when CPython cannot parse the module: let libcst try, in full.
UNSCREENED = Screen(needed=True)


def parse(source: bytes) -> ast.Module | None:
    """CPython's tree of ``source``; ``None`` when CPython cannot build it (libcst then
    parses the file and reports the problem)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeDecodeError):
        return None


def may_need_transform(tree: ast.Module | None, names: ScreenNames) -> bool:
    """False only when no coroutine in ``tree`` (from ``parse``) can call anything in
    the catalog."""
    return screen(tree, names).needed


@dataclass(eq=False)
class _Body:
    """A function, lambda or class body met during the walk.

    A *unit* is a ``def``, ``async def`` or ``class`` that is not inside a coroutine:
    the pieces the focus pass may replace whole. Everything inside a coroutine belongs
    to the coroutine's unit, because the analysis of a coroutine may look into the code
    nested in it (a ``with open`` block holding a ``def``, say).
    """

    node: ast.AST
    #: The unit this body is part of (itself, for a unit); ``None`` at module level.
    unit: _Body | None
    #: For a unit: the unit it is defined in, if any.
    parent: _Body | None
    is_coroutine: bool
    #: Whether the unit must be kept as it is (set on units only).
    keep: bool = False

    def keep_unit(self) -> None:
        """Keep this body's unit, and the units around it."""
        unit = self.unit
        while unit is not None and not unit.keep:
            unit.keep = True
            unit = unit.parent


_BODIES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_ESCAPES = (ast.Global, ast.Nonlocal)


def screen(tree: ast.Module | None, names: ScreenNames) -> Screen:
    """Walk ``tree`` once; see the module docstring."""
    if tree is None:
        return UNSCREENED
    interesting: set[str] = set(names.builtins)
    everything = False  # a star import from a catalog module: any name may be one
    bindings: list[tuple[list[str], set[str]]] = []
    coroutine_calls: list[tuple[str, _Body]] = []
    units: list[_Body] = []
    has_coroutine = False
    module = _Body(tree, None, None, False)
    # Each entry: a node, the body whose code it is, the bindings whose value it is in.
    stack: list[tuple[ast.AST, _Body, tuple[set[str], ...]]] = [(tree, module, ())]
    while stack:
        node, owner, mentions = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            for mentioned in mentions:
                mentioned.add(node.id)  # type: ignore[attr-defined]
            continue
        if kind is ast.Constant:
            continue
        if kind is ast.Call:
            root = _root(node.func)  # type: ignore[attr-defined]
            if root is not None and owner.is_coroutine:
                coroutine_calls.append((root, owner))
        elif isinstance(node, _BODIES):
            body = _Body(node, owner.unit, None, kind is ast.AsyncFunctionDef)
            if kind is not ast.Lambda and (owner.unit is None or not owner.unit.is_coroutine):
                body.unit, body.parent = body, owner.unit
                units.append(body)
            has_coroutine = has_coroutine or body.is_coroutine
            # Decorators, defaults, annotations and bases run where the body is defined.
            for part in _evaluated_at_definition(node):
                stack.append((part, owner, mentions))
            for argument in _arguments(node):
                if argument.annotation is not None:
                    stack.append((argument.annotation, owner, (*mentions, _bind(bindings, [argument.arg]))))
            if kind is ast.Lambda:
                stack.append((node.body, body, mentions))  # type: ignore[attr-defined]
            else:
                stack.extend((statement, body, ()) for statement in node.body)  # type: ignore[attr-defined]
            continue
        elif kind is ast.Assign:
            targets = [name for target in node.targets for name in _bound_names(target)]  # type: ignore[attr-defined]
            stack.extend((target, owner, mentions) for target in node.targets)  # type: ignore[attr-defined]
            stack.append((node.value, owner, (*mentions, _bind(bindings, targets))))  # type: ignore[attr-defined]
            continue
        elif kind is ast.AnnAssign:
            if isinstance(node.target, ast.Name):  # type: ignore[attr-defined]
                mentions = (*mentions, _bind(bindings, [node.target.id]))  # type: ignore[attr-defined]
        elif kind is ast.withitem:
            if node.optional_vars is not None:  # type: ignore[attr-defined]
                targets = _bound_names(node.optional_vars)  # type: ignore[attr-defined]
                stack.append((node.optional_vars, owner, mentions))  # type: ignore[attr-defined]
                stack.append((node.context_expr, owner, (*mentions, _bind(bindings, targets))))  # type: ignore[attr-defined]
                continue
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                root = alias.name.split(".")[0]
                if root in names.modules:
                    interesting.add(alias.asname or root)
            continue
        elif kind is ast.ImportFrom:
            if node.level == 0 and node.module and node.module.split(".")[0] in names.modules:  # type: ignore[attr-defined]
                for alias in node.names:  # type: ignore[attr-defined]
                    if alias.name == "*":
                        everything = True
                    interesting.add(alias.asname or alias.name)
            continue
        elif isinstance(node, _ESCAPES):
            owner.keep_unit()  # it rebinds names outside its own scope
            continue
        for name in _child_fields(kind):
            value = getattr(node, name)
            if type(value) is list:
                stack.extend((item, owner, mentions) for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                stack.append((value, owner, mentions))
    if not has_coroutine:
        return Screen(needed=False)
    _grow(interesting, bindings)
    needed = False
    for root, owner in coroutine_calls:
        if everything or root in interesting:
            needed = True
            owner.keep_unit()
    if not needed:
        return Screen(needed=False)
    return Screen(
        True, [_stub_of(unit.node) for unit in units if not unit.keep and (unit.parent is None or unit.parent.keep)]
    )


def _bound_names(target: ast.AST) -> list[str]:
    """The plain names an assignment target binds (``a``, ``a, (b, *c)``)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _bound_names(element)]
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return []  # ``a.b`` or ``a[i]``: no name is bound


#: Fields that never hold a node worth visiting: contexts, operators, and plain values.
_LEAF_FIELDS = frozenset(
    {"ctx", "op", "ops", "type_comment", "kind", "conversion", "is_async", "level", "simple", "lineno", "tag",
     "name", "id", "attr", "arg", "module", "asname", "names", "n", "s"}
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(
            name for name in kind._fields if name not in _LEAF_FIELDS  # type: ignore[attr-defined]
        )
    return fields


def _bind(bindings: list[tuple[list[str], set[str]]], targets: list[str]) -> set[str]:
    """Record a binding of ``targets``; returns the set that collects what its value mentions."""
    mentioned: set[str] = set()
    bindings.append((targets, mentioned))
    return mentioned


def _grow(interesting: set[str], bindings: list[tuple[list[str], set[str]]]) -> None:
    """Names that may hold objects of blocking types: bound from an expression that
    mentions an interesting name. Repeat until nothing new appears."""
    remaining = bindings
    while True:
        fired = [targets for targets, mentioned in remaining if not mentioned.isdisjoint(interesting)]
        if not fired:
            return
        remaining = [(t, m) for t, m in remaining if m.isdisjoint(interesting)]
        for targets in fired:
            interesting.update(targets)


def _stub_of(node: ast.AST) -> Stub:
    name = node.name  # type: ignore[attr-defined]
    replacement = f"class {name}: pass" if isinstance(node, ast.ClassDef) else f"def {name}(): pass"
    end = node.end_lineno if node.end_lineno is not None else node.lineno  # type: ignore[attr-defined]
    return Stub(node.lineno, node.col_offset, end, replacement)  # type: ignore[attr-defined]


def _arguments(node: ast.AST) -> list[ast.arg]:
    arguments = getattr(node, "args", None)
    if not isinstance(arguments, ast.arguments):
        return []
    found = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    found.extend(a for a in (arguments.vararg, arguments.kwarg) if a is not None)
    return found


def _evaluated_at_definition(node: ast.AST) -> list[ast.AST]:
    parts: list[ast.AST] = list(getattr(node, "decorator_list", []))
    arguments = getattr(node, "args", None)
    if isinstance(arguments, ast.arguments):
        parts.extend(d for d in (*arguments.defaults, *arguments.kw_defaults) if d is not None)
    returns = getattr(node, "returns", None)
    if returns is not None:
        parts.append(returns)
    parts.extend(getattr(node, "bases", []))
    parts.extend(keyword.value for keyword in getattr(node, "keywords", []))
    return parts


def _root(func: ast.AST) -> str | None:
    """``a`` for ``a.b.c``, ``a.b().c``, ``a(x).c`` and ``(a / "x").c``: the name a call
    chain starts from."""
    while True:
        if isinstance(func, ast.Attribute):
            func = func.value
        elif isinstance(func, ast.Call):
            func = func.func
        elif isinstance(func, ast.BinOp):
            func = func.left
        elif isinstance(func, ast.Name):
            return func.id
        else:
            return None

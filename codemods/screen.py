"""A fast screen run before libcst: can this module contain a catalog call in a coroutine?

libcst's parse and scope analysis cost far more than CPython's ``ast``. Most modules
with coroutines call nothing from the catalog inside them, so a quick look with ``ast``
skips them. The screen only ever answers "maybe" or "certainly not": it over-approximates
what the detector can match (no scopes, every import anywhere, every name assigned from
an expression that mentions an imported name), so it never changes a result, only how
fast it comes. The fixture suite runs through it, which checks that.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
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


def may_need_transform(source: bytes, names: ScreenNames) -> bool:
    """False only when no coroutine in ``source`` can call anything in the catalog."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeDecodeError):
        return True  # let libcst parse it and report
    coroutines = [node for node in ast.walk(tree) if isinstance(node, ast.AsyncFunctionDef)]
    if not coroutines:
        return False
    interesting = set(names.builtins)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in names.modules:
                    interesting.add(alias.asname or root)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in names.modules:
                for alias in node.names:
                    if alias.name == "*":
                        return True
                    interesting.add(alias.asname or alias.name)
    if not interesting:
        return False
    # Names that may hold objects of blocking types: assigned (or annotated) from an
    # expression that mentions an interesting name. Repeat until nothing new appears.
    bindings = list(_bindings(tree))
    while True:
        grown = {
            target
            for targets, source_expression in bindings
            if _mentions(source_expression, interesting)
            for target in targets
        } - interesting
        if not grown:
            break
        interesting |= grown
    return any(
        isinstance(node, ast.Call) and _root(node.func) in interesting
        for coroutine in coroutines
        for statement in coroutine.body
        for node in _walk_coroutine_code(statement)
    )


_NOT_COROUTINE_CODE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _walk_coroutine_code(node: ast.AST) -> Iterable[ast.AST]:
    """Nodes that run as part of the coroutine: not the bodies of nested functions,
    lambdas or classes (nested coroutines are screened on their own), but their
    decorators, defaults and bases, which do run there."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, _NOT_COROUTINE_CODE):
            stack.extend(_evaluated_at_definition(current))
        else:
            stack.extend(ast.iter_child_nodes(current))


def _evaluated_at_definition(node: ast.AST) -> list[ast.AST]:
    parts: list[ast.AST] = list(getattr(node, "decorator_list", []))
    arguments = getattr(node, "args", None)
    if isinstance(arguments, ast.arguments):
        parts.extend(d for d in (*arguments.defaults, *arguments.kw_defaults) if d is not None)
    parts.extend(getattr(node, "bases", []))
    parts.extend(keyword.value for keyword in getattr(node, "keywords", []))
    return parts


def _bindings(tree: ast.AST) -> Iterable[tuple[list[str], ast.AST]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            yield [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)], node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            yield [node.target.id], node.annotation
            if node.value is not None:
                yield [node.target.id], node.value
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            yield [n.id for n in ast.walk(node.optional_vars) if isinstance(n, ast.Name)], node.context_expr
        elif isinstance(node, ast.arg) and node.annotation is not None:
            yield [node.arg], node.annotation


def _mentions(expression: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(expression))


def _root(func: ast.AST) -> str | None:
    """``a`` for ``a.b.c``, ``a.b().c`` and ``a(x).c``: the name a call chain starts from."""
    while True:
        if isinstance(func, ast.Attribute):
            func = func.value
        elif isinstance(func, ast.Call):
            func = func.func
        elif isinstance(func, ast.Name):
            return func.id
        else:
            return None

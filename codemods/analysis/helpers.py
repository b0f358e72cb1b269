"""Blocking calls behind the module's own sync functions and methods (LS301).

A coroutine rarely calls ``open()`` itself; it calls ``load_config()``, which does. A call
in a coroutine to a module-level ``def`` (resolved through the scopes, never by
spelling: a parameter or local of that name is not the function), or to a sync method
of the class through ``self.`` / ``cls.`` in one of its methods, is reported when the
function's body, or a function of the module it calls, calls something in the catalog.
The chain is in the message: ``through load_config() -> read_settings() -> builtins.open()``.
Recursion is handled; a function whose ``def`` line says ``# loopsafe: ignore`` (or
``# noqa: LS301``) is taken at its word. Report only: whether a function is safe to run
in a thread is a question about everything it touches.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator

from codemods.analysis.bindings import ModuleScopes, Scope
from codemods.analysis.comments import Comments, suppressed_by_comment
from codemods.analysis.detector import Detector
from codemods.catalog import CATEGORIES

CODE = CATEGORIES["helper"][0]
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


@dataclass(frozen=True)
class Chain:
    """How a function reaches a blocking call: the functions on the way, then the call."""

    functions: tuple[str, ...]
    blocking: str

    def describe(self) -> str:
        steps = " -> ".join(f"{name}()" for name in (*self.functions, self.blocking))
        # No line number: a fix elsewhere in the file moves it, and the message must not change.
        return f"through {steps}; run it with asyncio.to_thread if all it touches is safe in a thread"


class ModuleHelpers:
    """The module-level sync functions of one module, and the chains they block through."""

    def __init__(
        self, tree: ast.Module, scopes: ModuleScopes, detector: Detector, comments: Comments,
        declared: frozenset[str] = frozenset(),
    ) -> None:
        """``declared``: names of functions the configuration says do not block."""
        self.scopes = scopes
        self.declared = declared
        self.detector = detector
        self.comments = comments
        self.functions = {s for s in tree.body if isinstance(s, ast.FunctionDef)}
        #: Class -> its sync methods by name (``self.save()`` in a method of the class),
        #: made for the classes whose methods are called so.
        self.methods: dict[ast.ClassDef, dict[str, ast.FunctionDef]] = {}
        self._chains: dict[ast.FunctionDef, Chain | None] = {}
        self._visiting: set[ast.FunctionDef] = set()

    def called(self, call: ast.Call, scope: Scope) -> ast.FunctionDef | None:
        """The module-level sync function ``call`` certainly calls (every binding of its
        name is that ``def``), or the sync method of the class ``self.m()`` / ``cls.m()``
        names in one of the class's own methods."""
        if isinstance(call.func, ast.Attribute):
            return self._method_called(call.func, scope)
        if not isinstance(call.func, ast.Name) or not self.functions:
            return None
        bindings = scope[call.func.id]
        nodes = {binding.node for binding in bindings}
        if len(nodes) != 1:
            return None
        node = nodes.pop()
        return node if isinstance(node, ast.FunctionDef) and node in self.functions else None

    def _method_called(self, func: ast.Attribute, scope: Scope) -> ast.FunctionDef | None:
        """``self.save()`` in a method of class C: C's own sync ``save`` (the method an
        instance of C runs, unless a subclass overrides it)."""
        receiver = func.value
        method = scope.node
        if not isinstance(receiver, ast.Name) or not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        owner = scope.parent
        arguments = [*method.args.posonlyargs, *method.args.args]
        if owner.kind != "class" or not isinstance(owner.node, ast.ClassDef) or not arguments:
            return None
        if arguments[0].arg != receiver.id or any(isinstance(d, ast.Name) and d.id == "staticmethod"
                                                   for d in method.decorator_list):
            return None
        if {binding.node for binding in scope.bindings_of(receiver.id)} != {arguments[0]}:
            return None  # ``self`` rebound in the method: not certainly the instance
        methods = self.methods.get(owner.node)
        if methods is None:
            methods = {s.name: s for s in owner.node.body if isinstance(s, ast.FunctionDef)}
            self.methods[owner.node] = methods
        found = methods.get(func.attr)
        if found is None or not all(
            isinstance(d, ast.Name) and d.id in ("classmethod", "staticmethod") for d in found.decorator_list
        ):
            return None  # a property, a cached or wrapped method: not what the call runs
        return found

    def chain(self, function: ast.FunctionDef) -> Chain | None:
        """How ``function`` blocks, if it does; ``None`` also while it is being looked at
        (recursion adds nothing)."""
        if function in self._chains:
            return self._chains[function]
        if function in self._visiting:
            return None
        self._visiting.add(function)
        try:
            found = None if self._declared_safe(function) else self._first_blocking(function)
        finally:
            self._visiting.discard(function)
        self._chains[function] = found
        return found

    def _declared_safe(self, function: ast.FunctionDef) -> bool:
        return function.name in self.declared or suppressed_by_comment(self.comments.of_statement(function), CODE)

    def _first_blocking(self, function: ast.FunctionDef) -> Chain | None:
        for call in _calls_in(function):
            scope = self.scopes.scope_of(call.func)
            match = self.detector.match(call, scope)
            if match is not None and match.reason is None and match.entry.category != "process-start":
                return Chain((function.name,), match.entry.qualname)
            callee = self.called(call, scope)
            inner = self.chain(callee) if callee is not None else None
            if inner is not None:
                return Chain((function.name, *inner.functions), inner.blocking)
        return None


def _calls_in(function: ast.FunctionDef) -> Iterator[ast.Call]:
    """The calls the function's own body makes, in order (not those of nested scopes)."""
    pending: list[ast.AST] = list(reversed(function.body))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Call):
            yield node
        if isinstance(node, _SCOPES):
            # Decorators and defaults run here; the body runs elsewhere, later.
            pending.extend(reversed([*getattr(node, "decorator_list", ()), *_defaults(node)]))
            continue
        pending.extend(reversed(list(ast.iter_child_nodes(node))))


def _defaults(node: ast.AST) -> list[ast.expr]:
    arguments = getattr(node, "args", None)
    if not isinstance(arguments, ast.arguments):
        return []
    return [d for d in [*arguments.defaults, *arguments.kw_defaults] if d is not None]

"""Types of receivers a coroutine does not bind itself: attributes of the module's classes
(``self.http = requests.Session()`` in ``__init__``, ``session: requests.Session`` in the
class body) and what the module's functions, methods and properties return
(``def make() -> requests.Session``, ``@property def sess(self) -> requests.Session``), and
through ``imported`` what functions of the project's other modules return.

Read on ``ast``, once per module and class, when first asked. An attribute is typed only
when everything that may bind it agrees: the class body and the methods of the class, of
its bases and of its subclasses defined in the module, and every store of an attribute of
that name on anything else in the module (``bot.http = fake``); ``None`` agrees with any
type (a call on it fails at the same point, before and after a fix). A name the class also
binds as a method, or deletes, or sets through ``setattr``/``__dict__``, is not typed.
Annotations are trusted as parameters' are. Bases defined outside the module are not seen.
"""

from __future__ import annotations

import ast
from collections import deque
from typing import Callable, Iterator, Protocol

from codemods.analysis.flow import child_nodes
from codemods.analysis.bindings import ModuleScopes, Scope, resolve
from codemods.catalog import BlockingType

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
#: Decorators that leave what a call of the function returns as its annotation says.
_PLAIN_DECORATORS = frozenset({"builtins.staticmethod", "builtins.classmethod", "functools.cache",
                               "functools.lru_cache"})
_STATIC = "builtins.staticmethod"
#: Methods that change what storing or reading an attribute does.
_CUSTOM_ACCESS = frozenset({"__setattr__", "__getattribute__", "__delattr__"})
_PROPERTIES = frozenset({"builtins.property", "functools.cached_property"})
#: Stands for "no binding says anything" in a set of kinds: ``None`` assigned.
_NEUTRAL = "neutral"


class Typer(Protocol):
    """What the detector knows of expressions (``codemods.analysis.detector.Detector``)."""

    def value_type(self, value: ast.expr, scope: Scope) -> BlockingType | None: ...

    def annotated_type(self, annotation: ast.expr, scope: Scope) -> BlockingType | None: ...


class ModuleReceivers:
    """The typed attributes and return annotations of one module's classes and functions."""

    def __init__(self, tree: ast.Module, scopes: ModuleScopes, typer: Typer) -> None:
        self.tree = tree
        self.scopes = scopes
        self.typer = typer
        self._classes: list[ast.ClassDef] | None = None
        self._bases: dict[ast.ClassDef, list[ast.ClassDef]] = {}
        #: Attribute name -> stores (and deletes) of it anywhere in the module, with the
        #: class of the method whose first parameter the store's base is (``None``: another object).
        self._stores: dict[str, list[tuple[ast.AST, ast.ClassDef | None]]] = {}
        #: Attribute name -> (the statement or call that stores it, the object it is stored on).
        self._raw_stores: dict[str, list[tuple[ast.AST, ast.expr]]] = {}
        #: Objects whose attributes are set by a name loopsafe cannot read (``setattr(o, name, v)``).
        self._exposed: list[ast.expr] = []
        #: First parameter of a method -> its class.
        self._receivers: dict[ast.AST, ast.ClassDef] = {}
        #: Classes whose attributes may be set by a name loopsafe cannot read.
        self._opaque: set[ast.ClassDef] = set()
        self._attributes: dict[tuple[ast.ClassDef, str], BlockingType | None] = {}
        self._returns: dict[ast.AST, BlockingType | None] = {}
        self._asking: set[object] = set()
        #: Node -> the node it is a child of (read with the stores).
        self._parents: dict[ast.AST, ast.AST] = {}
        #: What a call of a function of another module of the project returns, by its
        #: summary (set where the project is known: ``codemods.analysis.finder``).
        self.imported: Callable[[ast.Call, Scope], BlockingType | None] | None = None

    # -- the questions --------------------------------------------------------------------

    def attribute_type(self, node: ast.Attribute, scope: Scope) -> BlockingType | None:
        """``self.http`` / ``cls.session`` in a method of a class of the module."""
        if not isinstance(node.value, ast.Name):
            return None
        owner = self.instance_class(node.value, scope)
        if owner is None:
            return None
        return self._attribute(owner, node.attr)

    def returned_type(self, call: ast.Call, scope: Scope, awaited: bool = False) -> BlockingType | None:
        """``make()`` (a function of the module) or ``self.path()`` (a method of the
        class): what its return annotation names. ``awaited``: ``await make()`` of an
        ``async def``."""
        func = call.func
        if isinstance(func, ast.Name):
            bindings = scope[func.id]
            if len(bindings) == 1 and isinstance(bindings[0].node, _FUNCTIONS):
                return self._returned_by(bindings[0].node, awaited)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = self.instance_class(func.value, scope)
            if owner is not None:
                if self._assigned(owner, func.attr):
                    return None
                # The method an instance runs: the class's, a base's or a subclass's (in the module).
                definitions = [d for cls in self._lineage(owner) for d in self._definitions(cls, func.attr)]
                kinds = {self._returned_by(d, awaited) for d in definitions}
                return kinds.pop() if len(kinds) == 1 and definitions else None
        # ``make()`` imported from another module of the project, ``clients.make()``.
        return self.imported(call, scope) if self.imported is not None and not awaited else None

    def _returned_by(self, function: ast.AST, awaited: bool) -> BlockingType | None:
        if not isinstance(function, _FUNCTIONS) or awaited != isinstance(function, ast.AsyncFunctionDef):
            return None
        if not self._plain(function):
            return None
        return self._return_type(function)

    def instance_class(self, name: ast.Name, scope: Scope) -> ast.ClassDef | None:
        """The class whose method's first parameter ``name`` certainly is (``self``,
        ``cls``; also read in a function nested in the method)."""
        bindings = scope[name.id]
        if len(bindings) != 1 or not isinstance(bindings[0].node, ast.arg):
            return None
        method = bindings[0].scope.node
        if not isinstance(method, _FUNCTIONS):
            return None
        arguments = [*method.args.posonlyargs, *method.args.args]
        if not arguments or arguments[0] is not bindings[0].node:
            return None
        if self._decorated(method, _STATIC):
            return None
        owner = bindings[0].scope.parent
        return owner.node if owner.kind == "class" and isinstance(owner.node, ast.ClassDef) else None

    # -- attributes -----------------------------------------------------------------------

    def _attribute(self, owner: ast.ClassDef, attribute: str) -> BlockingType | None:
        key = (owner, attribute)
        if key not in self._attributes:
            if key in self._asking:
                return None  # ``self.a = self.b`` and ``self.b = self.a``: nothing certain
            self._asking.add(key)
            try:
                self._attributes[key] = self._read_attribute(owner, attribute)
            finally:
                self._asking.discard(key)
        return self._attributes[key]

    def _read_attribute(self, owner: ast.ClassDef, attribute: str) -> BlockingType | None:
        stores = self._stores_of(attribute)  # (first: it reads the module's parents too)
        lineage = self._lineage(owner)
        if any(cls in self._opaque for cls in lineage):
            return None
        definitions = [d for cls in lineage for d in self._definitions(cls, attribute)]
        if any(isinstance(d, _FUNCTIONS) for d in definitions):
            return self._property_type(owner, attribute, definitions)
        annotated: set[BlockingType | None] = set()
        kinds: set[BlockingType | str | None] = set()
        for definition in definitions:
            scope = self._scope_in(definition)
            if isinstance(definition, ast.AnnAssign) and isinstance(definition.target, ast.Name):
                annotated.add(self.typer.annotated_type(definition.annotation, scope))
                if definition.value is not None:
                    kinds.add(self._value_kind(definition.value, scope))
            elif isinstance(definition, ast.Assign) and all(isinstance(t, ast.Name) for t in definition.targets):
                kinds.add(self._value_kind(definition.value, scope))
            else:
                return None  # an import, a loop variable, ``+=``, a nested class...
        for store, method_owner in stores:
            if method_owner is not None and method_owner not in lineage:
                continue  # an attribute of another class's instances
            parent = store
            if isinstance(parent, ast.AnnAssign):
                annotated.add(self.typer.annotated_type(parent.annotation, self._scope_in(parent)))
                if parent.value is not None:
                    kinds.add(self._value_kind(parent.value, self._scope_in(parent)))
            elif isinstance(parent, ast.Assign) and all(not isinstance(t, (ast.Tuple, ast.List, ast.Starred))
                                                        for t in parent.targets):
                kinds.add(self._value_kind(parent.value, self._scope_in(parent)))
            else:
                return None  # deleted, ``+=``, unpacked, a loop or ``with`` target, ``setattr``
        if annotated:
            if len(annotated) != 1:
                return None
            declared = annotated.pop()
            # What an annotation declares, unless a value is certainly of another type.
            return declared if declared is not None and kinds <= {declared, _NEUTRAL, None} else None
        kinds.discard(_NEUTRAL)
        if len(kinds) != 1:
            return None
        found = kinds.pop()
        return found if isinstance(found, BlockingType) else None

    def _property_type(self, owner: ast.ClassDef, attribute: str, definitions: list[ast.AST]) -> BlockingType | None:
        """``@property def sess(self) -> requests.Session``: its annotation, when every
        definition of the name in the lineage is that property (its setter and deleter
        aside) and nothing stores the name."""
        if self._assigned(owner, attribute):
            return None
        getters = []
        for definition in definitions:
            if not isinstance(definition, ast.FunctionDef) or len(definition.decorator_list) != 1:
                return None
            decorator = definition.decorator_list[0]
            if self._decorator_names(definition, decorator) <= _PROPERTIES and not isinstance(decorator, ast.Call):
                getters.append(definition)
            elif not (isinstance(decorator, ast.Attribute) and decorator.attr in ("setter", "deleter")
                      and isinstance(decorator.value, ast.Name) and decorator.value.id == attribute):
                return None
        if not getters:
            return None
        kinds = {self._return_type(getter) for getter in getters}
        return kinds.pop() if len(kinds) == 1 else None

    def _assigned(self, owner: ast.ClassDef, attribute: str) -> bool:
        """Whether anything may store ``attribute`` on an instance of ``owner``'s lineage."""
        self._stores_of(attribute)
        lineage = self._lineage(owner)
        if any(cls in self._opaque for cls in lineage):
            return True
        return any(method_owner is None or method_owner in lineage for _, method_owner in self._stores_of(attribute))

    def _value_kind(self, value: ast.expr, scope: Scope) -> BlockingType | str | None:
        if isinstance(value, ast.Constant) and value.value is None:
            return _NEUTRAL
        return self.typer.value_type(value, scope)

    # -- functions --------------------------------------------------------------------------

    def _return_type(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> BlockingType | None:
        if function.returns is None:
            return None
        if function not in self._returns:
            self._returns[function] = self.typer.annotated_type(function.returns, self.scopes.scope_of(function))
        return self._returns[function]

    def _plain(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """Not a generator, and decorated (if at all) by what leaves its result alone."""
        return all(self._decorator_names(function, d) <= _PLAIN_DECORATORS for d in function.decorator_list) and not any(
            isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own_nodes(function)
        )

    def _decorator_names(self, function: ast.AST, decorator: ast.expr) -> set[str]:
        """What a decorator resolves to (``{"builtins.property"}``); ``{""}``: unknown."""
        names = resolve(decorator.func if isinstance(decorator, ast.Call) else decorator, self.scopes.scope_of(function))
        return names or {""}

    def _decorated(self, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
        return any(name in self._decorator_names(function, d) for d in function.decorator_list)

    # -- the module's classes -----------------------------------------------------------------

    def parents(self) -> dict[ast.AST, ast.AST]:
        """Each node of the module -> the node it is a child of."""
        self._all_classes()
        return self._parents

    def _all_classes(self) -> list[ast.ClassDef]:
        if self._classes is None:
            self._read_module()
            assert self._classes is not None
        return self._classes

    def _lineage(self, owner: ast.ClassDef) -> set[ast.ClassDef]:
        """The class, its bases and its subclasses defined in the module: the methods that
        may run on its instances, and the class bodies they read attributes from."""
        self._all_classes()
        found = {owner}
        pending = [owner]
        while pending:  # bases
            for base in self._bases.get(pending.pop(), []):
                if base not in found:
                    found.add(base)
                    pending.append(base)
        below = {owner}
        changed = True
        while changed:  # subclasses
            changed = False
            for cls, bases in self._bases.items():
                if cls not in below and any(base in below for base in bases):
                    below.add(cls)
                    changed = True
        return found | below

    def _definitions(self, cls: ast.ClassDef, name: str) -> list[ast.AST]:
        """What the class body binds to ``name`` (statements; ``def``s and classes)."""
        if not cls.body:
            return []
        scope = self.scopes.scope_of(cls.body[0])
        found: list[ast.AST] = []
        for binding in scope.bindings_of(name):
            node = binding.node
            if isinstance(node, ast.Name):  # an assignment target: its statement
                node = self._parents.get(node, node)
            found.append(node if node is not None else cls)
        return found

    def _stores_of(self, attribute: str) -> list[tuple[ast.AST, ast.ClassDef | None]]:
        """The stores of ``attribute`` in the module: the statement (or ``setattr`` call)
        and the class of the method whose first parameter it is stored on."""
        self._all_classes()
        found = self._stores.get(attribute)
        if found is None:
            found = self._stores[attribute] = [
                (statement, self._owner_of(base)) for statement, base in self._raw_stores.get(attribute, [])
            ]
        return found

    def _read_module(self) -> None:
        """One walk over the module: its classes, each node's parent, and the raw stores
        of attributes (their owners are resolved when an attribute is asked about)."""
        self._classes = []
        parents = self._parents
        pending: deque[ast.AST] = deque([self.tree])
        while pending:  # ``ast.walk``'s order, each node's children listed once
            node = pending.popleft()
            children = child_nodes(node)
            pending.extend(children)
            for child in children:
                parents[child] = node
            if isinstance(node, ast.ClassDef):
                self._classes.append(node)
            elif isinstance(node, ast.Attribute):
                if not isinstance(node.ctx, ast.Load):
                    self._raw_stores.setdefault(node.attr, []).append((parents.get(node, node), node.value))
                elif node.attr == "__dict__":
                    self._exposed.append(node.value)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
                named = node.args[1] if len(node.args) > 1 else None
                if isinstance(named, ast.Constant) and isinstance(named.value, str):
                    self._raw_stores.setdefault(named.value, []).append((node, node.args[0]))
                elif node.args:
                    self._exposed.append(node.args[0])
        for cls in self._classes:
            self._bases[cls] = []
            self._walk_around(cls)  # (a class in a function: lazy scopes)
            scope = self.scopes.scope_of(cls)
            for base in cls.bases:
                if isinstance(base, ast.Name):
                    bindings = scope[base.id]
                    if len(bindings) == 1 and isinstance(bindings[0].node, ast.ClassDef):
                        self._bases[cls].append(bindings[0].node)
            for statement in cls.body:
                if isinstance(statement, _FUNCTIONS) and statement.name in _CUSTOM_ACCESS:
                    self._opaque.add(cls)  # what is stored or read is the class's choice
                if isinstance(statement, _FUNCTIONS):
                    arguments = [*statement.args.posonlyargs, *statement.args.args]
                    if arguments and not self._decorated(statement, _STATIC):
                        self._receivers[arguments[0]] = cls
        for base in self._exposed:
            # ``setattr(self, name, v)``, ``self.__dict__``: any attribute of the class.
            owner = self._owner_of(base)
            if owner is not None:
                self._opaque.add(owner)
            elif isinstance(self._parents.get(base), ast.Call):
                self._opaque.update(self._classes)  # ``setattr(obj, name, v)``: of any class

    def _owner_of(self, base: ast.expr) -> ast.ClassDef | None:
        if not isinstance(base, ast.Name):
            return None
        self._walk_around(base)
        bindings = self.scopes.scope_or(base, self.scopes.module)[base.id]
        if len(bindings) == 1 and bindings[0].node in self._receivers:
            return self._receivers[bindings[0].node]
        return None

    def _walk_around(self, node: ast.AST) -> None:
        """Lazy scopes (``ModuleScopes(lazy=True)``): walk the functions ``node`` is in."""
        around = []
        parent = self._parents.get(node)
        while parent is not None:
            if isinstance(parent, _FUNCTIONS):
                around.append(parent)
            parent = self._parents.get(parent)
        for function in reversed(around):
            self.scopes.walk_function(function)

    def _scope_in(self, node: ast.AST) -> Scope:
        self._walk_around(node)
        return self.scopes.scope_of(node)


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, not those of functions nested in it."""
    pending = list(child_nodes(function))
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, (*_FUNCTIONS, ast.Lambda, ast.ClassDef)):
            pending.extend(child_nodes(node))

"""Name bindings and scopes on CPython's ``ast``, answering exactly what libcst's ``ScopeProvider`` answers.

This is a re-implementation of ``libcst.metadata.scope_provider`` (libcst 1.9) for ``ast`` trees: the same
scopes, the same bindings ("assignments"), the same accesses, and the same answers from ``scope[name]``,
``name in scope`` and ``scope.get_qualified_names_for(node)``, quirks included, at a fraction of the cost
(no concrete syntax tree, no metadata wrapper, one recursive walk with a counter per scope).

What is copied from libcst, on purpose (each is checked by ``tests/test_bindings.py`` against libcst):

* ``scope[name]`` is flow-insensitive: every binding of the name in the scope that resolves it, later ones too.
  Class scopes are invisible to the functions, lambdas and comprehensions nested in them. ``global`` and
  ``nonlocal`` redirect the assignments that come after them (in walk order) and every lookup.
* The qualified names of an *access* (a Load or Del ``Name``, or the ``Attribute`` that stands for a dotted
  import, see below) are flow-sensitive inside the access's own scope: a binding of that scope counts only
  if it was recorded before the access (libcst's ``_assignment_count``: it grows on leaving every node of
  ``_ASSIGNMENT_LIKE_NODES``, after a ``for`` target, after a comprehension's first target). When the scope
  binds the name only later, the parent scope answers (even a class scope, for a method's access).
* Anything else asked of a scope (an ``Attribute`` that is not an access node, a string, an access asked of
  another scope than its own) takes the flow-insensitive path: the longest dotted prefix ``in scope``.
* ``import a.b.c`` binds "a.b.c", "a.b" and "a"; a ``Name`` at the root of an attribute chain is an access of
  the longest dotted prefix that is ``in scope`` (libcst's ``infer_accesses`` with ``_gen_dotted_names``),
  but only when the chain is the outermost attribute of its call frame.
* libcst evaluates a function's parameters and body before its decorators and return annotation, and a
  parameter's default and annotation in the enclosing scope; a ``for`` target before its iterable (so the
  iterable sees the target); the first comprehension iterable in the enclosing scope, everything else of a
  comprehension (walrus targets included) in the comprehension scope; an ``IfExp`` body before its test.
* Match-statement capture names (``case x``, ``*rest``, ``**kw``) are accesses in libcst, not bindings: they
  bind nothing here either. An augmented assignment target is a binding only (no access). A ``del`` target is
  an access. ``except E as e`` binds ``e`` (the binding's node is the ``ast.ExceptHandler``).
* libcst does not visit the first argument of a call whose qualified names (asked mid-walk, of what is bound
  so far) include ``typing.TypeVar`` or ``typing.NewType``: nothing in it is bound or accessed, and its nodes
  have no scope (``scope_of`` raises KeyError, where libcst has no metadata).
* ``True``/``False``/``None`` are names in libcst: a dotted name such as ``None.__class__`` resolves through
  the builtins, and any other non-name base of an attribute chain spells ``None`` (``"x".join`` is
  ``None.join``).

Not copied: libcst parses string annotations (and strings in ``typing`` subscripts and casts) and records
accesses on the string node; nothing asked of a ``Name`` or an ``Attribute`` depends on them, so they are not
parsed here. (Only a string whose text held an assignment-like statement, e.g. ``Annotated[int, "x = 1"]``,
would shift libcst's assignment count; none of the 1,311 corpus files has one.)
"""

from __future__ import annotations

import ast
import builtins
import enum
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from codemods.analysis.flow import child_nodes

__all__ = ["Binding", "ModuleScopes", "QualifiedName", "Scope", "Source"]


class Source(enum.Enum):
    """Where a qualified name comes from (libcst's ``QualifiedNameSource``)."""

    IMPORT = enum.auto()
    BUILTIN = enum.auto()
    LOCAL = enum.auto()


@dataclass(frozen=True)
class QualifiedName:
    """A qualified name such as ``os.path.join`` or ``f.<locals>.x`` (libcst's ``QualifiedName``)."""

    name: str
    source: Source


_FUNCTION_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_TYPE_FACTORIES = ("TypeVar", "NewType")
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class Binding:
    """One binding of a name: libcst's ``Assignment``, ``ImportAssignment`` or ``BuiltinAssignment``."""

    __slots__ = ("name", "scope", "node", "_index", "_is_import")

    def __init__(self, name: str, scope: Scope, node: Optional[ast.AST], index: int, is_import: bool = False) -> None:
        #: The bound name ("os.path" for ``import os.path``, which also binds "os").
        self.name = name
        #: The scope the name is bound in (after ``global``/``nonlocal`` redirection).
        self.scope = scope
        #: ``None`` for a builtin; otherwise the node libcst records (see the module docstring).
        self.node = node
        self._index = index
        self._is_import = is_import

    @property
    def is_import(self) -> bool:
        return self._is_import

    @property
    def is_builtin(self) -> bool:
        return self.node is None

    def qualified_names(self, full_name: str) -> Set[QualifiedName]:
        """libcst's ``get_qualified_names_for(full_name)`` on this assignment."""
        if self.node is None:
            return {QualifiedName(f"builtins.{self.name}", Source.BUILTIN)}
        if self._is_import:
            return _import_qualified_names(self.node, full_name)
        prefix = self.scope._name_prefix
        return {QualifiedName(f"{prefix}.{full_name}" if prefix else full_name, Source.LOCAL)}

    def __repr__(self) -> str:
        where = type(self.node).__name__ if self.node is not None else "builtin"
        return f"<Binding {self.name!r} ({where}) in {self.scope!r}>"


def _import_qualified_names(node: ast.AST, full_name: str) -> Set[QualifiedName]:
    # libcst's ImportAssignment.get_qualified_names_for: every alias of the statement is tried (not only the
    # one that bound the name), each real name from its longest dotted prefix down, the first match wins.
    module = ""
    if isinstance(node, ast.ImportFrom):
        if node.module:
            module = node.module
        if node.level:
            module = "." * node.level + module
    results: Set[QualifiedName] = set()
    assert isinstance(node, (ast.Import, ast.ImportFrom))
    for alias in node.names:
        if alias.name == "*":
            return results
        parts = alias.name.split(".")
        for i in range(len(parts), 0, -1):
            real_name = ".".join(parts[:i])
            as_name = real_name
            if module and module.endswith("."):
                real_name = f"{module}{real_name}"
            elif module:
                real_name = f"{module}.{real_name}"
            if alias.asname:
                as_name = alias.asname
            if full_name.startswith(as_name):
                remaining = full_name.split(as_name, 1)[1]
                if remaining and not remaining.startswith("."):
                    continue
                remaining = remaining.lstrip(".")
                results.add(
                    QualifiedName(f"{real_name}.{remaining}" if remaining else real_name, Source.IMPORT)
                )
                break
    return results


class Scope:
    """A scope: libcst's ``GlobalScope``, ``FunctionScope``, ``ClassScope``, ``ComprehensionScope``,
    ``AnnotationScope`` (PEP 695, kind "annotation") or ``BuiltinScope``."""

    __slots__ = ("kind", "node", "parent", "name", "_assignments", "_overwrites", "_count", "_globals", "_owner",
                 "_prefix")

    def __init__(self, kind: str, node: Optional[ast.AST], parent: Optional[Scope], owner: _Analysis,
                 name: Optional[str] = None) -> None:
        #: "builtin", "module", "function" (lambdas too), "class", "comprehension" or "annotation".
        self.kind = kind
        #: The Module / FunctionDef / AsyncFunctionDef / Lambda / ClassDef / comprehension node (None: builtins).
        self.node = node
        #: The enclosing scope; the builtin scope is its own parent.
        self.parent: Scope = parent if parent is not None else self
        #: The function or class name (used in LOCAL qualified names).
        self.name = name
        self._assignments: Dict[str, List[Binding]] = {}
        self._overwrites: Dict[str, Scope] = {}
        self._count = 0
        self._globals: Scope = parent._globals if parent is not None and kind != "module" else self
        self._owner = owner
        self._prefix: Optional[str] = None

    def __repr__(self) -> str:
        label = f" {self.name}" if self.name else ""
        return f"<Scope {self.kind}{label}>"

    # -- libcst's resolution machinery -----------------------------------------------------------------------

    @property
    def _name_prefix(self) -> str:
        prefix = self._prefix
        if prefix is None:
            kind = self.kind
            if kind in ("builtin", "module"):
                prefix = ""
            elif kind == "annotation":
                prefix = self.parent._name_prefix
            else:
                last = {"function": "<locals>", "class": None, "comprehension": None}[kind]
                name = "<comprehension>" if kind == "comprehension" else self.name
                prefix = ".".join(part for part in (self.parent._name_prefix, name, last) if part)
            self._prefix = prefix
        return prefix

    def _is_visible_from_children(self, from_scope: Scope) -> bool:
        if self.kind == "class":
            return from_scope.parent is self and from_scope.kind == "annotation"
        return True

    def _next_visible_parent(self, from_scope: Scope, first: Optional[Scope] = None) -> Scope:
        parent = first if first is not None else self.parent
        while not parent._is_visible_from_children(from_scope):
            parent = parent.parent
        return parent

    def _find_assignment_target(self, name: str) -> Scope:
        overwrite = self._overwrites.get(name)
        if overwrite is not None:
            return self._next_visible_parent(self, overwrite)._find_assignment_target(name)
        return self

    def _resolve(self, name: str, from_scope: Scope) -> List[Binding]:
        kind = self.kind
        if kind == "builtin":
            found = self._assignments.get(name)
            if found is not None:
                return found
            if hasattr(builtins, name):
                found = self._assignments[name] = [Binding(name, self, None, -1)]
                return found
            return []
        if kind != "module":
            overwrite = self._overwrites.get(name)
            if overwrite is not None:
                return self._next_visible_parent(from_scope, overwrite)._resolve(name, from_scope)
        found = self._assignments.get(name)
        if found is not None:
            return found
        return self._next_visible_parent(from_scope)._resolve(name, from_scope)

    def _contains(self, name: str) -> bool:
        kind = self.kind
        if kind == "builtin":
            return hasattr(builtins, name)
        if kind != "module":
            overwrite = self._overwrites.get(name)
            if overwrite is not None:
                return overwrite._contains(name)
        if name in self._assignments:
            return True
        return self._next_visible_parent(self)._contains(name)

    # -- the public questions ----------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> List[Binding]:
        """libcst's ``scope[name]``: every binding visible under that name (flow-insensitive)."""
        return list(self._resolve(name, self))

    def __contains__(self, name: object) -> bool:
        """libcst's ``name in scope``."""
        return isinstance(name, str) and self._contains(name)

    def names(self) -> List[str]:
        """The names this scope binds itself."""
        return [name for name, bound in self._assignments.items() if bound]

    def bindings_of(self, name: str) -> List[Binding]:
        """This scope's own bindings of ``name`` (no lookup), ``[]`` if none."""
        return list(self._assignments.get(name, ()))

    def qualified_names(self, node: Union[ast.AST, str]) -> Set[QualifiedName]:
        """libcst's ``scope.get_qualified_names_for(node)``."""
        if not isinstance(node, str):
            access = self._owner.accesses.get(node)
            if access is not None and access.scope is self:
                return {
                    qname for referent in access.referents() for qname in referent.qualified_names(referent.name)
                }
        full_name = _full_name(node)
        if full_name is None:
            return set()
        assignments: Sequence[Binding] = ()
        prefix: Optional[str] = full_name
        while prefix:
            if self._contains(prefix):
                assignments = self._resolve(prefix, self)
                break
            idx = prefix.rfind(".")
            prefix = None if idx == -1 else prefix[:idx]
        if not isinstance(node, str):
            for assignment in assignments:
                if assignment.node is not None and assignment.node is node:
                    return assignment.qualified_names(full_name)
        results: Set[QualifiedName] = set()
        for assignment in assignments:
            results |= assignment.qualified_names(full_name)
        return results


def _full_name(node: Union[ast.AST, str]) -> Optional[str]:
    # libcst's get_full_name_for_node, where True/False/None are names and an unnamed base spells "None".
    if isinstance(node, str):
        return node
    kind = type(node)
    if kind is ast.Name:
        return node.id  # type: ignore[attr-defined, no-any-return]
    if kind is ast.Attribute:
        return f"{_full_name(node.value)}.{node.attr}"  # type: ignore[attr-defined]
    if kind is ast.Call:
        return _full_name(node.func)  # type: ignore[attr-defined]
    if kind is ast.Subscript:
        return _full_name(node.value)  # type: ignore[attr-defined]
    if isinstance(node, _DEFINITIONS):
        return node.name
    if kind is ast.Constant:
        value = node.value  # type: ignore[attr-defined]
        if value is None or value is True or value is False:
            return str(value)
    return None


def _gen_dotted_names(node: ast.expr) -> Iterator[Tuple[str, ast.expr]]:
    # libcst's _gen_dotted_names on ast: ("a.b.c", a.b.c), ("a.b", a.b), ("a", a); a call in the chain is
    # looked through to its callee, keeping only the callee's names.
    if type(node) is ast.Name:
        yield node.id, node
        return
    assert isinstance(node, ast.Attribute)
    value = node.value
    if type(value) is ast.Call:
        func = value.func
        if type(func) in (ast.Attribute, ast.Name):
            yield from _gen_dotted_names(func)
    elif type(value) in (ast.Attribute, ast.Name):
        names = _gen_dotted_names(value)
        first = next(names, None)
        if first is None:
            return
        yield f"{first[0]}.{node.attr}", node
        yield first
        yield from names


class _Access:
    """libcst's ``Access``: an access node, its scope, the scope's assignment count then, its name."""

    __slots__ = ("scope", "name", "index", "_referents")

    def __init__(self, scope: Scope, name: str, index: int) -> None:
        self.scope = scope
        self.name = name
        self.index = index
        self._referents: Optional[List[Binding]] = None

    def referents(self) -> List[Binding]:
        # libcst's Access.record_assignments, computed on demand on the finished analysis.
        referents = self._referents
        if referents is None:
            scope, name, index = self.scope, self.name, self.index
            assignments = scope._resolve(name, scope)
            referents = [a for a in assignments if a.scope is not scope or a._index < index]
            if not referents and assignments and scope.parent is not scope:
                referents = list(scope.parent._resolve(name, scope))
            self._referents = referents
        return referents


class _Analysis:
    """Shared state of one module's analysis: the scope of each node and the access recorded at each node."""

    __slots__ = ("scopes", "accesses")

    def __init__(self) -> None:
        self.scopes: Dict[ast.AST, Scope] = {}
        self.accesses: Dict[ast.AST, _Access] = {}


_Deferred = Tuple[ast.Name, Scope, int, Optional[ast.Attribute]]


class _Walker:
    """One walk in libcst's ``ScopeVisitor`` order, with the same counter increments."""

    def __init__(self, analysis: _Analysis, module: Scope) -> None:
        self.analysis = analysis
        self.scopes = analysis.scopes
        self.scope = module
        self.module = module
        self.top_attr: Optional[ast.Attribute] = None
        self.deferred: List[_Deferred] = []
        self.dotted: Set[str] = set()
        #: With ``ModuleScopes(lazy=True)``: bodies of module-level functions and methods,
        #: walked when first asked for (``ModuleScopes.walk_function``).
        self.lazy: Optional[Dict[ast.AST, Callable[[], None]]] = None
        self.factory_aliases = False
        self.stmt_handlers: Dict[type, Callable[[ast.AST], None]] = {
            ast.Expr: self._expr_stmt,
            ast.Assign: self._assign,
            ast.AugAssign: self._aug_assign,
            ast.AnnAssign: self._ann_assign,
            ast.Return: self._value_stmt,
            ast.FunctionDef: self._function_def,
            ast.AsyncFunctionDef: self._function_def,
            ast.ClassDef: self._class_def,
            ast.If: self._if_while,
            ast.While: self._if_while,
            ast.For: self._for,
            ast.AsyncFor: self._for,
            ast.With: self._with,
            ast.AsyncWith: self._with,
            ast.Try: self._try,
            ast.Import: self._import,
            ast.ImportFrom: self._import,
            ast.Global: self._global,
            ast.Nonlocal: self._nonlocal,
            ast.Pass: self._nothing,
            ast.Break: self._nothing,
            ast.Continue: self._nothing,
            ast.Raise: self._raise,
            ast.Assert: self._assert,
            ast.Delete: self._delete,
        }
        try_star = getattr(ast, "TryStar", None)
        if try_star is not None:
            self.stmt_handlers[try_star] = self._try
        match = getattr(ast, "Match", None)
        if match is not None:
            self.stmt_handlers[match] = self._match
        type_alias = getattr(ast, "TypeAlias", None)
        if type_alias is not None:
            self.stmt_handlers[type_alias] = self._type_alias
        self.expr_handlers: Dict[type, Callable[[ast.AST], None]] = {
            ast.Attribute: self._attribute,
            ast.Call: self._call,
            ast.Constant: self._nothing,
            ast.Subscript: self._subscript,
            ast.BinOp: self._binop,
            ast.BoolOp: self._values,
            ast.Compare: self._compare,
            ast.UnaryOp: self._unary,
            ast.Tuple: self._elements,
            ast.List: self._elements,
            ast.Set: self._elements,
            ast.Starred: self._value_expr,
            ast.Await: self._value_expr,
            ast.Yield: self._value_expr,
            ast.YieldFrom: self._value_expr,
            ast.IfExp: self._if_exp,
            ast.Dict: self._dict,
            ast.JoinedStr: self._values,
            ast.FormattedValue: self._formatted_value,
            ast.Lambda: self._lambda,
            ast.NamedExpr: self._named_expr,
            ast.ListComp: self._comprehension,
            ast.SetComp: self._comprehension,
            ast.GeneratorExp: self._comprehension,
            ast.DictComp: self._comprehension,
            ast.Slice: self._slice,
        }

    # -- bookkeeping -------------------------------------------------------------------------------------------

    def record(self, name: str, node: ast.AST, is_import: bool = False) -> None:
        scope = self.scope
        target = scope._find_assignment_target(name) if scope._overwrites else scope
        binding = Binding(name, target, node, target._count, is_import)
        found = target._assignments.get(name)
        if found is None:
            target._assignments[name] = [binding]
        else:
            found.append(binding)

    def body(self, statements: List[ast.stmt]) -> None:
        handlers = self.stmt_handlers
        scopes = self.scopes
        for statement in statements:
            scopes[statement] = self.scope
            handler = handlers.get(type(statement))
            if handler is not None:
                handler(statement)
            else:
                self._generic(statement)

    def expr(self, node: ast.AST) -> None:
        self.scopes[node] = self.scope
        kind = type(node)
        if kind is ast.Name:
            if type(node.ctx) is ast.Store:  # type: ignore[attr-defined]
                self.record(node.id, node)  # type: ignore[attr-defined]
            else:
                scope = self.scope
                self.deferred.append((node, scope, scope._count, self.top_attr))  # type: ignore[arg-type]
            return
        handler = self.expr_handlers.get(kind)
        if handler is not None:
            handler(node)
        else:
            self._generic(node)

    def opt(self, node: Optional[ast.AST]) -> None:
        if node is not None:
            self.expr(node)

    def _generic(self, node: ast.AST) -> None:
        # Nodes without a handler (ast.Index/ExtSlice on 3.8, newer syntax): children in field order.
        for child in child_nodes(node):
            if isinstance(child, ast.stmt):
                self.body([child])
            elif isinstance(child, ast.expr):
                self.expr(child)
            else:
                self.scopes[child] = self.scope
                self._generic(child)

    def _nothing(self, node: ast.AST) -> None:
        pass

    # -- statements ----------------------------------------------------------------------------------------

    def _expr_stmt(self, node: ast.AST) -> None:
        self.expr(node.value)  # type: ignore[attr-defined]

    def _value_stmt(self, node: ast.AST) -> None:
        self.opt(node.value)  # type: ignore[attr-defined]

    def _assign(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Assign)
        for target in node.targets:
            self.expr(target)
        self.expr(node.value)
        self.scope._count += 1

    def _aug_assign(self, node: ast.AST) -> None:
        assert isinstance(node, ast.AugAssign)
        self.expr(node.target)
        self.expr(node.value)
        self.scope._count += 1

    def _ann_assign(self, node: ast.AST) -> None:
        assert isinstance(node, ast.AnnAssign)
        self.expr(node.target)
        self.expr(node.annotation)
        self.opt(node.value)
        self.scope._count += 1

    def _if_while(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.If, ast.While))
        self.expr(node.test)
        self.body(node.body)
        self.body(node.orelse)

    def _for(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.For, ast.AsyncFor))
        self.expr(node.target)
        self.scope._count += 1
        self.expr(node.iter)
        self.body(node.body)
        self.body(node.orelse)

    def _with(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.With, ast.AsyncWith))
        for item in node.items:
            self.scopes[item] = self.scope
            self.expr(item.context_expr)
            if item.optional_vars is not None:
                self.expr(item.optional_vars)
                self.scope._count += 1  # the AsName
            self.scope._count += 1  # the WithItem
        self.body(node.body)

    def _try(self, node: ast.AST) -> None:
        self.body(node.body)  # type: ignore[attr-defined]
        for handler in node.handlers:  # type: ignore[attr-defined]
            self.scopes[handler] = self.scope
            self.opt(handler.type)
            if handler.name:
                self.record(handler.name, handler)
                self.scope._count += 1  # the AsName
            self.body(handler.body)
        self.body(node.orelse)  # type: ignore[attr-defined]
        self.body(node.finalbody)  # type: ignore[attr-defined]

    def _import(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.Import, ast.ImportFrom))
        scope = self.scope
        for alias in node.names:
            if alias.name == "*":
                break
            self.scopes[alias] = scope
            if alias.asname:
                if alias.name.rpartition(".")[2] in _TYPE_FACTORIES:
                    self.factory_aliases = True
                self.record(alias.asname, node, True)
                continue
            name = alias.name
            self.record(name, node, True)
            while "." in name:
                self.dotted.add(name)
                name = name[: name.rindex(".")]
                self.record(name, node, True)
        scope._count += 1

    def _global(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Global)
        scope = self.scope
        if scope.kind != "module":
            for name in node.names:
                scope._overwrites[name] = scope._globals
        scope._count += 1

    def _nonlocal(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Nonlocal)
        scope = self.scope
        if scope.kind != "module":  # libcst raises on a module-level nonlocal (a SyntaxError anyway)
            for name in node.names:
                scope._overwrites[name] = scope.parent
        scope._count += 1

    def _raise(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Raise)
        self.opt(node.exc)
        self.opt(node.cause)

    def _assert(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Assert)
        self.expr(node.test)
        self.opt(node.msg)

    def _delete(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Delete)
        for target in node.targets:
            self.expr(target)

    def _function_def(self, node: ast.AST) -> None:
        assert isinstance(node, _FUNCTION_DEFS)
        enclosing = self.scope
        self.record(node.name, node)
        type_params = getattr(node, "type_params", None)
        if type_params:
            self.scope = Scope("annotation", node, enclosing, self.analysis)
            self._type_params(type_params)
        outer = self.scope
        function = Scope("function", node, outer, self.analysis, node.name)
        self.scope = function
        self._parameters(node.args, function)
        if self.lazy is not None and outer.kind in ("module", "class"):
            self.lazy[node] = lambda: self._walk_later(function, node.body)
        else:
            self.body(node.body)
        self.scope = outer
        for decorator in node.decorator_list:
            self.expr(decorator)
        self.opt(node.returns)
        self.scope = enclosing
        enclosing._count += 1

    def _walk_later(self, function: Scope, statements: List[ast.stmt]) -> None:
        saved = self.scope, self.top_attr
        self.scope, self.top_attr = function, None
        try:
            self.body(statements)
            self.infer_accesses()
        finally:
            self.scope, self.top_attr = saved

    def _parameters(self, arguments: ast.arguments, function: Scope) -> None:
        # libcst's visit_Param: the name binds in the function scope, the default then the annotation are
        # visited in the enclosing scope; the Parameters node counts as one assignment once all are done.
        self.scopes[arguments] = function
        outer = function.parent
        positional = arguments.posonlyargs + arguments.args
        defaults: List[Optional[ast.expr]] = [None] * (len(positional) - len(arguments.defaults))
        defaults += arguments.defaults
        params: List[Tuple[ast.arg, Optional[ast.expr]]] = list(zip(positional, defaults))
        if arguments.vararg is not None:
            params.append((arguments.vararg, None))
        params += zip(arguments.kwonlyargs, arguments.kw_defaults)
        if arguments.kwarg is not None:
            params.append((arguments.kwarg, None))
        for arg, default in params:
            self.scopes[arg] = function
            self.scope = function
            self.record(arg.arg, arg)
            self.scope = outer
            self.opt(default)
            self.opt(arg.annotation)
        self.scope = function
        function._count += 1

    def _class_def(self, node: ast.AST) -> None:
        assert isinstance(node, ast.ClassDef)
        enclosing = self.scope
        self.record(node.name, node)
        for decorator in node.decorator_list:
            self.expr(decorator)
        type_params = getattr(node, "type_params", None)
        if type_params:
            self.scope = Scope("annotation", node, enclosing, self.analysis)
            self._type_params(type_params)
        for base in node.bases:
            self.expr(base)
        for keyword in node.keywords:
            self.scopes[keyword] = self.scope
            self.expr(keyword.value)
        self.scope = Scope("class", node, self.scope, self.analysis, node.name)
        self.body(node.body)
        self.scope = enclosing
        enclosing._count += 1

    def _type_params(self, type_params: List[ast.AST]) -> None:
        # PEP 695 (3.12+): each TypeVar / ParamSpec / TypeVarTuple binds in the annotation scope and counts as
        # an assignment; a TypeVar's bound is visited before that count, a default (3.13) after it.
        for param in type_params:
            self.scopes[param] = self.scope
            self.record(param.name, param)  # type: ignore[attr-defined]
            self.opt(getattr(param, "bound", None))
            self.scope._count += 1
            self.opt(getattr(param, "default_value", None))

    def _type_alias(self, node: ast.AST) -> None:
        enclosing = self.scope
        # libcst gives the alias's Name no scope
        self.record(node.name.id, node)  # type: ignore[attr-defined]
        self.scope = Scope("annotation", node, enclosing, self.analysis)
        self._type_params(node.type_params)  # type: ignore[attr-defined]
        self.expr(node.value)  # type: ignore[attr-defined]
        self.scope = enclosing
        enclosing._count += 1

    def _match(self, node: ast.AST) -> None:
        self.expr(node.subject)  # type: ignore[attr-defined]
        for case in node.cases:  # type: ignore[attr-defined]
            self.scopes[case] = self.scope
            self._pattern(case.pattern)
            self.opt(case.guard)
            self.body(case.body)

    def _pattern(self, node: ast.AST) -> None:
        # Capture names are accesses in libcst (their Names get a Load context), so they bind nothing; the
        # ast has no node for them, so they are skipped. Value patterns and class patterns are expressions.
        self.scopes[node] = self.scope
        kind = type(node).__name__
        if kind == "MatchValue":
            self.expr(node.value)  # type: ignore[attr-defined]
        elif kind in ("MatchSequence", "MatchOr"):
            for pattern in node.patterns:  # type: ignore[attr-defined]
                self._pattern(pattern)
        elif kind == "MatchMapping":
            for key, pattern in zip(node.keys, node.patterns):  # type: ignore[attr-defined]
                self.expr(key)
                self._pattern(pattern)
        elif kind == "MatchClass":
            self.expr(node.cls)  # type: ignore[attr-defined]
            for pattern in node.patterns:  # type: ignore[attr-defined]
                self._pattern(pattern)
            for pattern in node.kwd_patterns:  # type: ignore[attr-defined]
                self._pattern(pattern)
        elif kind == "MatchAs":
            if node.pattern is not None:  # type: ignore[attr-defined]
                self._pattern(node.pattern)  # type: ignore[attr-defined]

    # -- expressions ---------------------------------------------------------------------------------------

    def _attribute(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Attribute)
        if self.top_attr is None:
            self.top_attr = node
            self.expr(node.value)
            self.top_attr = None
        else:
            self.expr(node.value)

    def _call(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        saved = self.top_attr
        self.top_attr = None
        self.expr(node.func)
        args = node.args
        keywords = node.keywords
        arguments: Sequence[ast.AST] = args
        if keywords:
            if not args:
                arguments = keywords
            elif _position(keywords[0]) < _position(args[-1]):
                # libcst keeps the arguments in source order; ast splits positional and keyword arguments.
                arguments = sorted([*args, *keywords], key=_position)
            else:
                arguments = [*args, *keywords]
        if arguments and self._is_type_factory(node):
            # libcst's visit_Call does not visit the first argument (the name) of typing.TypeVar / NewType.
            arguments = arguments[1:]
        scope = self.scope
        for arg in arguments:
            if type(arg) is ast.keyword:
                self.scopes[arg] = scope
                self.expr(arg.value)
            else:
                self.expr(arg)
        self.top_attr = saved

    def _is_type_factory(self, node: ast.Call) -> bool:
        # libcst asks the scope for the call's qualified names in the middle of the walk (what is bound so far,
        # no access known yet). The names "typing.TypeVar" / "typing.NewType" can only come from a callee
        # spelled ...TypeVar / ...NewType or from an import of such a name under another alias.
        if not self.factory_aliases:
            func = node.func
            kind = type(func)
            if kind is ast.Name:
                last = func.id  # type: ignore[attr-defined]
            elif kind is ast.Attribute:
                last = func.attr  # type: ignore[attr-defined]
            else:
                last = (_full_name(func) or "").rpartition(".")[2]
            if last not in _TYPE_FACTORIES:
                return False
        names = {qname.name for qname in self.scope.qualified_names(node)}
        return "typing.TypeVar" in names or "typing.NewType" in names

    def _subscript(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Subscript)
        self.expr(node.value)
        self.expr(node.slice)

    def _binop(self, node: ast.AST) -> None:
        assert isinstance(node, ast.BinOp)
        self.expr(node.left)
        self.expr(node.right)

    def _compare(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Compare)
        self.expr(node.left)
        for comparator in node.comparators:
            self.expr(comparator)

    def _unary(self, node: ast.AST) -> None:
        self.expr(node.operand)  # type: ignore[attr-defined]

    def _elements(self, node: ast.AST) -> None:
        for element in node.elts:  # type: ignore[attr-defined]
            self.expr(element)

    def _values(self, node: ast.AST) -> None:
        for value in node.values:  # type: ignore[attr-defined]
            self.expr(value)

    def _value_expr(self, node: ast.AST) -> None:
        self.opt(node.value)  # type: ignore[attr-defined]

    def _if_exp(self, node: ast.AST) -> None:
        assert isinstance(node, ast.IfExp)
        self.expr(node.body)
        self.expr(node.test)
        self.expr(node.orelse)

    def _dict(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Dict)
        for key, value in zip(node.keys, node.values):
            self.opt(key)
            self.expr(value)

    def _formatted_value(self, node: ast.AST) -> None:
        assert isinstance(node, ast.FormattedValue)
        self.expr(node.value)
        self.opt(node.format_spec)

    def _slice(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Slice)
        self.opt(node.lower)
        self.opt(node.upper)
        self.opt(node.step)

    def _lambda(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Lambda)
        enclosing = self.scope
        function = Scope("function", node, enclosing, self.analysis)
        self.scope = function
        self._parameters(node.args, function)
        self.expr(node.body)
        self.scope = enclosing

    def _named_expr(self, node: ast.AST) -> None:
        assert isinstance(node, ast.NamedExpr)
        self.expr(node.target)  # bound in the current scope, even in a comprehension (as libcst does)
        self.expr(node.value)
        self.scope._count += 1

    def _comprehension(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp))
        generators = node.generators
        first = generators[0]
        enclosing = self.scope
        self.expr(first.iter)
        self.scopes[first] = enclosing
        scope = self.scope = Scope("comprehension", node, enclosing, self.analysis)
        self.expr(first.target)
        scope._count += 1
        for condition in first.ifs:
            self.expr(condition)
        for generator in generators[1:]:
            # libcst visits the inner CompFor nodes nested in each other: all their children first, then
            # one count per CompFor as each is left.
            self.scopes[generator] = scope
            self.expr(generator.target)
            self.expr(generator.iter)
            for condition in generator.ifs:
                self.expr(condition)
        scope._count += len(generators) - 1
        if isinstance(node, ast.DictComp):
            self.expr(node.key)
            self.expr(node.value)
        else:
            self.expr(node.elt)
        self.scope = enclosing

    # -- after the walk --------------------------------------------------------------------------------------

    def infer_accesses(self) -> None:
        # libcst's infer_accesses: a Name at the root of its frame's top attribute chain is an access of the
        # longest dotted prefix of the chain that is in scope. Only imports bind dotted names, so when none
        # does, every access stays on its Name.
        accesses = self.analysis.accesses
        dotted = self.dotted
        for node, scope, index, enclosing in self.deferred:
            name = node.id
            target: ast.AST = node
            if enclosing is not None and dotted:
                for attr_name, attr_node in _gen_dotted_names(enclosing):
                    if "." in attr_name and attr_name not in dotted:
                        continue
                    if scope._contains(attr_name):
                        target = attr_node
                        name = attr_name
                        break
            accesses[target] = _Access(scope, name, index)
        self.deferred = []


def _position(node: ast.AST) -> Tuple[int, int]:
    if type(node) is ast.keyword:  # no position before 3.9: its value's is as good for ordering
        node = node.value
    return (node.lineno, node.col_offset)  # type: ignore[attr-defined]


class ModuleScopes:
    """The scopes of one module, built in one walk of its ``ast`` tree."""

    def __init__(self, tree: ast.Module, lazy: bool = False) -> None:
        """``lazy``: the bodies of module-level functions and methods are walked when
        ``walk_function`` asks (their names are then known only there: a ``global``
        statement inside one rebinds a module name only once it is walked)."""
        analysis = _Analysis()
        builtin = Scope("builtin", None, None, analysis)
        module = Scope("module", tree, builtin, analysis)
        module._globals = module
        builtin._globals = module
        #: The global scope.
        self.module = module
        self._analysis = analysis
        walker = _Walker(analysis, module)
        if lazy:
            walker.lazy = {}
        self._walker = walker
        analysis.scopes[tree] = module
        walker.body(tree.body)
        walker.infer_accesses()

    def walk_function(self, node: ast.AST) -> None:
        """Walk the body of a module-level function or method, if that was left for later."""
        lazy = self._walker.lazy
        if lazy:
            walk = lazy.pop(node, None)
            if walk is not None:
                walk()

    def scope_of(self, node: ast.AST) -> Scope:
        """The scope libcst's ``ScopeProvider`` gives the corresponding libcst node (KeyError if none)."""
        return self._analysis.scopes[node]

    def has_scope(self, node: ast.AST) -> bool:
        """Whether ``node`` is one of the module's own, walked (``scope_of`` answers)."""
        return node in self._analysis.scopes

    def scope_or(self, node: ast.AST, default: Scope) -> Scope:
        """``scope_of(node)``, or ``default`` for a node that has none."""
        return self._analysis.scopes.get(node, default)


# Only names that come from an import or from builtins can be catalog entries; a
# module-level ``time = FakeClock()`` gives ``time.sleep`` too, but as LOCAL.
RESOLVED_SOURCES = (Source.IMPORT, Source.BUILTIN)


def is_dotted_name(node: ast.AST) -> bool:
    """``a``, ``a.b.c``: a callee we can resolve. ``f().x`` or ``d[k]`` are not."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def resolve(node: ast.AST, scope: Scope) -> set[str]:
    """Qualified names (from imports and builtins only) that a dotted name may refer to."""
    if not is_dotted_name(node):
        return set()
    assert isinstance(node, (ast.Name, ast.Attribute))
    return {q.name for q in scope.qualified_names(node) if q.source in RESOLVED_SOURCES}

"""Which calls are blocking: resolve a callee through the module's imports and scopes.

Names are resolved with libcst's scope analysis, never by spelling: ``t.sleep`` after
``import time as t`` is ``time.sleep``; a parameter, local or class attribute that
shadows an import is not. Methods are found on objects whose type is certain: made by a
known constructor in the same coroutine (``s = requests.Session()``, ``with open(p) as
f``), annotated as the type, or made inline (``Path(p).read_text()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Mapping

import libcst as cst
from libcst.metadata import Assignment, BaseAssignment, FunctionScope, QualifiedNameSource, Scope

from codemods.catalog import THREAD_RUNNER_NAMES, ArgCondition, BlockingCall, BlockingType, method_entry

# Only names that come from an import or from builtins can be catalog entries; a
# module-level ``time = FakeClock()`` gives ``time.sleep`` too, but as LOCAL.
_RESOLVED_SOURCES = (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN)


def is_dotted_name(node: cst.BaseExpression) -> bool:
    """``a``, ``a.b.c``: a callee we can resolve. ``f().x`` or ``d[k]`` are not."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def root_of(node: cst.BaseExpression) -> cst.Name:
    """``a`` in ``a.b.c``."""
    while isinstance(node, cst.Attribute):
        node = node.value
    assert isinstance(node, cst.Name)
    return node


def resolve(node: cst.BaseExpression, scope: Scope) -> set[str]:
    """Qualified names (from imports and builtins only) that a dotted name may refer to."""
    if not is_dotted_name(node):
        return set()
    return {q.name for q in scope.get_qualified_names_for(node) if q.source in _RESOLVED_SOURCES}


def _resolves_to(node: cst.BaseExpression, scope: Scope, target: str) -> tuple[bool, bool]:
    """``(all names resolve to target, some do)``; any non-import name counts as 'other'."""
    names = scope.get_qualified_names_for(node) if is_dotted_name(node) else set()
    hits = [q.name == target and q.source in _RESOLVED_SOURCES for q in names]
    return bool(hits) and all(hits), any(hits)


@dataclass(frozen=True)
class Match:
    """A call that is a blocking call."""

    entry: BlockingCall
    #: Why the call cannot be rewritten although it blocks (it is then reported).
    reason: str | None = None
    #: For methods: the type of the object the method is called on.
    receiver: BlockingType | None = None


class Detector:
    """Matches calls against the catalog; remembers bindings of blocking-type objects."""

    def __init__(
        self,
        index: Mapping[str, BlockingCall],
        constructors: Mapping[str, BlockingType],
        annotations: Mapping[str, BlockingType],
        ignore: frozenset[str],
    ) -> None:
        self.index = index
        self.constructors = constructors
        self.annotations = annotations
        self.ignore = ignore
        #: Assignment target (Name or Param node) -> the type bound there.
        self.bindings: dict[cst.CSTNode, BlockingType] = {}
        #: Names that are certainly files where the walk is: the ``as`` names of the
        #: enclosing ``with open(...)`` blocks that do not rebind them, with the scope
        #: they are names of (innermost block last).
        self.block_files: list[tuple[Scope, dict[str, BlockingType]]] = []
        #: Function body -> (its top-level statements, node -> index of the one it is in).
        self._statements: dict[cst.FunctionDef, tuple[list[cst.BaseStatement], dict[cst.CSTNode, int]]] = {}

    # -- bindings ----------------------------------------------------------------------

    def constructed_type(self, value: cst.BaseExpression, scope: Scope | None) -> BlockingType | None:
        if scope is None:
            return None
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Divide):
            # ``Path(root) / "name"`` is a path too (``kind.joins``).
            left = self.receiver_type(value.left, scope)
            return left if left is not None and left.joins else None
        if isinstance(value, cst.Await):
            return self._offloaded_result_type(value.expression, scope)
        if not isinstance(value, cst.Call):
            return None
        kinds = {self.constructors.get(name) for name in resolve(value.func, scope)}
        return kinds.pop() if len(kinds) == 1 else None

    def _offloaded_result_type(self, value: cst.BaseExpression, scope: Scope) -> BlockingType | None:
        """``await asyncio.to_thread(Path(p).resolve)``: typed like ``Path(p).resolve()``, so
        that the rewritten code is checked as the original was (and fixed the same)."""
        if not isinstance(value, cst.Call) or not value.args or value.args[0].keyword or value.args[0].star:
            return None
        if not resolve(value.func, scope) & THREAD_RUNNER_NAMES:
            return None
        function = value.args[0].value
        if isinstance(function, cst.Call) and resolve(function.func, scope) == {"functools.partial"} and function.args:
            function = function.args[0].value  # anyio/trio keyword arguments: partial(f, key=value)
        kinds = {self.constructors.get(name) for name in resolve(function, scope)}
        if len(kinds) == 1:
            return kinds.pop()
        if isinstance(function, cst.Attribute):
            base = self.receiver_type(function.value, scope)
            if base is not None and function.attr.value in base.derives:
                return base
        return None

    def annotated_type(self, annotation: cst.BaseExpression, scope: Scope | None) -> BlockingType | None:
        if scope is None:
            return None
        # Optional[T] and T | None name T.
        if isinstance(annotation, cst.Subscript) and len(annotation.slice) == 1:
            if resolve(annotation.value, scope) == {"typing.Optional"}:
                element = annotation.slice[0].slice
                if isinstance(element, cst.Index):
                    return self.annotated_type(element.value, scope)
        if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
            for side, other in ((annotation.left, annotation.right), (annotation.right, annotation.left)):
                if isinstance(other, cst.Name) and other.value == "None":
                    return self.annotated_type(side, scope)
        kinds = {self.annotations.get(name) for name in resolve(annotation, scope)}
        return kinds.pop() if len(kinds) == 1 else None

    def bind(self, target: cst.CSTNode, kind: BlockingType | None) -> None:
        if kind is not None:
            self.bindings[target] = kind

    def receiver_type(
        self, receiver: cst.BaseExpression, scope: Scope, excluding: cst.CSTNode | None = None
    ) -> BlockingType | None:
        """The type of the object a method is called on, when it is certain.

        ``excluding``: a binding being typed from this very expression (``path =
        path.resolve()``), which cannot count against itself: if every other binding
        makes the type, so does this one.
        """
        derived = _derived_from(receiver)
        if derived is not None:
            # ``p.parent`` or ``p.with_suffix(".bak")``: the same type as ``p``.
            base, attribute = derived
            kind = self.receiver_type(base, scope, excluding)
            if kind is not None and attribute in kind.derives:
                return kind
        if isinstance(receiver, (cst.Call, cst.BinaryOperation, cst.Await)):
            return self.constructed_type(receiver, scope)
        if not isinstance(receiver, cst.Name):
            return None
        for files_scope, files in reversed(self.block_files):
            if receiver.value in files and files_scope is scope:
                return files[receiver.value]
        assignments = [a for a in scope[receiver.value] if not isinstance(a, Assignment) or a.node is not excluding]
        # Every binding of the name must be one we saw make this type.
        kinds = {self.bindings.get(a.node) if isinstance(a, Assignment) else None for a in assignments}
        if len(kinds) == 1 and assignments:
            return kinds.pop()
        return self._rebound_type(receiver, scope, assignments)

    def _rebound_type(
        self, receiver: cst.Name, scope: Scope, assignments: Collection[BaseAssignment]
    ) -> BlockingType | None:
        """``path = Path(path)`` then ``path.exists()``: the one binding that reaches the call.

        Sound for one shape only: besides the function's own parameter, the name has one
        binding, a typed ``name = Ctor(...)`` that is a top-level statement of the
        function body, and the call is in a later top-level statement of the same body
        (not in a nested function, lambda or comprehension). That statement always runs
        before the later ones, and nothing else can rebind the name afterwards.
        """
        if not isinstance(scope, FunctionScope) or not isinstance(scope.node, cst.FunctionDef):
            return None
        bound = [a for a in assignments if isinstance(a, Assignment) and a.scope is scope]
        if len(bound) != len(assignments):
            return None
        rebinding = [a for a in bound if not isinstance(a.node, cst.Param)]
        if len(rebinding) != 1 or len(assignments) > 2:
            return None
        target = rebinding[0].node
        kind = self.bindings.get(target)
        if kind is None:
            return None
        statements, where = self._top_level(scope.node)
        at = where.get(target)
        if at is None or not _assigns(statements[at], target):
            return None
        used = where.get(receiver)
        return kind if used is not None and used > at else None

    def _top_level(self, function: cst.FunctionDef) -> tuple[list[cst.BaseStatement], dict[cst.CSTNode, int]]:
        known = self._statements.get(function)
        if known is None:
            body = function.body
            statements = list(body.body) if isinstance(body, cst.IndentedBlock) else []
            where: dict[cst.CSTNode, int] = {}
            for index, statement in enumerate(statements):
                collector = _Nodes()
                statement.visit(collector)
                where.update(dict.fromkeys(collector.nodes, index))
            known = self._statements[function] = (statements, where)
        return known

    # -- calls -------------------------------------------------------------------------

    def match(self, call: cst.Call, scope: Scope) -> Match | None:
        func = call.func
        names = scope.get_qualified_names_for(func) if is_dotted_name(func) else set()
        entries = {
            self.index.get(q.name) if q.source in _RESOLVED_SOURCES else None for q in names
        }
        found = sorted((e for e in entries if e is not None), key=lambda e: e.qualname)
        if found:
            entry = found[0]
            if len(entries) > 1:
                return Match(entry, f"the name may also refer to something that is not {entry.qualname}")
            return self._conditions(call, entry, scope)
        if isinstance(func, cst.Attribute):
            kind = self.receiver_type(func.value, scope)
            if kind is not None:
                method = method_entry(kind, func.attr.value)
                if method is not None and method.qualname not in self.ignore:
                    return self._conditions(call, method, scope, kind)
        return None

    def _conditions(
        self, call: cst.Call, entry: BlockingCall, scope: Scope, receiver: BlockingType | None = None
    ) -> Match | None:
        if entry.nonblocking_if is not None:
            arg = _argument(call, entry.nonblocking_if)
            if arg is not None and _mentions(arg, scope, entry.nonblocking_if.value):
                return None
        if entry.blocks_only_if is not None:
            condition = entry.blocks_only_if
            arg = _argument(call, condition)
            if arg is None or not _resolves_to(arg, scope, condition.value)[0]:
                return Match(
                    entry,
                    f"it only blocks when {condition.keyword} is {condition.value}, which loopsafe "
                    "cannot confirm here; with another mode it starts a process without waiting",
                )
        if entry.streams_if is not None:
            streaming = entry.streams_if
            value = _keyword(call, streaming.keyword)
            if value is not None and not _is_constant(value, streaming.off):
                spelled = f"{streaming.keyword}={cst.Module([]).code_for_node(value)}"
                return Match(
                    entry,
                    f"with `{spelled}` the body is read later by the response (iter_content(), iter_lines(), "
                    ".content, .read()), on the event loop; make the request and read the body in one "
                    "function run with asyncio.to_thread",
                    receiver,
                )
        return Match(entry, receiver=receiver)


class _Nodes(cst.CSTVisitor):
    """Every node of a tree."""

    def __init__(self) -> None:
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.nodes.append(node)
        return True


def _assigns(statement: cst.BaseStatement, target: cst.CSTNode) -> bool:
    """``target = ...`` (or ``target: T = ...``) is the statement, alone on its line."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if isinstance(small, cst.Assign):
        return len(small.targets) == 1 and small.targets[0].target is target
    return isinstance(small, cst.AnnAssign) and small.target is target and small.value is not None


def _derived_from(receiver: cst.BaseExpression) -> tuple[cst.BaseExpression, str] | None:
    """``(p, "parent")`` for ``p.parent`` and ``(p, "with_suffix")`` for ``p.with_suffix(x)``."""
    if isinstance(receiver, cst.Call):
        receiver = receiver.func
    if isinstance(receiver, cst.Attribute):
        return receiver.value, receiver.attr.value
    return None


def _argument(call: cst.Call, condition: ArgCondition) -> cst.BaseExpression | None:
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == condition.keyword:
            return arg.value
    if len(positional) > condition.index and not any(arg.star for arg in call.args[: condition.index + 1]):
        return positional[condition.index].value
    return None


def _mentions(expression: cst.BaseExpression, scope: Scope, target: str) -> bool:
    """``os.WNOHANG`` or ``os.WNOHANG | os.WUNTRACED``: the flag is among the operands."""
    if isinstance(expression, cst.BinaryOperation) and isinstance(expression.operator, cst.BitOr):
        return _mentions(expression.left, scope, target) or _mentions(expression.right, scope, target)
    return _resolves_to(expression, scope, target)[1]


def _keyword(call: cst.Call, keyword: str) -> cst.BaseExpression | None:
    """The value passed as ``keyword=...`` (not looked for in ``**kwargs``)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    return None


def _is_constant(node: cst.BaseExpression, value: bool) -> bool:
    return isinstance(node, cst.Name) and node.value == ("True" if value else "False")

"""``with open(...) as f:`` blocks moved into a local function run in a thread.

    with open(path) as f:                      def _blocking_io():
        data = json.load(f)          ->            with open(path) as f:
                                                       data = json.load(f)
                                                   return data
                                               data = await asyncio.to_thread(_blocking_io)

Only blocks whose control flow and names survive the move are taken: no ``await``,
``yield`` or ``return``, no ``break``/``continue`` aimed at a loop outside the block, no
``global``/``nonlocal``/``del``, and every name the block binds is a local of the
coroutine. Names the block rebinds that already had a value are passed in as arguments;
names it binds and that are used afterwards are returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import FunctionScope, Scope

HELPER_NAME = "_blocking_io"


class _BlockFacts(cst.CSTVisitor):
    """Names bound in a with block, every node in it, and what stops it from moving."""

    def __init__(self) -> None:
        self.bound: list[str] = []
        self.nodes: set[cst.CSTNode] = set()
        self.obstacle: str | None = None
        self._loops = 0
        self._scopes = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.nodes.add(node)
        return super().on_visit(node)  # dispatches to the visit_* methods below

    def _stop(self, why: str) -> None:
        if self.obstacle is None:
            self.obstacle = why

    def _bind(self, target: cst.BaseExpression) -> None:
        if self._scopes:
            return
        if isinstance(target, cst.Name) and target.value not in self.bound:
            self.bound.append(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value)

    # Things that cannot move into a plain function.
    def visit_Await(self, node: cst.Await) -> None:
        self._stop("it contains an await")

    def visit_Yield(self, node: cst.Yield) -> None:
        if not self._scopes:
            self._stop("it contains a yield")

    def visit_Return(self, node: cst.Return) -> None:
        if not self._scopes:
            self._stop("it contains a return")

    def visit_Break(self, node: cst.Break) -> None:
        if not self._loops:
            self._stop("it contains a break out of the block")

    def visit_Continue(self, node: cst.Continue) -> None:
        if not self._loops:
            self._stop("it contains a continue out of the block")

    def visit_Global(self, node: cst.Global) -> None:
        self._stop("it declares a global")

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._stop("it declares a nonlocal")

    def visit_Del(self, node: cst.Del) -> None:
        self._stop("it deletes a name")

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            self._stop("it contains an async for")
        self._bind(node.target)
        self._loops += 1

    def leave_For(self, original_node: cst.For) -> None:
        self._loops -= 1

    def visit_While(self, node: cst.While) -> None:
        self._loops += 1

    def leave_While(self, original_node: cst.While) -> None:
        self._loops -= 1

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            self._stop("it contains an async with")
        for item in node.items:
            if item.asname is not None:
                self._bind(item.asname.name)

    # Nested scopes: their inner names are theirs, their own name is ours.
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind(node.name)
        self._scopes += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind(node.name)
        self._scopes += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scopes -= 1

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._scopes += 1

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._scopes -= 1

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._scopes += 1

    def leave_CompFor(self, original_node: cst.CompFor) -> None:
        self._scopes -= 1

    # Bindings.
    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bind(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target)  # a walrus binds in the enclosing function, even in a comprehension

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind(node.name.name)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if not self._scopes:
            name = node.evaluated_alias or node.evaluated_name.split(".")[0]
            if name not in self.bound:
                self.bound.append(name)


@dataclass(frozen=True)
class BlockPlan:
    """How a with block moves: the names passed in and the names returned."""

    helper: str
    arguments: tuple[str, ...]
    results: tuple[str, ...]


def plan_block(node: cst.With, scope: Scope, taken: set[str] | frozenset[str] = frozenset()) -> BlockPlan | str:
    """A plan for moving ``node`` into a helper, or the reason it cannot move."""
    facts = _BlockFacts()
    node.visit(facts)
    if facts.obstacle is not None:
        return facts.obstacle
    if not isinstance(scope, FunctionScope):
        return "it is not directly in the coroutine"
    arguments: list[str] = []
    results: list[str] = []
    for name in facts.bound:
        assignments = scope.assignments[name]
        if any(a.scope is not scope for a in assignments):
            return f"`{name}` is not a local of the coroutine"
        outside_bindings = [a for a in assignments if getattr(a, "node", None) not in facts.nodes]
        if outside_bindings:
            arguments.append(name)
        # References include those from closures defined elsewhere in the coroutine.
        used_after = bool(outside_bindings) or any(
            reference.node not in facts.nodes
            for assignment in assignments
            for reference in assignment.references
        )
        if used_after:
            results.append(name)
    helper = HELPER_NAME
    counter = 1
    while helper in scope or scope.accesses[helper] or helper in taken:
        counter += 1
        helper = f"{HELPER_NAME}_{counter}"
    return BlockPlan(helper, tuple(arguments), tuple(results))


def build_helper(node: cst.With, plan: BlockPlan, offload_call: cst.BaseExpression) -> list[cst.BaseStatement]:
    """The ``def`` holding the block, then the statement that runs it in a thread."""
    inner = node.with_changes(leading_lines=[])
    body: list[cst.BaseStatement] = [inner]
    if plan.results:
        body.append(cst.SimpleStatementLine([cst.Return(_names(plan.results))]))
    helper = cst.FunctionDef(
        name=cst.Name(plan.helper),
        params=cst.Parameters([cst.Param(cst.Name(name)) for name in plan.arguments]),
        body=cst.IndentedBlock(body),
        leading_lines=node.leading_lines,
    )
    if plan.results:
        statement: cst.BaseSmallStatement = cst.Assign(
            [cst.AssignTarget(_names(plan.results))], offload_call  # type: ignore[arg-type]
        )
    else:
        statement = cst.Expr(offload_call)
    return [helper, cst.SimpleStatementLine([statement])]


def _names(names: tuple[str, ...]) -> cst.BaseExpression:
    if len(names) == 1:
        return cst.Name(names[0])
    return cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[])

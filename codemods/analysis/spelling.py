"""How a fix spells the names it needs (``asyncio.to_thread``, ``aio.to_thread`` after
``import asyncio as aio``), decided on ``ast``.

Names are spelled the way the module already imports them, and only where that spelling
really resolves to the intended function at the call site; otherwise the module is
imported. A call whose fix would need a name the module uses for something else
(``asyncio = ...``) is reported instead. The finding's text says what the fix will be;
``codemods.rewrite.offload`` builds the new call from the same spellings.
"""

from __future__ import annotations

import ast
import weakref
from dataclasses import dataclass
from typing import Callable, Iterable

from codemods.analysis.flow import child_nodes
from codemods.analysis.bindings import QualifiedName, Scope, Source
from codemods.catalog import THREAD_RUNNERS, Framework, Native

KNOWN_MODULES = ("asyncio", "anyio", "trio", "functools", "contextvars")


class ModuleImports:
    """Top-level imports of the modules loopsafe spells calls with."""

    def __init__(self, module: ast.Module) -> None:
        self.module_aliases: dict[str, list[str]] = {}
        self.from_aliases: dict[tuple[str, str], list[str]] = {}
        #: Import statements bound whenever the module has loaded: plain top-level
        #: statements, and those in a top-level ``try:`` (if one fails, the handler either
        #: raises or binds a fallback, which then shows up as a second binding).
        self.unconditional: set[ast.AST] = set()
        statements: list[ast.stmt] = []
        for top in module.body:
            if isinstance(top, ast.Try) or type(top).__name__ == "TryStar":
                statements.extend(top.body)  # type: ignore[attr-defined]
            else:
                statements.append(top)
        for statement in statements:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                self.unconditional.add(statement)
                self._collect(statement)

    def _collect(self, statement: ast.Import | ast.ImportFrom) -> None:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                top = alias.name.split(".")[0]
                if top in KNOWN_MODULES and (alias.asname is None or "." not in alias.name):
                    self.module_aliases.setdefault(top, []).append(alias.asname or top)
        elif statement.level == 0 and statement.module is not None and statement.names[0].name != "*":
            if statement.module.split(".")[0] in KNOWN_MODULES:
                for alias in statement.names:
                    bound = alias.asname or alias.name
                    self.from_aliases.setdefault((statement.module, alias.name), []).append(bound)

    def candidates(self, target: str) -> Iterable[str]:
        """Ways to spell ``target`` (``anyio.to_thread.run_sync``) with existing imports."""
        parts = target.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module, name, rest = ".".join(parts[:cut]), parts[cut], parts[cut + 1 :]
            for bound in self.from_aliases.get((module, name), []):
                yield ".".join([bound, *rest])
        for alias in self.module_aliases.get(parts[0], []):
            yield ".".join([alias, *parts[1:]])
        yield target  # bound by an import that is not a plain top-level statement


def spell(
    imports: ModuleImports, target: str, scope: Scope, bound_before: Callable[[ast.AST], bool]
) -> tuple[str, bool] | None:
    """``(spelling, needs_import)`` for ``target`` at ``scope``, or ``None`` if none is safe.

    An existing binding is reused only if it is certain to be bound when the call runs:
    an import that is a plain top-level statement of the module, or one that
    ``bound_before`` vouches for (an import at the top level of the coroutine, above
    the call). ``if TYPE_CHECKING: import asyncio`` is not such a binding.
    """
    wanted = {QualifiedName(target, Source.IMPORT)}
    rebound = rebound_unseen(scope)
    for candidate in imports.candidates(target):
        bindings = scope[candidate.split(".", 1)[0]]
        if (
            candidate.split(".", 1)[0] not in rebound
            and bindings
            and all(b.node is not None and (b.node in imports.unconditional or bound_before(b.node)) for b in bindings)
            and scope.qualified_names(candidate) == wanted
        ):
            return candidate, False
    root = target.split(".", 1)[0]
    if root in rebound:
        return None
    # Nothing else has the name, or only conditional imports of that same module: an
    # unconditional ``import <root>`` makes the plain spelling safe.
    if all(
        b.node is not None and b.scope.kind == "module" and isinstance(b.node, ast.Import)
        and any(a.name.split(".")[0] == root and a.asname is None for a in b.node.names)
        for b in scope[root]
    ):
        return target, True
    return None


_UNSEEN_CACHE: "weakref.WeakKeyDictionary[ast.AST, frozenset[str]]" = weakref.WeakKeyDictionary()


def rebound_unseen(scope: Scope) -> frozenset[str]:
    """Names that the functions around ``scope`` (and the module) bind in ways the scope
    analysis does not record, as libcst does not: ``match`` captures (``case asyncio:``,
    ``[*asyncio]``, ``{**asyncio}``, ``... as asyncio``), ``del asyncio`` and walrus targets
    inside comprehensions (``[(asyncio := x) for x in y]`` binds it in the function). The
    compiler makes each such name local to its function: a fix spelled with it would read
    that value, or raise ``UnboundLocalError``."""
    found: set[str] = set()
    current: Scope | None = scope
    while current is not None and current.kind != "builtin":
        node = current.node
        if current.kind in ("function", "module") and node is not None:
            names = _UNSEEN_CACHE.get(node)
            if names is None:
                names = _UNSEEN_CACHE[node] = frozenset(_unseen_bindings(node))
            found |= names
        if current.parent is current:
            break
        current = current.parent
    return frozenset(found)


def _unseen_bindings(owner: ast.AST) -> Iterable[str]:
    """The names ``owner`` (a function, lambda or module) binds by the forms ``rebound_unseen`` lists."""
    if isinstance(owner, ast.Lambda):
        pending: list[ast.AST] = [owner.body]
    else:
        pending = list(getattr(owner, "body", []))
    while pending:
        node = pending.pop()
        kind = type(node).__name__
        if kind in ("MatchAs", "MatchStar") and getattr(node, "name", None):
            yield node.name  # type: ignore[attr-defined]
        elif kind == "MatchMapping" and getattr(node, "rest", None):
            yield node.rest  # type: ignore[attr-defined]
        elif isinstance(node, ast.Delete):
            yield from (target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            yield node.target.id
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # Their own bodies are other scopes; decorators and defaults run here.
            pending.extend([*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)])
        elif isinstance(node, ast.Lambda):
            pending.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d)])
        elif isinstance(node, ast.ClassDef):
            pending.extend([*node.decorator_list, *node.bases, *(k.value for k in node.keywords)])
        else:
            pending.extend(child_nodes(node))


@dataclass(frozen=True)
class Spelling:
    """How a fix spells what it calls, and the modules it must import for that.

    ``codemods.rewrite.offload`` builds the new call from these names alone.
    """

    #: What the fix reads as: ``await asyncio.to_thread(requests.get, ...)``.
    detail: str
    #: The function doing the work (``asyncio.to_thread``, ``anyio.to_thread.run_sync``,
    #: ``asyncio.sleep``), or the method of the running loop (``sock_recv``).
    function: str
    #: The module's spellings of ``functools.partial``, ``asyncio.get_running_loop`` and
    #: ``contextvars.copy_context``, when the fix needs them.
    partial: str | None = None
    loop: str | None = None
    copy_context: str | None = None
    #: The exact equivalent replaces the call (``asyncio.sleep``) instead of a thread running it.
    native: bool = False
    #: Modules the fix imports (``asyncio``), when the module does not bind them usably.
    needs: tuple[str, ...] = ()

    @property
    def runner(self) -> str:
        """How messages name what runs the work: ``asyncio.to_thread``, ``loop().run_in_executor``."""
        if self.loop is not None:
            return f"{self.loop}().{self.function}"
        return self.function


class Speller:
    """The spellings of one module's fixes."""

    def __init__(
        self, module: ast.Module, framework: Framework, legacy_executor: bool, bound_before: Callable[[ast.AST], bool]
    ) -> None:
        self.imports = ModuleImports(module)
        self.framework = framework
        self.legacy_executor = legacy_executor and framework is Framework.ASYNCIO
        self.bound_before = bound_before

    def _spell(self, target: str, scope: Scope, needs: list[str]) -> str | None:
        spelled = spell(self.imports, target, scope, self.bound_before)
        if spelled is None:
            return None
        name, needs_import = spelled
        if needs_import:
            needs.append(target.split(".")[0])
        return name

    def offload(self, callee: str, keywords: bool, scope: Scope, *, arguments: bool) -> Spelling | None:
        """``callee(...)`` run in a thread; ``arguments``: the call passes arguments (the
        detail shows them as ``...``; ``lambda: open(p).read()`` is passed none),
        ``keywords``: keyword arguments among them."""
        needs: list[str] = []
        passed = ", ..." if arguments or keywords else ""
        if self.framework is Framework.ASYNCIO and not self.legacy_executor:
            runner = self._spell(THREAD_RUNNERS[Framework.ASYNCIO], scope, needs)
            if runner is None:
                return None
            return Spelling(f"await {runner}({callee}{passed})", runner, needs=tuple(needs))
        if self.framework is Framework.ASYNCIO:
            # What asyncio.to_thread does: run_in_executor alone would drop the task's
            # context variables (request ids, decimal contexts) in the thread.
            loop = self._spell("asyncio.get_running_loop", scope, needs)
            partial = self._spell("functools.partial", scope, needs)
            copy_context = self._spell("contextvars.copy_context", scope, needs)
            if loop is None or partial is None or copy_context is None:
                return None
            detail = f"await {loop}().run_in_executor(None, {partial}({copy_context}().run, {callee}{passed}))"
            return Spelling(detail, "run_in_executor", partial, loop, copy_context, needs=tuple(needs))
        runner = self._spell(THREAD_RUNNERS[self.framework], scope, needs)
        if runner is None:
            return None
        if keywords:
            # These runners take no keyword arguments for the function: bind them first.
            partial = self._spell("functools.partial", scope, needs)
            if partial is None:
                return None
            return Spelling(f"await {runner}({partial}({callee}, ...))", runner, partial, needs=tuple(needs))
        return Spelling(f"await {runner}({callee}{passed})", runner, needs=tuple(needs))

    def native(self, call: ast.Call, native: Native, scope: Scope) -> Spelling | None:
        """The exact async equivalent, or ``None`` when it does not apply to this call."""
        if not native_args_fit(call, native):
            return None
        needs: list[str] = []
        if native.on_running_loop:
            if self.framework is not Framework.ASYNCIO:
                return None
            loop = self._spell("asyncio.get_running_loop", scope, needs)
            if loop is None:
                return None
            spelled = Spelling(f"await {loop}().{native.function}(...)", native.function, loop=loop, native=True,
                               needs=tuple(needs))
            return spelled
        name = self._spell(f"{self.framework.value}.{native.function}", scope, needs)
        if name is None:
            return None
        return Spelling(f"await {name}(...)", name, native=True, needs=tuple(needs))


def native_args_fit(call: ast.Call, native: Native) -> bool:
    """Whether the call's arguments fit the native form (``codemods.rewrite.offload._native_args``)."""
    if any(isinstance(arg, ast.Starred) for arg in call.args) or any(k.arg is None for k in call.keywords):
        return False
    if len(call.args) > native.positional + len(native.keyword_only):
        return False
    if any(keyword.arg not in native.keyword_only for keyword in call.keywords):
        return False
    return not (native.positional == 1 and not native.keyword_only and len(call.args) != 1)

"""How a fix would spell the names it needs, decided on ``ast``: the text of a finding.

A fixable finding says what the rewrite will be (``await asyncio.to_thread(requests.get,
...)``), and a call whose fix would need a name the module uses for something else
(``asyncio = ...``) is reported instead. Both depend on the module's imports and scopes
only, so ``check`` answers them without libcst; ``codemods.rewrite.offload`` builds the same
spellings as nodes when ``fix`` rewrites (a test compares the two on every fixture).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Iterable

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
    for candidate in imports.candidates(target):
        bindings = scope[candidate.split(".", 1)[0]]
        if (
            bindings
            and all(b.node is not None and (b.node in imports.unconditional or bound_before(b.node)) for b in bindings)
            and scope.qualified_names(candidate) == wanted
        ):
            return candidate, False
    root = target.split(".", 1)[0]
    # Nothing else has the name, or only conditional imports of that same module: an
    # unconditional ``import <root>`` makes the plain spelling safe.
    if all(
        b.node is not None and b.scope.kind == "module" and isinstance(b.node, ast.Import)
        and any(a.name.split(".")[0] == root and a.asname is None for a in b.node.names)
        for b in scope[root]
    ):
        return target, True
    return None


@dataclass(frozen=True)
class Spelling:
    """What a fix would read as, and the function that runs the work in a thread."""

    #: ``await asyncio.to_thread(requests.get, ...)``.
    detail: str
    #: ``asyncio.to_thread``, ``anyio.to_thread.run_sync``, ``loop().run_in_executor``.
    runner: str


class Speller:
    """The spellings of one module's fixes (``codemods.rewrite.offload.Offloader`` on ``ast``)."""

    def __init__(
        self, module: ast.Module, framework: Framework, legacy_executor: bool, bound_before: Callable[[ast.AST], bool]
    ) -> None:
        self.imports = ModuleImports(module)
        self.framework = framework
        self.legacy_executor = legacy_executor and framework is Framework.ASYNCIO
        self.bound_before = bound_before

    def _spell(self, target: str, scope: Scope) -> str | None:
        spelled = spell(self.imports, target, scope, self.bound_before)
        return None if spelled is None else spelled[0]

    def offload(self, callee: str, keywords: bool, scope: Scope) -> Spelling | None:
        """``callee(...)`` run in a thread; ``keywords``: the call passes keyword arguments."""
        if self.framework is Framework.ASYNCIO and not self.legacy_executor:
            runner = self._spell(THREAD_RUNNERS[Framework.ASYNCIO], scope)
            return None if runner is None else Spelling(f"await {runner}({callee}, ...)", runner)
        if self.framework is Framework.ASYNCIO:
            loop = self._spell("asyncio.get_running_loop", scope)
            partial = self._spell("functools.partial", scope)
            copy_context = self._spell("contextvars.copy_context", scope)
            if loop is None or partial is None or copy_context is None:
                return None
            runner = f"{loop}().run_in_executor"
            return Spelling(f"await {runner}(None, {partial}({copy_context}().run, {callee}, ...))", runner)
        runner_or_none = self._spell(THREAD_RUNNERS[self.framework], scope)
        if runner_or_none is None:
            return None
        runner = runner_or_none
        if keywords:
            partial = self._spell("functools.partial", scope)
            if partial is None:
                return None
            return Spelling(f"await {runner}({partial}({callee}, ...))", runner)
        return Spelling(f"await {runner}({callee}, ...)", runner)

    def native(self, call: ast.Call, native: Native, scope: Scope) -> Spelling | None:
        """The exact async equivalent, or ``None`` when it does not apply to this call."""
        if not native_args_fit(call, native):
            return None
        if native.on_running_loop:
            if self.framework is not Framework.ASYNCIO:
                return None
            loop = self._spell("asyncio.get_running_loop", scope)
            if loop is None:
                return None
            text = f"{loop}().{native.function}"
        else:
            name = self._spell(f"{self.framework.value}.{native.function}", scope)
            if name is None:
                return None
            text = name
        return Spelling(f"await {text}(...)", text)


def native_args_fit(call: ast.Call, native: Native) -> bool:
    """Whether the call's arguments fit the native form (``codemods.rewrite.offload._native_args``)."""
    if any(isinstance(arg, ast.Starred) for arg in call.args) or any(k.arg is None for k in call.keywords):
        return False
    if len(call.args) > native.positional + len(native.keyword_only):
        return False
    if any(keyword.arg not in native.keyword_only for keyword in call.keywords):
        return False
    return not (native.positional == 1 and not native.keyword_only and len(call.args) != 1)

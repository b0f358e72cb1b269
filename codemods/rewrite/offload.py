"""How a call is moved off the event loop, per module: the offload strategies.

- asyncio (the default): ``await asyncio.to_thread(f, *args, **kwargs)``;
- asyncio on Python < 3.9 (no ``to_thread``): what ``to_thread`` does, spelled out:
  ``await asyncio.get_running_loop().run_in_executor(None, functools.partial(
  contextvars.copy_context().run, f, *args, **kwargs))`` (the context variables go along);
- anyio / trio, when the module is written for them: ``await anyio.to_thread.run_sync(f,
  *args)`` / ``trio.to_thread.run_sync``, with ``functools.partial`` for keyword arguments.

Names are spelled the way the module already imports them (``import asyncio as aio``,
``from asyncio import to_thread``), and only where that spelling really resolves to the
intended function at the call site; otherwise the module is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import libcst as cst
from libcst.metadata import Assignment, GlobalScope, QualifiedName, QualifiedNameSource, Scope

from codemods.catalog import THREAD_RUNNERS, Framework, Native
from codemods.rewrite.nodes import dotted, first_arg_comma, source_of


_KNOWN_MODULES = ("asyncio", "anyio", "trio", "functools", "contextvars")


class ModuleImports:
    """Top-level imports of the modules loopsafe spells calls with."""

    def __init__(self, module: cst.Module) -> None:
        self.module_aliases: dict[str, list[str]] = {}
        self.from_aliases: dict[tuple[str, str], list[str]] = {}
        #: Import statements bound whenever the module has loaded: plain top-level
        #: statements, and those in a top-level ``try:`` (if one fails, the handler either
        #: raises or binds a fallback, which then shows up as a second binding).
        self.unconditional: set[cst.CSTNode] = set()
        statements: list[cst.BaseStatement] = []
        for top in module.body:
            if isinstance(top, cst.Try) and isinstance(top.body, cst.IndentedBlock):
                statements.extend(top.body.body)
            else:
                statements.append(top)
        for stmt in statements:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self.unconditional.add(small)
                    self._collect(small)

    @property
    def imported_modules(self) -> Iterable[str]:
        yield from self.module_aliases
        yield from (module for module, _ in self.from_aliases)

    def _collect(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                top = alias.evaluated_name.split(".")[0]
                if top in _KNOWN_MODULES:
                    bound = alias.evaluated_alias or top
                    if alias.evaluated_alias is None or "." not in alias.evaluated_name:
                        self.module_aliases.setdefault(top, []).append(bound)
        elif (
            isinstance(small, cst.ImportFrom)
            and not small.relative
            and small.module is not None
            and not isinstance(small.names, cst.ImportStar)
        ):
            module = source_of(small.module)
            if module.split(".")[0] in _KNOWN_MODULES:
                for alias in small.names:
                    bound = alias.evaluated_alias or alias.evaluated_name
                    self.from_aliases.setdefault((module, alias.evaluated_name), []).append(bound)

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
    imports: ModuleImports,
    target: str,
    scope: Scope,
    bound_before: Callable[[cst.CSTNode], bool] = lambda node: False,
) -> tuple[str, bool] | None:
    """``(spelling, needs_import)`` for ``target`` at ``scope``, or ``None`` if none is safe.

    An existing binding is reused only if it is certain to be bound when the call runs:
    an import that is a plain top-level statement of the module, or one that
    ``bound_before`` vouches for (an import at the top level of the coroutine, above
    the call). ``if TYPE_CHECKING: import asyncio`` is not such a binding.
    """
    wanted = {QualifiedName(target, QualifiedNameSource.IMPORT)}
    for candidate in imports.candidates(target):
        bindings = scope[candidate.split(".", 1)[0]]
        if (
            bindings
            and all(isinstance(b, Assignment) and (b.node in imports.unconditional or bound_before(b.node))
                    for b in bindings)
            and set(scope.get_qualified_names_for(candidate)) == wanted
        ):
            return candidate, False
    root = target.split(".", 1)[0]
    bindings = scope[root]
    # Nothing else has the name, or only conditional imports of that same module: an
    # unconditional ``import <root>`` makes the plain spelling safe.
    if all(
        isinstance(b, Assignment)
        and isinstance(b.scope, GlobalScope)
        and isinstance(b.node, cst.Import)
        and any(a.evaluated_name.split(".")[0] == root and a.evaluated_alias is None for a in b.node.names)
        for b in bindings
    ):
        return target, True
    return None


@dataclass(frozen=True)
class Spelled:
    """A rewrite's new code, and the modules it needs imported."""

    node: cst.Call
    needs: tuple[str, ...]
    #: How the fix reads in messages: ``await asyncio.to_thread(requests.get, ...)``.
    detail: str
    #: The function doing the work: ``asyncio.to_thread``, ``anyio.to_thread.run_sync``...
    runner: str


class Offloader:
    """Builds the offloading call for one module."""

    def __init__(
        self,
        module: cst.Module,
        framework: Framework,
        legacy_executor: bool,
        bound_before: Callable[[cst.CSTNode], bool] = lambda node: False,
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

    def offload(self, call: cst.Call, scope: Scope) -> Spelled | None:
        """``f(*args)`` -> the offloading call (not yet awaited); ``None`` if a name is unsafe."""
        needs: list[str] = []
        callee = source_of(call.func)
        if self.framework is Framework.ASYNCIO and not self.legacy_executor:
            runner = self._spell(THREAD_RUNNERS[Framework.ASYNCIO], scope, needs)
            if runner is None:
                return None
            return Spelled(_prepend(call, dotted(runner), call.func), tuple(needs), f"await {runner}({callee}, ...)", runner)
        if self.framework is Framework.ASYNCIO:
            # What asyncio.to_thread does: run_in_executor alone would drop the task's
            # context variables (request ids, decimal contexts) in the thread.
            loop = self._spell("asyncio.get_running_loop", scope, needs)
            partial = self._spell("functools.partial", scope, needs)
            copy_context = self._spell("contextvars.copy_context", scope, needs)
            if loop is None or partial is None or copy_context is None:
                return None
            runner_text = f"{loop}().run_in_executor"
            context_run = cst.Attribute(cst.Call(dotted(copy_context)), cst.Name("run"))
            bound = _prepend(call, dotted(partial), context_run, call.func)
            node = cst.Call(cst.Attribute(cst.Call(dotted(loop)), cst.Name("run_in_executor")),
                            [cst.Arg(cst.Name("None")), cst.Arg(bound)])
            detail = f"await {runner_text}(None, {partial}({copy_context}().run, {callee}, ...))"
            return Spelled(node, tuple(needs), detail, runner_text)
        else:
            runner_text_or_none = self._spell(THREAD_RUNNERS[self.framework], scope, needs)
            if runner_text_or_none is None:
                return None
            runner_text = runner_text_or_none
            runner_node = dotted(runner_text)
        if any(arg.keyword is not None or arg.star == "**" for arg in call.args):
            # These runners take no keyword arguments for the function: bind them first.
            partial = self._spell("functools.partial", scope, needs)
            if partial is None:
                return None
            bound = _prepend(call, dotted(partial), call.func)
            node = cst.Call(runner_node, [cst.Arg(bound)])
            return Spelled(node, tuple(needs), f"await {runner_text}({partial}({callee}, ...))", runner_text)
        node = _prepend(call, runner_node, call.func)
        return Spelled(node, tuple(needs), f"await {runner_text}({callee}, ...)", runner_text)

    def native(self, call: cst.Call, native: Native, scope: Scope) -> Spelled | None:
        """The exact async equivalent, or ``None`` when it does not apply to this call."""
        args = _native_args(call, native)
        if args is None:
            return None
        needs: list[str] = []
        if native.on_running_loop:
            if self.framework is not Framework.ASYNCIO:
                return None
            loop = self._spell("asyncio.get_running_loop", scope, needs)
            if loop is None:
                return None
            func: cst.BaseExpression = cst.Attribute(cst.Call(dotted(loop)), cst.Name(native.function))
            text = f"{loop}().{native.function}"
        else:
            name = self._spell(f"{self.framework.value}.{native.function}", scope, needs)
            if name is None:
                return None
            func, text = dotted(name), name
        node = call.with_changes(func=func, args=args, lpar=[], rpar=[])
        return Spelled(node, tuple(needs), f"await {text}(...)", text)


def _prepend(call: cst.Call, func: cst.BaseExpression, *first: cst.BaseExpression) -> cst.Call:
    """``call`` with ``func`` as callee and ``first`` inserted before its arguments."""
    inserted = [cst.Arg(value) for value in first]
    whitespace = call.whitespace_before_args
    if call.args:
        inserted = [arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for arg in inserted]
        inserted[-1] = inserted[-1].with_changes(comma=first_arg_comma(call))
        if isinstance(whitespace, cst.ParenthesizedWhitespace):
            # Comment lines above the first argument stay above it, below what we insert.
            whitespace = whitespace.with_changes(empty_lines=[])
    return call.with_changes(
        func=func, args=[*inserted, *call.args], lpar=[], rpar=[], whitespace_before_args=whitespace
    )


def _native_args(call: cst.Call, native: Native) -> Sequence[cst.Arg] | None:
    """The call's arguments in the native form's shape, or ``None`` if they don't fit."""
    if any(arg.star for arg in call.args):
        return None
    positional = [arg for arg in call.args if arg.keyword is None]
    keywords = [arg for arg in call.args if arg.keyword is not None]
    if len(positional) > native.positional + len(native.keyword_only):
        return None
    if any(arg.keyword is not None and arg.keyword.value not in native.keyword_only for arg in keywords):
        return None
    if native.positional == 1 and not native.keyword_only and len(positional) != 1:
        return None
    if len(positional) <= native.positional:
        return list(call.args)  # already in shape: keep the user's layout
    converted = list(positional[: native.positional])
    for name, arg in zip(native.keyword_only, positional[native.positional :]):
        converted.append(arg.with_changes(keyword=cst.Name(name), equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
    converted.extend(keywords)
    if converted:
        last = call.args[-1]
        converted = [arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for arg in converted]
        converted[-1] = converted[-1].with_changes(comma=last.comma)
    return converted

"""Code an earlier ``loopsafe fix`` wrote, seen as it was before that fix.

The block analysis (``codemods.analysis.block_analysis``) judges a module as its original code
would have it, so that ``check`` after ``fix`` gives a block it left for review the
reason it had before, and the result of an offloaded call keeps the type the call's
result had (``p = await asyncio.to_thread(Path(x).resolve)`` is still a path):

- ``await asyncio.to_thread(f, *a, **k)``, and the anyio, trio and ``run_in_executor``
  forms (through ``functools.partial``, ``contextvars.copy_context().run`` and lambdas
  without parameters) stand for ``f(*a, **k)``; a lambda whose parameters all have
  defaults (``lambda path=self.path: open(path).read()``, a chain whose arguments are
  bound when it is made) stands for its body with the defaults put back in place;
- ``await asyncio.sleep(x)`` and the other native forms stand for ``(x,)``: the catalog
  call they replaced may run in a thread, and what they read is still read;
- ``def _blocking_io(a, b): with ...`` followed by the statement that awaits it stands
  for the ``with`` block it moved (its hoisted arguments put back in place).

Every node that stands for an await is recorded in ``Unfixed.awaits``: a block holding
one still holds an await, and cannot move. Nodes outside the changed paths keep their
identity. Names resolve through imports only, never by spelling.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

from codemods.catalog import CATALOG, THREAD_RUNNER_NAMES, Framework
from codemods.analysis.flow import split_dotted, walk_statements

#: The prefix of the functions ``fix`` moves blocks into (``_blocking_io``, ``_blocking_io_2``).
HELPER_NAME = "_blocking_io"
#: The native forms of catalog calls (``asyncio.sleep``), and those that are methods of the running loop.
_NATIVES = frozenset(
    f"{framework.value}.{entry.native.function}" for entry in CATALOG for framework in Framework
    if entry.native is not None and not entry.native.on_running_loop
)
_LOOP_NATIVES = frozenset(entry.native.function for entry in CATALOG if entry.native and entry.native.on_running_loop)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass
class Unfixed:
    module: ast.Module
    #: The nodes that stand for an await of the fixed code.
    awaits: set[ast.AST] = field(default_factory=set)
    #: The functions an earlier fix moved a ``with`` block into (nodes of the fixed code).
    helpers: list[ast.FunctionDef] = field(default_factory=list)


def unfix(module: ast.Module) -> Unfixed:
    """``module`` with the coroutines' offloads seen as the code they replaced."""
    result = Unfixed(module)
    imports = _imports(module)
    if not imports:
        return result  # no runner can be named: nothing was offloaded
    seer = _Seer(imports, result.awaits, result.helpers)
    seen = seer.node(module)
    assert isinstance(seen, ast.Module)
    result.module = seen
    return result


def as_before_fix(expression: ast.expr, imports: dict[str, str]) -> ast.expr:
    """An expression of a coroutine with its offloads seen as the code they replaced
    (``imports``: ``module_imports`` of its module), to name it the same before and after a fix."""
    seer = _Seer(imports, set(), [])
    seer.in_coroutine = True
    seen = seer.node(expression)
    assert isinstance(seen, ast.expr)
    return seen


def module_imports(module: ast.Module) -> dict[str, str]:
    return _imports(module)


def _imports(module: ast.Module) -> dict[str, str]:
    """Names bound by imports, anywhere, to the one qualified name each stands for."""
    found: dict[str, set[str]] = {}
    for node in walk_statements(module.body, scopes=True):  # imports are statements: no expression is walked
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found.setdefault(alias.asname, set()).add(alias.name)
                else:
                    root = alias.name.split(".")[0]
                    found.setdefault(root, set()).add(root)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                found.setdefault(alias.asname or alias.name, set()).add(f"{node.module}.{alias.name}")
    return {name: next(iter(qualnames)) for name, qualnames in found.items() if len(qualnames) == 1}


class _Seer:
    def __init__(self, imports: dict[str, str], awaits: set[ast.AST], helpers: list[ast.FunctionDef]) -> None:
        self.imports = imports
        self.awaits = awaits
        self.helpers = helpers
        self.in_coroutine = False

    def qualname(self, node: ast.expr) -> str | None:
        split = split_dotted(node)
        if split is None or split[0] not in self.imports:
            return None
        return self.imports[split[0]] + split[1]

    # -- the walk: copies only the nodes on the way to a change -----------------------

    def node(self, node: ast.AST) -> ast.AST:
        outer = self.in_coroutine
        if isinstance(node, _FUNCTIONS):
            self.in_coroutine = isinstance(node, ast.AsyncFunctionDef)
        try:
            changed: dict[str, object] = {}
            for name, value in ast.iter_fields(node):
                if isinstance(value, list):
                    new = self.statements(value) if self.in_coroutine and name in ("body", "orelse", "finalbody") \
                        else [self.node(item) if isinstance(item, ast.AST) else item for item in value]
                    if len(new) != len(value) or any(a is not b for a, b in zip(new, value)):
                        changed[name] = new
                elif isinstance(value, ast.AST):
                    replaced = self.node(value)
                    if replaced is not value:
                        changed[name] = replaced
            if isinstance(node, ast.Await) and self.in_coroutine:
                original = self.offloaded(changed.get("value", node.value))  # type: ignore[arg-type]
                if original is not None:
                    self.awaits.add(original)
                    return ast.copy_location(original, node)
            if not changed:
                return node
            new_node = copy.copy(node)
            for name, value in changed.items():
                setattr(new_node, name, value)
            return new_node
        finally:
            self.in_coroutine = outer

    def statements(self, items: list[object]) -> list[object]:
        seen: list[object] = []
        skip = False
        for index, item in enumerate(items):
            if skip:
                skip = False
                continue
            following = items[index + 1] if index + 1 < len(items) else None
            block = self.moved_block(item, following) if isinstance(item, ast.FunctionDef) else None
            if block is not None:
                assert isinstance(item, ast.FunctionDef)
                self.helpers.append(item)
                self.awaits.add(block)
                seen.append(self.node(block))
                skip = True
            else:
                seen.append(self.node(item) if isinstance(item, ast.AST) else item)
        return seen

    # -- what an awaited call stands for ----------------------------------------------

    def offloaded(self, call: ast.expr) -> ast.expr | None:
        if not isinstance(call, ast.Call):
            return None
        name = self.qualname(call.func)
        if name in _NATIVES or (
            isinstance(call.func, ast.Attribute) and call.func.attr in _LOOP_NATIVES and self.running_loop(call.func)
        ):
            return ast.Tuple([*call.args, *(k.value for k in call.keywords)], ast.Load())
        if name in THREAD_RUNNER_NAMES and call.args and not isinstance(call.args[0], ast.Starred):
            return self.called(call.args[0], call.args[1:], call.keywords)
        if (isinstance(call.func, ast.Attribute) and call.func.attr == "run_in_executor"
                and self.running_loop(call.func) and len(call.args) == 2 and not call.keywords):
            return self.called(call.args[1], [], [])
        return None

    def called(self, function: ast.expr, args: list[ast.expr], keywords: list[ast.keyword]) -> ast.expr:
        """``function(*args, **keywords)``, through ``functools.partial`` and lambdas without parameters."""
        while (isinstance(function, ast.Call) and function.args and not isinstance(function.args[0], ast.Starred)
               and self.qualname(function.func) == "functools.partial"):
            args = [*function.args[1:], *args]
            keywords = [*function.keywords, *keywords]
            function = function.args[0]
            # run_in_executor's ``partial(contextvars.copy_context().run, f, ...)``: the call is f's.
            if (isinstance(function, ast.Attribute) and function.attr == "run" and isinstance(function.value, ast.Call)
                    and self.qualname(function.value.func) == "contextvars.copy_context"
                    and args and not isinstance(args[0], ast.Starred)):
                function, args = args[0], args[1:]
        if isinstance(function, ast.Lambda) and not args and not keywords and no_parameters(function.args):
            return function.body
        if isinstance(function, ast.Lambda) and not args and not keywords and _defaults_only(function.args):
            parameters = function.args.args
            return _substitute(function.body, {p.arg: d for p, d in zip(parameters, function.args.defaults)})
        return ast.copy_location(ast.Call(function, args, keywords), function)

    def running_loop(self, method: ast.Attribute) -> bool:
        """``asyncio.get_running_loop().<method>``."""
        loop = method.value
        return isinstance(loop, ast.Call) and self.qualname(loop.func) == "asyncio.get_running_loop"

    def moved_block(self, helper: ast.FunctionDef, following: object) -> ast.With | None:
        """The ``with`` block ``helper`` holds, if ``following`` runs it as ``fix`` does."""
        body = helper.body
        if (not helper.name.startswith(HELPER_NAME) or helper.decorator_list or not isinstance(body[0], ast.With)
                or len(body) > 2 or (len(body) == 2 and not isinstance(body[1], ast.Return))
                or not no_parameters(helper.args, positional=True)):
            return None
        value = following.value if isinstance(following, (ast.Expr, ast.Assign)) else None
        if not isinstance(value, ast.Await):
            return None
        runs = self.offloaded(value.value)
        if not (isinstance(runs, ast.Call) and isinstance(runs.func, ast.Name) and runs.func.id == helper.name
                and not runs.keywords and len(runs.args) == len(helper.args.args)):
            return None
        # Arguments passed under another name were hoisted out of the ``open(...)`` call.
        hoisted = {
            parameter.arg: argument for parameter, argument in zip(helper.args.args, runs.args)
            if not (isinstance(argument, ast.Name) and argument.id == parameter.arg)
        }
        block = body[0]
        if not hoisted:
            return block
        items = [ast.withitem(_substitute(item.context_expr, hoisted), item.optional_vars) for item in block.items]
        restored = copy.copy(block)
        restored.items = items
        return restored


def no_parameters(arguments: ast.arguments, positional: bool = False) -> bool:
    """No parameters at all; with ``positional``, plain positional ones only."""
    return ((positional or not arguments.args) and not arguments.posonlyargs and not arguments.kwonlyargs
            and arguments.vararg is None and arguments.kwarg is None and not arguments.defaults)


def _defaults_only(arguments: ast.arguments) -> bool:
    """Plain parameters, each with a default, and nothing else."""
    return (bool(arguments.args) and len(arguments.defaults) == len(arguments.args) and not arguments.posonlyargs
            and not arguments.kwonlyargs and arguments.vararg is None and arguments.kwarg is None)


def _substitute(expression: ast.expr, values: dict[str, ast.expr]) -> ast.expr:
    """``expression`` with the names in ``values`` replaced by their expressions."""
    class Substitute(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return values.get(node.id, node)

    return Substitute().visit(copy.deepcopy(expression))  # type: ignore[no-any-return]

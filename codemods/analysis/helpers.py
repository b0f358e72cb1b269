"""Blocking calls behind the project's own sync functions and methods (LS301).

A coroutine rarely calls ``open()`` itself; it calls ``load_config()``, which does, maybe
from another module. Each module is *summarised* (``summarise``): for every sync function
and method, the calls its body makes that matter, in order (blocking calls of the catalog,
calls of other functions by their absolute dotted name, ``self.m()`` calls by class), and
why it could not run in a worker thread, from its own body. A ``ProjectIndex`` over the
summaries of the project's modules answers, for the function a call reaches (resolved
through the scopes, imports, relative imports, re-exports and in-project base classes,
never by spelling), how it blocks (``Chain``) and whether it may run in a thread. What
runs is judged by the whole project (``ProjectText``: overrides in subclasses, assignments
of the name in other modules), and answers do not depend on the order of the questions.

Summaries are small, plain data: the cache keeps them and the runner sends them to the
workers that need them (``codemods.project``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, cast

from codemods.analysis.bindings import ModuleScopes, Scope, Source, is_dotted_name, resolve
from codemods.analysis.modules import NO_MODULE, ModuleName, ProjectView
from codemods.analysis.modules import ClassFacts as ClassFacts
from codemods.analysis.modules import FunctionFacts as FunctionFacts
from codemods.analysis.modules import FunctionTable as FunctionTable
from codemods.analysis.modules import ModuleHandle as ModuleHandle
from codemods.analysis.modules import ModuleSummary as ModuleSummary
from codemods.analysis.modules import Step as Step
from codemods.analysis.block_analysis import DATA, EXCEPTION_CLASSES, LOGGER, PATH, ModuleConstants, matches_any
from codemods.analysis.comments import MAY_SUPPRESS, Comments, suppressed_by_comment
from codemods.analysis.detector import Detector
from codemods.analysis.flow import split_dotted, walk, walk_syntax
from codemods.analysis.screen import child_fields
from codemods.findings import Finding, shown_name
from codemods.observed import Cost

from codemods.catalog import (
    CATEGORIES, CURRENT_EXCEPTION, EVENT_LOOP_MODULES, THREAD_BOUND, THREAD_SAFE,
)

CODE = CATEGORIES["helper"][0]
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
#: Objects that belong to the thread that made them: made in a worker thread, they are of
#: no use to the coroutine; made on the loop's thread, a worker cannot use them.
_THREAD_BOUND_MODULES = ("sqlite3.",)

# -- what a helper run in a worker thread must not do (data; ``_Review`` applies it) ---------

_AFFINE = ("an object bound to the thread that made it (a sqlite3 connection or cursor refuses other "
           "threads), or to the event loop (a future, the loop, an asyncio queue or event: not thread-safe)")
#: Methods of such objects, on whatever receiver (a parameter, a module variable, a value
#: derived from them): the helper could be handed one.
_THREAD_AFFINE_METHODS = frozenset({
    "execute", "executemany", "executescript", "cursor", "commit", "rollback", "fetchone", "fetchall",
    "fetchmany", "iterdump", "backup", "set_result", "set_exception", "add_done_callback",
    "remove_done_callback", "call_soon", "call_later", "call_at", "create_task", "create_future",
    "run_until_complete", "run_in_executor", "put_nowait", "get_nowait", "task_done",
})
#: Annotations of a parameter that say it is such an object (absolute names, ``module.*``).
_THREAD_AFFINE_TYPES = ("sqlite3.*", "asyncio.*", "anyio.*", "trio.*", "concurrent.futures.Future")
_LOCK = ("a lock another task or the loop's thread holds blocks the worker for good, and an RLock "
         "the loop's thread holds deadlocks it (re-entrancy is per thread)")
#: Names of locks: a parameter annotated so, or a call making one (absolute names).
_LOCK_TYPES = ("threading.Lock", "threading.RLock", "threading.Condition", "threading.Semaphore",
               "threading.BoundedSemaphore", "multiprocessing.Lock", "multiprocessing.RLock")
_HANG = "its StopIteration cannot cross into the awaiting task (the await would hang)"
_WINDOW = "while the thread runs, other tasks see the change (the window now overlaps them)"
#: Calls that change state of the whole process (absolute names, ``module.*``), and what.
_PROCESS_STATE: Mapping[str, str] = {
    **dict.fromkeys(("logging.basicConfig", "logging.disable", "logging.captureWarnings", "logging.setLoggerClass",
                     "logging.addLevelName", "logging.config.*", "logging.root.*"), "logging's configuration"),
    **dict.fromkeys(("warnings.filterwarnings", "warnings.simplefilter", "warnings.resetwarnings",
                     "warnings.catch_warnings"), "the warnings filters"),
    **dict.fromkeys(("os.environ.update", "os.environ.pop", "os.environ.setdefault", "os.environ.clear",
                     "os.environ.popitem", "os.environ.__setitem__", "os.environ.__delitem__", "os.putenv",
                     "os.unsetenv"), "the environment (os.environ)"),
    **dict.fromkeys(("sys.path.append", "sys.path.insert", "sys.path.extend", "sys.path.remove", "sys.path.pop",
                     "sys.path.clear"), "the import path (sys.path)"),
    **dict.fromkeys(("os.chdir", "os.fchdir", "contextlib.chdir"), "the working directory"),
    "os.umask": "the file mode mask (umask)",
    "locale.setlocale": "the locale",
    **dict.fromkeys(("random.seed", "random.setstate"), "the state of the random generator every task shares"),
    "sys.setrecursionlimit": "the recursion limit",
    "sys.setswitchinterval": "the thread switch interval",
    "socket.setdefaulttimeout": "the default timeout of new sockets",
}
#: Calls that work only in the main thread (absolute names, ``module.*``).
_MAIN_THREAD_ONLY = ("signal.signal", "signal.set_wakeup_fd", "signal.siginterrupt", "signal.setitimer",
                     "signal.alarm", "signal.pthread_sigmask")
#: Methods that change a logger's configuration (loggers are shared by the whole process).
_LOGGER_SETTERS = frozenset({"setLevel", "addHandler", "removeHandler", "addFilter", "removeFilter", "disable"})
#: Attributes of a logger whose assignment changes it for the whole process.
_LOGGER_ATTRIBUTES = frozenset({"level", "disabled", "propagate", "handlers", "filters"})
#: A comment that may declare a function not blocking (on decoded text).
_MAY_DECLARE = re.compile(MAY_SUPPRESS)
#: Decorators that leave a method's body what a call runs.
_METHOD_DECORATORS = frozenset({"classmethod", "staticmethod"})
#: Decorators of a module-level function that leave what a call returns as its annotation says.
_RESULT_DECORATORS = frozenset({"functools.cache", "functools.lru_cache"})

# -- one module's summary ----------------------------------------------------------------


class ModuleFunctions:
    """The sync functions and methods of one module, read on ``ast``: how a call in it is
    resolved (``callee``) and the module's summary (``summary``)."""

    def __init__(
        self, tree: ast.Module, scopes: ModuleScopes, detector: Detector, comments: Comments | Callable[[], Comments],
        module: ModuleName = NO_MODULE, declared: frozenset[str] = frozenset(),
    ) -> None:
        """``comments``: the module's, or how to read them when first needed."""
        self.tree = tree
        self.scopes = scopes
        self.detector = detector
        self._comments = comments
        self.module = module
        self.declared = declared
        self._constants: ModuleConstants | None = None
        self._summary: ModuleSummary | None = None
        self._classes: set[ast.ClassDef] | None = None

    @property
    def comments(self) -> Comments:
        if not isinstance(self._comments, Comments):
            self._comments = self._comments()
        return self._comments

    @property
    def key_prefix(self) -> str:
        return f"{self.module.name}."

    # -- calls -------------------------------------------------------------------------

    def callee(self, call: ast.Call, scope: Scope) -> Step | None:
        """The project function ``call`` certainly calls, if it calls one by a name: every
        binding of the name is that ``def``, that import or that class; ``self.m()`` /
        ``cls.m()`` in a method of the class names the method of the class."""
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            method = self._method_called(func, scope)
            if method is not None:
                return method
        if not isinstance(func, (ast.Name, ast.Attribute)) or not is_dotted_name(func):
            return None
        dotted = self.dotted_name(func, scope)
        return None if dotted is None else ("call", dotted)

    def dotted_name(self, node: ast.Name | ast.Attribute, scope: Scope) -> str | None:
        """The absolute dotted name a dotted expression stands for, when its root is
        certainly one import or one definition of the module (not a parameter or local)."""
        split = split_dotted(node)
        if split is None:
            return None
        root, suffix = split
        parts = suffix.split(".")[1:]
        bindings = scope[root]
        nodes = {binding.node for binding in bindings}
        if len(nodes) != 1:
            return None
        binding = bindings[0]
        # An import names the same module wherever it is (``from .db import open_db`` in a coroutine).
        if binding.node is None or (binding.scope.kind != "module" and not binding.is_import):
            return None
        if binding.is_import:
            names = {q.name for q in scope.qualified_names(node) if q.source is Source.IMPORT}
            if len(names) != 1:
                return None
            return self.module.absolute(names.pop())
        if isinstance(binding.node, ast.FunctionDef) and not parts:
            return self.key_prefix + root
        if isinstance(binding.node, ast.ClassDef) and len(parts) == 1:
            return f"{self.key_prefix}{root}.{parts[0]}"
        return None

    def _method_called(self, func: ast.Attribute, scope: Scope) -> Step | None:
        """``self.save()`` in a method of class C: the ``save`` of C's MRO (the method an
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
        if owner.node not in self._module_classes():
            return None  # a class nested in a function: not in the summary
        return ("method", self.key_prefix + owner.node.name, func.attr)

    # -- the summary -------------------------------------------------------------------

    def summary(self) -> ModuleSummary:
        if self._summary is None:
            self._summary = self._summarise()
        return self._summary

    def _module_classes(self) -> set[ast.ClassDef]:
        if self._classes is None:
            self._classes = {s for s in _module_level(self.tree.body) if isinstance(s, ast.ClassDef)}
        return self._classes

    def _summarise(self) -> ModuleSummary:
        module_scope = self.scopes.scope_of(self.tree)
        functions: dict[str, tuple[ast.FunctionDef, ast.ClassDef | None]] = {}
        classes: dict[str, ClassFacts] = {}
        aliases: dict[str, str] = {}
        for name in module_scope.names():
            bindings = module_scope.bindings_of(name)
            nodes = {binding.node for binding in bindings}
            if len(nodes) != 1:
                continue
            node = nodes.pop()
            if isinstance(node, ast.FunctionDef) and node.name == name:
                functions[name] = (node, None)
            elif isinstance(node, ast.ClassDef) and node.name == name:
                classes[name] = self._class_facts(node)
                members = _members(node)
                for member, definitions in members.items():
                    if len(definitions) == 1 and isinstance(definitions[0], ast.FunctionDef):
                        functions[f"{name}.{member}"] = (definitions[0], node)
            elif bindings[0].is_import and "." not in name:
                qualified = {q.name for q in bindings[0].qualified_names(name) if q.source is Source.IMPORT}
                absolute = self.module.absolute(qualified.pop()) if len(qualified) == 1 else None
                if absolute is not None:
                    aliases[name] = absolute
        table = FunctionTable(functions, compute=lambda key: self._facts(*functions[key]))
        stars = tuple(
            absolute for statement in _module_level(self.tree.body)
            if isinstance(statement, ast.ImportFrom) and any(alias.name == "*" for alias in statement.names)
            for absolute in [self.module.absolute("." * statement.level + (statement.module or ""))]
            if absolute is not None
        )
        return ModuleSummary(self.module.name, table, classes, aliases, lambda: self._assigned(module_scope), stars)

    def _assigned(self, module_scope: Scope) -> frozenset[str]:
        """What the module assigns of other modules and of classes, anywhere in it: roots
        resolved at module level (a local of the same name makes a name too many, never
        one too few)."""
        found: set[str] = set()
        for node in walk_syntax(self.tree):
            targets: list[ast.expr] = []
            if isinstance(node, (ast.Assign, ast.Delete)):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            elif isinstance(node, ast.Call):
                found.update(self._patched(node, module_scope))
            for target in targets:
                for part in walk_syntax(target):
                    if isinstance(part, ast.Attribute) and isinstance(part.ctx, (ast.Store, ast.Del)):
                        owner = self._resolved(part.value, module_scope)
                        if owner is not None:
                            found.add(f"{owner}.{part.attr}")
        return frozenset(found)

    def _resolved(self, node: ast.expr, module_scope: Scope) -> str | None:
        if not isinstance(node, (ast.Name, ast.Attribute)) or not is_dotted_name(node):
            return None
        split = split_dotted(node)
        if split is None:
            return None
        root, suffix = split
        bindings = module_scope.bindings_of(root)
        if len({b.node for b in bindings}) != 1:
            return None
        binding = bindings[0]
        if binding.is_import:
            names = {q.name for q in binding.qualified_names(root) if q.source is Source.IMPORT}
            absolute = self.module.absolute(names.pop()) if len(names) == 1 else None
            return None if absolute is None else absolute + suffix[len(root):]
        if isinstance(binding.node, ast.ClassDef) and suffix == root:
            return self.key_prefix + root
        return None

    def _patched(self, call: ast.Call, module_scope: Scope) -> Iterator[str]:
        """``setattr(x, "name", v)``, ``monkeypatch.setattr(x, "name", v)``,
        ``patch.object(x, "name")``; ``monkeypatch.setattr("a.b.name", v)``, ``patch("a.b.name")``."""
        func = call.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if called not in ("setattr", "object", "patch", "delattr") or not call.args:
            return
        first = call.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and "." in first.value:
            yield first.value
        elif len(call.args) > 1 and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str):
            owner = self._resolved(first, module_scope)
            if owner is not None:
                yield f"{owner}.{call.args[1].value}"

    def _class_facts(self, node: ast.ClassDef) -> ClassFacts:
        scope = self.scopes.scope_of(node)
        bases: list[str | None] = []
        for base in node.bases:
            if isinstance(base, (ast.Name, ast.Attribute)) and is_dotted_name(base):
                bases.append(self._base_name(base, scope))
            else:
                bases.append(None)
        return ClassFacts(tuple(bases), frozenset(_members(node)), _instance_attributes(node))

    def _base_name(self, base: ast.Name | ast.Attribute, scope: Scope) -> str | None:
        if isinstance(base, ast.Name):
            bindings = scope[base.id]
            if len(bindings) == 1 and bindings[0].is_builtin:
                return f"builtins.{base.id}"
            if len(bindings) == 1 and isinstance(bindings[0].node, ast.ClassDef) and bindings[0].scope.kind == "module":
                return self.key_prefix + base.id
        dotted = self.dotted_name(base, scope)
        return dotted

    def _facts(self, function: ast.FunctionDef, owner: ast.ClassDef | None) -> FunctionFacts:
        decorators = [_decorator_name(d) for d in function.decorator_list]
        declared = function.name in self.declared or (
            # Most headers hold no comment that could say so: the module is tokenized only
            # when one may.
            _MAY_DECLARE.search(self.detector.source_of.lines(function.lineno, function.body[0].lineno)) is not None
            and suppressed_by_comment(self.comments.of_statement(function), CODE)
        )
        review = _Review(self, function, owner)
        followed = not review.generator and (owner is None or set(decorators) <= _METHOD_DECORATORS)
        refusal = review.refusal
        if refusal is None and not set(decorators) <= _METHOD_DECORATORS:
            refusal = "it is decorated, and loopsafe cannot see what the decorator runs"
        returns = None
        if owner is None and function.returns is not None and not review.generator and all(
            set(resolve(d.func if isinstance(d, ast.Call) else d, self.scopes.scope_of(function)) or {""})
            <= _RESULT_DECORATORS for d in function.decorator_list
        ):
            returns = self.detector.annotated_name(function.returns, self.scopes.scope_of(function))
        return FunctionFacts(function.name, tuple(review.steps), followed, declared, refusal, returns)

    def constants(self) -> ModuleConstants:
        if self._constants is None:
            self._constants = ModuleConstants(self.tree, self.detector.constructors)
        return self._constants


def _module_level(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements at module level, also inside ``if``/``try``/``with`` blocks."""
    for statement in statements:
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With)) or type(statement).__name__ == "TryStar":
            for name in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(statement, name, []))
            for handler in getattr(statement, "handlers", []):
                yield from _module_level(handler.body)


def _members(node: ast.ClassDef) -> dict[str, list[ast.AST]]:
    members: dict[str, list[ast.AST]] = {}
    for statement in _module_level(node.body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            members.setdefault(statement.name, []).append(statement)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                for name in walk(target):
                    if isinstance(name, ast.Name):
                        members.setdefault(name.id, []).append(statement)
    return members


def _instance_attributes(node: ast.ClassDef) -> frozenset[str]:
    """Names the class's methods bind on their instance: ``self.name = ...`` (any method's
    first parameter), ``setattr(self, "name", ...)``."""
    found: set[str] = set()
    for statement in _module_level(node.body):
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        arguments = [*statement.args.posonlyargs, *statement.args.args]
        if not arguments:
            continue
        receiver = arguments[0].arg
        for part in walk_syntax(statement):
            if (isinstance(part, ast.Attribute) and isinstance(part.ctx, ast.Store)
                    and isinstance(part.value, ast.Name) and part.value.id == receiver):
                found.add(part.attr)
            elif (isinstance(part, ast.Call) and isinstance(part.func, ast.Name) and part.func.id == "setattr"
                    and len(part.args) > 1 and isinstance(part.args[0], ast.Name) and part.args[0].id == receiver
                    and isinstance(part.args[1], ast.Constant) and isinstance(part.args[1].value, str)):
                found.add(part.args[1].value)
    return frozenset(found)


def _decorator_name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else ast.dump(node)


class _Review:
    """One function's body, read once: the steps that matter, whether it is a generator,
    and the first reason it may not run in a worker thread (a function that touches only
    its arguments, its locals, constants and blocking I/O may)."""

    def __init__(self, functions: ModuleFunctions, function: ast.FunctionDef, owner: ast.ClassDef | None) -> None:
        self.functions = functions
        self.function = function
        self.steps: list[Step] = []
        self.generator = False
        self.refusal: str | None = None
        arguments = [*function.args.posonlyargs, *function.args.args]
        static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in function.decorator_list)
        #: ``self`` / ``cls``: the instance or class, shared with the coroutines.
        self.receiver = arguments[0].arg if owner is not None and arguments and not static else None
        functions.scopes.walk_function(function)
        self.scope = functions.scopes.scope_of(function.body[0])
        self.nodes = _own_nodes(function)
        self.call_funcs = {n.func for n in self.nodes if isinstance(n, ast.Call)}
        self.raised = {n.exc for n in self.nodes if isinstance(n, ast.Raise)}
        self._parameters(function)
        self._walk()

    def _parameters(self, function: ast.FunctionDef) -> None:
        """A parameter annotated as a thread-bound object or a lock: the helper is given one."""
        arguments = function.args
        for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            annotation = argument.annotation
            if not isinstance(annotation, (ast.Name, ast.Attribute)) or not is_dotted_name(annotation):
                continue
            dotted = self.functions.dotted_name(annotation, self.functions.scopes.scope_of(function))
            if dotted is None:
                continue
            shown = f"`{argument.arg}: {ast.unparse(annotation)}`"
            if dotted in _LOCK_TYPES:
                self._refuse(f"it takes {shown}, a lock: {_LOCK}")
            elif matches_any(dotted, _THREAD_AFFINE_TYPES):
                self._refuse(f"it takes {shown}, {_AFFINE}")

    def _refuse(self, reason: str) -> None:
        if self.refusal is None:
            self.refusal = reason

    def _walk(self) -> None:
        detector = self.functions.detector
        for node in self.nodes:
            if isinstance(node, (ast.Yield, ast.YieldFrom)):
                self.generator = True
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                self._refuse(f"it declares `{node.names[0]}` {'global' if isinstance(node, ast.Global) else 'nonlocal'}")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self._refuse("it imports a module, whose code would run in the worker thread")
            elif isinstance(node, _SCOPES) and node is not self.function:
                self._refuse("it defines a function or class, whose code loopsafe does not follow")
            elif isinstance(node, ast.With):
                for item in node.items:
                    if not isinstance(item.context_expr, ast.Call):
                        shown = ast.unparse(item.context_expr)
                        self._refuse(f"it enters `{shown}` in a `with`, which may take a lock: {_LOCK}")
            elif isinstance(node, ast.Raise) and _names_stop_iteration(node.exc):
                self._refuse("it raises StopIteration, which cannot cross into the awaiting task (it would hang)")
            elif isinstance(node, ast.Call):
                scope = self.functions.scopes.scope_or(node.func, self.scope)
                match = detector.match(node, scope)
                if match is not None:
                    reason = thread_reason(match.entry.qualname, node)
                    if reason is not None:
                        self._refuse(reason)
                    if match.reason is None and match.entry.category != "process-start":
                        self.steps.append(("block", match.entry.qualname))
                    made = detector.constructors.get(match.entry.qualname)
                    if made is not None and made.name.startswith(_THREAD_BOUND_MODULES):
                        self._refuse(f"it makes a {made.name}, which is bound to the thread that made it")
                    continue
                self._call(node, scope)
            elif isinstance(node, ast.Name):
                self._name(node)
            elif isinstance(node, (ast.Attribute, ast.Subscript)):
                self._access(node)

    # -- calls ---------------------------------------------------------------------------

    def _call(self, call: ast.Call, scope: Scope) -> None:
        step = self.functions.callee(call, scope)
        func = call.func
        if step is None and isinstance(func, ast.Attribute):
            reason = method_reason(func)
            if reason is not None:
                self._refuse(reason)
                return
        if step is not None and step[0] == "method":
            self.steps.append(step)
            return
        if step is not None:
            dotted = step[1]
            reason = thread_reason(dotted, call)
            made = self.functions.detector.constructors.get(dotted)
            if reason is not None:
                self._refuse(reason)
            elif not matches_any(dotted, THREAD_SAFE) and not (made is not None and made.name.startswith("pathlib.")):
                self.steps.append(step)  # (a path is plain data: making one does nothing)
            return
        if not isinstance(func, (ast.Name, ast.Attribute)) or not is_dotted_name(func):
            if not isinstance(func, ast.Attribute):
                self._refuse("it calls something loopsafe cannot name")
            return  # a method of a value it computed (``open(p).read()``, ``text.strip().split()``)
        root = _root(func)
        if root is None:
            return
        bindings = scope[root.id]
        if isinstance(func, ast.Name):
            if bindings and all(b.is_builtin for b in bindings):
                reason = thread_reason(f"builtins.{func.id}", call)
                if reason is not None:
                    self._refuse(reason)
                elif not matches_any(f"builtins.{func.id}", THREAD_SAFE) and func.id not in EXCEPTION_CLASSES:
                    self._refuse(f"it calls {func.id}()")
                return
            if bindings and all(isinstance(b.node, ast.ClassDef) for b in bindings):
                if not self._raised(call):
                    self._refuse(f"it constructs {func.id}, whose code loopsafe does not follow")
                return
            self._refuse(f"it calls `{func.id}`, which may be any function")
            return
        # ``x.method(...)``: a method of a value; the value is checked where it is read
        # (and the method by its name, above).

    def _raised(self, call: ast.Call) -> bool:
        return call in self.raised

    # -- reads and writes ----------------------------------------------------------------

    def _name(self, node: ast.Name) -> None:
        if node.id == self.receiver:
            return  # checked at its attribute
        if not isinstance(node.ctx, ast.Load):
            return
        bindings = self.functions.scopes.scope_or(node, self.scope)[node.id]
        if not bindings:
            return
        if any(b.scope.kind == "module" for b in bindings):
            if all(b.is_import or isinstance(b.node, (ast.FunctionDef, ast.ClassDef)) for b in bindings):
                return
            kind = self.functions.constants().module_kind(node.id)
            if kind not in (DATA, PATH, LOGGER):
                self._refuse(f"it reads the module variable `{node.id}`, which other tasks may change meanwhile")

    def _access(self, node: ast.Attribute | ast.Subscript) -> None:
        root = _root(node)
        if root is None:
            return
        writes = not isinstance(node.ctx, ast.Load)
        if root.id == self.receiver:
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and not writes and self._called(node):
                return  # ``self.m()``: followed as a step
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                what = "changes" if writes else "reads"
                self._refuse(f"it {what} `{root.id}.{node.attr}`, which other tasks may use meanwhile")
            return
        if not writes:
            return
        bindings = self.functions.scopes.scope_or(root, self.scope)[root.id]
        if bindings and all(b.is_import for b in bindings):
            target = ast.unparse(node) if isinstance(node, ast.Attribute) else ast.unparse(node.value)
            self._refuse(f"it changes `{target}`, state of the whole process")
        elif any(b.scope.kind == "module" for b in bindings):
            self._refuse(f"it changes the module variable `{root.id}`, which other tasks may use meanwhile")

    def _called(self, node: ast.Attribute) -> bool:
        return node in self.call_funcs


def _own_nodes(function: ast.FunctionDef) -> list[ast.AST]:
    """The nodes of the function's own body that matter to a review, in order (nested
    scopes: the node itself, its decorators and defaults, not its body). Constants,
    contexts and operators are left out: nothing is decided on them."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = list(reversed(function.body))
    append, pop, extend = found.append, pending.pop, pending.extend
    while pending:
        node = pop()
        kind = type(node)
        if kind is ast.Constant:
            continue
        append(node)
        if kind is ast.Name:
            continue
        if kind in _SCOPE_TYPES:
            extend(reversed([*getattr(node, "decorator_list", ()), *_defaults(node)]))
            continue
        children: list[ast.AST] = []
        for name in child_fields(kind):
            value = getattr(node, name)
            if type(value) is list:
                children.extend(v for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                children.append(value)
        children.reverse()
        extend(children)
    return found


_SCOPE_TYPES = frozenset(_SCOPES)


def _defaults(node: ast.AST) -> list[ast.expr]:
    arguments = getattr(node, "args", None)
    if not isinstance(arguments, ast.arguments):
        return []
    return [d for d in [*arguments.defaults, *arguments.kw_defaults] if d is not None]


def _root(node: ast.expr) -> ast.Name | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node if isinstance(node, ast.Name) else None


def _names_stop_iteration(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Call):
        node = node.func
    return isinstance(node, ast.Name) and node.id == "StopIteration"


def thread_reason(qualname: str, call: ast.Call) -> str | None:
    """Why a call of ``qualname`` may not run in a worker thread, if it may not."""
    if qualname == "builtins.vars" and call.args:
        return None  # ``vars(obj)`` reads an object, not the caller's frame
    if qualname in THREAD_BOUND:
        return f"it {THREAD_BOUND[qualname].split(', which')[0]}"
    if qualname in CURRENT_EXCEPTION:
        return f"it calls {shown_name(qualname)}(), which reads the exception being handled: a worker thread has none"
    if qualname.split(".")[0] in EVENT_LOOP_MODULES or qualname.startswith("contextvars."):
        return f"it calls {shown_name(qualname)}(), which belongs to the event loop's thread"
    if qualname == "builtins.next":
        if len(call.args) < 2:
            return "it calls next() without a default: its StopIteration cannot cross into the awaiting task"
        return ("it calls next(), which advances an iterator: one it was given (a generator) would run in the "
                "worker thread while other tasks use what it reads")
    if qualname.endswith(".__next__"):
        return f"it calls {shown_name(qualname)}(): {_HANG}"
    if qualname in _LOCK_TYPES or qualname.endswith(".acquire"):
        return f"it calls {shown_name(qualname)}(), a lock: {_LOCK}"
    for pattern, what in _PROCESS_STATE.items():
        if matches_any(qualname, (pattern,)):
            return f"it calls {shown_name(qualname)}(), which changes {what} for the whole process: {_WINDOW}"
    if matches_any(qualname, _MAIN_THREAD_ONLY):
        return f"it calls {shown_name(qualname)}(), which works only in the main thread (ValueError in a worker)"
    return None


def method_reason(func: ast.Attribute) -> str | None:
    """Why a call of method ``func.attr`` of some value may not run in a worker thread
    (the value may be what the name says it is: nothing tells it apart)."""
    shown = f"`{ast.unparse(func)}()`"
    if func.attr == "__next__":
        return f"it calls {shown}: {_HANG}"
    if func.attr == "acquire":
        return f"it takes a lock ({shown}): {_LOCK}"
    if func.attr in _THREAD_AFFINE_METHODS:
        return f"it calls {shown}, a method of {_AFFINE}"
    if func.attr in _LOGGER_SETTERS:
        return f"it calls {shown}, which changes a logger for the whole process: {_WINDOW}"
    return None


# -- the project -----------------------------------------------------------------------


@dataclass(frozen=True)
class ObservedCall:
    """What the LS401 finding of a call needs besides the project's summaries
    (``HelperCall.observed``): for a call of a project function it is judged like LS301,
    else by its callee and its receiver."""

    #: The callee as written (``self.model.predict``).
    name: str
    #: Why it may not go to a thread when it is not a project function (what it calls,
    #: the object it is a method of), if so.
    elsewhere: str | None = None
    #: Whether LS301 is wanted: a call found blocking through the project is its finding then.
    helpers: bool = True
    #: Why what the recording saw it run may not run in a worker thread, if so (it holds
    #: for a project function too).
    reached: str | None = None


@dataclass(frozen=True)
class HelperCall:
    """A call of a project function in a coroutine, with all its finding depends on but
    the function: found in one process, decided where the project's summaries are."""

    line: int
    #: 1-based, as findings have it.
    column: int
    step: Step
    #: Why no await may go where the call is, if none may.
    place: str | None
    #: The fix, as ``_fix_text`` gives it (``!`` and why there is none).
    fix: str
    #: What a recording saw the call cost (``--observed``), for its finding to carry. Not in
    #: ``to_json``: a module analysed with observations is never cached.
    cost: Cost | None = field(default=None, compare=False)
    #: For a call a recording saw stall the loop: its LS401 finding when no static one
    #: covers it (``codemods.analysis.observed_sites``). Not in ``to_json`` either.
    observed: ObservedCall | None = field(default=None, compare=False)

    def to_json(self) -> list[Any]:
        return [self.line, self.column, list(self.step), self.place, self.fix]

    @classmethod
    def from_json(cls, data: list[Any]) -> HelperCall:
        line, column, step, place, fix = data
        return cls(line, column, tuple(step), place, fix)


def helper_finding(call: HelperCall, index: ProjectIndex, here: str) -> Finding | None:
    """The finding of a call of a project function, if the function blocks: fixed when it
    is safe in a thread and an await may go there, else reported with the reason."""
    keys = index.runs(call.step)
    chain = next((found for found in map(index.chain, keys) if found is not None), None)
    if chain is None:
        return None
    key = keys[0]
    refusal = helper_refusal(call.step, keys, index, here)
    reason = (f"not run in a thread: {refusal}" if refusal is not None else None) or call.place
    name = index.facts(key).name
    if reason is not None:
        return Finding(call.line, call.column, CODE, name, False, f"{chain.describe(here)}; {reason}", chain.steps(here),
                       call.cost)
    return Finding(call.line, call.column, CODE, name, not call.fix.startswith("!"), call.fix.lstrip("!"),
                   chain.steps(here), call.cost)


def helper_refusal(step: Step, keys: list[str], index: ProjectIndex, here: str) -> str | None:
    """Why the project function ``keys`` name, called as ``step`` in module ``here``, may
    not run in a worker thread: its body, what else the name may run, modules not known."""
    refusal = next((found for found in (index.refusal(k, here) for k in keys) if found is not None), None)
    refusal = refusal or index.problem(step, here, here)
    if index.incomplete:
        refusal = refusal or "the modules it reaches are not all known here"
    return refusal


def typed_return(index: ProjectIndex, step: Step, here: str) -> tuple[str, str] | None:
    """``(key, type)``: the project function a call certainly runs (made in module
    ``here``), and the qualified name of the catalog type its summary says it returns
    (``FunctionFacts.returns``), when nothing in the project assigns the name it is called
    by (``ProjectIndex.problem``). ``index.incomplete`` says when that was not known."""
    if step[0] != "call":
        return None
    keys = index.runs(step)
    if len(keys) != 1:
        return None
    returns = index.facts(keys[0]).returns
    if returns is None or index.problem(step, here, here) is not None:
        return None
    return keys[0], returns


class _Missing:
    """A module that may be in the project but whose summary is not at hand (a worker's view)."""


MISSING = _Missing()
#: Summaries by absolute module name: ``None`` for a module not in the project.
Loader = Callable[[str], "ModuleHandle | None | object"]


@dataclass(frozen=True)
class Chain:
    """How a function reaches a blocking call: the functions on the way (``module:path``
    keys), then the call."""

    functions: tuple[str, ...]
    blocking: str

    def steps(self, here: str) -> tuple[str, ...]:
        """The chain as shown from module ``here``: its own functions by name, others by
        their module's dotted name."""
        shown = []
        for key in self.functions:
            module, _, path = key.partition("@")[0].partition(":")
            shown.append(f"{path}()" if module == here else f"{module}.{path}()")
        return (*shown, f"{shown_name(self.blocking)}()")

    def describe(self, here: str) -> str:
        # No line numbers: a fix elsewhere moves them, and the message must not change.
        return f"through {' -> '.join(self.steps(here))}"


#: Functions on a chain at most, the blocking call's caller included: a call deeper down
#: is not looked for (reading the whole project to prove a "no" would cost more than the
#: rare chain it finds).
#: (It also keeps the recursion of an answer within Python's default limit.)
MAX_CHAIN = 99


#: Which of the project's modules may bind a name, by the whole project's text
#: (``ProjectText``): ``scan("bind", "save")``, ``scan("subclass", "Store")``; ``None``:
#: the project's text is not at hand here.
Scan = Callable[[str, str], "tuple[str, ...] | None"]


class ProjectText:
    """The text of every module of the project (``sources``: name -> how to read its
    bytes), for what only the whole project tells: which modules may assign a function's
    name (``bind``: a ``def``, an assignment, ``setattr``/``patch``) or define a subclass of a
    class (``subclass``: a ``class`` statement naming it among its bases). Over-approximate
    (the summaries of the modules found decide); each file is read once."""

    _WORDS = re.compile(rb"\w+")

    def __init__(self, sources: Mapping[str, Callable[[], bytes]]) -> None:
        self.sources = sources
        self._words: dict[str, tuple[bytes, frozenset[bytes]]] = {}
        self._answers: dict[tuple[str, str], tuple[str, ...]] = {}

    def __call__(self, kind: str, name: str) -> tuple[str, ...]:
        found = self._answers.get((kind, name))
        if found is None:
            word = re.escape(name.encode())
            pattern = re.compile(
                rb"^[ \t]*class[ \t]+\w+[ \t]*\([^)]*\b" + word + rb"\b" if kind == "subclass" else
                rb"\bdef[ \t]+" + word + rb"\b|\b" + word + rb"[ \t]*(?::[^\n=]*)?=[^=]|(?:setattr|patch|object)\b[^\n]*\b"
                + word + rb"\b",
                re.MULTILINE,
            )
            found = self._answers[(kind, name)] = tuple(
                module for module in sorted(self.sources)
                if name.encode() in self._text(module)[1] and pattern.search(self._text(module)[0])
            )
        return found

    def _text(self, module: str) -> tuple[bytes, frozenset[bytes]]:
        found = self._words.get(module)
        if found is None:
            source = self.sources[module]()
            found = self._words[module] = (source, frozenset(self._WORDS.findall(source)))
        return found


def project_scan(view: ProjectView) -> Scan | None:
    """What a module's analysis knows of the project's text: all of it when the module
    stands alone (``others`` is ``None``); the answers a decision read (``scanned``, a
    second look), or those of a live project (``others.scan``); else nothing (a first look:
    what needs the text waits for the decision, ``codemods.project``)."""
    if view.others is None:
        return lambda kind, name: (view.module.name,)
    live = getattr(view.others, "scan", None)
    if callable(live):
        return cast(Scan, live)
    if view.scanned is not None:
        scanned = view.scanned
        return lambda kind, name: scanned.get(f"{kind}:{name}")
    return None


@dataclass
class _Answers:
    """Answers of one question (``ProjectIndex.chain``, ``refusal``) by function key."""

    final: dict[str, tuple[Any, bool]] = field(default_factory=dict)
    #: Those that hold only in the search under way (they met a function on its way).
    provisional: dict[str, tuple[Any, bool]] = field(default_factory=dict)
    #: The functions the search is in, outermost first.
    on_way: list[str] = field(default_factory=list)
    #: Whether the answer being found met a function on the way or the depth limit.
    cyclic: bool = False


class ProjectIndex:
    """Resolves calls across the summaries of a project's modules (``load`` gives them).

    ``incomplete`` turns true when an answer needed a summary that ``load`` did not have
    (``MISSING``): the caller asks again where the project is at hand.
    """

    _DEPTH = 24

    def __init__(self, load: Loader, scan: Scan | None = None) -> None:
        """``scan``: the project's text (``ProjectText``), or the answers a decision read of it."""
        self._load = load
        self._scan = scan
        #: The answers of ``scan`` used (what a second look is given instead of the text).
        self.scanned: dict[str, tuple[str, ...]] = {}
        self._runs: dict[Step, tuple[list[str], bool]] = {}
        self._overridden: dict[tuple[str, str], tuple[list[str | None], bool]] = {}
        self._modules: dict[str, ModuleHandle | None | object] = {}
        self._chains = _Answers()
        self._refusals = _Answers()
        self._mros: dict[str, tuple[list[str], bool]] = {}
        self.incomplete = False
        #: Modules whose summaries answers used, and module names that were not the project's.
        self.used: set[str] = set()
        self.absent: set[str] = set()

    def module(self, name: str) -> ModuleHandle | None:
        """The module ``name``: its summary (or a handle that reads it when needed), ``None``
        if it is not the project's or not at hand (``incomplete`` then says which)."""
        if name not in self._modules:
            self._modules[name] = self._load(name)
        found = self._modules[name]
        if found is MISSING:
            self.incomplete = True
            return None
        if found is not None:
            self.used.add(name)
        else:
            self.absent.add(name)
        return cast("ModuleHandle | None", found)

    def _summary(self, module: str) -> ModuleSummary:
        found = self._modules[module]
        assert found is not None and found is not MISSING
        return cast("ModuleHandle", found).real()

    def facts(self, key: str) -> FunctionFacts:
        module, _, path = key.partition("@")[0].partition(":")
        return self._summary(module).functions[path]

    def scan(self, kind: str, name: str) -> tuple[str, ...] | None:
        """The modules whose text may bind ``name`` so (``Scan``); ``None``: not known here
        (``incomplete``)."""
        key = f"{kind}:{name}"
        found = self.scanned.get(key)
        if found is None:
            found = self._scan(kind, name) if self._scan is not None else None
            if found is None:
                self.incomplete = True
                return None
            self.scanned[key] = found
        return found

    def runs(self, step: Step) -> list[str]:
        """The functions a call may run: the one it names, then for ``self.m()`` the
        overrides of ``m`` in the project's subclasses (one loopsafe cannot follow is named
        by ``problem``)."""
        if step in self._runs:
            found, incomplete = self._runs[step]
            self.incomplete |= incomplete
            return found
        outer, self.incomplete = self.incomplete, False
        key = self.target(step)
        # ``self.m()``: the instance is one of the step's class (``@``), what ``self.n()`` in
        # ``m`` runs is looked up from there (``_steps_of``).
        found = [] if key is None else [f"{key}@{step[1]}" if step[0] == "method" else key]
        if key is not None and step[0] == "method":
            for override in self._overrides(step, key):
                if override is not None and override not in found:
                    found.append(override)
        self._runs[step] = (found, self.incomplete)
        self.incomplete |= outer
        return found

    def problem(self, step: Step, caller: str, here: str) -> str | None:
        """Why a call of ``step`` made in module ``caller`` may run something other than
        what it names: an override loopsafe cannot follow, or an assignment elsewhere in the
        project (monkeypatching) of a name the call is looked up through (``_names_of``)."""
        key = self.target(step)
        if key is None:
            return None
        shown = Chain((key,), "").steps(here)[0]
        if step[0] == "method" and None in self._overrides(step, key):
            return f"{shown} is overridden or shadowed in a subclass by something loopsafe cannot follow"
        names = self._names_of(step, key, caller)
        for name in sorted({dotted.rpartition(".")[2] for dotted in names}):
            for other in self.scan("bind", name) or ():
                handle = self.module(other)
                if handle is None:
                    continue
                for dotted in sorted(handle.real().assigned & names):
                    return (f"{shown} is assigned elsewhere (`{dotted}` in {other}): the function that runs "
                            "may not be this one")
        return None

    def _names_of(self, step: Step, key: str, caller: str) -> frozenset[str]:
        """The dotted names a call is looked up through at run time: the caller's own
        import of it (``caller.save``), each re-export on the way (``pkg.save``), the
        function's own (``pkg.store.save``); for ``self.m()``, the class's and the defining
        class's attribute."""
        module, _, path = key.partition(":")
        names = {f"{module}.{path}"}
        if step[0] == "method":
            names.add(f"{step[1]}.{step[2]}")
            return frozenset(names)
        dotted = step[1]
        names.add(dotted)
        handle = self.module(caller)
        if handle is not None:
            for alias, target in handle.real().aliases.items():
                if dotted == target or dotted.startswith(f"{target}."):
                    names.add(f"{caller}.{alias}{dotted[len(target):]}")
        trail: list[str] = []
        self._find(dotted, 0, "function", trail=trail)
        names.update(trail)
        return frozenset(names)

    def _overrides(self, step: Step, key: str) -> list[str | None]:
        """What instances of the project's subclasses of the class of ``self.m()`` (``step``)
        run for ``m`` where that is not ``key``, what the class runs (``None``: something
        loopsafe cannot follow)."""
        name = step[2]
        if (key, step[1]) in self._overridden:
            known, incomplete = self._overridden[(key, step[1])]
            self.incomplete |= incomplete
            return known
        outer, self.incomplete = self.incomplete, False
        owner = self._find(step[1], 0, "class")
        class_key = owner[1] if owner is not None else key.rpartition(".")[0]
        found: list[str | None] = []
        seen = {class_key}
        pending = [class_key]
        while pending:
            base = pending.pop()
            for module in self.scan("subclass", base.rpartition(":")[2].rpartition(".")[2]) or ():
                handle = self.module(module)
                if handle is None:
                    continue
                for path in sorted(handle.real().classes):
                    subclass = f"{module}:{path}"
                    if subclass in seen or base not in self._mro(subclass, 0):
                        continue
                    seen.add(subclass)
                    pending.append(subclass)
                    runs = self._method_of(self._mro(subclass, 0), name)
                    if runs != key:
                        found.append(runs)
        self._overridden[(key, step[1])] = (found, self.incomplete)
        self.incomplete |= outer
        return found

    # -- names -------------------------------------------------------------------------

    def target(self, step: Step) -> str | None:
        """The ``module:path`` key of the function a step calls, if it is the project's."""
        if step[0] == "method":
            return self._method(step[1], step[2], 0)
        if step[0] == "call":
            found = self._find(step[1], 0, "function")
            return found[1] if found is not None and found[0] == "function" else None
        return None

    def _find(
        self, dotted: str, depth: int, want: str, module_known: int = 0, trail: list[str] | None = None
    ) -> tuple[str, str] | None:
        """``(want, "module:path")`` when an absolute dotted name is a project function or
        class (``want``), as far as that is asked (a module is read only as that needs)."""
        if depth > self._DEPTH:
            return None
        if trail is not None:
            trail.append(dotted)  # a name the lookup goes through (``problem``)
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            handle = self.module(".".join(parts[:cut]))
            if handle is not None:
                if cut > module_known and self._rebound(parts[:cut]):
                    # ``from .cache import cache`` in the package: ``pkg.cache`` is the
                    # function, not the module, where it is reached as an attribute.
                    return None
                return self._in_module(handle, parts[cut:], depth, want, trail)
        return None

    def _rebound(self, parts: list[str]) -> bool:
        """Whether the package of module ``parts`` binds the module's name to something else."""
        if len(parts) < 2:
            return False
        package = self.module(".".join(parts[:-1]))
        name = parts[-1]
        if package is None:
            return False
        if package.may_bind("import", name) and package.real().aliases.get(name, ".".join(parts)) != ".".join(parts):
            return True
        return (package.may_bind("def", name) and name in package.real().functions) or (
            package.may_bind("class", name) and name in package.real().classes
        )

    def _in_module(
        self, handle: ModuleHandle, path: list[str], depth: int, want: str, trail: list[str] | None = None
    ) -> tuple[str, str] | None:
        first = path[0]
        if handle.may_bind("import", first) and first in handle.real().aliases:
            alias = handle.real().aliases[first]
            # The module an import names is found as a module (``sys.modules``), not as an attribute.
            return self._find(".".join([alias, *path[1:]]), depth + 1, want, alias.count("."), trail)
        key = f"{handle.name}:{'.'.join(path)}"
        if len(path) == 1 and want == "function" and handle.may_bind("def", first) and first in handle.real().functions:
            return ("function", key)
        if not handle.may_bind("class", first) or first not in handle.real().classes:
            return self._starred(handle, path, depth, want, trail)
        if len(path) == 1 and want == "function":
            return None
        if len(path) == 1:
            return ("class", key)
        if len(path) == 2:
            method = self._method(f"{handle.name}.{first}", path[1], depth + 1)
            return None if method is None else ("function", method)
        return None

    def _starred(
        self, handle: ModuleHandle, path: list[str], depth: int, want: str, trail: list[str] | None = None
    ) -> tuple[str, str] | None:
        """A name the module binds only through ``from x import *`` (the last one that
        binds it wins; a name with a leading underscore is not exported)."""
        if path[0].startswith("_") or not handle.may_bind("import", "*"):
            return None
        for star in reversed(handle.real().stars):
            found = self._find(".".join([star, *path]), depth + 1, want, star.count(".") + 1, trail)
            if found is not None:
                return found
        return None

    def _method(self, class_name: str, name: str, depth: int) -> str | None:
        """The key of the method ``name`` that an instance of the class runs, if it is certainly a
        project function: the first class of the MRO that binds the name must be the
        project's, and bind it to a plain sync method."""
        found = self._find(class_name, depth, "class")
        if found is None or found[0] != "class":
            return None
        return self._method_of(self._mro(found[1], depth), name)

    def _method_of(self, mro: list[str], name: str) -> str | None:
        """The method ``name`` an instance of the class of ``mro`` runs, if it is certainly
        a plain sync method of the project (not an instance attribute of that name)."""
        for klass in mro:
            module, _, path = klass.partition(":")
            if not klass.startswith("?") and name in self._summary(module).classes[path].instance_attributes:
                return None  # ``self.record = sink``, wherever in the MRO: the attribute, not the method
        for klass in mro:
            if klass.startswith("?"):
                return None  # a class outside the project, which may define it
            module, _, path = klass.partition(":")
            summary = self._summary(module)
            if name in summary.classes[path].members:
                return f"{klass}.{name}" if f"{path}.{name}" in summary.functions else None
        return None

    def _mro(self, key: str, depth: int) -> list[str]:
        """C3 linearisation over the project's classes; a class outside the project is an
        opaque ``?name`` entry (its own bases unknown)."""
        if key in self._mros:
            found, incomplete = self._mros[key]
            self.incomplete |= incomplete
            return found
        outer, self.incomplete = self.incomplete, False
        self._mros[key] = ([key, "?cycle"], False)
        module, _, path = key.partition(":")
        summary = self._summary(module)
        bases: list[str] = []
        for base in summary.classes[path].bases:
            if base == "builtins.object":
                continue
            base_class = (
                self._find(base, depth + 1, "class") if base is not None and not base.startswith("builtins.") else None
            )
            bases.append(base_class[1] if base_class is not None and base_class[0] == "class" else f"?{base}")
        sequences = [self._mro(b, depth + 1) if not b.startswith("?") else [b] for b in bases] + [bases]
        merged = _c3_merge(sequences)
        result = [key, *merged] if merged is not None else [key, "?inconsistent"]
        self._mros[key] = (result, self.incomplete)
        self.incomplete |= outer
        return result

    # -- answers -----------------------------------------------------------------------

    def chain(self, key: str) -> Chain | None:
        """How the function blocks, if it does (``None`` also past ``MAX_CHAIN`` functions)."""
        return cast("Chain | None", self._answer(self._chains, key, self._first_blocking))

    def _answer(self, answers: _Answers, key: str, compute: Callable[[str], Any]) -> Any:
        """The answer about ``key``, the same whichever question came first: a depth-first
        search from ``key`` (a function already on the way adds nothing: ``None``). An
        answer that met a function on the way (recursion) or the depth limit holds only in
        the search that found it, so it is kept for that search alone; the others are kept
        for good (a fresh search from them finds the same)."""
        if key in answers.final:
            found, incomplete = answers.final[key]
            self.incomplete |= incomplete
            return found
        if key in answers.provisional:
            found, incomplete = answers.provisional[key]
            self.incomplete |= incomplete
            answers.cyclic = True
            return found
        if key in answers.on_way or len(answers.on_way) >= MAX_CHAIN:
            answers.cyclic = True
            return None
        outer, self.incomplete = self.incomplete, False
        outer_cyclic, answers.cyclic = answers.cyclic, False
        answers.on_way.append(key)
        try:
            found = compute(key)
        finally:
            answers.on_way.pop()
        (answers.provisional if answers.cyclic else answers.final)[key] = (found, self.incomplete)
        if not answers.on_way:
            answers.provisional.clear()
        self.incomplete |= outer
        answers.cyclic |= outer_cyclic
        return found

    def _steps_of(self, key: str) -> Iterator[Step]:
        """The steps of the function of ``key``; in a method reached through ``self.m()``
        (``key@receiver``), ``self.n()`` steps are looked up from the receiver's class, the
        class of the instance (not from the class that defines the method)."""
        plain, _, receiver = key.partition("@")
        module, _, path = plain.partition(":")
        owner = f"{module}.{path.rpartition('.')[0]}"
        for step in self.facts(plain).steps:
            if receiver and step[0] == "method" and step[1] == owner:
                yield ("method", receiver, step[2])
            else:
                yield step

    def _first_blocking(self, key: str) -> Chain | None:
        facts = self.facts(key)
        if facts.declared or not facts.followed:
            return None
        for step in self._steps_of(key):
            if step[0] == "block":
                return Chain((key,), step[1])
            for callee in self.runs(step):
                inner = self.chain(callee)
                if inner is not None:
                    return Chain((key, *inner.functions), inner.blocking)
        return None

    def refusal(self, key: str, here: str) -> str | None:
        """Why the function may not run in a worker thread, through everything it calls
        (``None``: it touches only its arguments, its locals, constants and blocking I/O)."""
        return cast("str | None", self._answer(self._refusals, key, lambda k: self._first_refusal(k, here)))

    def _first_refusal(self, key: str, here: str) -> str | None:
        facts = self.facts(key)
        shown = Chain((key,), "").steps(here)[0]
        if not facts.followed:
            return f"{shown} is a generator or wrapped method"
        if facts.refusal is not None:
            return f"{shown}: {facts.refusal}"
        for step in self._steps_of(key):
            if step[0] == "block":
                continue
            callees = self.runs(step)
            if not callees:
                what = step[1] if step[0] == "call" else f"{step[1]}.{step[2]}"
                return f"{shown} calls {shown_name(what)}(), which loopsafe cannot see into"
            for callee in callees:
                inner = self.refusal(callee, here)
                if inner is not None:
                    return inner
            problem = self.problem(step, key.partition(":")[0], here)
            if problem is not None:
                return problem
        return None


def _c3_merge(sequences: list[list[str]]) -> list[str] | None:
    result: list[str] = []
    sequences = [list(s) for s in sequences if s]
    while sequences:
        for sequence in sequences:
            head = sequence[0]
            if not any(head in other[1:] for other in sequences):
                break
        else:
            return None
        result.append(head)
        sequences = [[c for c in s if c != head] for s in sequences]
        sequences = [s for s in sequences if s]
    return result

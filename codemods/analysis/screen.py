"""A fast look with CPython's ``ast`` before libcst: which coroutines can have findings?

libcst's parse and scope analysis cost far more than CPython's ``ast``. Most modules
with coroutines call nothing from the catalog inside them, and most functions of a
module that does are not coroutines with such calls. One pass over the ``ast`` answers:

- ``needed``: can any coroutine call something in the catalog, or hold a loop that
  may be a busy-wait (LS280)? If not, the module is returned as it is, unparsed by libcst.
- ``stubs``: the definitions (functions and classes outside any coroutine) that cannot
  matter to any finding but through the name they bind, which ``codemods.rewrite.focus``
  shrinks to ``def name(): pass`` before libcst sees the module.

The screen only ever answers "maybe" or "certainly not": it over-approximates what the
detector can match (no scopes; every import anywhere; every use of an imported name
whose dotted path leads to, or lies under, a catalog name; every name bound by a call,
a division or an annotation with such a use), so it never changes a result, only how
fast it comes. The fixture suite runs through it, and a test compares its results with runs
without it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Iterable

from codemods.catalog import Framework
from codemods.analysis.busy_wait import may_busy_wait
from codemods.analysis.flow import bound_by_target, child_nodes, split_dotted, walk_syntax


#: Matches every ``async def``. As a compound statement it can only start a line (after
#: indentation), though a backslash may split it. Files without a match are returned
#: untouched without being parsed: most of a repository.
ASYNC_DEF = re.compile(rb"(?:^|\r)[ \t\f]*async(?:[ \t\f]|\\\r?\n)+def\b", re.MULTILINE)


@dataclass(frozen=True)
class ScreenNames:
    """What the catalog can match: every qualified name in it (calls, constructors and
    annotations), the top-level modules they live in, and builtins by bare name."""

    modules: frozenset[str]
    builtins: frozenset[str]
    qualnames: frozenset[str] = frozenset()
    #: Every qualified name and each of its dotted prefixes (``os``, ``os.path``).
    prefixes: frozenset[str] = frozenset()
    #: Whether calls of the module's own functions that reach the catalog count (LS301).
    helpers: bool = True

    @classmethod
    def from_qualnames(cls, qualnames: Iterable[str], helpers: bool = True) -> ScreenNames:
        modules: set[str] = set()
        builtins: set[str] = set()
        prefixes: set[str] = set()
        names = frozenset(qualnames)
        for name in names:
            root, _, rest = name.partition(".")
            modules.add(root)  # ``import builtins; builtins.open(...)`` too
            if root == "builtins":
                builtins.add(rest.split(".")[0])
            parts = name.split(".")
            prefixes.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
        return cls(frozenset(modules), frozenset(builtins), names, frozenset(prefixes), helpers)

    def relevant(self, qualified: str) -> bool:
        """Whether ``qualified`` (``os.path.exists``) is a catalog name, leads to one
        (``os.path``), or lies under one (``pathlib.Path.home``)."""
        if qualified in self.prefixes:
            return True
        cut = qualified.rfind(".")
        while cut > 0:
            qualified = qualified[:cut]
            if qualified in self.qualnames:
                return True
            cut = qualified.rfind(".")
        return False


@dataclass(frozen=True)
class Stub:
    """A definition that no finding depends on but through its name: it spans lines
    ``first``..``last`` (1-based) from byte ``column`` of line ``first`` (decorators
    excluded), and ``replacement`` (``def name(): pass``) binds the same name."""

    first: int
    column: int
    last: int
    replacement: str
    #: Every name the cut part mentions (an import it reads must not be dropped as unused).
    mentions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Screen:
    needed: bool
    stubs: list[Stub] = field(default_factory=list)
    #: For a module not needed: what its coroutines call through the module's imports
    #: (``pkg.io.save``, ``.io.save`` relative, ``pkg.base.Base.save`` for ``self.save()`` in
    #: a class with that base), any of which may be a project function that blocks.
    imported_calls: frozenset[str] = frozenset()


#: Bases that make a class an enumeration (``codemods.analysis.confinement``), by their last name.
_ENUMS = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"})

#: The screen's answer when CPython cannot parse the module: let libcst try, in full.
UNSCREENED = Screen(needed=True)


def parse(source: bytes) -> ast.Module | None:
    """CPython's tree of ``source``; ``None`` when CPython cannot build it (libcst then
    parses the file and reports the problem)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeDecodeError):
        return None


def may_need_transform(tree: ast.Module | None, names: ScreenNames) -> bool:
    """False only when no coroutine in ``tree`` (from ``parse``) can call anything in
    the catalog."""
    return screen(tree, names).needed


@dataclass(eq=False)
class _Body:
    """A function, lambda or class body met during the walk.

    A *unit* is a ``def``, ``async def`` or ``class`` that is not inside a coroutine:
    the pieces the focus pass may replace whole. Everything inside a coroutine belongs
    to the coroutine's unit, because the analysis of a coroutine may look into the code
    nested in it (a ``with open`` block holding a ``def``, say).
    """

    node: ast.AST
    #: The unit this body is part of (itself, for a unit); ``None`` at module level.
    unit: _Body | None
    #: For a unit: the unit it is defined in, if any.
    parent: _Body | None
    is_coroutine: bool
    #: Whether the unit must be kept as it is (set on units only).
    keep: bool = False

    def keep_unit(self) -> None:
        """Keep this body's unit, and the units around it."""
        unit = self.unit
        while unit is not None and not unit.keep:
            unit.keep = True
            unit = unit.parent


_BODIES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_ESCAPES = (ast.Global, ast.Nonlocal)
#: Imported anywhere, these decide the offload strategy (``codemods.analysis.frameworks.detect_framework``):
#: a unit importing one is kept.
_FRAMEWORK_MODULES = frozenset(framework.value for framework in Framework)


def screen(tree: ast.Module | None, names: ScreenNames) -> Screen:
    """Walk ``tree`` once; see the module docstring."""
    if tree is None:
        return UNSCREENED
    # Names bound by imports of catalog modules -> the qualified names they stand for.
    imported: dict[str, set[str]] = {}
    everything = False  # a star import from a catalog module: any name may be one
    bindings: list[tuple[list[str], set[_Use]]] = []
    coroutine_calls: list[tuple[_Use, _Body]] = []
    helper_calls: dict[str, list[_Use]] = {}
    units: list[_Body] = []
    has_coroutine = False
    module = _Body(tree, None, None, False)
    # Module-level names bound by any import -> what they stand for (relative: leading dots).
    module_imports: dict[str, list[str]] = {}
    awaited: set[ast.AST] = set()
    plain_calls: list[tuple[_Use, _Body]] = []
    # Coroutines holding a loop that may be a busy-wait (LS280: a finding without a call).
    busy_waits: list[_Body] = []
    #: Names bound by what a definition holds: attributes (``.http`` for ``self.http = ...``,
    #: a class body's names) and functions by their return annotation.
    by_definition: set[str] = set()
    # Each entry: a node, the body whose code it is, the bindings whose value it is in.
    stack: list[tuple[ast.AST, _Body, tuple[set[_Use], ...]]] = [(tree, module, ())]
    while stack:
        node, owner, mentions = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            for mentioned in mentions:
                mentioned.add((node.id, node.id))  # type: ignore[attr-defined]
            continue
        if kind is ast.Constant:
            continue
        if kind is ast.Attribute and mentions:
            use = _dotted(node)
            if use is not None:  # ``a.b.c``: nothing inside but names
                for mentioned in mentions:
                    mentioned.add(use)
                continue
        elif kind is ast.Await:
            if type(node.value) is ast.Call:  # type: ignore[attr-defined]
                awaited.add(node.value)  # type: ignore[attr-defined]
        elif kind is ast.Call:
            use = _chain(node.func)  # type: ignore[attr-defined]
            if owner.is_coroutine:
                # A function handed to a call may be called there (``max(ps, key=os.path.getmtime)``).
                for given in (*node.args, *(k.value for k in node.keywords)):  # type: ignore[attr-defined]
                    reference = _dotted(given) if type(given) in (ast.Name, ast.Attribute) else None
                    if reference is not None:
                        coroutine_calls.append((reference, owner))
            if use is not None and owner.is_coroutine:
                coroutine_calls.append((use, owner))
                if node not in awaited:
                    # An awaited call makes a coroutine: not a sync helper of the project.
                    plain_calls.append((use, owner))
            elif use is not None and type(owner.node) is ast.FunctionDef and (
                owner.parent is None or type(owner.parent.node) is ast.ClassDef
            ):
                # In a module-level sync function or a method: a coroutine calling it may
                # block through it.
                helper_calls.setdefault(owner.node.name, []).append(use)
        elif isinstance(node, _BODIES):
            # A class body runs where the class statement does (in a coroutine, on its loop).
            runs_in_coroutine = kind is ast.AsyncFunctionDef or (kind is ast.ClassDef and owner.is_coroutine)
            body = _Body(node, owner.unit, None, runs_in_coroutine)
            if kind is not ast.Lambda and (owner.unit is None or not owner.unit.is_coroutine):
                body.unit, body.parent = body, owner.unit
                units.append(body)
            has_coroutine = has_coroutine or body.is_coroutine
            if isinstance(node, ast.ClassDef) and body.unit is body and any(
                getattr(base, "id", None) in _ENUMS or getattr(base, "attr", None) in _ENUMS for base in node.bases
            ):
                body.keep_unit()  # its members are constants a thread may be handed (its bases say so)
            # Decorators, defaults, annotations and bases run where the body is defined.
            returns = getattr(node, "returns", None)
            for part in _evaluated_at_definition(node):
                if part is returns:
                    # ``def make() -> requests.Session``: what a call of it returns is typed
                    # (``codemods.analysis.receivers``), as ``self.make()`` if it is a method.
                    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    typed = _definition_names(node.name, owner)
                    by_definition.update(typed)
                    stack.append((part, owner, (*mentions, _bind(bindings, typed))))
                else:
                    stack.append((part, owner, mentions))
            for argument in _arguments(node):
                if argument.annotation is not None:
                    stack.append((argument.annotation, owner, (*mentions, _bind(bindings, [argument.arg]))))
            if isinstance(node, ast.Lambda):
                stack.append((node.body, body, mentions))
            else:
                stack.extend((statement, body, ()) for statement in node.body)
            continue
        elif kind is ast.Assign:
            targets = [name for target in node.targets for name in _bound_names(target, owner, by_definition)]  # type: ignore[attr-defined]
            _bind(bindings, targets).update(_made_by(node.value))  # type: ignore[attr-defined]
            stack.extend((target, owner, mentions) for target in node.targets)  # type: ignore[attr-defined]
            stack.append((node.value, owner, mentions))  # type: ignore[attr-defined]
            continue
        elif kind is ast.AnnAssign:
            annotated = _bind(bindings, _bound_names(node.target, owner, by_definition))  # type: ignore[attr-defined]
            if node.value is not None:  # type: ignore[attr-defined]
                annotated.update(_made_by(node.value))  # type: ignore[attr-defined]
                stack.append((node.value, owner, mentions))  # type: ignore[attr-defined]
            stack.append((node.target, owner, mentions))  # type: ignore[attr-defined]
            stack.append((node.annotation, owner, (*mentions, annotated)))  # type: ignore[attr-defined]
            continue
        elif kind is ast.withitem:
            if node.optional_vars is not None:  # type: ignore[attr-defined]
                _bind(bindings, bound_by_target(node.optional_vars)).update(_made_by(node.context_expr))  # type: ignore[attr-defined]
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                if owner is module or owner.is_coroutine:  # (a helper imported where it is called)
                    bound = alias.asname or alias.name.split(".")[0]
                    module_imports.setdefault(bound, []).append(alias.name if alias.asname else bound)
                root = alias.name.split(".")[0]
                if root in _FRAMEWORK_MODULES:
                    owner.keep_unit()  # the module's async library is read from every import
                if root in names.modules:
                    # ``import a.b`` binds ``a``; ``import a.b as x`` binds ``x`` to ``a.b``.
                    imported.setdefault(alias.asname or root, set()).add(alias.name if alias.asname else root)
            continue
        elif kind is ast.ImportFrom:
            if owner is module or owner.is_coroutine:
                source = "." * node.level + (node.module or "")  # type: ignore[attr-defined]
                for alias in node.names:  # type: ignore[attr-defined]
                    qualified = f"{source}.{alias.name}" if node.module else f"{source}{alias.name}"  # type: ignore[attr-defined]
                    module_imports.setdefault(alias.asname or alias.name, []).append(qualified)
            if node.level == 0 and node.module and node.module.split(".")[0] in _FRAMEWORK_MODULES:  # type: ignore[attr-defined]
                owner.keep_unit()
            if node.level == 0 and node.module and node.module.split(".")[0] in names.modules:  # type: ignore[attr-defined]
                for alias in node.names:  # type: ignore[attr-defined]
                    if alias.name == "*":
                        everything = True
                    qualified = f"{node.module}.{alias.name}"  # type: ignore[attr-defined]
                    imported.setdefault(alias.asname or alias.name, set()).add(qualified)
            continue
        elif isinstance(node, _ESCAPES):
            owner.keep_unit()  # it rebinds names outside its own scope
            continue
        elif kind is ast.While and owner.is_coroutine and may_busy_wait(node):  # type: ignore[arg-type]
            busy_waits.append(owner)
        for name in child_fields(kind):
            value = getattr(node, name)
            if type(value) is list:
                stack.extend((item, owner, mentions) for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                stack.append((value, owner, mentions))
    if not has_coroutine:
        return Screen(needed=False)
    matters = _Relevance(names, imported, everything)
    matters.grow(bindings)
    helpers = _blocking_helpers(helper_calls, matters) if names.helpers else set()
    needed = whole = False
    for owner in busy_waits:
        needed = True
        owner.keep_unit()
    for use, owner in coroutine_calls:
        if matters(use) or _calls_helper(use, helpers):
            needed = True
            owner.keep_unit()
            # What a helper touches decides whether it may run in a thread: none is cut.
            whole = whole or _calls_helper(use, helpers)
    # A coroutine's receiver typed through a class or a function's annotation
    # (``codemods.analysis.receivers``): the bodies that type it must stay.
    whole = whole or (needed and not matters.derived.isdisjoint(by_definition))
    if whole:
        return Screen(True)
    if not needed:
        if not names.helpers:
            return Screen(needed=False)
        return Screen(needed=False, imported_calls=_imported_calls(plain_calls, module_imports, helper_calls))
    return Screen(
        True, [_stub_of(unit.node) for unit in units if not unit.keep and (unit.parent is None or unit.parent.keep)]
    )


#: Fields that never hold a node worth visiting: contexts, operators, and plain values.
_LEAF_FIELDS = frozenset(
    {"ctx", "op", "ops", "type_comment", "kind", "conversion", "is_async", "level", "simple", "lineno", "tag",
     "name", "id", "attr", "arg", "module", "asname", "names", "n", "s"}
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _blocking_helpers(calls: dict[str, list[_Use]], matters: _Relevance) -> set[str]:
    """Module-level functions whose bodies may call the catalog, directly or through one
    another (``codemods.analysis.helpers`` decides on the real scopes)."""
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, uses in calls.items():
            if name not in found and any(matters(use) or _calls_helper(use, found) for use in uses):
                found.add(name)
                grew = True
    return found


def _imported_calls(
    calls: list[tuple[_Use, _Body]], imports: dict[str, list[str]], helper_calls: dict[str, list[_Use]]
) -> frozenset[str]:
    """What the coroutines call through the module's imports (``Screen.imported_calls``),
    directly or in the module's sync functions and methods they call (``load()`` calling
    an imported ``data_path()`` blocks if that does)."""
    found: set[str] = set()
    reached: set[str] = set()
    uses = [use for use, _ in calls]
    while uses:
        call = uses.pop()
        helper = call[1].rpartition(".")[2]
        if helper not in reached and helper in helper_calls and _calls_helper(call, {helper}):
            reached.add(helper)
            uses.extend(helper_calls[helper])
    for name, dotted in (use for helper in reached for use in helper_calls[helper]):
        bound = imports.get(name)
        if bound is not None and len(bound) == 1:
            found.add(bound[0] + dotted[len(name):])
    for (name, dotted), owner in calls:
        bound = imports.get(name)
        if bound is not None and len(bound) == 1:
            found.add(bound[0] + dotted[len(name):])
        elif name in ("self", "cls") and dotted.count(".") == 1:
            klass = owner.unit.parent.node if owner.unit is not None and owner.unit.parent is not None else None
            if isinstance(klass, ast.ClassDef):
                for base in klass.bases:
                    use = _dotted(base)  # a name or a dotted name; else None
                    base_bound = imports.get(use[0]) if use is not None else None
                    if use is not None and base_bound is not None and len(base_bound) == 1:
                        found.add(base_bound[0] + use[1][len(use[0]):] + dotted[len(name):])
    return frozenset(found)


def _calls_helper(use: _Use, helpers: set[str]) -> bool:
    """``f(...)``, ``self.f(...)`` or ``cls.f(...)`` for a function or method in ``helpers``."""
    name, dotted = use
    if name == dotted:
        return name in helpers
    return name in ("self", "cls") and dotted.count(".") == 1 and dotted.split(".")[1] in helpers


def child_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold nodes worth visiting (not contexts, operators, names)."""
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(
            name for name in kind._fields if name not in _LEAF_FIELDS  # type: ignore[attr-defined]
        )
    return fields


def _bind(bindings: list[tuple[list[str], set[_Use]]], targets: list[str]) -> set[_Use]:
    """Record a binding of ``targets``; returns the set that collects what its value mentions."""
    mentioned: set[_Use] = set()
    bindings.append((targets, mentioned))
    return mentioned


#: A use of a name: the name, and the dotted name it starts (``("os", "os.path.join")``).
_Use = tuple[str, str]


class _Relevance:
    """Whether a use of a name may lead to something in the catalog."""

    def __init__(self, names: ScreenNames, imported: dict[str, set[str]], everything: bool) -> None:
        self.names = names
        self.imported = imported
        self.everything = everything
        #: Names that may hold objects of blocking types (see ``grow``).
        self.derived: set[str] = set()

    def __call__(self, use: _Use) -> bool:
        name, dotted = use
        if self.everything or name in self.derived:
            return True
        rest = dotted[len(name) :]
        if any(self.names.relevant(qualified + rest) for qualified in self.imported.get(name, ())):
            return True
        if rest and "." + rest[1:].partition(".")[0] in self.derived:
            return True  # ``self.http.get``: an attribute bound from a relevant value
        return name in self.names.builtins and self.names.relevant(f"builtins.{dotted}")

    def grow(self, bindings: list[tuple[list[str], set[_Use]]]) -> None:
        """Names bound from an expression with a relevant use may hold objects of
        blocking types (``s = requests.Session()``). Repeat until nothing new appears."""
        remaining = bindings
        while remaining:
            waiting = []
            grown = False
            for targets, uses in remaining:
                if any(map(self, uses)):
                    grown = grown or not self.derived.issuperset(targets)
                    self.derived.update(targets)
                else:
                    waiting.append((targets, uses))
            if not grown:
                return
            remaining = waiting


def _stub_of(node: ast.AST) -> Stub:
    name = node.name  # type: ignore[attr-defined]
    replacement = f"class {name}: pass" if isinstance(node, ast.ClassDef) else f"def {name}(): pass"
    end = node.end_lineno if node.end_lineno is not None else node.lineno  # type: ignore[attr-defined]
    decorators = {id(d) for d in getattr(node, "decorator_list", [])}
    cut = [child for child in child_nodes(node) if id(child) not in decorators]
    mentions = frozenset(n.id for child in cut for n in walk_syntax(child) if isinstance(n, ast.Name))
    return Stub(node.lineno, node.col_offset, end, replacement, mentions)  # type: ignore[attr-defined]


def _arguments(node: ast.AST) -> list[ast.arg]:
    arguments = getattr(node, "args", None)
    if not isinstance(arguments, ast.arguments):
        return []
    found = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    found.extend(a for a in (arguments.vararg, arguments.kwarg) if a is not None)
    return found


def _evaluated_at_definition(node: ast.AST) -> list[ast.AST]:
    parts: list[ast.AST] = list(getattr(node, "decorator_list", []))
    arguments = getattr(node, "args", None)
    if isinstance(arguments, ast.arguments):
        parts.extend(d for d in (*arguments.defaults, *arguments.kw_defaults) if d is not None)
    returns = getattr(node, "returns", None)
    if returns is not None:
        parts.append(returns)
    parts.extend(getattr(node, "bases", []))
    parts.extend(keyword.value for keyword in getattr(node, "keywords", []))
    return parts


def _made_by(value: ast.AST) -> list[_Use]:
    """What may give ``value`` a blocking type, as the detector sees it: the callee of a
    call (``requests.Session()``, ``p.with_suffix(".x")``), or the left operand of a
    division (``Path(root) / "name"``), and what an awaited call runs in a thread
    (``await asyncio.to_thread(socket.create_connection, a)``: any first argument, also
    inside ``functools.partial``), and the name or attribute an alias reads."""
    if isinstance(value, ast.Await) and isinstance(value.value, ast.Call):
        call = value.value
        made = _made_by(call)
        while call.args:
            made.extend(_made_by(call.args[0]) or ([] if (head := _chain(call.args[0])) is None else [head]))
            if not isinstance(call.args[0], ast.Call):
                break
            call = call.args[0]
        return made
    if isinstance(value, (ast.Call, ast.BinOp)):
        head = _chain(value)
        return [head] if head is not None else []
    if isinstance(value, (ast.Name, ast.Attribute)):
        alias = _dotted(value)  # ``q = p``, ``http = self.http``
        return [alias] if alias is not None else []
    return []


def _definition_names(name: str, owner: _Body) -> list[str]:
    """``make`` for a function; also ``.make`` for a method (read as ``self.make``)."""
    return [name, "." + name] if isinstance(owner.node, ast.ClassDef) else [name]


def _bound_names(target: ast.AST, owner: _Body, by_definition: set[str]) -> list[str]:
    """The names an assignment target binds; an attribute store binds ``.attr``, and so
    does a class body's name (both are read as ``self.attr``)."""
    if isinstance(target, ast.Attribute):
        by_definition.add("." + target.attr)
        return ["." + target.attr]
    names = bound_by_target(target)
    if isinstance(owner.node, ast.ClassDef):
        attributes = ["." + name for name in names]
        by_definition.update(attributes)
        return [*names, *attributes]
    return names


def _chain(func: ast.AST) -> _Use | None:
    """The name a callee starts from, with the dotted name up to the first call in it:
    ``("a", "a.b.c")`` for ``a.b.c``; ``("a", "a.b")`` for ``a.b(x).c`` and
    ``(a.b(x) / "y").c``."""
    attributes: list[str] = []
    while True:
        if isinstance(func, ast.Attribute):
            attributes.append(func.attr)
            func = func.value
        elif isinstance(func, ast.Call):
            attributes.clear()
            func = func.func
        elif isinstance(func, ast.BinOp):
            attributes.clear()
            func = func.left
        elif isinstance(func, ast.Name):
            return func.id, ".".join([func.id, *reversed(attributes)])
        else:
            return None


def _dotted(node: ast.AST) -> _Use | None:
    """``("a", "a.b.c")`` for ``a.b.c``; ``None`` when it does not start from a name."""
    split = split_dotted(node)
    return None if split is None else (split[0], split[0] + split[1])

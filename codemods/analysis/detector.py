"""Which calls are blocking: a callee resolved through the module's imports and scopes.

Names resolve through ``codemods.analysis.bindings``, never by spelling: ``t.sleep``
after ``import time as t`` is ``time.sleep``; a parameter, local or class attribute that
shadows an import is not. Methods are found on objects whose type is certain: made by a
known constructor (``s = requests.Session()``, ``with open(p) as f``), annotated as the
type, or made inline (``Path(p).read_text()``); also attributes of the module's classes and
what its functions return (``codemods.analysis.receivers``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Collection, Mapping, Sequence

from codemods.analysis.flow import walk
from codemods.analysis.bindings import RESOLVED_SOURCES, Binding, Scope, is_dotted_name, resolve
from codemods.analysis.prior_fixes import no_parameters
from codemods.catalog import (
    THREAD_RUNNER_NAMES,
    ArgCondition,
    BlockingCall,
    BlockingType,
    IOArgument,
    derives,
    method_entry,
    returned_type,
)

if TYPE_CHECKING:
    from codemods.declared import DeclaredBlocking

if TYPE_CHECKING:
    from codemods.analysis.receivers import ModuleReceivers

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
#: The most attributes between a typed object and a method of it (``client.chat.completions.create``).
_LONGEST_PATH = 4


def _resolves_to(node: ast.AST, scope: Scope, target: str) -> tuple[bool, bool]:
    """``(all names resolve to target, some do)``; any non-import name counts as 'other'."""
    names = scope.qualified_names(node) if isinstance(node, (ast.Name, ast.Attribute)) and is_dotted_name(node) else set()
    hits = [q.name == target and q.source in RESOLVED_SOURCES for q in names]
    return bool(hits) and all(hits), any(hits)


@dataclass(frozen=True)
class Argument:
    """One argument of a call, in source order (``ast`` keeps keywords apart)."""

    value: ast.expr
    keyword: str | None = None
    #: ``"*"``, ``"**"`` or ``""``.
    star: str = ""


def arguments_of(call: ast.Call) -> list[Argument]:
    """The call's arguments in the order they are written."""
    found: list[tuple[tuple[int, int], Argument]] = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            found.append(((arg.lineno, arg.col_offset), Argument(arg.value, None, "*")))
        else:
            found.append(((arg.lineno, arg.col_offset), Argument(arg)))
    for keyword in call.keywords:
        where = (getattr(keyword, "lineno", keyword.value.lineno), getattr(keyword, "col_offset", keyword.value.col_offset))
        found.append((where, Argument(keyword.value, keyword.arg, "**" if keyword.arg is None else "")))
    found.sort(key=lambda pair: pair[0])
    return [argument for _, argument in found]


@dataclass(frozen=True)
class Match:
    """A call that is a blocking call."""

    entry: BlockingCall
    #: Why the call cannot be rewritten although it blocks (it is then reported).
    reason: str | None = None
    #: For methods: the type of the object the method is called on.
    receiver: BlockingType | None = None
    #: For methods: that object (``client`` in ``client.chat.completions.create(...)``).
    holder: ast.expr | None = None


class Detector:
    """Matches calls against the catalog; remembers bindings of blocking-type objects."""

    def __init__(
        self,
        index: Mapping[str, BlockingCall],
        constructors: Mapping[str, BlockingType],
        annotations: Mapping[str, BlockingType],
        allowed: Callable[[BlockingCall], bool],
        source_of: "SourceText",
        declared: DeclaredBlocking | None = None,
    ) -> None:
        self.index = index
        self.constructors = constructors
        self.annotations = annotations
        #: Modules and classes the project declares blocking (``[tool.loopsafe] blocking``),
        #: asked after the catalog: their functions, and the objects their classes make.
        self.declared = declared
        #: Whether a method found on a typed object blocks (not a name ``ignore`` lists).
        self.allowed = allowed
        self.source_of = source_of
        #: Binding node (``Name`` target or ``arg``) -> the type bound there.
        self.bindings: dict[ast.AST, BlockingType] = {}
        #: Names that are certainly files where the walk is: the ``as`` names of the
        #: enclosing ``with open(...)`` blocks that do not rebind them, with the scope
        #: they are names of (innermost block last).
        self.block_files: list[tuple[Scope, dict[str, BlockingType]]] = []
        #: Coroutine scope -> name -> its bindings in blocks an earlier fix moved out of
        #: the coroutine (``codemods.analysis.prior_fixes``): they count as the coroutine's.
        self.moved: dict[Scope, dict[str, list[Binding]]] = {}
        #: Function -> (its top-level statements, node -> index of the one it is in).
        self._statements: dict[ast.AST, tuple[list[ast.stmt], dict[ast.AST, int]]] = {}
        #: Scope node -> name target -> the value assigned to it (``buf = io.BytesIO(data)``).
        self._assigned: dict[ast.AST, dict[ast.AST, ast.expr]] = {}
        #: The module's class attributes and return annotations, when the module is known.
        self.receivers: ModuleReceivers | None = None

    # -- bindings ----------------------------------------------------------------------

    def constructed_type(
        self, value: ast.expr, scope: Scope, excluding: ast.AST | None = None,
        typed: tuple[ast.expr, BlockingType | None] | None = None,
    ) -> BlockingType | None:
        """The type of the object ``value`` makes, when it is certain. ``typed``: a
        receiver whose type ``receiver_type`` has just found (in a chain ``a.b().c()``,
        asking again would double the work at every link)."""
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Div):
            # ``Path(root) / "name"`` is a path too (``kind.joins``).
            left = self.receiver_type(value.left, scope)
            return left if left is not None and left.joins else None
        if isinstance(value, ast.Await):
            offloaded = self._offloaded_result_type(value.value, scope, excluding)
            if offloaded is None and isinstance(value.value, ast.Call) and self.receivers is not None:
                return self.receivers.returned_type(value.value, scope, awaited=True)  # ``await make()``
            return offloaded
        if not isinstance(value, ast.Call):
            return None
        kinds = {self._made_by(name) for name in resolve(value.func, scope)}
        if len(kinds) == 1 and None not in kinds:
            kind = kinds.pop()
            assert kind is not None
            return kind.over_buffer if kind.over_buffer is not None and not self._makes_with_io(value, scope) else kind
        if kinds:
            # Imported, and no constructor: maybe a function of another module of the project.
            return self.receivers.returned_type(value, scope) if kinds == {None} and self.receivers else None
        func = value.func
        if isinstance(func, ast.Attribute):
            base = typed[1] if typed is not None and typed[0] is func.value else self.receiver_type(func.value, scope)
            if base is not None and func.attr in base.opens:
                return self.constructors.get("builtins.open")  # ``p.open()``: a file
        return self.receivers.returned_type(value, scope) if self.receivers is not None else None

    def value_type(self, value: ast.expr, scope: Scope) -> BlockingType | None:
        """The type of the object an assignment binds, when it is certain: made by a
        constructor, returned by a typed function, or an alias of a typed receiver; a
        parameter by its annotation (also in functions whose bindings were not walked)."""
        kind = self.constructed_type(value, scope)
        if kind is None and isinstance(value, (ast.Name, ast.Attribute, ast.Call)):
            kind = self.receiver_type(value, scope)
        if kind is None and isinstance(value, ast.Name):
            bindings = scope[value.id]
            annotations = [b.node.annotation if isinstance(b.node, ast.arg) else None for b in bindings]
            if bindings and all(a is not None for a in annotations):
                # (annotations are evaluated where the function is defined)
                kinds = {self.annotated_type(a, b.scope.parent) for a, b in zip(annotations, bindings) if a is not None}
                kind = kinds.pop() if len(kinds) == 1 else None
        return kind

    def _made_by(self, constructor: str) -> BlockingType | None:
        """The type of the objects ``constructor`` (a qualified name) makes, if known."""
        kind = self.constructors.get(constructor)
        return kind if kind is not None or self.declared is None else self.declared.instance_type(constructor)

    def _offloaded_result_type(self, value: ast.expr, scope: Scope, excluding: ast.AST | None = None) -> BlockingType | None:
        """``await asyncio.to_thread(Path(p).resolve)``: typed like ``Path(p).resolve()``, so
        that the rewritten code is checked as the original was (and fixed the same)."""
        function = _offloaded_callable(value, scope)
        if function is None:
            return None
        if isinstance(function, ast.Lambda) and no_parameters(function.args):
            # ``lambda: Image.open(p).convert("RGBA")``: a chain, typed as its last call
            return self.receiver_type(function.body, scope) if isinstance(function.body, ast.Call) else None
        if isinstance(function, ast.Call) and resolve(function.func, scope) == {"functools.partial"}:
            inner = arguments_of(function)
            if inner:
                function = inner[0].value  # anyio/trio keyword arguments: partial(f, key=value)
        kinds = {self._made_by(name) for name in resolve(function, scope)}
        if len(kinds) == 1:
            return kinds.pop()
        if isinstance(function, ast.Attribute):
            base = self.receiver_type(function.value, scope, excluding)
            if base is not None and derives(base, function.attr):
                return base
            returned = None if base is None else returned_type(base, function.attr)
            if returned is not None:
                return returned  # ``await asyncio.to_thread(ssh.open_sftp)``
        return None

    def annotated_type(self, annotation: ast.expr, scope: Scope) -> BlockingType | None:
        kinds = {self.annotated_as(name) for name in self._annotated_names(annotation, scope)}
        return kinds.pop() if len(kinds) == 1 else None

    def annotated_name(self, annotation: ast.expr, scope: Scope) -> str | None:
        """The qualified name of the one type ``annotation`` names, when it is a type of
        the catalog (or declared blocking): what another module types a call with
        (``annotated_as``), through the summaries."""
        names = self._annotated_names(annotation, scope)
        if len(names) != 1:
            return None
        name = names.pop()
        return name if self.annotated_as(name) is not None else None

    def _annotated_names(self, annotation: ast.expr, scope: Scope) -> set[str]:
        # Optional[T] and T | None name T.
        if isinstance(annotation, ast.Subscript) and not isinstance(annotation.slice, (ast.Tuple, ast.Slice)):
            if resolve(annotation.value, scope) == {"typing.Optional"}:
                element = annotation.slice
                if isinstance(element, ast.Index):  # Python 3.8
                    element = element.value  # type: ignore[attr-defined]
                return self._annotated_names(element, scope)
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            for side, other in ((annotation.left, annotation.right), (annotation.right, annotation.left)):
                if isinstance(other, ast.Constant) and other.value is None:
                    return self._annotated_names(side, scope)
        return resolve(annotation, scope)

    def annotated_as(self, name: str) -> BlockingType | None:
        """The type an annotation naming ``name`` (qualified) declares, if it is known."""
        kind = self.annotations.get(name)
        return kind if kind is not None or self.declared is None else self.declared.instance_type(name)

    def bind(self, target: ast.AST, kind: BlockingType | None) -> None:
        if kind is not None:
            self.bindings[target] = kind

    def receiver_type(self, receiver: ast.expr, scope: Scope, excluding: ast.AST | None = None) -> BlockingType | None:
        """The type of the object a method is called on, when it is certain.

        ``excluding``: a binding being typed from this very expression (``path =
        path.resolve()``), which cannot count against itself: if every other binding
        makes the type, so does this one.
        """
        derived = _derived_from(receiver)
        typed: tuple[ast.expr, BlockingType | None] | None = None
        if derived is not None:
            # ``p.parent`` or ``p.with_suffix(".bak")``: the same type as ``p``.
            base, attribute = derived
            kind = self.receiver_type(base, scope, excluding)
            if kind is not None and derives(kind, attribute):
                return kind
            returned = None if kind is None else returned_type(kind, attribute)
            if returned is not None and self.allowed(BlockingCall(returned.name, returned.category)):
                return returned  # ``conn.cursor()``: a new object of another type
            if excluding is None:
                typed = (base, kind)  # what ``constructed_type`` would ask again
        if isinstance(receiver, (ast.Call, ast.BinOp, ast.Await)):
            return self.constructed_type(receiver, scope, excluding, typed)
        if isinstance(receiver, ast.Attribute) and self.receivers is not None:
            return self.receivers.attribute_type(receiver, scope)  # ``self.http``
        if not isinstance(receiver, ast.Name):
            return None
        for files_scope, files in reversed(self.block_files):
            if receiver.id in files and files_scope is scope:
                return files[receiver.id]
        moved = self.moved.get(scope, {}).get(receiver.id)
        visible = scope[receiver.id] if moved is None else [*scope.bindings_of(receiver.id), *moved]
        assignments = [a for a in visible if a.node is None or a.node is not excluding]
        # Every binding of the name must be one we saw make this type.
        kinds = {self.bindings.get(a.node) if a.node is not None else None for a in assignments}
        if len(kinds) == 1 and assignments:
            return kinds.pop()
        return self._rebound_type(receiver, scope, assignments)

    def _rebound_type(self, receiver: ast.Name, scope: Scope, assignments: Collection[Binding]) -> BlockingType | None:
        """``path = Path(path)`` then ``path.exists()``: the one binding that reaches the call.

        Sound for one shape only: besides the function's own parameter, the name has one
        binding, a typed ``name = Ctor(...)`` that is a top-level statement of the
        function body, and the call is in a later top-level statement of the same body.
        That statement always runs before the later ones, and nothing else can rebind the
        name afterwards.
        """
        if scope.kind != "function" or not isinstance(scope.node, _FUNCTIONS):
            return None
        bound = [a for a in assignments if a.node is not None and a.scope is scope]
        if len(bound) != len(assignments):
            return None
        rebinding = [a for a in bound if not isinstance(a.node, ast.arg)]
        if len(rebinding) != 1 or len(assignments) > 2:
            return None
        target = rebinding[0].node
        assert target is not None
        kind = self.bindings.get(target)
        if kind is None:
            return None
        statements, where = self._top_level(scope.node)
        at = where.get(target)
        if at is None or not _assigns(statements, at, target):
            return None
        used = where.get(receiver)
        return kind if used is not None and used > at else None

    def _top_level(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[list[ast.stmt], dict[ast.AST, int]]:
        known = self._statements.get(function)
        if known is None:
            statements = list(function.body)
            where: dict[ast.AST, int] = {}
            for index, statement in enumerate(statements):
                where.update(dict.fromkeys(walk(statement), index))
            known = self._statements[function] = (statements, where)
        return known

    # -- calls -------------------------------------------------------------------------

    def match(self, call: ast.Call, scope: Scope) -> Match | None:
        func = call.func
        names = scope.qualified_names(func) if isinstance(func, (ast.Name, ast.Attribute)) and is_dotted_name(func) else set()
        entries = {self.entry(q.name) if q.source in RESOLVED_SOURCES else None for q in names}
        found = sorted((e for e in entries if e is not None), key=lambda e: e.qualname)
        if found:
            entry = found[0]
            if len(entries) > 1:
                return Match(entry, f"the name may also refer to something that is not {entry.qualname}")
            return self._conditions(call, entry, scope)
        if isinstance(func, ast.Attribute):
            typed = self.typed_method(func, scope)
            if typed is not None:
                kind, method, holder = typed
                if self.allowed(method):
                    match = self._conditions(call, method, scope, kind)
                    return None if match is None else replace(match, holder=holder)
        return None

    def entry(self, qualname: str) -> BlockingCall | None:
        """The catalog's entry for a call of ``qualname``, else a declared one."""
        entry = self.index.get(qualname)
        return entry if entry is not None or self.declared is None else self.declared.entry(qualname)

    def typed_method(self, func: ast.Attribute, scope: Scope) -> tuple[BlockingType, BlockingCall, ast.expr] | None:
        """The method ``func`` names, found from the nearest object of a known type it is
        reached from (``client`` in ``client.chat.completions.create``), if it blocks."""
        path = [func.attr]
        base = func.value
        for _ in range(_LONGEST_PATH):
            kind = self.receiver_type(base, scope)
            if kind is not None:
                method = method_entry(kind, ".".join(reversed(path)))
                return None if method is None else (kind, method, base)
            if not isinstance(base, ast.Attribute):
                return None
            path.append(base.attr)
            base = base.value
        return None

    def maker_type(self, call: ast.Call, scope: Scope) -> BlockingType | None:
        """The type of the object ``call`` made from another (``conn.cursor()``, a file
        ``p.open()``), whose maker's type is the first of the pair."""
        func = call.func
        if not isinstance(func, ast.Attribute):
            return None
        maker = self.receiver_type(func.value, scope)
        if maker is None or (returned_type(maker, func.attr) is None and func.attr not in maker.opens):
            return None
        return maker

    def _makes_with_io(self, call: ast.Call, scope: Scope) -> bool:
        """Whether a constructor call touches a file (``zipfile.ZipFile(path)``), not only an
        in-memory buffer (``zipfile.ZipFile(io.BytesIO())``), by its catalog entry."""
        entries = {self.entry(name) for name in resolve(call.func, scope)}
        return not all(entry is not None and entry.io_argument is not None
                       and not self._does_io(arguments_of(call), entry.io_argument, scope) for entry in entries)

    def _conditions(
        self, call: ast.Call, entry: BlockingCall, scope: Scope, receiver: BlockingType | None = None
    ) -> Match | None:
        arguments = arguments_of(call)
        if entry.io_argument is not None and not self._does_io(arguments, entry.io_argument, scope):
            return None
        if entry.nonblocking_if is not None:
            arg = _argument(arguments, entry.nonblocking_if)
            if arg is not None and _mentions(arg, scope, entry.nonblocking_if.value):
                return None
        if entry.blocks_only_if is not None:
            condition = entry.blocks_only_if
            arg = _argument(arguments, condition)
            if arg is None or not _resolves_to(arg, scope, condition.value)[0]:
                return Match(
                    entry,
                    f"it only blocks when {condition.keyword} is {condition.value}, which loopsafe "
                    "cannot confirm here; with another mode it starts a process without waiting",
                )
        if entry.streams_if is not None:
            streaming = entry.streams_if
            value = next((a.value for a in arguments if a.keyword == streaming.keyword), None)
            if value is not None and not _is_constant(value, streaming.off):
                spelled = f"{streaming.keyword}={self.source_of(value)}"
                return Match(
                    entry,
                    f"with `{spelled}` the body is read later by the response (iter_content(), iter_lines(), "
                    ".content, .read()), on the event loop; make the request and read the body in one "
                    "function run with asyncio.to_thread",
                    receiver,
                )
        return Match(entry, receiver=receiver)

    def _does_io(self, arguments: Sequence[Argument], condition: IOArgument, scope: Scope) -> bool:
        """Whether the call may touch a file or the network: ``Image.open(io.BytesIO(data))`` does not."""
        value = _argument(arguments, condition)
        if value is None:
            return not condition.optional or any(argument.star for argument in arguments)
        if condition.optional and isinstance(value, ast.Constant) and value.value in (None, ""):
            return False
        return not self._made_only_by(value, condition.in_memory, scope)

    def _made_only_by(self, value: ast.expr, constructors: Collection[str], scope: Scope) -> bool:
        """``io.BytesIO(data)``, or a name every binding of which is one (``buf = io.BytesIO(data)``)."""
        if not constructors:
            return False
        if isinstance(value, ast.Await):
            # ``await asyncio.to_thread(io.BytesIO, data)`` (a fix's offload of a call a
            # recording saw stall, LS401) makes what the call made.
            function = _offloaded_callable(value.value, scope)
            names = resolve(function, scope) if function is not None else set()
            return bool(names) and names <= set(constructors)
        if isinstance(value, ast.Call):
            names = resolve(value.func, scope)
            return bool(names) and names <= set(constructors)
        if not isinstance(value, ast.Name):
            return False
        bindings = scope[value.id]
        if not bindings or any(b.node is None or b.scope.node is None for b in bindings):
            return False
        for binding in bindings:
            assert binding.node is not None and binding.scope.node is not None
            assigned = self._assigned_values(binding.scope.node).get(binding.node)
            if assigned is None or not self._made_only_by(assigned, constructors, binding.scope) or assigned is value:
                return False
        return True

    def _assigned_values(self, owner: ast.AST) -> dict[ast.AST, ast.expr]:
        known = self._assigned.get(owner)
        if known is None:
            known = self._assigned[owner] = {}
            for node in walk(owner):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    known[node.targets[0]] = node.value
                elif isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
                    known[node.optional_vars] = node.context_expr
        return known


class SourceText:
    """The source text of an ``ast`` node, as libcst would print the node."""

    def __init__(self, source: str) -> None:
        # ``ast`` counts lines at newlines only (``str.splitlines`` would also split at
        # form feeds and other separators); ``source`` has its newlines translated.
        self._lines = [line + "\n" for line in source.split("\n")]
        self._encoded: dict[int, bytes] = {}
        self._starts: list[int] = []
        self._data = b""

    def _line(self, number: int) -> bytes:
        line = self._encoded.get(number)
        if line is None:
            line = self._encoded[number] = self._lines[number - 1].encode("utf-8")
        return line

    def __call__(self, node: ast.AST) -> str:
        first, last = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        if first == last:
            return self._line(first)[start:end].decode("utf-8")
        parts = [self._line(first)[start:]]
        parts += [self._line(n) for n in range(first + 1, last)]
        parts.append(self._line(last)[:end])
        return b"".join(parts).decode("utf-8")

    def lines(self, first: int, last: int) -> str:
        """The text of lines ``first``..``last`` (1-based, inclusive)."""
        return "".join(self._lines[first - 1:last])

    def column(self, line: int, offset: int) -> int:
        """The character column of byte ``offset`` on ``line`` (libcst counts characters)."""
        text = self._line(line)
        return offset if text.isascii() else len(text[:offset].decode("utf-8"))

    def offset(self, line: int, column: int) -> int:
        """The byte offset in the UTF-8 text of ``(line, column)`` (a byte column)."""
        if not self._starts:
            total = 0
            for number in range(1, len(self._lines) + 1):
                self._starts.append(total)
                total += len(self._line(number))
        return self._starts[line - 1] + column

    def between(self, start: int, end: int) -> str:
        """The text between two byte offsets."""
        if not self._data:
            self._data = b"".join(self._line(n) for n in range(1, len(self._lines) + 1))
        return self._data[start:end].decode("utf-8")

    def line_bytes(self, line: int) -> bytes:
        return self._line(line) if 0 < line <= len(self._lines) else b""

    def opening_parenthesis(self, line: int, offset: int) -> tuple[int, int] | None:
        """The ``(`` opening the arguments of a call whose callee ends at ``(line, offset)``."""
        while 0 < line <= len(self._lines):
            code = _code_part(self._line(line))
            while offset < len(code) and code[offset : offset + 1] in b" \t\f)\\\r\n":
                offset += 1
            if offset < len(code):
                return (line, offset) if code[offset : offset + 1] == b"(" else None
            line, offset = line + 1, 0
        return None


def _code_part(line: bytes) -> bytes:
    """A line without its comment (quotes followed, so a ``#`` in a string stays)."""
    if b"#" not in line:
        return line
    quote = b""
    at = 0
    while at < len(line):
        char = line[at : at + 1]
        if quote:
            if char == b"\\":
                at += 1
            elif char == quote:
                quote = b""
        elif char in (b"'", b'"'):
            quote = char
        elif char == b"#":
            return line[:at]
        at += 1
    return line


def _assigns(statements: Sequence[ast.stmt], at: int, target: ast.AST) -> bool:
    """``target = ...`` (or ``target: T = ...``) is the statement, alone on its line."""
    statement = statements[at]
    before = statements[at - 1] if at > 0 else None
    after = statements[at + 1] if at + 1 < len(statements) else None
    if (before is not None and before.end_lineno == statement.lineno) or (
        after is not None and after.lineno == statement.end_lineno
    ):
        return False  # ``a = f(); b = 2``: one line, several statements
    if isinstance(statement, ast.Assign):
        return len(statement.targets) == 1 and statement.targets[0] is target
    return isinstance(statement, ast.AnnAssign) and statement.target is target and statement.value is not None


def _offloaded_callable(value: ast.expr, scope: Scope) -> ast.expr | None:
    """``f`` of ``asyncio.to_thread(f, ...)`` (any of ``THREAD_RUNNER_NAMES``), as a fix
    spells an offload; ``None`` for any other expression."""
    if not isinstance(value, ast.Call):
        return None
    arguments = arguments_of(value)
    if not arguments or arguments[0].keyword is not None or arguments[0].star:
        return None
    if not resolve(value.func, scope) & THREAD_RUNNER_NAMES:
        return None
    return arguments[0].value


def _derived_from(receiver: ast.expr) -> tuple[ast.expr, str] | None:
    """``(p, "parent")`` for ``p.parent`` and ``(p, "with_suffix")`` for ``p.with_suffix(x)``."""
    if isinstance(receiver, ast.Call):
        receiver = receiver.func
    if isinstance(receiver, ast.Attribute):
        return receiver.value, receiver.attr
    return None


def _argument(arguments: Sequence[Argument], condition: ArgCondition | IOArgument) -> ast.expr | None:
    positional = [arg for arg in arguments if arg.keyword is None and not arg.star]
    for arg in arguments:
        if arg.keyword is not None and arg.keyword == condition.keyword:
            return arg.value
    if len(positional) > condition.index and not any(arg.star for arg in arguments[: condition.index + 1]):
        return positional[condition.index].value
    return None


def _mentions(expression: ast.expr, scope: Scope, target: str) -> bool:
    """``os.WNOHANG`` or ``os.WNOHANG | os.WUNTRACED``: the flag is among the operands."""
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.BitOr):
        return _mentions(expression.left, scope, target) or _mentions(expression.right, scope, target)
    return _resolves_to(expression, scope, target)[1]


def _is_constant(node: ast.expr, value: bool) -> bool:
    return isinstance(node, ast.Constant) and node.value is value

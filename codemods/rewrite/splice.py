"""The rewrite without a libcst tree of the module: calls spliced into the source text at
``ast`` positions.

    requests.get(url, timeout=5)   ->   await asyncio.to_thread(requests.get, url, timeout=5)
    time.sleep(1)                  ->   await asyncio.sleep(1)

The plan (``codemods.analysis.finder.plan_module``) names each call by span; ``ast`` has
where its callee ends and its first argument starts. The new text is what
``codemods.rewrite.apply`` prints for that call, byte for byte (the callee moves in as
the first argument, the layout of the arguments stays, an ``await`` in the primary
position of ``.x``, ``[i]`` or ``(...)`` gets parentheses), written as a few insertions
and replacements around the call, so that calls nested in one another compose.

libcst runs only where a tree is needed, on the smallest unit holding the change:
- a top-level statement holding a ``with`` block moved into a function, a chain run
  through a lambda, a ``run_in_executor`` or ``partial`` spelling, a call inside an
  f-string or laid out in a way the splice does not copy: that statement alone, as a
  module of its own (``apply.rewrite_unit``), with its part of the plan;
- the import block at the top, for ``import asyncio`` and for the import of a callee a
  native rewrite removed from the code, when nothing else can read it: the header alone
  and a stand-in for the statement after it (``imports.add_imports_in_header``,
  ``imports.remove_imports_in_statements``, as the tree rewrite runs them).
What takes the module's scopes to decide exactly (a hoisted assignment's new name, an
import that may or may not go), and modules whose text libcst would print differently
(``except X :``), are left to the tree rewrite of the module: ``splice`` answers ``None``.
"""

from __future__ import annotations

import ast
import bisect
import functools
import re
from typing import Callable, Iterator, Mapping

from codemods.analysis.finder import CHAIN, NATIVE, ModulePlan, Span
from codemods.catalog import BlockingCall
from codemods.config import Settings

#: An edit of the source: replace bytes ``start:end`` by ``text``; ``order`` sorts edits
#: at one place (closing parentheses first, then outer insertions before inner ones,
#: then replacements).
_Edit = tuple[int, int, int, int, bytes]

#: Where an ``await`` must be parenthesized: the primary of an attribute, a subscript, a call.
_PRIMARY_FIELDS: dict[type[ast.AST], str] = {ast.Attribute: "value", ast.Subscript: "value", ast.Call: "func"}


#: What ``match`` adds to ``ast`` from Python 3.10 on (nothing before).
_MATCH_CASE: tuple[type[ast.AST], ...] = tuple(getattr(ast, name) for name in ("match_case",) if hasattr(ast, name))
_MATCH_CAPTURES: tuple[type[ast.AST], ...] = tuple(
    getattr(ast, name) for name in ("MatchAs", "MatchStar", "MatchMapping") if hasattr(ast, name)
)


class _Unsupported(Exception):
    """A shape the text splice does not reproduce exactly: the tree rewrite does it."""


def splice(
    source: bytes, tree: ast.Module, plan: ModulePlan, settings: Settings, filename: str = "<unknown>"
) -> bytes | None:
    """``source`` with the plan's changes made and the imports they need added, as
    ``codemods.rewrite.apply`` would write it; ``None`` if the plan holds a change this
    does not make exactly so (the caller then runs the tree rewrite on the module)."""
    if plan.hoists or not (plan.calls or plan.blocks):
        return None  # a hoist's name is chosen against the whole module's names
    if b"\r" in source or source.startswith(b"\xef\xbb\xbf"):
        return None  # libcst's choice of newline and its handling of a BOM: not ours to copy
    try:
        source.decode("utf-8")  # ``ast`` columns count UTF-8 bytes: only then do they index ``source``
    except UnicodeDecodeError:
        return None
    text = _Text(source)
    if _libcst_rewrites_elsewhere(text, tree):
        return None
    firsts = [_first_line(statement) for statement in tree.body]
    # Each call's edits; a call the text splice cannot make exactly (inside an f-string,
    # an unusual layout) leaves its statement to libcst, as a change needing a tree does.
    by_tree = _tree_lines(plan)
    planned = {span: how for span, how in plan.calls.items() if span[0] not in by_tree}
    found = _planned_calls(tree, text, planned)
    call_edits: dict[Span, list[_Edit]] = {}
    #: The root names of the callees native rewrites remove from the code (``time`` of ``time.sleep``).
    dropped: list[str] = []
    for span in planned:
        call, parenthesize, in_fstring = found.get(span, (None, False, True))
        how, entry, spelling = plan.calls[span]
        try:
            if call is None or in_fstring:
                raise _Unsupported  # positions inside f-strings: not to be trusted on every Python
            if how == NATIVE:
                call_edits[span] = _native_edits(text, call, entry, spelling.function.encode(), parenthesize)
                dropped.append(_root_name(call.func))
            else:
                call_edits[span] = _offload_edits(text, call, spelling.function.encode(), parenthesize)
        except _Unsupported:
            if how == NATIVE:
                return None  # its import may go: decided on the module's scopes, not a unit's
            by_tree.add(span[0])
    units = _units(tree, by_tree, firsts)
    if units is None:
        return None
    in_unit = _in_units(units, firsts)
    needs: list[tuple[tuple[int, int], str]] = []
    edits: list[_Edit] = []
    for span, made in call_edits.items():
        if not in_unit(span[0]):
            edits += made
            # libcst's order of adding imports: the order it leaves the calls (inner, then outer).
            needs += [((span[2], span[3]), module) for module in plan.calls[span][2].needs]
    indent = _default_indent(text, tree) if units else ""
    for index in units:
        first = firsts[index]
        last = firsts[index + 1] - 1 if index + 1 < len(firsts) else len(text.starts)
        rewritten = _rewrite_unit(text, plan, first, last, settings, indent, filename)
        if rewritten is None:
            return None
        unit, modules = rewritten
        edits.append((text.starts[first - 1], text.end_of_line(last), 2, 0, unit))
        needs += [((first, 0), module) for module in modules]
    try:
        output = _apply(source, edits)
    except _Unsupported:
        return None
    removed: list[ast.Import | ast.ImportFrom] = []
    for root in dict.fromkeys(dropped):
        fate = _import_fate(tree, root, dropped.count(root))
        if fate is None:
            return None
        if not isinstance(fate, bool):
            removed.append(fate)
    if needs or removed:
        modules = list(dict.fromkeys(module for _, module in sorted(needs, key=lambda need: need[0])))
        if units and len(modules) > 1:
            return None  # their order among the units' own: not worth working out
        with_imports = _edit_imports(source, output, tree, modules, removed)
        if with_imports is None:
            return None
        output = with_imports
    return output


def _libcst_rewrites_elsewhere(text: _Text, tree: ast.Module) -> bool:
    """Whether libcst, printing the module again, would change text the plan does not
    touch: its parser drops the space in ``except X :`` (``except X as e :`` keeps it).
    The tree rewrite's output has that change; the splice would not."""
    if not re.search(rb"[ \t\n]:", text.source):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None and node.name is None:
            at = text.offset(node.type.end_lineno or node.type.lineno, node.type.end_col_offset or 0)
            while text.source[at:at + 1] == b")":
                at += 1
            if text.source[at:at + 1] != b":":
                return True
    return False


def _first_line(statement: ast.stmt) -> int:
    """Where a statement starts, its decorators included."""
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


def _tree_lines(plan: ModulePlan) -> set[int]:
    """The lines of the changes that need libcst's tree: a ``with`` block moved into a
    function, a chain run through a lambda, a call spelled with ``run_in_executor`` or
    ``functools.partial``."""
    lines = {line for line, _ in plan.blocks} | {span[0] for span in plan.chain_parameters}
    lines |= {
        span[0] for span, (how, _, spelling) in plan.calls.items()
        if how == CHAIN or spelling.loop is not None or spelling.partial is not None
    }
    return lines


def _units(tree: ast.Module, lines: set[int], firsts: list[int]) -> list[int] | None:
    """The top-level statements (by index) that hold one of ``lines``: libcst rewrites
    each alone. ``None`` if one is not a compound statement on lines of its own."""
    units = sorted({bisect.bisect_right(firsts, line) - 1 for line in lines})
    for index in units:
        if index < 0 or not hasattr(tree.body[index], "body"):
            return None
        statement = tree.body[index]
        if index + 1 < len(firsts) and firsts[index + 1] <= (statement.end_lineno or statement.lineno):
            return None
    return units


def _in_units(units: list[int], firsts: list[int]) -> Callable[[int], bool]:
    """Whether a line is in one of the ``units``, from its first line to the next statement."""
    chosen = set(units)

    def inside(line: int) -> bool:
        return bisect.bisect_right(firsts, line) - 1 in chosen

    return inside


def _rewrite_unit(
    text: _Text, plan: ModulePlan, first: int, last: int, settings: Settings, indent: str, filename: str
) -> tuple[bytes, list[str]] | None:
    """Lines ``first``..``last`` (a top-level statement and the lines up to the next one)
    rewritten by libcst as a module of their own, with the part of ``plan`` in them."""
    from codemods.rewrite.apply import rewrite_unit

    def inside(line: int) -> bool:
        return first <= line <= last

    shift = first - 1

    def moved(span: Span) -> Span:
        return (span[0] - shift, span[1], span[2] - shift, span[3])

    unit_plan = ModulePlan(
        calls={moved(span): how for span, how in plan.calls.items() if inside(span[0])},
        blocks={(line - shift, column): block for (line, column), block in plan.blocks.items() if inside(line)},
        chain_parameters={
            moved(span): tuple((name, moved(bound)) for name, bound in parameters)
            for span, parameters in plan.chain_parameters.items() if inside(span[0])
        },
    )
    source = text.source[text.starts[first - 1]:text.end_of_line(last)]
    return rewrite_unit(source, settings, unit_plan, indent, filename)


def _default_indent(text: _Text, tree: ast.Module) -> str:
    """What libcst takes for the module's indentation: that of the first indented block
    (its tokenizer's first INDENT), four spaces if there is none."""
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.stmt) and node not in tree.body:
            prefix = text.line(node.lineno)[:node.col_offset]
            if prefix and not prefix.strip(b" \t\f"):
                return prefix.decode("utf-8")
        stack.extend(reversed([
            child for child in ast.iter_child_nodes(node)
            if isinstance(child, (ast.stmt, ast.excepthandler, *_MATCH_CASE))
        ]))
    return "    "


class _Text:
    """Byte offsets of ``ast`` positions, and ``ast`` byte columns as libcst's character columns."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        starts = [0]
        at = source.find(b"\n")
        while at >= 0:
            starts.append(at + 1)
            at = source.find(b"\n", at + 1)
        self.starts = starts

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column

    def end_of_line(self, number: int) -> int:
        """The offset just past line ``number`` (its line break included)."""
        return self.starts[number] if number < len(self.starts) else len(self.source)

    def line(self, number: int) -> bytes:
        end = self.starts[number] if number < len(self.starts) else len(self.source)
        return self.source[self.starts[number - 1]:end]

    def column(self, line: int, offset: int) -> int:
        text = self.line(line)
        return offset if text.isascii() else len(text[:offset].decode("utf-8"))

    def span(self, node: ast.expr) -> Span:
        end_line = node.end_lineno or node.lineno
        return (node.lineno, self.column(node.lineno, node.col_offset), end_line,
                self.column(end_line, node.end_col_offset or 0))


def _planned_calls(
    tree: ast.Module, text: _Text, planned: Mapping[Span, object]
) -> dict[Span, tuple[ast.Call, bool, bool]]:
    """The ``ast`` call of each span of ``planned`` found, whether its ``await`` needs
    parentheses (it is the primary of ``.x``, ``[i]`` or ``(...)`` without parentheses of
    its own), and whether it is inside an f-string."""
    lines = sorted({span[0] for span in planned})
    wanted = set(lines)
    found: dict[Span, tuple[ast.Call, bool, bool]] = {}
    for node, parent, in_fstring in _nodes_on(tree, lines):
        if not isinstance(node, ast.Call) or node.lineno not in wanted:
            continue
        span = text.span(node)
        if span not in planned:
            continue
        parenthesize = (
            isinstance(parent, (ast.Attribute, ast.Subscript, ast.Call))
            and getattr(parent, _PRIMARY_FIELDS[type(parent)]) is node
            # ``(f(x)).y``: the call's own parentheses go around the ``await``
            and (parent.lineno, parent.col_offset) == (node.lineno, node.col_offset)
        )
        found[span] = (node, parenthesize, in_fstring)
    return found


def _nodes_on(tree: ast.Module, lines: list[int]) -> Iterator[tuple[ast.AST, ast.AST | None, bool]]:
    """Each node (with its parent, and whether it is inside an f-string) of the statements
    that span one of the sorted ``lines``; the other statements are not walked."""
    stack: list[tuple[ast.AST, ast.AST | None, bool]] = [(tree, None, False)]
    while stack:
        node, parent, in_fstring = stack.pop()
        if isinstance(node, ast.stmt):
            first = _first_line(node)
            at = bisect.bisect_left(lines, first)
            if at == len(lines) or lines[at] > (node.end_lineno or node.lineno):
                continue
        yield node, parent, in_fstring
        inner = in_fstring or isinstance(node, ast.JoinedStr)
        stack.extend((child, node, inner) for child in ast.iter_child_nodes(node))


def _offload_edits(text: _Text, call: ast.Call, runner: bytes, parenthesize: bool) -> list[_Edit]:
    """``f(args)`` -> ``await runner(f, args)`` as edits, laid out as ``offload.offloaded``
    lays it out: the whitespace after ``(`` goes before the callee; a line break there
    puts the callee on a line of its own, the comment lines above the first argument
    staying above it."""
    source = text.source
    start = text.offset(call.lineno, call.col_offset)
    end = text.offset(call.end_lineno or call.lineno, call.end_col_offset or 0)
    opening = _opening(text, call)
    arguments: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    depth = end - start  # outer calls are longer: their insertions go first
    edits: list[_Edit] = []
    if parenthesize:
        edits.append((start, start, 1, -depth - 1, b"("))
        edits.append((end, end, 0, -depth, b")"))
    if not arguments:
        closing = end - 1
        if source[closing:end] != b")":
            raise _Unsupported
        between = source[opening + 1:closing]
        if b"\\" in between:
            raise _Unsupported
        edits.append((start, start, 1, -depth, b"await " + runner + b"(" + between))
        edits.append((opening, closing, 2, 0, b""))
        return edits
    first = min(text.offset(a.lineno, a.col_offset) for a in arguments)
    if first <= opening:
        raise _Unsupported  # ``f(x for x in y)``: the generator's parentheses are the call's
    between = source[opening + 1:first]
    if b"\\" in between or between.strip(b" \t\n\f") and b"\n" not in between:
        raise _Unsupported
    if b"\n" not in between:
        edits.append((start, start, 1, -depth, b"await " + runner + b"(" + between))
        edits.append((opening, first, 2, 0, b", "))
        return edits
    # ``(  # comment\n    # above x\n    x`` -> ``(  # comment\n    f,\n    # above x\n    x``
    first_line = between[:between.index(b"\n") + 1]
    last_line = between[between.rindex(b"\n") + 1:]
    if last_line.strip(b" \t\f"):
        raise _Unsupported
    empty_lines = between[len(first_line):len(between) - len(last_line)]
    edits.append((start, start, 1, -depth, b"await " + runner + b"(" + first_line + last_line))
    edits.append((opening, first, 2, 0, b",\n" + empty_lines + last_line))
    return edits


def _native_edits(text: _Text, call: ast.Call, entry: BlockingCall, function: bytes, parenthesize: bool) -> list[_Edit]:
    """``time.sleep(x)`` -> ``await asyncio.sleep(x)`` as edits: the callee replaced, the
    arguments as they are (``offload.native`` keeps them when they fit the native form)."""
    native = entry.native
    if native is None or any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise _Unsupported
    if len(call.args) > native.positional:
        raise _Unsupported  # positional arguments become keywords: ``offload.native`` rebuilds them
    start = text.offset(call.lineno, call.col_offset)
    end = text.offset(call.end_lineno or call.lineno, call.end_col_offset or 0)
    opening = _opening(text, call)
    depth = end - start
    edits: list[_Edit] = []
    if parenthesize:
        edits.append((start, start, 1, -depth - 1, b"("))
        edits.append((end, end, 0, -depth, b")"))
    edits.append((start, opening, 2, 0, b"await " + function))
    return edits


def _opening(text: _Text, call: ast.Call) -> int:
    """Where the ``(`` of the call's arguments is, right after the callee (and its own
    parentheses); ``_Unsupported`` if a space, a line break or a comment comes between."""
    source = text.source
    func = call.func
    opening = text.offset(func.end_lineno or func.lineno, func.end_col_offset or 0)
    while source[opening:opening + 1] in (b")", b" ", b"\t"):  # the callee's own parentheses
        opening += 1
    if source[opening:opening + 1] != b"(" or source[opening - 1:opening] in (b" ", b"\t"):
        raise _Unsupported
    return opening


def _root_name(node: ast.expr) -> str:
    """``a`` in ``a.b.c``."""
    while isinstance(node, ast.Attribute):
        node = node.value
    if not isinstance(node, ast.Name):
        raise _Unsupported
    return node.id


def _import_fate(tree: ast.Module, root: str, uses: int) -> ast.Import | ast.ImportFrom | bool | None:
    """What libcst's rewrite does with the import of ``root`` once ``uses`` callees that
    read it are gone (``apply._schedule_unused_imports``): the top-level import statement
    it removes, ``False`` if the import stays (the name is read elsewhere), ``None`` when
    that takes the module's scopes to tell (the name bound twice, or mentioned in a string,
    which may be an annotation)."""
    bindings: list[ast.AST] = []
    loads = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id == root:
                if isinstance(node.ctx, ast.Load):
                    loads += 1
                else:
                    bindings.append(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = alias.asname or (alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name)
                if bound == root:
                    bindings.append(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and root in node.value:
            if re.search(rf"\b{re.escape(root)}\b", node.value):
                return None
        elif _binds(node, root):
            bindings.append(node)
    if len(bindings) != 1 or bindings[0] not in tree.body:
        return None
    statement = bindings[0]
    assert isinstance(statement, (ast.Import, ast.ImportFrom))
    if loads > uses:
        return False  # read elsewhere, and bound nowhere else: that read is the import's
    if len(statement.names) != 1 or (isinstance(statement, ast.ImportFrom) and statement.level):
        return None
    return statement


def _binds(node: ast.AST, name: str) -> bool:
    """Whether ``node`` binds ``name`` other than as a ``Name`` target or an import."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name == name
    if isinstance(node, ast.arg):
        return node.arg == name
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return name in node.names
    if isinstance(node, ast.ExceptHandler):
        return node.name == name
    # ``case asyncio:``, ``[*time]``, ``{**time}`` (Python 3.10 on)
    return isinstance(node, _MATCH_CAPTURES) and name in (getattr(node, "name", None), getattr(node, "rest", None))


def _apply(source: bytes, edits: list[_Edit]) -> bytes:
    parts: list[bytes] = []
    at = 0
    for start, end, _, _, new in sorted(edits, key=lambda edit: (edit[0], edit[2], edit[3])):
        if start < at:
            raise _Unsupported  # overlapping edits: not a shape this knows
        parts += (source[at:start], new)
        at = end
    parts.append(source[at:])
    return b"".join(parts)


def _edit_imports(
    source: bytes, output: bytes, tree: ast.Module, modules: list[str], removed: list[ast.Import | ast.ImportFrom],
) -> bytes | None:
    """``output`` (``source`` rewritten below its header) with ``import module`` added for
    each of ``modules`` and the ``removed`` import statements taken out, as the tree rewrite
    does it (``add_imports_in_header``, then ``remove_imports_in_statements`` and
    ``drop_exposed_blank_lines``); libcst parses the header (the docstring and the import
    block at the top) and a stand-in for the statement after it, not the module."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.JoinedStr):
        return None  # ``"a" f"b"``: a docstring to libcst, not to ``ast``
    index = 1 if body and _is_docstring_or_strict(body[0]) else 0
    while index < len(body) and isinstance(body[index], (ast.Import, ast.ImportFrom)):
        index += 1
    if index == len(body) or any(statement not in body[:index] for statement in removed):
        return None
    for before, after in zip(body[:index], body[1:index + 1]):
        if after.lineno <= (before.end_lineno or before.lineno):
            return None  # statements sharing a line (``import os; x = 1``): libcst's lines differ
    following = body[index]
    cut = _Text(source).starts[_first_line(following) - 1]
    if output[:cut] != source[:cut]:
        return None
    # libcst's choice between one and two blank lines after a new import block depends
    # on what follows it: a ``def``/``class`` stands in for one.
    definition = isinstance(following, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    stand_in = b"def _():\n    pass\n" if definition else b"pass\n"
    edited = _edited_header(
        source[:cut], stand_in, index + 1, tuple(modules), tuple(body.index(statement) for statement in removed)
    )
    return None if edited is None else edited + output[cut:]


@functools.lru_cache(maxsize=32)
def _edited_header(
    header: bytes, stand_in: bytes, count: int, modules: tuple[str, ...], removed: tuple[int, ...]
) -> bytes | None:
    """``header`` (with ``stand_in`` after it, ``count`` statements in all) with the imports
    of ``modules`` added and the import statements at ``removed`` taken out; ``None`` if
    libcst sees other statements. Many modules of a project open alike: the answer is kept
    for the next."""
    import libcst as cst
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

    from codemods.rewrite.imports import add_imports_in_header, drop_exposed_blank_lines, remove_imports_in_statements

    try:
        parsed = cst.parse_module(header + stand_in)
    except (cst.ParserSyntaxError, RecursionError, ValueError, SyntaxError, UnicodeDecodeError, LookupError):
        return None
    if len(parsed.body) != count:
        return None
    context = CodemodContext()
    for module in modules:
        AddImportsVisitor.add_needed_import(context, module)
    targets: set[cst.CSTNode] = set()
    for index in removed:
        line = parsed.body[index]
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            return None
        targets.add(line.body[0])
        RemoveImportsVisitor.remove_unused_import_by_node(context, line.body[0])
    edited = add_imports_in_header(context, parsed) if modules else parsed
    if targets:
        edited = drop_exposed_blank_lines(parsed, remove_imports_in_statements(context, edited, targets), blocks=False)
    written = edited.bytes
    return written[:-len(stand_in)] if written.endswith(stand_in) else None


def _is_docstring_or_strict(statement: ast.stmt) -> bool:
    """What ``codemods.rewrite.imports`` skips before the import block, on ``ast``."""
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, (str, bytes))
    return (
        isinstance(statement, ast.Assign) and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name) and statement.targets[0].id == "__strict__"
    )

"""Import edits after a rewrite, done with libcst's AddImportsVisitor and
RemoveImportsVisitor, but only on the statements they can change.

Both visitors walk the whole module (with matchers and metadata), which costs more than
the rewrite itself; yet adding ``import asyncio`` only touches the import block at the
top, and an import that lost its last use (known from the rewrite's own scope analysis)
is removed from its statement alone.
"""

from __future__ import annotations

import sys
from typing import Sequence, Union

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

#: A statement with leading lines: libcst's two kinds of ``BaseStatement``, which itself
#: declares no ``leading_lines`` (it is what a module's body holds).
_Statement = Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]


def _header_length(module: cst.Module) -> int:
    """Statements up to the end of the first import block, as AddImportsVisitor counts."""
    body = module.body
    index = 1 if body and _is_docstring_or_strict(body[0]) else 0
    while index < len(body) and _is_import_line(body[index]):
        index += 1
    return index


def _is_import_line(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and isinstance(
        statement.body[0], (cst.Import, cst.ImportFrom)
    )


def _is_docstring_or_strict(statement: cst.BaseStatement) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or not statement.body:
        return False
    first = statement.body[0]
    if isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
        return True
    return (
        isinstance(first, cst.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0].target, cst.Name)
        and first.targets[0].target.value == "__strict__"
    )


def add_imports_in_header(context: CodemodContext, tree: cst.Module) -> cst.Module:
    """Run AddImportsVisitor on the module's header only, then splice the result back.

    AddImportsVisitor only touches the docstring/import block at the top and the leading
    blank lines of the statement after it, yet walks the whole tree (with matchers, the
    slowest part of a rewrite). The statement after the header is stood in for by a
    ``pass`` with the same leading lines, whose new leading lines are then copied over.
    """
    cut = _header_length(tree)
    rest = list(tree.body[cut:])
    stand_in = [cst.SimpleStatementLine([cst.Pass()], leading_lines=rest[0].leading_lines)] if rest else []
    header = tree.with_changes(body=[*tree.body[:cut], *stand_in])
    added = AddImportsVisitor(context).transform_module(header)
    body = list(added.body)
    if rest:
        rest[0] = rest[0].with_changes(leading_lines=body.pop().leading_lines)
    docstring = 1 if cut and _is_docstring_or_strict(tree.body[0]) else 0
    if cut == docstring and len(body) > cut:
        # A new import block: lay it out as PEP 8 (and black, isort) do.
        body[docstring], rest = _spaced_import_block(body[docstring], rest, after_docstring=docstring > 0)
        return tree.with_changes(body=[*body, *rest], header=added.header, footer=added.footer)
    sorted_body = _sorted_into_place(list(tree.body[:cut]), list(body))
    return tree.with_changes(body=[*sorted_body, *rest], header=added.header, footer=added.footer)


def _sorted_into_place(before: list[cst.BaseStatement], after: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """The header with the imports AddImportsVisitor appended moved where isort, ruff's
    ``I`` rules and usort put them: a standard-library ``import x`` among the others, in
    alphabetical order, ahead of ``from`` imports and of third-party sections. A header
    that was sorted stays sorted."""
    stdlib = getattr(sys, "stdlib_module_names", None)
    if stdlib is None:  # Python 3.9: no list to tell sections apart; keep libcst's placement
        return after
    old = list(before)
    added = [statement for statement in after if not any(statement.deep_equals(kept) for kept in old)]
    if len(old) + len(added) != len(after) or not all(_plain_import(s) for s in added):
        return after  # not just new ``import x`` lines: leave it as libcst made it
    body: list[cst.BaseStatement] = [statement for statement in after if statement not in added]
    for statement in added:
        name = _plain_import(statement)
        assert name is not None
        body = _insert_sorted(body, statement, name, stdlib)
    return body


def _insert_sorted(
    body: list[cst.BaseStatement], statement: cst.BaseStatement, name: str, stdlib: frozenset[str]
) -> list[cst.BaseStatement]:
    def root_of(candidate: cst.BaseStatement) -> tuple[str, str] | None:
        """``("import", "os")``, ``("from", "os.path")`` for an import line, else ``None``."""
        if not _is_import_line(candidate):
            return None
        assert isinstance(candidate, cst.SimpleStatementLine)
        small = candidate.body[0]
        if isinstance(small, cst.Import):
            return "import", cst.Module([]).code_for_node(small.names[0].name)
        assert isinstance(small, cst.ImportFrom)
        if small.relative or small.module is None:
            return "from", "."
        return "from", cst.Module([]).code_for_node(small.module)

    imports = [(index, found) for index, line in enumerate(body) if (found := root_of(line)) is not None]
    standard = [(index, kind, module) for index, (kind, module) in imports
                if module.split(".")[0] in stdlib and module != "__future__"]
    plain = [(index, module) for index, kind, module in standard if kind == "import"]
    at: int | None
    if plain:
        at = next((index for index, module in plain if module.lower() > name.lower()), None)
        if at is None:
            return [*body[: plain[-1][0] + 1], statement, *body[plain[-1][0] + 1 :]]
    elif standard:
        at = standard[0][0]  # ``import x`` lines come before ``from x import y`` in a section
    else:
        others = [index for index, (kind, module) in imports if module != "__future__"]
        if not others:
            return [*body, statement]
        # A standard-library section of its own, before the third-party one.
        at = others[0]
        moved = _with_leading(body[at], [])
        if not _starts_blank(_leading_lines(moved)):
            moved = _with_leading(moved, [cst.EmptyLine()])
        first = _with_leading(statement, list(_leading_lines(body[at])))
        return [*body[:at], first, moved, *body[at + 1 :]]
    # Before the line at ``at``, taking over its leading lines (a section's blank line or comment).
    first = _with_leading(statement, list(_leading_lines(body[at])))
    return [*body[:at], first, _with_leading(body[at], []), *body[at + 1 :]]


def _plain_import(statement: cst.BaseStatement) -> str | None:
    """``"asyncio"`` for a line that is just ``import asyncio``."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.Import) or len(small.names) != 1 or small.names[0].asname is not None:
        return None
    return cst.Module([]).code_for_node(small.names[0].name)


def _with_leading(statement: cst.BaseStatement, lines: Sequence[cst.EmptyLine]) -> cst.BaseStatement:
    assert isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
    return statement.with_changes(leading_lines=lines)


def _spaced_import_block(
    first_import: _Statement, rest: list[_Statement], after_docstring: bool
) -> tuple[_Statement, list[_Statement]]:
    """A blank line between a docstring and the new imports; two blank lines between
    the imports and a function or class after them, one before anything else."""
    if after_docstring and not first_import.leading_lines:
        first_import = first_import.with_changes(leading_lines=[cst.EmptyLine()])
    if rest:
        wanted = 2 if isinstance(rest[0], (cst.FunctionDef, cst.ClassDef)) else 1
        lines = list(rest[0].leading_lines)
        blank = next((index for index, line in enumerate(lines) if line.comment is not None), len(lines))
        if blank < wanted:
            rest = [rest[0].with_changes(leading_lines=[cst.EmptyLine()] * (wanted - blank) + lines), *rest[1:]]
    return first_import, rest


def remove_imports_in_statements(
    context: CodemodContext, tree: cst.Module, targets: set[cst.CSTNode]
) -> cst.Module:
    """Run RemoveImportsVisitor on each top-level statement holding one of ``targets``
    (``Import``/``ImportFrom`` nodes), alone.

    Used only when every import to remove is a top-level statement that our own scope
    analysis found unused after the rewrite: alone in a module, it is unused there too,
    and the visitor then does its usual edit without walking the whole tree. Statements
    are matched by structure: the import pass that ran before may have rebuilt them.
    """
    body: list[cst.BaseStatement] = []
    for statement in tree.body:
        if isinstance(statement, cst.SimpleStatementLine) and any(
            small.deep_equals(target) for small in statement.body for target in targets
        ):
            alone = RemoveImportsVisitor(context).transform_module(cst.Module(body=[statement]))
            body.extend(alone.body)
        else:
            body.append(statement)
    return tree.with_changes(body=body)


def _starts_blank(lines: Sequence[cst.EmptyLine]) -> bool:
    return bool(lines) and lines[0].comment is None


def _leading_lines(statement: cst.BaseStatement) -> Sequence[cst.EmptyLine]:
    assert isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
    return statement.leading_lines


def _first_statements(tree: cst.Module, blocks: bool = True) -> list[cst.BaseStatement | None]:
    """The first statement of the module and (with ``blocks``) of every indented block, in tree order."""
    firsts: list[cst.BaseStatement | None] = [tree.body[0] if tree.body else None]
    if not blocks:
        return firsts

    class Collect(cst.CSTVisitor):
        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
            firsts.append(node.body[0] if node.body else None)

    tree.visit(Collect())
    return firsts


def _without_leading_blank_lines(statements: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
    if not statements:
        return list(statements)
    lines = list(_leading_lines(statements[0]))
    while _starts_blank(lines):
        lines.pop(0)
    return [statements[0].with_changes(leading_lines=lines), *statements[1:]]


class _StripLeadingBlankLines(cst.CSTTransformer):
    """Strips leading blank lines from the module (index 0) and the blocks (1, 2, ... in
    tree order, as ``_first_statements`` numbers them) listed in ``targets``."""

    def __init__(self, targets: set[int]) -> None:
        super().__init__()
        self.targets = targets
        self.count = 0
        self.open_blocks: list[int] = []

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if 0 in self.targets:
            return updated_node.with_changes(body=_without_leading_blank_lines(updated_node.body))
        return updated_node

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.count += 1
        self.open_blocks.append(self.count)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        if self.open_blocks.pop() in self.targets:
            return updated_node.with_changes(body=_without_leading_blank_lines(updated_node.body))
        return updated_node


def drop_exposed_blank_lines(before: cst.Module, after: cst.Module, blocks: bool = True) -> cst.Module:
    """Removing the first statement of a module or block (an import the rewrite made
    unused) must not leave that module or block starting with blank lines."""
    old, new = _first_statements(before, blocks), _first_statements(after, blocks)
    if len(old) != len(new):
        return after
    targets = {
        i
        for i, (was, now) in enumerate(zip(old, new))
        if was is not None and now is not None
        and _starts_blank(_leading_lines(now)) and not _starts_blank(_leading_lines(was))
    }
    return after.visit(_StripLeadingBlankLines(targets)) if targets else after

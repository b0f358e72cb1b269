"""Where libcst's nodes are, without a position pass over the whole module.

The rewrite finds the nodes the plan names (``codemods.analysis.finder``) by position.
libcst's ``PositionProvider`` renders the entire module while tracking positions, which
costs as much as the scope analysis on a big file, for the few statements a plan touches.
Here only the module-level statements that span a line of the plan get that pass (each
as a module of its own); the lines before them are counted from plain code generation.
"""

from __future__ import annotations

import bisect
from typing import Collection

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider


def ranges_at(module: cst.Module, lines: Collection[int]) -> dict[cst.CSTNode, CodeRange]:
    """The code range of every node in the module-level statements that span one of
    ``lines`` (as libcst counts them); the other statements are not rendered at all."""
    wanted = sorted(set(lines))
    newline = "\r" if module.default_newline == "\r" else "\n"
    found: dict[cst.CSTNode, CodeRange] = {}
    line = 1 + sum(1 for _ in module.header)
    for statement in module.body:
        if not wanted or wanted[-1] < line:
            break
        height = module.code_for_node(statement).count(newline)
        at = bisect.bisect_left(wanted, line)
        if at < len(wanted) and wanted[at] < line + max(height, 1):
            alone = module.with_changes(header=[], body=[statement], footer=[])
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            shift = line - 1
            for node, where in positions.items():
                found[node] = CodeRange((where.start.line + shift, where.start.column), (where.end.line + shift, where.end.column))
        line += height
    return found

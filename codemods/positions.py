"""Line and column of a few nodes, without a position pass over the whole module.

libcst's ``PositionProvider`` renders the entire module while tracking positions, which
costs as much as the scope analysis on a big file, for the handful of findings a module
has. Here only the module-level statements that hold a finding get that pass (each as a
module of its own); the lines before them are counted from plain code generation.
"""

from __future__ import annotations

from typing import Mapping

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider


def locate(module: cst.Module, statement_of: Mapping[cst.Call, cst.CSTNode]) -> dict[cst.Call, tuple[int, int]]:
    """``{call: (line, column)}`` (line 1-based, column 0-based, as libcst counts) for
    each call, given the module-level statement that contains it."""
    wanted: dict[cst.CSTNode, list[cst.Call]] = {}
    for call, statement in statement_of.items():
        wanted.setdefault(statement, []).append(call)
    newline = "\r" if module.default_newline == "\r" else "\n"
    found: dict[cst.Call, tuple[int, int]] = {}
    line = 1 + sum(1 for _ in module.header)
    for statement in module.body:
        if len(found) == len(statement_of):
            break
        if statement in wanted:
            alone = module.with_changes(header=[], body=[statement], footer=[])
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            for call in wanted[statement]:
                start = positions[call].start
                found[call] = (line + start.line - 1, start.column)
        line += module.code_for_node(statement).count(newline)
    return found

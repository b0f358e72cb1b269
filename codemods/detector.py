"""Which calls are blocking: resolve a callee through the module's imports and scopes.

Names are resolved with libcst's scope analysis, never by spelling: ``t.sleep`` after
``import time as t`` is ``time.sleep``; a parameter, local or class attribute that
shadows an import is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import libcst as cst
from libcst.metadata import QualifiedNameSource, Scope

from codemods.catalog import BlockingCall

# Only names that come from an import or from builtins can be catalog entries; a
# module-level ``time = FakeClock()`` gives ``time.sleep`` too, but as LOCAL.
_RESOLVED_SOURCES = (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN)


def is_dotted_name(node: cst.BaseExpression) -> bool:
    """``a``, ``a.b.c``: a callee we can resolve. ``f().x`` or ``d[k]`` are not."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def root_name(node: cst.BaseExpression) -> cst.Name:
    while isinstance(node, cst.Attribute):
        node = node.value
    assert isinstance(node, cst.Name)
    return node


@dataclass(frozen=True)
class Match:
    """A call whose callee may be a catalog entry."""

    entry: BlockingCall
    #: False when the name may also refer to something else (e.g. a conditional
    #: import with a local fallback): such calls are reported, not rewritten.
    certain: bool = True


def match_call(
    call: cst.Call, scope: Scope | None, index: Mapping[str, BlockingCall]
) -> Match | None:
    """The catalog entry that ``call`` invokes, if any."""
    if scope is None or not is_dotted_name(call.func):
        return None
    names = scope.get_qualified_names_for(call.func)
    if not names:
        return None
    entries = {
        index.get(qname.name) if qname.source in _RESOLVED_SOURCES else None
        for qname in names
    }
    found = [entry for entry in entries if entry is not None]
    if not found:
        return None
    certain = len(entries) == 1
    return Match(sorted(found, key=lambda e: e.qualname)[0], certain)

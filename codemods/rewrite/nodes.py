"""Node builders shared by every rewrite: awaiting, parenthesizing, dotted names.

Everything here is a pure function of nodes, used by the codemod and the fixit rule.
Layout survives: argument nodes are reused as they are, so comments and line breaks
inside a call stay where the user put them.
"""

from __future__ import annotations

import libcst as cst


def dotted(name: str) -> cst.Name | cst.Attribute:
    """``"aio.to_thread"`` as a CST expression."""
    head, *rest = name.split(".")
    node: cst.Name | cst.Attribute = cst.Name(head)
    for part in rest:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def first_arg_comma(call: cst.Call) -> cst.Comma:
    """The comma after an argument inserted before ``call``'s own arguments.

    In a call laid out one argument per line, the inserted argument gets its own line.
    """
    ws = call.whitespace_before_args
    if isinstance(ws, cst.ParenthesizedWhitespace):
        # A comment after "(" stays there; comment lines before the first argument follow.
        return cst.Comma(whitespace_after=ws.with_changes(first_line=cst.TrailingWhitespace()))
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def awaited(original: cst.Call, replacement: cst.Call) -> cst.Await:
    """``await replacement``, keeping the parentheses the user had around the call."""
    return cst.Await(expression=replacement, lpar=original.lpar, rpar=original.rpar)


def parenthesize(node: cst.BaseExpression) -> cst.BaseExpression:
    """Parenthesize an ``await`` that became the primary of an attribute, subscript or call.

    ``await`` binds looser than ``.x``, ``[i]`` and ``(...)``: ``await f().json()`` awaits
    ``.json()``. An unparenthesized ``Await`` in such a position can only be one of ours,
    because the parser never produces one there.
    """
    if isinstance(node, cst.Await) and not node.lpar:
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node

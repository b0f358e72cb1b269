"""How a call is moved off the event loop: the new call, built from a fix's spelling.

- asyncio (the default): ``await asyncio.to_thread(f, *args, **kwargs)``;
- asyncio on Python < 3.9 (no ``to_thread``): what ``to_thread`` does, spelled out:
  ``await asyncio.get_running_loop().run_in_executor(None, functools.partial(
  contextvars.copy_context().run, f, *args, **kwargs))`` (the context variables go along);
- anyio / trio, when the module is written for them: ``await anyio.to_thread.run_sync(f,
  *args)`` / ``trio.to_thread.run_sync``, with ``functools.partial`` for keyword arguments;
- the exact equivalent (``asyncio.sleep(x)`` for ``time.sleep(x)``).

Which names to use, spelled the way the module imports them, is decided on ``ast``
(``codemods.analysis.spelling``); this module only builds the nodes.
"""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from codemods.analysis.spelling import Spelling
from codemods.catalog import Native
from codemods.rewrite.nodes import dotted, first_arg_comma


def offloaded(call: cst.Call, spelling: Spelling) -> cst.Call:
    """``f(*args)`` run in a thread as ``spelling`` says (the call, not yet awaited)."""
    if spelling.loop is not None:
        # run_in_executor alone would drop the task's context variables: run the call
        # in a copy of the context, as asyncio.to_thread does.
        assert spelling.partial is not None and spelling.copy_context is not None
        context_run = cst.Attribute(cst.Call(dotted(spelling.copy_context)), cst.Name("run"))
        bound = _prepend(call, dotted(spelling.partial), context_run, call.func)
        return cst.Call(cst.Attribute(cst.Call(dotted(spelling.loop)), cst.Name(spelling.function)),
                        [cst.Arg(cst.Name("None")), cst.Arg(bound)])
    runner = dotted(spelling.function)
    if spelling.partial is not None:
        # trio's and anyio's runners take no keyword arguments for the function: bind them first.
        return cst.Call(runner, [cst.Arg(_prepend(call, dotted(spelling.partial), call.func))])
    return _prepend(call, runner, call.func)


def native(call: cst.Call, equivalent: Native, spelling: Spelling) -> cst.Call:
    """The exact async equivalent of ``call`` (not yet awaited)."""
    args = _native_args(call, equivalent)
    func: cst.BaseExpression = (
        cst.Attribute(cst.Call(dotted(spelling.loop)), cst.Name(spelling.function)) if spelling.loop is not None
        else dotted(spelling.function)
    )
    return call.with_changes(func=func, args=args, lpar=[], rpar=[])


def _prepend(call: cst.Call, func: cst.BaseExpression, *first: cst.BaseExpression) -> cst.Call:
    """``call`` with ``func`` as callee and ``first`` inserted before its arguments."""
    inserted = [cst.Arg(value) for value in first]
    whitespace = call.whitespace_before_args
    if call.args:
        inserted = [arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for arg in inserted]
        inserted[-1] = inserted[-1].with_changes(comma=first_arg_comma(call))
        if isinstance(whitespace, cst.ParenthesizedWhitespace):
            # Comment lines above the first argument stay above it, below what we insert.
            whitespace = whitespace.with_changes(empty_lines=[])
    return call.with_changes(
        func=func, args=[*inserted, *call.args], lpar=[], rpar=[], whitespace_before_args=whitespace
    )


def _native_args(call: cst.Call, native: Native) -> Sequence[cst.Arg]:
    """The call's arguments in the native form's shape (``codemods.analysis.spelling.native_args_fit``
    checked that they fit): positional ones past the native form's become keywords."""
    positional = [arg for arg in call.args if arg.keyword is None]
    if len(positional) <= native.positional:
        return list(call.args)  # already in shape: keep the user's layout
    keywords = [arg for arg in call.args if arg.keyword is not None]
    converted = list(positional[: native.positional])
    for name, arg in zip(native.keyword_only, positional[native.positional :]):
        converted.append(arg.with_changes(keyword=cst.Name(name), equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
    converted.extend(keywords)
    last = call.args[-1]
    converted = [arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for arg in converted]
    converted[-1] = converted[-1].with_changes(comma=last.comma)
    return converted

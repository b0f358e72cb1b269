"""``with open(...) as f:`` blocks moved into a local function run in a thread.

    with open(path) as f:                      def _blocking_io(path):
        data = json.load(f)          ->            with open(path) as f:
                                                       data = json.load(f)
                                                   return data
                                               data = await asyncio.to_thread(_blocking_io, path)

Which blocks may move, and with which parameters and results, is decided on CPython's
``ast`` by ``codemods.analysis.block_analysis`` (through the module's plan,
``codemods.analysis.finder``); this module builds the replacement statements.
"""

from __future__ import annotations

from typing import Callable

import libcst as cst

from codemods.analysis.block_analysis import BlockPlan


def build_helper(
    node: cst.With, plan: BlockPlan, offload_call: Callable[[cst.Call], cst.BaseExpression]
) -> list[cst.BaseStatement]:
    """The ``def`` holding the block, then the statement that runs it in a thread.

    ``offload_call`` turns ``helper(args)`` into the awaited offload expression.
    """
    items = list(node.items)
    hoisted_values: list[cst.Arg] = []
    for hoisting in plan.hoisted:
        item = items[hoisting.item]
        call = item.item
        assert isinstance(call, cst.Call)
        positional = [i for i, arg in enumerate(call.args) if arg.keyword is None and not arg.star]
        index = (
            positional[hoisting.position] if hoisting.keyword is None
            else next(i for i, arg in enumerate(call.args) if arg.keyword and arg.keyword.value == hoisting.keyword)
        )
        argument = call.args[index]
        hoisted_values.append(cst.Arg(argument.value))
        args = list(call.args)
        args[index] = argument.with_changes(value=cst.Name(hoisting.parameter))
        items[hoisting.item] = item.with_changes(item=call.with_changes(args=args))
    inner = node.with_changes(leading_lines=[], items=items)
    body: list[cst.BaseStatement] = [inner]
    if plan.results:
        body.append(cst.SimpleStatementLine([cst.Return(_names(plan.results))]))
    parameters = [h.parameter for h in plan.hoisted] + list(plan.arguments)
    helper = cst.FunctionDef(
        name=cst.Name(plan.helper),
        params=cst.Parameters([cst.Param(cst.Name(name)) for name in parameters]),
        body=cst.IndentedBlock(body),
        leading_lines=node.leading_lines,
    )
    call_args = hoisted_values + [cst.Arg(cst.Name(name)) for name in plan.arguments]
    offloaded = offload_call(cst.Call(cst.Name(plan.helper), call_args))
    if plan.results:
        statement: cst.BaseSmallStatement = cst.Assign(
            [cst.AssignTarget(_names(plan.results))], offloaded  # type: ignore[arg-type]
        )
    else:
        statement = cst.Expr(offloaded)
    return [helper, cst.SimpleStatementLine([statement])]


def _names(names: tuple[str, ...]) -> cst.BaseExpression:
    if len(names) == 1:
        return cst.Name(names[0])
    return cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[])

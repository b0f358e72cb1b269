"""What a worker thread is handed, asked of one module: a pass of the finder
(``codemods.analysis.finder``) with one job, the module's ``Confinement``
(``codemods.analysis.confinement``) set up as the finder sees the module, and the reasons
an argument, a receiver or a moved block's variable may not go to a thread."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import AbstractSet

from codemods.analysis.bindings import ModuleScopes
from codemods.analysis.block_analysis import BlockPlan
from codemods.analysis.confinement import ATTRIBUTE, MODULE_VARIABLE, PARAMETER, Confinement, describe
from codemods.analysis.detector import Detector, arguments_of
from codemods.analysis.flow import walk
from codemods.analysis.prior_fixes import as_before_fix, module_imports
from codemods.catalog import BlockingType, Shares
from codemods.config import Settings

#: What an object a method is called on is, said of the object rather than of a value it holds.
_SHARED_RECEIVER = {
    ATTRIBUTE: "an attribute, which other tasks can use while the thread runs",
    MODULE_VARIABLE: "a module-level variable, which other tasks can use while the thread runs",
    PARAMETER: "a parameter of the coroutine, which its caller may share with other tasks",
}


class Handover:
    """The reasons a value a module's coroutine would hand to a worker thread may be
    touched by another task while the thread runs."""

    def __init__(
        self, tree: ast.Module, scopes: ModuleScopes, detector: Detector, settings: Settings,
        chain_heads: AbstractSet[ast.Call],
    ) -> None:
        self.tree = tree
        self.scopes = scopes
        self.detector = detector
        self.settings = settings
        #: Calls that start a chain moved whole into the thread (``open(p)`` of ``open(p).read()``).
        self.chain_heads = chain_heads
        self._confinement: Confinement | None = None

    def confinement(self) -> Confinement:
        if self._confinement is None:
            confinement = Confinement(self.tree, self.scopes, self.settings.index, self.settings.constructors)
            confinement.blocks = lambda name: self.detector.entry(name) is not None
            imports = module_imports(self.tree)
            # Named as written before a fix: a reason must read the same after it.
            confinement.render = lambda node: ast.unparse(
                as_before_fix(node, imports) if isinstance(node, ast.expr) else node
            )
            confinement.before_fix = lambda node: as_before_fix(node, imports)
            confinement.maker_type = self._maker_type
            receivers = self.detector.receivers
            assert receivers is not None and receivers.tree is self.tree
            confinement.parents_of = receivers.parents
            self._confinement = confinement
        return self._confinement

    def _maker_type(self, call: ast.Call) -> BlockingType | None:
        """``Detector.maker_type`` of a call of the module, or of one ``as_before_fix`` made
        (``x.m()`` for ``await asyncio.to_thread(x.m)``: new nodes around the module's own)."""
        func = call.func
        for node in (func, func.value if isinstance(func, ast.Attribute) else None):
            if node is not None and self.scopes.has_scope(node):
                return self.detector.maker_type(call, self.scopes.scope_of(node))
        return None

    def arguments_hazard(self, call: ast.Call, shares: Shares | None) -> str | None:
        """Why an argument of ``call``, run in a thread, may be touched by another task
        meanwhile: every argument of a project function (or of a callable declared
        blocking: ``shares.every``); those a catalog callable's ``shares`` says may take
        mutable objects."""
        if shares is not None and shares.every:
            shares = None
        position: int | None = 0
        for argument in arguments_of(call):
            if argument.star == "*":
                position = None  # where the rest go is unknown
            name = None if shares is None or argument.star else shares.name(position, argument.keyword)
            if argument.keyword is None and not argument.star and position is not None:
                position += 1
            if shares is not None and not shares.every and (
                not shares.mutable if argument.star else name not in shares.mutable
            ):
                continue
            shallow = shares is not None and name in shares.shallow
            hazard = self.confinement().hazard(argument.value, call, shallow=shallow)
            if hazard is not None:
                shown = self.confinement().text(argument.value)
                label = f"{argument.keyword}={shown}" if argument.keyword else f"{argument.star}{shown}"
                return describe(shown, hazard, label)
        return None

    def receiver_hazard(self, call: ast.Call, holder: ast.expr, kind: BlockingType | None) -> str | None:
        """Why the object a method is called on, handed to the thread with the method, may
        be used by another task meanwhile, when its type is not safe to share: it is not
        the coroutine's own (an attribute, a global, a parameter, an object that escaped)."""
        if isinstance(holder, ast.Call) and holder in self.chain_heads:
            return None  # ``open(p).read()``: made in the thread too
        hazard = self.confinement().hazard(holder, call)
        if hazard is None:
            return None
        hazard = replace(hazard, why=_SHARED_RECEIVER.get(hazard.why, hazard.why))
        shown = self.confinement().text(holder)
        described = describe(shown, hazard, subject="the object it is called on, `{}`,")
        return described if kind is None else f"{described}; {kind.sharing}"

    def block_arguments_hazard(self, block: ast.With, plan: BlockPlan) -> str | None:
        """Why a variable a moved block is handed may be touched by another task while the
        thread runs: it holds shared state (``items = self.items``), or an object that escaped."""
        reads = {n.id: n for n in reversed(list(walk(block))) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for name in plan.arguments:
            read = reads.get(name)
            hazard = None if read is None else self.confinement().hazard(read, block, strict=False)
            if hazard is not None:
                return describe(name, hazard, subject="it reads `{}`, which")
        return None

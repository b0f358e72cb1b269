"""The rewrite, with libcst, of the modules that have something to fix.

``apply`` carries out a module's plan (``codemods.analysis.finder.plan_module``) on its
libcst tree; ``offload``, ``blocks``, ``imports`` and ``nodes`` build the new code;
``positions`` finds the plan's nodes; ``focus`` cuts what no rewrite depends on before
libcst parses a big module.
"""

"""What loopsafe finds, on CPython's ``ast`` (the grammar of the Python that runs the code).

``screen`` rules out cheaply the modules whose coroutines cannot call the catalog;
``bindings`` resolves names as libcst's scope analysis would; ``detector`` matches calls
against the catalog; ``finder`` walks the coroutines and gives the findings and the plan
of their fixes, with ``contexts`` (where an await may go), ``block_analysis``, ``flow``
and ``prior_fixes`` (whether a ``with`` block can move to a thread), ``comments``,
``frameworks`` and ``spelling``. libcst is needed only to rewrite (``codemods.rewrite``).
"""

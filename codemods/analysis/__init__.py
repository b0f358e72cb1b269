"""The analyses on CPython's ``ast``: what loopsafe finds, without libcst.

``codemods.analysis.finder.find_blocking_calls`` gives the findings of a module from its
``ast``; libcst is needed only to rewrite (``codemods.command``).
"""

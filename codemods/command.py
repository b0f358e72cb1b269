"""The codemod command for libcst's own runner, a front like the CLI and the fixit rule:

    python -m libcst.tool codemod -x codemods.command.OffloadBlockingCalls --no-format src/

The transformer is ``codemods.rewrite.apply.OffloadBlockingCalls``: it plans on CPython's
``ast`` (``codemods.analysis``) and rewrites with libcst, refusing output that does not
compile.
"""

from codemods.rewrite.apply import OffloadBlockingCalls

__all__ = ["OffloadBlockingCalls"]

"""The last line of defence of every rewrite: its output must compile when its input did.

Apart from ``codemods.engine`` (which drives the rewrite) and ``codemods.rewrite.apply``
(which carries it out on a libcst tree): both ask, neither imports the other for it.
"""

from __future__ import annotations

import warnings


def rewrite_problem(source: bytes, output: bytes, filename: str) -> str | None:
    """Why ``output``, the rewrite of ``source``, must not be used: never hand back code
    that Python rejects when the input was accepted."""
    if output == source:
        return None
    problem = compile_problem(output, filename)
    if problem is None:
        return None
    original_problem = compile_problem(source, filename)
    if original_problem is None:
        return f"internal error: the rewrite does not compile ({problem}); file left unchanged"
    return (f"this Python cannot compile the file ({original_problem}), so the rewrite cannot be checked; "
            "file left unchanged")


def compile_problem(code: bytes, filename: str) -> str | None:
    """Why CPython's compiler rejects ``code``, if it does."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the user's code, not ours: not our warnings to print
            compile(code, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        return str(error)
    except RecursionError:
        return None  # CPython's own limit; not something the rewrite introduced
    return None

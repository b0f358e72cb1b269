"""Suppression comments (``# noqa``, ``# noqa: LS251``, ``# loopsafe: ignore``) on ``ast``.

``ast`` keeps no comments, so the comments of a module are read from its tokens, and
only when its text holds a suppression at all (most modules: no tokenizing). A call is
suppressed by the comment ending the line of the statement it is in (for a compound
statement, its header line: ``with open(p) as f:  # noqa``), or by one right after its
opening parenthesis (``open(  # noqa`` on a call spread over lines).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

from codemods.analysis.flow import COMPOUND_STATEMENTS
from codemods.catalog import normalize_code

# The noqa keyword in any case, as flake8 and ruff read it (upper case too).
SUPPRESSION = re.compile(
    r"#\s*(?:loopsafe:\s*ignore\b|(?i:noqa)\b(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?)"
)
#: A comment that may suppress a finding (cheap to look for before tokenizing).
MAY_SUPPRESS = r"#\s*(?:loopsafe|[nN][oO][qQ][aA])"
_MAY_SUPPRESS = re.compile(MAY_SUPPRESS.encode())


def suppressed_by_comment(comment: str | None, code: str) -> bool:
    """``# loopsafe: ignore``, ``# noqa``, or ``# noqa: LS251`` / ``# noqa: ASYNC251``."""
    if not comment:
        return False
    match = SUPPRESSION.search(comment)
    if match is None:
        return False
    codes = match.group("codes")
    if codes is None:
        return True
    return code in {normalize_code(listed) for listed in re.split(r"[\s,]+", codes.strip())}


class Comments:
    """The comments of one module that may suppress a finding, by line."""

    def __init__(self, source: bytes, always: bool = False) -> None:
        """``always``: read the comments even when none may suppress (to add some)."""
        #: line -> (column, text) of the comment on it.
        self._on_line: dict[int, tuple[int, str]] = {}
        #: (line, column) of each ``:`` and ``(`` outside brackets / each ``(``, in order.
        self._colons: list[tuple[int, int]] = []
        self._opening: dict[tuple[int, int], tuple[int, int]] = {}
        #: Whether the source was read for comments at all.
        self.tokenized = False
        if not always and _MAY_SUPPRESS.search(source) is None:
            return
        self.tokenized = True
        try:
            tokens = list(tokenize.tokenize(io.BytesIO(source).readline))
        except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
            return
        depth = 0
        previous: tokenize.TokenInfo | None = None
        for token in tokens:
            if token.type == tokenize.OP or token.type == tokenize.COMMENT:
                # ``ast`` counts columns in UTF-8 bytes, tokenize in characters.
                at = (token.start[0], len(token.line[: token.start[1]].encode("utf-8")))
                token = token._replace(start=at)
            if token.type == tokenize.COMMENT:
                self._on_line[token.start[0]] = (token.start[1], token.string)
                if previous is not None and previous.string == "(" and previous.start[0] == token.start[0]:
                    self._opening[previous.start] = token.start
            elif token.type == tokenize.OP:
                if token.string in "([{":
                    depth += 1
                elif token.string in ")]}":
                    depth -= 1
                elif token.string == ":" and depth == 0:
                    self._colons.append(token.start)
            if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                previous = token

    @property
    def empty(self) -> bool:
        return not self._on_line

    def of_statement(self, statement: ast.stmt) -> str | None:
        """The comment ending a statement's line (a compound statement's header line)."""
        if not self._on_line:
            return None
        line = self.line_of(statement)
        found = self._on_line.get(line) if line is not None else None
        return found[1] if found is not None else None

    def line_of(self, statement: ast.stmt) -> int | None:
        """The line whose comment speaks for ``statement``: the last line of a simple
        statement, the header line of a compound one (the line of its one-line suite)."""
        if not isinstance(statement, COMPOUND_STATEMENTS):
            return statement.end_lineno or statement.lineno
        body: list[ast.stmt] = getattr(statement, "body", [])
        if isinstance(statement, ast.Match):
            body = statement.cases[0].body if statement.cases else []
        first = body[0] if body else None
        # The header ends at the first ``:`` outside brackets after its last part.
        start = _header_end(statement)
        colon = next((c for c in self._colons if c >= start), None)
        if colon is None:
            return None
        if first is not None and first.lineno == colon[0] and not isinstance(statement, ast.Match):
            # ``if x: f()`` and a comment: it ends the one-line suite.
            last = body[-1]
            return last.end_lineno or last.lineno
        return colon[0]

    def comment_on(self, line: int) -> tuple[int, str] | None:
        """(byte column, text) of the comment on ``line``, if it has one."""
        return self._on_line.get(line)

    def after_parenthesis(self, line: int, column: int) -> str | None:
        """The comment right after the ``(`` at ``(line, column)`` (0-based), on its line."""
        found = self._opening.get((line, column))
        if found is None:
            return None
        comment = self._on_line.get(found[0])
        return comment[1] if comment is not None else None


def _header_end(statement: ast.stmt) -> tuple[int, int]:
    """A position inside the header, after everything but its closing ``:``."""
    parts: list[ast.AST] = []
    if isinstance(statement, (ast.If, ast.While)):
        parts = [statement.test]
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        parts = [statement.iter]
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        last = statement.items[-1]
        parts = [last.optional_vars or last.context_expr]
    elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts = [statement.returns] if statement.returns is not None else []
        arguments = statement.args
        every: list[ast.AST] = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
        every += [d for d in [*arguments.defaults, *arguments.kw_defaults] if d is not None]
        parts += every
    elif isinstance(statement, ast.ClassDef):
        parts = [*statement.bases, *statement.keywords]
    elif isinstance(statement, ast.Match):
        parts = [statement.subject]
    ends = [(getattr(p, "end_lineno", 0) or 0, getattr(p, "end_col_offset", 0) or 0) for p in parts]
    # Without parts (``try:``, ``def f():``): from the keyword (a def's decorators come before it).
    return max(ends) if ends else (statement.lineno, statement.col_offset)

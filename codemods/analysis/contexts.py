"""Where code in a coroutine runs, and why an await may not be added there: the
contexts the finder (``codemods.analysis.finder``) pushes while it walks a module."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    """Where the code being visited runs."""

    in_coroutine: bool
    #: Set when the code is in a coroutine but an ``await`` may not be added there.
    no_await_reason: str | None = None
    #: Inside a ``with`` block that moves to a worker thread as a whole.
    moving: bool = False

    @property
    def rewritable(self) -> bool:
        """An await may be added here (a moving block has a reason too: never rewritable)."""
        return self.in_coroutine and self.no_await_reason is None


NOT_COROUTINE = Context(in_coroutine=False)
COROUTINE = Context(in_coroutine=True)
GENERATOR_EXPRESSION = Context(
    in_coroutine=True,
    no_await_reason=(
        "inside a generator expression, where an await would turn it into an async "
        "generator; use a list comprehension or move the call out"
    ),
)
MOVING_BLOCK = Context(
    in_coroutine=True,
    no_await_reason="it moves to a worker thread with its `with` block",
    moving=True,
)
IN_FINALLY = (
    "inside `finally:`, where an await can be cancelled again and skip the rest of the cleanup; "
    "keep it blocking there, or move the cleanup out of the finally block"
)
IN_CANCELLATION_HANDLER = (
    "inside a handler that catches cancellation (bare `except:`, `BaseException`, `CancelledError`), "
    "where a new await can swallow a cancellation or be cancelled again"
)
IN_CLASS_BODY = (
    "in a class body, which runs on the event loop when the coroutine defines the class "
    "but cannot hold an await; compute the value before the class statement"
)
IN_LOOP_OVER_SHARED = (
    "inside a loop over `{}`, which other tasks may change while an await here lets them "
    "run (dictionary changed size during iteration, or skipped items)"
)
FSTRING_DEBUG = Context(
    in_coroutine=True,
    no_await_reason="inside an f-string `=` expression, whose text would change",
)

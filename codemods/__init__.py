"""loopsafe: find blocking calls inside coroutines and rewrite them off the event loop.

Public API:
    transform_source(source: bytes, settings=None, filename="<stdin>") -> TransformResult
    Settings, Finding, CATALOG
The codemod for ``python -m libcst.tool codemod -x`` is
``codemods.command.OffloadBlockingCalls``; the fixit rule lives in ``codemods.lint``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from codemods.catalog import CATALOG, BlockingCall, Strategy
from codemods.config import Settings
from codemods.findings import Finding, TransformResult

if TYPE_CHECKING:
    from codemods.engine import transform_source


def __getattr__(name: str) -> Any:
    # The engine (ast, libcst) loads on first use: `loopsafe check` answered from the
    # findings cache never needs it.
    if name == "transform_source":
        from codemods.engine import transform_source

        return transform_source
    raise AttributeError(f"module 'codemods' has no attribute {name!r}")

__all__ = [
    "CATALOG",
    "BlockingCall",
    "Finding",
    "Settings",
    "Strategy",
    "TransformResult",
    "__version__",
    "transform_source",
]

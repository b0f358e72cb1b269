"""loopsafe: find blocking calls inside coroutines and rewrite them off the event loop.

Public API:
    transform_source(source: bytes, settings=None, filename="<stdin>") -> TransformResult
    Settings, Finding, CATALOG
The codemod for ``python -m libcst.tool codemod -x`` is
``codemods.command.OffloadBlockingCalls``; the fixit rule lives in ``codemods.lint``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from codemods.catalog import CATALOG, BlockingCall, Strategy
from codemods.config import Settings
from codemods.engine import TransformResult, transform_source
from codemods.findings import Finding

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

"""loopsafe: find blocking calls inside coroutines and rewrite them off the event loop.

Public API:
    transform_source(source: bytes, settings=None, filename="<stdin>") -> TransformResult
    Settings, Finding, CATALOG
The codemod for ``python -m libcst.tool codemod -x`` is
``codemods.command.OffloadBlockingCalls``; the fixit rule lives in ``codemods.lint``.
"""

from __future__ import annotations

__version__ = "0.1.0"


TYPE_CHECKING = False  # as typing's, which a check answered from the cache does not import
if TYPE_CHECKING:
    from typing import Any

    from codemods.catalog import CATALOG, BlockingCall, Strategy
    from codemods.config import Settings
    from codemods.engine import transform_source
    from codemods.findings import Finding, TransformResult

#: Where each public name is defined. Each loads on first use: `loopsafe check` answered
#: from the findings cache needs neither the engine (ast, libcst) nor the catalog.
_PUBLIC = {
    "CATALOG": "codemods.catalog",
    "BlockingCall": "codemods.catalog",
    "Strategy": "codemods.catalog",
    "Settings": "codemods.config",
    "Finding": "codemods.findings",
    "TransformResult": "codemods.findings",
    "transform_source": "codemods.engine",
}


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'codemods' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)


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

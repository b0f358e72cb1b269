"""Which async library a module is written for (asyncio, anyio or trio), on ``ast``."""

from __future__ import annotations

import ast

from codemods.catalog import Framework
from codemods.analysis.flow import split_dotted, walk


def detect_framework(tree: ast.Module | None, source: str | bytes | None = None) -> Framework | None:
    """The async library a module is written for; ``None`` when it mixes trio and asyncio.

    ``tree`` is ``None`` when Python's own parser rejects the module: asyncio is assumed,
    and the compile check refuses the rewrite anyway (it uses the same parser).

    Every import in the module counts, wherever it is (top level, ``if __name__ ==
    "__main__":``, ``try:``, ``if TYPE_CHECKING:``, inside functions), and so do pytest's
    markers (``@pytest.mark.trio``, ``pytestmark = pytest.mark.anyio``): a trio test module
    often never imports trio itself. ``source``, the text ``tree`` was parsed from, if the
    caller has it, lets most modules skip the walk.
    """
    if tree is None:
        return Framework.ASYNCIO
    if isinstance(source, str) and "trio" not in source and "anyio" not in source:
        return Framework.ASYNCIO  # a walk could only find asyncio: spare it
    if isinstance(source, bytes) and b"trio" not in source and b"anyio" not in source:
        return Framework.ASYNCIO
    used = frameworks_used(tree)
    if Framework.ANYIO in used:
        return Framework.ANYIO  # anyio's thread helpers work under asyncio and trio alike
    if Framework.TRIO in used:
        return None if Framework.ASYNCIO in used else Framework.TRIO
    return Framework.ASYNCIO


_BY_NAME = {framework.value: framework for framework in Framework}
_IMPORTERS = {"__import__", "importlib.import_module", "import_module"}


def frameworks_used(tree: ast.Module) -> set[Framework]:
    """The async libraries a module imports anywhere, or marks its tests with.

    Markers are recognised through the module's own imports of pytest, wherever they
    are: ``pytest.mark.trio``, ``import pytest as pt`` -> ``pt.mark.trio``, ``from pytest
    import mark`` -> ``mark.anyio``. A marker is a plain attribute chain; it counts in
    decorators, ``pytestmark = ...`` (also in lists) and parametrisations alike. Read on
    CPython's ``ast`` (one cheap walk), not libcst's tree.
    """
    found: set[Framework] = set()
    markers: list[str] = []
    pytest_names: set[str] = set()  # spellings of ``pytest`` and ``pytest.mark`` bound by imports
    mark_names: set[str] = set()

    def module(name: str) -> None:
        framework = _BY_NAME.get(name.split(".")[0])
        if framework is not None:
            found.add(framework)

    for node in walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module(alias.name)
                if alias.name == "pytest" or (alias.name.startswith("pytest.") and alias.asname is None):
                    pytest_names.add(alias.asname or "pytest")
                elif alias.name == "pytest.mark" and alias.asname is not None:
                    mark_names.add(alias.asname)
        elif isinstance(node, ast.ImportFrom):
            if node.level or node.module is None:
                continue  # relative: a package's own module, not the library
            module(node.module)
            if node.module == "pytest":
                for alias in node.names:
                    if alias.name == "*":
                        mark_names.add("mark")
                    elif alias.name == "mark":
                        mark_names.add(alias.asname or "mark")
        elif isinstance(node, ast.Call):
            # __import__("trio"), importlib.import_module("trio")
            if (_dotted_name(node.func) in _IMPORTERS and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                module(node.args[0].value)
        elif isinstance(node, ast.Attribute) and node.attr in _BY_NAME:
            owner = _dotted_name(node.value)
            if owner is not None:
                markers.append(f"{owner}.{node.attr}")
    owners = {f"{name}.mark" for name in pytest_names} | mark_names
    for marker in markers:
        owner, _, name = marker.rpartition(".")
        if owner in owners:
            found.add(_BY_NAME[name])
    return found


def _dotted_name(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else ``None``."""
    split = split_dotted(node)
    return None if split is None else split[0] + split[1]

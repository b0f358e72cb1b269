"""Where a project's modules are on disk, and the module each file is: what ``import``
would find, for calls followed across modules (``codemods.project``, ``codemods.summaries``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def module_name_of(path: Path, folders: dict[str, tuple[list[str], str]] | None = None) -> tuple[str, bool, Path]:
    """The dotted module name of a ``.py`` file, whether it is a package's ``__init__``,
    and the folder its top package is in (where ``import`` finds it). ``folders``: the
    answers for folders, kept across calls (a run asks for every file)."""
    folder, file_name = os.path.split(str(path))
    package = file_name == "__init__.py"
    parts, root = _package_of(folder, {} if folders is None else folders)
    return ".".join(parts if package else [*parts, file_name[:-3]]), package, Path(root)


def _package_of(folder: str, folders: dict[str, tuple[list[str], str]]) -> tuple[list[str], str]:
    """The package a folder is (its dotted parts), and the folder its top package is in.

    A folder without ``__init__.py`` inside a package is a namespace portion of it (PEP
    420): ``import pkg.utils.media`` finds ``pkg/utils/media.py`` when ``pkg`` is a
    package, so its modules are named under the package, never also as top-level
    modules (one file, one name). Elsewhere such a folder is where imports start."""
    found = folders.get(folder)
    if found is None:
        parent, name = os.path.split(folder)
        found = ([], folder)
        if name and name.isidentifier():
            parts, root = _package_of(parent, folders)
            if os.path.isfile(os.path.join(folder, "__init__.py")) or parts:
                found = ([*parts, name], root)
        folders[folder] = found
    return found


@dataclass
class ModuleLocator:
    """Where the project's modules are: under the folders that hold the run's top
    packages and modules (and a ``src`` layout's), as ``import`` would find them."""

    roots: list[str] = field(default_factory=list)
    _found: dict[str, Path | None] = field(default_factory=dict)
    #: Each root's entries, read once: most names asked for are not the project's.
    _entries: dict[str, frozenset[str]] = field(default_factory=dict)
    #: ``_package_of``'s answers, shared with the run's naming of its files.
    folders: dict[str, tuple[list[str], str]] = field(default_factory=dict)

    def add_root(self, root: Path) -> None:
        text = str(root)
        if text not in self.roots:
            self.roots.append(text)
            self._found.clear()  # a name not found may be found now

    def locate(self, name: str) -> Path | None:
        """The file of module ``name``; ``None`` if no root has it or two roots do, or if
        the file's own name is another (``utils.media`` for ``pkg/utils/media.py`` inside
        package ``pkg``, or ``src.pkg.mod``): a file is one module, under one name."""
        if name not in self._found:
            parts = name.split(".")
            found = set()
            for root in self.roots:
                if parts[0] not in self._top_names(root):
                    continue
                base = os.path.join(root, *parts)
                for candidate in (base + ".py", os.path.join(base, "__init__.py")):
                    if os.path.isfile(candidate) and module_name_of(Path(candidate), self.folders)[0] == name:
                        found.add(candidate)
            self._found[name] = Path(found.pop()) if len(found) == 1 else None
        return self._found[name]

    def _top_names(self, root: str) -> frozenset[str]:
        entries = self._entries.get(root)
        if entries is None:
            try:
                listed = os.listdir(root)
            except OSError:
                listed = []
            entries = self._entries[root] = frozenset(n[:-3] if n.endswith(".py") else n for n in listed)
        return entries


__all__ = ["ModuleLocator", "module_name_of"]

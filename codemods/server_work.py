"""What ``loopsafe server`` computes, off the message loop: a document version's analysis
(its findings, diagnostics and the settings and project they were found with), kept
so that code actions need no second analysis, and the edits of those actions.

Everything here runs in a worker thread (``codemods.server`` schedules it): analysing,
reading the files an LS301 chain goes through, rewriting.
"""

from __future__ import annotations

import ast
import difflib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Sequence

from lsprotocol import types
from pygls.workspace import TextDocument

from codemods.config import ConfigError, Settings, load_settings
from codemods.findings import Finding
from codemods.observed import ObservedError

if TYPE_CHECKING:
    from codemods.analysis.finder import Span
    from codemods.analysis.modules import ProjectView
    from codemods.project import ModuleLocator

FIX_ALL = "source.fixAll.loopsafe"
SOURCE = "loopsafe"

#: What a code action does: fix the call, suppress its finding, fix the whole document.
ActionKind = Literal["fix", "noqa", "fix-all"]

logger = logging.getLogger(__name__)


@dataclass
class DocumentAnalysis:
    """One version of a document, analysed: what its diagnostics were made from, kept
    for its code actions (listed from ``located``, their edits computed on demand)."""

    document: TextDocument
    #: The settings and the project it was analysed with; ``None`` when it could not be.
    settings: Settings | None
    view: ProjectView | None
    located: list[tuple[Finding, Span]]
    #: One per finding of ``located``, in its order, then the one saying why the
    #: analysis could not run, if so.
    diagnostics: list[types.Diagnostic]
    #: The edits already computed, by action: each is asked for again as the user hovers.
    _edits: dict[tuple[ActionKind, int], types.WorkspaceEdit | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def version(self) -> int | None:
        return self.document.version

    def edit(self, kind: ActionKind, index: int = -1) -> types.WorkspaceEdit | None:
        """The edit of the action ``kind`` for finding ``index`` of ``located`` (none for
        ``fix-all``); ``None`` if there is none (the fix is refused, say)."""
        with self._lock:  # two requests for one action: computed once
            key = (kind, index)
            if key not in self._edits:
                self._edits[key] = self._compute(kind, index)
            return self._edits[key]

    def _compute(self, kind: ActionKind, index: int) -> types.WorkspaceEdit | None:
        from codemods.engine import add_noqa, fix_one, transform_source

        settings, document = self.settings, self.document
        if settings is None:
            return None
        source = document.source.encode("utf-8")
        filename = document.path or "<editor>"
        if kind == "fix-all":
            result = transform_source(source, settings, filename, project=self.view)
        elif not 0 <= index < len(self.located):
            return None
        elif kind == "fix":
            result = fix_one(source, settings, filename, self.located[index][1], self.view)
        else:
            result = add_noqa(source, settings, filename, selected=_at(self.located[index][0]), project=self.view)
        if result.error is not None or not result.changed:
            return None
        return workspace_edit(document, result.output.decode("utf-8"))


def snapshot(document: TextDocument) -> TextDocument:
    """A copy of ``document`` as it is now: the client's next change edits the original."""
    return TextDocument(document.uri, document.source, document.version, position_codec=document.position_codec)


def analyse(document: TextDocument) -> DocumentAnalysis:
    """The analysis of ``document`` (a snapshot) and its diagnostics."""
    from codemods.engine import locate_findings

    path = document.path
    settings = _settings(path)
    text = document.source.encode("utf-8")
    try:
        if isinstance(settings, ConfigError):
            raise settings
        view = _view(path, text, settings)
    except (ConfigError, ObservedError) as problem:
        cannot_run = types.Diagnostic(
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
            message=f"loopsafe cannot run: {problem}", severity=types.DiagnosticSeverity.Error, source=SOURCE,
        )
        return DocumentAnalysis(document, None, None, [], [cannot_run])
    located, error = locate_findings(text, settings, path or "<editor>", view)
    if error is not None:
        logger.info("%s: %s", path, error.message)
    definitions = _Definitions(document)
    diagnostics = [diagnostic(document, finding, span, definitions) for finding, span in located]
    return DocumentAnalysis(document, settings, view, located, diagnostics)


def _settings(path: str | None) -> Settings | ConfigError:
    folder = Path(path).parent if path else Path.cwd()
    try:
        return load_settings(folder.resolve())
    except ConfigError as error:
        return error


def _view(path: str | None, source: bytes, settings: Settings) -> ProjectView | None:
    """The project around the document, as ``loopsafe check`` sees it: its modules read
    afresh, and what the recording (``observed`` in [tool.loopsafe]) saw in the document
    if it is the file recorded. Raises ``ObservedError``."""
    from codemods.summaries import observed_view, project_view

    view = project_view(Path(path).resolve(), settings, fresh=True) if path else None
    return observed_view(view, path, source, settings)


def client_range(document: TextDocument, span: tuple[int, int, int, int], lines: Sequence[str]) -> types.Range:
    """``span`` in the client's units; ``lines``: the document's (split once, not per finding)."""
    start_line, start_column, end_line, end_column = span
    in_points = types.Range(
        start=types.Position(line=start_line - 1, character=start_column),
        end=types.Position(line=end_line - 1, character=end_column),
    )
    return document.position_codec.range_to_client_units(lines, in_points)


def diagnostic(
    document: TextDocument, finding: Finding, span: tuple[int, int, int, int], definitions: _Definitions,
) -> types.Diagnostic:
    chain = definitions.chain_locations(finding.chain)
    return types.Diagnostic(
        range=client_range(document, span, definitions.lines),
        message=finding.message,
        severity=types.DiagnosticSeverity.Warning,
        code=finding.code,
        source=SOURCE,
        data={"fixable": finding.fixable, "name": finding.name, "chain": list(finding.chain)},
        related_information=chain or None,
    )


class _Definitions:
    """Where the functions of LS301 chains are defined, for one document's diagnostics:
    each module located and parsed once however many chains go through it (and the
    document's lines, split once)."""

    def __init__(self, document: TextDocument) -> None:
        self.document = document
        self.lines = document.lines
        self._locator: ModuleLocator | None = None
        #: uri -> the module's statements (``None``: it does not parse).
        self._bodies: dict[str, list[ast.stmt] | None] = {}
        #: module name -> (uri, text) of its file; ``None`` when not found.
        self._files: dict[str, tuple[str, str] | None] = {}

    def chain_locations(self, chain: Sequence[str]) -> list[types.DiagnosticRelatedInformation]:
        """Where each function of an LS301 chain is defined, with what it calls: the way to
        the blocking call, one click at a time."""
        if not chain or not self.document.path:
            return []
        found: list[types.DiagnosticRelatedInformation] = []
        for step, called in zip(chain, chain[1:]):
            parts = step.removesuffix("()").split(".")
            where: tuple[str, str, list[str]] | None = None
            for cut in range(len(parts) - 1, 0, -1):
                file = self._file(".".join(parts[:cut]))
                if file is not None:
                    where = (*file, parts[cut:])
                    break
            if where is None:  # a function of the document's own module
                where = (self.document.uri, self.document.source, parts)
            uri, text, names = where
            line = self._definition_line(uri, text, names)
            if line is not None:
                position = types.Position(line=line - 1, character=0)
                found.append(types.DiagnosticRelatedInformation(
                    location=types.Location(uri=uri, range=types.Range(start=position, end=position)),
                    message=f"{step} calls {called}",
                ))
        return found

    def _file(self, module: str) -> tuple[str, str] | None:
        if module not in self._files:
            path = self._locate(module)
            self._files[module] = (
                None if path is None else (path.as_uri(), path.read_text(encoding="utf-8", errors="replace"))
            )
        return self._files[module]

    def _locate(self, module: str) -> Path | None:
        if self._locator is None:
            from codemods.project import ModuleLocator, module_name_of

            assert self.document.path is not None
            _, _, root = module_name_of(Path(self.document.path))
            self._locator = ModuleLocator()
            for folder in (root, Path.cwd(), Path.cwd() / "src"):
                self._locator.add_root(folder)
        return self._locator.locate(module)

    def _definition_line(self, uri: str, text: str, names: list[str]) -> int | None:
        """The line of the ``def`` that ``names`` (``["load"]``, ``["Store", "save"]``) is, at
        module level or in a module-level class."""
        if uri not in self._bodies:
            try:
                self._bodies[uri] = ast.parse(text).body
            except (SyntaxError, ValueError, RecursionError):
                self._bodies[uri] = None
        body = self._bodies[uri]
        if body is None:
            return None
        for index, name in enumerate(names):
            last = index == len(names) - 1
            kinds = (ast.FunctionDef,) if last else (ast.ClassDef,)
            match = next((s for s in body if isinstance(s, kinds) and s.name == name), None)
            if match is None:
                return None
            if last:
                return match.lineno
            body = match.body
        return None


def _at(chosen: Finding) -> Callable[[Finding], bool]:
    return lambda finding: (finding.line, finding.column) == (chosen.line, chosen.column)


def workspace_edit(document: TextDocument, new_text: str) -> types.WorkspaceEdit:
    """The edits that make the document ``new_text``: one per changed run of lines (the
    call's line, the import added), against the version they were computed on."""
    old_lines = document.source.splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    edits: list[types.TextEdit] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, first, last, new_first, new_last in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(types.TextEdit(
            range=types.Range(start=_line_start(document, old_lines, first), end=_line_start(document, old_lines, last)),
            new_text="".join(new_lines[new_first:new_last]),
        ))
    identifier = types.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version)
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=identifier, edits=edits)])


def _line_start(document: TextDocument, lines: list[str], index: int) -> types.Position:
    """Where line ``index`` starts; past the last line, the end of the text (which need not
    end with a line break)."""
    if index < len(lines) or not lines or lines[-1].endswith(("\n", "\r")):
        return types.Position(line=index, character=0)
    last = lines[-1]
    return types.Position(line=len(lines) - 1, character=document.position_codec.client_num_units(last))


__all__ = ["FIX_ALL", "SOURCE", "ActionKind", "DocumentAnalysis", "analyse", "snapshot", "workspace_edit"]

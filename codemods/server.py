"""``loopsafe server``: a language server (LSP over stdio, on pygls and lsprotocol).

What an editor gets, from the same engine and settings as the CLI (each document's
nearest ``pyproject.toml``):

- **diagnostics** on open, change and save: every finding, with its code, its fix or the
  reason there is none, and for a call of a project function (LS301) the chain;
- **code actions** at a finding: its quick fix (the edit for that call and the import it
  needs, through the one rewrite door: ``engine.fix_one``), "suppress with
  ``# noqa: LSxxx``" (the comment where loopsafe reads it), and "fix all"
  (``source.fixAll.loopsafe``), whose edit makes the document what ``loopsafe fix``
  makes of it, byte for byte.

The message loop never analyses: documents are analysed in a worker thread, a change
burst is analysed once (``DEBOUNCE_SECONDS`` after its last change; open and save at
once), and results for a version the document has left are dropped. A document Python
cannot parse (mid-typing) gets its findings cleared, not a crash; they come back at the
next version that parses.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from codemods import __version__
from codemods.config import ConfigError, Settings, load_settings
from codemods.findings import Finding
from codemods.observed import ObservedError

if TYPE_CHECKING:
    from codemods.analysis.modules import ProjectView

#: A change burst is analysed this long after its last change.
DEBOUNCE_SECONDS = 0.25
FIX_ALL = "source.fixAll.loopsafe"
SOURCE = "loopsafe"

logger = logging.getLogger(__name__)


class LoopsafeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("loopsafe", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self._pending: dict[str, asyncio.Task[None]] = {}

    # -- scheduling ---------------------------------------------------------------------

    def schedule(self, uri: str, delay: float) -> None:
        """Analyse ``uri`` after ``delay`` seconds, unless another change comes first."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self._pending[uri] = asyncio.get_running_loop().create_task(self._analyse_later(uri, delay))

    async def _analyse_later(self, uri: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            return
        document = self._document(uri)
        if document is None:
            return
        # A copy: the client's next change edits the document while this one is analysed.
        snapshot = TextDocument(uri, document.source, document.version, position_codec=document.position_codec)
        version = snapshot.version
        try:
            diagnostics = await asyncio.to_thread(_diagnostics, snapshot)
        except Exception as error:  # noqa: BLE001 - a bug of ours must not take the editor's server down
            logger.exception("analysing %s", uri)
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Error, message=f"loopsafe: internal error analysing {uri}: {error!r}"))
            return
        current = self._document(uri)
        if current is None or current.version != version:
            return  # stale: a newer version is on its way
        if self._pending.get(uri) is asyncio.current_task():
            del self._pending[uri]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def forget(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def _document(self, uri: str) -> TextDocument | None:
        try:
            document = self.workspace.get_text_document(uri)
        except Exception:  # noqa: BLE001 - an unknown or malformed URI: nothing to analyse
            return None
        return document if document.version is not None or uri in self.workspace.text_documents else None


server = LoopsafeServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LoopsafeServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LoopsafeServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: LoopsafeServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LoopsafeServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.forget(params.text_document.uri)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False
    ),
)
async def code_action(ls: LoopsafeServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    uri = params.text_document.uri
    document = ls._document(uri)
    if document is None:
        return None
    # Computed on the text as it is now (a copy), in a worker thread: the edits must fit it.
    snapshot = TextDocument(uri, document.source, document.version, position_codec=document.position_codec)
    return await asyncio.to_thread(_actions, snapshot, params.range, params.context.only)


# -- the work, off the message loop ----------------------------------------------------------


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


def _analyse(source: str, path: str | None) -> tuple[list[tuple[Finding, tuple[int, int, int, int]]], types.Diagnostic | None]:
    """The document's findings with their spans, and a diagnostic for what stops the
    analysis (a broken configuration or recording); a module Python cannot parse has none."""
    from codemods.engine import locate_findings

    settings = _settings(path)
    text = source.encode("utf-8")
    try:
        if isinstance(settings, ConfigError):
            raise settings
        view = _view(path, text, settings)
    except (ConfigError, ObservedError) as problem:
        return [], types.Diagnostic(
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
            message=f"loopsafe cannot run: {problem}", severity=types.DiagnosticSeverity.Error, source=SOURCE,
        )
    located, error = locate_findings(text, settings, path or "<editor>", view)
    if error is not None:
        logger.info("%s: %s", path, error.message)
    return located, None


def _diagnostics(document: TextDocument) -> list[types.Diagnostic]:
    """The diagnostics of a document (in a worker thread: analysing and locating the
    definitions of LS301 chains read files)."""
    located, problem = _analyse(document.source, document.path)
    diagnostics = [_diagnostic(document, finding, span) for finding, span in located]
    return [*diagnostics, problem] if problem is not None else diagnostics


def _range(document: TextDocument, span: tuple[int, int, int, int]) -> types.Range:
    start_line, start_column, end_line, end_column = span
    in_points = types.Range(
        start=types.Position(line=start_line - 1, character=start_column),
        end=types.Position(line=end_line - 1, character=end_column),
    )
    return document.position_codec.range_to_client_units(document.lines, in_points)


def _diagnostic(document: TextDocument, finding: Finding, span: tuple[int, int, int, int]) -> types.Diagnostic:
    return types.Diagnostic(
        range=_range(document, span),
        message=finding.message,
        severity=types.DiagnosticSeverity.Warning,
        code=finding.code,
        source=SOURCE,
        data={"fixable": finding.fixable, "name": finding.name, "chain": list(finding.chain)},
        related_information=_chain_locations(document, finding.chain) or None,
    )


def _chain_locations(document: TextDocument, chain: Sequence[str]) -> list[types.DiagnosticRelatedInformation]:
    """Where each function of an LS301 chain is defined, with what it calls: the way to
    the blocking call, one click at a time."""
    if not chain or not document.path:
        return []
    from codemods.project import ModuleLocator, module_name_of

    _, _, root = module_name_of(Path(document.path))
    locator = ModuleLocator()
    for folder in (root, Path.cwd(), Path.cwd() / "src"):
        locator.add_root(folder)
    found: list[types.DiagnosticRelatedInformation] = []
    for step, called in zip(chain, chain[1:]):
        parts = step.removesuffix("()").split(".")
        where: tuple[str, str, list[str]] | None = None
        for cut in range(len(parts) - 1, 0, -1):
            path = locator.locate(".".join(parts[:cut]))
            if path is not None:
                where = (path.as_uri(), path.read_text(encoding="utf-8", errors="replace"), parts[cut:])
                break
        if where is None:  # a function of the document's own module
            where = (document.uri, document.source, parts)
        uri, text, names = where
        line = _definition_line(text, names)
        if line is not None:
            position = types.Position(line=line - 1, character=0)
            found.append(types.DiagnosticRelatedInformation(
                location=types.Location(uri=uri, range=types.Range(start=position, end=position)),
                message=f"{step} calls {called}",
            ))
    return found


def _definition_line(text: str, names: list[str]) -> int | None:
    """The line of the ``def`` that ``names`` (``["load"]``, ``["Store", "save"]``) is, at
    module level or in a module-level class."""
    import ast

    try:
        body: list[ast.stmt] = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError):
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


def _actions(
    document: TextDocument, wanted: types.Range, only: Sequence[str] | None
) -> list[types.CodeAction]:
    from codemods.engine import add_noqa, fix_one, locate_findings, transform_source

    path = document.path
    settings = _settings(path)
    if isinstance(settings, ConfigError):
        return []
    source = document.source.encode("utf-8")
    filename = path or "<editor>"
    try:
        view = _view(path, source, settings)
    except ObservedError:
        return []  # the document's diagnostics say why
    located, error = locate_findings(source, settings, filename, view)
    if error is not None or not located:
        return []
    actions: list[types.CodeAction] = []
    quick = only is None or any(kind.startswith(types.CodeActionKind.QuickFix) for kind in only)
    if quick:
        for finding, span in located:
            found_range = _range(document, span)
            if not _overlaps(found_range, wanted):
                continue
            diagnostic = _diagnostic(document, finding, span)
            if finding.fixable:
                fixed = fix_one(source, settings, filename, span, view)
                if fixed.error is None and fixed.changed:
                    actions.append(types.CodeAction(
                        title=f"loopsafe: {finding.detail}", kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic], is_preferred=True,
                        edit=_workspace_edit(document, fixed.output.decode("utf-8")),
                    ))
            commented = add_noqa(source, settings, filename, selected=_at(finding), project=view)
            if commented.error is None and commented.changed:
                actions.append(types.CodeAction(
                    title=f"loopsafe: suppress {finding.code} with `# noqa: {finding.code}`",
                    kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                    edit=_workspace_edit(document, commented.output.decode("utf-8")),
                ))
    fix_all = only is None or any(FIX_ALL.startswith(kind) or kind == FIX_ALL for kind in only)
    if fix_all and any(finding.fixable for finding, _ in located):
        fixed_all = transform_source(source, settings, filename, project=view)
        if fixed_all.error is None and fixed_all.changed:
            actions.append(types.CodeAction(
                title="loopsafe: fix all blocking calls", kind=FIX_ALL,
                edit=_workspace_edit(document, fixed_all.output.decode("utf-8")),
            ))
    return actions


def _at(chosen: Finding) -> Callable[[Finding], bool]:
    return lambda finding: (finding.line, finding.column) == (chosen.line, chosen.column)


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _workspace_edit(document: TextDocument, new_text: str) -> types.WorkspaceEdit:
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


def main(argv: Any = None) -> None:
    """Serve over stdin/stdout until the client says exit."""
    logging.basicConfig(level=logging.WARNING)
    server.start_io()


__all__ = ["FIX_ALL", "LoopsafeServer", "main", "server"]

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

The message loop never analyses: documents are analysed in a worker thread, one at a
time, each at its current version when its turn comes (``codemods.server_work``); a
change burst is analysed once (``DEBOUNCE_SECONDS`` after its last change; open and save
at once), and an analysis a newer version overtook is dropped, never published. Each
version's analysis is kept: code actions are listed from it without analysing again,
and their edits are computed when the client resolves one (``codeAction/resolve``; for
a client that cannot, when listed). A document Python cannot parse (mid-typing) gets
its findings cleared, not a crash; they come back at the next version that parses.
``exit`` ends the process at once, an analysis running or not.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from codemods import __version__
from codemods.findings import Finding
from codemods.server_work import FIX_ALL, ActionKind, DocumentAnalysis, analyse, snapshot

if TYPE_CHECKING:
    from codemods.analysis.finder import Span

#: A change burst is analysed this long after its last change.
DEBOUNCE_SECONDS = 0.1

logger = logging.getLogger(__name__)


class LoopsafeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("loopsafe", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        #: Debounce timers of documents changed, by URI.
        self._timers: dict[str, asyncio.TimerHandle] = {}
        #: Documents whose current version is to be analysed, in the order asked (a dict: a set in order).
        self._due: dict[str, None] = {}
        #: The document and version being analysed, if one is.
        self._running: tuple[str, int | None] | None = None
        self._worker: asyncio.Task[None] | None = None
        #: The analysis of each open document's current version, once done.
        self._analyses: dict[str, DocumentAnalysis] = {}
        #: Requests waiting for the analysis of a version, by URI.
        self._waiting: dict[str, list[tuple[int | None, asyncio.Future[DocumentAnalysis | None]]]] = {}
        #: The client asked to shut down: exit ends the process with status 0, not 1.
        self.shut_down = False

    # -- scheduling: one analysis at a time, always of a document's current version --------

    def schedule(self, uri: str, delay: float) -> None:
        """Analyse ``uri`` after ``delay`` seconds, unless another change comes first."""
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        if delay > 0:
            self._timers[uri] = asyncio.get_running_loop().call_later(delay, self._make_due, uri)
        else:
            self._make_due(uri)

    def _make_due(self, uri: str) -> None:
        self._timers.pop(uri, None)
        if self.shut_down:
            return
        self._due[uri] = None
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        """Analyse the documents due, one at a time, each at its version when its turn
        comes: however many versions came meanwhile, only the current one is analysed,
        and an analysis a newer version overtook while it ran is dropped unpublished."""
        while self._due and not self.shut_down:
            uri = next(iter(self._due))
            del self._due[uri]
            document = self._document(uri)
            if document is None:
                continue
            copy = snapshot(document)
            self._running = (uri, copy.version)
            try:
                analysis = await asyncio.to_thread(analyse, copy)
            except Exception as error:  # noqa: BLE001 - a bug of ours must not take the editor's server down
                logger.exception("analysing %s", uri)
                self.window_log_message(types.LogMessageParams(
                    type=types.MessageType.Error, message=f"loopsafe: internal error analysing {uri}: {error!r}"))
                self._answer(uri, copy.version, None)
                continue
            finally:
                self._running = None
            current = self._document(uri)
            if self.shut_down or current is None or current.version != copy.version:
                continue  # overtaken: the newer version is due, or will be when its burst ends
            self._analyses[uri] = analysis
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=analysis.diagnostics, version=copy.version)
            )
            self._answer(uri, copy.version, analysis)

    def _answer(self, uri: str, version: int | None, analysis: DocumentAnalysis | None) -> None:
        """Hand ``analysis`` (of ``version``) to the requests waiting for it; those waiting
        for an older version get nothing (the document has left it)."""
        waiting = self._waiting.pop(uri, [])
        later: list[tuple[int | None, asyncio.Future[DocumentAnalysis | None]]] = []
        for wanted, future in waiting:
            if wanted is not None and version is not None and wanted > version:
                later.append((wanted, future))
            elif not future.done():
                future.set_result(analysis if wanted == version else None)
        if later:
            self._waiting[uri] = later

    async def analysis_of(self, uri: str) -> DocumentAnalysis | None:
        """The analysis of the document's current version: the one its diagnostics were
        published from, or (a version not analysed yet) the next one, analysed now."""
        document = self._document(uri)
        if document is None or self.shut_down:
            return None
        version = document.version
        done = self._analyses.get(uri)
        if done is not None and done.version == version:
            return done
        future: asyncio.Future[DocumentAnalysis | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(uri, []).append((version, future))
        if self._running != (uri, version) and uri not in self._timers:
            # (A burst under way is waited for: editors ask at each keystroke, and cancel
            # the question at the next.)
            self._make_due(uri)
        return await future

    def forget(self, uri: str) -> None:
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        self._due.pop(uri, None)
        self._analyses.pop(uri, None)
        self._answer(uri, None, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def stop_analysing(self) -> None:
        """After ``shutdown``: nothing more is analysed (the one running is left to ``exit``)."""
        self.shut_down = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._due.clear()
        for uri in list(self._waiting):
            self._answer(uri, None, None)

    def _document(self, uri: str) -> TextDocument | None:
        try:
            document = self.workspace.get_text_document(uri)
        except Exception:  # noqa: BLE001 - an unknown or malformed URI: nothing to analyse
            return None
        return document if document.version is not None or uri in self.workspace.text_documents else None

    @property
    def resolves_edits(self) -> bool:
        """Whether the client asks for a code action's edit when it needs it
        (``codeAction/resolve``), keeping the action's ``data`` until then."""
        text_document = self.client_capabilities.text_document
        code_action = text_document.code_action if text_document is not None else None
        if code_action is None or not code_action.data_support or code_action.resolve_support is None:
            return False
        return "edit" in code_action.resolve_support.properties

    def exit_now(self) -> None:
        """End the process at once, an analysis running or not (its thread cannot be
        stopped, and Python would wait for it): 0 after ``shutdown``, 1 without (LSP)."""
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass  # closed by the client: nothing more to say
        os._exit(0 if self.shut_down else 1)


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


@server.feature(types.SHUTDOWN)
def shutdown(ls: LoopsafeServer, params: None) -> None:
    ls.stop_analysing()


@server.feature(types.EXIT)
def exit_(ls: LoopsafeServer, params: None) -> None:
    ls.exit_now()


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=True),
)
async def code_action(ls: LoopsafeServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    analysis = await ls.analysis_of(params.text_document.uri)
    if analysis is None:
        return None
    offered = _offered(analysis, params.range, params.context.only)
    if ls.resolves_edits:
        return offered  # each edit on codeAction/resolve: listing them costs no analysis
    # A client that cannot resolve: every edit now, and only the actions that have one.
    edits = await asyncio.to_thread(lambda: [analysis.edit(*_what(action)) for action in offered])
    resolved = []
    for action, edit in zip(offered, edits):
        if edit is not None:
            action.edit = edit
            action.data = None
            resolved.append(action)
    return resolved


@server.feature(types.CODE_ACTION_RESOLVE)
async def resolve_code_action(ls: LoopsafeServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data
    if not isinstance(data, dict) or action.edit is not None:
        return action
    uri = str(data.get("uri"))
    analysis, document = ls._analyses.get(uri), ls._document(uri)
    if (analysis is None or document is None or analysis.version != document.version
            or analysis.version != data.get("version") or not _still_there(analysis, data)):
        return action  # the document has left the version the action was offered on
    kind, index = _what(action)
    action.edit = await asyncio.to_thread(analysis.edit, kind, index)
    return action


def _offered(analysis: DocumentAnalysis, wanted: types.Range, only: Sequence[str] | None) -> list[types.CodeAction]:
    """The code actions at ``wanted``, without their edits: for each finding there, its
    quick fix (if it has one) and its ``# noqa``; "fix all" if the document has a fix."""
    document = analysis.document
    actions: list[types.CodeAction] = []

    def offer(title: str, kind: str, what: ActionKind, index: int, **more: Any) -> None:
        data: dict[str, Any] = {"uri": document.uri, "version": document.version, "action": what, "index": index}
        if index >= 0:
            finding = analysis.located[index][0]
            data.update(line=finding.line, column=finding.column, code=finding.code)
        actions.append(types.CodeAction(title=title, kind=kind, data=data, **more))

    if only is None or any(kind.startswith(types.CodeActionKind.QuickFix) for kind in only):
        for index, ((finding, _), diagnostic) in enumerate(zip(analysis.located, analysis.diagnostics)):
            if not _overlaps(diagnostic.range, wanted):
                continue
            if finding.fixable:
                offer(f"loopsafe: {finding.detail}", types.CodeActionKind.QuickFix, "fix", index,
                      diagnostics=[diagnostic], is_preferred=True)
            offer(f"loopsafe: suppress {finding.code} with `# noqa: {finding.code}`", types.CodeActionKind.QuickFix,
                  "noqa", index, diagnostics=[diagnostic])
    fix_all = only is None or any(FIX_ALL.startswith(kind) or kind == FIX_ALL for kind in only)
    if fix_all and any(finding.fixable for finding, _ in analysis.located):
        offer("loopsafe: fix all blocking calls", FIX_ALL, "fix-all", -1)
    return actions


def _what(action: types.CodeAction) -> tuple[ActionKind, int]:
    assert isinstance(action.data, dict)
    what = action.data.get("action")
    index = action.data.get("index")
    kind: ActionKind = "fix" if what == "fix" else "noqa" if what == "noqa" else "fix-all"
    return kind, index if isinstance(index, int) else -1


def _still_there(analysis: DocumentAnalysis, data: dict[str, Any]) -> bool:
    """Whether the finding an action was offered for is the analysis's finding at its index."""
    index = data.get("index")
    if data.get("action") == "fix-all":
        return True
    if not isinstance(index, int) or not 0 <= index < len(analysis.located):
        return False
    finding = analysis.located[index][0]
    return (finding.line, finding.column, finding.code) == (data.get("line"), data.get("column"), data.get("code"))


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _analyse(source: str, path: str | None) -> tuple[list[tuple[Finding, Span]], types.Diagnostic | None]:
    """The findings of a document's text with their spans, and the diagnostic saying why
    the analysis cannot run (a broken configuration or recording), if so."""
    uri = Path(path).resolve().as_uri() if path else "untitled:document"
    analysis = analyse(TextDocument(uri, source, 1))
    return analysis.located, analysis.diagnostics[-1] if analysis.settings is None else None


def main(argv: Any = None) -> None:
    """Serve over stdin/stdout until the client says exit (or closes stdin)."""
    logging.basicConfig(level=logging.WARNING)
    # The analysis thread hands the interpreter back sooner (Python's default: 5 ms) when
    # the message loop asks: each message read takes several such hand-overs.
    sys.setswitchinterval(0.001)
    server.start_io()
    server.exit_now()  # not waiting for an analysis thread


__all__ = ["FIX_ALL", "LoopsafeServer", "main", "server"]

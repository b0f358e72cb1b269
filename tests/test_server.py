"""``loopsafe server`` end to end: the real server process, driven over stdio by pygls's
language client as an editor would (initialize, open, change, save, code actions, shutdown).

Each test starts ``python -m codemods server`` in a temporary project, and reads what the
server publishes. The edits the server returns are applied here, the way a client applies
them, and compared with what ``loopsafe fix`` makes of the same text.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from codemods.engine import transform_source
from tests.conftest import find_tool

T = TypeVar("T")

HANDLERS = textwrap.dedent('''\
    """Handlers."""
    import os
    import time


    async def handle(path):
        time.sleep(1)
        os.remove(path)
        return path
''')

TIMEOUT = 20.0


class Editor:
    """A language client with what the server published, by URI."""

    def __init__(self, root: Path, capabilities: types.ClientCapabilities | None = None) -> None:
        self.root = root
        self.capabilities = capabilities or types.ClientCapabilities()
        self.client = LanguageClient("loopsafe-tests", "1")
        self.published: dict[str, list[types.PublishDiagnosticsParams]] = {}
        self.changed = asyncio.Event()
        self.versions: dict[str, int] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            self.published.setdefault(params.uri, []).append(params)
            self.changed.set()

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "codemods", "server", cwd=str(self.root))
        await self.client.initialize_async(types.InitializeParams(
            capabilities=self.capabilities,
            root_uri=self.root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=self.root.as_uri(), name="project")],
        ))
        self.client.initialized(types.InitializedParams())

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), TIMEOUT)
            self.client.exit(None)
        finally:
            await asyncio.wait_for(self.client.stop(), TIMEOUT)

    def uri(self, name: str) -> str:
        return (self.root / name).as_uri()

    def open(self, name: str, text: str) -> str:
        uri = self.uri(name)
        self.versions[uri] = 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        ))
        return uri

    def change(self, uri: str, text: str) -> int:
        self.versions[uri] += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        ))
        return self.versions[uri]

    async def diagnostics(self, uri: str, version: int) -> list[types.Diagnostic]:
        """The diagnostics published for ``version`` of the document (waiting for them)."""
        async def published() -> list[types.Diagnostic]:
            while True:
                for params in self.published.get(uri, []):
                    if params.version == version:
                        return list(params.diagnostics)
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(published(), TIMEOUT)

    async def actions(self, uri: str, at: types.Range, only: list[str] | None = None) -> list[types.CodeAction]:
        result = await asyncio.wait_for(self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=at,
            context=types.CodeActionContext(diagnostics=[], only=only),
        )), TIMEOUT)
        return [action for action in result or [] if isinstance(action, types.CodeAction)]


def run(test: Callable[[Editor], Awaitable[T]], root: Path, capabilities: types.ClientCapabilities | None = None) -> T:
    async def session() -> T:
        editor = Editor(root, capabilities)
        await editor.start()
        try:
            return await test(editor)
        finally:
            await editor.stop()

    return asyncio.run(session())


def apply(text: str, edit: types.WorkspaceEdit | None) -> str:
    """``text`` with the edits of a workspace edit applied, as a client applies them
    (positions in UTF-16 code units; the texts here are ASCII)."""
    assert edit is not None and edit.document_changes
    [change] = edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        return starts[position.line] + position.character

    for text_edit in sorted(change.edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        assert isinstance(text_edit, types.TextEdit)
        text = text[: offset(text_edit.range.start)] + text_edit.new_text + text[offset(text_edit.range.end):]
    return text


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.loopsafe]\n")
    return tmp_path


def test_diagnostics_quick_fixes_and_fix_all(root: Path) -> None:
    async def test(editor: Editor) -> dict[str, Any]:
        uri = editor.open("handlers.py", HANDLERS)
        diagnostics = await editor.diagnostics(uri, 1)
        sleep = next(d for d in diagnostics if d.code == "LS251")
        actions = await editor.actions(uri, sleep.range)
        fix_all = await editor.actions(uri, types.Range(start=types.Position(line=0, character=0),
                                                         end=types.Position(line=0, character=0)),
                                       only=["source.fixAll.loopsafe"])
        return {"diagnostics": diagnostics, "sleep": sleep, "actions": actions, "fix_all": fix_all}

    got = run(test, root)
    assert sorted((d.code, d.range.start.line, d.range.start.character, d.range.end.character, d.source)
                  for d in got["diagnostics"]) == [("LS251", 6, 4, 17, "loopsafe"), ("LS260", 7, 4, 19, "loopsafe")]
    assert got["sleep"].message == "time.sleep() blocks the event loop; fix: await asyncio.sleep(...)"
    titles = [action.title for action in got["actions"]]
    assert titles == ["loopsafe: await asyncio.sleep(...)", "loopsafe: suppress LS251 with `# noqa: LS251`",
                      "loopsafe: fix all blocking calls"]
    quick, suppress, _ = got["actions"]
    assert quick.kind == types.CodeActionKind.QuickFix and quick.is_preferred
    fixed = apply(HANDLERS, quick.edit)
    # The call's fix, the import it needs (`time` is no longer used); the other call untouched.
    assert fixed == HANDLERS.replace("import os\nimport time\n", "import asyncio\nimport os\n").replace(
        "    time.sleep(1)", "    await asyncio.sleep(1)")
    assert apply(HANDLERS, suppress.edit) == HANDLERS.replace("time.sleep(1)", "time.sleep(1)  # noqa: LS251")
    [fix_all] = got["fix_all"]
    assert fix_all.kind == "source.fixAll.loopsafe"
    # Byte for byte what `loopsafe fix` makes of the document (the console script, on a file).
    (root / "handlers.py").write_text(HANDLERS)
    loopsafe = find_tool("loopsafe", "this project's console script")
    subprocess.run([loopsafe, "fix", "--no-cache", "handlers.py"], cwd=root, capture_output=True, check=False)
    assert apply(HANDLERS, fix_all.edit) == (root / "handlers.py").read_text()
    assert apply(HANDLERS, fix_all.edit) == transform_source(HANDLERS.encode()).output.decode()


def test_changes_update_the_diagnostics_and_a_burst_is_analysed_once(root: Path) -> None:
    async def test(editor: Editor) -> dict[str, Any]:
        uri = editor.open("worker.py", HANDLERS)
        first = await editor.diagnostics(uri, 1)
        fixed = editor.change(uri, transform_source(HANDLERS.encode()).output.decode())
        after_fix = await editor.diagnostics(uri, fixed)
        burst = [editor.change(uri, HANDLERS.replace("time.sleep(1)", f"time.sleep({n})")) for n in range(5)]
        last = await editor.diagnostics(uri, burst[-1])
        await asyncio.sleep(0.6)  # what a late analysis of the burst would have published by now
        return {"first": first, "after_fix": after_fix, "burst": burst, "last": last,
                "published": [p.version for p in editor.published[uri]]}

    got = run(test, root)
    assert [d.code for d in got["first"]] == ["LS251", "LS260"]
    assert got["after_fix"] == []
    assert [d.code for d in got["last"]] == ["LS251", "LS260"]
    assert got["last"][0].range.end.character == 17
    # One analysis for the whole burst: only its last version was published.
    assert [v for v in got["published"] if v in got["burst"]] == [got["burst"][-1]]


def test_a_syntax_error_mid_typing_clears_the_findings_and_nothing_breaks(root: Path) -> None:
    async def test(editor: Editor) -> dict[str, Any]:
        uri = editor.open("typing.py", HANDLERS)
        before = await editor.diagnostics(uri, 1)
        broken = editor.change(uri, HANDLERS.replace("os.remove(path)", "os.remove(path"))
        while_broken = await editor.diagnostics(uri, broken)
        actions = await editor.actions(uri, before[0].range)
        repaired = editor.change(uri, HANDLERS)
        after = await editor.diagnostics(uri, repaired)
        return {"before": before, "while_broken": while_broken, "actions": actions, "after": after}

    got = run(test, root)
    assert len(got["before"]) == 2
    assert got["while_broken"] == [] and got["actions"] == []
    assert [d.code for d in got["after"]] == ["LS251", "LS260"]


def test_an_unknown_document_gets_no_actions_and_no_crash(root: Path) -> None:
    async def test(editor: Editor) -> dict[str, Any]:
        nowhere = editor.uri("never-opened.py")
        actions = await editor.actions(nowhere, types.Range(start=types.Position(line=0, character=0),
                                                             end=types.Position(line=0, character=0)))
        editor.client.text_document_did_close(types.DidCloseTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri="untitled:Untitled-1")))
        uri = editor.open("still.py", HANDLERS)  # the server still answers
        return {"actions": actions, "after": await editor.diagnostics(uri, 1)}

    got = run(test, root)
    assert got["actions"] == []
    assert len(got["after"]) == 2


def test_each_document_gets_the_settings_of_its_nearest_pyproject(root: Path) -> None:
    service = root / "service"
    service.mkdir()
    (service / "pyproject.toml").write_text("[tool.loopsafe]\nnative-sleep = false\n")
    broken = root / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text('[tool.loopsafe]\nignore = ["time.sleeep"]\n')

    async def test(editor: Editor) -> dict[str, Any]:
        in_service = editor.open("service/handlers.py", HANDLERS)
        in_broken = editor.open("broken/handlers.py", HANDLERS)
        return {"service": await editor.diagnostics(in_service, 1), "broken": await editor.diagnostics(in_broken, 1)}

    got = run(test, root)
    sleep = next(d for d in got["service"] if d.code == "LS251")
    assert sleep.message.endswith("fix: await asyncio.to_thread(time.sleep, ...)")
    [problem] = got["broken"]
    assert problem.message.startswith("loopsafe cannot run: ") and "did you mean 'time.sleep'?" in problem.message


def test_calls_into_other_modules_are_followed_with_their_chain(root: Path) -> None:
    package = root / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "storage.py").write_text("def load(path):\n    with open(path) as fh:\n        return fh.read()\n")
    handler = "from app.storage import load\n\n\nasync def handler(path: str):\n    return load(path)\n"

    async def test(editor: Editor) -> list[types.Diagnostic]:
        return await editor.diagnostics(editor.open("app/handlers.py", handler), 1)

    [diagnostic] = run(test, root)
    assert diagnostic.code == "LS301"
    assert "(through app.storage.load() -> open())" in diagnostic.message
    assert diagnostic.data == {"fixable": True, "name": "load", "chain": ["app.storage.load()", "open()"]}
    # The way to the blocking call, as related information: where `load` is defined.
    [related] = diagnostic.related_information or []
    assert related.location.uri == (package / "storage.py").as_uri()
    assert related.location.range.start.line == 0
    assert related.message == "app.storage.load() calls open()"


def test_a_chain_in_the_documents_own_module_points_at_each_definition(root: Path) -> None:
    store = textwrap.dedent('''\
        import json


        class Store:
            def save(self, data, path):
                with open(path, "w") as fh:
                    json.dump(data, fh)

            def flush(self, path):
                self.save({}, path)

            async def close(self, path):
                self.flush(path)
    ''')

    async def test(editor: Editor) -> list[types.Diagnostic]:
        return await editor.diagnostics(editor.open("store.py", store), 1)

    [diagnostic] = run(test, root)
    assert diagnostic.code == "LS301" and diagnostic.range.start.line == 12
    uri = (root / "store.py").as_uri()
    assert [(r.location.uri, r.location.range.start.line, r.message) for r in diagnostic.related_information or []] == [
        (uri, 8, "Store.flush() calls Store.save()"),
        (uri, 4, "Store.save() calls open()"),
    ]


def test_the_message_loop_answers_while_a_large_document_is_analysed(root: Path) -> None:
    """Analysis runs off the message loop: a request made while a large document is being
    analysed is answered before that analysis ends."""
    large = "import time\n\n" + "".join(
        f"async def handler_{n}(x):\n    time.sleep(x)\n    return [x for x in range({n})]\n\n" for n in range(3000)
    )

    async def test(editor: Editor) -> tuple[bool, int]:
        uri = editor.open("large.py", large)
        await asyncio.sleep(0.05)  # the analysis has started
        answered = await editor.actions(editor.uri("elsewhere.py"), types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)))
        before = uri not in editor.published
        diagnostics = await editor.diagnostics(uri, 1)
        return before and answered == [], len(diagnostics)

    answered_first, found = run(test, root)
    assert found == 3000
    assert answered_first


#: A client that lists code actions first and asks for an edit when it needs it (as VS
#: Code, Neovim and Helix do).
RESOLVING = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
    code_action=types.CodeActionClientCapabilities(
        data_support=True, resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
    ),
))


def test_a_client_that_resolves_gets_the_actions_first_and_each_edit_when_it_asks(root: Path) -> None:
    moved = "# a line more\n" + HANDLERS

    async def test(editor: Editor) -> dict[str, Any]:
        uri = editor.open("handlers.py", HANDLERS)
        sleep = next(d for d in await editor.diagnostics(uri, 1) if d.code == "LS251")
        listed = await editor.actions(uri, sleep.range)
        resolved = [await editor.client.code_action_resolve_async(action) for action in listed]
        again = await editor.client.code_action_resolve_async(listed[0])
        # A new version: what was offered on the old one gets no edit; asked at once (before
        # its diagnostics), the actions are those of the new version.
        version = editor.change(uri, moved)
        moved_range = types.Range(start=types.Position(line=sleep.range.start.line + 1, character=sleep.range.start.character),
                                  end=types.Position(line=sleep.range.end.line + 1, character=sleep.range.end.character))
        stale = await editor.client.code_action_resolve_async(listed[0])
        current = await editor.actions(uri, moved_range)
        fixed_now = await editor.client.code_action_resolve_async(current[0])
        return {"listed": listed, "resolved": resolved, "again": again, "stale": stale, "current": current,
                "fixed_now": fixed_now, "version": version}

    got = run(test, root, RESOLVING)
    # Listed without their edits, each with what finds its finding again.
    assert [(a.title, a.edit) for a in got["listed"]] == [
        ("loopsafe: await asyncio.sleep(...)", None), ("loopsafe: suppress LS251 with `# noqa: LS251`", None),
        ("loopsafe: fix all blocking calls", None)]
    assert all(isinstance(a.data, dict) and a.data["version"] == 1 for a in got["listed"])
    # Resolved: the edits a client that cannot resolve gets (test_diagnostics_quick_fixes_and_fix_all).
    quick, suppress, fix_all = got["resolved"]
    assert apply(HANDLERS, quick.edit) == HANDLERS.replace("import os\nimport time\n", "import asyncio\nimport os\n").replace(
        "    time.sleep(1)", "    await asyncio.sleep(1)")
    assert apply(HANDLERS, suppress.edit) == HANDLERS.replace("time.sleep(1)", "time.sleep(1)  # noqa: LS251")
    assert apply(HANDLERS, fix_all.edit) == transform_source(HANDLERS.encode()).output.decode()
    assert got["again"].edit == quick.edit
    assert got["stale"].edit is None
    assert [a.title for a in got["current"]] == [a.title for a in got["listed"]]
    assert got["current"][0].data["version"] == got["version"]
    assert apply(moved, got["fixed_now"].edit) == "# a line more\n" + apply(HANDLERS, quick.edit)


def _lsp_message(payload: dict[str, Any]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **payload}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _read_message(stream: asyncio.StreamReader) -> dict[str, Any]:
    length = 0
    while (line := await stream.readline()).strip():
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    if not length:
        raise EOFError("the server closed its output")
    message: dict[str, Any] = json.loads(await stream.readexactly(length))
    return message


def test_exit_ends_the_server_at_once_while_a_long_analysis_runs(root: Path) -> None:
    """``shutdown`` and ``exit`` during an analysis of many seconds: the process is gone
    within 3 s, with status 0; ``exit`` without ``shutdown``: status 1 (LSP). Two
    servers, side by side (the second idle: one long analysis at a time on this machine)."""
    # Many seconds of analysis: thousands of coroutines, each with calls to judge (and no
    # single step of it long: the server reads ``exit`` between two).
    large = "import os\nimport time\n\n" + "".join(
        f"async def handler_{n}(path):\n    time.sleep(1)\n    os.remove(path + '{n}')\n"
        "    os.rename(path, path + '.old')\n    return path\n\n"
        for n in range(5_000)
    )

    async def serve(shut_down_first: bool, text: str | None) -> tuple[int | None, float, list[str]]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "codemods", "server", cwd=str(root),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert process.stdin is not None and process.stdout is not None
        published: list[str] = []

        async def until(wanted: Callable[[dict[str, Any]], bool]) -> None:
            assert process.stdout is not None
            while not wanted(message := await _read_message(process.stdout)):
                if message.get("method") == "textDocument/publishDiagnostics":
                    published.append(message["params"]["uri"])

        def send(payload: dict[str, Any]) -> None:
            assert process.stdin is not None
            process.stdin.write(_lsp_message(payload))

        try:
            send({"id": 1, "method": "initialize", "params": {"processId": None, "rootUri": root.as_uri(),
                                                               "capabilities": {}}})
            await asyncio.wait_for(until(lambda m: m.get("id") == 1), TIMEOUT)
            send({"method": "initialized", "params": {}})
            if text is not None:
                send({"method": "textDocument/didOpen", "params": {"textDocument": {
                    "uri": (root / "large.py").as_uri(), "languageId": "python", "version": 1, "text": text}}})
                await process.stdin.drain()
                # Into its analysis, past its parse: one step of C the server cannot leave
                # (exit waits for the step running, not for the analysis).
                await asyncio.sleep(1.5)
            asked = time.monotonic()
            if shut_down_first:  # (its answer is not waited for: the server reads in order)
                send({"id": 2, "method": "shutdown", "params": None})
            send({"method": "exit", "params": None})
            await process.stdin.drain()
            try:
                await asyncio.wait_for(until(lambda m: False), 3)
            except (EOFError, asyncio.IncompleteReadError):
                pass  # the server is gone
            except asyncio.TimeoutError:
                return None, time.monotonic() - asked, published  # still running
            status = await asyncio.wait_for(process.wait(), 3)
            return status, time.monotonic() - asked, published
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def both() -> list[tuple[int | None, float, list[str]]]:
        return list(await asyncio.gather(serve(True, large), serve(False, None)))

    (after_shutdown, took, published), (without_shutdown, took_too, _) = asyncio.run(both())
    # The large document's analysis was still running: its diagnostics never came.
    assert published == []
    assert (after_shutdown, without_shutdown) == (0, 1)
    assert took < 3 and took_too < 3

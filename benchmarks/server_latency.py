"""Time ``loopsafe server`` as an editor uses it, over stdio: open a document, then rounds
of change -> diagnostics, code actions at a finding (and where there is none), resolve.

    python benchmarks/server_latency.py                      # a generated 2,000-line module
    python benchmarks/server_latency.py --document PATH      # a real one (copied)
    python benchmarks/server_latency.py --pythonpath DIR     # another loopsafe's code (before/after)
    python benchmarks/server_latency.py --no-resolve         # a client without codeAction/resolve

Each round changes one line of the document (a new version, the whole text sent, as
the simplest clients do) and waits for that version's diagnostics; then asks for the
code actions at one of its findings (another each round), resolves the quick fix (if
the server lists it without its edit), and asks for the code actions on a line without a
finding (a cursor move). Printed per step: the median wall time from request to answer
and the median CPU time the server spent meanwhile (its /proc stat, Linux only): on a
shared machine the CPU time is the figure to compare, the wall time is what a user waits.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TIMEOUT = 300.0


def generated(lines: int = 2000) -> str:
    """A service module of ``lines`` lines: helpers, classes with coroutine methods, coroutines;
    blocking calls of several kinds (file I/O in ``with`` blocks, HTTP, sleep, os and
    shutil calls, subprocess, pathlib) and LS301 calls of the module's own helpers."""
    out = ['"""A service module, as an editor shows it."""', "import json", "import os", "import shutil",
           "import subprocess", "import time", "from pathlib import Path", "", "import requests", "", ""]
    n = 0
    while len(out) + 37 <= lines:
        out += [
            f"def load_{n}(path):", "    with open(path) as handle:", "        return json.load(handle)", "", "",
            f"class Store{n}:", "    def __init__(self, root):", "        self.root = Path(root)", "        self.items = []",
            "",
            "    async def save(self, name, data):",
            "        path = self.root / name",
            "        with open(path, 'w') as handle:",
            "            json.dump(data, handle)",
            "        self.items.append(name)",
            "        return path", "",
            "    async def refresh(self, url):",
            "        response = requests.get(url, timeout=5)",
            "        time.sleep(0.5)",
            "        for name in os.listdir(self.root):",
            "            if name.endswith('.tmp'):",
            "                os.remove(self.root / name)",
            "        return response.json()", "", "",
            f"async def handle_{n}(request, folder):",
            f"    config = load_{n}(request['config'])",
            "    done = subprocess.run(['ls', folder], capture_output=True, check=False)",
            "    shutil.copy(request['src'], folder)",
            "    total = 0",
            "    for item in config.get('items', []):",
            "        total += len(item)",
            "    text = Path(folder, 'out.txt').read_text()",
            "    return total, done.returncode, text", "", "",
        ]
        n += 1
    return "\n".join(out) + "\n"


class Server:
    """``python -m codemods server`` and the messages it sends."""

    def __init__(self, cwd: Path, pythonpath: str | None) -> None:
        env = dict(os.environ)
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        self.process = subprocess.Popen(
            [sys.executable, "-m", "codemods", "server"], cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            length = 0
            while True:
                line = stdout.readline()
                if not line:
                    return
                if not line.strip():
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self.messages.put(json.loads(stdout.read(length)))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        message = self.wait(lambda m: m.get("id") == self.next_id and "method" not in m)
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return message.get("result")

    def wait(self, wanted: Any) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            if "method" in message and "id" in message:  # a request of the server's: answer it
                self.send({"id": message["id"], "result": None})
            if wanted(message):
                return message

    def diagnostics(self, uri: str, version: int) -> list[dict[str, Any]]:
        message = self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                            and m["params"]["uri"] == uri and m["params"].get("version") == version)
        return list(message["params"]["diagnostics"])

    def cpu(self) -> float:
        """The server's CPU time so far (user + system, all threads), in seconds."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.request("shutdown", None)
        self.notify("exit", None)
        self.process.wait(timeout=30)


def capabilities(resolve: bool) -> dict[str, Any]:
    code_action: dict[str, Any] = {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "source"]}}}
    if resolve:  # as VS Code, Neovim and Helix say it
        code_action.update(dataSupport=True, resolveSupport={"properties": ["edit"]})
    return {"textDocument": {"codeAction": code_action, "publishDiagnostics": {"versionSupport": True}}}


def measure(server: Server, step: str, timings: dict[str, list[tuple[float, float]]], action: Any, *args: Any) -> Any:
    cpu, wall = server.cpu(), time.perf_counter()
    result = action(*args)
    timings.setdefault(step, []).append((time.perf_counter() - wall, server.cpu() - cpu))
    return result


def run(text: str, rounds: int, pythonpath: str | None, resolve: bool) -> dict[str, list[tuple[float, float]]]:
    timings: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="loopsafe-server-") as folder:
        root = Path(folder)
        (root / "pyproject.toml").write_text("[tool.loopsafe]\n")
        path = root / "service.py"
        path.write_text(text)
        uri = path.as_uri()
        server = Server(root, pythonpath)
        server.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(),
                                      "capabilities": capabilities(resolve)})
        server.notify("initialized", {})
        lines = text.splitlines(keepends=True)
        server.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}})
        found = measure(server, "open -> diagnostics", timings, server.diagnostics, uri, 1)
        quiet = next((n for n, line in enumerate(lines) if line.strip() and not any(
            d["range"]["start"]["line"] <= n <= d["range"]["end"]["line"] for d in found)), 0)
        changed = next((n for n, line in enumerate(lines) if "time.sleep(" in line), len(lines) // 2)
        for version in range(2, rounds + 2):
            lines[changed] = lines[changed].replace("time.sleep(", "time.sleep(1 + ", 1)
            new_text = "".join(lines)

            def change(version: int = version, new_text: str = new_text) -> list[dict[str, Any]]:
                server.notify("textDocument/didChange", {
                    "textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": new_text}]})
                return server.diagnostics(uri, version)

            found = measure(server, "change -> diagnostics", timings, change)
            fixable = [d for d in found if (d.get("data") or {}).get("fixable")]
            at = fixable[(version * 7) % len(fixable)] if fixable else found[0]

            def actions(where: dict[str, Any]) -> Any:
                return server.request("textDocument/codeAction", {
                    "textDocument": {"uri": uri}, "range": where, "context": {"diagnostics": []}})

            listed = measure(server, "codeAction at a finding", timings, actions, at["range"]) or []
            quick = next((a for a in listed if a.get("kind") == "quickfix" and a.get("isPreferred")), None)
            if quick is not None and "edit" not in quick:
                measure(server, "resolve its quick fix", timings, server.request, "codeAction/resolve", quick)
            nowhere = {"start": {"line": quiet, "character": 0}, "end": {"line": quiet, "character": 0}}
            measure(server, "codeAction, no finding there", timings, actions, nowhere)
        server.stop()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--document", type=Path, help="a module to open (default: a generated 2,000-line one)")
    parser.add_argument("--lines", type=int, default=2000, help="lines of the generated module")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pythonpath", help="PYTHONPATH for the server: another checkout's loopsafe")
    parser.add_argument("--no-resolve", action="store_true", help="a client without codeAction/resolve")
    args = parser.parse_args()
    text = args.document.read_text() if args.document else generated(args.lines)
    timings = run(text, args.rounds, args.pythonpath, not args.no_resolve)
    name = args.document.name if args.document else f"generated, {text.count(chr(10)):,} lines"
    print(f"| {name} | median wall (s) | median server CPU (s) | runs |\n|---|---:|---:|---:|")
    for step, runs in timings.items():
        print(f"| {step} | {statistics.median(w for w, _ in runs):.3f} | "
              f"{statistics.median(c for _, c in runs):.3f} | {len(runs)} |")


if __name__ == "__main__":
    main()

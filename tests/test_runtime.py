"""The runtime oracle: rewritten coroutines really stop blocking the event loop, and
compute the same result.

Each program runs three times under asyncio: the original without blockbuster (the
reference result), the original with blockbuster activated (it must raise
blockbuster's BlockingError: the call really blocks the loop), and the rewritten
program with blockbuster activated (it must not raise, and must return the reference
result). Everything is local: temp files, a 127.0.0.1 HTTP server, ``sys.executable``.
"""

from __future__ import annotations

import asyncio
import http.server
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from blockbuster import BlockingError, blockbuster_ctx

from codemods.engine import transform_source

PROGRAMS: dict[str, str] = {
    "time_sleep": """
        import time

        async def main(tmp, url):
            time.sleep(0.01)
            return "slept"
    """,
    "os_file_operations": """
        import os

        async def main(tmp, url):
            os.makedirs(os.path.join(tmp, "a", "b"), exist_ok=True)
            names = sorted(os.listdir(tmp))
            os.rmdir(os.path.join(tmp, "a", "b"))
            return names
    """,
    "with_open_block": """
        import os

        async def main(tmp, url):
            path = os.path.join(tmp, "data.txt")
            total = 0
            with open(path, "w") as out:
                out.write("alpha\\nbeta\\n")
            with open(path) as handle:
                for line in handle:
                    total += len(line)
            return total
    """,
    "open_read_chain": """
        import os

        async def main(tmp, url):
            path = os.path.join(tmp, "seed.txt")
            return open(path).read().upper()
    """,
    "pathlib_methods": """
        from pathlib import Path

        async def main(tmp, url):
            target = Path(tmp) / "notes.md"
            target.write_text("hello")
            return target.read_text() + str(target.exists())
    """,
    "os_path_and_shutil": """
        import os.path
        import shutil

        async def main(tmp, url):
            source = os.path.join(tmp, "seed.txt")
            shutil.copyfile(source, source + ".bak")
            return os.path.getsize(source + ".bak"), os.path.exists(source)
    """,
    "subprocess_run": """
        import subprocess
        import sys

        async def main(tmp, url):
            done = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True)
            return done.stdout.strip()
    """,
    "urllib_to_local_server": """
        import urllib.request

        async def main(tmp, url):
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
    """,
}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("www")
    (root / "index.html").write_text("<p>ok</p>")
    (root / "big.bin").write_bytes(bytes(range(256)) * 8192)  # 2 MiB: more than any read buffer
    handler = lambda *a, **k: _Quiet(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


def _run(source: str, tmp: Path, url: str, *, watched: bool) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<program>", "exec"), namespace)
    (tmp / "seed.txt").write_text("seed")
    if not watched:
        return asyncio.run(namespace["main"](str(tmp), url))
    with blockbuster_ctx():
        return asyncio.run(namespace["main"](str(tmp), url))


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_rewrite_stops_blocking_and_keeps_the_result(name: str, tmp_path: Path, server_url: str) -> None:
    original = textwrap.dedent(PROGRAMS[name])
    result = transform_source(original.encode())
    assert result.error is None and result.changed, result.findings
    rewritten = result.output.decode()

    for folder in ("reference", "blocked", "rewritten"):
        (tmp_path / folder).mkdir()
    reference = _run(original, tmp_path / "reference", server_url, watched=False)
    with pytest.raises(BlockingError):
        _run(original, tmp_path / "blocked", server_url, watched=True)
    assert _run(rewritten, tmp_path / "rewritten", server_url, watched=True) == reference


STREAMED = """
    import requests

    async def main(tmp, url):
        response = requests.get(url.replace("index.html", "big.bin"), stream=True, timeout=5)
        return sum(len(chunk) for chunk in response.iter_content(65536))
"""


def test_streamed_response_is_reported_because_its_body_reads_block(tmp_path: Path, server_url: str) -> None:
    """``stream=True``: offloading the request alone (a codemod blind to the keyword) leaves
    the body reads on the loop, so loopsafe reports the call instead of calling it fixed."""
    original = textwrap.dedent(STREAMED)
    naive = "import asyncio\n" + original.replace("requests.get(", "await asyncio.to_thread(requests.get, ")
    reference = _run(original, tmp_path, server_url, watched=False)
    assert reference == 256 * 8192
    with pytest.raises(BlockingError):
        _run(naive, tmp_path, server_url, watched=True)

    result = transform_source(original.encode())
    assert result.error is None and not result.changed
    [finding] = result.findings
    assert not finding.fixable and "with `stream=True` the body is read later" in finding.detail


CONCURRENT: dict[str, str] = {
    "sleep": """
        import asyncio, time

        async def job():
            time.sleep(0.2)

        async def main():
            await asyncio.gather(job(), job())
    """,
    "subprocess": """
        import asyncio, subprocess, sys

        async def job():
            subprocess.run([sys.executable, "-c", "import time; time.sleep(0.2)"])

        async def main():
            await asyncio.gather(job(), job())
    """,
}


def _elapsed(source: str) -> float:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<program>", "exec"), namespace)
    start = time.perf_counter()
    asyncio.run(namespace["main"]())
    return time.perf_counter() - start


@pytest.mark.parametrize("name", sorted(CONCURRENT))
def test_rewritten_coroutines_run_concurrently(name: str) -> None:
    original = textwrap.dedent(CONCURRENT[name])
    rewritten = transform_source(original.encode()).output.decode()
    assert rewritten != original
    # Blocking calls serialize the two jobs; offloaded ones overlap.
    assert _elapsed(original) >= 0.4
    assert _elapsed(rewritten) < 0.4 - 0.05 + (0.15 if name == "subprocess" else 0.0)

"""The screen and focus passes change how fast results come, never the results.

Findings are computed on a module whose irrelevant definitions are cut to one line
(``codemods.rewrite.focus``); these tests compare them with findings computed on the whole
module, on every fixture, on real standard-library code, and on sources built to break
the shortcuts (rebinding through ``global``, closures, odd line endings, encodings).
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from codemods.analysis import screen
from codemods.config import Settings
from codemods.engine import TransformResult, transform_source
from codemods.rewrite.focus import focus
from tests.conftest import unfocused
from tests.fixture_cases import FixtureCase, discover


def focused_module(source: bytes, settings: Settings | None = None) -> bytes:
    settings = settings or Settings()
    return focus(source, screen.screen(screen.parse(source), settings.screen_names).stubs).source


def assert_same_findings(source: bytes, settings: Settings | None = None) -> TransformResult:
    settings = settings or Settings()
    quick = transform_source(source, settings, "<case>", findings_only=True)
    full = unfocused(source, settings)
    assert quick.error is None and full.error is None, (quick.error, full.error)
    assert quick.findings == full.findings
    # And ``fix`` mode, which finds on the focused module first.
    rewritten = transform_source(source, settings, "<case>")
    reference = unfocused(source, settings, findings_only=False)
    assert (rewritten.output, rewritten.findings) == (reference.output, reference.findings)
    return quick


@pytest.mark.parametrize("case", discover(), ids=lambda case: case.name)
def test_fixture_findings_do_not_depend_on_focus(case: FixtureCase) -> None:
    assert_same_findings(case.input.read_bytes(), case.settings())


STDLIB_SAMPLES = ["streams.py", "unix_events.py", "staggered.py", "subprocess.py"]


@pytest.mark.parametrize("name", STDLIB_SAMPLES)
def test_standard_library_findings_do_not_depend_on_focus(name: str) -> None:
    source = (Path(asyncio.__file__).parent / name).read_bytes()
    assert_same_findings(source)


def module(text: str) -> bytes:
    return textwrap.dedent(text).lstrip().encode()


def test_a_global_statement_keeps_its_function() -> None:
    source = module(
        """
        import time

        def install_fake_clock():
            global time
            time = object()

        async def worker():
            time.sleep(1)
        """
    )
    assert b"global time" in focused_module(source)
    findings = assert_same_findings(source).findings
    assert len(findings) == 1 and not findings[0].fixable  # `time` may be the fake


def test_a_closure_over_a_shadowing_local_is_kept() -> None:
    source = module(
        """
        import time

        def make_worker(time):
            async def worker():
                time.sleep(1)
            return worker

        def unrelated():
            time.sleep(1)
            return [time.sleep(2) for _ in range(3)]
        """
    )
    focused = focused_module(source)
    assert b"async def worker" in focused and b"unrelated" in focused
    assert b"time.sleep(2)" not in focused
    assert assert_same_findings(source).findings == []


def test_nonlocal_and_nested_functions() -> None:
    source = module(
        """
        import subprocess

        def outer():
            run = None
            def inner():
                nonlocal run
                run = subprocess.run
            inner()
            async def job():
                run(["true"])
                subprocess.run(["true"])
            return job

        async def other():
            def sync_part():
                subprocess.run(["x"])
            sync_part()
        """
    )
    findings = assert_same_findings(source).findings
    assert [f.line for f in findings] == [11]


def test_positions_survive_crlf_form_feeds_tabs_and_multiline_headers() -> None:
    source = (
        b"import time\r\n\x0c\r\n"
        b"class Worker:\r\n"
        b"\tdef helper(self,\r\n\t           x=1):\r\n\t\ttime.sleep(x)\r\n\t\treturn '''\r\n  text\r\n'''\r\n\r\n"
        b"\tdef one_liner(self): time.sleep(1)\r\n"
        b"\t@staticmethod\r\n\tdef decorated(): return 1\r\n"
        b"\tasync def run(self):\r\n\t\ttime.sleep(1)\r\n"
    )
    focused = focused_module(source)
    assert focused.count(b"\n") == focused.count(b"\r\n") and b"text" not in focused
    assert b"\tdef helper(): pass  # loopsafe-stub:0\r\n" in focused
    assert b"\t@staticmethod\r\n\tdef decorated(): pass" in focused
    compile(focused, "<focused>", "exec")
    findings = assert_same_findings(source).findings
    assert [(f.line, f.column) for f in findings] == [(15, 3)]


def test_sources_that_are_not_utf8_are_not_focused() -> None:
    source = "# -*- coding: latin-1 -*-\nimport time\n\ndef f():\n    return 'café'\n\nasync def g():\n    time.sleep(1)\n"
    data = source.encode("latin-1")
    assert focused_module(data) == data
    assert len(assert_same_findings(data).findings) == 1


def test_a_path_built_with_a_division_is_screened_in() -> None:
    source = module(
        """
        from pathlib import Path

        async def read(root):
            return (Path(root) / "config.toml").read_text()
        """
    )
    tree = screen.parse(source)
    assert screen.screen(tree, Settings().screen_names).needed
    assert len(assert_same_findings(source).findings) == 1


def test_coroutines_without_catalog_calls_are_blanked_too() -> None:
    source = module(
        """
        import time

        async def pure(x):
            total = 0
            for item in x:
                total += await item
            return total

        async def slow():
            time.sleep(1)
        """
    )
    focused = focused_module(source)
    assert b"total" not in focused and b"time.sleep(1)" in focused
    assert b"def pure(): pass  # loopsafe-stub:0\n" in focused
    assert len(assert_same_findings(source).findings) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "cache[os.listdir(p)] = 1",
        "with lock as slots[os.listdir(p)[0]]: pass",
        "x: int = os.listdir(p)",
        "for name in os.listdir(p): pass",
        "del cache[os.listdir(p)[0]]",
    ],
)
def test_calls_in_every_part_of_a_statement_are_screened_in(statement: str) -> None:
    source = f"import os\n\nasync def f(p, cache, lock, slots):\n    {statement}\n".encode()
    assert screen.screen(screen.parse(source), Settings().screen_names).needed
    assert len(assert_same_findings(source).findings) == 1


@pytest.mark.parametrize(
    ("imports", "body", "found"),
    [
        ("import os.path as osp", "osp.exists(p)", 1),
        ("from os import path", "path.exists(p)", 1),
        ("import os", "os.path.join(p, 'x')", 0),
        ("import os", "x = os\n    x.remove(p)", 0),
        ("import requests", "s = requests.Session()\n    s.get(p)", 1),
        ("import requests", "s = requests.Session()\n    t = s\n    t.get(p)", 1),  # an alias is typed
        ("from typing import Optional\nfrom pathlib import Path", "def_ = 1", 0),
        ("from pathlib import Path", "q = Path(p) / 'b'\n    r = q / 'c'\n    r.read_text()", 1),
        ("from pathlib import Path", "Path(p).with_suffix('.x').read_text()", 1),
        ("import pathlib", "pathlib.Path.home().exists()", 1),  # one chain: one trip to the thread
        ("import socket", "sock = socket.socket()\n    sock.connect(p)", 1),
        ("", "with open(p) as f:\n        data = f.read()\n    return data", 2),  # open() and the read it carries
        ("import time as t", "t.monotonic()\n    t.sleep(1)", 1),
    ],
)
def test_screened_uses_agree_with_the_detector(imports: str, body: str, found: int) -> None:
    source = f"{imports}\n\n\nasync def f(p):\n    {body}\n".encode()
    assert len(assert_same_findings(source).findings) == found


def test_typed_parameters_are_screened_in() -> None:
    source = module(
        """
        from pathlib import Path
        from typing import Optional

        async def f(p: Optional[Path], q: "int", r: Path | None):
            p.parent.read_text()
            r.exists()
        """
    )
    assert len(assert_same_findings(source).findings) == 2


def test_old_mac_line_endings_and_a_byte_order_mark() -> None:
    source = (
        b"\xef\xbb\xbfimport time\r\rdef helper():\r    return 1\r\r"
        b"class Plain:\r    def m(self):\r        time.sleep(1)\r\r"
        b"async def run():\r    helper()\r    time.sleep(1)\r"
    )
    focused = focused_module(source)
    assert b"\n" not in focused and b"return 1" not in focused
    findings = assert_same_findings(source).findings
    assert [(f.line, f.column) for f in findings] == [(12, 5)]


def test_an_import_only_a_cut_definition_reads_is_kept() -> None:
    """Rewritten on the focused module, `sleep` loses its last use there: the import must
    stay, because the definitions cut from that module still call it."""
    source = (
        b"from time import sleep\n\n\n"
        b"def backoff(attempt):\n    for _ in range(attempt):\n        sleep(0.1)\n    return attempt\n\n\n"
        b"class Retry:\n    def wait(self):\n        sleep(1)\n        return self\n\n\n"
        b"async def poll():\n    sleep(1)\n"
    )
    focused = focused_module(source)
    assert b"loopsafe-stub" in focused and b"range(attempt)" not in focused  # the rewrite runs focused
    result = assert_same_findings(source)
    fixed = transform_source(source).output
    assert fixed.startswith(b"import asyncio\nfrom time import sleep\n") and b"await asyncio.sleep(1)" in fixed
    assert b"    for _ in range(attempt):\n        sleep(0.1)\n" in fixed and b"        sleep(1)\n        return self" in fixed
    assert len(result.findings) == 1


def test_a_huge_module_is_rewritten_through_its_focused_form() -> None:
    """The rewrite of a module that is mostly sync code runs on the focused module: the
    result equals the rewrite of the whole (above), and the cut definitions come back
    byte for byte."""
    helpers = b"".join(
        b"def helper%d(path):\n    with open(path) as f:\n        return f.read()\n\n\n" % i for i in range(200)
    )
    source = b"import os\n\n\n" + helpers + b"async def main(path):\n    os.remove(path)\n"
    fixed = transform_source(source).output
    assert helpers in fixed and b"await asyncio.to_thread(os.remove, path)" in fixed
    assert_same_findings(source)


def test_comments_closing_a_cut_definition_stay_in_place() -> None:
    """Comment lines indented inside a definition after its last statement (libcst keeps
    them in the body's footer) go with the definition when it is cut, and come back with
    it: after a one-line stand-in libcst would drop them (found in trio's _socket.py)."""
    source = (
        b"import time\n\n\n"
        b"async def main():\n    time.sleep(1)\n\n\n"
        b"class Socket:\n    def send(self):\n        return 1\n\n"
        b"    ########\n    # Not implemented yet:\n    #   sendfile\n\n"
        b"    # Intentionally omitted: makefile\n"
    )
    assert b"loopsafe-stub" in focused_module(source)
    result = assert_same_findings(source)
    fixed = transform_source(source).output
    assert fixed.endswith(b"        return 1\n\n    ########\n    # Not implemented yet:\n    #   sendfile\n\n"
                          b"    # Intentionally omitted: makefile\n")
    assert [f.line for f in result.findings] == [5]


@pytest.mark.parametrize(
    "definitions",
    [
        # The attribute is typed in a class that holds no coroutine: its body must stay.
        "class Base:\n    def __init__(self):\n        self.http = requests.Session()\n\n\nclass Bot(Base):",
        # A class body's annotation, in a base class.
        "class Base:\n    http: requests.Session\n\n\nclass Bot(Base):",
        # A method's return annotation, read as ``self.http()``... and a property's.
        "class Bot:\n    @property\n    def http(self) -> requests.Session:\n        return requests.Session()\n",
    ],
)
def test_receivers_typed_outside_coroutines_are_screened_in(definitions: str) -> None:
    source = f"import requests\n\n\n{definitions}\n    async def run(self, url):\n        self.http.get(url)\n".encode()
    assert screen.screen(screen.parse(source), Settings().screen_names).needed
    assert len(assert_same_findings(source).findings) == 1


def test_a_function_typed_by_its_return_annotation_is_kept_whole() -> None:
    source = module(
        """
        import requests


        def make() -> requests.Session:
            return requests.Session()


        async def fetch(url):
            session = make()
            session.get(url)
        """
    )
    assert screen.screen(screen.parse(source), Settings().screen_names).stubs == []
    assert len(assert_same_findings(source).findings) == 1

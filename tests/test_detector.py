"""The detector (``codemods.analysis.detector``) on its own: which calls are catalog entries, by resolution, not spelling."""

from __future__ import annotations

import ast
import textwrap

from codemods.analysis.bindings import ModuleScopes
from codemods.analysis.detector import Detector, Match, SourceText
from codemods.config import Settings


def _matches(source: str, settings: Settings | None = None) -> dict[str, Match | None]:
    """Each call of ``source`` (by its code) -> what the detector makes of it."""
    settings = settings or Settings()
    code = textwrap.dedent(source)
    tree = ast.parse(code)
    scopes = ModuleScopes(tree)
    text = SourceText(code)
    detector = Detector(settings.index, settings.constructors, settings.annotations, settings.allows_entry, text)
    found: dict[str, Match | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found[text(node)] = detector.match(node, scopes.scope_of(node.func))
    return found


def _name(match: Match | None) -> str | None:
    return None if match is None else match.entry.qualname


def test_imports_and_aliases_are_followed() -> None:
    found = _matches(
        """
        import time as t
        import os.path
        from subprocess import run as sh
        from urllib import request

        async def f(p):
            t.sleep(1)
            os.path.exists(p)
            sh(["ls"])
            request.urlopen(p)
        """
    )
    assert {code: _name(m) for code, m in found.items()} == {
        "t.sleep(1)": "time.sleep",
        "os.path.exists(p)": "os.path.exists",
        'sh(["ls"])': "subprocess.run",
        "request.urlopen(p)": "urllib.request.urlopen",
    }


def test_names_that_only_look_like_catalog_entries_are_not_matched() -> None:
    found = _matches(
        """
        import time

        class Clock:
            def sleep(self, seconds): ...

        async def f(time_source, clock: Clock):
            clock.sleep(1)
            time_source.sleep(1)

        async def g(time):
            time.sleep(1)
        """
    )
    assert all(match is None for match in found.values()), found


def test_a_name_with_two_meanings_is_reported_not_guessed() -> None:
    found = _matches(
        """
        try:
            from requests import get
        except ImportError:
            def get(url): ...

        async def f(url):
            get(url)
        """
    )
    match = found["get(url)"]
    assert match is not None and match.reason and "may also refer" in match.reason


def test_argument_conditions() -> None:
    found = _matches(
        """
        import os

        async def f(pid, path):
            os.waitpid(pid, os.WNOHANG)
            os.waitpid(pid, 0)
            os.spawnv(os.P_WAIT, path, [path])
            os.spawnv(os.P_NOWAIT, path, [path])
        """
    )
    assert found["os.waitpid(pid, os.WNOHANG)"] is None  # does not block
    assert _name(found["os.waitpid(pid, 0)"]) == "os.waitpid"
    waits = found["os.spawnv(os.P_WAIT, path, [path])"]
    assert waits is not None and waits.reason is None
    starts = found["os.spawnv(os.P_NOWAIT, path, [path])"]
    assert starts is not None and starts.reason and "only blocks when mode is os.P_WAIT" in starts.reason


def test_streamed_requests_are_reported_with_the_keyword() -> None:
    found = _matches(
        """
        import requests

        async def f(url, flag):
            requests.get(url, stream=True)
            requests.get(url, stream=False)
            requests.get(url, stream=flag)
            requests.get(url)
        """
    )
    assert found["requests.get(url, stream=False)"].reason is None  # type: ignore[union-attr]
    assert found["requests.get(url)"].reason is None  # type: ignore[union-attr]
    for code in ("requests.get(url, stream=True)", "requests.get(url, stream=flag)"):
        match = found[code]
        assert match is not None and match.reason and "the body is read later" in match.reason


def test_methods_of_objects_made_inline_and_ignored_entries() -> None:
    found = _matches(
        """
        from pathlib import Path

        async def f(p):
            Path(p).read_text()
            Path(p).with_suffix(".bak")
        """,
        Settings(ignore=("pathlib.Path.read_text",)),
    )
    assert found['Path(p).with_suffix(".bak")'] is None
    assert found["Path(p).read_text()"] is None  # ignored in the settings

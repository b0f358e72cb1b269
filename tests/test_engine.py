"""The engine's edges: the byte prefilter and messages for files libcst cannot read."""

from __future__ import annotations

import pytest

from codemods.analysis.block_analysis import BlockAnalysis
from codemods.engine import PREFILTER, needs_transform, transform_source


@pytest.mark.parametrize(
    "source",
    [
        b"async def f(): pass\n",
        b"class A:\n    async def f(self): pass\n",
        b"if True:\n\tasync\tdef f(): pass\n",
        b"async \\\n    def f(): pass\n",
        b"x = 1\r\nasync def f(): pass\r\n",
        b"x = 1\rasync def f(): pass\r",
        b"@decorator\nasync def f(): pass\n",
    ],
)
def test_prefilter_finds_every_coroutine(source: bytes) -> None:
    compile(source, "<case>", "exec")
    assert PREFILTER.search(source) is not None


@pytest.mark.parametrize(
    "source",
    [b"import asyncio\n", b'doc = "use async def here"\n', b"x.async_def = 1\n", b"asyncio.run(main())\n"],
)
def test_prefilter_skips_modules_without_coroutines(source: bytes) -> None:
    assert not needs_transform(source)
    assert transform_source(source).output == source


def test_valid_python_that_libcst_cannot_parse_is_named_as_such() -> None:
    # CPython accepts a parenthesized annotated target; libcst 1.x's parser does not.
    source = b"import time\n\nasync def f():\n    (x): int\n    time.sleep(1)\n"
    compile(source, "<case>", "exec")
    result = transform_source(source)
    if result.error is None:
        pytest.skip("this libcst version parses it")
    assert "libcst cannot parse this file, although it is valid Python" in result.error.message
    assert result.output == source


def test_screen_never_skips_a_module_with_findings() -> None:
    """The ast screen over-approximates: whenever it says "skip", the full transform
    (run here without the screen) finds and changes nothing."""
    from codemods.analysis.screen import may_need_transform, parse
    from tests.conftest import unfocused
    from tests.fixture_cases import discover

    skipped = 0
    for case in discover():
        source, settings = case.input.read_bytes(), case.settings()
        if may_need_transform(parse(source), settings.screen_names):
            continue
        skipped += 1
        full = unfocused(source, settings, findings_only=False, filename=str(case.input))
        assert full.findings == [] and full.output == source, case.name
    assert skipped >= 10  # the screen does skip the must-not-change cases


def test_the_codemod_has_no_matcher_decorated_methods() -> None:
    """OffloadBlockingCalls skips libcst's search for @m.visit / @m.leave /
    @m.call_if_inside methods (it is slow); that is only right while there are none."""
    from libcst.codemod import CodemodContext
    from libcst.matchers._visitors import (
        _gather_constructed_leave_funcs,
        _gather_constructed_visit_funcs,
        _gather_matchers,
    )

    from codemods.command import OffloadBlockingCalls

    command = OffloadBlockingCalls(CodemodContext())
    assert _gather_constructed_visit_funcs(command) == {}
    assert _gather_constructed_leave_funcs(command) == {}
    assert _gather_matchers(command) == {}
    assert command._extra_visit_funcs == {} and command._extra_leave_funcs == {}
    assert command._matchers == {}  # the state MatcherDecoratableTransformer.__init__ sets


def test_a_block_the_analysis_fails_on_costs_only_that_block(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(BlockAnalysis, "verdict", broken)
    source = (
        b"import time\n\n\nasync def f(p):\n    with open(p) as handle:\n        data = handle.read()\n"
        b"    time.sleep(1)\n    return data\n"
    )
    result = transform_source(source)
    assert result.error is None
    assert b"await asyncio.sleep(1)" in result.output
    assert b"    with open(p) as handle:\n" in result.output
    (opened,) = [f for f in result.findings if f.code == "LS230"]
    assert not opened.fixable and "internal error: RuntimeError: boom" in opened.detail

"""Property tests: on generated code the transform never raises, its output compiles,
and a second pass changes nothing.

Profiles: ``ci`` (the default, bounded) and ``dev`` (``HYPOTHESIS_PROFILE=dev pytest
tests/test_fuzz.py`` for a longer local run).
"""

from __future__ import annotations

import os
import textwrap

import hypothesmith
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codemods.config import Settings
from codemods.engine import transform_source
from tests.conftest import unfocused
from tests.fixture_cases import listed

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
settings.register_profile(
    "dev", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

HEADER = (
    "import asyncio, os, shutil, subprocess, time, socket\n"
    "import os.path\n"
    "import urllib.request\n"
    "from pathlib import Path\n"
    "import requests\n"
)

# Blocking calls, as they appear in code.
CALLS = [
    "time.sleep(0)", "requests.get(u)", "requests.post(u, json={'a': 1}, timeout=3)",
    "subprocess.run(['true'], check=True)", "os.listdir(p)", "os.path.exists(p)",
    "shutil.copyfile(p, q)", "input('?')", "urllib.request.urlopen(u)", "Path(p).read_text()",
    "socket.getaddrinfo(u, 80, socket.AF_INET)", "open(p).read()",
]

# Places a call can stand; {c} is the call. Some are coroutine code, some are not.
PLACES = [
    "x = {c}", "{c}", "return {c}", "x = {c}.attr", "x = {c}[0]", "x = {c}()", "x = -{c}",
    "x = not {c}", "x = {c} ** 2", "x = 2 ** {c}", "x = [{c} for _ in range(2)]",
    "x = {{k: {c} for k in 'ab'}}", "x = sum({c} for _ in range(2))", "x = list(y for y in {c})",
    "x = lambda: {c}", "x = lambda y={c}: y", "x = f'{{{c}}}'", "x = f'{{{c}=}}'",
    "if {c}:\n    pass", "while {c}:\n    break", "for y in {c}:\n    pass", "with {c} as y:\n    pass",
    "def inner(y={c}):\n    return {c}", "class K({c}):\n    z = {c}", "x = {c} if {c} else {c}",
    "x = await asyncio.to_thread(lambda: {c})", "await {c}", "x = ({c})", "x = y = {c}",
    "try:\n    {c}\nexcept Exception:\n    {c}\nfinally:\n    {c}",
    "with open(p) as fh:\n    data = fh.read()\n    {c}", "yield {c}", "async for y in {c}:\n    pass",
    "q.n += {c}", "q[0] += {c}", "q.n += 1 + {c}", "x = 0; q.n += {c}",
]

place = st.sampled_from(PLACES)
call = st.sampled_from(CALLS)


@st.composite
def coroutine_modules(draw: st.DrawFn) -> str:
    statements = []
    for _ in range(draw(st.integers(1, 6))):
        template = draw(place)
        statements.append(template.format(c=draw(call)))
    body = "\n".join(statements)
    wrapper = draw(st.sampled_from(["async def f(u, p, q):\n{b}\n", "class C:\n    async def m(self, u, p, q):\n{b8}\n",
                                    "def outer(u, p, q):\n    async def f():\n{b8}\n    return f\n",
                                    # A sync twin and a call-free coroutine: bodies the focus pass blanks.
                                    "def twin(u, p, q):\n{b}\n\n\nasync def idle():\n    return 1\n\n\n"
                                    "async def f(u, p, q):\n{b}\n"]))
    return HEADER + "\n\n" + wrapper.format(b=textwrap.indent(body, "    "), b8=textwrap.indent(body, "        "))


def _check(source: str) -> None:
    try:
        compile(source, "<fuzz>", "exec", dont_inherit=True)
    except SyntaxError:
        assume(False)
    data = source.encode()
    result = transform_source(data)
    assert result.error is None, result.error
    # An analysis that fails on one block reports it rather than losing the file; here,
    # on generated code, it must not fail at all.
    assert not [f for f in result.findings if "internal error" in f.detail], result.findings
    # The screen and focus shortcuts never change what is found.
    found = transform_source(data, findings_only=True).findings
    assert found == unfocused(data, Settings(), filename="<fuzz>").findings
    whole = unfocused(data, Settings(), findings_only=False, filename="<fuzz>")
    assert (result.output, result.findings) == (whole.output, whole.findings), "the focused rewrite differs"
    compile(result.output, "<fuzz-output>", "exec", dont_inherit=True)
    again = transform_source(result.output)
    assert again.error is None, again.error
    assert again.output == result.output, "not idempotent"
    assert again.fixed_count == 0
    assert listed(again.findings) == listed(result.findings, reported_only=True), "check after fix differs"


@given(coroutine_modules())
def test_catalog_calls_in_every_position(source: str) -> None:
    _check(source)


@given(hypothesmith.from_grammar(auto_target=False), st.sampled_from(CALLS))
@settings(max_examples=int(os.environ.get("LOOPSAFE_FUZZ_GRAMMAR", "15")))
def test_generated_modules_wrapped_in_a_coroutine(code: str, blocking: str) -> None:
    body = textwrap.indent(code, "    ") if code.strip() else "    pass\n"
    source = f"{HEADER}\n\nasync def generated(u, p, q):\n    {blocking}\n{body}\n    return {blocking}\n"
    _check(source)


@pytest.mark.parametrize("template", PLACES)
@pytest.mark.parametrize("blocking", CALLS[:4])
def test_each_place_once(template: str, blocking: str) -> None:
    body = textwrap.indent(template.format(c=blocking), "    ")
    source = f"{HEADER}\n\nasync def f(u, p, q):\n{body}\n"
    try:
        compile(source, "<case>", "exec", dont_inherit=True)
    except SyntaxError:
        pytest.skip("not valid Python in a coroutine")
    result = transform_source(source.encode())
    assert result.error is None, result.error
    assert not [f for f in result.findings if "internal error" in f.detail], result.findings
    compile(result.output, "<out>", "exec", dont_inherit=True)
    assert transform_source(result.output).output == result.output

"""The text splice (``codemods.rewrite.splice``) writes what libcst's tree rewrite writes,
byte for byte, and takes over from it where it can.

Each case is fixed both ways: ``transform_source`` (the splice, libcst on the top-level
statements that need a tree) and libcst on the whole module (``tests.conftest.unfocused``).
"""

from __future__ import annotations

import ast
import textwrap

import pytest

from codemods.config import Settings
from codemods.engine import _plan, run_with_deep_stack, transform_source
from codemods.analysis.finder import ModulePlan
from codemods.rewrite.splice import splice
from tests.conftest import unfocused

HEADER = "import os\nimport time\nimport requests\n\n"

#: name -> (coroutine bodies, whether the splice does it without libcst on the whole module)
CASES: dict[str, tuple[str, bool]] = {
    "plain": ("async def f(url):\n    return requests.get(url, timeout=5)\n", True),
    "no arguments": ("async def f():\n    return os.getcwd()\n", True),
    "spaces in the parentheses": ("async def f(p):\n    os.remove( p )\n    os.getcwd( )\n", True),
    "one argument a line": (
        "async def f(url):\n    r = requests.get(\n        url,  # the page\n        timeout=5,\n    )\n    return r\n",
        True,
    ),
    "comment after the parenthesis and above the argument": (
        "async def f(url):\n    r = requests.get(  # fetch\n        # which\n\n        url,\n    )\n    return r\n",
        True,
    ),
    "primary of an attribute, a subscript, a call": (
        "async def f(url):\n    a = requests.get(url).json()\n    b = requests.get(url).headers['x']\n"
        "    c = (requests.get(url)).text\n    return a, b, c\n",
        True,
    ),
    "nested": ("async def f(p):\n    return os.path.exists(os.path.realpath(p))\n", True),
    "callee in parentheses": ("async def f(p):\n    (os.remove)(p)\n", True),
    "unicode before the call": ("async def f(p):\n    x = 'é'; os.remove(p)\n    return x\n", True),
    "with block moved": (
        "async def f(path: str):\n    with open(path) as fh:\n        data = fh.read()\n    return data\n\n\n"
        "async def g(p):\n    os.remove(p)\n",
        True,
    ),
    "tabs and a moved block": ("async def f(path: str):\n\twith open(path) as fh:\n\t\tdata = fh.read()\n\treturn data\n", True),
    "f-string": ("async def f(p):\n    return f\"{os.path.exists(p)}\"\n", True),
    "native, its import gone": ("async def f():\n    time.sleep(1)\n", True),
    "native, its import read elsewhere": ("async def f():\n    time.sleep(1)\n    return time.time()\n", True),
    "native, its name in a string": ("async def f():\n    time.sleep(1)\n    return 'time'\n", False),
    "except X : (libcst drops the space)": (
        "async def f(p):\n    try:\n        os.remove(p)\n    except OSError :\n        pass\n", False,
    ),
}


def _both_ways(source: bytes) -> tuple[bytes, bytes]:
    settings = Settings()
    ours = transform_source(source, settings, "<case>")
    reference = unfocused(source, settings, findings_only=False)
    assert ours.error is None and reference.error is None, (ours.error, reference.error)
    assert ours.findings == reference.findings
    return ours.output, reference.output


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_splice_writes_what_libcst_writes(name: str) -> None:
    body, spliced = CASES[name]
    source = (HEADER + "\n" + body).encode()
    ours, reference = _both_ways(source)
    assert ours == reference
    assert ours != source
    tree = ast.parse(source)
    plan = run_with_deep_stack(lambda: _plan(tree, source, Settings()))
    assert isinstance(plan, ModulePlan)
    assert (run_with_deep_stack(lambda: splice(source, tree, plan, Settings())) is not None) == spliced


def test_a_module_without_imports_gets_its_import_block_as_libcst_lays_it_out() -> None:
    for body in ("async def f(p):\n    import os\n    os.remove(p)\n",
                 '"""A module."""\nimport os\nasync def f(p):\n    os.remove(p)\n',
                 '"""A module."""\n\nimport os\nimport sys  # why\nfrom os import path\n\n# above\nclass C:\n'
                 '    async def f(self, p):\n        os.remove(p)\n',
                 "#!/usr/bin/env python\n# a comment\n\n\n@decorate\nasync def f(p):\n    import os\n    os.remove(p)\n",
                 "x = 1\nasync def f(p):\n    import os\n    os.remove(p)\n"):
        ours, reference = _both_ways(textwrap.dedent(body).encode())
        assert ours == reference and b"import asyncio" in ours


def test_an_editors_quick_fix_is_spliced_as_the_tree_rewrite_writes_it() -> None:
    """``engine.fix_one`` (one call fixed, the server's quick fix) splices where it can: on
    the last fixable finding of every fixture (the first in the even ones), the same bytes
    as the tree rewrite of that call alone, and the splice takes most of them."""
    from functools import partial

    from codemods.engine import _spliced_one, _transform, locate_findings
    from tests.fixture_cases import discover

    compared = spliced = 0
    for number, case in enumerate(discover()):
        source = case.input.read_bytes()
        settings, project = case.settings(), case.project(case.input.read_bytes())
        located, error = locate_findings(source, settings, case.name, project)
        assert error is None, case.name
        fixable = [(finding, span) for finding, span in located if finding.fixable]
        for finding, span in fixable[-1:] if number % 2 else fixable[:1]:
            compared += 1
            quick = run_with_deep_stack(partial(_spliced_one, source, settings, case.name, span, project))
            tree = run_with_deep_stack(partial(_transform, source, settings, case.name, project=project, only=span))
            if quick is not None:
                spliced += 1
                assert quick.output == tree.output, (case.name, finding)
    assert compared > 200 and spliced > compared * 3 // 4, (compared, spliced)

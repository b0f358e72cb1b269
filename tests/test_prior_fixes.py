"""``codemods.analysis.prior_fixes``: code a fix wrote, seen as the code it replaced."""

from __future__ import annotations

import ast
import textwrap

import pytest

from codemods.engine import transform_source
from codemods.analysis.prior_fixes import unfix


def _seen(source: str) -> tuple[str, int]:
    unfixed = unfix(ast.parse(textwrap.dedent(source)))
    return ast.unparse(unfixed.module), len(unfixed.awaits)


@pytest.mark.parametrize(
    ("fixed", "original"),
    [
        ("x = await asyncio.to_thread(f, a, k=1)", "x = f(a, k=1)"),
        ("x = await to_thread(f, a)", "x = f(a)"),
        ("x = await anyio.to_thread.run_sync(functools.partial(f, a, k=1))", "x = f(a, k=1)"),
        ("x = await trio.to_thread.run_sync(f, a)", "x = f(a)"),
        ("x = await asyncio.get_running_loop().run_in_executor(None, functools.partial("
         "contextvars.copy_context().run, f, a, k=1))", "x = f(a, k=1)"),
        ("x = await asyncio.to_thread(lambda: open(p).read())", "x = open(p).read()"),
        ("x = await asyncio.to_thread(lambda path=self.path, mode=m: open(path, mode).read())",
         "x = open(self.path, m).read()"),
        ("x = await asyncio.to_thread((await asyncio.to_thread(Path(p).expanduser)).resolve)",
         "x = Path(p).expanduser().resolve()"),
        ("await asyncio.sleep(d)", "(d,)"),
        ("await asyncio.get_running_loop().getaddrinfo(h, p)", "(h, p)"),
    ],
)
def test_offloads_stand_for_the_calls_they_replaced(fixed: str, original: str) -> None:
    header = ("import asyncio, functools, contextvars, anyio, trio\nfrom asyncio import to_thread\n"
              "from pathlib import Path\n")
    seen, awaits = _seen(header + "async def main():\n    " + fixed + "\n")
    assert seen.endswith("async def main():\n    " + original)
    assert awaits == fixed.count("await ")


def test_a_moved_block_stands_for_the_block_with_hoisted_arguments_back() -> None:
    original = textwrap.dedent(
        """
        import json


        class Store:
            async def save(self, rows):
                count = 0
                with open(self.path, "w") as out:
                    for row in rows:
                        out.write(json.dumps(row))
                        count += 1
                return count
        """
    )
    fixed = transform_source(original.encode()).output.decode()
    assert "_blocking_io" in fixed
    seen, awaits = _seen(fixed)
    assert awaits == 1
    assert seen == ast.unparse(ast.parse(original.replace("import json\n", "import asyncio\nimport json\n")))


@pytest.mark.parametrize(
    "code",
    [
        # Not imported: a local or parameter named like the module is something else.
        "async def main(asyncio):\n    await asyncio.to_thread(f, a)\n",
        # One name bound by two imports: which one is meant is not known.
        "import asyncio\nif X:\n    from trio import to_thread as run\nelse:\n    from anyio import to_thread as run\n"
        "async def main():\n    await run.run_sync(f)\n",
        # Awaits of anything else.
        "import asyncio\nasync def main():\n    await asyncio.wait_for(f(), 1)\n",
        # A helper-shaped def not awaited right after: the code's own.
        "import asyncio\nasync def main(p):\n    def _blocking_io(p):\n        with open(p) as f:\n"
        "            return f.read()\n    print(1)\n",
    ],
)
def test_other_code_is_left_as_it_is(code: str) -> None:
    seen, awaits = _seen(code)
    assert (seen, awaits) == (ast.unparse(ast.parse(code)), 0)

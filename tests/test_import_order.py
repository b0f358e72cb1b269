"""Imports `fix` adds go where isort, ruff's `I` rules and usort put them: a module whose
imports were sorted is still sorted after the fix (checked with ruff's I001)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codemods.config import Settings
from codemods.engine import transform_source
from tests.conftest import find_tool

CASES = {
    "stdlib_and_third_party_sections": (
        "import os\nimport time\n\nimport requests\n\n\n"
        "async def f(u):\n    time.sleep(1)\n    os.remove(u)\n    requests.get(u)\n"
    ),
    "only_third_party": "import requests\n\n\nasync def f(u):\n    requests.get(u)\n",
    "stdlib_from_imports_only": (
        "from pathlib import Path\n\nimport httpx\n\n\nasync def f(p: Path):\n    p.read_text()\n    httpx.get(str(p))\n"
    ),
    "future_docstring_and_comments": (
        '"""A worker."""\n\nfrom __future__ import annotations\n\n# the standard library\nimport shutil\n'
        "import zlib\n\n# ours\nimport requests\n\n\nasync def f(a, b):\n    shutil.copy(a, b)\n"
        "    return zlib.crc32(requests.get(a).content)\n"
    ),
    "sorts_after_an_existing_import": (
        "import abc\nimport json\n\n\nasync def f(p):\n    with open(p) as fh:\n        data = json.load(fh)\n"
        "    return data\n"
    ),
}


def _unsorted(ruff: str, folder: Path, code: str) -> str:
    path = folder / "module.py"
    path.write_text(code)
    done = subprocess.run([ruff, "check", "--isolated", "--no-cache", "--select", "I001", str(path)],
                          capture_output=True, text=True)
    return "" if done.returncode == 0 else done.stdout


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("target", [None, (3, 8)], ids=["to_thread", "run_in_executor"])
def test_a_sorted_module_stays_sorted(name: str, target: tuple[int, int] | None, tmp_path: Path) -> None:
    ruff = find_tool("ruff", "pip install ruff")
    source = CASES[name]
    assert _unsorted(ruff, tmp_path, source) == ""  # the case is sorted to begin with
    result = transform_source(source.encode(), Settings(target_version=target))
    assert result.error is None and result.changed
    fixed = result.output.decode()
    assert _unsorted(ruff, tmp_path, fixed) == "", fixed
    compile(fixed, name, "exec")

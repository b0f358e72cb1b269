"""Library calls of the catalog at run time: Pillow and zipfile, before and after ``fix``.

Each program (``async def main(tmp)``, run by ``tests/differential.py``) does its work
while a ticker task counts on the loop. It returns what the work produced and how many
times the ticker ran *during* the work. Before the fix the work holds the loop: the
ticker never runs. After it, the same work gives the same result and the same files,
and the ticker runs while the calls are in worker threads. The fixed program also runs
under blockbuster (``watched``), which raises on a blocking call made on the loop's
thread: none is left.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from tests.differential import describe, observe, rewrite

TICKER = '''
import asyncio
import os

TICKS = 0


async def tick():
    global TICKS
    while True:
        TICKS += 1
        await asyncio.sleep(0)
'''

PILLOW = TICKER + '''
from PIL import Image


async def main(tmp):
    source = os.path.join(tmp, "in.png")
    Image.linear_gradient("L").resize((512, 512)).save(source)
    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    before = TICKS
    image = Image.open(source)
    image.thumbnail((200, 200))
    turned = image.convert("RGB").rotate(30, expand=True)
    turned.save(os.path.join(tmp, "out.png"))
    during = TICKS - before
    ticker.cancel()
    return turned.size, turned.mode, during
'''

ZIPFILE = TICKER + '''
import zipfile

DATED = (2020, 1, 1, 0, 0, 0)


async def main(tmp):
    path = os.path.join(tmp, "data.zip")
    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    before = TICKS
    archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
    # Entries dated, not stamped with the clock: two runs write the same bytes.
    archive.writestr(zipfile.ZipInfo("numbers.txt", DATED), "\\n".join(str(n) for n in range(20000)))
    archive.writestr(zipfile.ZipInfo("empty.txt", DATED), "")
    archive.close()
    archive = zipfile.ZipFile(path)
    names = archive.namelist()
    size = len(archive.read("numbers.txt"))
    archive.extractall(os.path.join(tmp, "out"))
    archive.close()
    during = TICKS - before
    ticker.cancel()
    return names, size, during
'''


def _run_both(source: str, tmp_path: Path) -> tuple[str, tuple[object, ...], tuple[object, ...]]:
    """The fix of ``source``, and the results of the original and the fixed program (the
    files, output and errors of the two runs being equal)."""
    fixed, findings = rewrite(source)
    assert findings and all(finding.fixable for finding in findings), findings
    before = observe(source, tmp_path / "original", timeout=20)
    after = observe(fixed, tmp_path / "fixed", timeout=20)
    assert before.error is None and after.error is None, (describe(before), describe(after))
    assert (before.stdout, before.files) == (after.stdout, after.files), (describe(before), describe(after))
    watched = observe(fixed, tmp_path / "watched", timeout=20, watched=True)
    assert watched.error is None, f"a blocking call is left on the loop:\n{describe(watched)}\n{fixed}"
    return fixed, ast.literal_eval(before.result), ast.literal_eval(after.result)


def test_pillow_calls_run_in_threads_while_the_loop_ticks(tmp_path: Path) -> None:
    pytest.importorskip("PIL.Image")
    fixed, before, after = _run_both(PILLOW, tmp_path)
    assert "await asyncio.to_thread(Image.open, source)" in fixed
    assert "await asyncio.to_thread(image.thumbnail, (200, 200))" in fixed
    *result_before, ticks_before = before
    *result_after, ticks_after = after
    assert result_before == result_after and result_before[1] == "RGB"
    assert ticks_before == 0 and isinstance(ticks_after, int) and ticks_after > 0


def test_zipfile_calls_run_in_threads_while_the_loop_ticks(tmp_path: Path) -> None:
    fixed, before, after = _run_both(ZIPFILE, tmp_path)
    assert "await asyncio.to_thread(archive.extractall, " in fixed
    *result_before, ticks_before = before
    *result_after, ticks_after = after
    assert result_before == result_after == [["numbers.txt", "empty.txt"], len("\n".join(map(str, range(20000))))]
    assert ticks_before == 0 and isinstance(ticks_after, int) and ticks_after > 0


def test_an_in_memory_image_is_left_alone() -> None:
    """``Image.open`` of a buffer reads no file: not a finding, the program unchanged."""
    source = textwrap.dedent('''
        import io
        from PIL import Image


        async def size(data):
            return Image.open(io.BytesIO(data)).size
    ''')
    fixed, findings = rewrite(source)
    assert findings == [] and fixed == source

"""Differential testing: a rewritten program must behave exactly like the original.

A *program* is a small module that defines ``async def main(tmp)``. ``observe`` runs it
for real: the source is executed as a fresh module (its own globals, a unique name in
``sys.modules`` while it runs), then ``asyncio.run`` drives ``main(str(tmp))``, where
``tmp`` is an empty folder the program may use for its files. Everything the program
can make observable is recorded in an ``Outcome``: what it printed (from any thread:
``sys.stdout`` itself is swapped for a buffer, so code moved to worker threads is heard
too), the ``repr`` of main's result or the exception it raised, and every file left in
``tmp``.

``assert_same_behaviour`` rewrites a program with loopsafe, runs the original and the
rewrite in fresh folders, and compares the two outcomes. Programs may start other tasks
(``asyncio.gather``, ``create_task``) to run concurrently with the code being rewritten:
the original runs a ``with open(...)`` block on the loop without interruption, a
rewrite runs it in a worker thread while the other tasks go on, so shared state, thread
affinity, exception context and the like all show up as a different outcome.

A program that never finishes (the awaiting task never wakes, e.g. a StopIteration
raised into a Future by a moved ``next(f)``) is stopped after ``timeout`` seconds and
reported as ``error="hang"``. With ``watched=True`` the program runs under blockbuster
(``blockbuster_ctx``): a blocking call made on the event loop's thread raises
``BlockingError``, which then shows up in ``Outcome.error``; worker threads are not
watched, so a correct rewrite runs clean.

Outcomes are normalised so that two runs in two folders compare equal: the tmp path
becomes ``<tmp>`` (in output, results, errors and file contents), the program's unique
module name becomes ``__program__``, and object addresses (``at 0x7f...``) become
``at 0x?``.
"""

from __future__ import annotations

import ast
import asyncio
import io
import itertools
import re
import shutil
import sys
import textwrap
import types
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blockbuster import blockbuster_ctx

from codemods.config import Settings
from codemods.engine import transform_source
from codemods.findings import Finding

#: The file name programs are compiled under. Fixed (not the unique module name), so
#: tracebacks of the original and the rewrite name the same file.
PROGRAM_FILENAME = "<program>"

#: What ``Outcome.error`` says when ``main`` did not finish within the timeout.
HANG = "hang"

#: Once the timeout is reached, how long the cancelled ``main`` gets to wind down.
_CANCEL_GRACE = 1.0

_module_numbers = itertools.count()
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


@dataclass(frozen=True)
class Outcome:
    """Everything a run of a program lets an observer see."""

    #: Everything printed, with the tmp folder path replaced by "<tmp>".
    stdout: str
    #: repr() of main's return value ("" if it raised or hung), tmp path replaced.
    result: str
    #: "TypeName: message" of the exception main raised, tmp path replaced; "hang" on
    #: timeout; None when main returned.
    error: str | None
    #: Every file under tmp after the run, keyed by relative posix path.
    files: dict[str, bytes]


class _Hung(Exception):
    """main did not finish within the timeout (internal to ``observe``)."""


async def _supervise(coroutine: Coroutine[Any, Any, Any], timeout: float) -> Any:
    """Run ``coroutine`` as a task; raise ``_Hung`` if it is not done within ``timeout``.

    Not ``asyncio.wait_for``: its TimeoutError could not be told apart from one the
    program raises itself.
    """
    task = asyncio.ensure_future(coroutine)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=_CANCEL_GRACE)
        raise _Hung
    return task.result()


def _describe_exception(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def observe(source: str, tmp: Path, *, timeout: float = 3.0, watched: bool = False) -> Outcome:
    """Run the program ``source`` (``async def main(tmp)``) in folder ``tmp``; what happened.

    The source is dedented and executed as a fresh module, then
    ``asyncio.run(main(str(tmp)))`` runs, stopped after ``timeout`` seconds (then
    ``error == "hang"``). With ``watched``, it runs under blockbuster: a blocking call on
    the event loop raises ``BlockingError``.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    code = compile(textwrap.dedent(source), PROGRAM_FILENAME, "exec", dont_inherit=True)
    module_name = f"_loopsafe_program_{next(_module_numbers)}"
    module = types.ModuleType(module_name)
    # Snapshot what a program may change process-wide; restored below.
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    saved_stdout = sys.stdout
    saved_dont_write_bytecode = sys.dont_write_bytecode
    buffer = io.StringIO()
    result = ""
    error: str | None = None
    sys.modules[module_name] = module  # dataclasses, pickle and typing look classes up here
    sys.dont_write_bytecode = True  # a module imported from tmp leaves no .pyc behind
    sys.stdout = buffer  # print() reads sys.stdout on each call, in every thread
    try:
        try:
            exec(code, module.__dict__)  # noqa: S102 - running the program is the point
            main = module.__dict__["main"]
            if watched:
                with blockbuster_ctx():
                    value = asyncio.run(_supervise(main(str(tmp)), timeout))
            else:
                value = asyncio.run(_supervise(main(str(tmp)), timeout))
            result = repr(value)
        except _Hung:
            error = HANG
        except KeyboardInterrupt:
            raise
        except BaseException as raised:  # noqa: BLE001 - SystemExit, CancelledError are outcomes too
            error = _describe_exception(raised)
    finally:
        sys.stdout = saved_stdout
        sys.dont_write_bytecode = saved_dont_write_bytecode
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if name == module_name or file.startswith(str(tmp)):
                del sys.modules[name]
        sys.modules.pop(module_name, None)

    def clean(text: str) -> str:
        text = re.sub(rf"\b{module_name}\b", "__program__", text.replace(str(tmp), "<tmp>"))
        return _ADDRESS.sub(" at 0x?", text)

    files = {
        path.relative_to(tmp).as_posix(): path.read_bytes().replace(str(tmp).encode(), b"<tmp>")
        for path in sorted(tmp.rglob("*"))
        if path.is_file()
    }
    return Outcome(
        stdout=clean(buffer.getvalue()),
        result=clean(result),
        error=None if error is None else clean(error),
        files=files,
    )


def rewrite(source: str, settings: Settings | None = None) -> tuple[str, list[Finding]]:
    """loopsafe's rewrite of the dedented ``source``, and its findings.

    Asserts that loopsafe reported no error and that the output compiles (``compile``,
    not ``ast.parse``: the compiler also rejects a misplaced ``continue``, ``nonlocal``
    or ``return``).
    """
    original = textwrap.dedent(source)
    result = transform_source(original.encode(), settings)
    assert result.error is None, f"loopsafe failed on the program: {result.error}\n{original}"
    failed = [f for f in result.findings if "internal error" in f.detail]
    assert not failed, f"loopsafe's analysis failed: {failed}\n{original}"
    output = result.output.decode()
    try:
        compile(output, PROGRAM_FILENAME, "exec", dont_inherit=True)
    except SyntaxError as problem:  # pragma: no cover - a loopsafe bug
        raise AssertionError(f"the rewrite does not compile: {problem}\n{output}") from problem
    return output, list(result.findings)


def assert_same_behaviour(
    source: str, tmp_path: Path, *, settings: Settings | None = None, timeout: float = 3.0
) -> tuple[str, list[Finding]]:
    """Rewrite ``source``, run both versions in fresh folders, require equal outcomes.

    Returns the rewritten source and the findings.
    """
    rewritten, findings = rewrite(source, settings)
    folders = tmp_path / "original", tmp_path / "rewritten"
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)  # fresh, even when called twice
    before = observe(source, folders[0], timeout=timeout)
    after = observe(rewritten, folders[1], timeout=timeout)
    if before != after:
        raise AssertionError(
            "the rewrite changes what the program does\n"
            f"--- original:\n{describe(before)}\n"
            f"--- rewritten:\n{describe(after)}\n"
            f"--- rewritten source:\n{rewritten}"
        )
    return rewritten, findings


def describe(outcome: Outcome, limit: int = 300) -> str:
    """A readable, bounded summary of an outcome (files can be megabytes)."""

    def cut(text: str) -> str:
        return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"

    lines = [
        f"  error:  {outcome.error}",
        f"  result: {cut(outcome.result)}",
        f"  stdout: {cut(outcome.stdout)!r}",
        f"  files:  {len(outcome.files)}",
    ]
    for name, content in outcome.files.items():
        lines.append(f"    {name} ({len(content)} bytes): {cut(repr(content))}")
    return "\n".join(lines)


def coroutine_blocks(source: str) -> dict[str, list[int]]:
    """For each coroutine, the lines of the ``with`` statements directly in its body.

    "Directly" means not inside a nested ``def``/``lambda``/``class``: a block moved
    into a ``def _blocking_io()`` helper is no longer counted.
    """
    found: dict[str, list[int]] = {}

    def walk(node: ast.AST, owner: list[int]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(child, ast.AsyncFunctionDef):
                continue  # visited on its own below
            if isinstance(child, ast.With):
                owner.append(child.lineno)
            walk(child, owner)

    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, ast.AsyncFunctionDef):
            walk(node, found.setdefault(node.name, []))
    return found

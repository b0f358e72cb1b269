"""The fixit rule: loopsafe's detection and rewrite as a fixit 2 lint rule.

Enable it with::

    [tool.fixit]
    enable = ["codemods.lint"]

The rule is a thin adapter over ``codemods.engine.rewrite_checked``, the door the CLI's
engine goes through too: same catalog, scoping, rewrite, codes and messages, the same
deep-stack thread, and no fix offered when the rewritten module would not compile.

How the fix is attached: fixit applies replacements node by node and, when an outer and
an inner node are both replaced, keeps only the outer one. Each fixable call therefore
carries the replacement of the whole call, which already contains the rewrites of the
calls nested in it. When the file also needs an import change (``import asyncio`` added,
``from time import sleep`` removed) or a fix that is not a call replacement (a ``with
open(...)`` block moved into a function), every fixable finding carries the complete
rewritten module instead, reported on the module node: fixit keeps one replacement per
node, so however many are accepted the module is replaced once. Accepting one of them
(``fixit fix`` asks for each, showing that whole change) accepts them all, and can never
leave calls to ``asyncio`` without the import. Each fixable finding is thus marked
"(has autofix)" and counted, and ``fixit fix --automatic`` produces exactly what
``loopsafe fix`` does.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache, partial
from pathlib import Path

import libcst as cst
from fixit import Invalid, LintRule, Valid
from libcst.metadata import FilePathProvider, PositionProvider

from codemods.config import ConfigError, Settings, load_settings, parse_version, read_toml
from codemods.engine import rewrite_checked, run_with_deep_stack
from codemods.observed import ObservedError
from codemods.summaries import observed_view, project_view


@lru_cache(maxsize=None)
def _settings_for(folder: Path) -> Settings | ConfigError:
    # fixit gives rules no options (Fixit#455): read [tool.loopsafe] from the
    # pyproject.toml nearest to the file being linted, as the CLI does for each file.
    try:
        settings = load_settings(folder)
        if settings.target_version is None:
            # Nor does fixit tell rules its `python-version`: read it where fixit does, so
            # that a project linted for 3.8 gets run_in_executor fixes, not to_thread.
            settings = replace(settings, target_version=_fixit_python_version(folder))
        return settings
    except ConfigError as error:
        return error  # reported on the module: never a silent fall back to defaults


def _fixit_python_version(folder: Path) -> tuple[int, int] | None:
    """``python-version`` in the nearest ``[tool.fixit]`` that sets it, as ``(3, 8)``."""
    for candidate in (folder / "pyproject.toml", *(parent / "pyproject.toml" for parent in folder.parents)):
        if not candidate.is_file():
            continue
        try:
            table = read_toml(candidate).get("tool", {}).get("fixit", {})
        except ConfigError:
            continue  # not this rule's file to judge: fixit reports it
        version = table.get("python-version") if isinstance(table, dict) else None
        if isinstance(version, str) and version:
            try:
                return parse_version(".".join(version.split(".")[:2]))
            except ValueError:
                raise ConfigError(f"{candidate}: [tool.fixit] python-version: {version!r} is not like '3.8'") from None
        if isinstance(table, dict) and table.get("root") is True:
            return None
    return None


class BlockingCallInCoroutine(LintRule):
    """A blocking call (``time.sleep``, ``requests.get``, ``subprocess.run``…) inside a
    coroutine freezes the event loop. Run it with ``await asyncio.to_thread(...)`` or use
    the asyncio equivalent."""

    # FilePathProvider: fixit resolves it from its own config (the file being linted),
    # which is how the rule finds the project's [tool.loopsafe] settings.
    METADATA_DEPENDENCIES = (PositionProvider, FilePathProvider)
    # Every version: below 3.9 (fixit's or the project's), fixes use run_in_executor.
    PYTHON_VERSION = ""

    VALID = [
        Valid(
            """
            import asyncio
            import time

            async def poll():
                await asyncio.sleep(1)

            def sync_poll():
                time.sleep(1)
            """
        ),
        Valid(
            """
            import time

            async def handler(time):
                time.sleep(1)  # a parameter, not the module
            """
        ),
        Valid(
            """
            import asyncio
            import requests

            async def fetch(url):
                return await asyncio.to_thread(lambda: requests.get(url))
            """
        ),
        Valid(
            """
            import subprocess

            async def build():
                subprocess.run(["make"])  # lint-ignore: BlockingCallInCoroutine
            """
        ),
        Valid(
            """
            import os

            async def cleanup(path):
                # lint-fixme: BlockingCallInCoroutine
                os.remove(path)
            """
        ),
        Valid(
            """
            async def wait_for(download):
                while not download.isFinished():  # lint-ignore: BlockingCallInCoroutine
                    pass
            """
        ),
    ]

    INVALID = [
        Invalid(
            """
            import asyncio
            import requests

            async def fetch(url):
                return requests.get(url).json()
            """,
            expected_message=(
                "LS210 requests.get() blocks the event loop; "
                "fix: await asyncio.to_thread(requests.get, ...)"
            ),
            expected_replacement="""
            import asyncio
            import requests

            async def fetch(url):
                return (await asyncio.to_thread(requests.get, url)).json()
            """,
        ),
        Invalid(
            """
            \"\"\"Worker.\"\"\"
            from time import sleep

            async def backoff(attempt):
                sleep(2 ** attempt)
            """,
            expected_replacement="""
            \"\"\"Worker.\"\"\"
            import asyncio

            async def backoff(attempt):
                await asyncio.sleep(2 ** attempt)
            """,
        ),
        Invalid(
            """
            import subprocess
            import requests

            async def deploy(url, cmd: tuple[str, ...]):
                requests.post(url, data=subprocess.check_output(cmd))
            """,
            expected_replacement="""
            import asyncio
            import subprocess
            import requests

            async def deploy(url, cmd: tuple[str, ...]):
                await asyncio.to_thread(requests.post, url, data=await asyncio.to_thread(subprocess.check_output, cmd))
            """,
        ),
        Invalid(
            """
            import os

            async def sizes(folders):
                return sum(len(os.listdir(f)) for f in folders)
            """,
            expected_message=(
                "LS260 os.listdir() blocks the event loop; not fixed automatically: inside a "
                "generator expression, where an await would turn it into an async generator; "
                "use a list comprehension or move the call out"
            ),
        ),
        Invalid(
            """
            async def wait_for(download):
                while not download.isFinished():
                    pass
            """,
            expected_message=(
                "LS280 a loop polls download.isFinished() and never awaits, which blocks the event loop; "
                "not fixed automatically: no other task runs while it spins (one that would change it never does); "
                "await in the loop: `await asyncio.sleep(0.1)` at least lets the others run; better, await what it "
                "waits for: an event or future set when it changes (`asyncio.Event`), or "
                "`await asyncio.to_thread(thread.join)` for a thread's end"
            ),
        ),
    ]

    #: True while the findings of located calls are reported: whether each is ignored was
    #: asked at its call (``rewrite_checked`` calls ``ignore_lint`` for each). A fix reported
    #: on the module node must not be dropped by the comments of the module's header, which
    #: are about its first statement.
    _asked_at_calls = False

    def ignore_lint(self, node: cst.CSTNode) -> bool:
        if self._asked_at_calls and isinstance(node, cst.Module):
            return False
        return super().ignore_lint(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        path = self.get_metadata(FilePathProvider, original_node, None)
        folder = Path(path).parent if path is not None else Path.cwd()
        settings = _settings_for(folder.resolve())
        if isinstance(settings, ConfigError):
            self.report(original_node, f"loopsafe cannot run: {settings}")
            return
        if path is not None and settings.excludes(str(Path(path).resolve()), str(Path.cwd().resolve())):
            return  # `exclude` in [tool.loopsafe] applies here as in the CLI
        view = project_view(Path(path).resolve(), settings) if path is not None else None
        try:
            # What a recording saw (`observed` in [tool.loopsafe]), as `loopsafe check` uses it.
            view = observed_view(view, None if path is None else str(path), original_node.bytes, settings)
        except ObservedError as problem:
            self.report(original_node, f"loopsafe cannot run: {problem}")
            return
        # The same door as the CLI: deep trees on a deep stack, and no fix is offered if
        # the rewritten module would not compile.
        rewrite, error = run_with_deep_stack(partial(
            rewrite_checked, original_node, original_node.bytes, settings, str(path or "<fixit>"), self.ignore_lint,
            project=view,
        ))
        if rewrite is None or not rewrite.located:
            return
        fixes = error is None  # else each finding is reported without its fix
        # Per-call replacements suffice unless imports change or a fix is not a call
        # replacement (a with block moved into a function).
        needs_whole_module = fixes and (not rewrite.module.deep_equals(rewrite.calls_only) or any(
            finding.fixable and call not in rewrite.replacements for finding, call in rewrite.located
        ))
        self._asked_at_calls = True
        try:
            for finding, call in rewrite.located:
                message = f"{finding.code} {finding.message}"
                if fixes and finding.fixable and needs_whole_module:
                    # The same node and replacement for each: fixit applies it once.
                    position = self.get_metadata(PositionProvider, call)
                    self.report(original_node, message, position=position, replacement=rewrite.module)
                elif fixes and finding.fixable and not needs_whole_module and isinstance(call, cst.Call):
                    self.report(call, message, replacement=rewrite.replacements[call])
                else:
                    self.report(call, message)
        finally:
            self._asked_at_calls = False

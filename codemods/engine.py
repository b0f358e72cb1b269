"""One file's source in, rewritten source and findings out; never raises on bad input.

The CLI and the tests go through ``transform_source``: the byte prefilter, CPython's
``ast`` (the ``screen``, then ``codemods.analysis``: the findings and the plan of their
fixes), and, only for a module with something to fix, the plan carried out: spliced into
the text where it can be (``codemods.rewrite.splice``, libcst on the statements that need
a tree), else libcst (``codemods.rewrite.apply``) on the focused module (definitions no
rewrite depends on cut to stand-ins, put back after), the whole module if that fails.
Every rewrite, the CLI's and the fixit rule's, goes through one door, ``rewrite_checked``
(or the splice, with the same check): refused if its output would not compile.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from codemods.config import Settings
from codemods.findings import FileError, Finding, TransformResult
from codemods.analysis import screen
from codemods.rewrite.compiles import compile_problem
from codemods.rewrite.focus import focus

if TYPE_CHECKING:
    import libcst
    from libcst import ParserSyntaxError

    from codemods.analysis.comments import Comments
    from codemods.analysis.finder import ModulePlan, Span, Suppressor
    from codemods.analysis.modules import ProjectView

    from codemods.rewrite.apply import ModuleRewrite

T = TypeVar("T")

#: The byte prefilter: files without a match are returned untouched without being parsed.
PREFILTER = screen.ASYNC_DEF

# libcst walks the tree recursively: a 600-term sum nests 600 BinaryOperations, and
# each level costs several Python frames. Run transforms on a thread with a large
# stack and a raised recursion limit, so that whatever CPython compiles, we can walk.
_DEEP_STACK_BYTES = 512 * 1024 * 1024
_DEEP_RECURSION_LIMIT = 200_000
_deep_executor: ThreadPoolExecutor | None = None
_deep_lock = threading.Lock()


def _forget_deep_executor() -> None:
    # A forked child has the executor object but not its thread: start a new one.
    global _deep_executor, _deep_lock
    _deep_executor = None
    _deep_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_deep_executor)


def run_with_deep_stack(function: Callable[[], T]) -> T:
    """Run ``function`` on a worker thread whose stack fits very deep trees.

    The recursion limit is raised only while it runs (the caller's thread waits), so
    code elsewhere in the process keeps Python's usual protection.
    """
    global _deep_executor
    if threading.current_thread().name.startswith("loopsafe-deep"):
        # Already there (a module's analysis reading another module's summary): waiting
        # for the one deep thread from itself would never end.
        return function()
    with _deep_lock:
        if _deep_executor is None:
            previous = threading.stack_size(_DEEP_STACK_BYTES)
            try:
                _deep_executor = ThreadPoolExecutor(1, thread_name_prefix="loopsafe-deep")
                # Threads are started lazily: start it now, while the stack size is set.
                _deep_executor.submit(lambda: None).result()
            finally:
                threading.stack_size(previous)
        executor = _deep_executor

    def deep() -> T:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, _DEEP_RECURSION_LIMIT))
        try:
            return function()
        finally:
            sys.setrecursionlimit(limit)

    return executor.submit(deep).result()


def has_coroutine(source: bytes) -> bool:
    """Whether ``source`` may define a coroutine (the byte prefilter)."""
    # A plain substring search first: it is several times faster than the regex and
    # rules out most files.
    return b"async" in source and PREFILTER.search(source) is not None


def needs_transform(source: bytes) -> bool:
    """False for sources that are returned as they are, without parsing."""
    return b"\0" in source or has_coroutine(source)


def transform_source(
    source: bytes, settings: Settings | None = None, filename: str = "<stdin>", findings_only: bool = False,
    project: ProjectView | None = None,
) -> TransformResult:
    """Rewrite ``source``; errors come back in ``TransformResult.error``, never raised.

    With ``findings_only``, only the findings are computed and ``output`` is ``source``.
    ``project``: the project around the module (``codemods.project``); by default it stands alone.
    """
    if b"\0" in source:
        # CPython refuses these too; most likely not Python at all.
        return TransformResult(source, source, error=FileError("binary file (contains NUL bytes); not Python source", syntax=True))
    settings = settings or Settings()
    if not has_coroutine(source) and not (project is not None and project.observed):
        return TransformResult(source, source)  # (a callback a recording saw stall the loop is in any module)
    # On a deep stack: a 3,000-term sum nests 3,000 levels, for CPython's parser too.
    return run_with_deep_stack(lambda: _never_raising(
        source, filename, lambda: _transform_source(source, settings, filename, findings_only, project)))


def _never_raising(source: bytes, filename: str, transform: Callable[[], TransformResult]) -> TransformResult:
    """``transform()``, with a bug of loopsafe's turned into this file's error: the run
    goes on with the other files, and the file is left as it was."""
    try:
        return transform()
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - any bug: the file's error, never a traceback ending the run
        return TransformResult(source, source, error=internal_error(error, filename))


def internal_error(error: BaseException, filename: str) -> FileError:
    """A bug of loopsafe's met on ``filename``, as that file's one-line error."""
    import traceback

    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ is not None else None
    at = f" at {os.path.basename(where.filename)}:{where.lineno}" if where is not None else ""
    return FileError(f"internal error: {type(error).__name__}: {error}{at}; file left unchanged (a bug: please report it)")


def _transform_source(
    source: bytes, settings: Settings, filename: str, findings_only: bool, project: ProjectView | None
) -> TransformResult:
    from codemods.analysis.modules import ProjectView

    project = project or ProjectView()
    result, rewritten = _find_and_fix(source, settings, filename, findings_only, project)
    # The module's tree and analysis are gone by now: the rewritten module's take their place.
    return _with_what_is_left(result, settings, project) if rewritten else result


def _find_and_fix(
    source: bytes, settings: Settings, filename: str, findings_only: bool, project: ProjectView
) -> tuple[TransformResult, bool]:
    """The findings and the fix of ``source``, and whether it was rewritten (its
    findings then come from the rewritten module: ``_with_what_is_left``)."""
    from codemods.analysis.finder import encode_step

    tree = screen.parse(source)
    if tree is None:
        # What is found is decided on CPython's ``ast``, the grammar of the Python that
        # will run the code: a module it rejects cannot be checked or fixed.
        return TransformResult(source, source, error=_python_error(source, filename)), False
    # A module asked about again with the project's summaries (``codemods.project``) is
    # one whose calls of project functions block: it is analysed whole.
    again = project.complete
    # With observations, a module is analysed whole and unfocused: a call no catalog knows
    # may be what stalled the loop, and the sites' positions are the module's own.
    screened = screen.Screen(needed=True) if again or project.observed else screen.screen(tree, settings.screen_names)
    if not screened.needed:
        wanted = frozenset(
            encode_step(("call", name)) for name in map(project.module.absolute, screened.imported_calls)
            if name is not None
        ) if project.others is not None else frozenset()
        return TransformResult(source, source, wanted=wanted), False
    # Finding needs ``ast`` only; libcst is for rewriting, and only modules with something
    # to rewrite pay for it.
    plan = _plan(tree, source, settings, project=project)
    found = _found(source, plan)
    if findings_only or isinstance(plan, FileError) or not plan.fixable:
        return found, False
    # The fix is spliced into the text from the plan, libcst run only on the statements
    # that need a tree; the tree rewrite of the module for what the splice cannot do
    # exactly, or if its output does not compile.
    spliced = _checked_splice(source, tree, plan, settings, filename)
    if spliced is not None:
        return replace(found, output=spliced), True
    if screened.stubs:
        focused = focus(source, screened.stubs)
        # Find and rewrite on the focused module (cheap), then put the cut definitions
        # back. Any trouble with the focused module: do it the long way.
        if focused.source != source:
            rewritten = _transform(focused.source, settings, filename, kept=focused.mentions, project=project)
            if rewritten.error is None:
                output = focused.restore(rewritten.output) if rewritten.changed else source
                if output is not None and (output == source or compile_problem(output, filename) is None):
                    return replace(found, output=output), True
    rewritten = _transform(source, settings, filename, project=project)
    if rewritten.error is not None:
        return rewritten, False
    return replace(found, output=rewritten.output), True


def _with_what_is_left(result: TransformResult, settings: Settings, project: ProjectView) -> TransformResult:
    """``result`` with the findings of its output: the calls left for review, at their line
    in the rewritten file (what ``check`` will list there)."""
    if not result.changed:
        return result
    try:
        tree = ast.parse(result.output)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return result
    # Without the observations: their positions are those of the file before the rewrite.
    left = find_source(result.output, tree, settings, replace(project, summarise=False, observed=()))
    return result if left.error is not None else replace(result, left=left.findings)


def add_noqa(
    source: bytes, settings: Settings | None = None, filename: str = "<stdin>",
    selected: Callable[[Finding], bool] | None = None, project: ProjectView | None = None,
) -> TransformResult:
    """``source`` with a ``# noqa: LSxxx`` comment where each finding's suppression is
    read (the end of its statement, a compound statement's header line), as ``ruff
    --add-noqa`` does to adopt a tool on a large codebase. An existing ``# noqa: X`` gets
    the codes added; another comment is kept, the ``noqa`` after it. ``findings`` are the
    findings the comments now suppress; a second run changes nothing. ``project``: the
    project around the module, whose calls into other modules are findings too
    (``codemods.summaries.file_project_view``); by default it stands alone."""
    settings = settings or Settings()
    if b"\0" in source or not has_coroutine(source):
        return TransformResult(source, source)
    return run_with_deep_stack(lambda: _add_noqa(source, settings, filename, selected, project))


def _add_noqa(
    source: bytes, settings: Settings, filename: str, selected: Callable[[Finding], bool] | None,
    project: ProjectView | None,
) -> TransformResult:
    import tokenize

    from codemods.analysis.comments import SUPPRESSION, Comments

    tree = screen.parse(source)
    if tree is None:
        return TransformResult(source, source, error=_python_error(source, filename))
    comments = Comments(source, always=True)
    plan = _plan(tree, source, settings, comments=comments, project=project)
    if isinstance(plan, FileError):
        return TransformResult(source, source, error=plan)
    codes: dict[int, list[str]] = {}
    for finding, line in plan.comment_lines:
        if selected is not None and not selected(finding):
            continue
        if finding.code not in codes.setdefault(line, []):
            codes[line].append(finding.code)
    if not codes:
        return TransformResult(source, source)
    encoding, _ = tokenize.detect_encoding(iter(source.splitlines(keepends=True)).__next__)
    lines = _LINES.split(source.decode(encoding))  # text and line breaks, alternating
    for line, wanted in codes.items():
        text = lines[2 * (line - 1)]
        comment = comments.comment_on(line)
        if comment is None:
            lines[2 * (line - 1)] = f"{text.rstrip()}  # noqa: {', '.join(wanted)}"
            continue
        existing = comment[1]
        at = text.rfind(existing)
        match = SUPPRESSION.search(existing)
        if match is not None and match.group("codes") is not None and at >= 0:
            # An existing noqa list gets our codes added (E501 -> E501, LS251): flake8 reads one comment.
            end = at + match.end("codes")
            lines[2 * (line - 1)] = f"{text[:end]}, {', '.join(wanted)}{text[end:]}"
        elif at >= 0:
            lines[2 * (line - 1)] = f"{text.rstrip()}  # noqa: {', '.join(wanted)}"
    output = "".join(lines).encode(encoding)
    found = [finding for finding, line in plan.comment_lines
             if line in codes and (selected is None or selected(finding))]
    return TransformResult(source, output, found)


#: Lines and their breaks as CPython counts lines (not ``str.splitlines``' form feeds).
_LINES = re.compile(r"(\r\n|\r|\n)")


def find_source(source: bytes, tree: ast.Module, settings: Settings, project: ProjectView | None = None) -> TransformResult:
    """The findings of ``source`` (parsed as ``tree``), on ``ast`` alone; call it on a deep stack."""
    return _found(source, _plan(tree, source, settings, project=project))


def _found(source: bytes, plan: ModulePlan | FileError) -> TransformResult:
    """The findings of ``plan``, or its error, as the result of a check."""
    if isinstance(plan, FileError):
        return TransformResult(source, source, error=plan)
    summary = plan.summary.to_json() if plan.summary is not None else None  # for another process
    return TransformResult(source, source, plan.findings, summary=summary, pending=tuple(plan.pending))


def _transform(
    source: bytes, settings: Settings, filename: str, findings_only: bool = False, kept: frozenset[str] = frozenset(),
    project: ProjectView | None = None, only: Span | None = None,
) -> TransformResult:
    """One parse and rewrite; ``kept``: names used elsewhere, whose imports must stay;
    ``only``: the span of the one call to fix (an editor's quick fix)."""
    # libcst takes ~0.4 s to import: only processes that parse a file pay for it (not
    # the CLI's main process, nor runs over trees without coroutines).
    import libcst as cst

    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        return TransformResult(source, source, error=_syntax_error(source, filename, error))
    except (UnicodeDecodeError, LookupError, SyntaxError, ValueError) as error:
        return TransformResult(source, source, error=_decode_error(source, error))
    except RecursionError:
        return TransformResult(source, source, error=FileError("too deeply nested to parse"))
    command, refused = rewrite_checked(
        module, source, settings, filename, findings_only=findings_only, kept=kept, project=project, only=only
    )
    if command is None:
        return TransformResult(source, source, error=refused)
    if findings_only or refused is not None:
        return TransformResult(source, source, command.findings, refused)
    return TransformResult(source, command.module.bytes, command.findings)


def rewrite_checked(
    module: libcst.Module,
    source: bytes,
    settings: Settings,
    filename: str,
    suppressed: Callable[[libcst.Call], bool] | None = None,
    findings_only: bool = False,
    kept: frozenset[str] = frozenset(),
    project: ProjectView | None = None,
    only: Span | None = None,
) -> tuple[ModuleRewrite | None, FileError | None]:
    """The one door into the rewrite for a parsed module (the CLI's engine and the fixit
    rule alike): the rewrite of ``module`` (parsed from ``source``), and why it must not
    be used, if so: too deep to analyse (no rewrite), or output that does not compile
    (the command checks that itself, so ``libcst.tool`` gets the same guarantee).

    Call it on a deep stack (``run_with_deep_stack``), as ``transform_source`` does.
    """
    from codemods.analysis.modules import ProjectView
    from codemods.rewrite.apply import rewrite_module

    from libcst.codemod import SkipFile

    try:
        command = rewrite_module(
            module, settings, filename, suppressed, findings_only, source, kept, project or ProjectView(), only
        )
    except RecursionError:
        return None, FileError("too deeply nested to analyse")
    except SkipFile as skipped:
        return None, FileError(str(skipped))
    return command, None if command.problem is None else FileError(command.problem)


def _python_error(source: bytes, filename: str) -> FileError:
    """Why CPython's parser rejects ``source``."""
    try:
        compile(source, filename, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        if isinstance(error.__cause__, UnicodeDecodeError) or "decode" in str(error.msg):
            return _decode_error(source, error)
        if error.lineno is not None:
            return FileError(f"cannot parse: {error.msg}", error.lineno, error.offset, syntax=True)
        return FileError(f"cannot parse: {error.msg}", syntax=True)
    except UnicodeDecodeError as error:
        return _decode_error(source, error)
    except RecursionError:
        return FileError("too deeply nested to parse")
    except (ValueError, MemoryError) as error:
        return FileError(f"cannot parse: {error}")
    return FileError("cannot parse")


def _decode_error(source: bytes, error: Exception) -> FileError:
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as bad:
        if "encoding declaration" in str(error):
            line = source.count(b"\n", 0, bad.start) + 1
            return FileError(
                f"cannot decode: byte {source[bad.start]:#04x} is not UTF-8 and the file has no "
                "coding declaration", line, bad.start - (source.rfind(b"\n", 0, bad.start) + 1) + 1, syntax=True,
            )
    return FileError(f"cannot decode: {error}", syntax=True)


def _syntax_error(source: bytes, filename: str, error: ParserSyntaxError) -> FileError:
    """CPython's message and position when it agrees the code is invalid: they are clearer."""
    try:
        compile(source, filename, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as python_error:
        if python_error.lineno is not None:
            return FileError(f"cannot parse: {python_error.msg}", python_error.lineno, python_error.offset, syntax=True)
        return FileError(f"cannot parse: {python_error.msg}", syntax=True)
    except (ValueError, RecursionError, MemoryError) as python_error:
        return FileError(f"cannot parse: {python_error}")
    # CPython accepts the file: the limitation is libcst's parser, not the user's code.
    message = _LIBCST_PREFIX.sub("", str(error.message).splitlines()[0] if error.message else "syntax error")
    return FileError(
        f"libcst cannot parse this file, although it is valid Python ({message}); left unchanged",
        error.raw_line, error.raw_column + 1,
    )


_LIBCST_PREFIX = re.compile(r"^(parser error: )?error at \d+:\d+: ")


def summarise_source(source: bytes, settings: Settings, module_name: str, package: bool) -> Any:
    """The project-index summary of a module (``codemods.analysis.helpers.ModuleSummary``),
    ``None`` if CPython cannot parse it; for modules the run reads only because others
    call their functions."""
    return run_with_deep_stack(lambda: _summarise(source, settings, module_name, package))


def _summarise(source: bytes, settings: Settings, module_name: str, package: bool) -> Any:
    from codemods.analysis.bindings import ModuleScopes
    from codemods.analysis.comments import Comments
    from codemods.analysis.detector import Detector, SourceText
    from codemods.analysis.helpers import ModuleFunctions
    from codemods.analysis.modules import ModuleName
    from codemods.analysis.receivers import ModuleReceivers
    from importlib.util import decode_source

    tree = screen.parse(source)
    if tree is None:
        return None
    try:
        text = SourceText(decode_source(source))
        detector = Detector(settings.index, settings.constructors, settings.annotations, settings.allows_entry, text,
                            settings.declared_blocking)
        scopes = ModuleScopes(tree, lazy=True)
        detector.receivers = ModuleReceivers(tree, scopes, detector)
        functions = ModuleFunctions(
            # Only the functions whose facts are asked for are walked.
            tree, scopes, detector, lambda: Comments(source), ModuleName(module_name, package),
            frozenset(settings.non_blocking),
        )
        return functions.summary()
    except (RecursionError, UnicodeDecodeError, SyntaxError):
        return None


# -- for an editor (codemods.server): findings with their spans, and one call's fix ----------


def locate_findings(
    source: bytes, settings: Settings, filename: str, project: ProjectView | None = None
) -> tuple[list[tuple[Finding, Span]], FileError | None]:
    """The findings of ``source`` with the span of each call (libcst's line and character
    columns), or why there are none: the analysis ``check`` runs, without the screen (an
    editor wants every finding of the document it shows)."""
    plan = _unscreened_plan(source, settings, filename, project)
    if plan is None or isinstance(plan, FileError):
        return [], plan
    return plan.located, None


def locate_with_noqa_lines(
    source: bytes, settings: Settings, filename: str, project: ProjectView | None = None
) -> tuple[list[tuple[Finding, Span, int | None]], FileError | None]:
    """``locate_findings`` with, for each finding, the line whose ``# noqa`` suppresses it
    (``--add-noqa``'s line: ``None`` where there is none), as ruff's JSON gives it
    (``noqa_row``)."""
    plan = _unscreened_plan(source, settings, filename, project, noqa_lines=True)
    if plan is None or isinstance(plan, FileError):
        return [], plan
    lines = {id(finding): line for finding, line in plan.comment_lines}
    return [(finding, span, lines.get(id(finding))) for finding, span in plan.located], None


def _unscreened_plan(
    source: bytes, settings: Settings, filename: str, project: ProjectView | None, noqa_lines: bool = False
) -> ModulePlan | FileError | None:
    """The plan of ``source`` without the screen (the findings ``check`` lists are among
    its findings), ``noqa_lines``: with each finding's ``# noqa`` line; ``None`` for a
    module without coroutines (and nothing a recording saw)."""
    if b"\0" in source:
        return FileError("binary file (contains NUL bytes); not Python source", syntax=True)
    if not has_coroutine(source) and not (project is not None and project.observed):
        return None

    def plan() -> ModulePlan | FileError:
        from codemods.analysis.comments import Comments

        tree = screen.parse(source)
        if tree is None:
            return _python_error(source, filename)
        comments = Comments(source, always=True) if noqa_lines else None
        return _plan(tree, source, settings, comments=comments, project=project)

    return run_with_deep_stack(plan)


def _plan(
    tree: ast.Module, source: bytes, settings: Settings, comments: Comments | None = None,
    project: ProjectView | None = None, suppressed: Suppressor | None = None,
) -> ModulePlan | FileError:
    """``finder.plan_module``, or the error of a module too deep for it (on a deep stack)."""
    from codemods.analysis.finder import plan_module

    try:
        return plan_module(tree, source, settings, comments, suppressed, project=project)
    except RecursionError:
        return FileError("too deeply nested to analyse")


def _checked_splice(
    source: bytes, tree: ast.Module, plan: ModulePlan, settings: Settings, filename: str
) -> bytes | None:
    """The plan spliced into ``source`` (``codemods.rewrite.splice``), if the splice makes
    it exactly and the output compiles; ``None``: the tree rewrite does it."""
    from codemods.rewrite.splice import splice

    spliced = splice(source, tree, plan, settings, filename)
    if spliced is None or (spliced != source and compile_problem(spliced, filename) is not None):
        return None
    return spliced


def fix_one(
    source: bytes, settings: Settings, filename: str, span: Span, project: ProjectView | None = None
) -> TransformResult:
    """``source`` with only the call at ``span`` fixed (and the import that fix needs): an
    editor's quick fix. Spliced as ``fix`` splices (the plan with every other finding
    suppressed), else through the door of every tree rewrite (``rewrite_checked``)."""
    return run_with_deep_stack(lambda: _spliced_one(source, settings, filename, span, project)
                               or _transform(source, settings, filename, project=project, only=span))


def _spliced_one(
    source: bytes, settings: Settings, filename: str, span: Span, project: ProjectView | None
) -> TransformResult | None:
    """``fix_one`` by the splice, or ``None`` where it cannot say (the tree rewrite does)."""
    from codemods.analysis.modules import ProjectView

    tree = screen.parse(source)
    if tree is None or b"\0" in source:
        return None
    plan = _plan(tree, source, settings, project=project or ProjectView(), suppressed=lambda at: at != span)
    if isinstance(plan, FileError) or not plan.fixable:
        return None
    spliced = _checked_splice(source, tree, plan, settings, filename)
    if spliced is None or spliced == source:
        return None
    return TransformResult(source, spliced, plan.findings)

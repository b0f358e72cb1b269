"""The finding codes: one per category of blocking call, the matching ruff / flake8-async
code, and what each is about. Kept apart from the catalog (``codemods.catalog``, which
builds its entries when imported): the findings, their reports and the command line's
options need the codes alone.
"""

from __future__ import annotations

TYPE_CHECKING = False  # as typing's, which a check answered from the cache does not import
if TYPE_CHECKING:
    from typing import Mapping, Sequence


#: Codes, one per category, with the nearest ruff / flake8-async rule (README maps them).
CATEGORIES: Mapping[str, tuple[str, str]] = {
    # category: (code, matching ASYNC code or "")
    "user": ("LS200", "ASYNC200"),
    "http": ("LS210", "ASYNC210"),
    "http-client": ("LS212", "ASYNC212"),
    "process-start": ("LS220", "ASYNC220"),
    "process": ("LS221", "ASYNC221"),
    "process-wait": ("LS222", "ASYNC222"),
    "open": ("LS230", "ASYNC230"),
    "fdopen": ("LS231", "ASYNC231"),
    "file": ("LS232", "ASYNC232"),
    "archive": ("LS233", ""),
    "path": ("LS240", "ASYNC240"),
    "input": ("LS250", "ASYNC250"),
    "sleep": ("LS251", "ASYNC251"),
    "os": ("LS260", ""),
    "shutil": ("LS261", ""),
    "media": ("LS262", ""),
    "import": ("LS263", ""),
    "network": ("LS270", ""),
    "database": ("LS271", ""),
    "service": ("LS272", ""),
    # Not a call: a loop in a coroutine that polls an object without ever awaiting.
    "busy-wait": ("LS280", ""),
    # Not a catalog entry: a sync function of the module that reaches one (codemods.analysis.helpers).
    "helper": ("LS301", ""),
    # Not a catalog entry: a call a recording saw stall the loop (``--observed``; codemods.observed).
    "observed": ("LS401", ""),
}

#: What each code is about, in a few words (rule descriptions in SARIF output).
TITLES: Mapping[str, str] = {
    "LS200": "a blocking callable of the project's configuration in a coroutine",
    "LS210": "a blocking HTTP request in a coroutine",
    "LS212": "a blocking HTTP client method in a coroutine",
    "LS220": "a process started from a coroutine",
    "LS221": "a blocking process run in a coroutine",
    "LS222": "a blocking wait for a process in a coroutine",
    "LS230": "a file opened in a coroutine",
    "LS231": "a file descriptor opened as a file in a coroutine",
    "LS232": "blocking file I/O in a coroutine",
    "LS233": "blocking archive or compressed-file I/O in a coroutine",
    "LS240": "a blocking path or file system query in a coroutine",
    "LS250": "blocking console input in a coroutine",
    "LS251": "a blocking sleep in a coroutine",
    "LS260": "a blocking os call in a coroutine",
    "LS261": "a blocking shutil call in a coroutine",
    "LS262": "blocking image, media or document processing in a coroutine",
    "LS263": "a module imported or reloaded in a coroutine",
    "LS270": "blocking network I/O in a coroutine",
    "LS271": "a blocking database call in a coroutine",
    "LS272": "a blocking call of a synchronous service client (cloud, LLM, VCS, message queue) in a coroutine",
    "LS280": "a busy-wait loop in a coroutine: it polls an object without awaiting, so nothing else runs",
    "LS301": "a call in a coroutine of the module's own sync function, which blocks",
    "LS401": "a call in a coroutine that stalled the event loop when the program was recorded",
}

#: ``ASYNC251`` -> ``LS251``: the flake8-async / ruff codes users may already write.
ASYNC_CODES: Mapping[str, str] = {async_code: code for code, async_code in CATEGORIES.values() if async_code}
CODES: frozenset[str] = frozenset(code for code, _ in CATEGORIES.values())


def normalize_code(text: str) -> str | None:
    """``LS251`` or ``ASYNC251`` (any case) -> ``LS251``; ``None`` if it is not a code of ours."""
    upper = text.strip().upper()
    if upper in CODES:
        return upper
    return ASYNC_CODES.get(upper)


# -- selecting codes, as ruff selects rules ------------------------------------------------

#: Selects every code (ruff's ``ALL``).
ALL = "ALL"


def expand_selector(text: str) -> tuple[frozenset[str], int] | None:
    """The codes a selector selects and how specific it is, as ruff reads ``--select``:
    ``ALL`` (0); ``LS`` or ``ASYNC``, all codes with an ASYNC counterpart (1); a prefix,
    ``LS2``/``LS25``/``ASYNC25`` (1 + its digits: 2, 3); a code ``LS251``/``ASYNC251``
    (4). Any case. ``None`` if it selects none of loopsafe's codes (``E501``, ``LS9``)."""
    upper = text.strip().upper()
    if upper == ALL:
        return CODES, 0
    for linter, codes in (("LS", {code: code for code in CODES}), ("ASYNC", ASYNC_CODES)):
        digits = upper[len(linter):]
        if upper.startswith(linter) and (digits == "" or digits.isdigit() and digits.isascii()):
            selected = frozenset(code for spelled, code in codes.items() if spelled.startswith(upper))
            return (selected, 1 + len(digits)) if selected else None
    return None


def is_selector(text: str) -> bool:
    return expand_selector(text) is not None


def normalize_selector(text: str) -> str | None:
    """``ls25`` -> ``LS25``, as every selector is kept; ``None`` if it is not one."""
    return text.strip().upper() if is_selector(text) else None


def selector_error(text: str) -> str:
    """Why ``text`` is no selector, with the codes there are (from ``CATEGORIES``)."""
    ours = ", ".join(sorted(CODES))
    theirs = ", ".join(sorted(ASYNC_CODES))
    return (f"{text!r} is not a loopsafe code or prefix; codes: {ours} (prefixes: LS, LS2, LS25...; ALL: "
            f"every code), or the ruff / flake8-async codes of the same checks: {theirs} (prefixes: ASYNC, "
            "ASYNC2...)")


def enabled_codes(layers: Sequence[tuple[Sequence[str] | None, Sequence[str], Sequence[str]]]) -> frozenset[str]:
    """The codes wanted, from ``(select, extend-select, ignore)`` layers, the configuration
    first, then the command line, as ruff resolves them: a layer with a ``select`` (``None``:
    none given) starts afresh, one without adjusts what the layers before it wanted; within
    a layer the selectors apply from the least specific to the most specific (``--select LS
    --ignore LS25 --extend-select LS251``: every code but LS250), an ``ignore`` after a
    ``select`` as specific (it wins). Raises ``ValueError`` for a selector that is none."""
    wanted = set(CODES)
    for select, extend_select, ignore in layers:
        changes: list[tuple[int, int, frozenset[str], bool]] = []
        for order, (selectors, on) in enumerate((((*(select or ()), *extend_select), True), (ignore, False))):
            for selector in selectors:
                expanded = expand_selector(selector)
                if expanded is None:
                    raise ValueError(selector_error(selector))
                codes, specificity = expanded
                changes.append((specificity, order, codes, on))
        if select is not None:
            wanted = set()
        for _, _, codes, on in sorted(changes, key=lambda change: change[:2]):
            if on:
                wanted |= codes
            else:
                wanted -= codes
    return frozenset(wanted)

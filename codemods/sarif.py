"""``loopsafe check --format sarif``: the findings as a SARIF 2.1.0 log, which GitHub code
scanning and other tools read (``github/codeql-action/upload-sarif``)."""

from __future__ import annotations

from typing import Any, Sequence

from codemods import __version__
from codemods.codes import CATEGORIES, TITLES
from codemods.findings import FileError, Finding

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif_log(findings: Sequence[tuple[str, Finding]], errors: Sequence[tuple[str, FileError]]) -> dict[str, Any]:
    """The SARIF log of a run: every rule, each finding as a result at its file, line and
    column (columns count code points, as loopsafe's do), files that failed as
    notifications, the run unsuccessful if any did."""
    codes = sorted({code for code, _ in CATEGORIES.values()})
    index = {code: position for position, code in enumerate(codes)}
    rules = [
        {
            "id": code,
            "shortDescription": {"text": TITLES[code]},
            "fullDescription": {"text": f"{TITLES[code]}: it freezes the event loop and every task on it"},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["asyncio", "performance"]},
        }
        for code in codes
    ]
    results = [
        {
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": "error",
            "message": {"text": finding.message},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(path)},
                    "region": {"startLine": finding.line, "startColumn": finding.column},
                },
            }],
            "properties": {"fixable": finding.fixable, "callable": finding.name,
                           **({"chain": list(finding.chain)} if finding.chain else {}),
                           **({"cost": finding.cost.to_json()} if finding.cost is not None else {})},
        }
        for path, finding in findings
    ]
    notifications = [
        {
            "level": "error",
            "message": {"text": error.message},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(path)},
                    **({"region": {"startLine": error.line, "startColumn": error.column or 1}} if error.line else {}),
                },
            }],
        }
        for path, error in errors
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "loopsafe", "version": __version__, "rules": rules}},
            "invocations": [{"executionSuccessful": not errors, "toolExecutionNotifications": notifications}],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def _uri(path: str) -> str:
    """A relative URI reference for a path as loopsafe prints it (``/`` separators,
    characters URIs reserve escaped)."""
    from urllib.parse import quote

    return quote(path.replace("\\", "/"))

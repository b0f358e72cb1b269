"""Discovery of fixture cases: ``tests/fixtures/<case>/input.py`` + ``expected.py``.

A case folder may also hold:
- ``settings.toml``: the body of a ``[tool.loopsafe]`` table for this case;
- ``findings.txt``: the expected findings, one per line, ``LINE:COL CODE fix|report NAME``.
Flat cases ``<case>.input.py`` / ``<case>.expected.py`` are accepted too.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from codemods.config import Settings, settings_from_table
from codemods.findings import Finding

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class FixtureCase:
    name: str
    input: Path
    expected: Path
    settings_file: Path | None = None
    findings_file: Path | None = None

    def settings(self) -> Settings:
        if self.settings_file is None:
            return Settings()
        return settings_from_table(tomllib.loads(self.settings_file.read_text()), self.settings_file)


def discover(root: Path = FIXTURES) -> list[FixtureCase]:
    cases: list[FixtureCase] = []
    for input_file in sorted(root.glob("*/input.py")):
        folder = input_file.parent
        settings = folder / "settings.toml"
        findings = folder / "findings.txt"
        cases.append(
            FixtureCase(
                folder.name,
                input_file,
                folder / "expected.py",
                settings if settings.exists() else None,
                findings if findings.exists() else None,
            )
        )
    for input_file in sorted(root.glob("*.input.py")):
        name = input_file.name[: -len(".input.py")]
        cases.append(FixtureCase(name, input_file, root / f"{name}.expected.py"))
    return cases


def listed(findings: Iterable[Finding], *, reported_only: bool = False) -> Counter[tuple[str, str, str]]:
    """Findings counted by (code, callee, message), positions aside (a rewrite moves lines).

    ``check`` after ``fix`` must list exactly the calls the fix reported, with the same
    reasons: ``listed(after) == listed(before, reported_only=True)``.
    """
    return Counter((f.code, f.name, f.detail) for f in findings if not (reported_only and f.fixable))

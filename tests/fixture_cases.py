"""Discovery of fixture cases: ``tests/fixtures/<group>/<case>/input.py`` + ``expected.py``.

``<group>`` is the finding code the case is about (``LS251``), ``mixed`` when its findings
have several codes, ``none`` when it has none (see ``tests/fixtures/README.md``). The group
is only a folder to file the case in: a case is known by its name, the folder ``<case>``,
which is the test id and is unique across groups. Cases directly in ``tests/fixtures/``
(``tests/fixtures/<case>/``, the layout before the groups) are found too.

A case folder may also hold:
- ``settings.toml``: the body of a ``[tool.loopsafe]`` table for this case;
- ``findings.txt``: the expected findings, one per line, ``LINE:COL CODE fix|report NAME``.
Flat cases ``<case>.input.py`` / ``<case>.expected.py`` (in a group folder or in
``tests/fixtures/``) are accepted too.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
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
    """Every case under ``root``, in a group folder or not, sorted by name.

    Raises ``ValueError`` if two cases have the same name (their test ids would clash).
    """
    cases: list[FixtureCase] = []
    for input_file in [*root.glob("*/input.py"), *root.glob("*/*/input.py")]:
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
    for input_file in [*root.glob("*.input.py"), *root.glob("*/*.input.py")]:
        name = input_file.name[: -len(".input.py")]
        cases.append(FixtureCase(name, input_file, input_file.parent / f"{name}.expected.py"))
    places: defaultdict[str, list[Path]] = defaultdict(list)
    for case in cases:
        places[case.name].append(case.input.parent)
    clashes = {name: folders for name, folders in places.items() if len(folders) > 1}
    if clashes:
        raise ValueError(f"fixture case names must be unique across groups: {clashes}")
    return sorted(cases, key=lambda case: case.name)


def listed(findings: Iterable[Finding], *, reported_only: bool = False) -> Counter[tuple[str, str, str]]:
    """Findings counted by (code, callee, message), positions aside (a rewrite moves lines).

    ``check`` after ``fix`` must list exactly the calls the fix reported, with the same
    reasons: ``listed(after) == listed(before, reported_only=True)``.
    """
    return Counter((f.code, f.name, f.detail) for f in findings if not (reported_only and f.fixable))

"""Discovery of fixture cases: ``tests/fixtures/<group>/<case>/input.py`` + ``expected.py``.

``<group>`` is the finding code the case is about (``LS251``), ``mixed`` when its findings
have several codes, ``none`` when it has none (see ``tests/fixtures/README.md``). The group
is only a folder to file the case in: a case is known by its name, the folder ``<case>``,
which is the test id and is unique across groups. Cases directly in ``tests/fixtures/``
(``tests/fixtures/<case>/``, the layout before the groups) are found too.

A case folder may also hold:
- ``settings.toml``: the body of a ``[tool.loopsafe]`` table for this case;
- ``findings.txt``: the expected findings, one per line, ``LINE:COL CODE fix|report NAME``;
- ``observed.json``: what ``loopsafe record`` saw of ``input.py`` (``codemods.observed``: the
  sites' path is ``input.py``, and ``modules`` holds its content hash, which
  ``python -m tests.fixture_cases <case folder>...`` fills in); the case is checked with
  those observations, as ``--observed`` gives them. A hash that is not ``input.py``'s makes
  the observations stale (dropped, as the fronts drop them): a case that means it says
  ``"expect_stale": true`` in the document.
Flat cases ``<case>.input.py`` / ``<case>.expected.py`` (in a group folder or in
``tests/fixtures/``) are accepted too.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from codemods.analysis.modules import ProjectView
from codemods.config import Settings, settings_from_table
from codemods.findings import Finding
from codemods.observed import ObservedSite, Observations, content_hash, parse

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXTURES = Path(__file__).parent / "fixtures"
#: The module a case's ``observed.json`` is about.
OBSERVED_MODULE = "input.py"


@dataclass(frozen=True)
class FixtureCase:
    name: str
    input: Path
    expected: Path
    settings_file: Path | None = None
    findings_file: Path | None = None
    observed_file: Path | None = None

    def settings(self) -> Settings:
        if self.settings_file is None:
            return Settings()
        return settings_from_table(tomllib.loads(self.settings_file.read_text()), self.settings_file)

    def observations(self) -> Observations | None:
        return None if self.observed_file is None else parse(json.loads(self.observed_file.read_text()))

    @property
    def expects_stale(self) -> bool:
        return self.observed_file is not None and bool(json.loads(self.observed_file.read_text()).get("expect_stale"))

    def observed(self, source: bytes) -> tuple[ObservedSite, ...] | None:
        """The sites recorded in ``input.py`` if ``source`` is the text recorded (``None``:
        stale, as for ``expected.py`` once the fix changed it); none without observations."""
        observations = self.observations()
        return () if observations is None else observations.sites_for(OBSERVED_MODULE, source)

    def project(self, source: bytes) -> ProjectView:
        """The module alone, with the observations of ``source`` (what ``--observed`` gives)."""
        return ProjectView(observed=self.observed(source) or ())


def discover(root: Path = FIXTURES) -> list[FixtureCase]:
    """Every case under ``root``, in a group folder or not, sorted by name.

    Raises ``ValueError`` if two cases have the same name (their test ids would clash).
    """
    cases: list[FixtureCase] = []
    for input_file in [*root.glob("*/input.py"), *root.glob("*/*/input.py")]:
        folder = input_file.parent
        settings = folder / "settings.toml"
        findings = folder / "findings.txt"
        observed = folder / "observed.json"
        cases.append(
            FixtureCase(
                folder.name,
                input_file,
                folder / "expected.py",
                settings if settings.exists() else None,
                findings if findings.exists() else None,
                observed if observed.exists() else None,
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


def fill_hash(folder: Path) -> None:
    """Write ``input.py``'s content hash into the case's ``observed.json`` (``modules``)."""
    path = folder / "observed.json"
    document = json.loads(path.read_text())
    document["modules"] = {OBSERVED_MODULE: content_hash((folder / OBSERVED_MODULE).read_bytes())}
    path.write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        fill_hash(Path(argument))

"""Fixture cases are filed in a folder named after the code of their findings
(``tests/fixtures/README.md``), and discovery finds them there and in the older layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemods.engine import transform_source
from tests.fixture_cases import FIXTURES, FixtureCase, discover


def _group_for(case: FixtureCase) -> str:
    """``LSxxx`` when all findings of the case have that code, ``mixed``, or ``none``."""
    if case.findings_file is not None:
        codes = {line.split()[1] for line in case.findings_file.read_text().splitlines() if line.strip()}
    else:
        codes = {f.code for f in transform_source(case.input.read_bytes(), case.settings(), str(case.input)).findings}
    return "none" if not codes else codes.pop() if len(codes) == 1 else "mixed"


def test_each_case_is_filed_under_the_code_of_its_findings() -> None:
    misfiled: list[str] = []
    for case in discover():
        case_folder = case.input.parent if case.input.name == "input.py" else case.input
        group = case_folder.parent
        if group == FIXTURES:
            misfiled.append(f"{case.name}: not in a group folder")
        elif group.name != _group_for(case):
            misfiled.append(f"{case.name}: in {group.name}/, belongs in {_group_for(case)}/")
    assert misfiled == []


def _case(folder: Path, findings: str = "") -> None:
    folder.mkdir(parents=True)
    (folder / "input.py").write_text("x = 1\n")
    (folder / "expected.py").write_text("x = 1\n")
    (folder / "findings.txt").write_text(findings)


def test_discover_finds_grouped_and_ungrouped_cases(tmp_path: Path) -> None:
    _case(tmp_path / "LS251" / "grouped", "5:5 LS251 fix os.remove\n")
    _case(tmp_path / "ungrouped")
    (tmp_path / "ungrouped" / "settings.toml").write_text("native-sleep = true\n")
    (tmp_path / "flat.input.py").write_text("x = 1\n")
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "flat_in_group.input.py").write_text("x = 1\n")
    cases = {case.name: case for case in discover(tmp_path)}
    assert sorted(cases) == ["flat", "flat_in_group", "grouped", "ungrouped"]
    assert cases["grouped"].expected == tmp_path / "LS251" / "grouped" / "expected.py"
    assert cases["grouped"].findings_file == tmp_path / "LS251" / "grouped" / "findings.txt"
    assert cases["ungrouped"].settings_file == tmp_path / "ungrouped" / "settings.toml"
    assert cases["flat"].expected == tmp_path / "flat.expected.py"
    assert cases["flat_in_group"].expected == tmp_path / "none" / "flat_in_group.expected.py"


def test_case_names_are_unique_across_groups(tmp_path: Path) -> None:
    _case(tmp_path / "LS251" / "same")
    _case(tmp_path / "mixed" / "same")
    with pytest.raises(ValueError, match="unique"):
        discover(tmp_path)

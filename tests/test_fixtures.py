"""Every fixture case: input -> expected, expected is a fixed point, and it compiles."""

from __future__ import annotations

import pytest

from codemods.engine import transform_source
from codemods.findings import Finding
from tests.fixture_cases import FixtureCase, discover, listed

CASES = discover()


def _describe(finding: Finding) -> str:
    kind = "fix" if finding.fixable else "report"
    return f"{finding.line}:{finding.column} {finding.code} {kind} {finding.name}"


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fixture(case: FixtureCase) -> None:
    source = case.input.read_bytes()
    expected = case.expected.read_bytes()
    settings = case.settings()

    result = transform_source(source, settings, str(case.input))
    assert result.error is None, result.error
    assert result.output.decode() == expected.decode()

    # Idempotent: the expected output is a fixed point of the transform.
    second = transform_source(expected, settings, str(case.expected))
    assert second.error is None, second.error
    assert second.output.decode() == expected.decode()
    assert second.fixed_count == 0
    # Complete: what `check` lists after the fix is exactly what the fix reported, each
    # with the same reason (positions aside: the rewrite moves lines).
    assert listed(second.findings) == listed(result.findings, reported_only=True)

    # `check` finds on CPython's ast, `fix` on libcst: the same findings, with the same
    # positions, fix texts and reasons, before and after the fix.
    assert transform_source(source, settings, str(case.input), findings_only=True).findings == result.findings
    assert transform_source(expected, settings, str(case.expected), findings_only=True).findings == second.findings

    # compile(), not ast.parse: `await` in a lambda or class body parses but does not compile.
    compile(expected, str(case.expected), "exec", dont_inherit=True)

    if case.findings_file is not None:
        wanted = [line for line in case.findings_file.read_text().splitlines() if line.strip()]
        assert [_describe(f) for f in result.findings] == wanted

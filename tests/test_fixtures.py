"""Every fixture case: input -> expected, expected is a fixed point, and it compiles."""

from __future__ import annotations

import io
import tokenize

import pytest

from codemods.analysis.observed_sites import CODE as OBSERVED
from codemods.engine import transform_source
from codemods.findings import Finding
from tests.fixture_cases import FixtureCase, discover, listed

CASES = discover()


def _describe(finding: Finding) -> str:
    kind = "fix" if finding.fixable else "report"
    return f"{finding.line}:{finding.column} {finding.code} {kind} {finding.name}"


def _squeezed(code: str) -> str:
    """``code`` without comments and whitespace: what a fix's text must be found in."""
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return "".join("".join(token.string.split()) for token in tokens if token.type != tokenize.COMMENT)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fixture(case: FixtureCase) -> None:
    source = case.input.read_bytes()
    expected = case.expected.read_bytes()
    settings = case.settings()
    # With observations (``observed.json``), as ``--observed`` gives them: the expected
    # output's are stale once the fix changed the file, and dropped.
    project, fixed_project = case.project(source), case.project(expected)
    sites = case.observed(source)
    if case.observed_file is not None:
        assert (sites is None) == case.expects_stale, "observed.json: run `python -m tests.fixture_cases <folder>`"

    result = transform_source(source, settings, str(case.input), project=project)
    assert result.error is None, result.error
    assert result.output.decode() == expected.decode()

    # Idempotent: the expected output is a fixed point of the transform.
    second = transform_source(expected, settings, str(case.expected), project=fixed_project)
    assert second.error is None, second.error
    assert second.output.decode() == expected.decode()
    assert second.fixed_count == 0
    # Complete: what `check` lists after the fix is exactly what the fix reported, each
    # with the same reason (positions aside: the rewrite moves lines); what a recording
    # saw (LS401) is listed again once the changed file is recorded again.
    reported = [f for f in result.findings if f.code != OBSERVED or fixed_project.observed]
    assert listed(second.findings) == listed(reported, reported_only=True)

    # `check` finds on CPython's ast, `fix` on libcst: the same findings, with the same
    # positions, fix texts and reasons (and costs), before and after the fix.
    checked = transform_source(source, settings, str(case.input), findings_only=True, project=project).findings
    assert checked == result.findings and [f.cost for f in checked] == [f.cost for f in result.findings]
    assert transform_source(
        expected, settings, str(case.expected), findings_only=True, project=fixed_project
    ).findings == second.findings
    if sites:
        # Every site is some finding's, once: no stall is lost or counted twice.
        costs = [f.cost for f in result.findings if f.cost is not None]
        assert sum(c.steps for c in costs) == sum(s.steps for s in sites)
        assert round(sum(c.seconds for c in costs), 6) == round(sum(s.seconds for s in sites), 6)

    # A fix's text is what the fix writes, `...` standing for the call's arguments: none
    # when the call passes none (`await asyncio.to_thread(lambda: open(path).read())`).
    written = _squeezed(expected.decode())
    for finding in result.findings:
        if finding.fixable and finding.detail.startswith("await "):
            assert "".join(finding.detail.split("...")[0].split()) in written, finding

    # compile(), not ast.parse: `await` in a lambda or class body parses but does not compile.
    compile(expected, str(case.expected), "exec", dont_inherit=True)

    if case.findings_file is not None:
        wanted = [line for line in case.findings_file.read_text().splitlines() if line.strip()]
        assert [_describe(f) for f in result.findings] == wanted

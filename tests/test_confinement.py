"""The reasons of the confinement rule (``codemods.analysis.confinement``), on the fixture
cases about it: each reported call names its argument and why another task can touch it.

``tests/test_fixtures.py`` checks the same cases' rewrites and findings (code, name,
fixed or reported); this checks the words a user reads. ``findings.txt`` has no reasons.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codemods.catalog import CATALOG, TYPES, Shares, method_entry
from codemods.engine import transform_source

FIXTURES = Path(__file__).parent / "fixtures"

#: case -> {line: a part of the reason}; every other finding of the case is fixed.
REASONS: dict[str, dict[int, str]] = {
    "LS301/helper_arguments_others_can_reach_are_reported": {
        21: "its argument `self.state` is an attribute other tasks can change while the thread runs",
        22: "its argument `SUBSCRIBERS` is a module-level variable other tasks can change",
        23: "its argument `(k for k in SUBSCRIBERS)` is a generator expression that runs later, in the thread, "
            "reading `SUBSCRIBERS`",
        24: "its argument `enumerate(self.state)` is a lazy iterator that runs later, in the thread, reading "
            "`self.state`",
        25: "its argument `payload` is a parameter of the coroutine, which may hold a mutable object",
        27: "its argument `state` holds `self.state`, an attribute",
        28: "its argument `list(self.state.values())` holds items of `self.state`",
        31: "its argument `snapshot` is an object the coroutine made, but it was stored in `self.last` before the thread starts",
        33: "its argument `queue` holds `asyncio.Queue()`, an asyncio object, which is not thread-safe",
        34: "its argument `asyncio.get_running_loop()` is the event loop",
        36: "its argument `connection` holds `sqlite3.connect(path)`, a sqlite3 object",
    },
    "LS301/helper_arguments_owned_or_immutable_are_fixed": {},
    "LS210/request_bodies_others_can_reach_are_reported": {
        22: "its argument `json=self.state` is an attribute",
        23: "its argument `self.state` is an attribute",
        24: "its argument `params=self.state` is an attribute",
        25: "its argument `headers=DEFAULT_HEADERS` is a module-level variable",
        28: "its argument `json=body` holds `self.url`, an attribute",
        33: "its argument `json=payload` holds `self.state`, an attribute",
        38: "its argument `json=rows` holds `self.headers`, an attribute",
    },
    "LS221/process_arguments_others_can_reach_are_reported": {
        13: "its argument `self.command` is an attribute",
        14: "its argument `cmd` is a parameter of the coroutine",
        15: "its argument `env=os.environ` is process-wide state",
    },
    "LS230/with_block_reading_shared_state_through_a_local": {
        12: "the with block cannot move to a thread: it reads `items`, which holds `self.items`, an attribute",
    },
}


@pytest.mark.parametrize("case", sorted(REASONS))
def test_reports_name_the_argument_and_why(case: str) -> None:
    source = (FIXTURES / case / "input.py").read_bytes()
    findings = transform_source(source).findings
    reported = {f.line: f.detail for f in findings if not f.fixable}
    assert sorted(reported) == sorted(REASONS[case]), reported
    for line, reason in REASONS[case].items():
        assert reason in reported[line], (line, reported[line])
    assert findings, "the case has findings"


def test_each_shared_parameter_is_a_parameter_of_the_callable() -> None:
    """``Shares`` data: the mutable parameters are named among the positional ones or by
    keyword, and the shallow ones are among the mutable ones."""
    entries = [entry for entry in CATALOG if entry.shares is not None]
    entries += [e for kind in TYPES for m in kind.shares if (e := method_entry(kind, m)) is not None]
    assert any(entry.qualname == "requests.post" for entry in entries)
    for entry in entries:
        shares = entry.shares
        assert isinstance(shares, Shares)
        assert shares.shallow <= shares.mutable, entry.qualname
        assert len(set(shares.positional)) == len(shares.positional), entry.qualname
    post = next(entry.shares for entry in entries if entry.qualname == "requests.post")
    assert post is not None
    assert post.takes_object(2, None) and post.takes_object(None, "json")  # post(url, data, json)
    assert not post.takes_object(0, None) and not post.takes_object(None, "timeout")

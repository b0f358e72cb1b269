"""LS401 at run time: programs whose loop stalls where no catalog looks (a key derivation in
C that releases the GIL, a sleep in a C function, a CPU-bound helper of the project, a
library call on an object the coroutine made), run before and after ``fix --observed``
with a ticker task: the rewrite returns the same results and lets the ticker run while
the work goes on; the calls loopsafe reports (a method of an attribute's object, a helper
filling a module cache on its slow path) are left as they were, and offloading the first
by hand changes what the program returns, which is why it is reported.

Each program runs in this process (``tests.differential.observe``), the sites given as a
recording would give them (``tests.test_observed_sites.site_at``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from codemods.analysis.modules import ProjectView
from codemods.engine import transform_source
from codemods.findings import Finding
from tests.differential import PROGRAM_FILENAME, describe, observe
from tests.test_observed_sites import site_at

#: The ticker: how many times it ran while ``work`` did; ``stalled``: hardly ever.
TICKER = '''

async def tick(ticks, done):
    while not done:
        ticks.append(1)
        await asyncio.sleep(0.005)


async def main(tmp):
    ticks, done = [], []
    ticker = asyncio.ensure_future(tick(ticks, done))
    await asyncio.sleep(0.02)
    before = len(ticks)
    result = await work()
    during = len(ticks) - before
    done.append(True)
    await ticker
    return result, "stalled" if during < 5 else "free"
'''

SAFE = textwrap.dedent('''
    import asyncio
    import hashlib
    import select


    def checksum(data: bytes) -> int:
        total = 0
        for byte in data:
            total = (total * 31 + byte) % 1_000_000_007
        return total


    async def derive(password: str, salt: bytes) -> str:
        key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 200_000)
        return key.hex()


    async def wait_for_nothing(seconds: float) -> int:
        ready, _, _ = select.select([], [], [], seconds)
        return len(ready)


    async def digest(data: bytes) -> int:
        return checksum(data)


    async def order(names: tuple[str, ...]) -> list[str]:
        pending = list(names) * 20_000
        pending.sort(key=str.lower)
        return pending[:3]


    async def work():
        return (
            await derive("secret", b"salt"), await wait_for_nothing(0.1), await digest(bytes(range(256)) * 4000),
            await order(("b", "A", "c")),
        )
''') + TICKER

#: The calls of ``SAFE`` that stalled its loop when recorded.
SAFE_SITES = [
    'hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 200_000)', "select.select([], [], [], seconds)",
    "checksum(data)", "pending.sort(key=str.lower)",
]

UNSAFE = textwrap.dedent('''
    import asyncio

    GREETINGS = {}


    def greeting(name: str) -> str:
        if name not in GREETINGS:  # the slow path: only for a name not seen yet
            GREETINGS[name] = f"Hello, {name}" + "!" * (sum(range(2_000_000)) % 2)
        return GREETINGS[name]


    class Model:
        def __init__(self) -> None:
            self.bias = 1

        def predict(self, x: int) -> int:
            first = self.bias
            for _ in range(40):  # short pieces: the GIL changes hands between them
                sum(range(50_000))  # the model's work, between two reads of its state
            return x + first + self.bias


    class Service:
        def __init__(self) -> None:
            self.model = Model()

        async def predict(self, x: int) -> int:
            return self.model.predict(x)


    async def work():
        service = Service()

        async def retune():
            await asyncio.sleep(0.005)
            service.model.bias = 10

        predicted, _ = await asyncio.gather(service.predict(1), retune())
        return predicted, greeting("ada")
''') + TICKER

UNSAFE_SITES = ["self.model.predict(x)", 'greeting("ada")']


def _fixed(source: str, texts: list[str]) -> tuple[str, list[Finding]]:
    sites = tuple(site_at(source, text) for text in texts)
    result = transform_source(source.encode(), project=ProjectView(observed=sites))
    assert result.error is None, result.error
    output = result.output.decode()
    compile(output, PROGRAM_FILENAME, "exec", dont_inherit=True)
    return output, result.findings


def test_offloaded_calls_free_the_loop_and_return_the_same(tmp_path: Path) -> None:
    fixed, findings = _fixed(SAFE, SAFE_SITES)
    assert [(f.code, f.name, f.fixable) for f in findings] == [
        ("LS401", "hashlib.pbkdf2_hmac", True), ("LS401", "select.select", True), ("LS401", "checksum", True),
        ("LS401", "pending.sort", True),
    ], findings
    assert "await asyncio.to_thread(pending.sort, key=str.lower)" in fixed
    before = observe(SAFE, tmp_path / "original", timeout=20)
    after = observe(fixed, tmp_path / "rewritten", timeout=20)
    assert before.error is None and after.error is None, f"{describe(before)}\n{describe(after)}"
    value = before.result.rpartition(", ")[0]
    assert before.result == f"{value}, 'stalled')", describe(before)
    assert after.result == f"{value}, 'free')", f"{describe(after)}\n{fixed}"
    assert (before.stdout, before.files) == (after.stdout, after.files)


def test_unsafe_calls_are_reported_and_would_change_the_result(tmp_path: Path) -> None:
    fixed, findings = _fixed(UNSAFE, UNSAFE_SITES)
    assert [(f.name, f.fixable) for f in findings] == [("self.model.predict", False), ("greeting", False)], findings
    assert "the object it is called on, `self.model`, is an attribute" in findings[0].detail
    assert "not run in a thread: greeting(): it reads the module variable `GREETINGS`" in findings[1].detail
    assert fixed == UNSAFE
    before = observe(UNSAFE, tmp_path / "original", timeout=20)
    assert before.error is None and before.result == "((3, 'Hello, ada'), 'stalled')", describe(before)
    # Offloaded by hand: ``retune`` runs while the model works, between its two reads.
    by_hand = UNSAFE.replace(
        "return self.model.predict(x)", "return await asyncio.to_thread(self.model.predict, x)"
    )
    assert by_hand != UNSAFE
    offloaded = observe(by_hand, tmp_path / "by-hand", timeout=20)
    assert offloaded.error is None and offloaded.result.startswith("((12, "), describe(offloaded)
    # (Read once before ``retune`` and once after: 1 + 1 + 10.)

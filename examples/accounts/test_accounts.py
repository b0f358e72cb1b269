"""The account service's tests: plain pytest, each test runs its coroutines with asyncio.run."""

import asyncio

from accounts import Accounts


def test_sign_up_greets_in_the_players_language() -> None:
    accounts = Accounts()
    assert asyncio.run(accounts.sign_up("ada", "s3cret", "fr")) == "Bienvenue, ada !"


def test_log_in_checks_the_password() -> None:
    async def scenario() -> tuple[bool, bool]:
        accounts = Accounts()
        await accounts.sign_up("ada", "s3cret")
        return await accounts.log_in("ada", "s3cret"), await accounts.log_in("ada", "guess")

    assert asyncio.run(scenario()) == (True, False)


def test_nightly_report_while_players_play() -> None:
    accounts = Accounts()
    asyncio.run(accounts.sign_up("bob", "pw", "de"))
    accounts.history["bob"].extend(move % 7 for move in range(400_000))  # a long season

    async def scenario() -> str:
        report, _ = await asyncio.gather(accounts.nightly_report("bob"), accounts.play("bob", 1))
        return report

    assert asyncio.run(scenario()).startswith("bob: 400000 moves, checksum ")

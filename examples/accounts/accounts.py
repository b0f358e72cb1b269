"""A small account service of an async game server: sign-up hashes passwords, a nightly
report checks every player's move history, and greetings come from a table of
translations rendered on first use.

Nothing here is on loopsafe's list of blocking calls but one `time.sleep`: what else
stalls the event loop is found by running the tests under `loopsafe record`.
"""

from __future__ import annotations

import hashlib
import time

SALT = b"accounts-example"
ROUNDS = 250_000
GREETINGS = {"en": "Welcome, {}!", "fr": "Bienvenue, {} !", "de": "Willkommen, {}!"}

#: Greetings rendered so far, by language: filled on first use (the slow path).
_rendered: dict[str, str] = {}


def checksum(moves: bytes) -> int:
    """A rolling checksum of a player's moves: pure Python, CPU-bound on long histories."""
    total = 0
    for index, move in enumerate(moves):
        total = (total * 31 + move * index) % 1_000_003
        total = total * total % 1_000_003
    return total


def greeting(language: str) -> str:
    """The greeting of ``language``, rendered once and kept (slow the first time only)."""
    if language not in _rendered:
        text = GREETINGS.get(language, GREETINGS["en"])
        for _ in range(1_500_000):  # stands for a template engine warming up
            text = text.strip()
        _rendered[language] = text
    return _rendered[language]


class Accounts:
    def __init__(self) -> None:
        self.passwords: dict[str, bytes] = {}
        self.history: dict[str, list[int]] = {}

    async def sign_up(self, name: str, password: str, language: str = "en") -> str:
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), SALT, ROUNDS)
        self.passwords[name] = digest
        self.history[name] = []
        return greeting(language).format(name)

    async def play(self, name: str, move: int) -> None:
        self.history[name].append(move)

    async def nightly_report(self, name: str) -> str:
        moves = bytes(self.history[name])  # a snapshot (moves are 0-6): other tasks go on playing
        return f"{name}: {len(moves)} moves, checksum {checksum(moves)}"

    async def log_in(self, name: str, password: str) -> bool:
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), SALT, ROUNDS)
        if digest != self.passwords.get(name):
            time.sleep(0.05)  # slow down password guessing
            return False
        return True

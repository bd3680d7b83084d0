"""The letters the outbox writes, as the letter writer is given them (tokens and all), and a
way to let the outbox finish its work."""

from __future__ import annotations

from email.message import EmailMessage

from coatcheck.adapters.email import LetterWriter, Outbox
from coatcheck.domain.letters import Letter

WRITER = LetterWriter("coatcheck <no-reply@auth.example.com>", "https://auth.example.com/")


class Mailbag:
    """A letter writer that keeps each letter it writes: what was sent, in order."""

    def __init__(self) -> None:
        self.letters: list[Letter] = []
        self._outbox: Outbox | None = None

    def __call__(self, letter: Letter, key: str | None = None) -> EmailMessage:
        self.letters.append(letter)
        return WRITER(letter, key)

    def attach(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def settle(self) -> None:
        """Let the outbox store, resolve and send everything due now."""
        assert self._outbox is not None
        await self._outbox.settle()

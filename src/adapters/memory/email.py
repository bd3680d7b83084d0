"""An outbox and an email sender that keep what they are given."""

from __future__ import annotations

from email.message import EmailMessage

from coatcheck.domain.letters import Letter
from coatcheck.domain.ports import Compose


class InMemoryOutbox:
    """Keeps the letters posted; what is posted for later runs at `settle()`."""

    def __init__(self, delivers: bool = True) -> None:
        self.letters: list[Letter] = []
        self._delivers = delivers
        self._later: list[Compose] = []

    @property
    def delivers(self) -> bool:
        return self._delivers

    def post(self, letter: Letter) -> None:
        if self._delivers:
            self.letters.append(letter)

    def post_later(self, compose: Compose) -> None:
        self._later.append(compose)

    async def settle(self) -> None:
        while self._later:
            letter = await self._later.pop(0)()
            if letter is not None:
                self.post(letter)


class InMemoryEmailSender:
    """Keeps the messages it is given; fails the first `failures` sends, for tests of retries."""

    def __init__(self, failures: int = 0) -> None:
        self.messages: list[EmailMessage] = []
        self.failures = failures

    async def send(self, message: EmailMessage) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("the in-memory sender was told to fail")
        self.messages.append(message)

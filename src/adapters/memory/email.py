"""An email sender that keeps what it is given."""

from __future__ import annotations

from email.message import EmailMessage

from coatcheck.domain.letters import Undeliverable


class InMemoryEmailSender:
    """Keeps the messages it is given; fails the first `failures` sends (for tests of retries),
    and refuses for good every message to an address in `refusing`."""

    def __init__(self, failures: int = 0, refusing: frozenset[str] = frozenset()) -> None:
        self.messages: list[EmailMessage] = []
        self.failures = failures
        self.refusing = refusing

    async def send(self, message: EmailMessage) -> None:
        if message["To"] in self.refusing:
            raise Undeliverable("550")
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("the in-memory sender was told to fail")
        self.messages.append(message)

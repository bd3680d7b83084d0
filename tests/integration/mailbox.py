"""A real SMTP server for the tests (aiosmtpd), on a free port of 127.0.0.1 in the test's own
event loop: the messages coatcheck sends are received over SMTP, parsed, and read back."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope

WAIT_SECONDS = 10.0
LINK = re.compile(r"(https?://\S+?/account/)#([a-z-]+)=([A-Za-z0-9_-]{43})")
SENDER = "coatcheck <no-reply@coatcheck.test>"
BASE_URL = "https://auth.example.test"


class Mailbox:
    """Every message received, in order; `next(to)` waits for the next one to an address."""

    def __init__(self) -> None:
        self.port = 0
        self.refusing: set[str] = set()  # recipients answered 550
        self.received: list[tuple[list[str], EmailMessage]] = []
        self._seen: set[int] = set()
        self._arrival = asyncio.Condition()

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refusing:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.content or b"", policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        async with self._arrival:
            self.received.append(([str(to) for to in envelope.rcpt_tos], message))
            self._arrival.notify_all()
        return "250 OK"

    def settings(self) -> dict[str, Any]:
        """What points coatcheck at this server."""
        return {
            "email_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_tls": "none",
            "email_from": SENDER,
            "public_base_url": BASE_URL,
        }

    def to(self, address: str) -> list[EmailMessage]:
        return [message for recipients, message in self.received if address in recipients]

    async def next(self, address: str, subject: str | None = None) -> EmailMessage:
        """The first message to `address` (with this subject) not taken before."""
        async with asyncio.timeout(WAIT_SECONDS), self._arrival:
            while True:
                for index, (recipients, message) in enumerate(self.received):
                    if index in self._seen or address not in recipients:
                        continue
                    if subject is None or message["Subject"] == subject:
                        self._seen.add(index)
                        return message
                await self._arrival.wait()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def link_of(message: EmailMessage) -> tuple[str, str, str]:
    """(page, action, token) of the message's link, the same in its text and HTML parts."""
    [(page, action, token)] = LINK.findall(text_of(message))
    assert f"{page}#{action}={token}" in html_of(message)
    return page, action, token


@asynccontextmanager
async def smtp_server(box: Mailbox | None = None, smtputf8: bool = True) -> AsyncIterator[Mailbox]:
    """A server for `box` (a new one by default), on its port if it has one: a box can be
    served again after its server stopped, as a mail server comes back after an outage.
    `smtputf8=False`: a relay that takes only ASCII addresses."""
    box = box or Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(box, hostname="mailbox.test", enable_SMTPUTF8=smtputf8),
        "127.0.0.1",
        box.port,
        reuse_address=True,
    )
    box.port = server.sockets[0].getsockname()[1]
    try:
        yield box
    finally:
        server.close()
        await server.wait_closed()

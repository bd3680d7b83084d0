"""The SMTP sender against a real SMTP server (aiosmtpd): which failures are final."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from coatcheck.adapters.email import SmtpSender
from coatcheck.domain.letters import Undeliverable
from tests.integration.mailbox import smtp_server

NON_ASCII = "ad\u0430@example.com"  # a Cyrillic a


def message(to: str) -> EmailMessage:
    letter = EmailMessage()
    letter["From"] = "no-reply@example.com"
    letter["To"] = to
    letter["Subject"] = "hello"
    letter.set_content("hello")
    return letter


async def test_a_non_ascii_address_through_a_relay_without_smtputf8_is_undeliverable() -> None:
    async with smtp_server(smtputf8=False) as box:
        sender = SmtpSender("127.0.0.1", box.port, tls="none", timeout=5)
        with pytest.raises(Undeliverable):
            await sender.send(message(NON_ASCII))
        await sender.send(message("ada@example.com"))
        assert [to for to, _ in box.received] == [["ada@example.com"]]


async def test_a_non_ascii_address_through_a_relay_with_smtputf8_is_sent() -> None:
    async with smtp_server() as box:
        await SmtpSender("127.0.0.1", box.port, tls="none", timeout=5).send(message(NON_ASCII))
        assert [to for to, _ in box.received] == [[NON_ASCII]]

"""Sending through an SMTP server (aiosmtplib): a connection per message. A 5xx answer to the
recipient or to the message is Undeliverable (never retried), as is a non-ASCII address that
the server cannot take (no SMTPUTF8); anything else that fails, 5xx answers to the
connection, log-in or sender too (a setting to fix, not a bad letter), may pass later."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from coatcheck.domain.letters import Undeliverable

TlsMode = Literal["starttls", "tls", "none"]


class SmtpSender:
    """`tls`: "tls" speaks TLS from the start (port 465), "starttls" upgrades the connection
    and refuses a server that cannot (port 587), "none" sends in the clear (a relay on the
    same host)."""

    def __init__(
        self,
        host: str,
        port: int,
        tls: TlsMode = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._tls = tls
        self._username = username
        self._password = password
        self._timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        try:
            await self._send(message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                raise Undeliverable(str(codes[0])) from None
            raise
        except aiosmtplib.SMTPDataError as error:
            if 500 <= error.code < 600:
                raise Undeliverable(str(error.code)) from None
            raise
        except aiosmtplib.SMTPNotSupported as error:
            if "SMTPUTF8" in str(error):  # this address, through this relay, never
                raise Undeliverable("no SMTPUTF8") from None
            raise

    async def _send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._tls == "tls",
            start_tls=self._tls == "starttls",
            timeout=self._timeout,
        )

"""Sending through an SMTP server (aiosmtplib): a connection per message."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Literal

import aiosmtplib

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

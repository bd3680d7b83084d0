"""The development sender: each message, its link included, written to standard error so
that a developer can follow it. Never for production (start-up says so when it is used
with shared stores)."""

from __future__ import annotations

import sys
from email.message import EmailMessage
from typing import TextIO

_RULE = "-" * 20


class ConsoleSender:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, message: EmailMessage) -> None:
        text = message.get_body(("plain",))
        body = text.get_content() if isinstance(text, EmailMessage) else ""
        stream = self._stream or sys.stderr
        stream.write(
            f"{_RULE} email (EMAIL_BACKEND=console: printed, not sent) {_RULE}\n"
            f"From: {message['From']}\nTo: {message['To']}\nSubject: {message['Subject']}\n\n"
            f"{body.rstrip()}\n{_RULE} end of email {_RULE}\n"
        )
        stream.flush()

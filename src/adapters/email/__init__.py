"""Email: letters written as messages, the senders (SMTP, console, in memory in
adapters.in_memory), and the outbox that sends them after the answer."""

from adapters.email.console import ConsoleSender
from adapters.email.letters import LetterWriter
from adapters.email.outbox import Outbox
from adapters.email.smtp import SmtpSender

__all__ = ["ConsoleSender", "LetterWriter", "Outbox", "SmtpSender"]

"""Email: letters written as messages, the senders (SMTP, console, in memory in
adapters.memory), and the outbox that stores them and its worker that sends them."""

from coatcheck.adapters.email.console import ConsoleSender
from coatcheck.adapters.email.letters import LetterWriter
from coatcheck.adapters.email.outbox import Outbox
from coatcheck.adapters.email.smtp import SmtpSender

__all__ = ["ConsoleSender", "LetterWriter", "Outbox", "SmtpSender"]

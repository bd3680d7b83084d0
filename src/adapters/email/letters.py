"""Letters written as email messages: a plain-text part and an HTML part that say the same,
and the link of a token built from the configured public base URL (never from a request's
Host, which a client chooses). The token rides in the link's fragment (#...), which a
browser never sends to a server, so no access log or proxy ever sees it."""

from __future__ import annotations

import html
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from attrs import frozen

from coatcheck.domain.letters import Letter, LetterKind
from coatcheck.domain.model import ClientInfo

ACCOUNT_PAGE = "/account/"
LINK_ACTIONS = {  # the account page reads the action and the token from the fragment
    LetterKind.PASSWORD_RESET: "password-reset",
    LetterKind.VERIFY_EMAIL: "verify-email",
    LetterKind.CONFIRM_NEW_EMAIL: "change-email",
}
_FACTOR_NOTICES = {
    LetterKind.TOTP_ADDED: (
        "An authenticator app was added to your account",
        "An authenticator app now guards the log-ins to your account, since",
    ),
    LetterKind.TOTP_REMOVED: (
        "The authenticator app was removed from your account",
        "The authenticator app no longer guards the log-ins to your account, since",
    ),
    LetterKind.PASSKEY_ADDED: (
        "A passkey was added to your account",
        "A new passkey can log in to your account, since",
    ),
    LetterKind.PASSKEY_REMOVED: (
        "A passkey was removed from your account",
        "A passkey of your account was removed",
    ),
    LetterKind.RECOVERY_CODE_USED: (
        "A recovery code of your account was used",
        "One of your recovery codes was used to log in (it works no more)",
    ),
    LetterKind.FACTORS_RESET: (
        "The second factors of your account were removed",
        "An operator removed every second factor of your account (after checking who you"
        " are), and its recovery codes",
    ),
}
_IF_NOT_YOU = (
    "If this was not you, reset your password at once (it ends every session) and check"
    " your account:"
)


@frozen
class _Text:
    subject: str
    paragraphs: tuple[str, ...]
    link: str
    link_text: str


def _duration(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = round(minutes / 60)
    return f"{hours} hours" if hours < 48 else f"{round(hours / 24)} days"


def _client(client: ClientInfo | None) -> str:
    if client is None:
        return "an unknown client"
    return f"{client.user_agent or 'an unnamed client'} (address {client.address or 'unknown'})"


class LetterWriter:
    """Writes a letter as the message the outbox sends."""

    def __init__(self, sender: str, base_url: str) -> None:
        self._sender = sender
        self._base = base_url.rstrip("/")
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or None

    def link(self, letter: Letter) -> str:
        """The page a letter points to: with its token, the link that uses it."""
        if letter.token is None:
            return self._base + ACCOUNT_PAGE
        return f"{self._base}{ACCOUNT_PAGE}#{LINK_ACTIONS[letter.kind]}={letter.token.value}"

    def __call__(self, letter: Letter) -> EmailMessage:
        text = self._text(letter)
        message = EmailMessage()
        message["Subject"] = text.subject
        message["From"] = self._sender
        message["To"] = letter.to.value
        message["Date"] = format_datetime(letter.at)
        message["Message-ID"] = make_msgid(domain=self._domain)
        message["Auto-Submitted"] = "auto-generated"
        plain = [f"Hello {letter.name.value},", *text.paragraphs, text.link, "- coatcheck"]
        message.set_content("\n\n".join(plain) + "\n")
        markup = [f"<p>Hello {html.escape(letter.name.value)},</p>"]
        markup += [f"<p>{html.escape(paragraph)}</p>" for paragraph in text.paragraphs]
        link = html.escape(text.link, quote=True)
        markup.append(f'<p><a href="{link}">{html.escape(text.link_text)}</a></p>')
        markup.append("<p>- coatcheck</p>")
        message.add_alternative(
            "<!doctype html>\n<html><body>\n" + "\n".join(markup) + "\n</body></html>\n",
            subtype="html",
        )
        return message

    def _text(self, letter: Letter) -> _Text:
        link, kind = self.link(letter), letter.kind
        valid = _duration(letter.valid_for or timedelta(0))
        if kind is LetterKind.PASSWORD_RESET:
            return _Text(
                "Reset your password",
                (
                    f"Someone, we hope you, asked to reset the password of the account of"
                    f" {letter.to.value}. To choose a new one, open this link within {valid}."
                    " It works once, and every session of the account ends when it is used.",
                    "If you did not ask, ignore this message: your password stays as it is.",
                ),
                link,
                "Choose a new password",
            )
        if kind is LetterKind.VERIFY_EMAIL:
            return _Text(
                "Verify your email address",
                (
                    f"To confirm that {letter.to.value} is your address, open this link"
                    f" within {valid}. It works once.",
                    "If you did not create an account, ignore this message.",
                ),
                link,
                "Verify my address",
            )
        if kind is LetterKind.CONFIRM_NEW_EMAIL:
            return _Text(
                "Confirm your new email address",
                (
                    f"To make {letter.to.value} the address of your account, open this link"
                    f" within {valid}. It works once; until it is used, nothing changes.",
                    "If you did not ask for this, ignore this message.",
                ),
                link,
                "Confirm my new address",
            )
        when = letter.at.strftime("%Y-%m-%d %H:%M UTC")
        if kind is LetterKind.PASSWORD_CHANGED:
            return _Text(
                "Your password was changed",
                (
                    f"The password of your account was changed at {when}, from"
                    f" {_client(letter.client)}. Every other session of the account ended.",
                    _IF_NOT_YOU,
                ),
                link,
                "My account",
            )
        if kind is LetterKind.EMAIL_CHANGED:
            new = letter.new_email.value if letter.new_email is not None else "another address"
            return _Text(
                "Your email address was changed",
                (
                    f"The address of your account was changed from {letter.to.value} to {new}"
                    f" at {when}. Messages about the account go to the new address now.",
                    "If this was not you, contact the service's operators at once.",
                ),
                link,
                "My account",
            )
        factor = _FACTOR_NOTICES.get(kind)
        if factor is not None:
            subject, what = factor
            return _Text(
                subject,
                (f"{what} at {when}, from {_client(letter.client)}.", _IF_NOT_YOU),
                link,
                "My account",
            )
        return _Text(
            "New log-in to your account",
            (
                f"Your account was logged in to at {when} from a browser or client it had not"
                f" been seen on: {_client(letter.client)}. If it was you, there is nothing to do.",
                _IF_NOT_YOU,
            ),
            link,
            "My account and its sessions",
        )

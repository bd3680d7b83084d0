"""Letters written as email messages: a plain-text part and an HTML part that say the same,
and the link of a token built from the configured public base URL (never from a request's
Host, which a client chooses). The token rides in the link's fragment (#...), which a
browser never sends to a server, so no access log or proxy ever sees it.

The wording lives in templates/ (one file a letter, string.Template placeholders), which an
operator replaces file by file with EMAIL_TEMPLATES, without editing code."""

from __future__ import annotations

import html
import string
from collections.abc import Callable, Mapping
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from importlib import resources
from pathlib import Path

from attrs import frozen

from coatcheck.domain.letters import Letter, LetterKind

ACCOUNT_PAGE = "/account/"
LINK_ACTIONS = {  # the account page reads the action and the token from the fragment
    LetterKind.PASSWORD_RESET: "password-reset",
    LetterKind.VERIFY_EMAIL: "verify-email",
    LetterKind.CONFIRM_NEW_EMAIL: "change-email",
}
PACKAGED = resources.files(__package__) / "templates"
_COMMON = "common"
_PLACEHOLDERS = frozenset(
    ("name", "email", "product", "support", "link", "valid", "when", "device", "new_email")
) | {"if_not_you"}


@frozen
class Template:
    """A letter's (or common.txt's) headers and paragraphs, placeholders not yet filled."""

    headers: Mapping[str, str]
    paragraphs: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, source: str) -> Template:
        head, _, body = text.replace("\r\n", "\n").partition("\n\n")
        headers = {}
        for line in head.splitlines():
            key, colon, value = line.partition(":")
            if not colon:
                raise ValueError(f"{source}: a header line is 'Name: value'")
            headers[key.strip().lower()] = value.strip()
        paragraphs = tuple(" ".join(p.split()) for p in body.split("\n\n") if p.strip())
        unknown = {
            name
            for piece in (*headers.values(), *paragraphs)
            for name in string.Template(piece).get_identifiers()
        } - _PLACEHOLDERS
        if unknown:
            raise ValueError(f"{source}: unknown placeholder(s) {', '.join(sorted(unknown))}")
        return cls(headers, paragraphs)

    def header(self, name: str, source: str) -> str:
        if name not in self.headers:
            raise ValueError(f"{source}: no {name.capitalize()}: header")
        return self.headers[name]


def load_templates(folder: Path | None = None) -> dict[str, Template]:
    """Every letter's template (and common.txt): from `folder` where it has one, else the
    packaged one. Read and checked once, at start-up: a bad one stops the start."""
    loaded = {}
    for name in [_COMMON, *(kind.value for kind in LetterKind)]:
        override = None if folder is None else folder / f"{name}.txt"
        if override is not None and override.is_file():
            source, text = str(override), override.read_text(encoding="utf-8")
        else:
            source, text = f"templates/{name}.txt", (PACKAGED / f"{name}.txt").read_text("utf-8")
        loaded[name] = Template.parse(text, source)
    for name in ("greeting", "greeting-unnamed", "signature", "if-not-you"):
        loaded[_COMMON].header(name, "common.txt")
    for kind in LetterKind:
        for name in ("subject", "link"):
            loaded[kind.value].header(name, f"{kind.value}.txt")
    return loaded


def _duration(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = round(minutes / 60)
    return f"{hours} hours" if hours < 48 else f"{round(hours / 24)} days"


def _as_is(user_agent: str) -> str:
    return user_agent or "an unnamed client"


class LetterWriter:
    """Writes a letter as the message the outbox sends, from its template.

    `describe_device` names a client's User-Agent as a person knows it ("Firefox on Linux");
    `support` is who a user writes to when something happened that they did not do.
    """

    def __init__(
        self,
        sender: str,
        base_url: str,
        *,
        templates: Mapping[str, Template] | None = None,
        product: str = "coatcheck",
        support: str | None = None,
        describe_device: Callable[[str], str] = _as_is,
    ) -> None:
        self._sender = sender
        self._base = base_url.rstrip("/")
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or None
        self._templates = templates or load_templates()
        self._product = product
        self._support = support or parseaddr(sender)[1] or sender
        self._describe_device = describe_device

    def link(self, letter: Letter) -> str:
        """The page a letter points to: with its token, the link that uses it."""
        if letter.token is None:
            return self._base + ACCOUNT_PAGE
        return f"{self._base}{ACCOUNT_PAGE}#{LINK_ACTIONS[letter.kind]}={letter.token.value}"

    def __call__(self, letter: Letter, key: str | None = None) -> EmailMessage:
        """`key` names the letter for good: its retries keep one Message-ID."""
        values = self._values(letter)
        common, own = self._templates[_COMMON], self._templates[letter.kind.value]

        def fill(text: str) -> str:
            return string.Template(text).safe_substitute(values)

        values["if_not_you"] = fill(common.headers["if-not-you"])
        paragraphs = [fill(paragraph) for paragraph in own.paragraphs]
        greeting = fill(common.headers["greeting" if letter.name else "greeting-unnamed"])
        signature = fill(common.headers["signature"])
        message = EmailMessage()
        message["Subject"] = fill(own.headers["subject"])
        message["From"] = self._sender
        message["To"] = letter.to.value
        message["Date"] = format_datetime(letter.at)
        message["Message-ID"] = (
            make_msgid(domain=self._domain)
            if key is None
            else f"<{key}@{self._domain or 'localhost'}>"
        )
        message["Auto-Submitted"] = "auto-generated"
        link = values["link"]
        message.set_content("\n\n".join([greeting, *paragraphs, link, signature]) + "\n")
        markup = [f"<p>{html.escape(text)}</p>" for text in (greeting, *paragraphs)]
        link_text = html.escape(fill(own.headers["link"]))
        markup.append(f'<p><a href="{html.escape(link, quote=True)}">{link_text}</a></p>')
        markup.append(f"<p>{html.escape(signature)}</p>")
        message.add_alternative(
            "<!doctype html>\n<html><body>\n" + "\n".join(markup) + "\n</body></html>\n",
            subtype="html",
        )
        return message

    def _values(self, letter: Letter) -> dict[str, str]:
        client = letter.client
        if client is None:
            device = "an unknown client"
        else:
            device = (
                f"{self._describe_device(client.user_agent)}"
                f" (address {client.address or 'unknown'})"
            )
        return {
            "name": letter.name.value if letter.name else "",
            "email": letter.to.value,
            "product": self._product,
            "support": self._support,
            "link": self.link(letter),
            "valid": _duration(letter.valid_for or timedelta(0)),
            "when": letter.at.strftime("%Y-%m-%d %H:%M UTC"),
            "device": device,
            "new_email": letter.new_email.value if letter.new_email else "another address",
        }

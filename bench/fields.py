"""What the benchmark users send: one password, and emails, names and User-Agents of the
exact lengths the targets name (issue 8: a 27-byte email, a 12-byte name and a 110-byte
User-Agent; at most 254, 100 and 256)."""

from __future__ import annotations

PASSWORD = "bench password 1234"  # noqa: S105 -- the throwaway users' password
USER_AGENT_LENGTH = 110
EMAIL_LENGTH = 27
NAME_LENGTH = 12
MAX_USER_AGENT_LENGTH = 256
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 100

_BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 bench/"
)


def user_agent(length: int = USER_AGENT_LENGTH) -> str:
    return _padded(_BROWSER, length)


LOCAL_PART_MAX = 64  # RFC 5321; a domain's labels at most 63
_DOMAIN = "bench.test"


def email(number: int, length: int = EMAIL_LENGTH) -> str:
    """An address of exactly `length` bytes that coatcheck accepts: the local part padded
    up to 64, then the domain lengthened by labels of at most 63."""
    local = _padded(f"u{number:07d}.", min(LOCAL_PART_MAX, length - len(_DOMAIN) - 1))
    extra = length - len(local) - 1 - len(_DOMAIN)
    if extra == 1:  # no room for a label and its dot: one byte moves out of the local part
        local, extra = local[:-1], 2
    labels = []
    while extra > 0:
        size = min(63, extra - 1)  # the label and its dot
        if extra - size - 1 == 1:  # leave room for one more label, not a lone dot
            size -= 1
        labels.append("d" * size)
        extra -= size + 1
    return local + "@" + ".".join([*labels, _DOMAIN])


def name(number: int, length: int = NAME_LENGTH) -> str:
    return _padded(f"Bench {number:06d}", length)


def _padded(text: str, length: int) -> str:
    if len(text) > length:
        raise ValueError(f"{text!r} is longer than {length}")
    return text + "x" * (length - len(text))

"""One cookie of a request, read without aiohttp's general Cookie parser when the header is
plain: `name=value` pairs joined by ";" or "; ", names and values of the characters
aiohttp's own parser takes as they are (no quotes, no spaces, no backslash). For such a
header both give the same value for every name (tests/unit/test_cookie_header.py checks
it against aiohttp's parser); any other header goes to aiohttp's parser (request.cookies).

Why: aiohttp's parser makes a Morsel per cookie, several microseconds per request, and the
authenticated check needs one value.
"""

from __future__ import annotations

import re

from aiohttp import hdrs, web

# The characters of aiohttp's cookie pattern (aiohttp/_cookie_helpers.py, re.ASCII): a name
# also valid for its name check (so no ","), a value without "=" only where a name is.
_NAME = r"[\w!#%&'~`><@:/$*+\-.^|)(?}{\[\]]+"
_VALUE = r"[\w!#%&'~`><@,:/$*+\-.^|)(?}{=\[\]]*"
_PLAIN = re.compile(rf"{_NAME}={_VALUE}(?:; ?{_NAME}={_VALUE})*", re.ASCII)


def cookie_of(request: web.BaseRequest, name: str) -> str | None:
    """What `request.cookies.get(name)` answers, cheaper when the header is plain."""
    header = request.headers.get(hdrs.COOKIE)
    if header is None:
        return None
    if not is_plain(header):
        return request.cookies.get(name)
    return plain_cookie(header, name)


def is_plain(header: str) -> bool:
    return _PLAIN.fullmatch(header) is not None


def plain_cookie(header: str, name: str) -> str | None:
    """The value of `name` in a plain header (the last one, as aiohttp keeps it)."""
    found = None
    for pair in header.split(";"):
        key, _, value = pair.lstrip(" ").partition("=")
        if key == name:
            found = value
    return found

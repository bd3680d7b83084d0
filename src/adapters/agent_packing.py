"""User-Agents packed for storage: raw DEFLATE against a preset dictionary of the
User-Agents browsers and HTTP clients send, so that a typical 110-byte browser User-Agent
takes about 20 bytes in a session record, and comes back whole (nothing is cut: the
session list shows exactly what the client sent, up to the model's 256 characters).

A packed value is bytes, its first byte the dictionary's version; a value that packing
would not shorten stays text, as records written before packing hold it. The dictionary
of a version never changes once records use it: a new one takes a new version.
"""

from __future__ import annotations

import functools
import zlib

from coatcheck.domain.model import USER_AGENT_MAX_LENGTH

_VERSION = 1
_DICTIONARIES = {
    _VERSION: " ".join(
        (
            "curl/8.5.0 Wget/1.21.4 python-requests/2.32.3 python-httpx/0.28.1",
            "Python/3.12 aiohttp/3.11.0 okhttp/4.12.0 Go-http-client/2.0 axios/1.7.9",
            "PostmanRuntime/7.43.0 node-fetch Dart/3.6 (dart:io) CFNetwork/1568.200.51",
            "Darwin/24.1.0 OPR/115.0.0.0 YaBrowser/24.12.0.0 Vivaldi/7.0.3495.27",
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko)",
            "SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (iPad; CPU OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like",
            "Gecko) CriOS/131.0.6778.103 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15",
            "(KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML,",
            "like Gecko) Version/18.2 Safari/605.1.15",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:134.0) Gecko/20100101",
            "Firefox/134.0",
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:134.0) Gecko/20100101 Firefox/134.0",
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko)",
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML,",
            "like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
            "Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)",
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)",
            "Chrome/131.0.0.0 Safari/537.36",
        )
    ).encode()
}
_RAW_DEFLATE = -15
_LONGEST = 4 * USER_AGENT_MAX_LENGTH  # UTF-8 bytes of the longest User-Agent kept
PACKED_KEPT = 1024  # User-Agents packed lately (a renewal packs its session's again)


@functools.lru_cache(maxsize=PACKED_KEPT)
def pack(agent: str) -> bytes | str:
    """The User-Agent as stored: packed, or as it is when packing would not shorten it."""
    text = agent.encode()
    packer = zlib.compressobj(
        9, zlib.DEFLATED, _RAW_DEFLATE, 9, zlib.Z_DEFAULT_STRATEGY, _DICTIONARIES[_VERSION]
    )
    packed = bytes([_VERSION]) + packer.compress(text) + packer.flush()
    return packed if len(packed) < len(text) else agent


def unpack(stored: bytes | str) -> str:
    """The User-Agent a stored value holds."""
    if isinstance(stored, str):
        return stored
    unpacker = zlib.decompressobj(_RAW_DEFLATE, _DICTIONARIES[stored[0]])
    text = unpacker.decompress(stored[1:], _LONGEST)
    if not unpacker.eof:
        raise ValueError("a packed User-Agent longer than any stored")
    return text.decode()

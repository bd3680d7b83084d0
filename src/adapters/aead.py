"""Data sealed at rest with AES-256-GCM: one wrapper for every sealed thing (the second
factor's secrets, the outbox's contents).

A sealed value is: version (1 byte), the first 4 bytes of the SHA-256 of its key (which of
the configured keys sealed it), a 96-bit random nonce, then the ciphertext with its tag.
The associated data (a user's id, an outbox entry's id) binds it to its owner: a sealed value
copied to another row does not open. Keys rotate: the first seals, every one of them opens.

Factor keys (FACTOR_KEYS) are never derived from SESSION_SECRET: changing that ends every
session, and must not lock out every authenticator app.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from coatcheck.domain.errors import FactorKeysMissing, InvalidValue

KEY_BYTES = 32
_VERSION = b"\x01"
_NONCE_BYTES = 12
_ID_BYTES = 4


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:_ID_BYTES]


class AeadSealer:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys or any(len(key) != KEY_BYTES for key in keys):
            raise ValueError(f"sealing keys must be {KEY_BYTES} bytes each, at least one")
        self._newest = (key_id(keys[0]), AESGCM(keys[0]))
        self._by_id = {key_id(key): AESGCM(key) for key in reversed(keys)}

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        identity, cipher = self._newest
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + identity + nonce + cipher.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """The plaintext; InvalidValue if no configured key sealed it, or if it was altered
        or sealed for another context."""
        head = len(_VERSION) + _ID_BYTES
        cipher = self._by_id.get(sealed[len(_VERSION) : head])
        if sealed[:1] != _VERSION or cipher is None:
            raise InvalidValue("sealed under no configured key")
        nonce, body = sealed[head : head + _NONCE_BYTES], sealed[head + _NONCE_BYTES :]
        try:
            return cipher.decrypt(nonce, body, context)
        except InvalidTag:
            raise InvalidValue("sealed value altered, or bound to another owner") from None

    def __repr__(self) -> str:
        return "AeadSealer(<keys redacted>)"


class NoSealer:
    """Where no factor key is configured (shared stores without FACTOR_KEYS): the
    authenticator app cannot be used, and says so; everything else works."""

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        raise FactorKeysMissing()

    def open(self, sealed: bytes, context: bytes) -> bytes:
        raise FactorKeysMissing()

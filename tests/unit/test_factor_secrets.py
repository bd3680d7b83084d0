"""The authenticator app's secret sealed at rest (AES-GCM under FACTOR_KEYS, rotatable), and
the RFC 6238 codes it makes."""

from __future__ import annotations

import os
import uuid

import pyotp
import pytest

from coatcheck.adapters.aead import AeadSealer
from coatcheck.adapters.totp import PyotpPasswords
from coatcheck.domain.errors import InvalidValue

ADA, BOB = uuid.uuid4().bytes, uuid.uuid4().bytes


def test_a_sealed_secret_opens_to_what_was_sealed_and_holds_no_clear_text() -> None:
    sealer = AeadSealer([os.urandom(32)])

    sealed = sealer.seal(b"JBSWY3DPEHPK3PXP", ADA)

    assert b"JBSWY3DPEHPK3PXP" not in sealed
    assert sealer.open(sealed, ADA) == b"JBSWY3DPEHPK3PXP"


def test_a_secret_sealed_under_an_older_key_still_opens_after_a_rotation() -> None:
    old, new = os.urandom(32), os.urandom(32)
    sealed = AeadSealer([old]).seal(b"secret", ADA)

    rotated = AeadSealer([new, old])

    assert rotated.open(sealed, ADA) == b"secret"
    assert AeadSealer([new]).open(rotated.seal(b"secret", ADA), ADA) == b"secret"


def test_a_secret_sealed_under_a_key_no_longer_configured_does_not_open() -> None:
    sealed = AeadSealer([os.urandom(32)]).seal(b"secret", ADA)

    with pytest.raises(InvalidValue):
        AeadSealer([os.urandom(32)]).open(sealed, ADA)


def test_a_secret_copied_to_another_user_does_not_open() -> None:
    sealer = AeadSealer([os.urandom(32)])

    with pytest.raises(InvalidValue):
        sealer.open(sealer.seal(b"secret", ADA), BOB)


def test_an_altered_sealed_secret_does_not_open() -> None:
    sealer = AeadSealer([os.urandom(32)])
    sealed = bytearray(sealer.seal(b"secret", ADA))
    sealed[-1] ^= 1

    with pytest.raises(InvalidValue):
        sealer.open(bytes(sealed), ADA)


def test_a_sealer_never_prints_its_keys() -> None:
    key = os.urandom(32)
    assert key.hex() not in repr(AeadSealer([key]))


def test_codes_are_those_any_authenticator_app_computes() -> None:
    passwords = PyotpPasswords()
    secret = passwords.new_secret()

    assert passwords.code(secret, 1000) == pyotp.TOTP(secret).at(1000 * 30)
    assert passwords.uri(secret, "ada@example.com", "coatcheck").startswith(
        "otpauth://totp/coatcheck:ada%40example.com?secret="
    )

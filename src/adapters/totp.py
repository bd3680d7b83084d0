"""The authenticator app's algorithm, RFC 6238 (SHA-1, 6 digits, 30 seconds), by pyotp."""

from __future__ import annotations

import pyotp

from coatcheck.domain.factors import TOTP_DIGITS, TOTP_PERIOD_SECONDS


class PyotpPasswords:
    def new_secret(self) -> str:
        return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends

    def code(self, secret: str, step: int) -> str:
        return self._totp(secret).generate_otp(step)

    def uri(self, secret: str, account: str, issuer: str) -> str:
        return self._totp(secret).provisioning_uri(name=account, issuer_name=issuer)

    @staticmethod
    def _totp(secret: str) -> pyotp.TOTP:
        return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_SECONDS)

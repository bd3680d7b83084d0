"""Passkeys by py_webauthn: options out, credentials checked, for one relying party.

User verification is required both ways (py_webauthn's default is not to): a passkey then
counts as both factors. Every failure is InvalidValue with a fixed reason, never the input.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from coatcheck.domain.errors import InvalidValue
from coatcheck.domain.factors import NewCredential, Passkey
from coatcheck.domain.model import User

RP_NAME = "coatcheck"
TIMEOUT_MS = 5 * 60 * 1000  # as long as a challenge lives


def _credential(value: object) -> dict[str, Any] | str:
    if not isinstance(value, dict | str):
        raise InvalidValue("must be a PublicKeyCredential as JSON")
    return cast(dict[str, Any] | str, value)


class WebAuthnCeremonies:
    def __init__(self, rp_id: str, origin: str) -> None:
        self._rp_id = rp_id
        self._origin = origin

    def registration_options(
        self, user: User, challenge: bytes, exclude: Sequence[bytes]
    ) -> dict[str, object]:
        options = generate_registration_options(
            rp_id=self._rp_id,
            rp_name=RP_NAME,
            user_id=user.id.bytes,
            user_name=user.email.value,
            user_display_name=user.name.value,
            challenge=challenge,
            timeout=TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=known) for known in exclude],
        )
        return cast(dict[str, object], json.loads(options_to_json(options)))

    def verify_registration(self, credential: object, challenge: bytes) -> NewCredential:
        try:
            verified = verify_registration_response(
                credential=_credential(credential),
                expected_challenge=challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origin,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise InvalidValue("the passkey's registration does not verify") from None
        return NewCredential(
            verified.credential_id, verified.credential_public_key, verified.sign_count
        )

    def authentication_options(self, challenge: bytes, allow: Sequence[bytes]) -> dict[str, object]:
        options = generate_authentication_options(
            rp_id=self._rp_id,
            challenge=challenge,
            timeout=TIMEOUT_MS,
            allow_credentials=[PublicKeyCredentialDescriptor(id=known) for known in allow],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return cast(dict[str, object], json.loads(options_to_json(options)))

    def credential_id(self, credential: object) -> bytes:
        try:
            return bytes(parse_authentication_credential_json(_credential(credential)).raw_id)
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise InvalidValue("must be a PublicKeyCredential as JSON") from None

    def verify_authentication(self, credential: object, challenge: bytes, passkey: Passkey) -> int:
        try:
            verified = verify_authentication_response(
                credential=_credential(credential),
                expected_challenge=challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise InvalidValue("the passkey's assertion does not verify") from None
        return verified.new_sign_count

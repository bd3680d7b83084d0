"""Checking a password against a stored hash in each form it may have been hashed in."""

from __future__ import annotations

from coatcheck.domain.model import Password
from coatcheck.domain.ports import PasswordHasher


def _forms(password: Password) -> list[Password]:
    typed = password.as_typed()
    return [password] if typed is None else [password, typed]


async def matching_form(
    hasher: PasswordHasher, password: Password, password_hash: str
) -> Password | None:
    """The form of the password that the hash was made of: its normalised form or, for a
    hash made before passwords were normalised, the form it was typed in; None if neither.
    A miss costs what `spend_a_miss` costs."""
    for form in _forms(password):
        if await hasher.verify(form, password_hash):
            return form
    return None


async def spend_a_miss(hasher: PasswordHasher, password: Password) -> None:
    """What checking this password against a hash it misses costs, for an email that has no
    user: as many verifications as `matching_form` makes."""
    for form in _forms(password):
        await hasher.verify_dummy(form)

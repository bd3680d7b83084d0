"""A password change racing a log-in or another change: the change always wins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from coatcheck.adapters.bcrypt_hasher import BcryptHasher
from coatcheck.domain.errors import InvalidCredentials, WrongPassword
from coatcheck.domain.model import NewPassword, Password
from tests.unit.conftest import CLIENT, PASSWORD, Build

NEW_PASSWORD = "a brand new password"


class InterleavingHasher:
    """The real hasher; right after the first successful check, runs `meanwhile` as if
    another request had done it at that very moment."""

    def __init__(self, inner: BcryptHasher) -> None:
        self._inner = inner
        self.meanwhile: Callable[[], Awaitable[None]] | None = None

    async def hash(self, password: Password) -> str:
        return await self._inner.hash(password)

    async def verify(self, password: Password, password_hash: str) -> bool:
        verified = await self._inner.verify(password, password_hash)
        if verified and self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            await meanwhile()
        return verified

    async def verify_dummy(self, password: Password) -> None:
        await self._inner.verify_dummy(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._inner.needs_rehash(password_hash)


@pytest.fixture
def interleaving(hasher: BcryptHasher) -> InterleavingHasher:
    return InterleavingHasher(hasher)


async def test_log_in_that_checked_the_old_password_during_a_change_gets_no_session(
    build: Build, interleaving: InterleavingHasher
) -> None:
    app = await build(hasher=interleaving)
    caller = await app.sign_up()

    async def change_password() -> None:
        authenticated = await app.authenticate(caller.ticket)
        await app.change_password(
            authenticated, Password(PASSWORD), NewPassword(NEW_PASSWORD), CLIENT
        )

    interleaving.meanwhile = change_password
    with pytest.raises(InvalidCredentials):
        await app.logged_in()
    assert app.user_session_count(caller.user.id) == 1  # only the changer's new session


async def test_a_cost_upgrade_never_overwrites_a_password_changed_meanwhile(
    build: Build, interleaving: InterleavingHasher
) -> None:
    stronger = BcryptHasher(rounds=5)
    try:
        app = await build(hasher=interleaving)
        user = await app.add_user()
        old_hash = await stronger.hash(Password(PASSWORD))
        await app.users.set_password_hash(user.id, old_hash, user.password_hash)
    finally:
        stronger.close()
    changed_hash = await interleaving.hash(Password(NEW_PASSWORD))

    async def change_password() -> None:
        await app.users.set_password_hash(user.id, changed_hash, old_hash)

    interleaving.meanwhile = change_password
    with pytest.raises(InvalidCredentials):
        await app.logged_in()
    assert app.users.by_id[user.id].password_hash == changed_hash


async def test_of_two_racing_password_changes_only_one_wins(
    build: Build, interleaving: InterleavingHasher
) -> None:
    app = await build(hasher=interleaving)
    caller = await app.sign_up()
    authenticated = await app.authenticate(caller.ticket)
    other_hash = await interleaving.hash(Password("someone else's choice"))

    async def other_change() -> None:
        await app.users.set_password_hash(caller.user.id, other_hash, caller.user.password_hash)

    interleaving.meanwhile = other_change
    with pytest.raises(WrongPassword):
        await app.change_password(
            authenticated, Password(PASSWORD), NewPassword(NEW_PASSWORD), CLIENT
        )
    assert app.users.by_id[caller.user.id].password_hash == other_hash

"""The Factors port, as every user store (memory, SQLite, PostgreSQL) must honour it: a
user's authenticator app, recovery codes and passkeys, kept beside the user."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from coatcheck.domain.factors import FactorSummary, Passkey, PasskeyName
from tests.contract.conftest import FactorStore
from tests.factories import NOW, make_user

SEALED = b"\x01sealed-secret"


async def stored_user_id(store: FactorStore, email: str = "ada@example.com") -> uuid.UUID:
    user = make_user(email)
    await store.users.add(user)
    return user.id


def passkey(user_id: uuid.UUID, credential: bytes = b"cred-1", count: int = 0) -> Passkey:
    return Passkey(credential, user_id, b"public-key", count, PasskeyName("Laptop"), NOW)


async def test_a_user_without_factors_has_none(factor_store: FactorStore) -> None:
    user_id = await stored_user_id(factor_store)

    assert await factor_store.factors.summary(user_id) == FactorSummary()
    assert await factor_store.factors.totp(user_id) is None


async def test_an_app_counts_only_once_activated(factor_store: FactorStore) -> None:
    user_id = await stored_user_id(factor_store)

    assert await factor_store.factors.start_totp(user_id, SEALED) is True
    assert (await factor_store.factors.summary(user_id)).totp is False
    assert await factor_store.factors.activate_totp(user_id, SEALED, 100) is True

    setup = await factor_store.factors.totp(user_id)
    assert setup is not None
    assert (setup.sealed_secret, setup.active, setup.last_step) == (SEALED, True, 100)
    assert (await factor_store.factors.summary(user_id)).totp is True


async def test_a_new_setup_replaces_an_inactive_one_never_an_active_one(
    factor_store: FactorStore,
) -> None:
    user_id = await stored_user_id(factor_store)
    await factor_store.factors.start_totp(user_id, SEALED)
    assert await factor_store.factors.start_totp(user_id, b"other") is True
    assert await factor_store.factors.activate_totp(user_id, SEALED, 1) is False  # replaced
    assert await factor_store.factors.activate_totp(user_id, b"other", 1) is True

    assert await factor_store.factors.start_totp(user_id, b"third") is False

    setup = await factor_store.factors.totp(user_id)
    assert setup is not None
    assert setup.sealed_secret == b"other"


async def test_a_code_step_is_used_once_and_never_an_earlier_one(
    factor_store: FactorStore,
) -> None:
    user_id = await stored_user_id(factor_store)
    await factor_store.factors.start_totp(user_id, SEALED)
    await factor_store.factors.activate_totp(user_id, SEALED, 100)

    assert await factor_store.factors.use_totp_step(user_id, 100) is False
    assert await factor_store.factors.use_totp_step(user_id, 101) is True
    assert await factor_store.factors.use_totp_step(user_id, 101) is False
    assert await factor_store.factors.use_totp_step(user_id, 99) is False


async def test_of_parallel_uses_of_one_code_one_wins(factor_store: FactorStore) -> None:
    user_id = await stored_user_id(factor_store)
    await factor_store.factors.start_totp(user_id, SEALED)
    await factor_store.factors.activate_totp(user_id, SEALED, 100)

    wins = await asyncio.gather(
        *(factor_store.factors.use_totp_step(user_id, 101) for _ in range(5))
    )

    assert sorted(wins) == [False, False, False, False, True]


async def test_an_inactive_app_accepts_no_code(factor_store: FactorStore) -> None:
    user_id = await stored_user_id(factor_store)
    await factor_store.factors.start_totp(user_id, SEALED)

    assert await factor_store.factors.use_totp_step(user_id, 5) is False


async def test_a_removed_app_is_gone(factor_store: FactorStore) -> None:
    user_id = await stored_user_id(factor_store)
    await factor_store.factors.start_totp(user_id, SEALED)

    assert await factor_store.factors.remove_totp(user_id) is True
    assert await factor_store.factors.remove_totp(user_id) is False
    assert await factor_store.factors.totp(user_id) is None


async def test_no_factor_is_kept_for_a_user_that_does_not_exist(
    factor_store: FactorStore,
) -> None:
    nobody = uuid.uuid4()

    assert await factor_store.factors.start_totp(nobody, SEALED) is False
    assert await factor_store.factors.add_passkey(passkey(nobody)) is False
    await factor_store.factors.set_recovery_codes(nobody, ["a"])
    assert await factor_store.factors.summary(nobody) == FactorSummary()


async def test_a_recovery_code_is_used_once(factor_store: FactorStore) -> None:
    user_id = await stored_user_id(factor_store)
    await factor_store.factors.set_recovery_codes(user_id, ["a", "b", "c"])

    assert await factor_store.factors.use_recovery_code(user_id, "b") is True
    assert await factor_store.factors.use_recovery_code(user_id, "b") is False
    assert (await factor_store.factors.summary(user_id)).recovery_codes == 2


async def test_a_new_set_of_recovery_codes_voids_the_old(factor_store: FactorStore) -> None:
    user_id = await stored_user_id(factor_store)
    await factor_store.factors.set_recovery_codes(user_id, ["a", "b"])
    await factor_store.factors.set_recovery_codes(user_id, ["c"])

    assert await factor_store.factors.use_recovery_code(user_id, "a") is False
    assert await factor_store.factors.use_recovery_code(user_id, "c") is True


async def test_a_recovery_code_is_the_users_own(factor_store: FactorStore) -> None:
    ada = await stored_user_id(factor_store)
    bob = await stored_user_id(factor_store, "bob@example.com")
    await factor_store.factors.set_recovery_codes(ada, ["a"])

    assert await factor_store.factors.use_recovery_code(bob, "a") is False


async def test_a_passkey_reads_back_and_lists_with_its_user(factor_store: FactorStore) -> None:
    user_id = await stored_user_id(factor_store)
    first = passkey(user_id, b"one")
    second = Passkey(b"two", user_id, b"pk", 3, PasskeyName("Phone"), NOW + timedelta(1))

    assert await factor_store.factors.add_passkey(first) is True
    assert await factor_store.factors.add_passkey(second) is True
    assert await factor_store.factors.add_passkey(first) is False  # registered already

    assert await factor_store.factors.passkey(b"one") == first
    assert list(await factor_store.factors.passkeys(user_id)) == [first, second]
    assert (await factor_store.factors.summary(user_id)).passkeys == 2


async def test_a_passkey_is_renamed_and_removed_only_by_its_user(
    factor_store: FactorStore,
) -> None:
    ada = await stored_user_id(factor_store)
    bob = await stored_user_id(factor_store, "bob@example.com")
    await factor_store.factors.add_passkey(passkey(ada))

    assert await factor_store.factors.rename_passkey(bob, b"cred-1", PasskeyName("x")) is False
    assert await factor_store.factors.remove_passkey(bob, b"cred-1") is False
    assert await factor_store.factors.rename_passkey(ada, b"cred-1", PasskeyName("Key")) is True

    renamed = await factor_store.factors.passkey(b"cred-1")
    assert renamed is not None
    assert renamed.name == PasskeyName("Key")
    assert await factor_store.factors.remove_passkey(ada, b"cred-1") is True
    assert await factor_store.factors.passkey(b"cred-1") is None


async def test_a_passkey_use_is_recorded_only_over_the_counter_read(
    factor_store: FactorStore,
) -> None:
    user_id = await stored_user_id(factor_store)
    await factor_store.factors.add_passkey(passkey(user_id, count=5))
    later = NOW + timedelta(minutes=1)

    assert await factor_store.factors.use_passkey(b"cred-1", 5, 6, later) is True
    assert await factor_store.factors.use_passkey(b"cred-1", 5, 7, later) is False

    used = await factor_store.factors.passkey(b"cred-1")
    assert used is not None
    assert (used.sign_count, used.last_used_at) == (6, later)


async def test_removing_all_factors_says_what_there_was(factor_store: FactorStore) -> None:
    user_id = await stored_user_id(factor_store)
    await factor_store.factors.start_totp(user_id, SEALED)
    await factor_store.factors.activate_totp(user_id, SEALED, 1)
    await factor_store.factors.add_passkey(passkey(user_id))
    await factor_store.factors.set_recovery_codes(user_id, ["a", "b"])

    assert await factor_store.factors.remove_all(user_id) == FactorSummary(True, 1, 2)
    assert await factor_store.factors.summary(user_id) == FactorSummary()
    assert await factor_store.factors.totp(user_id) is None


async def test_a_removed_user_takes_their_factors_along(factor_store: FactorStore) -> None:
    user_id = await stored_user_id(factor_store)
    await factor_store.factors.start_totp(user_id, SEALED)
    await factor_store.factors.add_passkey(passkey(user_id))
    await factor_store.factors.set_recovery_codes(user_id, ["a"])

    await factor_store.users.remove(user_id)

    assert await factor_store.factors.summary(user_id) == FactorSummary()
    assert await factor_store.factors.passkey(b"cred-1") is None

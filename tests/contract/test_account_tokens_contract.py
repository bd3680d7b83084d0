"""The AccountTokens and KnownDevices ports, as every user store (memory, SQLite, PostgreSQL)
must honour them: they keep what a user owns, beside the user."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs

from coatcheck.domain.model import Email
from coatcheck.domain.tokens import TokenPurpose, TokenRecord
from tests.contract.conftest import UserStore
from tests.factories import NOW, digest_for, make_user

RESET, VERIFY, CHANGE = (
    TokenPurpose.PASSWORD_RESET,
    TokenPurpose.VERIFY_EMAIL,
    TokenPurpose.CHANGE_EMAIL,
)
LATER = NOW + timedelta(minutes=30)


async def stored_user(store: UserStore, email: str = "ada@example.com") -> TokenRecord:
    """A stored user's token record template (for a password reset, live for 30 minutes)."""
    user = make_user(email)
    await store.users.add(user)
    return TokenRecord(RESET, user.id, user.email, LATER)


async def test_an_issued_token_is_taken_once(user_store: UserStore) -> None:
    record = await stored_user(user_store)
    await user_store.tokens.issue(digest_for("t"), record, NOW)

    assert await user_store.tokens.take(digest_for("t"), RESET) == record
    assert await user_store.tokens.take(digest_for("t"), RESET) is None


async def test_a_token_is_not_taken_for_another_purpose(user_store: UserStore) -> None:
    record = await stored_user(user_store)
    await user_store.tokens.issue(digest_for("t"), record, NOW)

    assert await user_store.tokens.take(digest_for("t"), VERIFY) is None
    assert await user_store.tokens.take(digest_for("t"), RESET) == record


async def test_the_new_address_of_a_change_of_email_round_trips(user_store: UserStore) -> None:
    record = await stored_user(user_store)
    change = TokenRecord(CHANGE, record.user_id, Email("Ada.New@Example.com"), LATER)
    await user_store.tokens.issue(digest_for("t"), change, NOW)

    taken = await user_store.tokens.take(digest_for("t"), CHANGE)

    assert taken == change
    assert taken is not None
    assert taken.email.value == "ada.new@example.com"


async def test_a_newer_token_makes_the_older_of_that_user_and_purpose_useless(
    user_store: UserStore,
) -> None:
    ada = await stored_user(user_store)
    bob = await stored_user(user_store, "bob@example.com")
    tokens = user_store.tokens
    await tokens.issue(digest_for("ada-old"), ada, NOW)
    await tokens.issue(
        digest_for("ada-verify"), TokenRecord(VERIFY, ada.user_id, ada.email, LATER), NOW
    )
    await tokens.issue(digest_for("bob"), bob, NOW)
    await tokens.issue(digest_for("ada-new"), ada, NOW)

    assert await tokens.take(digest_for("ada-old"), RESET) is None
    assert await tokens.take(digest_for("ada-new"), RESET) == ada
    assert await tokens.take(digest_for("ada-verify"), VERIFY) is not None
    assert await tokens.take(digest_for("bob"), RESET) == bob


async def test_an_expired_token_is_still_taken_for_the_caller_to_refuse(
    user_store: UserStore,
) -> None:
    record = await stored_user(user_store)
    expired = TokenRecord(RESET, record.user_id, record.email, NOW - timedelta(seconds=1))
    await user_store.tokens.issue(digest_for("t"), expired, NOW)

    taken = await user_store.tokens.take(digest_for("t"), RESET)

    assert taken == expired
    assert taken is not None
    assert not taken.is_live(NOW)


async def test_issuing_sweeps_every_expired_token(user_store: UserStore) -> None:
    ada = await stored_user(user_store)
    bob = await stored_user(user_store, "bob@example.com")
    await user_store.tokens.issue(digest_for("ada"), ada, NOW)

    await user_store.tokens.issue(digest_for("bob"), bob, LATER + timedelta(seconds=1))

    assert await user_store.tokens.take(digest_for("ada"), RESET) is None


async def test_of_parallel_takes_of_one_token_one_wins(user_store: UserStore) -> None:
    record = await stored_user(user_store)
    await user_store.tokens.issue(digest_for("t"), record, NOW)

    taken = await asyncio.gather(
        *(user_store.tokens.take(digest_for("t"), RESET) for _ in range(8))
    )

    assert [item for item in taken if item is not None] == [record]


async def test_discard_drops_the_users_tokens_of_those_purposes_only(
    user_store: UserStore,
) -> None:
    ada = await stored_user(user_store)
    bob = await stored_user(user_store, "bob@example.com")
    tokens = user_store.tokens
    verify = TokenRecord(VERIFY, ada.user_id, ada.email, LATER)
    await tokens.issue(digest_for("ada-reset"), ada, NOW)
    await tokens.issue(digest_for("ada-verify"), verify, NOW)
    await tokens.issue(digest_for("bob-reset"), bob, NOW)

    await tokens.discard(ada.user_id, [RESET, CHANGE])

    assert await tokens.take(digest_for("ada-reset"), RESET) is None
    assert await tokens.take(digest_for("ada-verify"), VERIFY) == verify
    assert await tokens.take(digest_for("bob-reset"), RESET) == bob


async def test_removing_a_user_drops_their_tokens_and_devices(user_store: UserStore) -> None:
    ada = await stored_user(user_store)
    bob = await stored_user(user_store, "bob@example.com")
    await user_store.tokens.issue(digest_for("ada"), ada, NOW)
    await user_store.tokens.issue(digest_for("bob"), bob, NOW)
    await user_store.devices.remember(ada.user_id, "laptop", NOW)

    assert await user_store.users.remove(ada.user_id) is True

    assert await user_store.tokens.take(digest_for("ada"), RESET) is None
    assert await user_store.tokens.take(digest_for("bob"), RESET) == bob
    await user_store.users.add(attrs.evolve(make_user(), id=ada.user_id))  # back, anew
    assert await user_store.devices.remember(ada.user_id, "phone", NOW) is False  # a first


async def test_a_first_device_is_remembered_without_being_new(user_store: UserStore) -> None:
    record = await stored_user(user_store)
    devices = user_store.devices

    assert await devices.remember(record.user_id, "laptop", NOW) is False
    assert await devices.remember(record.user_id, "laptop", NOW) is False


async def test_a_device_new_to_a_user_seen_on_another_is_new_once(user_store: UserStore) -> None:
    ada = await stored_user(user_store)
    bob = await stored_user(user_store, "bob@example.com")
    devices = user_store.devices
    await devices.remember(ada.user_id, "laptop", NOW)

    assert await devices.remember(ada.user_id, "phone", NOW) is True
    assert await devices.remember(ada.user_id, "phone", NOW) is False
    assert await devices.remember(ada.user_id, "laptop", NOW) is False
    assert await devices.remember(bob.user_id, "phone", NOW) is False  # Bob's first


async def test_a_device_of_a_user_removed_meanwhile_is_not_new(user_store: UserStore) -> None:
    record = await stored_user(user_store)
    await user_store.devices.remember(record.user_id, "laptop", NOW)
    await user_store.users.remove(record.user_id)

    assert await user_store.devices.remember(record.user_id, "phone", NOW) is False

"""The Users port, as every adapter must honour it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import attrs
import pytest

from coatcheck.domain.errors import EmailTaken
from coatcheck.domain.model import Email
from tests.factories import make_user


async def test_added_user_is_found_by_id_and_by_email(users: Any) -> None:
    user = make_user()
    await users.add(user)
    assert await users.get(user.id) == user
    assert await users.by_email(Email("ada@example.com")) == user


async def test_email_look_up_ignores_case(users: Any) -> None:
    user = make_user("Ada@Example.com")
    await users.add(user)
    assert await users.by_email(Email("ADA@EXAMPLE.COM")) == user


async def test_unknown_user_is_none(users: Any) -> None:
    assert await users.get(uuid.uuid4()) is None
    assert await users.by_email(Email("nobody@example.com")) is None


async def test_second_user_with_same_email_in_other_case_is_refused(users: Any) -> None:
    await users.add(make_user("ada@example.com"))
    with pytest.raises(EmailTaken):
        await users.add(make_user("ADA@example.COM"))


async def test_concurrent_adds_of_one_email_store_exactly_one_user(users: Any) -> None:
    candidates = [make_user("race@example.com") for _ in range(20)]
    results = await asyncio.gather(*(users.add(u) for u in candidates), return_exceptions=True)
    assert sum(result is None for result in results) == 1
    assert all(isinstance(r, EmailTaken) for r in results if r is not None)
    stored = await users.by_email(Email("race@example.com"))
    assert stored is not None
    assert stored in candidates


async def test_set_password_hash_changes_only_that_user(users: Any) -> None:
    ada, bob = make_user("ada@example.com"), make_user("bob@example.com")
    await users.add(ada)
    await users.add(bob)
    assert await users.set_password_hash(ada.id, "$2b$04$" + "y" * 53, ada.password_hash)
    stored_ada, stored_bob = await users.get(ada.id), await users.get(bob.id)
    assert stored_ada is not None
    assert stored_ada.password_hash == "$2b$04$" + "y" * 53
    assert stored_bob == bob


async def test_unicode_names_round_trip(users: Any) -> None:
    user = make_user("zoe@example.com", "Zoë Ñúñez 山田")
    await users.add(user)
    assert await users.get(user.id) == user


async def test_set_password_hash_refuses_when_the_hash_changed_meanwhile(users: Any) -> None:
    user = make_user()
    await users.add(user)
    assert await users.set_password_hash(user.id, "first-change", user.password_hash) is True
    assert await users.set_password_hash(user.id, "stale-change", user.password_hash) is False
    stored = await users.get(user.id)
    assert stored is not None
    assert stored.password_hash == "first-change"


async def test_set_password_hash_of_unknown_user_changes_nothing(users: Any) -> None:
    assert await users.set_password_hash(uuid.uuid4(), "new", "old") is False


async def test_a_verified_user_round_trips(users: Any) -> None:
    user = attrs.evolve(make_user(), email_verified=True)
    await users.add(user)
    assert await users.get(user.id) == user


async def test_verify_email_marks_the_address_while_it_is_still_the_users(users: Any) -> None:
    user = make_user()
    await users.add(user)

    assert await users.verify_email(user.id, Email("other@example.com")) is None
    assert (await users.get(user.id)).email_verified is False
    verified = await users.verify_email(user.id, user.email)

    assert verified == attrs.evolve(user, email_verified=True)
    assert await users.get(user.id) == verified
    assert await users.verify_email(uuid.uuid4(), user.email) is None


async def test_change_email_gives_the_new_address_verified(users: Any) -> None:
    user = make_user()
    await users.add(user)

    changed = await users.change_email(user.id, Email("Ada.New@Example.com"), user.email)

    assert changed == attrs.evolve(user, email=Email("ada.new@example.com"), email_verified=True)
    assert await users.by_email(Email("ada.new@example.com")) == changed
    assert await users.by_email(user.email) is None


async def test_change_email_refuses_when_the_address_changed_meanwhile(users: Any) -> None:
    user = make_user()
    await users.add(user)
    await users.change_email(user.id, Email("first@example.com"), user.email)

    assert await users.change_email(user.id, Email("second@example.com"), user.email) is None
    assert (await users.get(user.id)).email == Email("first@example.com")


async def test_change_email_to_another_users_address_in_any_case_is_refused(users: Any) -> None:
    ada, bob = make_user("ada@example.com"), make_user("bob@example.com")
    await users.add(ada)
    await users.add(bob)

    with pytest.raises(EmailTaken):
        await users.change_email(ada.id, Email("BOB@example.com"), ada.email)

    assert await users.get(ada.id) == ada


async def test_remove_deletes_the_user_once(users: Any) -> None:
    ada, bob = make_user("ada@example.com"), make_user("bob@example.com")
    await users.add(ada)
    await users.add(bob)

    assert await users.remove(ada.id) is True
    assert await users.remove(ada.id) is False

    assert await users.get(ada.id) is None
    assert await users.by_email(ada.email) is None
    assert await users.get(bob.id) == bob


async def test_stored_emails_lists_every_user_with_the_address_as_stored(users: Any) -> None:
    ada = make_user()
    old = attrs.evolve(make_user(), email=Email.stored("x,victim@example.com"))
    pending = attrs.evolve(make_user(), email=Email("pending@example.com"))
    await users.add(ada)
    await users.add(old)
    await users.add_pending(pending)

    assert sorted(await users.stored_emails()) == sorted(
        [(ada.id, ada.email.value), (old.id, "x,victim@example.com")]
    )
    found = await users.by_email(Email.for_log_in("X,Victim@example.com"))
    assert found is not None
    assert (found.id, found.email.is_mailbox) == (old.id, False)

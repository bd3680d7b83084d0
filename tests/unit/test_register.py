"""RegisterUser: a new user, stored with a bcrypt hash, and logged in at once."""

from __future__ import annotations

from datetime import datetime

import pytest

from coatcheck.adapters.memory import InMemoryLoginAttempts, InMemorySessions, InMemoryUsers
from coatcheck.domain.errors import EmailTaken, StoreUnavailable, TooManyAttempts
from coatcheck.domain.model import (
    ClientInfo,
    Email,
    Name,
    NewPassword,
    Password,
    Session,
    SessionKind,
    User,
)
from coatcheck.domain.throttle import ThrottlePolicy
from tests.unit.conftest import CLIENT, EMAIL, NAME, PASSWORD, Build, Domain


async def test_register_stores_the_user_with_normalised_email_and_name(app: Domain) -> None:
    logged_in = await app.register_user(
        Email("  Ada@Example.COM "), Name("  Ada Lovelace "), NewPassword(PASSWORD), CLIENT
    )
    stored = app.users.by_id[logged_in.user.id]
    assert stored.email == Email(EMAIL)
    assert stored.name.value == "Ada Lovelace"
    assert stored.created_at == app.clock.now()
    assert list(app.users.by_id) == [logged_in.user.id]


async def test_register_stores_a_bcrypt_hash_never_the_password(app: Domain) -> None:
    logged_in = await app.sign_up()
    stored = app.users.by_id[logged_in.user.id]
    assert stored.password_hash.startswith("$2b$04$")
    assert PASSWORD not in stored.password_hash
    assert await app.hasher.verify(Password(PASSWORD), stored.password_hash)
    assert not await app.hasher.verify(Password(PASSWORD + "!"), stored.password_hash)


async def test_register_logs_the_user_in_under_the_digest_of_the_returned_ticket(
    app: Domain,
) -> None:
    logged_in = await app.sign_up()
    assert app.sessions.by_digest == {app.ticket_key.digest(logged_in.ticket): logged_in.session}
    assert logged_in.session.user_id == logged_in.user.id
    assert logged_in.session.kind is SessionKind.BROWSER
    assert logged_in.session.client == CLIENT
    authenticated = await app.authenticate(logged_in.ticket)
    assert authenticated.session.id == logged_in.session.id


async def test_register_never_stores_the_ticket_itself(app: Domain) -> None:
    logged_in = await app.sign_up()
    assert logged_in.ticket.value not in app.sessions.by_digest


async def test_register_with_remember_me_starts_a_remembered_session(app: Domain) -> None:
    registered = await app.register_user(
        Email(EMAIL), Name(NAME), NewPassword(PASSWORD), CLIENT, SessionKind.REMEMBERED
    )
    logged_in = registered.logged_in
    assert logged_in is not None
    assert logged_in.session.kind is SessionKind.REMEMBERED
    assert logged_in.session.expires_at == app.clock.now() + app.session_policy.persistent.idle


@pytest.mark.parametrize("again", ["ada@example.com", "ADA@EXAMPLE.COM", "  Ada@Example.com "])
async def test_duplicate_email_in_any_case_raises_email_taken_and_creates_nothing(
    app: Domain, again: str
) -> None:
    first = await app.sign_up(EMAIL)
    users_before = dict(app.users.by_id)
    sessions_before = dict(app.sessions.by_digest)

    with pytest.raises(EmailTaken):
        await app.register_user(
            Email(again), Name("Impostor"), NewPassword("another password"), CLIENT
        )

    assert app.users.by_id == users_before
    assert app.sessions.by_digest == sessions_before
    assert app.users.by_id[first.user.id].name.value == NAME


class UsersLosingTheRace(InMemoryUsers):
    """A concurrent registration of the same email lands between look-up and insert."""

    async def by_email(self, email: Email) -> User | None:
        return None


async def test_register_that_loses_a_race_for_the_email_starts_no_session(
    build: Build,
) -> None:
    app = await build(users=UsersLosingTheRace())
    await app.sign_up()
    with pytest.raises(EmailTaken):
        await app.sign_up()
    assert len(app.users.by_id) == 1
    assert len(app.sessions.by_digest) == 1


class BrokenSessions(InMemorySessions):
    async def add(self, digest: str, session: Session) -> None:
        raise StoreUnavailable("session store unavailable")


async def test_no_user_is_left_behind_when_the_session_store_fails(build: Build) -> None:
    app = await build(sessions=BrokenSessions())
    with pytest.raises(StoreUnavailable):
        await app.sign_up()
    assert app.users.by_id == {}


class AttemptsLostAfterTheUser(InMemoryLoginAttempts):
    """The throttles' store, gone by the time the verification letter's spacing is asked."""

    async def claim_lock(self, key: str, until: datetime, now: datetime) -> bool:
        raise StoreUnavailable("throttle store unavailable")


async def test_a_registration_done_is_answered_done_when_the_letter_s_store_fails_after(
    build: Build,
) -> None:
    app = await build(login_attempts=AttemptsLostAfterTheUser())
    logged_in = await app.sign_up()  # no StoreUnavailable: the letter is what it cost
    assert list(app.users.by_id) == [logged_in.user.id]
    assert len(app.sessions.by_digest) == 1


async def test_no_session_is_left_behind_when_the_user_store_refuses(app: Domain) -> None:
    await app.sign_up()
    with pytest.raises(EmailTaken):
        await app.sign_up(email=EMAIL.upper())
    assert len(app.sessions.by_digest) == 1


def _registration(number: int) -> tuple[Email, Name, NewPassword]:
    return Email(f"user{number}@example.com"), Name(NAME), NewPassword(PASSWORD)


async def test_registrations_from_one_address_are_throttled_after_the_limit(
    app: Domain,
) -> None:
    policy = app.throttle_policy
    for number in range(policy.register_limit):
        await app.register_user(*_registration(number), CLIENT)

    with pytest.raises(TooManyAttempts) as raised:
        await app.register_user(*_registration(policy.register_limit), CLIENT)
    assert raised.value.retry_after_seconds == policy.register_window.total_seconds()
    assert "registrations" in str(raised.value)
    assert len(app.users.by_id) == policy.register_limit
    app.clock.advance(policy.register_window)
    await app.register_user(*_registration(policy.register_limit), CLIENT)


async def test_an_email_already_taken_counts_against_the_registration_budget(
    build: Build,
) -> None:
    app = await build(throttle_policy=ThrottlePolicy(register_limit=3))
    await app.sign_up()
    for _ in range(2):
        with pytest.raises(EmailTaken):
            await app.sign_up()

    with pytest.raises(TooManyAttempts):
        await app.sign_up("grace@example.com")


async def test_registrations_count_per_address_ipv6_by_its_prefix(build: Build) -> None:
    app = await build(throttle_policy=ThrottlePolicy(register_limit=2))
    for number, address in enumerate(["2001:db8::1", "2001:db8::2"]):
        await app.register_user(*_registration(number), ClientInfo("x", address))

    with pytest.raises(TooManyAttempts):
        await app.register_user(*_registration(2), ClientInfo("x", "2001:db8::ffff"))
    await app.register_user(*_registration(3), ClientInfo("x", "2001:db8:0:1::1"))
    await app.register_user(*_registration(4), ClientInfo("x", "203.0.113.8"))


async def test_with_the_registration_throttle_off_registrations_are_not_counted(
    build: Build,
) -> None:
    app = await build(throttle_policy=ThrottlePolicy(register_enabled=False, register_limit=1))
    for number in range(5):
        await app.register_user(*_registration(number), CLIENT)

    assert len(app.users.by_id) == 5

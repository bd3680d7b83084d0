"""LogIn: credentials checked in constant work, a fresh ticket every time, hashes kept current."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import bcrypt
import pytest

from coatcheck.adapters.bcrypt_hasher import BcryptHasher
from coatcheck.domain.errors import InvalidCredentials, NotAuthenticated
from coatcheck.domain.model import ClientInfo, Email, Password, SessionKind
from coatcheck.domain.throttle import ThrottlePolicy
from coatcheck.domain.tickets import SessionTicket
from tests.unit.conftest import BCRYPT_ROUNDS, CLIENT, EMAIL, PASSWORD, Build, Domain


class CountingHasher:
    """The real bcrypt hasher behind the port, counting how often a password is checked."""

    def __init__(self, inner: BcryptHasher) -> None:
        self._inner = inner
        self.verifications = 0
        self.hashes = 0

    async def hash(self, password: Password) -> str:
        self.hashes += 1
        return await self._inner.hash(password)

    async def verify(self, password: Password, password_hash: str) -> bool:
        self.verifications += 1
        return await self._inner.verify(password, password_hash)

    async def verify_dummy(self, password: Password) -> None:
        self.verifications += 1
        await self._inner.verify_dummy(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._inner.needs_rehash(password_hash)


@pytest.fixture
def counting(hasher: BcryptHasher) -> CountingHasher:
    return CountingHasher(hasher)


async def test_log_in_with_the_right_password_starts_a_session(app: Domain) -> None:
    user = await app.add_user()
    logged_in = await app.logged_in()
    assert logged_in.user.id == user.id
    assert app.sessions.by_digest == {app.ticket_key.digest(logged_in.ticket): logged_in.session}
    assert logged_in.session.user_id == user.id
    assert logged_in.session.client == CLIENT


async def test_log_in_ignores_the_case_of_the_email(app: Domain) -> None:
    user = await app.add_user(EMAIL)
    logged_in = await app.logged_in(" ADA@Example.com ")
    assert logged_in.user.id == user.id


async def test_each_log_in_issues_a_new_ticket_and_a_new_session(app: Domain) -> None:
    user = await app.add_user()
    first = await app.logged_in()
    second = await app.logged_in()
    assert first.ticket != second.ticket
    assert first.session.id != second.session.id
    assert app.user_session_count(user.id) == 2
    assert (await app.authenticate(first.ticket)).session.id == first.session.id
    assert (await app.authenticate(second.ticket)).session.id == second.session.id


async def test_log_in_replacing_a_session_removes_it_and_issues_another_ticket(
    app: Domain,
) -> None:
    user = await app.add_user()
    old = await app.logged_in()
    new = await app.log_in(Email(EMAIL), Password(PASSWORD), CLIENT, replacing=old.ticket)
    assert new.ticket != old.ticket
    assert app.ticket_key.digest(old.ticket) not in app.sessions.by_digest
    assert app.sessions.by_digest == {app.ticket_key.digest(new.ticket): new.session}
    assert app.user_session_count(user.id) == 1
    with pytest.raises(NotAuthenticated):
        await app.authenticate(old.ticket)


async def test_log_in_never_adopts_a_ticket_the_client_chose(app: Domain) -> None:
    await app.add_user()
    planted = SessionTicket.issue()  # fixed by an attacker, never issued by the server
    logged_in = await app.log_in(Email(EMAIL), Password(PASSWORD), CLIENT, replacing=planted)
    assert logged_in.ticket != planted
    assert app.ticket_key.digest(planted) not in app.sessions.by_digest
    with pytest.raises(NotAuthenticated):
        await app.authenticate(planted)


async def test_failed_log_in_keeps_the_session_it_would_have_replaced(app: Domain) -> None:
    await app.add_user()
    old = await app.logged_in()
    with pytest.raises(InvalidCredentials):
        await app.log_in(Email(EMAIL), Password("wrong password"), CLIENT, replacing=old.ticket)
    assert (await app.authenticate(old.ticket)).session.id == old.session.id


async def test_wrong_password_raises_invalid_credentials_and_starts_no_session(
    app: Domain,
) -> None:
    await app.add_user()
    with pytest.raises(InvalidCredentials):
        await app.logged_in(password="wrong password")
    assert app.sessions.by_digest == {}


async def test_unknown_email_raises_invalid_credentials_and_starts_no_session(
    app: Domain,
) -> None:
    await app.add_user()
    with pytest.raises(InvalidCredentials):
        await app.logged_in("grace@example.com")
    assert app.sessions.by_digest == {}


async def test_wrong_password_and_unknown_email_fail_identically(app: Domain) -> None:
    await app.add_user()
    with pytest.raises(InvalidCredentials) as wrong_password:
        await app.logged_in(password="wrong password")
    with pytest.raises(InvalidCredentials) as unknown_email:
        await app.logged_in("grace@example.com")
    assert type(wrong_password.value) is type(unknown_email.value)
    assert str(wrong_password.value) == str(unknown_email.value)
    assert wrong_password.value.args == unknown_email.value.args


async def test_unknown_email_still_costs_one_hash_verification(
    build: Build, counting: CountingHasher
) -> None:
    app = await build(hasher=counting)
    with pytest.raises(InvalidCredentials):
        await app.logged_in("nobody@example.com")
    assert counting.verifications == 1


async def test_wrong_password_costs_exactly_one_hash_verification(
    build: Build, counting: CountingHasher
) -> None:
    app = await build(hasher=counting)
    await app.add_user()
    with pytest.raises(InvalidCredentials):
        await app.logged_in(password="wrong password")
    assert counting.verifications == 1


async def test_hash_with_another_cost_is_rehashed_at_the_next_successful_log_in(
    app: Domain,
) -> None:
    stronger = BcryptHasher(rounds=BCRYPT_ROUNDS + 1)
    try:
        user = await app.add_user()
        old_hash = await stronger.hash(Password(PASSWORD))
        await app.users.set_password_hash(user.id, old_hash, user.password_hash)
        assert old_hash.startswith("$2b$05$")

        logged_in = await app.logged_in()
    finally:
        stronger.close()

    stored = app.users.by_id[user.id].password_hash
    assert stored != old_hash
    assert stored.startswith("$2b$04$")
    assert logged_in.user.password_hash == stored
    assert await app.hasher.verify(Password(PASSWORD), stored)


async def test_hash_with_another_cost_is_kept_after_a_failed_log_in(app: Domain) -> None:
    stronger = BcryptHasher(rounds=BCRYPT_ROUNDS + 1)
    try:
        user = await app.add_user()
        old_hash = await stronger.hash(Password(PASSWORD))
    finally:
        stronger.close()
    await app.users.set_password_hash(user.id, old_hash, user.password_hash)
    with pytest.raises(InvalidCredentials):
        await app.logged_in(password="wrong password")
    assert app.users.by_id[user.id].password_hash == old_hash


async def test_hash_with_the_current_cost_is_not_rewritten(
    build: Build, counting: CountingHasher
) -> None:
    app = await build(hasher=counting)
    user = await app.add_user()
    assert counting.hashes == 1
    await app.logged_in()
    assert counting.hashes == 1
    assert app.users.by_id[user.id].password_hash == user.password_hash


async def test_remember_me_starts_a_remembered_session_with_the_persistent_lifetime(
    app: Domain,
) -> None:
    await app.add_user()
    logged_in = await app.logged_in(kind=SessionKind.REMEMBERED)
    now = app.clock.now()
    persistent = app.session_policy.persistent
    assert logged_in.session.kind is SessionKind.REMEMBERED
    assert logged_in.session.expires_at == now + persistent.idle
    assert logged_in.session.absolute_expires_at == now + persistent.absolute
    assert (
        app.sessions.by_digest[app.ticket_key.digest(logged_in.ticket)].kind
        is SessionKind.REMEMBERED
    )


async def test_log_in_without_remember_me_starts_a_browser_session(app: Domain) -> None:
    await app.add_user()
    logged_in = await app.logged_in()
    assert logged_in.session.kind is SessionKind.BROWSER
    assert logged_in.session.expires_at == app.clock.now() + app.session_policy.browser.idle


async def test_log_in_keeps_the_client_it_came_from_on_the_session(app: Domain) -> None:
    await app.add_user()
    client = ClientInfo("curl/8.5.0", "198.51.100.23")
    logged_in = await app.logged_in(client=client)
    stored = app.sessions.by_digest[app.ticket_key.digest(logged_in.ticket)]
    assert stored.client == client


async def test_logged_in_result_never_prints_the_ticket_or_the_hash(app: Domain) -> None:
    await app.add_user()
    logged_in = await app.logged_in()
    printed = repr(logged_in)
    assert logged_in.ticket.value not in printed
    assert logged_in.user.password_hash not in printed


DECOMPOSED = "cre\u0300me bru\u0302le\u0301e"  # as some keyboards type it
COMPOSED = "crème brûlée"  # the same text as most keyboards type it


async def test_a_password_typed_in_another_unicode_form_logs_in(app: Domain) -> None:
    await app.sign_up(password=DECOMPOSED)

    logged_in = await app.logged_in(password=COMPOSED)

    assert logged_in.user.email == Email(EMAIL)


async def test_a_hash_made_before_normalisation_logs_in_and_is_rehashed_normalised(
    app: Domain,
) -> None:
    user = await app.add_user()
    legacy = bcrypt.hashpw(DECOMPOSED.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()
    await app.users.set_password_hash(user.id, legacy, user.password_hash)

    await app.logged_in(password=DECOMPOSED)

    stored = app.users.by_id[user.id].password_hash
    assert stored != legacy
    assert await app.hasher.verify(Password(COMPOSED), stored)
    assert (await app.logged_in(password=COMPOSED)).user.id == user.id


async def test_text_with_another_form_costs_as_many_checks_for_unknown_and_known_emails(
    build: Build, counting: CountingHasher
) -> None:
    app = await build(hasher=counting)
    await app.add_user()
    with pytest.raises(InvalidCredentials):
        await app.logged_in(password=DECOMPOSED)
    known = counting.verifications
    with pytest.raises(InvalidCredentials):
        await app.logged_in("nobody@example.com", password=DECOMPOSED)

    assert known == 2
    assert counting.verifications - known == known


async def _median_seconds(attempt: Callable[[], Awaitable[object]], times: int) -> float:
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        with pytest.raises(InvalidCredentials):
            await attempt()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


async def _known_over_unknown(app: Domain, times: int = 11) -> float:
    """How much longer a wrong password takes for a known email than for an unknown one,
    measured in turns so that the machine's load weighs on both alike."""
    known, unknown = [], []
    for _ in range(times):
        known.append(await _median_seconds(lambda: app.logged_in(password="wrong horse"), 1))
        unknown.append(
            await _median_seconds(lambda: app.logged_in("nobody@example.com", "wrong horse"), 1)
        )
    return statistics.median(known) / statistics.median(unknown)


async def _user_with_a_hash_of_cost(app: Domain, cost: int) -> None:
    user = await app.add_user()
    older = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(cost)).decode()
    await app.users.set_password_hash(user.id, older, user.password_hash)


async def test_a_hash_made_at_a_lower_cost_answers_as_slowly_as_an_unknown_email(
    build: Build,
) -> None:
    """After BCRYPT_ROUNDS was raised, accounts that have not logged in since still hold
    hashes of the old cost: they must not answer faster than unknown emails do."""
    hasher = BcryptHasher(rounds=8)
    try:
        app = await build(hasher=hasher, throttle_policy=ThrottlePolicy(enabled=False))
        await _user_with_a_hash_of_cost(app, 4)

        assert 2 / 3 < await _known_over_unknown(app) < 3 / 2  # it was 1 / 16
    finally:
        hasher.close()


async def test_once_a_costlier_hash_was_met_unknown_emails_answer_as_slowly(
    build: Build,
) -> None:
    """After BCRYPT_ROUNDS was lowered, hashes of the old cost remain: once one has been
    checked, every check costs as much, unknown emails included."""
    app = await build(throttle_policy=ThrottlePolicy(enabled=False))  # cost 4
    await _user_with_a_hash_of_cost(app, 8)
    with pytest.raises(InvalidCredentials):
        await app.logged_in(password="wrong horse")

    assert 2 / 3 < await _known_over_unknown(app) < 3 / 2  # it was 16

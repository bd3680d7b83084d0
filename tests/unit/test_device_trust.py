"""The log-in throttle's known devices belong to an account (its user's id), not to an email,
and the throttles' store keys name no email address (issue 18, items 4 and 8)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from coatcheck.adapters.memory import InMemoryLoginAttempts
from coatcheck.domain.errors import InvalidCredentials, TooManyAttempts
from coatcheck.domain.letters import LetterKind
from coatcheck.domain.model import ClientInfo, Email, NewPassword, Password
from coatcheck.domain.tickets import DeviceToken, TicketKey
from tests.unit.conftest import CLIENT, PASSWORD, Build, Domain
from tests.unit.mailbag import Mailbag

BANK = "bank@example.com"
WRONG = "not the password"


def _client(number: int) -> ClientInfo:
    return ClientInfo("Mozilla/5.0 (Test)", f"198.51.100.{number}")


async def _lock(app: Domain, email: str) -> None:
    """Others fail at the account from many addresses until it is locked for everyone."""
    for number in range(app.throttle_policy.account_limit):
        with pytest.raises(InvalidCredentials):
            await app.logged_in(email, WRONG, client=_client(number))
    with pytest.raises(TooManyAttempts):
        await app.logged_in(email, client=_client(99))


async def _guesses_left(app: Domain, email: str, device: DeviceToken) -> int:
    """How many wrong passwords this device gets checked at the account before a 429."""
    for guesses in range(app.throttle_policy.account_limit + 1):
        try:
            await app.logged_in(email, WRONG, client=_client(50), device=device)
        except TooManyAttempts:
            return guesses
        except InvalidCredentials:
            continue
    return guesses


async def test_a_deleted_accounts_devices_get_no_guesses_at_the_next_account_of_its_address(
    app: Domain,
) -> None:
    mallorys = [(await app.sign_up(BANK)).device]
    mallorys += [(await app.logged_in(BANK, client=_client(n))).device for n in range(4)]
    assert None not in mallorys
    assert len(set(mallorys)) == 5
    caller = await app.authenticate((await app.logged_in(BANK)).ticket)
    await app.delete_account(caller, Password(PASSWORD), CLIENT)

    bob = await app.sign_up(BANK, "bob's own passphrase")
    await _lock(app, BANK)

    for device in mallorys:
        assert device is not None
        assert await _guesses_left(app, BANK, device) == 0
    assert bob.device is not None  # Bob's own browser is not held by the lock-out
    assert (await app.logged_in(BANK, "bob's own passphrase", device=bob.device)).user == bob.user


async def test_deleting_an_account_forgets_every_device_known_on_it(
    app: Domain, attempts: InMemoryLoginAttempts
) -> None:
    me = await app.sign_up()
    await app.logged_in(client=_client(1))
    owner = app.throttle_counts.stored(f"user:{me.user.id}")
    assert len(attempts.devices[owner]) == 2

    await app.delete_account(await app.authenticate(me.ticket), Password(PASSWORD), CLIENT)

    assert owner not in attempts.devices


async def test_a_password_reset_forgets_every_device_but_the_one_completing_it(
    app: Domain, outbox: Mailbag
) -> None:
    elsewhere = (await app.sign_up(BANK)).device
    here = (await app.logged_in(BANK, client=_client(1))).device
    assert elsewhere is not None
    assert here is not None
    await app.request_password_reset(Email(BANK), CLIENT)
    await outbox.settle()
    [letter] = [sent for sent in outbox.letters if sent.kind is LetterKind.PASSWORD_RESET]
    assert letter.token is not None

    reset = await app.reset_password(
        letter.token, NewPassword("a new passphrase"), CLIENT, None, here
    )
    await _lock(app, BANK)

    assert reset.device == here
    assert await _guesses_left(app, BANK, elsewhere) == 0
    assert await _guesses_left(app, BANK, here) == app.throttle_policy.account_limit


async def test_a_change_of_email_forgets_every_device_but_the_one_completing_it(
    app: Domain, outbox: Mailbag
) -> None:
    signed_up = await app.sign_up(BANK)
    here = (await app.logged_in(BANK, client=_client(1))).device
    assert signed_up.device is not None
    assert here is not None
    caller = await app.authenticate(signed_up.ticket)
    await app.request_email_change(caller, Password(PASSWORD), Email("new@example.com"), CLIENT)
    await outbox.settle()
    [letter] = [sent for sent in outbox.letters if sent.kind is LetterKind.CONFIRM_NEW_EMAIL]
    assert letter.token is not None

    await app.change_email(letter.token, CLIENT, here)
    await _lock(app, "new@example.com")

    assert await _guesses_left(app, "new@example.com", signed_up.device) == 0
    assert await _guesses_left(app, "new@example.com", here) == app.throttle_policy.account_limit


async def test_no_throttle_key_is_a_plain_digest_of_an_email(
    app: Domain, attempts: InMemoryLoginAttempts, outbox: Mailbag
) -> None:
    await app.sign_up(BANK)
    with pytest.raises(InvalidCredentials):
        await app.logged_in(BANK, WRONG)
    await app.request_password_reset(Email(BANK), CLIENT)
    await outbox.settle()

    digest = hashlib.sha256(BANK.encode()).hexdigest()
    keys = [*attempts.failures, *attempts.locks, *attempts.devices]
    assert any(key.startswith("account:") for key in keys)
    assert any(key.startswith("mail-") and "-account:" in key for key in keys)
    assert all(digest[:16] not in key and "bank" not in key for key in keys)


async def test_throttle_keys_depend_on_the_service_secret(build: Build) -> None:
    stored = []
    for secret in (b"one secret, at least 32 bytes long", b"another secret, 32 bytes or more"):
        app = await build(ticket_key=TicketKey(secret), login_attempts=InMemoryLoginAttempts())
        with pytest.raises(InvalidCredentials):
            await app.logged_in(BANK, WRONG)
        stored.append(set(app.login_attempts.failures))
    assert stored[0].isdisjoint(stored[1])
    assert all(key.startswith(("account:", "address:")) for key in stored[0] | stored[1])


async def test_a_device_stays_known_until_the_device_lifetime_from_its_last_log_in(
    app: Domain,
) -> None:
    device = (await app.sign_up(BANK)).device
    assert device is not None
    app.clock.advance(app.throttle_policy.device_lifetime - timedelta(seconds=1))
    await _lock(app, BANK)
    assert await _guesses_left(app, BANK, device) == app.throttle_policy.account_limit

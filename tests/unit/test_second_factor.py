"""Second factors on the in-memory adapters: the authenticator app, recovery codes, the
second step of a log-in, re-authentication and recent authentication."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.memory import InMemoryFactors
from coatcheck.adapters.totp import PyotpPasswords
from coatcheck.domain.errors import (
    FactorConflict,
    InvalidCode,
    PendingLogInMissing,
    ReauthenticationRequired,
    SecondFactorFailed,
    SecondFactorRequired,
    TooManyAttempts,
    UserNotFound,
    WrongPassword,
)
from coatcheck.domain.factors import RecoveryCode, TotpCode, totp_step
from coatcheck.domain.letters import LetterKind
from coatcheck.domain.model import AuthMethod, Email, NewPassword, Password, SessionKind
from coatcheck.domain.second_step import PendingLogIn, Proof
from coatcheck.domain.sessions import Authenticated, LoggedIn
from tests.unit.conftest import CLIENT, EMAIL, PASSWORD, Domain
from tests.unit.mailbag import Mailbag

APP = PyotpPasswords()


def code_at(secret: str, clock: FakeClock, steps: int = 0) -> TotpCode:
    return TotpCode(APP.code(secret, totp_step(clock.now()) + steps))


async def caller_of(app: Domain, logged_in: LoggedIn) -> Authenticated:
    return await app.authenticate(logged_in.ticket)


async def with_totp(app: Domain, clock: FakeClock) -> tuple[str, list[str]]:
    """Ada, signed up (her address verified, so that every notice reaches her at once) with an
    active authenticator app: its secret and recovery codes."""
    signed_up = await app.sign_up()
    await app.users.verify_email(signed_up.user.id, signed_up.user.email)
    caller = await caller_of(app, signed_up)
    enrolment = await app.set_up_totp(caller)
    added = await app.confirm_totp(caller, code_at(enrolment.secret, clock), CLIENT)
    assert added.recovery_codes is not None
    clock.advance(timedelta(seconds=30))  # the next code is a new one
    return enrolment.secret, added.recovery_codes


async def pending(app: Domain, kind: SessionKind = SessionKind.BROWSER) -> PendingLogIn:
    held = await app.log_in(Email(EMAIL), Password(PASSWORD), CLIENT, kind)
    assert isinstance(held, PendingLogIn)
    return held


async def test_an_app_confirmed_with_its_code_guards_the_account_with_ten_recovery_codes(
    app: Domain, clock: FakeClock, outbox: Mailbag
) -> None:
    _, codes = await with_totp(app, clock)

    assert len(codes) == 10
    assert len(set(codes)) == 10
    await outbox.settle()
    assert LetterKind.TOTP_ADDED in [letter.kind for letter in outbox.letters]


async def test_the_secret_is_stored_sealed_never_in_the_clear(
    app: Domain, clock: FakeClock, factors: InMemoryFactors
) -> None:
    secret, _ = await with_totp(app, clock)

    [setup] = factors.totps.values()
    assert secret.encode() not in setup.sealed_secret


async def test_a_wrong_code_does_not_confirm_the_app(app: Domain, clock: FakeClock) -> None:
    caller = await caller_of(app, await app.sign_up())
    enrolment = await app.set_up_totp(caller)

    with pytest.raises(InvalidCode):
        await app.confirm_totp(caller, code_at(enrolment.secret, clock, steps=5), CLIENT)
    assert (await app.factors.summary(caller.session.user_id)).any is False


async def logged_in_with_code(app: Domain, secret: str, clock: FakeClock) -> LoggedIn:
    held = await pending(app)
    return await app.complete_log_in(held.ticket, Proof(code=code_at(secret, clock)), CLIENT)


async def test_an_active_app_must_be_removed_before_another_is_set_up(
    app: Domain, clock: FakeClock
) -> None:
    secret, _ = await with_totp(app, clock)
    caller = await caller_of(app, await logged_in_with_code(app, secret, clock))

    with pytest.raises(FactorConflict):
        await app.set_up_totp(caller)


async def test_a_right_password_of_an_account_with_a_factor_is_held_not_logged_in(
    app: Domain, clock: FakeClock
) -> None:
    await with_totp(app, clock)
    before = len(app.sessions.by_digest)

    held = await pending(app)

    assert held.methods == ["totp", "recovery-code"]
    assert len(app.sessions.by_digest) == before  # no session


async def test_the_second_step_with_a_code_logs_in_recording_both_factors(
    app: Domain, clock: FakeClock
) -> None:
    secret, _ = await with_totp(app, clock)

    logged_in = await logged_in_with_code(app, secret, clock)

    assert (await caller_of(app, logged_in)).session.methods == (
        AuthMethod.PASSWORD | AuthMethod.TOTP
    )


async def test_a_code_of_the_step_before_or_after_is_accepted(
    app: Domain, clock: FakeClock
) -> None:
    secret, _ = await with_totp(app, clock)
    clock.advance(timedelta(seconds=60))  # the step before is one no code was used for
    held = await pending(app)

    code = code_at(secret, clock, steps=-1)

    assert await app.complete_log_in(held.ticket, Proof(code=code), CLIENT)


async def test_a_code_two_steps_away_is_refused(app: Domain, clock: FakeClock) -> None:
    secret, _ = await with_totp(app, clock)
    held = await pending(app)

    with pytest.raises(SecondFactorFailed):
        await app.complete_log_in(held.ticket, Proof(code=code_at(secret, clock, 2)), CLIENT)


async def test_a_code_is_accepted_once(app: Domain, clock: FakeClock) -> None:
    secret, _ = await with_totp(app, clock)
    code = code_at(secret, clock)
    first, second = await pending(app), await pending(app)
    await app.complete_log_in(first.ticket, Proof(code=code), CLIENT)

    with pytest.raises(SecondFactorFailed):
        await app.complete_log_in(second.ticket, Proof(code=code), CLIENT)


async def test_a_pending_log_in_is_used_once(app: Domain, clock: FakeClock) -> None:
    secret, _ = await with_totp(app, clock)
    held = await pending(app)
    await app.complete_log_in(held.ticket, Proof(code=code_at(secret, clock)), CLIENT)
    clock.advance(timedelta(seconds=30))

    with pytest.raises(PendingLogInMissing):
        await app.complete_log_in(held.ticket, Proof(code=code_at(secret, clock)), CLIENT)


async def test_a_wrong_code_keeps_the_pending_log_in(app: Domain, clock: FakeClock) -> None:
    secret, _ = await with_totp(app, clock)
    held = await pending(app)

    with pytest.raises(SecondFactorFailed):
        await app.complete_log_in(held.ticket, Proof(code=TotpCode("000000")), CLIENT)

    assert await app.complete_log_in(held.ticket, Proof(code=code_at(secret, clock)), CLIENT)


async def test_a_pending_log_in_expires(app: Domain, clock: FakeClock) -> None:
    secret, _ = await with_totp(app, clock)
    held = await pending(app)
    clock.advance(timedelta(minutes=6))

    with pytest.raises(PendingLogInMissing):
        await app.complete_log_in(held.ticket, Proof(code=code_at(secret, clock)), CLIENT)


async def test_wrong_codes_are_throttled_per_pending_log_in(app: Domain, clock: FakeClock) -> None:
    secret, _ = await with_totp(app, clock)
    held = await pending(app)
    wrong = Proof(code=TotpCode("000000"))
    for _ in range(4):
        with pytest.raises(SecondFactorFailed):
            await app.complete_log_in(held.ticket, wrong, CLIENT)

    with pytest.raises(SecondFactorFailed):  # the fifth is checked, and locks
        await app.complete_log_in(held.ticket, wrong, CLIENT)
    with pytest.raises(TooManyAttempts):
        await app.complete_log_in(held.ticket, Proof(code=code_at(secret, clock)), CLIENT)


async def test_wrong_codes_are_throttled_per_account_across_pending_log_ins(
    app: Domain, clock: FakeClock
) -> None:
    await with_totp(app, clock)
    wrong = Proof(code=TotpCode("000000"))
    for _ in range(5):
        held = await pending(app)
        with pytest.raises(SecondFactorFailed):
            await app.complete_log_in(held.ticket, wrong, CLIENT)

    held = await pending(app)
    with pytest.raises(TooManyAttempts):
        await app.complete_log_in(held.ticket, wrong, CLIENT)


async def test_a_recovery_code_logs_in_once_and_is_told(
    app: Domain, clock: FakeClock, outbox: Mailbag
) -> None:
    _, codes = await with_totp(app, clock)
    recovery = Proof(recovery_code=RecoveryCode(codes[3].upper()))

    logged_in = await app.complete_log_in((await pending(app)).ticket, recovery, CLIENT)

    assert (await caller_of(app, logged_in)).session.methods & AuthMethod.RECOVERY_CODE
    await outbox.settle()
    assert LetterKind.RECOVERY_CODE_USED in [letter.kind for letter in outbox.letters]
    with pytest.raises(SecondFactorFailed):
        await app.complete_log_in((await pending(app)).ticket, recovery, CLIENT)


async def test_a_token_log_in_needs_the_factor_in_the_same_request(
    app: Domain, clock: FakeClock
) -> None:
    secret, _ = await with_totp(app, clock)

    with pytest.raises(SecondFactorRequired) as refused:
        await app.log_in(Email(EMAIL), Password(PASSWORD), CLIENT, SessionKind.TOKEN)
    assert refused.value.methods == ["totp", "recovery-code"]

    logged_in = await app.log_in(
        Email(EMAIL),
        Password(PASSWORD),
        CLIENT,
        SessionKind.TOKEN,
        proof=Proof(code=code_at(secret, clock)),
    )
    assert isinstance(logged_in, LoggedIn)


async def test_a_token_log_in_with_a_wrong_code_fails(app: Domain, clock: FakeClock) -> None:
    await with_totp(app, clock)

    with pytest.raises(SecondFactorFailed):
        await app.log_in(
            Email(EMAIL),
            Password(PASSWORD),
            CLIENT,
            SessionKind.TOKEN,
            proof=Proof(code=TotpCode("000000")),
        )


async def test_what_matters_needs_a_recent_authentication(app: Domain, clock: FakeClock) -> None:
    logged_in = await app.sign_up()
    clock.advance(timedelta(minutes=10, seconds=1))

    with pytest.raises(ReauthenticationRequired):
        await app.set_up_totp(await caller_of(app, logged_in))


async def test_a_re_authentication_with_the_password_makes_the_session_recent(
    app: Domain, clock: FakeClock
) -> None:
    logged_in = await app.sign_up()
    clock.advance(timedelta(minutes=11))
    caller = await caller_of(app, logged_in)
    with pytest.raises(ReauthenticationRequired):
        app.recent_authentication(caller)

    await app.reauthenticate(caller, Password(PASSWORD), Proof(), CLIENT)

    again = await caller_of(app, logged_in)
    app.recent_authentication(again)
    assert again.session.last_authenticated_at == clock.now()


async def test_a_re_authentication_with_a_wrong_password_changes_nothing(
    app: Domain, clock: FakeClock
) -> None:
    logged_in = await app.sign_up()
    clock.advance(timedelta(minutes=11))

    with pytest.raises(WrongPassword):
        await app.reauthenticate(
            await caller_of(app, logged_in), Password("wrong password!"), Proof(), CLIENT
        )
    with pytest.raises(ReauthenticationRequired):
        app.recent_authentication(await caller_of(app, logged_in))


async def test_an_account_with_a_factor_re_authenticates_with_it_not_the_password(
    app: Domain, clock: FakeClock
) -> None:
    secret, _ = await with_totp(app, clock)
    logged_in = await logged_in_with_code(app, secret, clock)
    clock.advance(timedelta(minutes=11))
    caller = await caller_of(app, logged_in)

    with pytest.raises(InvalidCode):
        await app.reauthenticate(caller, Password(PASSWORD), Proof(), CLIENT)
    await app.reauthenticate(caller, None, Proof(code=code_at(secret, clock)), CLIENT)

    app.recent_authentication(await caller_of(app, logged_in))


async def test_removing_the_app_needs_the_password_and_a_code_and_voids_the_codes(
    app: Domain, clock: FakeClock, outbox: Mailbag
) -> None:
    secret, _ = await with_totp(app, clock)
    caller = await caller_of(app, await logged_in_with_code(app, secret, clock))
    clock.advance(timedelta(seconds=30))

    with pytest.raises(WrongPassword):
        await app.remove_totp(caller, Password("wrong password!"), code_at(secret, clock), CLIENT)
    with pytest.raises(InvalidCode):
        await app.remove_totp(caller, Password(PASSWORD), TotpCode("000000"), CLIENT)
    await app.remove_totp(caller, Password(PASSWORD), code_at(secret, clock), CLIENT)

    summary = await app.factors.summary(caller.session.user_id)
    assert (summary.totp, summary.recovery_codes) == (False, 0)
    await outbox.settle()
    assert LetterKind.TOTP_REMOVED in [letter.kind for letter in outbox.letters]
    assert isinstance(await app.log_in(Email(EMAIL), Password(PASSWORD), CLIENT), LoggedIn)


async def test_new_recovery_codes_void_the_old_set(app: Domain, clock: FakeClock) -> None:
    secret, old = await with_totp(app, clock)
    caller = await caller_of(app, await logged_in_with_code(app, secret, clock))

    new = await app.regenerate_recovery_codes(caller, Password(PASSWORD), CLIENT)

    assert len(new) == 10
    with pytest.raises(SecondFactorFailed):
        await app.complete_log_in(
            (await pending(app)).ticket, Proof(recovery_code=RecoveryCode(old[0])), CLIENT
        )
    assert await app.complete_log_in(
        (await pending(app)).ticket, Proof(recovery_code=RecoveryCode(new[0])), CLIENT
    )


async def test_a_password_reset_leads_to_the_second_step_not_a_session(
    app: Domain, clock: FakeClock, outbox: Mailbag
) -> None:
    await with_totp(app, clock)
    await app.request_password_reset(Email(EMAIL), CLIENT)
    await outbox.settle()
    [letter] = [letter for letter in outbox.letters if letter.token is not None][-1:]
    assert letter.token is not None
    sessions_before = set(app.sessions.by_digest)

    answer = await app.reset_password(letter.token, NewPassword("a new passphrase"), CLIENT)

    assert isinstance(answer, PendingLogIn)
    assert not set(app.sessions.by_digest) - sessions_before


async def test_an_operator_resets_every_factor_and_the_user_is_told(
    app: Domain, clock: FakeClock, outbox: Mailbag
) -> None:
    await with_totp(app, clock)

    await app.reset_factors(Email(EMAIL))

    assert isinstance(await app.log_in(Email(EMAIL), Password(PASSWORD), CLIENT), LoggedIn)
    await outbox.settle()
    assert LetterKind.FACTORS_RESET in [letter.kind for letter in outbox.letters]
    with pytest.raises(UserNotFound):
        await app.reset_factors(Email("nobody@example.com"))

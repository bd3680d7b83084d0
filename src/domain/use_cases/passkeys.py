"""Passkeys (WebAuthn): registering one while logged in, naming and removing them, logging in
with one and no password, and using one as a second factor or to authenticate again.

Every challenge is random, lives five minutes, is used once, and is bound to what asked for
it: the session (registration, re-authentication) or the pending cookie (log-in)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from coatcheck.domain.errors import (
    FactorConflict,
    FactorNotFound,
    InvalidValue,
    PasskeyFailed,
    PasskeyRefused,
    PendingLogInMissing,
)
from coatcheck.domain.factors import Passkey, PasskeyName, PendingPurpose, PendingStep
from coatcheck.domain.letters import LetterKind
from coatcheck.domain.model import AuthMethod, ClientInfo, SessionKind
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import (
    Clock,
    Events,
    Factors,
    PasskeyCeremonies,
    PendingSteps,
    Sessions,
    Users,
)
from coatcheck.domain.second_step import PendingTicket, SecondStep, pending_key
from coatcheck.domain.sessions import Authenticated, LoggedIn
from coatcheck.domain.tickets import SessionTicket, TicketKey
from coatcheck.domain.use_cases.factors import (
    FactorAdded,
    RecentAuthentication,
    caller_user,
    forget_codes_without_factor,
    issue_recovery_codes,
    record_reauthentication,
)
from coatcheck.domain.use_cases.log_in_session import LogInSession

CHALLENGE_LIFETIME = timedelta(minutes=5)
NO_METHOD = AuthMethod(0)  # a passkey log-in proves nothing before its assertion
CHALLENGE_BYTES = 32


def _session_key(purpose: PendingPurpose, caller: Authenticated) -> str:
    return f"{purpose.value}:{caller.digest}"


class Challenges:
    """WebAuthn challenges, each under the key of what asked for it, taken once."""

    def __init__(self, steps: PendingSteps, clock: Clock) -> None:
        self._steps = steps
        self._clock = clock

    async def issue(
        self,
        key: str,
        purpose: PendingPurpose,
        user_id: uuid.UUID | None,
        kind: SessionKind = SessionKind.BROWSER,
        methods: AuthMethod = NO_METHOD,
        until: datetime | None = None,
    ) -> bytes:
        """A new challenge, live for CHALLENGE_LIFETIME (or `until`, when earlier)."""
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        now = self._clock.now()
        expires = min(now + CHALLENGE_LIFETIME, until or now + CHALLENGE_LIFETIME)
        step = PendingStep(purpose, expires, user_id, kind, methods, challenge)
        await self._steps.put(key, step, now)
        return challenge

    async def take(self, key: str, purpose: PendingPurpose) -> PendingStep | None:
        step = await self._steps.take(key)
        if (
            step is None
            or step.purpose is not purpose
            or step.challenge is None
            or not step.is_live(self._clock.now())
        ):
            return None
        return step


async def _verified_use(
    factors: Factors,
    ceremonies: PasskeyCeremonies,
    credential: object,
    challenge: bytes,
    clock: Clock,
    user_id: uuid.UUID | None = None,
) -> Passkey:
    """The passkey an assertion proves, its use recorded; PasskeyFailed otherwise (also for
    one of another user than `user_id`, when given)."""
    try:
        credential_id = ceremonies.credential_id(credential)
    except InvalidValue as error:
        raise PasskeyFailed(str(error)) from None
    passkey = await factors.passkey(credential_id)
    if passkey is None or (user_id is not None and passkey.user_id != user_id):
        raise PasskeyFailed()
    try:
        count = ceremonies.verify_authentication(credential, challenge, passkey)
    except InvalidValue as error:
        raise PasskeyFailed(str(error)) from None
    if not await factors.use_passkey(credential_id, passkey.sign_count, count, clock.now()):
        raise PasskeyFailed()  # used meanwhile with this counter: a clone, or a replay
    return passkey


class StartPasskeyRegistration:
    """Options for a new passkey, its challenge bound to the caller's session.

    - needs a recent authentication (adding a factor);
    - the user's passkeys are excluded (an authenticator holds one per account).
    """

    def __init__(
        self,
        users: Users,
        factors: Factors,
        challenges: Challenges,
        ceremonies: PasskeyCeremonies,
        recent: RecentAuthentication,
    ) -> None:
        self._users = users
        self._factors = factors
        self._challenges = challenges
        self._ceremonies = ceremonies
        self._recent = recent

    async def __call__(self, caller: Authenticated) -> dict[str, object]:
        self._recent(caller)
        user = await caller_user(self._users, caller)
        purpose = PendingPurpose.PASSKEY_REGISTRATION
        challenge = await self._challenges.issue(_session_key(purpose, caller), purpose, user.id)
        known = [key.credential_id for key in await self._factors.passkeys(user.id)]
        return self._ceremonies.registration_options(user, challenge, known)


class RegisterPasskey:
    """Keeps the passkey the options were answered with.

    - needs a recent authentication, and the challenge this session was given, unused and
      live (PasskeyRefused); the registration must verify, with user verification;
    - a credential registered already is a FactorConflict;
    - the first factor of the account comes with ten recovery codes; the address is told.
    """

    def __init__(
        self,
        users: Users,
        factors: Factors,
        challenges: Challenges,
        ceremonies: PasskeyCeremonies,
        recent: RecentAuthentication,
        notices: Notices,
        clock: Clock,
    ) -> None:
        self._users = users
        self._factors = factors
        self._challenges = challenges
        self._ceremonies = ceremonies
        self._recent = recent
        self._notices = notices
        self._clock = clock

    async def __call__(
        self, caller: Authenticated, credential: object, name: PasskeyName, client: ClientInfo
    ) -> FactorAdded:
        self._recent(caller)
        purpose = PendingPurpose.PASSKEY_REGISTRATION
        step = await self._challenges.take(_session_key(purpose, caller), purpose)
        if step is None or step.challenge is None or step.user_id != caller.session.user_id:
            raise PasskeyRefused("no registration is waiting: ask for new options")
        user = await caller_user(self._users, caller)
        try:
            new = self._ceremonies.verify_registration(credential, step.challenge)
        except InvalidValue as error:
            raise PasskeyRefused(str(error)) from None
        first = not (await self._factors.summary(user.id)).any
        passkey = Passkey(
            new.credential_id, user.id, new.public_key, new.sign_count, name, self._clock.now()
        )
        if not await self._factors.add_passkey(passkey):
            raise FactorConflict("this passkey is registered already")
        self._notices.factor_changed(LetterKind.PASSKEY_ADDED, user, client)
        return FactorAdded(await issue_recovery_codes(self._factors, user) if first else None)


class RenamePasskey:
    """Renames one of the caller's passkeys (FactorNotFound for any other)."""

    def __init__(self, factors: Factors) -> None:
        self._factors = factors

    async def __call__(
        self, caller: Authenticated, credential_id: bytes, name: PasskeyName
    ) -> None:
        if not await self._factors.rename_passkey(caller.session.user_id, credential_id, name):
            raise FactorNotFound("no such passkey")


class RemovePasskey:
    """Removes one of the caller's passkeys.

    - needs a recent authentication; another user's passkey is FactorNotFound;
    - once no factor is left, the recovery codes go too; the address is told.
    """

    def __init__(
        self, users: Users, factors: Factors, recent: RecentAuthentication, notices: Notices
    ) -> None:
        self._users = users
        self._factors = factors
        self._recent = recent
        self._notices = notices

    async def __call__(
        self, caller: Authenticated, credential_id: bytes, client: ClientInfo
    ) -> None:
        self._recent(caller)
        user_id = caller.session.user_id
        if not await self._factors.remove_passkey(user_id, credential_id):
            raise FactorNotFound("no such passkey")
        await forget_codes_without_factor(self._factors, user_id)
        user = await self._users.get(user_id)
        if user is not None:
            self._notices.factor_changed(LetterKind.PASSKEY_REMOVED, user, client)


class PasskeyChallenge:
    """Options for an assertion, bound to what asks:

    - `log_in()`: a log-in with a passkey and no password (any discoverable credential):
      a pending ticket of its own holds the challenge;
    - `second_factor()`: the pending log-in of a right password (the user's passkeys);
    - `session()`: a session that authenticates again (the user's passkeys).
    """

    def __init__(
        self,
        factors: Factors,
        challenges: Challenges,
        ceremonies: PasskeyCeremonies,
        second_step: SecondStep,
        key: TicketKey,
    ) -> None:
        self._factors = factors
        self._challenges = challenges
        self._ceremonies = ceremonies
        self._second_step = second_step
        self._key = key

    async def log_in(self, kind: SessionKind) -> tuple[PendingTicket, dict[str, object]]:
        ticket = PendingTicket.issue()
        key = pending_key(self._key, ticket)
        challenge = await self._challenges.issue(key, PendingPurpose.PASSKEY_LOG_IN, None, kind)
        return ticket, self._ceremonies.authentication_options(challenge, [])

    async def second_factor(self, ticket: PendingTicket | None) -> dict[str, object]:
        key, step = await self._second_step.held(ticket)
        assert step.user_id is not None
        allow = await self._allowed(step.user_id)
        challenge = await self._challenges.issue(
            key, PendingPurpose.LOG_IN, step.user_id, step.kind, step.methods, step.expires_at
        )
        return self._ceremonies.authentication_options(challenge, allow)

    async def session(self, caller: Authenticated) -> dict[str, object]:
        user_id = caller.session.user_id
        allow = await self._allowed(user_id)
        purpose = PendingPurpose.PASSKEY_LOG_IN
        challenge = await self._challenges.issue(_session_key(purpose, caller), purpose, user_id)
        return self._ceremonies.authentication_options(challenge, allow)

    async def _allowed(self, user_id: uuid.UUID) -> Sequence[bytes]:
        allow = [key.credential_id for key in await self._factors.passkeys(user_id)]
        if not allow:
            raise FactorNotFound("the account has no passkey")
        return allow


class PasskeyLogIn:
    """Logs in with a passkey and no password, or completes a pending log-in with one.

    - the challenge must be the one this pending cookie was given, unused and live
      (PendingLogInMissing); the assertion must verify, with user verification, its counter
      growing, for a passkey registered to an account (PasskeyFailed) - for a pending log-in,
      to that log-in's account;
    - a passkey with user verification is both factors: the session records it so;
    - the session the client held before ends; reset links stop working; a new device is
      told (LogInSession).
    """

    def __init__(
        self,
        users: Users,
        factors: Factors,
        challenges: Challenges,
        ceremonies: PasskeyCeremonies,
        session: LogInSession,
        events: Events,
        key: TicketKey,
        clock: Clock,
    ) -> None:
        self._users = users
        self._factors = factors
        self._challenges = challenges
        self._ceremonies = ceremonies
        self._session = session
        self._events = events
        self._key = key
        self._clock = clock

    async def __call__(
        self,
        ticket: PendingTicket | None,
        credential: object,
        client: ClientInfo,
        replacing: SessionTicket | None = None,
        second_factor: bool = False,
    ) -> LoggedIn:
        if ticket is None:
            raise PendingLogInMissing()
        purpose = PendingPurpose.LOG_IN if second_factor else PendingPurpose.PASSKEY_LOG_IN
        step = await self._challenges.take(pending_key(self._key, ticket), purpose)
        if step is None or step.challenge is None:
            raise PendingLogInMissing()
        try:
            passkey = await _verified_use(
                self._factors,
                self._ceremonies,
                credential,
                step.challenge,
                self._clock,
                step.user_id,
            )
        except PasskeyFailed:
            self._events.log_in_failed("invalid-passkey")
            raise
        user = await self._users.get(passkey.user_id)
        if user is None:
            raise PasskeyFailed()
        methods = step.methods | AuthMethod.PASSKEY
        logged_in = await self._session.start(user, step.kind, client, methods, replacing)
        await self._session.welcome(logged_in, client)
        return logged_in


class PasskeyReauthentication:
    """A session authenticates again with one of its user's passkeys (the challenge its
    session was given): PasskeyFailed otherwise."""

    def __init__(
        self,
        factors: Factors,
        challenges: Challenges,
        ceremonies: PasskeyCeremonies,
        sessions: Sessions,
        clock: Clock,
    ) -> None:
        self._factors = factors
        self._challenges = challenges
        self._ceremonies = ceremonies
        self._sessions = sessions
        self._clock = clock

    async def __call__(self, caller: Authenticated, credential: object) -> None:
        purpose = PendingPurpose.PASSKEY_LOG_IN
        step = await self._challenges.take(_session_key(purpose, caller), purpose)
        if step is None or step.challenge is None:
            raise PasskeyFailed("no passkey challenge is waiting: ask for new options")
        await _verified_use(
            self._factors,
            self._ceremonies,
            credential,
            step.challenge,
            self._clock,
            caller.session.user_id,
        )
        await record_reauthentication(self._sessions, caller, AuthMethod.PASSKEY, self._clock.now())

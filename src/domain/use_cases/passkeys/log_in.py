"""Using a passkey: to log in with no password, as a second factor, or to authenticate again."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from coatcheck.domain.errors import FactorNotFound, InvalidValue, PasskeyFailed, PendingLogInMissing
from coatcheck.domain.factors import Passkey, PendingPurpose
from coatcheck.domain.model import AuthMethod, ClientInfo, SessionKind
from coatcheck.domain.ports import Clock, Events, Factors, PasskeyCeremonies, Sessions, Users
from coatcheck.domain.second_step import PendingTicket, SecondStep, pending_key
from coatcheck.domain.sessions import Authenticated, LoggedIn
from coatcheck.domain.tickets import SessionTicket, TicketKey
from coatcheck.domain.use_cases.factors.reauthentication import record_reauthentication
from coatcheck.domain.use_cases.log_in_session import LogInSession
from coatcheck.domain.use_cases.passkeys.challenges import Challenges, session_key


class PasskeyAssertion:
    """What an assertion proves, its passkey's use recorded."""

    def __init__(self, factors: Factors, ceremonies: PasskeyCeremonies, clock: Clock) -> None:
        self._factors = factors
        self._ceremonies = ceremonies
        self._clock = clock

    async def verified(
        self, credential: object, challenge: bytes, user_id: uuid.UUID | None = None
    ) -> Passkey:
        """The passkey an assertion proves, its use recorded; PasskeyFailed otherwise (also
        for one of another user than `user_id`, when given)."""
        try:
            credential_id = self._ceremonies.credential_id(credential)
        except InvalidValue as error:
            raise PasskeyFailed(str(error)) from None
        passkey = await self._factors.passkey(credential_id)
        if passkey is None or (user_id is not None and passkey.user_id != user_id):
            raise PasskeyFailed()
        try:
            count = self._ceremonies.verify_authentication(credential, challenge, passkey)
        except InvalidValue as error:
            raise PasskeyFailed(str(error)) from None
        now = self._clock.now()
        if not await self._factors.use_passkey(credential_id, passkey.sign_count, count, now):
            raise PasskeyFailed()  # used meanwhile with this counter: a clone, or a replay
        return passkey


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
        challenge = await self._challenges.issue(session_key(purpose, caller), purpose, user_id)
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
        challenges: Challenges,
        assertion: PasskeyAssertion,
        session: LogInSession,
        events: Events,
        key: TicketKey,
    ) -> None:
        self._users = users
        self._challenges = challenges
        self._assertion = assertion
        self._session = session
        self._events = events
        self._key = key

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
            passkey = await self._assertion.verified(credential, step.challenge, step.user_id)
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
        challenges: Challenges,
        assertion: PasskeyAssertion,
        sessions: Sessions,
        clock: Clock,
    ) -> None:
        self._challenges = challenges
        self._assertion = assertion
        self._sessions = sessions
        self._clock = clock

    async def __call__(self, caller: Authenticated, credential: object) -> None:
        purpose = PendingPurpose.PASSKEY_LOG_IN
        step = await self._challenges.take(session_key(purpose, caller), purpose)
        if step is None or step.challenge is None:
            raise PasskeyFailed("no passkey challenge is waiting: ask for new options")
        await self._assertion.verified(credential, step.challenge, caller.session.user_id)
        await record_reauthentication(self._sessions, caller, AuthMethod.PASSKEY, self._clock.now())

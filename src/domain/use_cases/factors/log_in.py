"""The second step of a log-in."""

from __future__ import annotations

from coatcheck.domain.errors import InvalidCode, PendingLogInMissing, SecondFactorFailed
from coatcheck.domain.model import ClientInfo
from coatcheck.domain.ports import Events, Users
from coatcheck.domain.second_step import FactorCheck, PendingTicket, Proof, SecondStep
from coatcheck.domain.sessions import LoggedIn
from coatcheck.domain.tickets import SessionTicket
from coatcheck.domain.use_cases.log_in_session import LogInSession


class CompleteLogIn:
    """The second step of a log-in: the pending log-in's second factor.

    - the pending log-in must be live and unused (PendingLogInMissing); it is used up by
      the step that succeeds, never by a wrong code;
    - wrong codes are throttled per pending log-in and per account (FactorCheck);
    - the session the client held before, if any, ends; the new one has a fresh ticket and
      records the password and the factor; reset links stop working; a new device is told
      (LogInSession).
    """

    def __init__(
        self,
        users: Users,
        second_step: SecondStep,
        factor_check: FactorCheck,
        session: LogInSession,
        events: Events,
    ) -> None:
        self._users = users
        self._second_step = second_step
        self._factor_check = factor_check
        self._session = session
        self._events = events

    async def __call__(
        self,
        ticket: PendingTicket | None,
        proof: Proof,
        client: ClientInfo,
        replacing: SessionTicket | None = None,
    ) -> LoggedIn:
        key, step = await self._second_step.held(ticket)
        assert step.user_id is not None  # held() checked it
        user = await self._users.get(step.user_id)
        if user is None:
            raise PendingLogInMissing()
        try:
            method = await self._factor_check(user, proof, key)
        except InvalidCode:
            self._events.log_in_failed("invalid-second-factor")
            raise SecondFactorFailed() from None
        await self._second_step.release(key)
        methods = step.methods | method
        logged_in = await self._session.start(user, step.kind, client, methods, replacing)
        await self._session.welcome(logged_in, client)
        return logged_in

"""Authenticating again: what matters needs a recent authentication, and how a session gets one."""

from __future__ import annotations

from datetime import datetime, timedelta

from attrs import evolve

from coatcheck.domain.errors import (
    InvalidCode,
    NotAuthenticated,
    ReauthenticationRequired,
    WrongPassword,
)
from coatcheck.domain.model import AuthMethod, ClientInfo, Password, User
from coatcheck.domain.ports import Clock, Factors, Sessions, Users
from coatcheck.domain.second_step import FactorCheck, Proof
from coatcheck.domain.sessions import Authenticated
from coatcheck.domain.use_cases.passwords import CurrentPasswordCheck


class RecentAuthentication:
    """What matters (changing the password, the email or a factor, deleting the account)
    needs an authentication within the window: ReauthenticationRequired otherwise."""

    def __init__(self, window: timedelta, clock: Clock) -> None:
        self._window = window
        self._clock = clock

    def __call__(self, caller: Authenticated) -> None:
        if self._clock.now() - caller.session.last_authenticated_at > self._window:
            raise ReauthenticationRequired()


async def caller_user(users: Users, caller: Authenticated) -> User:
    user = await users.get(caller.session.user_id)
    if user is None:
        raise NotAuthenticated()
    return user


async def record_reauthentication(
    sessions: Sessions, caller: Authenticated, method: AuthMethod, now: datetime
) -> None:
    """The session was authenticated again, now, by `method`."""
    session = caller.session
    moment = now.replace(microsecond=0)
    again = evolve(session, methods=session.methods | method, authenticated_at=moment)
    if not await sessions.replace(caller.digest, again):
        raise NotAuthenticated()


class Reauthenticate:
    """Proves again who holds a session, which makes it recently authenticated.

    - an account with a second factor proves it with a code or a recovery code (throttled,
      FactorCheck: InvalidCode), any other with its password (CurrentPasswordCheck:
      WrongPassword, throttled like log-ins);
    - the session records when, and the method, from now on.
    """

    def __init__(
        self,
        users: Users,
        factors: Factors,
        password_check: CurrentPasswordCheck,
        factor_check: FactorCheck,
        sessions: Sessions,
        clock: Clock,
    ) -> None:
        self._users = users
        self._factors = factors
        self._password_check = password_check
        self._factor_check = factor_check
        self._sessions = sessions
        self._clock = clock

    async def __call__(
        self,
        caller: Authenticated,
        password: Password | None,
        proof: Proof,
        client: ClientInfo,
    ) -> None:
        user = await caller_user(self._users, caller)
        if (await self._factors.summary(user.id)).any:
            if not proof.given:
                raise InvalidCode("give a code of your authenticator app or a recovery code")
            method = await self._factor_check(user, proof)
        elif password is not None:
            await self._password_check(caller, password, client)
            method = AuthMethod.PASSWORD
        else:  # no password: no proof, a wrong credential like a wrong password
            raise WrongPassword()
        await record_reauthentication(self._sessions, caller, method, self._clock.now())

"""Deleting an account: by its owner, or by an operator."""

from __future__ import annotations

from coatcheck.domain.events import EndReason
from coatcheck.domain.model import ClientInfo, Password, User
from coatcheck.domain.ports import Events, SessionEvents, Sessions, Users
from coatcheck.domain.sessions import Authenticated
from coatcheck.domain.throttle import LoginThrottle
from coatcheck.domain.tickets import DeviceToken
from coatcheck.domain.use_cases.passwords import CurrentPasswordCheck
from coatcheck.domain.use_cases.sessions import revoke_all


class EraseUser:
    """Removes a user and everything stored about them; returns how many sessions ended.

    - every session ends first, so no session outlives its user, even if a later step
      fails (a retry then finishes the work); a session that a log-in started meanwhile is
      ended after the user is gone; whoever watches them is told;
    - the user store drops the user with their one-time tokens and known devices;
    - the account's log-in throttle counts go too, and every device known on it (the counts
      of client addresses are shared, and stay; so do the spacings of letters to its address,
      or deleting and registering again would write to it without limit).
    """

    def __init__(
        self,
        users: Users,
        sessions: Sessions,
        login_throttle: LoginThrottle,
        events: Events,
        session_events: SessionEvents,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._login_throttle = login_throttle
        self._events = events
        self._session_events = session_events

    async def __call__(self, user: User, why: str = "account-deleted") -> int:
        reason = EndReason.ACCOUNT_DELETED
        ended = await revoke_all(self._sessions, self._session_events, user.id, reason)
        await self._users.remove(user.id)
        ended += await revoke_all(self._sessions, self._session_events, user.id, reason)
        self._events.sessions_ended(user.id, ended, why)
        await self._login_throttle.forget(user)
        return ended


class DeleteAccount:
    """Deletes the caller's account, once their current password is right
    (CurrentPasswordCheck)."""

    def __init__(self, check: CurrentPasswordCheck, erase: EraseUser) -> None:
        self._check = check
        self._erase = erase

    async def __call__(
        self,
        caller: Authenticated,
        current_password: Password,
        client: ClientInfo,
        device: DeviceToken | None = None,
    ) -> None:
        checked = await self._check(caller, current_password, client, device)
        await self._erase(checked.user)

"""Deleting an account: by its owner, or by an operator."""

from __future__ import annotations

from domain.mail_throttle import MailThrottle
from domain.model import ClientInfo, Password, User
from domain.ports import Sessions, Users
from domain.sessions import Authenticated
from domain.throttle import LoginThrottle
from domain.use_cases.passwords import CurrentPasswordCheck


class EraseUser:
    """Removes a user and everything stored about them; returns how many sessions ended.

    - every session ends first, so no session outlives its user, even if a later step
      fails (a retry then finishes the work); a session that a log-in started meanwhile is
      ended after the user is gone;
    - the user store drops the user with their one-time tokens and known devices;
    - the account's throttle counts go too (those of client addresses are shared, and stay).
    """

    def __init__(
        self,
        users: Users,
        sessions: Sessions,
        login_throttle: LoginThrottle,
        mail_throttle: MailThrottle,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._login_throttle = login_throttle
        self._mail_throttle = mail_throttle

    async def __call__(self, user: User) -> int:
        ended = await self._sessions.remove_of_user(user.id)
        await self._users.remove(user.id)
        ended += await self._sessions.remove_of_user(user.id)
        await self._login_throttle.succeeded(user.email)
        await self._mail_throttle.forget(user.email)
        return ended


class DeleteAccount:
    """Deletes the caller's account, once their current password is right
    (CurrentPasswordCheck)."""

    def __init__(self, check: CurrentPasswordCheck, erase: EraseUser) -> None:
        self._check = check
        self._erase = erase

    async def __call__(
        self, caller: Authenticated, current_password: Password, client: ClientInfo
    ) -> None:
        await self._erase(await self._check(caller, current_password, client))

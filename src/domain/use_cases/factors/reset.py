"""An operator's reset of a user's second factors."""

from __future__ import annotations

from coatcheck.domain.errors import UserNotFound
from coatcheck.domain.letters import LetterKind
from coatcheck.domain.model import Email
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import Events, Factors, Users


class ResetFactors:
    """An operator removes every factor of a user, after an identity check done elsewhere.

    - an unknown email raises UserNotFound;
    - the app, the passkeys and the recovery codes go; the account's address is told, and
      the operator's log says so (without any secret).
    """

    def __init__(self, users: Users, factors: Factors, notices: Notices, events: Events) -> None:
        self._users = users
        self._factors = factors
        self._notices = notices
        self._events = events

    async def __call__(self, email: Email) -> None:
        user = await self._users.by_email(email)
        if user is None:
            raise UserNotFound()
        had = await self._factors.remove_all(user.id)
        self._events.factors_reset(user, had)
        self._notices.factor_changed(LetterKind.FACTORS_RESET, user, None)

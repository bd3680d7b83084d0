"""Registering a passkey while logged in; naming and removing one."""

from __future__ import annotations

from coatcheck.domain.errors import FactorConflict, FactorNotFound, InvalidValue, PasskeyRefused
from coatcheck.domain.factors import Passkey, PasskeyName, PendingPurpose
from coatcheck.domain.letters import LetterKind
from coatcheck.domain.model import ClientInfo
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import Clock, Factors, PasskeyCeremonies, Users
from coatcheck.domain.sessions import Authenticated
from coatcheck.domain.use_cases.factors.reauthentication import RecentAuthentication, caller_user
from coatcheck.domain.use_cases.factors.recovery_codes import (
    FactorAdded,
    forget_codes_without_factor,
    issue_recovery_codes,
)
from coatcheck.domain.use_cases.passkeys.challenges import Challenges, session_key


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
        challenge = await self._challenges.issue(session_key(purpose, caller), purpose, user.id)
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
        step = await self._challenges.take(session_key(purpose, caller), purpose)
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

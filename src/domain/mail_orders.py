"""Resolving a letter order, at the outbox's worker: who is behind the address, and the
letter (and token) that goes there."""

from __future__ import annotations

from attrs import frozen

from coatcheck.domain.letters import Letter, LetterKind, LetterOrder, OrderKind, to_account
from coatcheck.domain.model import Email, EmailPolicy, User
from coatcheck.domain.ports import Clock, Users
from coatcheck.domain.token_issuer import NewToken, TokenIssuer
from coatcheck.domain.tokens import TokenPurpose


@frozen
class Resolution:
    letter: Letter
    token: NewToken | None = None  # to be stored with the letter, in one transaction


class ResolveOrder:
    """Turns an order into its letter, with the same store work whatever it finds (one look-up
    per address, one letter), so that the worker's traces tell nothing either:

    - a password reset for an address with an account: a link to it; without one: a letter
      saying that there is no account for that address;
    - a verification: a link to the user's address; nothing if the user is gone or verified;
    - a change of email: a link to the new address if no account has it, a letter telling
      that address's owner that someone tried otherwise; nothing if the user is gone.
    """

    def __init__(
        self,
        users: Users,
        tokens: TokenIssuer,
        clock: Clock,
        email_policy: EmailPolicy = EmailPolicy(),  # noqa: B008 -- frozen, so shared safely
    ) -> None:
        self._users = users
        self._tokens = tokens
        self._clock = clock
        self._email_policy = email_policy

    async def __call__(self, order: LetterOrder) -> Resolution | None:
        resolution = await self._resolve(order)
        # An address stored before the one normal form (not one mailbox), or of a domain this
        # deployment does not take, is never written to.
        if resolution is None or not self._email_policy.admits(resolution.letter.to):
            return None
        return resolution

    async def _resolve(self, order: LetterOrder) -> Resolution | None:
        if order.kind is OrderKind.PASSWORD_RESET:
            assert order.to is not None
            return self._reset(order.to, await self._users.by_email(order.to))
        assert order.user_id is not None
        user = await self._users.get(order.user_id)
        if order.kind is OrderKind.VERIFY_EMAIL:
            if user is None or user.email_verified:
                return None
            return self._link(user, TokenPurpose.VERIFY_EMAIL, user.email)
        assert order.to is not None
        owner = await self._users.by_email(order.to)
        if user is None:
            return None
        if owner is not None:
            now = self._clock.now()
            return Resolution(to_account(LetterKind.ADDRESS_TAKEN, owner, now, to=order.to))
        return self._link(user, TokenPurpose.CHANGE_EMAIL, order.to)

    def _reset(self, to: Email, user: User | None) -> Resolution:
        if user is None:
            return Resolution(Letter(LetterKind.NO_ACCOUNT, to, None, self._clock.now()))
        return self._link(user, TokenPurpose.PASSWORD_RESET, user.email)

    def _link(self, user: User, purpose: TokenPurpose, to: Email) -> Resolution:
        new = self._tokens.new(user.id, purpose, to)
        return Resolution(self._tokens.letter(user, purpose, new.token, to), new)

"""The one place a one-time token is born or used."""

from __future__ import annotations

import uuid
from datetime import timedelta

from attrs import frozen

from coatcheck.domain.errors import InvalidToken
from coatcheck.domain.letters import Letter, LetterKind, to_account
from coatcheck.domain.model import Email, User
from coatcheck.domain.ports import AccountTokens, Clock
from coatcheck.domain.tickets import TicketKey
from coatcheck.domain.tokens import OneTimeToken, TokenPurpose, TokenRecord


@frozen
class NewToken:
    token: OneTimeToken
    digest: str
    record: TokenRecord


@frozen
class TokenLifetimes:
    """How long each kind of emailed link works."""

    password_reset: timedelta = timedelta(minutes=30)
    verify_email: timedelta = timedelta(days=1)
    change_email: timedelta = timedelta(hours=1)

    def of(self, purpose: TokenPurpose) -> timedelta:
        return {
            TokenPurpose.PASSWORD_RESET: self.password_reset,
            TokenPurpose.VERIFY_EMAIL: self.verify_email,
            TokenPurpose.CHANGE_EMAIL: self.change_email,
        }[purpose]


_LETTERS = {
    TokenPurpose.PASSWORD_RESET: LetterKind.PASSWORD_RESET,
    TokenPurpose.VERIFY_EMAIL: LetterKind.VERIFY_EMAIL,
    TokenPurpose.CHANGE_EMAIL: LetterKind.CONFIRM_NEW_EMAIL,
}


class TokenIssuer:
    """Issues and redeems one-time tokens.

    - 256 random bits; the store keeps only their HMAC digest under the session secret;
    - one purpose each, and a lifetime; a newer token of the same user and purpose makes
      the older ones useless;
    - redeeming takes the token out of the store (single use) and refuses an unknown,
      used, expired or other-purpose one with the same InvalidToken.
    """

    def __init__(
        self, tokens: AccountTokens, key: TicketKey, clock: Clock, lifetimes: TokenLifetimes
    ) -> None:
        self._tokens = tokens
        self._key = key
        self._clock = clock
        self.lifetimes = lifetimes

    def new(self, user_id: uuid.UUID, purpose: TokenPurpose, email: Email) -> NewToken:
        """A token and what a store keeps of it, not stored yet: the outbox stores it with
        the letter that carries it, in one transaction."""
        token = OneTimeToken.issue()
        record = TokenRecord(
            purpose, user_id, email, self._clock.now() + self.lifetimes.of(purpose)
        )
        return NewToken(token, self._key.digest(token), record)

    async def issue(self, user_id: uuid.UUID, purpose: TokenPurpose, email: Email) -> OneTimeToken:
        new = self.new(user_id, purpose, email)
        await self._tokens.issue(new.digest, new.record, self._clock.now())
        return new.token

    def letter(self, user: User, purpose: TokenPurpose, token: OneTimeToken, to: Email) -> Letter:
        """The letter that carries `token` to `to` (a change of email's goes to the new
        address)."""
        return to_account(
            _LETTERS[purpose],
            user,
            self._clock.now(),
            to=to,
            token=token,
            valid_for=self.lifetimes.of(purpose),
        )

    async def redeem(self, token: OneTimeToken, purpose: TokenPurpose) -> TokenRecord:
        record = await self._tokens.take(self._key.digest(token), purpose)
        if record is None or not record.is_live(self._clock.now()):
            raise InvalidToken()
        return record

    async def discard(self, user_id: uuid.UUID, *purposes: TokenPurpose) -> None:
        await self._tokens.discard(user_id, purposes)

"""Throttling what sends email: so that coatcheck cannot be used to flood an inbox, nor to
keep its owner from getting their own link."""

from __future__ import annotations

import math
from datetime import timedelta

from attrs import frozen

from coatcheck.domain.errors import TooManyEmails
from coatcheck.domain.keyed_attempts import KeyedAttempts
from coatcheck.domain.letters import OrderKind
from coatcheck.domain.model import Email
from coatcheck.domain.ports import Clock
from coatcheck.domain.throttle import account_key, address_key


@frozen
class MailThrottlePolicy:
    """Within `window`: at most `recipient_limit` letters of one kind to one address
    (registered or not), evenly spaced, and `client_limit` requests from one client network
    (the request over it locks that network for a window)."""

    recipient_limit: int = 5
    client_limit: int = 20
    window: timedelta = timedelta(hours=1)

    @property
    def spacing(self) -> timedelta:
        """The least time between two letters of one kind to one address."""
        return self.window / self.recipient_limit


NOTICES = "notice"  # every notice to an address its account has not verified, together


def recipient_key(kind: OrderKind | str, email: Email) -> str:
    """What letters of one kind to `email` are spaced by: the address itself or, for one with
    a `+tag`, every tagged address of its mailbox together (`a+1@x`, `a+2@x`... each a new
    address, all delivered to `a@x`). The untagged address keeps a key of its own, so that
    no one asking for tagged ones holds back its owner's letters: at most two letters of a
    kind per spacing reach one mailbox."""
    mailbox = email.mailbox
    scope = "mail-" if mailbox == email.value else "mail-tagged-"
    name = kind if isinstance(kind, str) else kind.value
    return f"{scope}{name}-" + account_key(Email.as_written(mailbox))


def client_key(address: str) -> str | None:
    """The client's network, as the log-in throttle counts it; None if it is no address."""
    network = address_key(address)
    return None if network is None else "mail-" + network


class MailThrottle:
    """Two limits, each the same for an address with an account and one without:

    - per client network, loud: the request over the limit is TooManyEmails (429);
    - per address and kind of letter, silent: at most one letter per `spacing`. A request
      within it sends nothing, yet answers as if it had, and needs nothing: the letter sent
      last is at most `spacing` old and its link outlives that (each link's lifetime is longer
      than the spacing, and no newer one was made to void it). So a stranger asking again and
      again cannot lock the owner out, nor flood the inbox beyond the limit.
    """

    def __init__(self, attempts: KeyedAttempts, policy: MailThrottlePolicy, clock: Clock) -> None:
        self._attempts = attempts
        self._policy = policy
        self._clock = clock

    async def attempt(self, kind: OrderKind, email: Email, address: str) -> bool:
        """Count this request (TooManyEmails over the client's limit); whether a letter of
        this kind may go to `email` now."""
        now = self._clock.now()
        client = client_key(address)
        if client is not None:
            until = await self._attempts.locked_until([client])
            if until is not None and until > now:
                raise TooManyEmails(max(1, math.ceil((until - now).total_seconds())))
            window = self._policy.window
            if await self._attempts.record_failure(client, window, now) > self._policy.client_limit:
                await self._attempts.claim_lock(client, now + window, now)
                raise TooManyEmails(math.ceil(window.total_seconds()))
        return await self.letter_may_go(kind, email)

    async def letter_may_go(self, kind: OrderKind | str, email: Email) -> bool:
        """Whether a letter of this kind may go to `email` now (claiming the spacing if so):
        every letter of a kind that a stranger can cause counts, a registration's too. Never
        forgotten before its time, not even when the account is deleted: else registering an
        address and deleting the account again and again would write to it without limit."""
        now = self._clock.now()
        return await self._attempts.claim_lock(
            recipient_key(kind, email), now + self._policy.spacing, now
        )

"""Throttling: log-in attempts per account (or per device that logged in to it before) and
per client address, and registrations per client address, buy growing delays."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from attrs import frozen

from coatcheck.domain.errors import TooManyAttempts
from coatcheck.domain.keyed_attempts import KeyedAttempts
from coatcheck.domain.model import Email, User
from coatcheck.domain.ports import Clock, Events, LoginAttempts
from coatcheck.domain.tickets import DeviceToken, TicketKey


@frozen
class Budget:
    """`limit` attempts within `window`; the attempt that reaches the limit, and each later
    one, first takes a lock of a delay that doubles from `base_delay` up to `max_delay`.
    A fixed window starts with its first attempt; a sliding one lasts until a whole
    `window` has passed without an attempt, so a lock-out keeps growing while they go on."""

    limit: int
    window: timedelta
    base_delay: timedelta
    max_delay: timedelta
    sliding: bool = False

    def delay(self, attempts: int) -> timedelta | None:
        if attempts < self.limit:
            return None
        return min(self.base_delay * (1 << min(attempts - self.limit, 32)), self.max_delay)


@frozen
class ThrottlePolicy:
    """An account's failures are counted while they go on (until `account_window` passes
    without one) and cleared by a success: its lock-out doubles up to `max_delay`, so a
    day of guessing checks few passwords, and a device that logged in to the account
    before (within `device_lifetime`) spends a budget of its own, so that the lock-out
    others cause does not hold the owner there. A client address counts every attempt
    (successes too) over `window` from its first; IPv6 addresses by their `ipv6_prefix`.
    Registrations count per client address: `register_limit` in `register_window`, then a
    wait of a whole window."""

    enabled: bool = True
    account_limit: int = 5
    address_limit: int = 50
    window: timedelta = timedelta(minutes=15)
    account_window: timedelta = timedelta(days=1)
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(hours=1)
    ipv6_prefix: int = 64
    device_lifetime: timedelta = timedelta(days=90)
    register_enabled: bool = True
    register_limit: int = 10
    register_window: timedelta = timedelta(hours=1)

    @property
    def account(self) -> Budget:
        """An account's, or a known device's on it."""
        window, base, most = self.account_window, self.base_delay, self.max_delay
        return Budget(self.account_limit, window, base, most, sliding=True)

    @property
    def address(self) -> Budget:
        return Budget(self.address_limit, self.window, self.base_delay, self.max_delay)

    @property
    def registration(self) -> Budget:
        window = self.register_window
        return Budget(self.register_limit, window, window, window)


def account_key(email: Email) -> str:
    # Hashed so that store keys carry no email address.
    return "account:" + hashlib.sha256(email.value.encode()).hexdigest()[:32]


def client_network(address: str, ipv6_prefix: int = 64) -> str | None:
    """The network a client address is counted by: an IPv4 address itself (also when
    mapped into IPv6), an IPv6 address's /ipv6_prefix, never its zone; None if the text is
    no address."""
    try:
        parsed = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is None:
            return str(ipaddress.IPv6Network((parsed, ipv6_prefix), strict=False))
        parsed = parsed.ipv4_mapped
    return str(parsed)


def address_key(address: str, ipv6_prefix: int = 64) -> str | None:
    network = client_network(address, ipv6_prefix)
    return None if network is None else "address:" + network


def _seconds_until(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


@frozen
class Attempt:
    """A log-in attempt that was let through: the budget a success frees (the account's,
    or that of the known device it came from), the account's user (if any) and the device
    token it came with."""

    email: Email
    user_id: uuid.UUID | None
    budget_key: str | None
    device: DeviceToken | None


def _owner(user_id: uuid.UUID) -> str:
    return "user:" + str(user_id)


class LoginThrottle:
    """Counts an attempt before the password is checked, so parallel guesses are counted too.

    Attempts under a budget's limit go through. The attempt that reaches it must also take
    the key's lock (atomically, so of many parallel ones exactly one does) and is then
    checked; the rest are refused until the lock ends. A success frees the account's (or
    the known device's) budget and makes the device known there; an address counts every
    attempt, so one valid account cannot reset it. Devices are known on a user (by id), not
    on an email: an account made anew under the address trusts none of the old one's.
    """

    def __init__(
        self,
        attempts: KeyedAttempts,
        policy: ThrottlePolicy,
        clock: Clock,
        key: TicketKey,
        events: Events,
    ) -> None:
        self._attempts = attempts
        self._policy = policy
        self._clock = clock
        self._key = key
        self._events = events

    async def _spend(
        self, scope: str, budgets: Sequence[tuple[str, Budget]], now: datetime, what: str
    ) -> None:
        try:
            await spend(self._attempts, budgets, now, what)
        except TooManyAttempts as refused:
            self._events.throttled(scope, refused.retry_after_seconds)
            raise

    def _device(self, user_id: uuid.UUID, device: DeviceToken) -> str:
        return self._key.device_digest(_owner(user_id), device)[:32]

    async def attempt(
        self,
        email: Email,
        address: str,
        device: DeviceToken | None = None,
        user_id: uuid.UUID | None = None,
    ) -> Attempt:
        """Count this attempt at the account of `email` (whose user, if it has one, is
        `user_id`); raise TooManyAttempts when it may not be checked."""
        if not self._policy.enabled:
            return Attempt(email, user_id, None, device)
        now = self._clock.now()
        own = account_key(email)
        if device is not None and user_id is not None:
            known = self._device(user_id, device)
            if await self._attempts.trusted(_owner(user_id), known, now):
                own = "device:" + known
        budgets = [(own, self._policy.account)]
        network = address_key(address, self._policy.ipv6_prefix)
        if network is not None:
            budgets.append((network, self._policy.address))
        await self._spend("log-in", budgets, now, "too many failed log-in attempts")
        return Attempt(email, user_id, own, device)

    async def succeeded(self, attempt: Attempt) -> DeviceToken | None:
        """Free the budget the attempt spent and know its device on the account from now on;
        the device token its client keeps (None when nothing is throttled)."""
        if attempt.budget_key is None or attempt.user_id is None:
            return None
        await self._attempts.clear(attempt.budget_key)
        return await self.know(attempt.user_id, attempt.device)

    async def forget(self, user: User) -> None:
        """Free the account's own budget, with no attempt, and forget every device known on
        it: its owner proved by a reset link, or the account deleted."""
        if not self._policy.enabled:
            return
        await self._attempts.clear(account_key(user.email))
        await self._attempts.forget_devices(_owner(user.id))

    async def forget_devices(self, user_id: uuid.UUID, keep: DeviceToken | None = None) -> None:
        """Forget every device known on the account but `keep`, if it is known there."""
        if not self._policy.enabled:
            return
        kept = None if keep is None else self._device(user_id, keep)
        await self._attempts.forget_devices(_owner(user_id), kept)

    async def know(self, user_id: uuid.UUID, device: DeviceToken | None) -> DeviceToken | None:
        """Know this device (a new one if None) on the account for the device lifetime."""
        if not self._policy.enabled:
            return None
        device = device or DeviceToken.issue()
        now = self._clock.now()
        until = now + self._policy.device_lifetime
        await self._attempts.trust(_owner(user_id), self._device(user_id, device), until, now)
        return device

    async def registration(self, address: str) -> None:
        """Count a registration from this address, whatever its outcome (an email already
        taken too); raise TooManyAttempts when the address has had its share."""
        network = client_network(address, self._policy.ipv6_prefix)
        if not self._policy.register_enabled or network is None:
            return
        budget = [("register:" + network, self._policy.registration)]
        await self._spend("registration", budget, self._clock.now(), "too many registrations")


async def spend(
    attempts: LoginAttempts, budgets: Sequence[tuple[str, Budget]], now: datetime, what: str
) -> None:
    """Count one attempt against each budget; raise TooManyAttempts (`what`, try again
    later) if any is locked, or if this attempt reached a limit but another took the lock."""
    until = await attempts.locked_until([key for key, _ in budgets])
    if until is not None and until > now:
        raise TooManyAttempts(_seconds_until(until, now), what)
    for key, budget in budgets:
        count = await attempts.record_failure(key, budget.window, now, sliding=budget.sliding)
        delay = budget.delay(count)
        if delay is not None and not await attempts.claim_lock(key, now + delay, now):
            raise TooManyAttempts(_seconds_until(now + delay, now), what)

"""What the domain needs from the outside world. Adapters fit these; mypy checks that they do."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from attrs import field, frozen

from coatcheck.domain.events import SessionEvent
from coatcheck.domain.factors import (
    FactorSummary,
    NewCredential,
    Passkey,
    PasskeyName,
    PendingStep,
    TotpSetup,
)
from coatcheck.domain.letters import Letter, LetterOrder
from coatcheck.domain.model import Email, Password, PublicUser, Session, User
from coatcheck.domain.tokens import TokenPurpose, TokenRecord


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class Users(Protocol):
    """Only real users are ever found. A registration's user is pending until confirmed."""

    async def add(self, user: User) -> None:
        """Store a new, real user; raise EmailTaken if the email is already used."""

    async def add_pending(self, user: User) -> None:
        """Store a user that is not real (found by nothing, able to log in nowhere) until
        confirm() makes it so. It replaces a pending user of the same email; EmailTaken if
        a real user has it."""

    async def confirm(self, user_id: uuid.UUID) -> bool:
        """Make a pending user real; False if it is gone (a later registration of the email
        replaced it). A store may refuse, as StoreUnavailable, a confirmation that arrives
        too late: after the request that sent it has answered."""
        ...

    async def get(self, user_id: uuid.UUID) -> User | None: ...

    async def by_email(self, email: Email) -> User | None: ...

    async def set_password_hash(
        self, user_id: uuid.UUID, password_hash: str, replacing: str
    ) -> bool:
        """Store a new hash only if the stored one is still `replacing` (compare-and-set);
        False, and no write, if it changed meanwhile."""
        ...

    async def verify_email(self, user_id: uuid.UUID, email: Email) -> User | None:
        """Mark the address verified if it is still the user's; the user as stored then, or
        None (and no write) if the user is gone or has another address now."""
        ...

    async def change_email(self, user_id: uuid.UUID, email: Email, replacing: Email) -> User | None:
        """Give the user the new address, verified, if the old one is still `replacing`
        (compare-and-set); the user as stored then, or None. EmailTaken if another user has it."""
        ...

    async def remove(self, user_id: uuid.UUID) -> bool:
        """Delete the user and everything this store keeps about them (their one-time tokens,
        their known devices); False if there was no such user."""
        ...

    async def stored_emails(self) -> Sequence[tuple[uuid.UUID, str]]:
        """Every user's id and address exactly as stored: the operator's survey of the
        addresses older releases stored in another form (a whole-table read)."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: Password) -> str: ...

    async def verify(self, password: Password, password_hash: str) -> bool: ...

    async def verify_dummy(self, password: Password) -> None:
        """Spend what one verification costs, for an email that has no user."""

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with another cost than the configured one."""
        ...


@frozen
class StoredSession:
    """A session and its handle in the store: the digest of its ticket, or the part of it
    that the store keys the session by. remove() and remove_of_user(keep=) take either."""

    digest: str
    session: Session


class Sessions(Protocol):
    """Sessions keyed by the HMAC digest of their ticket, with a per-user index."""

    async def add(self, digest: str, session: Session) -> None: ...

    async def get(self, digest: str) -> Session | None: ...

    async def replace(self, digest: str, session: Session) -> bool:
        """Renew a session that still exists (its times); False (and no write) if it is gone.
        Its user card is never written back: update_user may have changed it meanwhile."""
        ...

    async def remove(self, digest: str) -> None: ...

    async def of_user(self, user_id: uuid.UUID, now: datetime) -> Sequence[StoredSession]:
        """The user's live sessions; expired ones are pruned from the index."""
        ...

    async def remove_of_user(self, user_id: uuid.UUID, keep: str | None = None) -> int:
        """Remove every session of the user but `keep`; return how many were removed."""
        ...

    async def update_user(self, user: PublicUser) -> int:
        """Rewrite the user card of each of the user's sessions (keeping each one's expiry,
        never bringing back one removed meanwhile); return how many were rewritten. Sessions
        without a card (written before sessions carried one) are left as they are."""
        ...


class Milestones(Protocol):
    """Moments a deployment records once, in the sessions' store, shared by every instance and
    every restart: the first moment stored under a name stays."""

    async def first(self, name: str, moment: datetime) -> datetime:
        """The moment stored under `name`; `moment`, stored now, if there was none."""
        ...


class SessionEvents(Protocol):
    """Announces what happens to sessions to every listener of the store, on every instance."""

    async def publish(self, event: SessionEvent) -> None:
        """Never raises for an outage: what the event announces has already happened in the
        store. A lost event is logged; listeners re-check what they watch whenever their own
        connection comes back, and every session watched is checked again at its deadline."""


class SessionEventFeed(Protocol):
    """The listening side of SessionEvents: what a process that watches sessions reads."""

    async def listen(
        self, deliver: Callable[[SessionEvent], None], resync: Callable[[], None]
    ) -> None:
        """Deliver every event published from now on, in order, until cancelled; call
        `resync` each time listening (re)starts, after which nothing is missed: events
        published while it was not listening may have been lost."""


class LoginAttempts(Protocol):
    """Attempt counts and lock-outs by throttle key (an account, a device on an account, an
    address), and the devices known on accounts, by owner (a user's id) so that an account's
    devices can all be forgotten at once."""

    async def locked_until(self, keys: Sequence[str]) -> datetime | None:
        """The latest lock-out deadline among the keys, if any is locked."""
        ...

    async def record_failure(
        self, key: str, window: timedelta, now: datetime, sliding: bool = False
    ) -> int:
        """Count one attempt; return the count within the window that began with the first
        or, if `sliding`, of the attempts since the key last went a whole window without."""
        ...

    async def claim_lock(self, key: str, until: datetime, now: datetime) -> bool:
        """Atomically lock the key until `until`, unless a lock that outlasts `now` holds it;
        True when this call took the lock."""
        ...

    async def clear(self, key: str) -> None:
        """Forget the key's count and lock (not whether it is trusted)."""

    async def trust(self, owner: str, device: str, until: datetime, now: datetime) -> None:
        """Remember the device as known on the owner's account until `until` (and forget
        the owner's devices whose trust ended by `now`)."""

    async def trusted(self, owner: str, device: str, now: datetime) -> bool:
        """Whether the device is known on the owner's account at `now`."""
        ...

    async def forget_devices(self, owner: str, keep: str | None = None) -> None:
        """Forget every device known on the owner's account, but `keep` (if it is known)."""


class HealthCheck(Protocol):
    async def ping(self) -> None:
        """Return when the store answers and accepts writes (what a log-in needs); raise
        StoreUnavailable otherwise."""


class Events(Protocol):
    """What an operator is told of (logs, metrics). Never a password, ticket or hash."""

    def registered(self, user: User) -> None: ...

    def logged_in(self, user: User, session: Session) -> None: ...

    def log_in_failed(self, reason: str) -> None: ...

    def throttled(self, scope: str, retry_after_seconds: int) -> None: ...

    def sessions_ended(self, user_id: uuid.UUID | None, count: int, reason: str) -> None: ...

    def factors_reset(self, user: User, had: FactorSummary) -> None:
        """An operator removed every second factor of the user (audited)."""


class AccountTokens(Protocol):
    """One-time tokens, keyed by the HMAC digest of the token (the store never sees one)."""

    async def issue(self, digest: str, record: TokenRecord, now: datetime) -> None:
        """Store the token; every other token of the user for the same purpose is dropped (a
        newer request makes older links useless), and so is every expired one."""

    async def take(self, digest: str, purpose: TokenPurpose) -> TokenRecord | None:
        """Remove and return the token of this purpose, atomically: of parallel takes of
        one token, one wins. Expired ones are returned too (the caller checks)."""
        ...

    async def discard(self, user_id: uuid.UUID, purposes: Sequence[TokenPurpose]) -> None:
        """Drop every token of the user for these purposes."""


class KnownDevices(Protocol):
    """The browsers and clients each user has been seen on, by keyed fingerprint."""

    async def remember(self, user_id: uuid.UUID, fingerprint: str, now: datetime) -> bool:
        """Record the device; True only if it is new to a user already seen on another."""
        ...


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over for delivery; raise if it could not be."""


Compose = Callable[[], Awaitable[Letter | None]]


class Outbox(Protocol):
    """Letters leave after the answer, off the request's path, from a durable store."""

    @property
    def delivers(self) -> bool:
        """False when no email backend is configured: letters are then dropped."""
        ...

    async def order(self, order: LetterOrder) -> None:
        """Store the order durably now (the letter will be sent, across outages and restarts);
        the outbox's worker resolves it into its letter."""

    def post(self, letter: Letter) -> None:
        """Store the letter right after the answer (a notice: nothing waits for it)."""

    def post_later(self, compose: Compose) -> None:
        """Run `compose` after the answer and store the letter it returns, if any: its look-ups
        and writes stay off the request's path too (so that its time tells nothing)."""

    async def settle(self) -> None:
        """Return once everything posted so far is sent, or waits for a retry (tests)."""


class EntryState(enum.Enum):
    PENDING = "pending"  # to be sent (an order or a letter)
    SENT = "sent"  # its content erased; kept for a while, for the operator
    FAILED = "failed"  # refused for good, given up on or expired; an operator may retry it


@frozen
class OutboxEntry:
    """One letter (or the order it comes from) in the outbox. `content` is sealed by the
    outbox (encrypted under a key the store never sees), and None once erased."""

    id: uuid.UUID
    kind: str  # the order's or letter's kind, for the operator
    recipient: str | None  # None until resolved, for an order that names no address
    content: bytes | None = field(repr=False)
    request_id: str | None  # the request that wrote it, for its log lines
    created_at: datetime
    retry_until: datetime  # transient failures are retried until then
    expires_at: datetime | None = None  # the end of its token's life: then, never sent
    state: EntryState = EntryState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None  # an error's class or SMTP code: never its text
    claim: uuid.UUID | None = None  # set by claim(): whoever holds its lease


@frozen
class ResolvedEntry:
    """What an order became: its letter, sealed, and the token that letter carries."""

    kind: str
    recipient: str
    content: bytes = field(repr=False)
    expires_at: datetime | None = None
    token_digest: str | None = None
    token: TokenRecord | None = None


class OutboxStore(Protocol):
    """The outbox's entries, in the users' store (so that a letter is stored in the same
    transaction as the token it carries). Claims are leases: an entry claimed is claimed by
    no one else (on any process or instance) until its lease ends, so a worker that died
    holding it gives it back by itself."""

    async def add(self, entry: OutboxEntry) -> None: ...

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[OutboxEntry]:
        """Up to `limit` pending entries due at `now` (soonest first) and not leased, each
        leased for `lease` under a new `claim`, its attempts counted."""
        ...

    async def resolve(self, claimed: OutboxEntry, resolved: ResolvedEntry, now: datetime) -> bool:
        """Replace the claimed order by its letter and store the letter's token (dropping the
        user's other tokens of its purpose), in one transaction; False, and no write, if the
        claim was lost or the token's user is gone."""
        ...

    async def discard(self, claimed: OutboxEntry) -> None:
        """Remove a claimed entry that turned out to have nothing to send."""

    async def sent(self, claimed: OutboxEntry, now: datetime) -> None:
        """Mark it sent and erase its content (if the claim still holds)."""

    async def retry(self, claimed: OutboxEntry, at: datetime, error: str) -> None:
        """Give up the lease; the entry is due again at `at`."""

    async def fail(self, claimed: OutboxEntry, now: datetime, error: str, erase: bool) -> None:
        """Mark it failed (its content erased if `erase`: its token is expired)."""

    async def requeue(self, entry_id: uuid.UUID, now: datetime, retry_until: datetime) -> bool:
        """An operator's retry: a failed or waiting entry is due now; False if none, or if its
        content is erased (a letter whose token expired cannot be sent again)."""
        ...

    async def drop(self, entry_id: uuid.UUID) -> bool:
        """An operator's removal of a waiting or failed entry; False if there is none."""
        ...

    async def entries(self, limit: int) -> list[OutboxEntry]:
        """Pending and failed entries, oldest first, their content left out."""
        ...

    async def depth(self) -> tuple[int, datetime | None]:
        """How many entries are pending, and when the oldest of them was created."""
        ...

    async def purge(self, now: datetime, before: datetime) -> int:
        """Delete the entries sent or failed before `before`; erase every entry whose token
        has expired at `now` (a pending one is failed, "expired"). Return how many were
        deleted."""


# Second factors (issue 21). Factors live in the users' store, beside the users they belong
# to (and are deleted with them); pending steps are short-lived, in the sessions' store.


class Factors(Protocol):
    """A user's authenticator app, recovery codes (as digests) and passkeys."""

    async def summary(self, user_id: uuid.UUID) -> FactorSummary:
        """Which factors the user has (an inactive authenticator app is none), in one read."""
        ...

    async def totp(self, user_id: uuid.UUID) -> TotpSetup | None: ...

    async def start_totp(self, user_id: uuid.UUID, sealed_secret: bytes) -> bool:
        """Store a new, inactive authenticator app, replacing an inactive one; False (and no
        write) if an active one is there, or the user is gone."""
        ...

    async def activate_totp(self, user_id: uuid.UUID, sealed_secret: bytes, step: int) -> bool:
        """Activate the inactive app of this secret, its code of `step` used; False if there
        is none (replaced or activated meanwhile)."""
        ...

    async def use_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        """Record that the active app's code of `step` was accepted, only if no code of this
        step or a later one was (atomically: of parallel uses of one code, one wins)."""
        ...

    async def remove_totp(self, user_id: uuid.UUID) -> bool: ...

    async def set_recovery_codes(self, user_id: uuid.UUID, digests: Sequence[str]) -> None:
        """Replace the user's recovery codes: the old set is void."""

    async def use_recovery_code(self, user_id: uuid.UUID, digest: str) -> bool:
        """Remove the code, atomically; False if the user has no such code (or it was used)."""
        ...

    async def add_passkey(self, passkey: Passkey) -> bool:
        """False (and no write) if the credential is registered already, or the user is gone."""
        ...

    async def passkeys(self, user_id: uuid.UUID) -> Sequence[Passkey]:
        """The user's passkeys, oldest first."""
        ...

    async def passkey(self, credential_id: bytes) -> Passkey | None: ...

    async def rename_passkey(
        self, user_id: uuid.UUID, credential_id: bytes, name: PasskeyName
    ) -> bool: ...

    async def remove_passkey(self, user_id: uuid.UUID, credential_id: bytes) -> bool: ...

    async def use_passkey(
        self, credential_id: bytes, replacing_count: int, sign_count: int, now: datetime
    ) -> bool:
        """Record a use: the new signature counter and when, only if the stored counter is
        still `replacing_count` (compare-and-set: a cloned key's use races and loses)."""
        ...

    async def remove_all(self, user_id: uuid.UUID) -> FactorSummary:
        """Remove every factor and recovery code of the user; what there was."""
        ...


class PendingSteps(Protocol):
    """Short-lived records keyed by a digest (of a pending cookie, or of a session)."""

    async def put(self, key: str, step: PendingStep, now: datetime) -> None:
        """Store (or replace) the step until its expiry (a store may drop those dead at `now`)."""

    async def get(self, key: str) -> PendingStep | None: ...

    async def take(self, key: str) -> PendingStep | None:
        """Remove and return it, atomically: of parallel takes, one wins."""
        ...


class Sealer(Protocol):
    """Authenticated encryption of small secrets at rest, under keys of their own."""

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt under the newest key; `context` is authenticated, not stored."""
        ...

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """Decrypt under whichever configured key sealed it; InvalidValue if none did, or
        the context differs, or it was altered."""
        ...


class OneTimePasswords(Protocol):
    """The authenticator app's algorithm (RFC 6238: SHA-1, 6 digits, 30 seconds)."""

    def new_secret(self) -> str:
        """A new base32 secret."""
        ...

    def code(self, secret: str, step: int) -> str: ...

    def uri(self, secret: str, account: str, issuer: str) -> str:
        """The otpauth:// URI an app scans."""
        ...


class PasskeyCeremonies(Protocol):
    """WebAuthn's two ceremonies, for this relying party (its id and origin configured).
    Credentials are the JSON a browser's PublicKeyCredential.toJSON() gives; anything wrong
    with one (shape, challenge, origin, signature, counter, no user verification) raises
    InvalidValue with a reason that quotes nothing of it."""

    def registration_options(
        self, user: User, challenge: bytes, exclude: Sequence[bytes]
    ) -> dict[str, object]:
        """Options for navigator.credentials.create(): a discoverable credential, user
        verification required."""
        ...

    def verify_registration(self, credential: object, challenge: bytes) -> NewCredential: ...

    def authentication_options(self, challenge: bytes, allow: Sequence[bytes]) -> dict[str, object]:
        """Options for navigator.credentials.get(); no `allow`: any discoverable credential."""
        ...

    def credential_id(self, credential: object) -> bytes:
        """The id an assertion names (to find its passkey), before it is verified."""
        ...

    def verify_authentication(self, credential: object, challenge: bytes, passkey: Passkey) -> int:
        """Verify an assertion of this passkey, user verification required; its new
        signature counter (it must grow, unless the authenticator keeps none: 0)."""
        ...

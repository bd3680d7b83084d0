"""The domain on its in-memory adapters, a FakeClock and a fast real bcrypt.

`app` is the whole domain wired with the default policies; `build(...)` wires another
one with other policies or other fakes (a hasher that counts, a store that loses a race).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Protocol

import attrs
import pytest

from coatcheck.adapters.aead import AeadSealer
from coatcheck.adapters.bcrypt_hasher import BcryptHasher
from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.memory import (
    InMemoryAccountTokens,
    InMemoryEmailSender,
    InMemoryFactors,
    InMemoryKnownDevices,
    InMemoryLoginAttempts,
    InMemoryMilestones,
    InMemoryOutboxStore,
    InMemoryPendingSteps,
    InMemorySessionEvents,
    InMemorySessions,
    InMemoryUsers,
)
from coatcheck.domain.model import ClientInfo, Email, Name, NewPassword, Password, SessionKind, User
from coatcheck.domain.ports import PasswordHasher
from coatcheck.domain.sessions import LoggedIn, SessionPolicy
from coatcheck.domain.throttle import ThrottlePolicy
from coatcheck.domain.tickets import DeviceToken, TicketKey
from coatcheck.entrypoints.container import Services, build_container
from coatcheck.entrypoints.settings import Settings
from tests.factories import NOW
from tests.unit.mailbag import Mailbag

EMAIL = "ada@example.com"
NAME = "Ada Lovelace"
PASSWORD = "correct horse battery staple"
CLIENT = ClientInfo("Mozilla/5.0 (Test)", "203.0.113.7")
BCRYPT_ROUNDS = 4


class Domain(Services):
    """The services built through the composition root on fakes, plus shortcuts for the
    usual first steps."""

    async def add_user(self, email: str = EMAIL, password: str = PASSWORD) -> User:
        """A stored user with a real hash of `password`, and no session yet."""
        user = User(
            id=uuid.uuid4(),
            email=Email(email),
            name=Name(NAME),
            password_hash=await self.hasher.hash(Password(password)),
            created_at=self.clock.now(),
        )
        await self.users.add(user)
        return user

    async def sign_up(self, email: str = EMAIL, password: str = PASSWORD) -> LoggedIn:
        registered = await self.register_user(
            Email(email), Name(NAME), NewPassword(password), CLIENT
        )
        assert registered.logged_in is not None
        return registered.logged_in

    async def logged_in(
        self,
        email: str = EMAIL,
        password: str = PASSWORD,
        kind: SessionKind = SessionKind.BROWSER,
        client: ClientInfo = CLIENT,
        device: DeviceToken | None = None,
    ) -> LoggedIn:
        return await self.log_in(Email(email), Password(password), client, kind, device=device)

    def user_session_count(self, user_id: uuid.UUID) -> int:
        return sum(1 for s in self.sessions.by_digest.values() if s.user_id == user_id)


class Build(Protocol):
    async def __call__(
        self,
        *,
        session_policy: SessionPolicy = ...,
        throttle_policy: ThrottlePolicy = ...,
        hasher: PasswordHasher = ...,
        sessions: InMemorySessions = ...,
        users: InMemoryUsers = ...,
        login_attempts: InMemoryLoginAttempts = ...,
        session_events: InMemorySessionEvents = ...,
        ticket_key: TicketKey = ...,
        email_sender: InMemoryEmailSender | None = ...,
        require_verified_email: bool = ...,
    ) -> Domain: ...


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def users(
    account_tokens: InMemoryAccountTokens,
    known_devices: InMemoryKnownDevices,
    factors: InMemoryFactors,
) -> InMemoryUsers:
    users = InMemoryUsers(account_tokens, known_devices, factors)
    factors.owners = users.by_id
    return users


@pytest.fixture
def factors() -> InMemoryFactors:
    return InMemoryFactors()


@pytest.fixture
def pending_steps() -> InMemoryPendingSteps:
    return InMemoryPendingSteps()


@pytest.fixture
def factor_sealer() -> AeadSealer:
    return AeadSealer([os.urandom(32)])


@pytest.fixture
def sessions() -> InMemorySessions:
    return InMemorySessions()


@pytest.fixture
def attempts() -> InMemoryLoginAttempts:
    return InMemoryLoginAttempts()


@pytest.fixture
def account_tokens() -> InMemoryAccountTokens:
    return InMemoryAccountTokens()


@pytest.fixture
def known_devices() -> InMemoryKnownDevices:
    return InMemoryKnownDevices()


@pytest.fixture
def outbox() -> Mailbag:
    return Mailbag()


@pytest.fixture
def email_sender() -> InMemoryEmailSender:
    return InMemoryEmailSender()


@pytest.fixture
def outbox_store(
    users: InMemoryUsers, account_tokens: InMemoryAccountTokens
) -> InMemoryOutboxStore:
    return InMemoryOutboxStore(users, account_tokens)


@pytest.fixture
def events() -> InMemorySessionEvents:
    return InMemorySessionEvents()


@pytest.fixture
def hasher() -> Iterator[BcryptHasher]:
    hasher = BcryptHasher(rounds=BCRYPT_ROUNDS)
    yield hasher
    hasher.close()


@pytest.fixture
def ticket_key() -> TicketKey:
    return TicketKey(b"unit-test session secret, 32+ bytes long")


@pytest.fixture
def session_policy() -> SessionPolicy:
    return SessionPolicy()


@pytest.fixture
def throttle_policy() -> ThrottlePolicy:
    return ThrottlePolicy()


@pytest.fixture
async def build(
    clock: FakeClock,
    users: InMemoryUsers,
    sessions: InMemorySessions,
    attempts: InMemoryLoginAttempts,
    events: InMemorySessionEvents,
    hasher: BcryptHasher,
    ticket_key: TicketKey,
    session_policy: SessionPolicy,
    throttle_policy: ThrottlePolicy,
    account_tokens: InMemoryAccountTokens,
    known_devices: InMemoryKnownDevices,
    outbox: Mailbag,
    email_sender: InMemoryEmailSender,
    outbox_store: InMemoryOutboxStore,
    factors: InMemoryFactors,
    pending_steps: InMemoryPendingSteps,
    factor_sealer: AeadSealer,
) -> AsyncIterator[Build]:
    """The service's own composition root (build_container) with every store, the clock, the
    hasher and the policies overridden: no file, pool or connection is opened."""
    async with AsyncExitStack() as stack:

        async def build_(**overrides: object) -> Domain:
            parts: dict[str, object] = {
                "clock": clock,
                "login_attempts": attempts,
                "ticket_key": ticket_key,
                "users": users,
                "sessions": sessions,
                "session_events": events,
                "hasher": hasher,
                "session_policy": session_policy,
                "throttle_policy": throttle_policy,
                "account_tokens": account_tokens,
                "known_devices": known_devices,
                "letter_writer": outbox,
                "email_sender": email_sender,
                "outbox_store": outbox_store,
                "factors": factors,
                "pending_steps": pending_steps,
                "factor_sealer": factor_sealer,
                "milestones": InMemoryMilestones(),
                **overrides,
            }
            built = await stack.enter_async_context(build_container(Settings(), parts))
            outbox.attach(built.outbox)
            return Domain(**attrs.asdict(built, recurse=False))

        yield build_


@pytest.fixture
async def app(build: Build) -> Domain:
    return await build()

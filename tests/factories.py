"""Domain values for tests, valid unless told otherwise."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from coatcheck.domain.model import ClientInfo, Email, Name, PublicUser, Session, SessionKind, User
from coatcheck.domain.sessions import SessionPolicy

# In the future, so that stores which expire keys by wall-clock time keep them during a test.
NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)  # whole seconds, as the domain keeps times


def make_user(email: str = "ada@example.com", name: str = "Ada Lovelace") -> User:
    return User(
        id=uuid.uuid4(),
        email=Email(email),
        name=Name(name),
        password_hash="$2b$04$" + "x" * 53,
        created_at=NOW,
    )


def make_session(
    user_id: uuid.UUID,
    now: datetime = NOW,
    kind: SessionKind = SessionKind.BROWSER,
    user_agent: str = "Mozilla/5.0 (Test)",
    address: str = "127.0.0.1",
) -> Session:
    """A session of this release: it carries its user's public fields."""
    user = PublicUser(user_id, Email("ada@example.com"), Name("Ada Lovelace"), NOW)
    return SessionPolicy().start(user_id, kind, ClientInfo(user_agent, address), now, user)


def digest_for(label: str) -> str:
    """A digest-shaped key (64 hex characters) unique to the label."""
    return uuid.uuid5(uuid.NAMESPACE_URL, label).hex * 2


def later(session: Session, by: timedelta = timedelta(minutes=5)) -> datetime:
    return session.created_at + by

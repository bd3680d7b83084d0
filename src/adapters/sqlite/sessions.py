"""Sessions in the embedded store, indexed by user and expiry."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from coatcheck.adapters.sqlite.connection import Database
from coatcheck.adapters.timestamps import iso_utc
from coatcheck.domain.model import (
    AuthMethod,
    ClientInfo,
    Email,
    Name,
    PublicUser,
    Session,
    SessionKind,
)
from coatcheck.domain.ports import StoredSession

_SESSION_SELECT = (
    "SELECT digest, id, user_id, kind, created_at, last_seen_at, expires_at,"
    " absolute_expires_at, user_agent, address, user_email, user_name, user_created_at,"
    " user_email_verified, auth_methods, authenticated_at FROM sessions WHERE "
)


def _card(user: PublicUser | None) -> dict[str, str | bool | None]:
    return {
        "user_email": None if user is None else user.email.value,
        "user_name": None if user is None else user.name.value,
        "user_created_at": None if user is None else iso_utc(user.created_at),
        "user_email_verified": None if user is None else user.email_verified,
    }


def _session_row(digest: str, session: Session) -> dict[str, str | int | None]:
    return {
        "digest": digest,
        "id": session.id,
        "user_id": str(session.user_id),
        "kind": session.kind.value,
        "created_at": iso_utc(session.created_at),
        "last_seen_at": iso_utc(session.last_seen_at),
        "expires_at": iso_utc(session.expires_at),
        "absolute_expires_at": iso_utc(session.absolute_expires_at),
        "user_agent": session.client.user_agent,
        "address": session.client.address,
        **_card(session.user),
        "auth_methods": int(session.methods),
        "authenticated_at": _optional_time(session.authenticated_at),
    }


def _optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def _stored_session(row: Sequence[Any]) -> StoredSession:
    digest, session_id, user_id, kind, *moments, user_agent, address = row[:10]
    email, name, user_created_at, verified, methods, authenticated_at = row[10:]
    created_at, last_seen_at, expires_at, absolute_expires_at = map(datetime.fromisoformat, moments)
    owner = uuid.UUID(user_id)
    user = None
    if email is not None:
        created = datetime.fromisoformat(user_created_at)
        user = PublicUser(owner, Email.as_written(email), Name(name), created, bool(verified))
    return StoredSession(
        digest,
        Session(
            session_id,
            owner,
            SessionKind(kind),
            created_at,
            last_seen_at,
            expires_at,
            absolute_expires_at,
            ClientInfo(user_agent, address),
            user,
            AuthMethod(methods),
            None if authenticated_at is None else datetime.fromisoformat(authenticated_at),
        ),
    )


class SqliteSessions:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, digest: str, session: Session) -> None:
        # Nothing expires rows by itself here: each new session sweeps its user's dead ones.
        async with self._database.transaction() as connection:
            await connection.execute(
                "DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?",
                (str(session.user_id), iso_utc(session.created_at)),
            )
            await connection.execute(
                "INSERT OR REPLACE INTO sessions (digest, id, user_id, kind, created_at,"
                " last_seen_at, expires_at, absolute_expires_at, user_agent, address,"
                " user_email, user_name, user_created_at, user_email_verified, auth_methods,"
                " authenticated_at) VALUES (:digest, :id, :user_id, :kind, :created_at,"
                " :last_seen_at, :expires_at, :absolute_expires_at, :user_agent, :address,"
                " :user_email, :user_name, :user_created_at, :user_email_verified,"
                " :auth_methods, :authenticated_at)",
                _session_row(digest, session),
            )

    async def get(self, digest: str) -> Session | None:
        rows = await self._database.fetch(_SESSION_SELECT + "digest = ?", (digest,))
        return _stored_session(rows[0]).session if rows else None

    async def replace(self, digest: str, session: Session) -> bool:
        # Never the user card: update_user may have rewritten it since the session was read.
        return await self._database.changed_one(
            "UPDATE sessions SET id = :id, user_id = :user_id, kind = :kind,"
            " created_at = :created_at, last_seen_at = :last_seen_at, expires_at = :expires_at,"
            " absolute_expires_at = :absolute_expires_at, user_agent = :user_agent,"
            " address = :address, auth_methods = :auth_methods,"
            " authenticated_at = :authenticated_at WHERE digest = :digest",
            _session_row(digest, session),
        )

    async def remove(self, digest: str) -> None:
        await self._database.change("DELETE FROM sessions WHERE digest = ?", (digest,))

    async def of_user(self, user_id: uuid.UUID, now: datetime) -> Sequence[StoredSession]:
        async with self._database.transaction() as connection:
            await connection.execute(
                "DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?",
                (str(user_id), iso_utc(now)),
            )
            rows = await connection.execute_fetchall(
                _SESSION_SELECT + "user_id = ? ORDER BY created_at", (str(user_id),)
            )
        return [_stored_session(row) for row in rows]

    async def remove_of_user(self, user_id: uuid.UUID, keep: str | None = None) -> int:
        return await self._database.change(
            "DELETE FROM sessions WHERE user_id = ? AND digest IS NOT ?", (str(user_id), keep)
        )

    async def update_user(self, user: PublicUser) -> int:
        return await self._database.change(
            "UPDATE sessions SET user_email = :user_email, user_name = :user_name,"
            " user_created_at = :user_created_at, user_email_verified = :user_email_verified"
            " WHERE user_id = :user_id AND user_email IS NOT NULL",
            {"user_id": str(user.id), **_card(user)},
        )

    async def ping(self) -> None:
        await self._database.fetch("SELECT 1 FROM sessions LIMIT 1")

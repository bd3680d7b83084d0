"""Upgrading from release 0.1 without logging anyone out: sessions it wrote (JSON under
`session:<hex digest>`) keep working, and with SESSION_ENCODING=json this release writes
what 0.1 instances read, so both can share one Redis while a deploy rolls."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as redis

from coatcheck.adapters.clock import FakeClock
from coatcheck.domain.tickets import SessionTicket, TicketKey
from tests.integration.conftest import (
    REGISTRATION,
    SESSION_SECRET,
    Client,
    MakeClient,
    MakeSettings,
)
from tests.integration.http import COOKIE, cookie

KEY = TicketKey(SESSION_SECRET.encode())


def release_0_1_record(user_id: str, now: datetime) -> bytes:
    """A session record exactly as release 0.1 wrote it (its `_dump`)."""
    record = {
        "id": secrets.token_hex(16),
        "user_id": user_id,
        "kind": "browser",
        "created_at": now.isoformat(timespec="microseconds"),
        "last_seen_at": now.isoformat(timespec="microseconds"),
        "expires_at": (now + timedelta(minutes=30)).isoformat(timespec="microseconds"),
        "absolute_expires_at": (now + timedelta(hours=12)).isoformat(timespec="microseconds"),
        "client": {"user_agent": "Mozilla/5.0 (0.1)", "address": "192.0.2.1"},
    }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def release_0_1_load(raw: bytes) -> dict[str, Any]:
    """What release 0.1's `_load` needs of a record, checked as strictly as it reads it."""
    record = json.loads(raw)
    uuid.UUID(record["user_id"])
    assert record["kind"] in {"browser", "remembered", "token"}
    for name in ("created_at", "last_seen_at", "expires_at", "absolute_expires_at"):
        datetime.fromisoformat(record[name])
    assert set(record["client"]) == {"user_agent", "address"}
    return dict(record)


async def registered(client: Client) -> str:
    response = await client.post("/authentication/register", json=REGISTRATION)
    assert response.status == 201
    client.session.cookie_jar.clear()
    return str((await response.json())["id"])


async def plant_release_0_1_session(space: tuple[str, str], user_id: str, now: datetime) -> str:
    """A 0.1 session of the user, record and index entry as 0.1 wrote them; its ticket."""
    url, prefix = space
    ticket = SessionTicket.issue()
    digest = KEY.digest(ticket)
    expires = int((now + timedelta(minutes=30)).timestamp() * 1000) + 1
    raw = redis.Redis.from_url(url)
    await raw.zadd(f"{prefix}user:{user_id}:sessions", {digest: expires})
    await raw.set(f"{prefix}session:{digest}", release_0_1_record(user_id, now), pxat=expires)
    await raw.aclose()
    return ticket.value


async def test_a_session_written_by_release_0_1_keeps_working_after_the_upgrade(
    make_client: MakeClient,
    shared_settings: MakeSettings,
    redis_space: tuple[str, str],
    clock: FakeClock,
) -> None:
    client = await make_client(shared_settings())
    user_id = await registered(client)
    ticket = await plant_release_0_1_session(redis_space, user_id, clock.now())

    who = await client.get("/authentication", headers=cookie(ticket))
    assert who.status == 200
    assert (await who.json())["id"] == user_id  # its user read from PostgreSQL

    clock.advance(timedelta(minutes=2))  # a renewal is due: it stays where 0.1 reads it
    assert (await client.get("/authentication", headers=cookie(ticket))).status == 200
    url, prefix = redis_space
    raw = redis.Redis.from_url(url)
    renewed = await raw.get(f"{prefix}session:{KEY.digest(SessionTicket(ticket))}")
    await raw.aclose()
    assert renewed is not None
    assert release_0_1_load(renewed)["last_seen_at"] > release_0_1_load(renewed)["created_at"]

    listed = await (await client.get("/authentication/sessions", headers=cookie(ticket))).json()
    assert [item["current"] for item in listed].count(True) == 1
    assert len(listed) == 2  # the 0.1 session beside the one registering made

    assert (await client.delete("/authentication/sessions", headers=cookie(ticket))).status == 204
    listed = await (await client.get("/authentication/sessions", headers=cookie(ticket))).json()
    assert len(listed) == 1

    assert (await client.post("/authentication/log-out", headers=cookie(ticket))).status == 204
    assert (await client.get("/authentication", headers=cookie(ticket))).status == 401


async def test_with_json_encoding_release_0_1_reads_what_this_release_writes(
    make_client: MakeClient, shared_settings: MakeSettings, redis_space: tuple[str, str]
) -> None:
    client = await make_client(shared_settings(session_encoding="json"))
    response = await client.post("/authentication/register", json=REGISTRATION)
    assert response.status == 201
    ticket = response.cookies[COOKIE].value
    user_id = (await response.json())["id"]
    digest = KEY.digest(SessionTicket(ticket))

    url, prefix = redis_space
    raw = redis.Redis.from_url(url)
    stored = await raw.get(f"{prefix}session:{digest}")
    members = await raw.zrange(f"{prefix}user:{user_id}:sessions", 0, -1)
    await raw.aclose()

    assert stored is not None
    record = release_0_1_load(stored)
    assert record["user_id"] == user_id
    assert members == [digest.encode()]  # 0.1 revokes by the hex digests in the index


async def test_compact_encoding_writes_no_key_that_release_0_1_would_misread(
    make_client: MakeClient, shared_settings: MakeSettings, redis_space: tuple[str, str]
) -> None:
    client = await make_client(shared_settings())
    response = await client.post("/authentication/register", json=REGISTRATION)
    assert response.status == 201
    digest = KEY.digest(SessionTicket(response.cookies[COOKIE].value))

    url, prefix = redis_space
    raw = redis.Redis.from_url(url)
    old_key = await raw.get(f"{prefix}session:{digest}")
    compact = await raw.get(f"{prefix}s:".encode() + bytes.fromhex(digest[:32]))
    await raw.aclose()

    assert old_key is None
    assert compact is not None
    assert len(compact) < 200

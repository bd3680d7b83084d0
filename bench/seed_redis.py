"""Sessions written straight into Redis through coatcheck's own adapter, so that every byte
is the service's own encoding: HTTP is far too slow to seed a million sessions.

This is the one module of bench/ that imports the domain model and a Redis adapter, and
`SessionWriter` is the one place that builds sessions: when the Session model or
`RedisSessions.add` change, adapt it (and nothing else) so that it still writes one
session exactly as a log-in of `user` would.

Run as `python -m bench.seed_redis JOB.json OUT.json` (SESSION_SECRET in the environment)
it writes one share of a bulk seeding; `seed` spreads the work over such processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.processes import Reaper
from coatcheck.adapters.deadline import StoreTimeouts
from coatcheck.adapters.redis.client import Client, open_redis
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.domain.model import ClientInfo, Email, Name, PublicUser, SessionKind
from coatcheck.domain.sessions import SessionPolicy
from coatcheck.domain.tickets import SessionTicket, TicketKey

ROOT = Path(__file__).resolve().parent.parent
SEED_TIMEOUT = 900.0  # seconds for one bulk seeding
CHUNK = 100  # concurrent adds: redis-py's pool holds 100 connections
# Seeding is no request: on a loaded machine it waits rather than fails.
SEEDING_TIMEOUTS = StoreTimeouts(pool_wait=30.0, connect=10.0, command=30.0)
# Sessions are written as if made this long ago: longer than a renewal's interval (60 s by
# default), so that the first request of each renews it, when the benchmark chooses.
SEEDED_AGO = timedelta(minutes=2)


@dataclass(frozen=True)
class BenchUser:
    """A user as the API shows it (`id` is the UUID's text, `created_at` ISO 8601)."""

    id: str
    email: str
    name: str
    created_at: str = "2026-01-01T00:00:00+00:00"


class SessionWriter:
    """Writes sessions the way coatcheck's log-in does, under a given key prefix."""

    def __init__(self, client: Client, prefix: str, secret: str) -> None:
        self._sessions = RedisSessions(client, prefix=prefix)
        self._key = TicketKey(secret.encode())
        self._policy = SessionPolicy()  # the shipping lifetimes

    async def add(self, user: BenchUser, user_agent: str, address: str, now: datetime) -> str:
        """Store a new remember-me session of `user`; return its ticket (the cookie value)."""
        ticket = SessionTicket.issue()
        client = ClientInfo(user_agent, address)
        user_id = uuid.UUID(user.id)
        # The user's card, as coatcheck writes it: the same in every session of the user.
        created = datetime.fromisoformat(user.created_at.replace("Z", "+00:00"))
        card = PublicUser(user_id, Email.stored(user.email), Name(user.name), created)
        session = self._policy.start(user_id, SessionKind.REMEMBERED, client, now, card)
        await self._sessions.add(self._key.digest(ticket), session)
        return ticket.value


async def write_sessions(
    redis_url: str,
    prefix: str,
    secret: str,
    users: Sequence[BenchUser],
    count: int,
    *,
    user_agent: str,
    address: str = "127.0.0.1",
    start: int = 0,
    sample: int = 0,
) -> list[str]:
    """Write `count` sessions dealt round-robin over `users` (session number `start` first),
    CHUNK at a time; return a uniform random sample of at most `sample` of their tickets."""
    kept: list[str] = []
    rng = random.Random()
    client = await open_redis(redis_url, timeouts=SEEDING_TIMEOUTS)
    writer = SessionWriter(client, prefix, secret)
    last_report = time.monotonic()
    try:
        for first in range(start, start + count, CHUNK):
            last = min(first + CHUNK, start + count)
            now = datetime.now(UTC) - SEEDED_AGO
            tickets = await asyncio.gather(
                *(
                    writer.add(users[n % len(users)], user_agent, address, now)
                    for n in range(first, last)
                )
            )
            for offset, ticket in enumerate(tickets, start=first - start):
                if len(kept) < sample:  # Algorithm R
                    kept.append(ticket)
                elif sample and (slot := rng.randrange(offset + 1)) < sample:
                    kept[slot] = ticket
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                print(f"  seeded {last - start}/{count} sessions under {prefix}", flush=True)
    finally:
        await client.aclose()
    return kept


def merge_samples(parts: Sequence[tuple[int, list[str]]], size: int) -> list[str]:
    """One uniform sample of `size` from parts given as (how many items, a uniform sample
    of min(that, size) of them)."""
    rng = random.Random()
    total = sum(count for count, _ in parts)
    picks = sorted(rng.sample(range(total), min(size, total)))
    merged: list[str] = []
    floor = 0
    for count, kept in parts:
        taken = sum(1 for pick in picks if floor <= pick < floor + count)
        merged += rng.sample(kept, taken)
        floor += count
    rng.shuffle(merged)
    return merged


def seed(
    reaper: Reaper,
    *,
    redis_url: str,
    prefix: str,
    secret: str,
    users: Sequence[BenchUser],
    count: int,
    user_agent: str,
    start: int = 0,
    sample: int = 0,
    processes: int = 2,
) -> list[str]:
    """`write_sessions` spread over `processes` processes; a uniform sample of the tickets."""
    shares = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
    env = {**os.environ, "SESSION_SECRET": secret}
    with tempfile.TemporaryDirectory(prefix="coatcheck-bench-seed-") as folder:
        running = []
        first = start
        for number, share in enumerate(shares):
            if not share:
                continue
            job = Path(folder) / f"job{number}.json"
            job.write_text(
                json.dumps(
                    {
                        "redis_url": redis_url,
                        "prefix": prefix,
                        "users": [asdict(user) for user in users],
                        "count": share,
                        "start": first,
                        "sample": min(share, sample),
                        "user_agent": user_agent,
                    }
                )
            )
            out = Path(folder) / f"out{number}.json"
            command = [sys.executable, "-m", "bench.seed_redis", str(job), str(out)]
            running.append((share, out, reaper.spawn(command, env=env, cwd=ROOT)))
            first += share
        deadline = time.monotonic() + SEED_TIMEOUT
        parts = []
        for share, out, process in running:
            code = process.wait(max(1.0, deadline - time.monotonic()))
            reaper.stop(process, grace=0)
            if code != 0:
                raise RuntimeError(f"seeding sessions under {prefix} failed (exit {code})")
            parts.append((share, json.loads(out.read_text())))
    return merge_samples(parts, sample)


def _main(job_path: str, out_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    tickets = asyncio.run(
        write_sessions(
            job["redis_url"],
            job["prefix"],
            os.environ["SESSION_SECRET"],
            [BenchUser(**user) for user in job["users"]],
            job["count"],
            user_agent=job["user_agent"],
            start=job["start"],
            sample=job["sample"],
        )
    )
    Path(out_path).write_text(json.dumps(tickets))


if __name__ == "__main__":
    _main(*sys.argv[1:3])

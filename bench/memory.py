"""Target 5: Redis memory per session, as clients make sessions.

A coatcheck process at shipping defaults (its default key prefix) on a Redis database of
its own (the first of 1-15 that holds no key), users registered over HTTP, then
`POST /authentication/token` over HTTP, `per_user` times for each user, with a User-Agent
of the given length. The figure is (INFO used_memory after - before) / sessions: everything
those log-ins wrote (records, per-user indexes, whatever else) included, beside the sum of
MEMORY USAGE of every key of that database (which other clients of the same Redis cannot
disturb). The session list is read back to show that no field it shows was dropped or
cut. The keys are deleted afterwards (the database held none before).

    bench/run --only memory
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import redis

from bench import fields, seed_http
from bench.stores import delete_prefix, keys_memory, used_memory

if TYPE_CHECKING:
    from bench.workloads import Bench

PER_USER = 100  # as issue 20 asks: 5,000 bearer sessions of 50 users
DEFAULT_PREFIX = "coatcheck:"  # coatcheck's shipping REDIS_PREFIX


@dataclass(frozen=True)
class Footprint:
    sessions: int
    per_session: float  # INFO used_memory delta / sessions
    keys_per_session: float  # sum of MEMORY USAGE of the database's keys / sessions

    @property
    def disturbed(self) -> bool:
        """used_memory is the whole server's: it grew less than our keys take only if another
        client freed memory meanwhile (on a shared Redis)."""
        return self.per_session < self.keys_per_session

    @property
    def judged(self) -> float:
        """The figure held against the target: used_memory's, unless it was disturbed."""
        return self.keys_per_session if self.disturbed else self.per_session


def own_database(redis_url: str) -> str:
    """The URL of the first database of 1-15 that holds no key."""
    client = redis.Redis.from_url(redis_url)
    try:
        for number in range(1, 16):
            client.execute_command("SELECT", number)
            if client.dbsize() == 0:
                return urlunsplit(urlsplit(redis_url)._replace(path=f"/{number}"))
    finally:
        client.close()
    raise RuntimeError("bench: no empty Redis database among 1-15 for the memory figure")


def measure(
    bench: Bench,
    *,
    sessions: int,
    first_user: int,
    per_user: int = PER_USER,
    user_agent_length: int = fields.USER_AGENT_LENGTH,
    email_length: int = fields.EMAIL_LENGTH,
    name_length: int = fields.NAME_LENGTH,
) -> Footprint:
    url = own_database(bench.redis_url)
    print(f"  Redis database {urlsplit(url).path[1:]} for the memory figure", flush=True)
    user_agent = fields.user_agent(user_agent_length)
    server = bench.coatcheck(
        "memory",
        redis_url=url,
        prefix=DEFAULT_PREFIX,
        BCRYPT_ROUNDS="4",
        LOGIN_THROTTLE="false",
        REGISTER_THROTTLE="false",
    )
    try:
        numbers = range(first_user, first_user + max(1, sessions // per_user))
        users, _ = asyncio.run(
            seed_http.register(
                server.url,
                numbers,
                user_agent=user_agent,
                email_length=email_length,
                name_length=name_length,
            )
        )
        time.sleep(1)
        before = used_memory(url)
        tokens = asyncio.run(seed_http.tokens(server.url, users, per_user, user_agent=user_agent))
        time.sleep(1)  # Redis frees the clients' closed connections first
        after = used_memory(url)
        _keys, usage = keys_memory(url, DEFAULT_PREFIX)
        listed = asyncio.run(seed_http.sessions_of(server.url, tokens[-1], user_agent=user_agent))
        _check_listed(listed, per_user + 1, user_agent)
    finally:
        bench.reaper.stop(server.process)
        delete_prefix(url, DEFAULT_PREFIX)
    made = len(tokens)
    return Footprint(made, (after - before) / made, usage / made)


def _check_listed(listed: list[dict[str, object]], expected: int, user_agent: str) -> None:
    """Every session made is listed, each with the whole User-Agent and an address."""
    if len(listed) != expected:
        raise RuntimeError(f"the session list shows {len(listed)} sessions, not {expected}")
    for session in listed:
        if session.get("userAgent") != user_agent or not session.get("ipAddress"):
            raise RuntimeError(f"a listed session lost a field: {session}")


def measure_both(bench: Bench, sessions: int) -> tuple[Footprint, Footprint]:
    """(typical lengths, maximum lengths)."""
    typical = measure(bench, sessions=sessions, first_user=900_000)
    longest = measure(
        bench,
        sessions=sessions,
        first_user=950_000,
        user_agent_length=fields.MAX_USER_AGENT_LENGTH,
        email_length=fields.MAX_EMAIL_LENGTH,
        name_length=fields.MAX_NAME_LENGTH,
    )
    return typical, longest

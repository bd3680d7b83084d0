"""Target 5: Redis memory per session, its metadata and the per-user index included.

    .venv/bin/python -m bench.memory [--sessions 50000] [--per-user 10]

Writes sessions through coatcheck's own Redis adapter (bench/seed_redis.py) under a fresh
prefix of their own, once with the typical field lengths (110-byte User-Agent, 27-byte
email, 12-byte name) and once at the maximum lengths (256, 254, 100), and reports
(INFO used_memory after - before) / sessions, beside the sum of MEMORY USAGE of the keys
(which other clients of the same Redis cannot disturb). Deletes its keys afterwards.
"""

from __future__ import annotations

import argparse
import secrets
import time
import uuid
from dataclasses import dataclass

from bench import fields
from bench.processes import Reaper
from bench.seed_redis import BenchUser, seed
from bench.stores import check_local, delete_prefix, keys_memory, run_tag, used_memory

PER_USER = 100  # as issue 8 measured: 5,000 bearer sessions of 50 users


@dataclass(frozen=True)
class Footprint:
    sessions: int
    per_session: float  # INFO used_memory delta / sessions
    keys_per_session: float  # sum of MEMORY USAGE of the keys / sessions


def measure(
    reaper: Reaper,
    redis_url: str,
    prefix: str,
    *,
    sessions: int,
    per_user: int = PER_USER,
    user_agent_length: int = fields.USER_AGENT_LENGTH,
    email_length: int = fields.EMAIL_LENGTH,
    name_length: int = fields.NAME_LENGTH,
    processes: int = 2,
) -> Footprint:
    users = [
        BenchUser(str(uuid.uuid4()), fields.email(n, email_length), fields.name(n, name_length))
        for n in range(max(1, sessions // per_user))
    ]
    before = used_memory(redis_url)
    try:
        seed(
            reaper,
            redis_url=redis_url,
            prefix=prefix,
            secret=secrets.token_urlsafe(36),
            users=users,
            count=sessions,
            user_agent=fields.user_agent(user_agent_length),
            processes=processes,
        )
        time.sleep(1)  # Redis frees the seeders' closed connections first
        after = used_memory(redis_url)
        _keys, usage = keys_memory(redis_url, prefix)
    finally:
        delete_prefix(redis_url, prefix)
    return Footprint(sessions, (after - before) / sessions, usage / sessions)


def default_length_prefix() -> str:
    """A fresh prefix as long as the shipping default `coatcheck:` (every key carries it)."""
    return f"cb{run_tag()[:7]}:"


def measure_both(
    reaper: Reaper, redis_url: str, sessions: int, per_user: int = PER_USER
) -> tuple[Footprint, Footprint]:
    """(typical lengths, maximum lengths), each on a fresh prefix of the default's length."""
    typical = measure(
        reaper, redis_url, default_length_prefix(), sessions=sessions, per_user=per_user
    )
    longest = measure(
        reaper,
        redis_url,
        default_length_prefix(),
        sessions=sessions,
        per_user=per_user,
        user_agent_length=fields.MAX_USER_AGENT_LENGTH,
        email_length=fields.MAX_EMAIL_LENGTH,
        name_length=fields.MAX_NAME_LENGTH,
    )
    return typical, longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--sessions", type=int, default=50_000)
    parser.add_argument("--per-user", type=int, default=PER_USER, help="sessions per user")
    arguments = parser.parse_args()
    url = check_local(arguments.redis_url)
    with Reaper() as reaper:
        typical, longest = measure_both(reaper, url, arguments.sessions, arguments.per_user)
    for label, footprint in (("110/27/12 bytes", typical), ("256/254/100 bytes", longest)):
        print(
            f"{label}: {footprint.per_session:.0f} B/session by used_memory, "
            f"{footprint.keys_per_session:.0f} B/session by MEMORY USAGE "
            f"({footprint.sessions} sessions)"
        )


if __name__ == "__main__":
    main()

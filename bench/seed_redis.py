"""Sessions written straight into Redis, byte for byte as coatcheck's own adapter writes
them: HTTP is far too slow to seed a million sessions, and so is the adapter itself (two
round trips a session).

This is the one module of bench/ that imports the domain model and a Redis adapter, and
`SessionWriter` is the one place that builds sessions: when the Session model or
`RedisSessions.add` change, adapt it (and nothing else) so that it still writes one
session exactly as a log-in of `user` would.

How it is fast without a second copy of the encoding: for each user, one session is built
(`SessionPolicy().start`) and handed to `RedisSessions.add` over a client that sends
nothing but records the commands, packed as redis-py packs them (the template). A session
differs from another of the same user, made the same moment, only in its random parts: the
ticket (so its digest, which names the record and the index entry) and its id (inside the
record). Every further session of the user is the template's bytes with those two swapped
(the same lengths, so RESP stays valid). Each template is checked when it is made: a second
session recorded through the adapter must come out exactly as the swap makes it, or the
seeding stops. The bytes go to Redis in large batches on one plain socket per process, the
answers counted with hiredis (redis-py reads them one at a time, several times slower).

Run as `python -m bench.seed_redis JOB.json OUT.json` (SESSION_SECRET in the environment)
it writes one share of a bulk seeding; `seed` spreads the work over such processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hiredis
import redis
from attrs import evolve
from redis.asyncio.client import Pipeline
from redis.connection import parse_url

from bench.processes import Reaper
from coatcheck.adapters.deadline import StoreTimeouts
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.domain.model import ClientInfo, Email, Name, PublicUser, Session, SessionKind
from coatcheck.domain.sessions import SessionPolicy, new_session_id
from coatcheck.domain.tickets import SessionTicket, TicketKey

ROOT = Path(__file__).resolve().parent.parent
SEED_TIMEOUT = 900.0  # seconds for one bulk seeding
BATCH = 2000  # sessions a round trip: about 1 MB of commands
# Seeding is no request: on a loaded machine it waits rather than fails.
SEEDING_TIMEOUTS = StoreTimeouts(pool_wait=30.0, connect=10.0, command=30.0)
# Sessions are written as if made this long ago: longer than a renewal's interval (60 s by
# default), so that the first request of each renews it, when the benchmark chooses.
SEEDED_AGO = timedelta(minutes=2)
_PACKER = redis.Connection()  # type: ignore[no-untyped-call]  # never connected


def _packed(commands: Sequence[tuple[Any, ...]]) -> bytes:
    """Commands in RESP, as redis-py sends them."""
    return b"".join(_PACKER.pack_commands(commands))  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class BenchUser:
    """A user as the API shows it (`id` is the UUID's text, `created_at` ISO 8601)."""

    id: str
    email: str
    name: str
    created_at: str = "2026-01-01T00:00:00+00:00"


class _Recorder(redis.asyncio.Redis):
    """A Redis client that sends nothing: it keeps the arguments of every command given to
    it (in a pipeline or not), as redis-py formats them, and answers each as a success."""

    def __init__(self) -> None:
        super().__init__()
        self.commands: list[tuple[Any, ...]] = []

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.commands.append(args)
        return True

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return _RecordingPipeline(self)


class _RecordingPipeline(Pipeline):
    def __init__(self, recorder: _Recorder) -> None:
        super().__init__(recorder.connection_pool, recorder.response_callbacks, False, None)
        self._recorder = recorder

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack, self.command_stack = self.command_stack, []
        self._recorder.commands += [args for args, _ in stack]
        return [True] * len(stack)


@dataclass(frozen=True)
class Template:
    """What `RedisSessions.add` sends for one session (RESP), how many commands that is, and
    the session's own bytes in it: its digest's (as the record's key and index member name
    it) and its id's (in the record)."""

    packed: bytes
    commands: int
    digest: bytes
    session_id: bytes

    def copy(self, digest: bytes, session_id: bytes) -> bytes:
        """The commands of the same session under another digest and id."""
        return self.packed.replace(self.digest, digest).replace(self.session_id, session_id)


def _short(digest: str) -> bytes:
    """The digest's bytes as the compact record's key and index member hold them (its first
    16: adapters/redis/sessions.py). The check of each template catches a change."""
    return bytes.fromhex(digest)[:16]


class SessionWriter:
    """Writes sessions the way coatcheck's log-in does, under a given key prefix."""

    def __init__(self, prefix: str, secret: str) -> None:
        self._recorder = _Recorder()
        self._sessions = RedisSessions(self._recorder, prefix=prefix)
        self._key = TicketKey(secret.encode())
        self._policy = SessionPolicy()  # the shipping lifetimes

    def session(self, user: BenchUser, user_agent: str, address: str, now: datetime) -> Session:
        """A new remember-me session of `user`, made at `now`."""
        client = ClientInfo(user_agent, address)
        user_id = uuid.UUID(user.id)
        # The user's card, as coatcheck writes it: the same in every session of the user.
        created = datetime.fromisoformat(user.created_at.replace("Z", "+00:00"))
        card = PublicUser(user_id, Email.stored(user.email), Name(user.name), created)
        return self._policy.start(user_id, SessionKind.REMEMBERED, client, now, card)

    async def _recorded(self, digest: str, session: Session) -> tuple[bytes, int]:
        self._recorder.commands.clear()
        await self._sessions.add(digest, session)
        commands = self._recorder.commands
        return _packed(commands), len(commands)

    async def template(
        self, user: BenchUser, user_agent: str, address: str, now: datetime
    ) -> Template:
        """The commands of one session of `user`, checked against a second one's."""
        session = self.session(user, user_agent, address, now)
        digest = self.digest(SessionTicket.issue())
        packed, commands = await self._recorded(digest, session)
        template = Template(packed, commands, _short(digest), bytes.fromhex(session.id))
        other = evolve(session, id=new_session_id())
        other_digest = self.digest(SessionTicket.issue())
        expected, _ = await self._recorded(other_digest, other)
        if template.copy(_short(other_digest), bytes.fromhex(other.id)) != expected:
            raise RuntimeError(
                "RedisSessions.add writes a session otherwise than by its digest's first 16 "
                "bytes and its id's 8: adapt bench/seed_redis.py"
            )
        return template

    def digest(self, ticket: SessionTicket) -> str:
        return self._key.digest(ticket)

    def copy(self, template: Template) -> tuple[str, bytes]:
        """A new session like the template's: its ticket (the cookie value), its commands."""
        ticket = SessionTicket.issue()
        session_id = bytes.fromhex(new_session_id())
        return ticket.value, template.copy(_short(self.digest(ticket)), session_id)


class RespPipe:
    """One plain connection to Redis: sends packed commands, counts the answers (hiredis)
    and fails on any error answer."""

    def __init__(self, url: str, timeout: float) -> None:
        where: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        address = (where.get("host", "127.0.0.1"), where.get("port", 6379))
        self._socket = socket.create_connection(address, timeout=timeout)
        self._reader = hiredis.Reader()
        hello: list[tuple[Any, ...]] = []
        if where.get("password") is not None:
            hello.append(("AUTH", *filter(None, (where.get("username"), where["password"]))))
        hello.append(("SELECT", where.get("db", 0)))
        self.send(_packed(hello), len(hello))

    def send(self, packed: bytes, answers: int) -> None:
        self._socket.sendall(packed)
        refused = []
        while answers:
            data = self._socket.recv(1 << 20)
            if not data:
                raise ConnectionError("Redis closed the connection while seeding")
            self._reader.feed(data)
            while answers and (answer := self._reader.gets()) is not False:
                answers -= 1
                if isinstance(answer, hiredis.ReplyError):
                    refused.append(answer)
        if refused:
            raise RuntimeError(f"Redis refused {len(refused)} seeding commands: {refused[0]}")

    def close(self) -> None:
        self._socket.close()


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
    BATCH at a time; return a uniform random sample of at most `sample` of their tickets.
    Every session of a user is made at the same moment, SEEDED_AGO before this call."""
    kept: list[str] = []
    rng = random.Random()
    writer = SessionWriter(prefix, secret)
    now = datetime.now(UTC) - SEEDED_AGO
    templates: dict[int, Template] = {}
    pipe = await asyncio.to_thread(RespPipe, redis_url, SEEDING_TIMEOUTS.command)
    last_report = time.monotonic()
    try:
        for first in range(start, start + count, BATCH):
            last = min(first + BATCH, start + count)
            batch: list[bytes] = []
            answers = 0
            for number in range(first, last):
                which = number % len(users)
                if which not in templates:
                    templates[which] = await writer.template(users[which], user_agent, address, now)
                ticket, packed = writer.copy(templates[which])
                batch.append(packed)
                answers += templates[which].commands
                offset = number - start
                if len(kept) < sample:  # Algorithm R
                    kept.append(ticket)
                elif sample and (slot := rng.randrange(offset + 1)) < sample:
                    kept[slot] = ticket
            await asyncio.to_thread(pipe.send, b"".join(batch), answers)
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                print(f"  seeded {last - start}/{count} sessions under {prefix}", flush=True)
    finally:
        pipe.close()
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

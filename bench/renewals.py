"""Renewals as in real use while coatcheck is not being measured.

A session's renewal is written at its first request a touch interval (a minute) after the
last; in real use, with every session in use, that spreads renewals evenly: 1/60 of the
sessions a second. The rounds, though, measure the bare handler, plain aiohttp, the ceiling
and the peer between coatcheck's runs (25 s and more): sessions come due meanwhile, nobody
renews them, and the next coatcheck run to rotate over the cookies met them all at once, a
wave of renewals that no other run met (on the quiet run of 22:11 UTC, the authenticated
GET ran at half the rate of /authentication/verify, measured on the same server and cookies
in the same rounds: in the order of the rounds, the GET came first after the gap).

So while no run rotates over the sessions' cookies, this keeps them renewed as their users
would: each session, as it comes due, is authenticated once through coatcheck's own
`Authenticate` on its Redis prefix (the same read, renewal and writes as a request's,
without an HTTP request's cost, in this process). When a run that rotates over the cookies
starts, it is paused, and that run meets the renewals that come due during it, its share.

It runs as a process of its own (`KeeperProcess`: `python -m bench.renewals`, driven over its
stdin), so that the build whose sessions it keeps is the one it imports: a build measured
with `bench/run --against COMMIT` has its sessions renewed by its own code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.processes import Reaper
from bench.seed_redis import SEEDING_TIMEOUTS
from bench.servers import inherited
from coatcheck.adapters.clock import SystemClock
from coatcheck.adapters.redis.client import open_redis
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.domain.errors import CoatcheckError, NotAuthenticated
from coatcheck.domain.model import Session
from coatcheck.domain.sessions import SessionPolicy
from coatcheck.domain.tickets import SessionTicket, TicketKey
from coatcheck.domain.use_cases.authentication import Authenticate

SLACK = timedelta(seconds=1)  # a renewal is written to the second: due a little later
CHUNK = 100  # renewals at once (a catch-up after a long pause renews many)
RETRY = timedelta(seconds=1)  # a renewal the store did not answer is tried again so much later
TIMEOUT = 120.0  # seconds for a pause or a resume


class RenewalKeeper:
    """Renews the sessions of `cookies` ("name=ticket" lines) as they come due, in a thread
    of its own, between `resume()` and `pause()`."""

    def __init__(self, redis_url: str, prefix: str, secret: str, cookies: Sequence[str]) -> None:
        self._redis_url, self._prefix = redis_url, prefix
        self._key = TicketKey(secret.encode())
        self._policy = SessionPolicy()  # the shipping lifetimes and touch interval
        self._tickets = [
            ticket
            for line in cookies
            if (ticket := SessionTicket.parse(line.partition("=")[2])) is not None
        ]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._authenticate: Authenticate | None = None
        self._task: asyncio.Task[None] | None = None
        self._current = asyncio.Event()  # set while no session is overdue
        self.renewed = 0  # renewals written, in all

    def _call(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(TIMEOUT)

    def resume(self) -> None:
        """Read every session (a run may have renewed any), then renew each as it comes due."""
        self._call(self._resume())

    def pause(self) -> None:
        self._call(self._pause())

    def catch_up(self) -> None:
        """Resume, and return once every session that came due meanwhile is renewed."""
        self._call(self._catch_up())

    def close(self) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)
        self._loop.close()

    async def _resume(self) -> None:
        if self._task is not None:
            return
        if self._authenticate is None:
            client = await open_redis(self._redis_url, timeouts=SEEDING_TIMEOUTS)
            sessions = RedisSessions(client, prefix=self._prefix)
            self._client, self._sessions = client, sessions
            self._authenticate = Authenticate(sessions, self._key, SystemClock(), self._policy)
        read = await asyncio.gather(
            *(self._sessions.get(self._key.digest(ticket)) for ticket in self._tickets)
        )
        due = [
            (self._due(session), number, ticket)
            for number, (ticket, session) in enumerate(zip(self._tickets, read, strict=True))
            if session is not None
        ]
        heapq.heapify(due)
        self._current.clear()
        self._task = asyncio.get_running_loop().create_task(self._keep(due))

    async def _catch_up(self) -> None:
        await self._resume()
        task = self._task
        assert task is not None
        current = asyncio.ensure_future(self._current.wait())
        try:
            await asyncio.wait(
                [task, current], timeout=TIMEOUT / 2, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            current.cancel()
        if task.done():
            task.result()  # a failure of the keeper fails the run

    def _due(self, session: Session) -> datetime:
        idle = self._policy.lifetime(session.kind).idle
        return session.last_seen_at + min(self._policy.touch_interval, idle / 4) + SLACK

    async def _keep(self, due: list[tuple[datetime, int, SessionTicket]]) -> None:
        authenticate = self._authenticate
        assert authenticate is not None
        clock = SystemClock()
        while due:
            wait = (due[0][0] - clock.now()).total_seconds()
            if wait > 0:
                self._current.set()
                await asyncio.sleep(min(wait, 0.25))
                continue
            self._current.clear()
            now = clock.now()
            batch = []
            while due and due[0][0] <= now and len(batch) < CHUNK:
                batch.append(heapq.heappop(due))
            answers = await asyncio.gather(
                *(authenticate(ticket) for _, _, ticket in batch), return_exceptions=True
            )
            for (_, number, ticket), answer in zip(batch, answers, strict=True):
                if isinstance(answer, NotAuthenticated):
                    continue  # ended: nothing to keep
                if isinstance(answer, CoatcheckError):  # a busy machine: tried again soon
                    heapq.heappush(due, (clock.now() + RETRY, number, ticket))
                    continue
                if isinstance(answer, BaseException):
                    raise answer
                self.renewed += answer.renewed
                heapq.heappush(due, (self._due(answer.session), number, ticket))

    async def _pause(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        if task.done():
            task.result()  # a failure of the keeper fails the run
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _close(self) -> None:
        await self._pause()
        if self._authenticate is not None:
            await self._client.aclose()


class KeeperProcess:
    """A RenewalKeeper in a process of its own, importing coatcheck from `pythonpath` first
    (empty: this checkout's)."""

    def __init__(
        self,
        reaper: Reaper,
        python: Path,
        root: Path,
        redis_url: str,
        prefix: str,
        secret: str,
        cookies: Path,
        pythonpath: str = "",
    ) -> None:
        command = [str(python), "-m", "bench.renewals", redis_url, prefix, str(cookies)]
        paths = ":".join(filter(None, [pythonpath, str(root)]))
        env = {**inherited(), "PYTHONPATH": paths, "SECRET": secret}
        self._process = reaper.spawn(
            command, env=env, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._ask("ready")
        self.renewed = 0

    def _ask(self, order: str) -> str:
        process = self._process
        if order != "ready":
            process.stdin.write(f"{order}\n".encode())
            process.stdin.flush()
        answer = process.stdout.readline().decode().strip()
        if not answer.startswith("ok"):
            raise RuntimeError(f"the renewal keeper failed ({order}): exit {process.poll()}")
        return answer

    def resume(self) -> None:
        self._ask("resume")

    def pause(self) -> None:
        self._ask("pause")

    def catch_up(self) -> None:
        self._ask("catch-up")

    def close(self) -> None:
        self.renewed = int(self._ask("close").split()[-1])
        self._process.wait(TIMEOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description="renew sessions as they come due (stdin)")
    parser.add_argument("redis_url")
    parser.add_argument("prefix")
    parser.add_argument("cookies", type=Path)
    given = parser.parse_args()
    lines = [line for line in given.cookies.read_text().splitlines() if line]
    keeper = RenewalKeeper(given.redis_url, given.prefix, os.environ["SECRET"], lines)
    print("ok", flush=True)
    for line in sys.stdin:
        order = line.strip()
        if order == "resume":
            keeper.resume()
        elif order == "pause":
            keeper.pause()
        elif order == "catch-up":
            keeper.catch_up()
        elif order == "close":
            keeper.close()
            print(f"ok {keeper.renewed}", flush=True)
            return
        print("ok", flush=True)


if __name__ == "__main__":
    main()

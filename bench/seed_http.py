"""Sessions made over HTTP, as clients make them: register users, log them in again, and
keep each answer's cookie. The cookie's name is read from Set-Cookie (it may be
`coatcheck` or `__Host-coatcheck`), never assumed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from http.cookies import SimpleCookie
from typing import Any

import aiohttp

from bench.fields import PASSWORD, email, name
from bench.seed_redis import BenchUser

SEED_TIMEOUT = 900.0  # seconds for any one seeding step


RETRIES = 5  # answers of 503 (a store answered late: an overloaded machine) are retried


class SeedError(RuntimeError):
    pass


class Busy(SeedError):
    """A 503: worth a retry."""


async def _refused(answer: aiohttp.ClientResponse, label: str) -> SeedError:
    kind = Busy if answer.status == 503 else SeedError
    return kind(f"{label}: {answer.status} {await answer.text()}")


def cookie_of(response: aiohttp.ClientResponse) -> str:
    """`name=value` of the session cookie the answer sets (not the device cookie)."""
    for header in response.headers.getall("Set-Cookie", []):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for morsel in jar.values():
            if morsel.value and not morsel.key.endswith("-device"):
                return f"{morsel.key}={morsel.value}"
    raise SeedError(f"{response.method} {response.url.path}: no session cookie in the answer")


async def _each(
    items: Sequence[Any], work: Callable[[Any], Awaitable[Any]], concurrency: int, label: str
) -> list[Any]:
    """`work(item)` for every item, `concurrency` at a time, results in order; progress
    every few seconds, and the whole step bounded in time."""
    results: list[Any] = [None] * len(items)
    cursor = iter(range(len(items)))
    done = 0
    last_report = time.monotonic()

    async def worker() -> None:
        nonlocal done, last_report
        for index in cursor:
            for attempt in range(1, RETRIES + 1):
                try:
                    results[index] = await work(items[index])
                    break
                except Busy:
                    if attempt == RETRIES:
                        raise
                    await asyncio.sleep(0.5 * attempt)
            done += 1
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                print(f"  {label}: {done}/{len(items)}", flush=True)

    async with asyncio.timeout(SEED_TIMEOUT):
        await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(items))))))
    return results


def _session(user_agent: str, concurrency: int) -> aiohttp.ClientSession:
    # No cookie jar: a log-in that sends a cookie ends the session that cookie names.
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": user_agent},
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def register(
    base_url: str,
    numbers: Sequence[int],
    *,
    user_agent: str,
    concurrency: int = 16,
    email_length: int = 27,
    name_length: int = 12,
) -> tuple[list[BenchUser], list[str]]:
    """Register one user per number; return the users (ids from the answers) and the
    cookie of each one's first session."""
    async with _session(user_agent, concurrency) as http:

        async def existing(body: dict[str, str]) -> tuple[BenchUser, str]:
            """The user a run's earlier attempt registered (the emails are the run's own)."""
            credentials = {"email": body["email"], "password": PASSWORD}
            async with http.post(base_url + "/authentication/log-in", json=credentials) as answer:
                if answer.status != 200:
                    raise await _refused(answer, "log-in after 409")
                user = await answer.json()
                bench_user = BenchUser(user["id"], user["email"], user["name"], user["createdAt"])
                return bench_user, cookie_of(answer)

        async def one(number: int) -> tuple[BenchUser, str]:
            body = {
                "email": email(number, email_length),
                "name": name(number, name_length),
                "password": PASSWORD,
            }
            async with http.post(base_url + "/authentication/register", json=body) as answer:
                if answer.status == 409:  # a retry after a 503 whose registration went through
                    return await existing(body)
                if answer.status != 201:
                    raise await _refused(answer, "register")
                user = await answer.json()
                bench_user = BenchUser(user["id"], user["email"], user["name"], user["createdAt"])
                return bench_user, cookie_of(answer)

        pairs = await _each(numbers, one, concurrency, "register")
    return [user for user, _ in pairs], [cookie for _, cookie in pairs]


async def log_in(
    base_url: str,
    users: Sequence[BenchUser],
    times: int,
    *,
    user_agent: str,
    concurrency: int = 16,
    remember: bool = True,
) -> list[str]:
    """Log every user in `times` times; return the cookies, one a session."""
    async with _session(user_agent, concurrency) as http:

        async def one(user: BenchUser) -> str:
            body = {"email": user.email, "password": PASSWORD, "remember": remember}
            async with http.post(base_url + "/authentication/log-in", json=body) as answer:
                if answer.status != 200:
                    raise await _refused(answer, "log-in")
                return cookie_of(answer)

        rounds = [user for _ in range(times) for user in users]
        return await _each(rounds, one, concurrency, "log-in")


async def tokens(
    base_url: str,
    users: Sequence[BenchUser],
    times: int,
    *,
    user_agent: str,
    concurrency: int = 16,
) -> list[str]:
    """POST /authentication/token `times` times for every user; return the bearer tokens."""
    async with _session(user_agent, concurrency) as http:

        async def one(user: BenchUser) -> str:
            body = {"email": user.email, "password": PASSWORD}
            async with http.post(base_url + "/authentication/token", json=body) as answer:
                if answer.status != 200:
                    raise await _refused(answer, "token")
                return str((await answer.json())["token"])

        rounds = [user for _ in range(times) for user in users]
        return await _each(rounds, one, concurrency, "token")


async def sessions_of(base_url: str, token: str, *, user_agent: str) -> list[dict[str, Any]]:
    """GET /authentication/sessions with a bearer token: the session list its owner sees."""
    async with _session(user_agent, 1) as http:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(base_url + "/authentication/sessions", headers=headers) as answer:
            if answer.status != 200:
                raise SeedError(f"sessions: {answer.status} {await answer.text()}")
            listed: list[dict[str, Any]] = await answer.json()
            return listed


async def touch(
    base_url: str,
    cookies: Sequence[str],
    *,
    user_agent: str,
    concurrency: int = 32,
    over: float = 0.0,
) -> int:
    """GET /authentication once with every cookie, spread evenly over `over` seconds (0: as
    fast as it goes); return how many were refused."""
    async with _session(user_agent, concurrency) as http:
        loop = asyncio.get_running_loop()
        start, pace = loop.time(), over / max(1, len(cookies))

        async def one(item: tuple[int, str]) -> bool:
            number, cookie = item
            await asyncio.sleep(start + number * pace - loop.time())
            headers = {"Cookie": cookie}
            async with http.get(base_url + "/authentication", headers=headers) as answer:
                await answer.read()
                return answer.status == 200

        accepted = await _each(list(enumerate(cookies)), one, concurrency, "touch")
    return accepted.count(False)

"""Steady traffic for fault tests: clients authenticating with their own tokens, log-ins and
registrations, each answer recorded with its status, problem type and latency."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

from attrs import define, field

from tests.integration.conftest import Client
from tests.integration.http import bearer

PASSWORD = "correct horse battery"
AUTHENTICATING = 20
LOGGING_IN = 2
REGISTERING = 1
PAUSE = 0.01  # between a worker's requests: bounded traffic


@define
class Answer:
    kind: str  # "get", "log-in", "register"
    status: int
    started: float
    took: float
    problem: str | None = None
    email: str | None = None


@define
class Traffic:
    client: Client
    tokens: list[str]
    answers: list[Answer] = field(factory=list)
    registrations: itertools.count[int] = field(factory=itertools.count)

    async def _send(self, kind: str, method: str, path: str, **kwargs: Any) -> Answer:
        started = time.monotonic()
        try:
            async with self.client.request(method, path, **kwargs) as response:
                body = await response.read()
                problem = None
                if response.content_type == "application/problem+json":
                    problem = str((await response.json())["type"]).rsplit(":", 1)[-1]
                del body
                status = response.status
        except TimeoutError:
            status, problem = 0, "client-timeout"
        answer = Answer(kind, status, started, time.monotonic() - started, problem)
        self.answers.append(answer)
        return answer

    async def _authenticating(self, token: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._send("get", "GET", "/authentication", headers=bearer(token))
            await asyncio.sleep(PAUSE)

    async def _logging_in(self, email: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            body = {"email": email, "password": PASSWORD}
            await self._send("log-in", "POST", "/authentication/token", json=body)
            await asyncio.sleep(PAUSE * 5)

    async def _registering(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            email = f"new-{next(self.registrations)}@example.com"
            body = {"email": email, "name": "New", "password": PASSWORD}
            answer = await self._send("register", "POST", "/authentication/register", json=body)
            answer.email = email
            self.client.session.cookie_jar.clear()
            await asyncio.sleep(PAUSE * 5)

    def since(self, moment: float, kind: str | None = None) -> list[Answer]:
        return [a for a in self.answers if a.started >= moment and kind in (None, a.kind)]


async def users_with_tokens(client: Client, count: int) -> list[str]:
    tokens = []
    for number in range(count):
        email = f"user-{number}@example.com"
        body = {"email": email, "name": "User", "password": PASSWORD}
        assert (await client.post("/authentication/register", json=body)).status == 201
        client.session.cookie_jar.clear()
        response = await client.post("/authentication/token", json=body)
        tokens.append(str((await response.json())["token"]))
    return tokens


@contextlib.asynccontextmanager
async def traffic(client: Client) -> AsyncIterator[Traffic]:
    """Traffic on `client` while the block runs."""
    tokens = await users_with_tokens(client, AUTHENTICATING)
    flow = Traffic(client, tokens)
    stop = asyncio.Event()
    workers = [flow._authenticating(token, stop) for token in tokens]
    workers += [flow._logging_in(f"user-{n}@example.com", stop) for n in range(LOGGING_IN)]
    workers += [flow._registering(stop) for _ in range(REGISTERING)]
    running = [asyncio.create_task(worker) for worker in workers]
    try:
        yield flow
    finally:
        stop.set()
        await asyncio.gather(*running)


async def ready_answer(client: Client) -> tuple[int, float]:
    started = time.monotonic()
    async with client.get("/health/ready") as response:
        await response.read()
        return response.status, time.monotonic() - started


async def until_all_served(flow: Traffic, seconds: float = 15.0) -> float:
    """Wait until every token authenticates again, and a log-in works; how long it took."""
    started = time.monotonic()
    credentials = {"email": "user-0@example.com", "password": PASSWORD}
    while time.monotonic() - started < seconds:
        async with flow.client.post("/authentication/token", json=credentials) as response:
            statuses = [response.status]
        for token in flow.tokens:
            async with flow.client.get("/authentication", headers=bearer(token)) as response:
                statuses.append(response.status)
        if statuses == [200] * (1 + len(flow.tokens)):
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"not every session works again after {seconds} s")

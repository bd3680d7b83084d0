"""One sweeping timer for every request's deadline: a request past it is cancelled within
a sweep; a finished one is never cancelled, and nothing of it is held until the sweep."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from coatcheck.entrypoints.http import context
from coatcheck.entrypoints.http.context import (
    _DONE,
    _EXPIRED,
    _TASK,
    SWEEP_SECONDS,
    Deadlines,
    context_middleware,
)


def finish(entry: list[object]) -> None:
    """What the context middleware does when its request has its answer."""
    entry[_DONE], entry[_TASK] = True, None


async def test_a_request_past_its_deadline_is_cancelled_within_a_sweep() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    slow = asyncio.create_task(asyncio.sleep(10))
    entry = deadlines.watch(0.01, loop.time() + 0.01, slow)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(slow, timeout=0.01 + 3 * SWEEP_SECONDS)
    assert entry[_EXPIRED]


async def test_a_finished_request_is_never_cancelled() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    quick = asyncio.create_task(asyncio.sleep(0))
    entry = deadlines.watch(0.01, loop.time() + 0.01, quick)
    await quick
    finish(entry)
    await asyncio.sleep(0.01 + 2 * SWEEP_SECONDS)
    assert not entry[_EXPIRED]
    assert not quick.cancelled()


async def test_a_finished_request_is_freed_before_the_next_sweep(
    aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "SWEEP_SECONDS", 60.0)  # no sweep during the test
    tasks: list[weakref.ref[asyncio.Task[Any]]] = []

    async def handler(request: web.Request) -> web.Response:
        task = asyncio.current_task()
        assert task is not None
        tasks.append(weakref.ref(task))
        return web.Response(text="ok")

    app = web.Application(middlewares=[context_middleware(request_deadline=5, hashing_deadline=5)])
    app.router.add_get("/", handler)
    client = await aiohttp_client(app)
    assert (await client.get("/")).status == 200
    await asyncio.sleep(0)
    gc.collect()
    assert tasks[0]() is None  # nothing of the request is held until the sweep


def test_one_context_middleware_serves_on_a_loop_then_another() -> None:
    """The middleware keeps the loop of its last request (no get_running_loop() on every
    request): once that loop no longer runs, a request on the next one is watched there."""
    middleware = context_middleware(request_deadline=5, hashing_deadline=5)
    loops: list[asyncio.AbstractEventLoop] = []

    async def handler(request: web.Request) -> web.Response:
        loops.append(asyncio.get_running_loop())
        return web.Response(text="ok")

    async def serve_once() -> int:
        app = web.Application(middlewares=[middleware])
        app.router.add_get("/", handler)
        async with TestClient(TestServer(app)) as client:
            return (await client.get("/")).status

    assert [asyncio.run(serve_once()), asyncio.run(serve_once())] == [200, 200]
    assert loops[0] is not loops[1]

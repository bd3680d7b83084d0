"""An error no handler expected: a 500 problem, and a log line naming the route's template,
never the path the client sent."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web

from coatcheck.entrypoints.http.problems import problem_middleware


async def test_an_unhandled_error_logs_the_route_template_and_not_the_path_sent(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app = web.Application(middlewares=[problem_middleware()])
    app.router.add_get("/boom/{anything}", boom)
    client = await aiohttp_client(app)

    with caplog.at_level(logging.ERROR):
        response = await client.get("/boom/sent-by-the-client-not-to-be-logged")

    assert response.status == 500
    assert response.content_type == "application/problem+json"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/boom/{anything}" in logged
    assert "sent-by-the-client" not in logged
    assert "sent-by-the-client" not in await response.text()

"""Apps on real stores: PostgreSQL users and Redis sessions (each test its own database and
key prefix), or the embedded SQLite default in a temporary folder."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from coatcheck.adapters.clock import FakeClock
from coatcheck.entrypoints.http.app import create_app
from coatcheck.entrypoints.settings import Settings, load_settings
from tests.integration.conformance import Conformance, Seen
from tests.integration.mailbox import Mailbox, smtp_server
from tests.integration.serving import ServiceTestServer

SESSION_SECRET = "integration-tests-secret-" + "0" * 16


def shared_stores_environment(
    postgres_dsn: str, redis_space: tuple[str, str], data_dir: Path, **extra: str
) -> dict[str, str]:
    """The environment of a coatcheck on the test's PostgreSQL database and Redis key space,
    with the tests' secret, bcrypt at its cheapest and a data folder of its own."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": postgres_dsn,
        "REDIS_URL": redis_space[0],
        "REDIS_PREFIX": redis_space[1],
        "SESSION_SECRET": SESSION_SECRET,
        "BCRYPT_ROUNDS": "4",
        "DATA_DIR": str(data_dir),
        "METRICS_PORT": "api",  # not the default port: tests run several instances at once
        **extra,
    }


MakeSettings = Callable[..., Settings]
Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
SEEN = pytest.StashKey[Seen]()


@pytest.fixture
def clock() -> FakeClock:
    """Starts at the real now, so Redis expiries (wall-clock) agree with the app's clock."""
    return FakeClock()


@pytest.fixture
def shared_settings(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> MakeSettings:
    """Settings on the real PostgreSQL and Redis of this test; keywords override any field."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": postgres_dsn,
            "redis_url": redis_space[0],
            "redis_prefix": redis_space[1],
            "session_secret": SESSION_SECRET,
            "bcrypt_rounds": 4,
            "cookie_secure": False,
            "data_dir": tmp_path,
        }
        return load_settings(**(values | overrides))

    return make


@pytest.fixture
def embedded_settings(tmp_path: Path) -> MakeSettings:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"bcrypt_rounds": 4, "cookie_secure": False, "data_dir": tmp_path}
        return load_settings(**(values | overrides))

    return make


@pytest.fixture
def conformance(request: pytest.FixtureRequest) -> Iterator[Conformance]:
    """Holds every answer of this test's apps to their OpenAPI document (see conformance.py)."""
    checker = Conformance(request.config.stash.setdefault(SEEN, Counter()))
    yield checker
    assert not checker.violations, "answers unlike the OpenAPI document:\n" + "\n".join(
        checker.violations
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How much of the API the conformance check saw; with -v, each answer and how often."""
    seen = terminalreporter.config.stash.get(SEEN, None)
    if seen:
        routes = {(method, path) for method, path, _ in seen}
        terminalreporter.write_line(
            f"OpenAPI conformance: {seen.total()} answers, {len(seen)} distinct (method, route,"
            f" status) over {len(routes)} (method, route)"
        )
        if terminalreporter.verbosity > 0:
            for (method, path, status), count in sorted(seen.items()):
                terminalreporter.write_line(f"  {method:7} {path:35} {status}  x{count}")


@pytest.fixture
def make_client(aiohttp_client: Any, clock: FakeClock, conformance: Conformance) -> MakeClient:
    """A test client of a new app instance on the given settings, its clock the fake one,
    every answer of it checked against its OpenAPI document; keywords override other
    providers of the container."""

    async def make(settings: Settings, **overrides: object) -> Client:
        app = create_app(settings, overrides={"clock": clock, **overrides})
        conformance.watch(app)
        client: Client = await aiohttp_client(ServiceTestServer(app))
        return client

    return make


@pytest.fixture
async def client(shared_settings: MakeSettings, make_client: MakeClient) -> Client:
    """One app instance on real PostgreSQL and Redis, with default settings.

    The stores are asked for first, so they are torn down after the app has closed.
    """
    return await make_client(shared_settings())


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    """A local SMTP server of this test's own; `mailbox.settings()` points coatcheck at it."""
    async with smtp_server() as box:
        yield box


@pytest.fixture
async def mail_client(
    mailbox: Mailbox, shared_settings: MakeSettings, make_client: MakeClient
) -> Client:
    """An app on PostgreSQL and Redis that sends its email to the test's SMTP server. (The
    server and the stores are asked for first: they are torn down after the app.)"""
    return await make_client(shared_settings(**mailbox.settings()))


REGISTRATION = {"email": "ada@example.com", "name": "Ada Lovelace", "password": "correct horse"}
CREDENTIALS = {"email": REGISTRATION["email"], "password": REGISTRATION["password"]}

"""What the in-process HTTP benchmarks (login_timing.py, reset_timing.py) share: coatcheck
served on 127.0.0.1 on the embedded store in a temporary folder, or on a given PostgreSQL and
the local Redis under a random prefix that is deleted afterwards; and one registered
throwaway user."""

from __future__ import annotations

import argparse
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bench.stores import delete_prefix
from coatcheck.entrypoints.http.app import create_app
from coatcheck.entrypoints.settings import load_settings

PASSWORD = "the right password"  # noqa: S105 -- a throwaway user's


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (default: SQLite)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")


def store_name(arguments: argparse.Namespace) -> str:
    return "PostgreSQL + Redis" if arguments.database_url else "embedded SQLite"


@asynccontextmanager
async def served(
    arguments: argparse.Namespace, **settings: Any
) -> AsyncIterator[tuple[TestClient[Any, Any], str]]:
    """A client of coatcheck on these settings, and the email of a user registered on it."""
    prefix = f"coatcheck-bench:{uuid.uuid4().hex[:8]}:"
    with tempfile.TemporaryDirectory() as data_dir:
        settings |= {"cookie_secure": False, "data_dir": data_dir}
        if arguments.database_url:
            settings |= {
                "database_url": arguments.database_url,
                "redis_url": arguments.redis_url,
                "redis_prefix": prefix,
                "session_secret": "bench-" + "x" * 40,
            }
        app = create_app(load_settings(**settings))
        try:
            async with TestClient(TestServer(app, host="127.0.0.1")) as client:
                email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
                registered = await client.post(
                    "/authentication/register",
                    json={"email": email, "name": "Bench", "password": PASSWORD},
                )
                assert registered.status == 201, await registered.text()
                yield client, email
        finally:
            if arguments.database_url:
                delete_prefix(arguments.redis_url, prefix)

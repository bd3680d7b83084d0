from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.services import fresh_database, fresh_redis_prefix


@pytest.fixture
async def postgres_dsn() -> AsyncIterator[str]:
    async for dsn in fresh_database():
        yield dsn


@pytest.fixture
async def redis_space() -> AsyncIterator[tuple[str, str]]:
    """(REDIS_URL, key prefix) of a key space this test owns."""
    async for space in fresh_redis_prefix():
        yield space

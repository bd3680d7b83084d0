from __future__ import annotations

import gc
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.services import fresh_database, fresh_redis_prefix, redis_cluster


def pytest_configure(config: pytest.Config) -> None:
    """Apps made in the tests answer /metrics on their API's port: many run at once, and the
    default (a listener of their own, on one fixed port) would be the first one's alone. The
    tests of that default say so themselves."""
    os.environ.setdefault("METRICS_PORT", "api")


@pytest.fixture(scope="module", autouse=True)
def _no_long_collections() -> None:
    """Collect, then freeze what survives, before each module: a full collection of the
    whole run's heap (700,000 objects by the end) paused the event loop that the test
    and the app under test share for 0.4-2.3 s, past the stores' 0.25 s timeouts. Within a
    module, collections scan only what it made; each module's leftovers go at the next."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@pytest.fixture
async def postgres_dsn() -> AsyncIterator[str]:
    async for dsn in fresh_database():
        yield dsn


@pytest.fixture
async def redis_space() -> AsyncIterator[tuple[str, str]]:
    """(REDIS_URL, key prefix) of a key space this test owns."""
    async for space in fresh_redis_prefix():
        yield space


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Redis Cluster for the whole test run, made and shut down by it."""
    with redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as url:
        yield url


@pytest.fixture
def redis_cluster_space(redis_cluster_url: str) -> tuple[str, str]:
    """(cluster URL, a key prefix of this test's own) on the test run's cluster."""
    return redis_cluster_url, f"coatcheck-test:{uuid.uuid4().hex[:12]}:"

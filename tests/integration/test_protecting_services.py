"""docs/protecting-services.md, its aiohttp example applications run exactly as written on
real PostgreSQL and Redis: in process, and over HTTP beside a running coatcheck. (Each of
its examples runs in a real server in test_guards.py.)"""

from __future__ import annotations

import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from coatcheck.entrypoints.http.app import create_app
from tests.integration.conftest import REGISTRATION, MakeSettings, shared_stores_environment
from tests.integration.http import COOKIE, set_cookies

PAGE = Path(__file__).resolve().parents[2] / "docs" / "protecting-services.md"
_BLOCK = re.compile(r"```python\n(# (\S+)\.py\n.*?)```", re.S)
MakeServer = Callable[..., Awaitable[TestServer]]
EXAMPLES = ["shop_starlette", "shop_fastapi", "shop_flask", "shop_in_process", "shop_over_http"]


def write_examples(folder: Path) -> list[str]:
    """Each Python block of the page in `folder`, in the module its first line names."""
    found = _BLOCK.findall(PAGE.read_text())
    assert [name for _, name in found] == EXAMPLES
    for body, name in found:
        (folder / f"{name}.py").write_text(body)
    return [name for _, name in found]


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The page's examples, importable."""
    names = write_examples(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in names:
        sys.modules.pop(name, None)


async def test_the_in_process_example_guards_its_orders(
    examples: None,
    postgres_dsn: str,
    redis_space: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment = shared_stores_environment(
        postgres_dsn, redis_space, tmp_path, COOKIE_SECURE="false"
    )
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    from shop_in_process import make_app

    async with TestClient(TestServer(make_app())) as client:
        home = await client.get("/")
        refused = await client.get("/orders")
        assert (await client.post("/authentication/register", json=REGISTRATION)).status == 201
        orders = await client.get("/orders")
        ordered = await orders.json()
        assert (await client.post("/authentication/log-out")).status == 204
        after = await client.get("/orders")

    assert home.status == 200
    assert refused.status == after.status == 401
    assert orders.status == 200
    assert ordered["for"] == REGISTRATION["email"]


async def test_the_over_http_example_guards_its_orders_with_a_running_coatcheck(
    examples: None, shared_settings: MakeSettings, aiohttp_server: MakeServer
) -> None:
    coatcheck = await aiohttp_server(create_app(shared_settings()))
    from shop_over_http import make_app

    async with TestClient(TestServer(make_app(str(coatcheck.make_url(""))))) as shop:
        refused = await shop.get("/orders")
        registered = await shop.session.post(
            coatcheck.make_url("/authentication/register"), json=REGISTRATION
        )
        shop.session.cookie_jar.clear()
        ticket = set_cookies(registered)[COOKIE][""]
        orders = await shop.get("/orders", headers={"Cookie": f"{COOKIE}={ticket}"})
        ordered = await orders.json()

    assert refused.status == 401
    assert registered.status == 201
    assert orders.status == 200
    assert ordered["for"] == REGISTRATION["email"]

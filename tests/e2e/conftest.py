"""Headless Chromium (Debian's `chromium`, driven by Playwright's Python package: nothing is
downloaded) against the service on 127.0.0.1 with real PostgreSQL and Redis.

Each test gets a browser of its own, launched with a fresh profile (Playwright makes a new
temporary user-data-dir for every launch and removes it after), and the service as the
integration tests run it: in process, every answer checked against the OpenAPI document,
but on the real clock and with the cookie's defaults (Secure: Chromium keeps Secure
cookies for http://127.0.0.1, a potentially trustworthy origin, so the e2e service runs
with COOKIE_SECURE left on). Under CI=true a missing Chromium fails the tests; elsewhere
it skips them. (Playwright is a pinned dev dependency: always there.)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from attrs import frozen
from playwright.async_api import async_playwright, expect

from coatcheck.adapters.clock import SystemClock
from coatcheck.entrypoints.settings import Settings
from tests.integration.conftest import (  # noqa: F401 -- the fixtures the e2e service uses
    MakeClient,
    MakeSettings,
    clock,
    conformance,
    make_client,
    shared_settings,
)
from tests.services import service_missing

CHROMIUM = os.environ.get("COATCHECK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = Path(os.environ.get("COATCHECK_TEST_OUTPUT", Path(__file__).parents[1] / "output"))
WAIT_MS = 5000  # the longest any expectation waits


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        service_missing("Chromium", FileNotFoundError(CHROMIUM))
    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


Device = Callable[..., Awaitable[Any]]


@pytest.fixture
async def device(browser: Any) -> AsyncIterator[Device]:
    """A new browser context (a device of its own: its own cookies) and a page in it.

    What the pages meet is collected, and a test fails on a script error or a Content
    Security Policy violation in any of them."""
    problems: list[str] = []

    async def open_device(user_agent: str | None = None) -> Any:
        context = await browser.new_context(
            user_agent=user_agent,
            viewport={"width": 1100, "height": 760},
            locale="en-US",
            timezone_id="UTC",
        )
        context.set_default_timeout(WAIT_MS)
        page = await context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"console: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield open_device
    assert not problems, "\n".join(problems)


@pytest.fixture
def screenshots() -> Path:
    """Where the tests put their screenshots (tests/output/ unless COATCHECK_TEST_OUTPUT)."""
    folder = OUTPUT / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@frozen
class Service:
    url: str  # http://127.0.0.1:PORT
    settings: Settings


Serve = Callable[..., Awaitable[Service]]


@pytest.fixture
def serve(shared_settings: MakeSettings, make_client: MakeClient) -> Serve:  # noqa: F811
    """Starts the service on 127.0.0.1 (real PostgreSQL and Redis, the real clock, the cookie's
    defaults); keywords override settings. (The stores are asked for first, so that they
    outlive the app.)"""

    async def start(*, overrides: dict[str, object] | None = None, **settings: Any) -> Service:
        configured: Settings = shared_settings(cookie_secure=True, **settings)
        client = await make_client(configured, clock=SystemClock(), **(overrides or {}))
        return Service(f"http://127.0.0.1:{client.port}", configured)

    return start

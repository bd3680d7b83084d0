"""Second factors on the account page in headless Chromium, with Chrome's virtual
authenticator (DevTools protocol: ctap2, internal transport, resident keys, user
verification): a passkey registered and used to log in with no password; the authenticator
app set up from the page and its code asked at the next log-in; a recovery code used once
and refused the second time.

WebAuthn needs a relying-party id that is a domain, never an IP address: the service is
reached at http://localhost:PORT, its PUBLIC_BASE_URL."""

from __future__ import annotations

import base64
import os
import re
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.async_api import expect

from coatcheck.adapters.clock import SystemClock
from coatcheck.entrypoints.http.app import create_app
from tests.e2e.account import ADA, PASSWORD, AccountPage
from tests.e2e.conftest import Device
from tests.integration.conformance import Conformance
from tests.integration.conftest import MakeSettings
from tests.integration.serving import ServiceTestServer

Start = Callable[[], Awaitable[str]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def on_localhost(
    shared_settings: MakeSettings, aiohttp_client: Any, conformance: Conformance
) -> Start:
    """Starts the service at http://localhost:PORT (its PUBLIC_BASE_URL, so its WebAuthn
    relying party is `localhost`) on the real clock; its base URL."""

    async def start() -> str:
        port = free_port()
        base = f"http://localhost:{port}"
        keys = base64.b64encode(os.urandom(32)).decode()
        settings = shared_settings(cookie_secure=True, public_base_url=base, factor_keys=keys)
        app = create_app(settings, overrides={"clock": SystemClock()})
        conformance.watch(app)
        await aiohttp_client(ServiceTestServer(app, host="127.0.0.1", port=port))
        return base

    return start


async def virtual_authenticator(page: Any) -> None:
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


async def signed_up(page: Any, base: str) -> AccountPage:
    account = await AccountPage(page, base).open()
    await account.sign_up(ADA["email"], ADA["name"], ADA["password"])
    await expect(account.hello()).to_be_visible()
    return account


async def log_out(account: AccountPage) -> None:
    await account.log_out()
    await expect(account.page.get_by_role("heading", name="Your account")).to_be_visible()


async def test_a_passkey_registered_on_the_page_logs_in_with_no_password(
    on_localhost: Start, device: Device, screenshots: Path
) -> None:
    base = await on_localhost()
    page = await device()
    await virtual_authenticator(page)
    account = await signed_up(page, base)

    await page.get_by_label("Name of the new passkey").fill("This laptop")
    await page.get_by_role("button", name="Add a passkey").click()
    await expect(account.status).to_have_text("The passkey This laptop was added.")
    await expect(page.get_by_role("list", name="Your recovery codes").locator("li")).to_have_count(
        10
    )
    await expect(page.get_by_label("New name for the passkey This laptop")).to_be_visible()
    await page.screenshot(path=screenshots / "account-passkey-added.png")

    await log_out(account)
    await page.get_by_role("button", name="Log in with a passkey").click()

    await expect(account.hello()).to_be_visible()
    verify = await page.request.get(f"{base}/authentication/verify")
    assert verify.headers["x-auth-methods"] == "passkey"


async def test_the_app_set_up_on_the_page_is_asked_for_and_a_recovery_code_works_once(
    on_localhost: Start, device: Device, screenshots: Path
) -> None:
    base = await on_localhost()
    page = await device()
    account = await signed_up(page, base)

    await page.get_by_role("button", name="Set up an authenticator app").click()
    await expect(page.locator("#totp-secret")).to_have_text(re.compile(r"^[A-Z2-7]{32}$"))
    secret = (await page.locator("#totp-secret").text_content() or "").strip()
    await expect(
        page.get_by_role("img", name="QR code of the authenticator app's secret")
    ).to_be_visible()
    confirm = page.locator("form#totp-confirm")
    await confirm.get_by_label("Code shown by the app").fill(pyotp.TOTP(secret).now())
    await confirm.get_by_role("button", name="Turn on the authenticator app").click()
    await expect(account.status).to_have_text(
        "The authenticator app is on: log-ins ask for its code."
    )
    codes = page.get_by_role("list", name="Your recovery codes").locator("li")
    await expect(codes).to_have_count(10)
    recovery = (await codes.first.text_content() or "").strip()
    await page.screenshot(path=screenshots / "account-totp-on.png")

    # The next log-in: the password, then a code of the app (the next step's: the one used
    # to turn the app on is spent). Logging out leaves nothing of the codes in the page.
    await log_out(account)
    assert await page.locator("#recovery-codes li").count() == 0
    assert await page.locator("#totp-secret").text_content() == ""
    await account.log_in(ADA["email"], PASSWORD)
    step = page.locator("form#second-factor")
    await expect(page.get_by_role("heading", name="One more step")).to_be_visible()
    await page.screenshot(path=screenshots / "account-second-step.png")
    await step.get_by_label("Code from your authenticator app").fill(
        pyotp.TOTP(secret).at(time.time() + 30)
    )
    await step.get_by_role("button", name="Continue").click()
    await expect(account.hello()).to_be_visible()

    # A recovery code logs in once ...
    await log_out(account)
    await account.log_in(ADA["email"], PASSWORD)
    await step.get_by_label("Or a recovery code").fill(recovery)
    await step.get_by_role("button", name="Continue").click()
    await expect(account.hello()).to_be_visible()

    # ... and is refused the second time.
    await log_out(account)
    await account.log_in(ADA["email"], PASSWORD)
    await step.get_by_label("Or a recovery code").fill(recovery)
    await step.get_by_role("button", name="Continue").click()
    await expect(step.get_by_role("alert")).to_have_text("That code is wrong or was used already.")
    await expect(account.hello()).to_be_hidden()

"""The account page in headless Chromium against the service with real PostgreSQL and Redis:
signing up, out and in; devices that see each other and end each other, live; a password
change; errors shown where they were caused; the cookie out of every script's reach; the
keyboard alone. Screenshots go to tests/output/screenshots/."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.async_api import expect

from coatcheck.adapters.memory import InMemorySessions
from coatcheck.domain.errors import StoreUnavailable
from tests.e2e.account import (
    ADA,
    EDGE_ON_WINDOWS,
    FIREFOX_ON_LINUX,
    PASSWORD,
    SAFARI_ON_IPHONE,
    AccountPage,
    logged_in,
    signed_up,
)
from tests.e2e.conftest import Device, Serve

NEW_PASSWORD = "tr0ub4dor & 3 staples"


async def session_cookie(page: Any, name: str) -> dict[str, Any] | None:
    return next((item for item in await page.context.cookies() if item["name"] == name), None)


async def test_sign_up_log_out_and_log_in_with_a_cookie_no_script_can_read(
    serve: Serve, device: Device, screenshots: Path
) -> None:
    service = await serve()
    page = await device()
    account = await AccountPage(page, service.url).open()
    await page.screenshot(path=screenshots / "account-logged-out.png")

    await account.sign_up(ADA["email"], ADA["name"], "short")
    password = account.sign_up_form.get_by_label("Password")
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(password).to_have_accessible_description(
        "At least 8 characters. Must be at least 8 characters."
    )
    await account.sign_up_form.get_by_label("Password").fill(PASSWORD)
    await account.sign_up_form.get_by_role("button", name="Create account").click()
    await expect(account.hello()).to_be_visible()
    await expect(page.get_by_text("Logged in as ada@example.com")).to_be_visible()
    # The page's own log-out sits on the line of the account's name, apart from the
    # sentence about the unverified address.
    log_out = page.get_by_role("button", name="Log out", exact=True)
    heading, button = await account.hello().bounding_box(), await log_out.bounding_box()
    assert heading is not None
    assert button is not None
    assert heading["y"] <= button["y"] + button["height"] / 2 <= heading["y"] + heading["height"]
    await expect(page.locator("#unverified").get_by_role("button", name="Log out")).to_have_count(0)
    await expect(account.sessions).to_have_count(1)
    await expect(account.row("This device")).to_contain_text("Chrome on Linux")

    # The cookie: HttpOnly (no script sees it), Secure, SameSite=Lax, a browser session's.
    name = service.settings.cookie_full_name
    cookie = await session_cookie(page, name)
    assert cookie is not None
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")
    assert cookie["expires"] == -1
    readable = await page.evaluate("document.cookie")
    assert name not in readable
    assert cookie["value"] not in readable

    await account.log_out()
    await expect(account.log_in_form).to_be_visible()
    await expect(account.status).to_have_text("You are logged out.")
    assert await session_cookie(page, name) is None

    await account.log_in(ADA["email"], PASSWORD, remember=True)
    await expect(account.hello()).to_be_visible()
    remembered = await session_cookie(page, name)
    assert remembered is not None
    assert remembered["expires"] > 0  # "remember me": a persistent cookie
    assert remembered["value"] != cookie["value"]  # a fresh ticket at every log-in


async def test_a_device_revoked_from_another_falls_back_to_the_log_in_form_without_a_reload(
    serve: Serve, device: Device, screenshots: Path
) -> None:
    base = (await serve()).url
    laptop = await signed_up(await device(FIREFOX_ON_LINUX), base)
    phone = await logged_in(await device(SAFARI_ON_IPHONE), base)
    desktop = await logged_in(await device(EDGE_ON_WINDOWS), base)

    # The laptop's open page hears of the others at once: its list is current.
    await expect(laptop.sessions).to_have_count(3)
    await expect(laptop.row("This device")).to_contain_text("Firefox on Linux")
    await expect(laptop.row("Safari on iPhone")).to_be_visible()
    await expect(laptop.row("Edge on Windows")).to_be_visible()
    await laptop.page.screenshot(path=screenshots / "account-three-sessions.png")

    await phone.page.evaluate("window.notReloaded = true")
    await expect(phone.status).to_have_text("Logged in as Ada Lovelace.")
    revoke = laptop.row("Safari on iPhone").get_by_role("button", name="Revoke Safari on iPhone")
    await expect(revoke).to_have_text("Revoke")
    await revoke.click()

    await expect(phone.notice).to_have_text(
        "This session was logged out from another device. Log in again."
    )
    await expect(
        phone.page.locator("#status")
    ).to_be_empty()  # no green "Logged in as" above the red notice
    await expect(laptop.status).to_have_text("Revoked Safari on iPhone: it is logged out.")
    await expect(phone.log_in_form).to_be_visible()
    await expect(phone.hello()).to_be_hidden()
    assert await phone.page.evaluate("window.notReloaded") is True
    await expect(laptop.sessions).to_have_count(2)
    await expect(desktop.sessions).to_have_count(2)  # the third device's list follows too

    await laptop.page.get_by_role("button", name="Log out everywhere else").click()
    await expect(desktop.log_in_form).to_be_visible()
    await expect(laptop.sessions).to_have_count(1)
    await expect(laptop.hello()).to_be_visible()


async def test_a_password_change_ends_the_other_device_and_keeps_this_one(
    serve: Serve, device: Device
) -> None:
    base = (await serve()).url
    laptop = await signed_up(await device(FIREFOX_ON_LINUX), base)
    phone = await logged_in(await device(SAFARI_ON_IPHONE), base)
    await expect(laptop.sessions).to_have_count(2)

    await laptop.change_password(PASSWORD, NEW_PASSWORD)

    await expect(laptop.status).to_have_text(
        "Your password was changed. Every other session was logged out."
    )
    await expect(phone.notice).to_contain_text("Your password was changed")
    await expect(phone.log_in_form).to_be_visible()
    await expect(laptop.sessions).to_have_count(1)
    await asyncio.sleep(0.5)  # the laptop's socket ended with its old session: still here
    await expect(laptop.hello()).to_be_visible()

    await phone.log_in(ADA["email"], PASSWORD)
    await expect(phone.log_in_form.get_by_role("alert")).to_have_text("Wrong email or password.")
    await phone.log_in(ADA["email"], NEW_PASSWORD)
    await expect(phone.hello()).to_be_visible()
    await expect(laptop.sessions).to_have_count(2)  # the laptop watches its new session


async def test_a_wrong_password_and_the_throttle_s_wait_are_shown_by_the_log_in_form(
    serve: Serve, device: Device, screenshots: Path
) -> None:
    base = (await serve(throttle_account_limit=2, throttle_base_delay=30)).url
    account = await signed_up(await device(), base)
    await account.log_out()
    alert = account.log_in_form.get_by_role("alert")

    await account.log_in(ADA["email"], "not my password")
    await expect(alert).to_have_text("Wrong email or password.")
    await account.log_in(ADA["email"], "still not it")
    await expect(alert).to_have_text("Wrong email or password.")
    await account.log_in(ADA["email"], PASSWORD)

    await expect(alert).to_have_text("Too many attempts. Try again in 30 seconds.")
    await expect(account.hello()).to_be_hidden()
    await account.page.screenshot(path=screenshots / "account-throttled.png")


class Outage(InMemorySessions):
    """Sessions that a test can take down."""

    down = False

    async def add(self, digest: str, session: Any) -> None:
        if self.down:
            raise StoreUnavailable("session store unavailable")
        await super().add(digest, session)


async def test_a_store_that_is_down_is_shown_by_the_form_that_met_it(
    serve: Serve, device: Device
) -> None:
    sessions = Outage()
    base = (await serve(overrides={"sessions": sessions})).url
    account = await signed_up(await device(), base)
    await account.log_out()
    sessions.down = True

    await account.log_in(ADA["email"], PASSWORD)

    await expect(account.log_in_form.get_by_role("alert")).to_have_text(
        "The service is unavailable right now (a store did not answer). Try again in a moment."
    )
    sessions.down = False
    await account.log_in_form.get_by_role("button", name="Log in").click()
    await expect(account.hello()).to_be_visible()


async def test_the_page_can_be_used_with_the_keyboard_alone(serve: Serve, device: Device) -> None:
    base = (await serve()).url
    page = await device()
    account = await AccountPage(page, base).open()
    keyboard = page.keyboard

    async def tab_to(label: str) -> None:
        for _ in range(20):
            await keyboard.press("Tab")
            focused = await page.evaluate(
                "document.activeElement.labels?.[0]?.textContent"
                " ?? document.activeElement.textContent"
            )
            if focused.strip() == label:
                return
        raise AssertionError(f"Tab never reached {label!r}")

    await tab_to("Email")  # the log-in form's: the first on the page
    await tab_to("Email")  # then the sign-up form's
    await keyboard.type(ADA["email"])
    await tab_to("Name")
    await keyboard.type(ADA["name"])
    await tab_to("Password")
    await keyboard.type(PASSWORD)
    await keyboard.press("Enter")

    heading = account.hello()
    await expect(heading).to_be_focused()  # where a screen reader picks up again
    await tab_to("Log out")
    await keyboard.press("Enter")
    await expect(account.log_in_form).to_be_visible()
    await expect(page.get_by_role("heading", name="Your account")).to_be_focused()

    await tab_to("Email")
    await keyboard.type(ADA["email"])
    await tab_to("Password")
    await keyboard.type(PASSWORD)
    await tab_to("Remember me on this device")
    await keyboard.press("Space")
    await tab_to("Log in")
    await keyboard.press("Enter")
    await expect(heading).to_be_focused()


async def test_a_page_of_another_origin_reads_the_api_only_when_that_origin_is_allowed(
    serve: Serve, device: Device, aiohttp_server: Any
) -> None:
    front_end = await aiohttp_server(front_end_app())
    other_origin = f"http://127.0.0.1:{front_end.port}"
    closed = (await serve()).url
    opened = (await serve(allowed_origins=other_origin)).url
    page = await device()
    await signed_up(page, closed)  # the cookie, for 127.0.0.1 (any port: the same site)

    await page.goto(f"{other_origin}/?api={closed}")
    await expect(page.locator("#fetch")).to_have_text("blocked: TypeError")
    await expect(page.locator("#socket")).to_have_text("refused")

    await page.goto(f"{other_origin}/?api={opened}")
    await expect(page.locator("#fetch")).to_have_text(f"read: 200 {ADA['email']}")
    await expect(page.locator("#socket")).to_have_text("ready")


PROBE = """
const api = new URL(location.href).searchParams.get("api");
const show = (id, text) => { document.getElementById(id).textContent = text; };
try {
  const response = await fetch(`${api}/authentication`, { credentials: "include" });
  show("fetch", `read: ${response.status} ${(await response.json()).email}`);
} catch (error) {
  show("fetch", `blocked: ${error.name}`);
}
const socket = new WebSocket(`${api.replace("http", "ws")}/authentication/events`);
socket.onmessage = ({ data }) => show("socket", JSON.parse(data).type);
socket.onclose = () => document.getElementById("socket").textContent || show("socket", "refused");
"""


def front_end_app() -> web.Application:
    """A front end of another origin: its page asks the API who is logged in, with the
    cookie, and opens the events socket."""

    async def index(request: web.Request) -> web.Response:
        return web.Response(
            text='<!doctype html><p id="fetch"></p><p id="socket"></p>'
            '<script type="module" src="/probe.js"></script>',
            content_type="text/html",
        )

    async def probe(request: web.Request) -> web.Response:
        return web.Response(text=PROBE, content_type="text/javascript")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/probe.js", probe)
    return app

"""The account page as a person uses it: by its labels, roles and visible text."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

PASSWORD = "correct horse battery"
ADA = {"email": "ada@example.com", "name": "Ada Lovelace", "password": PASSWORD}

FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87"
)


class AccountPage:
    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.log_in_form = page.locator("form#log-in")
        self.sign_up_form = page.locator("form#sign-up")
        self.password_form = page.locator("form#change-password")
        self.sessions = page.get_by_role("table").locator("tbody tr")
        self.notice = page.locator("#notice")
        self.status = page.get_by_role("status")

    def hello(self, name: str = ADA["name"]) -> Any:
        return self.page.get_by_role("heading", name=f"Hello, {name}")

    async def open(self) -> AccountPage:
        await self.page.goto(f"{self.base}/account/")
        await expect(self.page.locator("#loading")).to_be_hidden()
        return self

    async def sign_up(self, email: str, name: str, password: str) -> None:
        form = self.sign_up_form
        await form.get_by_label("Email").fill(email)
        await form.get_by_label("Name").fill(name)
        await form.get_by_label("Password").fill(password)
        await form.get_by_role("button", name="Create account").click()

    async def log_in(self, email: str, password: str, remember: bool = False) -> None:
        form = self.log_in_form
        await form.get_by_label("Email").fill(email)
        await form.get_by_label("Password").fill(password)
        if remember:
            await form.get_by_label("Remember me on this device").check()
        await form.get_by_role("button", name="Log in").click()

    async def log_out(self) -> None:
        await self.page.get_by_role("button", name="Log out", exact=True).click()

    async def change_password(self, current: str, new: str) -> None:
        form = self.password_form
        await form.get_by_label("Current password").fill(current)
        await form.get_by_label("New password").fill(new)
        await form.get_by_role("button", name="Change password").click()

    def row(self, device: str) -> Any:
        return self.sessions.filter(has_text=device)


async def signed_up(page: Any, base: str, **fields: str) -> AccountPage:
    account = await AccountPage(page, base).open()
    person = ADA | fields
    await account.sign_up(person["email"], person["name"], person["password"])
    await expect(account.hello(person["name"])).to_be_visible()
    return account


async def logged_in(page: Any, base: str, password: str = PASSWORD) -> AccountPage:
    account = await AccountPage(page, base).open()
    await account.log_in(ADA["email"], password)
    await expect(account.hello()).to_be_visible()
    return account

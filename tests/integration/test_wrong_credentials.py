"""One rule for wrong credentials: every route that takes a password answers a wrong one
with 401 (a log-in's `invalid-credentials`, a logged-in caller's `wrong-password`), and the
caller's session goes on."""

from __future__ import annotations

import pytest

from tests.integration.conftest import CREDENTIALS, Client
from tests.integration.http import register

WRONG = "not my password"
ROUTES = [
    ("POST", "/authentication/change-password", {"newPassword": "another horse staple"}),
    ("POST", "/authentication/change-email", {"newEmail": "ada.new@example.com"}),
    ("DELETE", "/authentication/account", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[path for _, path, _ in ROUTES])
async def test_a_wrong_current_password_is_401_and_the_session_goes_on(
    mail_client: Client, method: str, path: str, body: dict[str, str]
) -> None:
    await register(mail_client)

    answer = await mail_client.request(method, path, json={"currentPassword": WRONG, **body})

    assert answer.status == 401
    assert answer.content_type == "application/problem+json"
    assert (await answer.json())["type"] == "urn:coatcheck:problem:wrong-password"
    assert (await mail_client.get("/authentication")).status == 200


async def test_a_wrong_password_at_log_in_is_401_too(client: Client) -> None:
    await register(client)
    client.session.cookie_jar.clear()

    answer = await client.post("/authentication/log-in", json={**CREDENTIALS, "password": WRONG})

    assert answer.status == 401
    assert (await answer.json())["type"] == "urn:coatcheck:problem:invalid-credentials"

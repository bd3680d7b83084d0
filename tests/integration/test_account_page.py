"""GET /account/: the page and its files, each with a Content-Security-Policy that allows
no inline script and nothing from elsewhere; declared in the OpenAPI document; off with
ACCOUNT_PAGE=false."""

from __future__ import annotations

import re

import pytest

from coatcheck.entrypoints.http.routes.account import FILES, PAGE
from tests.integration.conftest import MakeClient, MakeSettings


@pytest.mark.parametrize("name", FILES)
async def test_every_file_of_the_page_is_served_with_a_strict_policy(
    make_client: MakeClient, embedded_settings: MakeSettings, name: str
) -> None:
    client = await make_client(embedded_settings())
    response = await client.get(PAGE if name == "index.html" else PAGE + name)

    assert response.status == 200
    assert response.content_type == FILES[name]
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await response.read()


async def test_the_page_holds_no_inline_script_or_style_and_loads_nothing_from_elsewhere(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    html = await (await client.get(PAGE)).text()

    assert re.findall(r"<script\b[^>]*>", html) == ['<script type="module" src="account.js">']
    assert "</script>" in html
    assert re.search(r"<script[^>]*>\s*[^<\s]", html) is None  # every script element is empty
    assert re.search(r"\son\w+=|\sstyle=|<style", html) is None
    assert re.search(r"(src|href)=\"(https?:)?//", html) is None
    for module in ("account.js", "api.js", "forms.js", "events.js"):
        source = await (await client.get(PAGE + module)).text()
        assert "innerHTML" not in source
        assert re.search(r"https?://", source) is None
        assert all(name.startswith("./") for name in re.findall(r'from "([^"]+)"', source))


async def test_account_without_its_slash_leads_to_the_page(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    response = await client.get("/account", allow_redirects=False)
    assert response.status == 308
    assert response.headers["Location"] == PAGE


async def test_the_page_s_routes_are_in_the_openapi_document(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    paths = (await (await client.get("/openapi.json")).json())["paths"]

    assert paths[PAGE]["get"]["responses"]["200"]["content"] == {
        "text/html": {"schema": {"type": "string"}}
    }
    assert paths[PAGE + "account.js"]["get"]["security"] == []
    assert "101" in paths["/authentication/events"]["get"]["responses"]


async def test_account_page_false_leaves_the_page_out(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings(account_page=False))
    assert (await client.get(PAGE)).status == 404
    assert (await client.get(PAGE + "account.js")).status == 404
    paths = (await (await client.get("/openapi.json")).json())["paths"]
    assert not [path for path in paths if path.startswith("/account")]


async def test_rows_revoke_and_the_page_s_own_log_out_sits_with_the_account_s_name(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    html = await (await client.get(PAGE)).text()

    row = html.split('<template id="session-row">', 1)[1].split("</template>", 1)[0]
    assert re.findall(r"<button[^>]*>([^<]*)</button>", row) == ["Revoke"]
    title = re.search(r'<div class="who-title">(.*?)</div>', html, re.S)
    assert title is not None
    assert 'id="signed-in-title"' in title.group(1)
    assert re.search(r'<button id="log-out"[^>]*>Log out</button>', title.group(1))
    unverified = html.split('<p id="unverified"', 1)[1].split("</p>", 1)[0]
    assert "log-out" not in unverified

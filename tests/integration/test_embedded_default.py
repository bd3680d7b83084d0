"""The embedded default: no DATABASE_URL, no REDIS_URL, one SQLite file. In process, and as
the real `coatcheck serve` a newcomer runs first."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import aiohttp

from tests.integration.conftest import CREDENTIALS, REGISTRATION, MakeClient, MakeSettings
from tests.integration.http import COOKIE, bearer, cookie, register
from tests.integration.serving import README_RUN_COMMAND, coatcheck_serve, output_of


async def test_embedded_store_runs_the_whole_flow_and_refuses_a_replayed_ticket(
    make_client: MakeClient, embedded_settings: MakeSettings, tmp_path: Path
) -> None:
    client = await make_client(embedded_settings())

    registered = await register(client)
    assert (await client.get("/authentication")).status == 200
    assert (await client.post("/authentication/log-out")).status == 204
    assert (await client.get("/authentication")).status == 401
    logged_in = await client.post("/authentication/log-in", json=CREDENTIALS)
    assert logged_in.status == 200
    ticket = logged_in.cookies[COOKIE].value
    assert ticket != registered.cookies[COOKIE].value
    who = await client.get("/authentication")
    assert who.status == 200
    assert (await who.json())["email"] == REGISTRATION["email"]
    assert (await client.post("/authentication/log-out")).status == 204
    client.session.cookie_jar.clear()
    replayed = await client.get("/authentication", headers=cookie(ticket))

    assert replayed.status == 401
    assert replayed.content_type == "application/problem+json"
    assert (tmp_path / "coatcheck.sqlite3").is_file()


async def test_embedded_store_lists_and_revokes_sessions_and_accepts_tokens(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    await client.post("/authentication/register", json=REGISTRATION)
    token = (await (await client.post("/authentication/token", json=CREDENTIALS)).json())["token"]

    listed = await (await client.get("/authentication/sessions")).json()
    revoked = await client.delete("/authentication/sessions")

    assert sorted(item["kind"] for item in listed) == ["browser", "token"]
    assert revoked.status == 204
    assert (await client.get("/authentication", headers=bearer(token))).status == 401
    assert (await client.get("/authentication")).status == 200


def clean_environment(data_dir: Path) -> dict[str, str]:
    """What a newcomer's shell has: no store URLs, no secret; plain HTTP, cheap bcrypt."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data_dir.parent),
        "DATA_DIR": str(data_dir),
        "COOKIE_SECURE": "false",
        "BCRYPT_ROUNDS": "4",
        "PYTHONUNBUFFERED": "1",
    }


async def run_flow(base: str) -> list[str]:
    """Register, log out, log in, who am I, log out, replay: the tickets handed out."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=base, cookie_jar=jar) as http:
        async with http.post("/authentication/register", json=REGISTRATION) as response:
            assert response.status == 201
            registered = response.cookies[COOKIE].value
        async with http.post("/authentication/log-out") as response:
            assert response.status == 204
        async with http.post("/authentication/log-in", json=CREDENTIALS) as response:
            assert response.status == 200
            logged_in = response.cookies[COOKIE].value
        async with http.get("/authentication") as response:
            assert response.status == 200
            assert (await response.json())["email"] == REGISTRATION["email"]
        async with http.post("/authentication/log-out") as response:
            assert response.status == 204
        jar.clear()
        for ticket in (registered, logged_in):
            async with http.get("/authentication", headers=cookie(ticket)) as response:
                assert response.status == 401
    return [registered, logged_in]


async def test_the_readme_run_command_serves_the_flow_with_nothing_configured(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "server.log"
    serving = coatcheck_serve(
        env=clean_environment(data_dir),
        log=log,
        cwd=tmp_path,
        program=(str(README_RUN_COMMAND),),
    )
    async with serving as base:
        tickets = await run_flow(base)

    secret = data_dir / "session_secret"
    assert secret.is_file()
    assert (data_dir / "coatcheck.sqlite3").is_file()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700  # the hashes are no one else's
    for file in data_dir.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    output_text = output_of(log)
    assert "/authentication/log-in" in output_text  # the access log was captured
    for ticket in tickets:
        assert ticket not in output_text
    assert REGISTRATION["password"] not in output_text
    assert secret.read_text().strip() not in output_text

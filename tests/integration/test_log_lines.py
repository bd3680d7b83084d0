"""`coatcheck serve`'s output over the whole HTTP flow: every line is one JSON object, a
request's lines carry its id (returned in X-Request-ID), and no line holds a password,
ticket, token, digest, hash or secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import aiohttp
import asyncpg

from tests.integration.conftest import SESSION_SECRET, shared_stores_environment
from tests.integration.serving import coatcheck_serve, output_of

PASSWORD = "correct horse battery"
NEW_PASSWORD = "tr0ub4dor & 3 horses"
USER = {"email": "ada@example.com", "name": "Ada", "password": PASSWORD}


async def _flow(base: str, secrets_seen: set[str]) -> list[str]:
    """The whole API once; the tickets and tokens it handed out go into `secrets_seen`;
    returns the request ids the answers carried."""
    ids = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:

        async def call(method: str, path: str, **kwargs: object) -> aiohttp.ClientResponse:
            async with http.request(method, f"{base}{path}", **kwargs) as response:  # type: ignore[arg-type]
                await response.read()
                ids.append(response.headers["X-Request-ID"])
                for morsel in response.cookies.values():
                    if morsel.value:
                        secrets_seen.add(morsel.value)
                if response.content_type == "application/json":
                    body = json.loads(await response.read())
                    if isinstance(body, dict) and "token" in body:
                        secrets_seen.add(body["token"])
                return response

        assert (await call("POST", "/authentication/register", json=USER)).status == 201
        wrong = {"email": USER["email"], "password": "not the password"}
        assert (await call("POST", "/authentication/log-in", json=wrong)).status == 401
        login = {"email": USER["email"], "password": PASSWORD}
        assert (await call("POST", "/authentication/log-in", json=login)).status == 200
        token = json.loads(
            await (await http.post(f"{base}/authentication/token", json=login)).read()
        )["token"]
        secrets_seen.add(token)
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await call("GET", "/authentication")).status == 200
        listed = await http.get(f"{base}/authentication/sessions", headers=bearer)
        other = next(item["id"] for item in await listed.json() if not item["current"])
        assert (
            await call("DELETE", f"/authentication/sessions/{other}", headers=bearer)
        ).status == 204
        assert (await call("DELETE", "/authentication/sessions", headers=bearer)).status == 204
        change = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
        changed = await call("POST", "/authentication/change-password", json=change, headers=bearer)
        assert changed.status == 200
        for _ in range(6):
            await call("POST", "/authentication/log-in", json=wrong)
        assert (await call("POST", "/authentication/log-in", json=wrong)).status == 429
        assert (await call("POST", "/authentication/log-out")).status == 204
        assert (await call("GET", "/health/ready")).status == 200
        assert (await call("GET", "/metrics")).status == 200
    return ids


async def test_every_line_is_json_and_none_holds_a_secret(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    environment = shared_stores_environment(
        postgres_dsn, redis_space, tmp_path, COOKIE_SECURE="false"
    )
    handed_out: set[str] = set()
    log = tmp_path / "server.log"
    async with coatcheck_serve(env=environment, log=log) as base:
        ids = await _flow(base, handed_out)
    lines = output_of(log).splitlines()
    connection = await asyncpg.connect(postgres_dsn)
    try:
        hashes = [row["password_hash"] for row in await connection.fetch("SELECT * FROM users")]
    finally:
        await connection.close()
    digests = [
        hmac.new(SESSION_SECRET.encode(), ticket.encode(), hashlib.sha256).hexdigest()
        for ticket in handed_out
    ]
    forbidden = {
        PASSWORD,
        NEW_PASSWORD,
        "not the password",
        SESSION_SECRET,
        *handed_out,
        *digests,
        *(digest[:32] for digest in digests),
        *hashes,
    }
    assert len(handed_out) >= 4
    assert hashes
    events = set()
    for line in lines:
        entry = json.loads(line)
        assert isinstance(entry, dict), line
        assert not any(secret in line for secret in forbidden), line
        assert "$2b$" not in line
        events.add(entry.get("event"))
    request_lines = [json.loads(line) for line in lines if '"coatcheck.request"' in line]
    assert {entry["request_id"] for entry in request_lines} >= set(ids)
    assert {"registered", "log_in", "throttled", "sessions_ended"} <= events

"""The operator's `coatcheck sessions` commands, against the PostgreSQL and Redis an app
instance uses: what they end, the HTTP API refuses at once; they never print a ticket.
And `coatcheck migrate`, on whichever stores the environment selects."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.sqlite.migrations import migrations as sqlite_migrations
from coatcheck.domain.factors import FactorSummary, Passkey, PasskeyName
from coatcheck.domain.model import Email
from coatcheck.entrypoints.cli import main
from coatcheck.entrypoints.http.keys import SERVICES
from coatcheck.entrypoints.settings import Settings
from tests.integration.conftest import CREDENTIALS, REGISTRATION, SESSION_SECRET, Client
from tests.integration.http import COOKIE, cookie, status_with_ticket, status_with_token

EMAIL = REGISTRATION["email"]


@pytest.fixture(autouse=True)
def cli_environment(
    postgres_dsn: str, redis_space: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Points the CLI at the stores the `client` fixture's app uses (main() reads the env)."""
    monkeypatch.setenv("DATABASE_URL", postgres_dsn)
    monkeypatch.setenv("REDIS_URL", redis_space[0])
    monkeypatch.setenv("REDIS_PREFIX", redis_space[1])
    monkeypatch.setenv("SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self.printed: list[str] = []

    async def __call__(self, *arguments: str) -> tuple[int, str, str]:
        """Exit code, stdout and stderr of `coatcheck ARGUMENTS`, run off the event loop."""
        self._capsys.readouterr()
        code = await asyncio.to_thread(main, list(arguments))
        captured = self._capsys.readouterr()
        self.printed += [captured.out, captured.err]
        return code, captured.out, captured.err


@pytest.fixture
def coatcheck(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


class Tickets:
    """Every ticket and token the app hands out in a test, to check no output holds one."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.issued: list[str] = []

    async def register(self) -> str:
        response = await self._client.post("/authentication/register", json=REGISTRATION)
        assert response.status == 201
        return self._keep(response.cookies[COOKIE].value)

    async def log_in(self) -> str:
        self._client.session.cookie_jar.clear()
        response = await self._client.post("/authentication/log-in", json=CREDENTIALS)
        assert response.status == 200
        return self._keep(response.cookies[COOKIE].value)

    async def token(self) -> str:
        response = await self._client.post("/authentication/token", json=CREDENTIALS)
        assert response.status == 200
        return self._keep((await response.json())["token"])

    def _keep(self, ticket: str) -> str:
        assert ticket
        self.issued.append(ticket)
        return ticket


@pytest.fixture
def tickets(client: Client) -> Tickets:
    return Tickets(client)


async def listed(client: Client, ticket: str) -> list[dict[str, Any]]:
    """The session list as the holder of this ticket sees it over HTTP."""
    client.session.cookie_jar.clear()
    response = await client.get("/authentication/sessions", headers=cookie(ticket))
    assert response.status == 200
    sessions: list[dict[str, Any]] = await response.json()
    return sessions


async def listed_ids(client: Client, ticket: str) -> list[str]:
    return [item["id"] for item in await listed(client, ticket)]


async def own_id(client: Client, ticket: str) -> str:
    (mine,) = [item["id"] for item in await listed(client, ticket) if item["current"]]
    return str(mine)


def assert_no_ticket_printed(cli: Cli, tickets: Tickets, caplog: pytest.LogCaptureFixture) -> None:
    printed = "\n".join([*cli.printed, caplog.text])
    for ticket in tickets.issued:
        assert ticket not in printed


async def test_sessions_list_shows_the_live_sessions_newest_first_without_tickets(
    client: Client,
    tickets: Tickets,
    coatcheck: Cli,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = await tickets.register()
    clock.advance(timedelta(seconds=1))
    ended = await tickets.log_in()
    assert (await client.post("/authentication/log-out")).status == 204
    clock.advance(timedelta(seconds=1))
    await tickets.token()
    expected = await listed_ids(client, first)
    assert len(expected) == 2

    code, out, err = await coatcheck("sessions", "list", EMAIL)

    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == f"2 live session(s) of {EMAIL}"
    assert [line.split()[0] for line in lines[1:]] == expected
    assert [line.split()[1] for line in lines[1:]] == ["token", "browser"]
    assert ended not in out
    assert_no_ticket_printed(coatcheck, tickets, caplog)


async def test_sessions_list_finds_the_user_whatever_the_case_of_the_email(
    tickets: Tickets, coatcheck: Cli
) -> None:
    await tickets.register()

    code, out, _ = await coatcheck("sessions", "list", EMAIL.upper())

    assert code == 0
    assert out.startswith(f"1 live session(s) of {EMAIL}")


async def test_sessions_revoke_one_ends_it_for_the_http_api_at_once(
    client: Client, tickets: Tickets, coatcheck: Cli, caplog: pytest.LogCaptureFixture
) -> None:
    kept = await tickets.register()
    stolen = await tickets.log_in()
    stolen_id = await own_id(client, stolen)

    code, out, err = await coatcheck("sessions", "revoke", EMAIL, "--session", stolen_id)

    assert code == 0, err
    assert out.strip() == f"ended 1 session(s) of {EMAIL}"
    assert await status_with_ticket(client, stolen) == 401
    assert await status_with_ticket(client, kept) == 200
    assert stolen_id not in await listed_ids(client, kept)
    assert_no_ticket_printed(coatcheck, tickets, caplog)


async def test_sessions_revoke_all_ends_every_session_and_token(
    client: Client, tickets: Tickets, coatcheck: Cli, caplog: pytest.LogCaptureFixture
) -> None:
    cookies = [await tickets.register(), await tickets.log_in()]
    token = await tickets.token()

    code, out, err = await coatcheck("sessions", "revoke", EMAIL, "--all")

    assert code == 0, err
    assert out.strip() == f"ended 3 session(s) of {EMAIL}"
    assert [await status_with_ticket(client, ticket) for ticket in cookies] == [401, 401]
    assert await status_with_token(client, token) == 401
    code, out, _ = await coatcheck("sessions", "list", EMAIL)
    assert code == 0
    assert out.strip() == f"0 live session(s) of {EMAIL}"
    assert_no_ticket_printed(coatcheck, tickets, caplog)


@pytest.mark.parametrize(
    "arguments",
    [
        ("sessions", "list"),
        ("sessions", "revoke", "--all"),
        ("sessions", "revoke", "--session", "some-id"),
    ],
    ids=["list", "revoke-all", "revoke-one"],
)
async def test_an_unknown_email_exits_non_zero_with_a_clear_message(
    client: Client, tickets: Tickets, coatcheck: Cli, arguments: tuple[str, ...]
) -> None:
    ticket = await tickets.register()
    command, action, *options = arguments

    code, out, err = await coatcheck(command, action, "nobody@example.com", *options)

    assert code != 0
    assert out == ""
    assert "no user has the email nobody@example.com" in err
    assert await status_with_ticket(client, ticket) == 200


async def test_an_unknown_session_id_exits_non_zero_and_ends_nothing(
    client: Client, tickets: Tickets, coatcheck: Cli
) -> None:
    ticket = await tickets.register()

    code, out, err = await coatcheck("sessions", "revoke", EMAIL, "--session", "no-such-session")

    assert code != 0
    assert out == ""
    assert "no such session" in err
    assert await status_with_ticket(client, ticket) == 200


async def test_another_users_session_id_is_not_revoked_through_this_users_email(
    client: Client, tickets: Tickets, coatcheck: Cli
) -> None:
    ada = await tickets.register()
    client.session.cookie_jar.clear()
    grace = {"email": "grace@example.com", "name": "Grace Hopper", "password": "cobol forever"}
    registered = await client.post("/authentication/register", json=grace)
    assert registered.status == 201
    grace_ticket = registered.cookies[COOKIE].value
    grace_id = await own_id(client, grace_ticket)

    code, _, err = await coatcheck("sessions", "revoke", EMAIL, "--session", grace_id)

    assert code != 0
    assert "no such session" in err
    assert await status_with_ticket(client, ada) == 200
    assert await status_with_ticket(client, grace_ticket) == 200


async def test_a_malformed_email_exits_2_naming_the_problem(coatcheck: Cli) -> None:
    code, out, err = await coatcheck("sessions", "list", "not-an-email")

    assert code == 2
    assert out == ""
    assert "email" in err
    assert "one email address" in err


async def test_a_missing_session_secret_exits_2_naming_the_variable_not_a_value(
    coatcheck: Cli, monkeypatch: pytest.MonkeyPatch, postgres_dsn: str
) -> None:
    monkeypatch.delenv("SESSION_SECRET")

    code, out, err = await coatcheck("sessions", "list", EMAIL)

    assert code == 2
    assert out == ""
    assert "SESSION_SECRET" in err
    assert postgres_dsn not in err


async def test_migrate_without_database_or_redis_migrates_the_embedded_file_once(
    coatcheck: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("REDIS_URL")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))

    first, again = await coatcheck("migrate"), await coatcheck("migrate")

    versions = [version for version, _sql in sqlite_migrations()]
    applied = f"embedded SQLite: applied {len(versions)} migration(s): {', '.join(versions)}\n"
    assert first[:2] == (0, applied)
    assert again[:2] == (0, "embedded SQLite: applied 0 migration(s): none pending\n")
    assert (tmp_path / "coatcheck.sqlite3").is_file()


async def test_migrate_with_sessions_in_the_embedded_file_migrates_both_stores(
    coatcheck: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("REDIS_URL")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))

    code, out, err = await coatcheck("migrate")

    assert code == 0, err
    postgres, embedded = out.splitlines()
    assert postgres.startswith("PostgreSQL: applied ")
    assert embedded.startswith(f"embedded SQLite: applied {len(sqlite_migrations())} migration(s)")


async def test_users_delete_removes_the_user_and_ends_every_session_at_once(
    client: Client,
    tickets: Tickets,
    coatcheck: Cli,
    caplog: pytest.LogCaptureFixture,
    postgres_dsn: str,
) -> None:
    cookies = [await tickets.register(), await tickets.log_in()]
    token = await tickets.token()

    code, out, err = await coatcheck("users", "delete", EMAIL.upper(), "--yes")

    assert code == 0, err
    assert out.strip() == f"deleted {EMAIL} and everything stored about them; ended 3 session(s)"
    assert [await status_with_ticket(client, ticket) for ticket in cookies] == [401, 401]
    assert await status_with_token(client, token) == 401
    client.session.cookie_jar.clear()
    assert (await client.post("/authentication/log-in", json=CREDENTIALS)).status == 401
    connection = await asyncpg.connect(postgres_dsn)
    try:
        assert await connection.fetchval("SELECT count(*) FROM users") == 0
    finally:
        await connection.close()
    code, _out, err = await coatcheck("users", "delete", EMAIL, "--yes")
    assert (code, err.strip()) == (1, f"coatcheck: no user has the email {EMAIL}")
    assert_no_ticket_printed(coatcheck, tickets, caplog)


@pytest.mark.parametrize("answer", ["", "n\n", "no\n", "whatever\n"])
async def test_users_delete_without_yes_deletes_nothing_unless_confirmed(
    client: Client,
    tickets: Tickets,
    coatcheck: Cli,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
) -> None:
    ticket = await tickets.register()
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))

    code, out, err = await coatcheck("users", "delete", EMAIL)

    assert f"Delete {EMAIL} and everything stored about them? [y/N]" in err
    assert (code, out) == (1, "")
    assert "nothing deleted (answer yes, or pass --yes)" in err
    assert await status_with_ticket(client, ticket) == 200


async def test_users_delete_goes_on_when_the_operator_answers_yes(
    client: Client, tickets: Tickets, coatcheck: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = await tickets.register()
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))

    code, out, err = await coatcheck("users", "delete", EMAIL)

    assert code == 0, err
    assert out.startswith(f"deleted {EMAIL}")
    assert await status_with_ticket(client, ticket) == 401


def test_serve_help_names_every_default_and_environment_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])

    shown = capsys.readouterr().out
    assert exited.value.code == 0
    for option in ("127.0.0.1", "8000"):
        assert f"(default: {option})" in shown
    for name in Settings.model_fields:
        assert re.search(rf"^  {name.upper()} +\S", shown, re.M), name
    assert re.search(r"^  COOKIE_SECURE +true$", shown, re.M)
    assert re.search(r"^  BCRYPT_ROUNDS +12$", shown, re.M)


async def test_users_reset_factors_removes_every_factor_and_is_audited(
    client: Client, tickets: Tickets, coatcheck: Cli
) -> None:
    await tickets.register()
    services = client.app[SERVICES]
    user = await services.users.by_email(Email(EMAIL))
    assert user is not None
    passkey = Passkey(b"cred", user.id, b"key", 0, PasskeyName("Laptop"), user.created_at)
    assert await services.factors.add_passkey(passkey)
    await services.factors.set_recovery_codes(user.id, ["a", "b"])
    client.session.cookie_jar.clear()
    held = await client.post("/authentication/log-in", json=CREDENTIALS)
    assert (await held.json())["secondFactorRequired"] is True

    code, out, err = await coatcheck("users", "reset-factors", EMAIL)

    assert code == 0, err
    assert out.strip() == f"removed every second factor and recovery code of {EMAIL}"
    assert await services.factors.summary(user.id) == FactorSummary()
    [audit] = [json.loads(line) for line in err.splitlines() if "factors_reset" in line]
    assert audit["user_id"] == str(user.id)
    assert (audit["passkeys"], audit["recovery_codes"]) == (1, 2)
    await tickets.log_in()  # a session at once: no second step any more
    code, _out, err = await coatcheck("users", "reset-factors", "nobody@example.com")
    assert (code, err.strip()) == (1, "coatcheck: no user has the email nobody@example.com")

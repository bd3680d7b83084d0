"""docs/extending.md, run exactly as written: its adapter passes the Sessions contract suite,
and the service runs on it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.integration.conftest import REGISTRATION, SESSION_SECRET

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "extending.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(language: str) -> list[str]:
    return [body for lang, body in _BLOCK.findall(PAGE.read_text()) if lang == language]


@pytest.fixture
def written(tmp_path: Path) -> Path:
    """Each Python block of the page, in the file its first line names."""
    for body in blocks("python"):
        name = re.match(r"# (\S+\.py)\n", body)
        assert name is not None, "every Python block starts with its file name"
        (tmp_path / name.group(1)).write_text(body)
    return tmp_path


def test_the_page_s_contract_command_passes_on_its_adapter(
    written: Path, postgres_dsn: str
) -> None:
    (command,) = blocks("sh")
    words = command.replace("\\\n", " ").split()
    environment = dict(os.environ)
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        environment[name] = value
    environment["SESSIONS_DATABASE_URL"] = postgres_dsn  # the test's own database
    environment["PYTHONPATH"] = f"{written}{os.pathsep}{ROOT}"
    assert words[0] == ".venv/bin/pytest"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *words[1:]],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"\b1[0-9] passed\b", result.stdout), result.stdout[-500:]


async def test_the_service_runs_on_the_page_s_adapter(
    written: Path, postgres_dsn: str, redis_space: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(written))
    monkeypatch.setenv("SESSIONS_DATABASE_URL", postgres_dsn)
    monkeypatch.setenv("DATABASE_URL", postgres_dsn)
    monkeypatch.setenv("REDIS_URL", redis_space[0])
    monkeypatch.setenv("REDIS_PREFIX", redis_space[1])
    monkeypatch.setenv("SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("COOKIE_SECURE", "false")
    from app_with_postgres_sessions import make_app

    async with TestClient(TestServer(make_app())) as client:
        registered = await client.post("/authentication/register", json=REGISTRATION)
        assert registered.status == 201
        who = await client.get("/authentication")
        assert who.status == 200
        assert (await who.json())["email"] == REGISTRATION["email"]
        assert (await client.post("/authentication/log-out")).status == 204
        assert (await client.get("/authentication")).status == 401
    sys.modules.pop("app_with_postgres_sessions", None)
    sys.modules.pop("postgres_sessions", None)

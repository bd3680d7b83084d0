"""The README's curl examples, run as written against `coatcheck serve` on its defaults (a
Secure cookie named with the __Host- prefix, over plain HTTP on localhost)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest

from coatcheck.entrypoints.settings import load_settings
from tests.integration.conftest import REGISTRATION
from tests.integration.serving import coatcheck_serve, output_of

README = Path(__file__).parents[2] / "README.md"


def readme_curls() -> list[str]:
    """The curl commands of the README's API section, continuation lines joined."""
    section = README.read_text().split("## The API", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    joined = re.sub(r"\\\n\s*", "", block)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("curl")]


def command(curls: list[str], path: str, port: int) -> str:
    found = next(curl for curl in curls if re.search(rf"localhost:8000{path}(\s|$)", curl))
    return found.replace("localhost:8000", f"localhost:{port}")


async def run(shell: str, cwd: Path) -> str:
    process = await asyncio.create_subprocess_shell(
        shell, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    return output.decode()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_readme_curl_examples_work_as_written_on_the_defaults(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "BCRYPT_ROUNDS": "4",
    }
    curls = readme_curls()
    async with coatcheck_serve(env=env, log=tmp_path / "server.log") as base:
        port = int(base.rsplit(":", 1)[1])
        registered = await run(command(curls, "/authentication/register", port), tmp_path)
        logged_in = await run(command(curls, "/authentication/log-in", port), tmp_path)
        who = await run(command(curls, "/authentication", port), tmp_path)
        sessions = await run(command(curls, "/authentication/sessions", port), tmp_path)
        await run(command(curls, "/authentication/log-out", port), tmp_path)
        after = await run(command(curls, "/authentication", port), tmp_path)

    assert registered.startswith("HTTP/1.1 201"), registered + output_of(tmp_path / "server.log")
    assert "set-cookie: __host-coatcheck=" in registered.lower()
    assert logged_in.startswith("HTTP/1.1 200")
    assert json.loads(who)["email"] == REGISTRATION["email"]
    assert [session["current"] for session in json.loads(sessions)] == [True]
    assert json.loads(after)["status"] == 401


def test_the_traefik_snippet_names_the_cookie_the_defaults_give() -> None:
    page = (README.parent / "docs" / "protecting-services.md").read_text()
    named = re.findall(r'addAuthCookiesToResponse: \["([^"]+)"\]', page)
    assert named == [load_settings().cookie_full_name]

"""The README's API block, run top to bottom as written, as one shell script, against
`./scripts/serve` on its defaults (a Secure cookie named with the __Host- prefix, over plain
HTTP on localhost; letters printed by the console email backend, whose links the script's
`read -r TOKEN` lines are given in turn)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import time
from pathlib import Path

from coatcheck.entrypoints.settings import load_settings
from tests.integration.serving import README_RUN_COMMAND, coatcheck_serve, output_of
from tests.services import service_missing

README = Path(__file__).parents[2] / "README.md"
# Each curl's status, on standard error, apart from what the block itself prints or reads.
STATUS_OF_EVERY_CURL = 'curl() { command curl -sS -w "%{stderr}%{http_code}\\n" "$@"; }\n'
LETTER = re.compile(
    r"-{20} email .*?\nTo: (?P<to>[^\n]*)\nSubject: (?P<subject>[^\n]*)\n\n(?P<body>.*?)"
    r"\n-{20} end of email",
    re.S,
)
# The letters whose links the block's `read -r TOKEN` lines wait for, in order.
LINKS_READ = ["Verify your email address", "Reset your password", "Confirm your new email address"]
EXPECTED = [
    201,  # register
    204,  # verify the address
    202,  # a new link
    200,  # log in
    200,  # who am I
    200,  # forward auth
    200,  # another device logs in
    200,  # my sessions
    200,  # ... read for the other device's id
    204,  # revoke it
    204,  # revoke all but this one
    204,  # change the password
    200,  # a bearer token
    200,  # ... another, kept
    200,  # who am I, by bearer
    204,  # log out
    202,  # forgot the password
    200,  # ... a new one from the link, logged in anew
    202,  # change the email
    204,  # ... confirmed from the link
    204,  # delete the account
    200,  # live
    200,  # ready
    200,  # metrics
    200,  # openapi.json
]


def readme_block() -> str:
    """The shell block of the README's API section, exactly as written."""
    section = README.read_text().split("## The API", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def link_tokens(log: Path, subject: str) -> list[str]:
    """The tokens of the links of the letters of this subject the server printed so far."""
    return [
        token.group(1)
        for letter in LETTER.finditer(output_of(log))
        if letter["subject"] == subject
        for token in [re.search(r"#[a-z-]+=([A-Za-z0-9_-]{43})\b", letter["body"])]
        if token is not None
    ]


async def give_links(stdin: asyncio.StreamWriter, log: Path) -> None:
    """Types each link's token once the server has printed its letter."""
    for subject in LINKS_READ:
        deadline = time.monotonic() + 60
        while not (tokens := link_tokens(log, subject)):
            assert time.monotonic() < deadline, f"no letter {subject!r}:\n{output_of(log)}"
            await asyncio.sleep(0.1)
        stdin.write(f"{tokens[0]}\n".encode())
        await stdin.drain()
    stdin.close()


async def test_the_readme_block_runs_top_to_bottom_against_a_fresh_serve(tmp_path: Path) -> None:
    if shutil.which("curl") is None:  # .ci/run installs it; under CI=true its absence fails
        service_missing("curl", FileNotFoundError("curl"))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "BCRYPT_ROUNDS": "4",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "server.log"
    serving = coatcheck_serve(env=env, log=log, cwd=tmp_path, program=(str(README_RUN_COMMAND),))
    async with serving as base:
        port = base.rsplit(":", 1)[1]
        script = STATUS_OF_EVERY_CURL + readme_block().replace(
            "localhost:8000", f"localhost:{port}"
        )
        shell = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            script,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert shell.stdin is not None
        feeding = asyncio.create_task(give_links(shell.stdin, log))
        try:
            out, err = await asyncio.wait_for(shell.communicate(), 120)
        finally:
            if shell.returncode is None:
                shell.kill()
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding
        letters = output_of(log)

    printed, statuses = out.decode(), err.decode()
    assert [int(line) for line in statuses.split()] == EXPECTED, statuses + letters[-3000:]
    assert "set-cookie: __host-coatcheck=" in printed.lower()
    assert '"emailVerified":true' in printed
    assert "Your email address was changed" in letters  # told to the old address
    assert "Your password was reset" in letters


def test_the_traefik_snippet_names_the_cookie_the_defaults_give() -> None:
    page = (README.parent / "docs" / "protecting-services.md").read_text()
    named = re.findall(r'addAuthCookiesToResponse: \["([^"]+)"\]', page)
    assert named == [load_settings().cookie_full_name]

"""The outbox with real processes, real PostgreSQL and a real SMTP server: letters asked for
while the mail server is down arrive exactly once when it is back (after longer than the old
outbox's 15 s give-up); letters a killed process had queued are sent by the next one; two
instances never send one letter twice; a recipient the server refuses holds up no other, and
`coatcheck outbox` lists it failed and sends it again when told."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp.test_utils import unused_port

from tests.integration.conftest import shared_stores_environment
from tests.integration.mailbox import BASE_URL, SENDER, Mailbox, smtp_server
from tests.integration.serving import COATCHECK, output_of, stop, wait_until_live

NO_ACCOUNT = "No account for this address"
OUTAGE_SECONDS = 20.0  # longer than the 5 tries in ~15 s the old outbox gave a letter
ARRIVAL_SECONDS = 30.0


def environment(
    postgres_dsn: str, redis_space: tuple[str, str], data_dir: Path, box: Mailbox
) -> dict[str, str]:
    return shared_stores_environment(
        postgres_dsn,
        redis_space,
        data_dir,
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(box.port),
        SMTP_TLS="none",
        SMTP_TIMEOUT="3",
        EMAIL_FROM=SENDER,
        PUBLIC_BASE_URL=BASE_URL,
        OUTBOX_LEASE="6",
        OUTBOX_FIRST_RETRY_DELAY="0.5",
        OUTBOX_MAX_RETRY_DELAY="3",
        OUTBOX_POLL_INTERVAL="0.2",
        EMAIL_THROTTLE_CLIENT_LIMIT="1000",
    )


@asynccontextmanager
async def serving(env: dict[str, str], log: Path) -> AsyncIterator[tuple[str, int]]:
    """`coatcheck serve` in a process group of its own: (its base URL, its group's id)."""
    port = unused_port()
    with log.open("wb") as output:
        server = await asyncio.create_subprocess_exec(
            str(COATCHECK),
            "serve",
            "--port",
            str(port),
            env=env,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_until_live(base, server, log)
        yield base, server.pid
    finally:
        await stop(server)


async def ask_resets(bases: list[str], addresses: list[str]) -> None:
    async with aiohttp.ClientSession() as http:
        for n, address in enumerate(addresses):
            url = f"{bases[n % len(bases)]}/authentication/password-reset"
            async with http.post(url, json={"email": address}) as response:
                assert response.status == 202


async def all_arrive_once(box: Mailbox, addresses: list[str]) -> None:
    """Wait until every address has its letter, then a little longer: one each, no more."""
    deadline = time.monotonic() + ARRIVAL_SECONDS
    while not all(box.to(address) for address in addresses):
        assert time.monotonic() < deadline, f"{sum(map(bool, map(box.to, addresses)))} arrived"
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)
    counts = Counter(to for recipients, _message in box.received for to in recipients)
    assert {address: counts[address] for address in addresses} == dict.fromkeys(addresses, 1)
    assert {message["Subject"] for _to, message in box.received} == {NO_ACCOUNT}
    ids = [message["Message-ID"] for _to, message in box.received]
    assert len(ids) == len(set(ids))


def addresses(count: int, tag: str) -> list[str]:
    return [f"{tag}{n}@example.com" for n in range(count)]


async def test_letters_asked_for_during_an_smtp_outage_arrive_exactly_once_after_it(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    box = Mailbox()
    box.port = unused_port()  # nothing listens there yet: the mail server is down
    env = environment(postgres_dsn, redis_space, tmp_path, box)
    wanted = addresses(30, "outage")
    async with serving(env, tmp_path / "server.log") as (base, _group):
        await ask_resets([base], wanted)
        await asyncio.sleep(OUTAGE_SECONDS)
        assert "email not sent, retrying" in output_of(tmp_path / "server.log")
        async with smtp_server(box):
            await all_arrive_once(box, wanted)


async def test_letters_queued_by_a_killed_process_are_sent_by_the_next_one(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    box = Mailbox()
    box.port = unused_port()
    env = environment(postgres_dsn, redis_space, tmp_path, box)
    wanted = addresses(20, "killed")
    async with serving(env, tmp_path / "first.log") as (base, group):
        await ask_resets([base], wanted)
        await asyncio.sleep(1)
        os.killpg(group, signal.SIGKILL)
    async with smtp_server(box), serving(env, tmp_path / "second.log"):
        await all_arrive_once(box, wanted)


async def test_two_instances_never_send_one_letter_twice(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    box = Mailbox()
    box.port = unused_port()
    env = environment(postgres_dsn, redis_space, tmp_path, box)
    wanted = addresses(60, "twice")
    async with (
        serving(env, tmp_path / "one.log") as (one, _),
        serving(env, tmp_path / "two.log") as (two, _),
    ):
        await ask_resets([one, two], wanted)
        await asyncio.sleep(2)  # a backlog both instances' workers race for
        async with smtp_server(box):
            await all_arrive_once(box, wanted)
        logs = output_of(tmp_path / "one.log") + output_of(tmp_path / "two.log")
        assert logs.count('"email sent"') == len(wanted)


async def test_a_refused_recipient_holds_up_no_other_is_listed_failed_and_can_be_retried(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    async with smtp_server() as box:
        box.refusing = {"refused@example.com"}
        env = environment(postgres_dsn, redis_space, tmp_path, box)
        async with serving(env, tmp_path / "server.log") as (base, _):
            started = time.monotonic()
            await ask_resets([base], ["refused@example.com", "fine@example.com"])
            await all_arrive_once(box, ["fine@example.com"])
            assert time.monotonic() - started < 6  # 2 s of it the check for duplicates
            listed = await outbox_command(env, "list")
            [line] = [line for line in listed.splitlines() if "refused@example.com" in line]
            assert " failed " in line
            assert "error 550" in line
            entry_id = line.split()[0]
            box.refusing = set()  # the operator fixed what made it fail
            assert "will be sent now" in await outbox_command(env, "retry", entry_id)
            await all_arrive_once(box, ["refused@example.com", "fine@example.com"])
            assert "no such letter" in await outbox_command(env, "drop", entry_id)  # sent


async def outbox_command(env: dict[str, str], *arguments: str) -> str:
    command = await asyncio.create_subprocess_exec(
        str(COATCHECK), "outbox", *arguments, env=env, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await command.communicate()
    assert command.returncode == 0
    return output.decode()

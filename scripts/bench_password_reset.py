"""Password-reset timing: a known email vs an unknown one, interleaved in one run.

    .venv/bin/python scripts/bench_password_reset.py [--runs 50]
        [--database-url postgresql://...] [--redis-url redis://...]

Serves coatcheck on 127.0.0.1 (embedded SQLite in a temporary folder unless URLs are given)
sending its email over SMTP to a sink of its own on a free port (aiosmtpd, a development
dependency), asks for resets over HTTP, and prints the medians and their ratio. The known
email's message really is written and sent, after each answer: the figures include whatever
that work costs the answers that follow. A timing oracle would show as a ratio far from 1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from aiohttp.test_utils import TestClient
from aiosmtpd.smtp import SMTP, Envelope
from benchmarking import add_store_arguments, served, store_name

WARM_UP = 5


class Sink:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        self.received += 1
        return "250 OK"


async def _timed(client: TestClient[Any, Any], email: str) -> float:
    started = time.perf_counter()
    response = await client.post("/authentication/password-reset", json={"email": email})
    elapsed = time.perf_counter() - started
    assert response.status == 202, response.status
    return elapsed


async def main(arguments: argparse.Namespace) -> None:
    sink = Sink()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(sink, hostname="sink"), "127.0.0.1", 0
    )
    settings = {
        "bcrypt_rounds": 4,
        "email_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": server.sockets[0].getsockname()[1],
        "smtp_tls": "none",
        "email_from": "bench <bench@example.com>",
        "public_base_url": "http://127.0.0.1",
        "email_throttle_recipient_limit": 10 * arguments.runs,
        "email_throttle_client_limit": 10 * arguments.runs,
    }
    known, unknown = [], []
    async with served(arguments, **settings) as (client, email):
        for n in range(WARM_UP):
            await _timed(client, email)
            await _timed(client, f"warm-{n}@example.com")
        for n in range(arguments.runs):
            known.append(await _timed(client, email))
            unknown.append(await _timed(client, f"nobody-{n}@example.com"))
        await asyncio.sleep(1)  # the last messages leave
    server.close()
    known_ms, unknown_ms = statistics.median(known) * 1000, statistics.median(unknown) * 1000
    kinds = f"{arguments.runs} interleaved password-reset requests of each kind"
    print(f"{kinds}, {store_name(arguments)}")
    print(f"known email:   median {known_ms:.3f} ms  (min {min(known) * 1000:.3f})")
    print(f"unknown email: median {unknown_ms:.3f} ms  (min {min(unknown) * 1000:.3f})")
    print(f"ratio unknown / known: {unknown_ms / known_ms:.3f}")
    print(f"messages the SMTP sink received: {sink.received}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    add_store_arguments(parser)
    asyncio.run(main(parser.parse_args()))

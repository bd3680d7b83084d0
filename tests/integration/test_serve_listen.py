"""`coatcheck serve` whose port is taken: one line naming the listener, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.serving import COATCHECK

EXIT_TIMEOUT_SECONDS = 30


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port something else listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(
    tmp_path: Path, port: int, *options: str, **env: str
) -> subprocess.CompletedProcess[str]:
    embedded = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(
        [str(COATCHECK), "serve", "--port", str(port), *options],
        env=embedded | {"DATA_DIR": str(tmp_path / "data"), "BCRYPT_ROUNDS": "4"} | env,
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.mark.parametrize("options", [(), ("--workers", "2")], ids=["serve", "serve-workers-2"])
def test_a_taken_metrics_port_stops_serve_with_one_line_naming_it(
    tmp_path: Path, taken_port: int, options: tuple[str, ...]
) -> None:
    served = _serve(tmp_path, _free_port(), *options, METRICS_PORT=str(taken_port))

    assert served.returncode == 1
    assert "Traceback" not in served.stderr
    assert "ERROR" not in served.stderr  # no start-up step left half-open for the finalizer
    last = served.stderr.strip().splitlines()[-1]
    assert last.startswith("coatcheck: cannot listen for /metrics (METRICS_HOST, METRICS_PORT)")
    assert str(taken_port) in last


def test_a_taken_api_port_stops_serve_with_one_line_naming_it(
    tmp_path: Path, taken_port: int
) -> None:
    served = _serve(tmp_path, taken_port, METRICS_PORT=str(_free_port()))

    assert served.returncode == 1
    assert "Traceback" not in served.stderr
    assert "ERROR" not in served.stderr
    last = served.stderr.strip().splitlines()[-1]
    assert last.startswith("coatcheck: cannot listen for the API (--host, --port)")
    assert str(taken_port) in last

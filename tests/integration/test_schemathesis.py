"""Schemathesis against the live service (`coatcheck serve`, embedded store) and its own
OpenAPI document: bounded and seeded (derandomised), every operation: no 5xx, and every
answer's status, content type, headers and body as the document says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.faults import free_port

COATCHECK = Path(sys.executable).with_name("coatcheck")
EXAMPLES = 15  # per operation
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _live(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health/live", timeout=1) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("schemathesis")
    port = free_port()
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DATA_DIR": str(folder),
        "BCRYPT_ROUNDS": "4",
        "COOKIE_SECURE": "false",
        "THROTTLE_ACCOUNT_LIMIT": "1000",
        "THROTTLE_ADDRESS_LIMIT": "100000",
        "REGISTER_THROTTLE_LIMIT": "100000",
        "METRICS_PORT": "api",  # one instance of many: not the default port
    }
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [str(COATCHECK), "serve", "--port", str(port)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not _live(base):
            assert server.poll() is None, (folder / "server.log").read_text()
            assert time.monotonic() < deadline, "coatcheck serve was not live in time"
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=15)


def _post(url: str, body: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        return dict(json.loads(answer.read() or b"{}"))


def test_every_answer_conforms_to_the_document(live_service: str) -> None:
    """Each operation's cases, drawn by hypothesis from schemathesis' strategies, sent with a
    fresh bearer token of a real user, so authenticated operations are reached too. (Its
    pytest plugin is not used: it reaches into pytest internals that pytest 9 changed.)"""
    api = schemathesis.openapi.from_url(f"{live_service}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    user = {"email": "fuzz@example.com", "name": "Fuzz", "password": "correct horse battery"}
    _post(f"{live_service}/authentication/register", user)
    for operation in operations:
        token = _post(f"{live_service}/authentication/token", user)["token"]
        _conformance_of(operation, live_service, {"Authorization": f"Bearer {token}"})()


def _conformance_of(
    operation: schemathesis.APIOperation, base: str, headers: dict[str, str]
) -> Callable[[], None]:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)

    return conforms  # type: ignore[no-any-return]

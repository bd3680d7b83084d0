"""Schemathesis against the live service (`coatcheck serve`, embedded store) and its own
OpenAPI document, with every check it has: bounded and seeded (derandomised), every
operation, requests the document allows (each must be accepted) and requests it forbids
(each must be refused): no 5xx, and every answer's status, content type, headers and body
as the document says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.auths import AuthStorage
from schemathesis.checks import CHECKS, CheckContext, Response, load_all_checks
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.faults import free_port

COATCHECK = Path(sys.executable).with_name("coatcheck")
EXAMPLES = 15  # per operation and mode
# A value of the right form that only the service's own state makes valid is refused: a
# link's token it never issued (400 invalid-token), a passkey's credential answering no
# challenge it is waiting on (400 passkey-refused). The document says what a token or a
# credential looks like, not which ones exist.
STATEFUL_REFUSALS = {
    "/authentication/password-reset/confirm": "invalid-token",
    "/authentication/verify-email": "invalid-token",
    "/authentication/change-email/confirm": "invalid-token",
    "/authentication/passkeys": "passkey-refused",
    "/authentication/passkey-log-in": "passkey-refused",
    "/authentication/log-in/second-factor": "passkey-refused",
    "/authentication/reauthenticate": "passkey-refused",
}
# The WebSocket handshake: a request the document allows is answered 101 and held open,
# which an HTTP client cannot close; the requests it forbids (no handshake) are sent.
HOLDS_A_SOCKET = {"/authentication/events"}
SENT: Counter[GenerationMode] = Counter()
FUZZ_USER = {"email": "fuzz@example.com", "name": "Fuzz", "password": "correct horse battery"}
HOOKS = "tests.integration.schemathesis_hooks"  # the CLI's: see the last test


def passwords() -> st.SearchStrategy[str]:
    """The document's `password` format as it defines it: no control characters, 8
    characters (the longest minimum) to 72 UTF-8 bytes once in NFKC."""

    def fits(text: str) -> bool:
        normal = unicodedata.normalize("NFKC", text)
        return len(normal) >= 8 and len(normal.encode()) <= 72

    alphabet = st.characters(exclude_categories=("Cc", "Cs"))
    return st.text(alphabet, min_size=8, max_size=72).filter(fits)


schemathesis.openapi.format("password", passwords())


class Bearer:
    """The credentials of every case: the user's token of the moment. Given as an auth
    provider, so that the checks of authentication know them for the real ones."""

    token = ""

    def get(self, case: schemathesis.Case, context: Any) -> str:
        return Bearer.token

    def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


BEARER: AuthStorage[str] = AuthStorage()
BEARER.auth(refresh_interval=None)(Bearer)


def every_check() -> list[Any]:
    load_all_checks()
    return list(CHECKS.get_all())


def positive_data_acceptance_but_stateful_refusals(
    ctx: CheckContext, response: Response, case: schemathesis.Case
) -> bool | None:
    refusal = STATEFUL_REFUSALS[case.operation.path]
    if response.status_code == 400 and response.json().get("type", "").endswith(f":{refusal}"):
        return None
    return positive_data_acceptance(ctx, response, case)  # type: ignore[no-any-return]


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
    user = FUZZ_USER
    _post(f"{live_service}/authentication/register", user)
    SENT.clear()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.POSITIVE and operation.path in HOLDS_A_SOCKET:
                continue
            Bearer.token = str(_post(f"{live_service}/authentication/token", user)["token"])
            try:
                _conformance_of(operation, mode, live_service)()
            except Unsatisfiable:
                # An operation that takes nothing has no request the document forbids.
                assert mode is GenerationMode.NEGATIVE, operation.label
    assert len(every_check()) >= 14
    with_bodies = sum(1 for operation in operations if operation.body)
    assert SENT[GenerationMode.NEGATIVE] >= with_bodies * EXAMPLES // 2, SENT
    assert SENT[GenerationMode.POSITIVE] >= (len(operations) - 1) * EXAMPLES // 2, SENT


def _conformance_of(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base: str,
) -> Callable[[], None]:
    checks = every_check()
    if operation.path in STATEFUL_REFUSALS:
        checks = [c for c in checks if c is not positive_data_acceptance]
        checks.append(positive_data_acceptance_but_stateful_refusals)

    @given(case=operation.as_strategy(generation_mode=mode, auth_storage=BEARER))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: schemathesis.Case) -> None:
        SENT[mode] += 1
        case.call_and_validate(base_url=base, checks=checks)

    return conforms  # type: ignore[no-any-return]


def _registered(base: str) -> None:
    """The fuzzing user, registered now or by the test above (409)."""
    try:
        _post(f"{base}/authentication/register", FUZZ_USER)
    except urllib.error.HTTPError as refused:
        refused.close()
        if refused.code != 409:
            raise


def test_schemathesis_run_with_every_check_reports_none(live_service: str, tmp_path: Path) -> None:
    """The run an outsider makes: `schemathesis run --checks all` on the document's URL,
    with its coverage phase (requests at each schema's edges and past them, and methods a
    path does not take) besides the fuzzing above. The project's hooks (schemathesis_hooks)
    teach it what a document cannot: the `password` format, a fresh token per case (a case
    may log out), the refusals only the service's state decides. The events WebSocket is
    left to the test above (an HTTP client cannot close a socket that was accepted)."""
    _registered(live_service)
    run = subprocess.run(
        [
            str(COATCHECK.with_name("schemathesis")),
            "run",
            f"{live_service}/openapi.json",
            *("--checks", "all", "--exclude-checks", "positive_data_acceptance"),
            *("--exclude-path", "/authentication/events"),
            *("--phases", "examples,coverage,fuzzing"),
            *("--max-examples", str(EXAMPLES), "--seed", "17", "--workers", "1"),
            "--no-color",
        ],
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "SCHEMATHESIS_HOOKS": HOOKS,
            "COATCHECK_BASE": live_service,
        },
        cwd=tmp_path,  # its cache of failures (.schemathesis/), replayed first by a next run
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " 0 passed" not in run.stdout

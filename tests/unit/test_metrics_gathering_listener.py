"""The arbiter's /metrics listener (`serve --workers N`) answers what it refuses as the API
does: problem+json naming the status, quoting nothing the client sent, `Server: coatcheck`
(http.server's own answer is an HTML page that quotes the request line and names Python).
And it is bounded: a connection that sends nothing is closed, at most SCRAPERS are held at
once, a client that hangs up is no traceback, and a worker slow to answer is not forgotten."""

from __future__ import annotations

import http.client
import json
import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coatcheck.entrypoints import metrics_gathering
from coatcheck.entrypoints.metrics_gathering import SCRAPERS, MetricsGatherer, gather
from tests.faults import free_port

PROBLEM_JSON = "application/problem+json; charset=utf-8"  # as the API's


HEAD_TIMEOUT = 0.5


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    chosen = free_port()
    # no worker: nothing to sum
    gatherer = MetricsGatherer(tmp_path, "127.0.0.1", chosen, head_timeout=HEAD_TIMEOUT)
    gatherer.start()
    yield chosen
    gatherer.stop()


def ask(port: int, method: str, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def test_metrics_are_answered_with_the_service_s_name_not_python_s(port: int) -> None:
    response, body = ask(port, "GET", "/metrics")
    assert response.status == 200
    assert response.headers["Server"] == "coatcheck"
    assert response.headers["Cache-Control"] == "no-store"
    assert b"coatcheck_metrics_processes 0.0" in body


def test_head_gets_the_headers_of_get_and_no_body(port: int) -> None:
    response, body = ask(port, "HEAD", "/metrics")
    assert (response.status, body) == (200, b"")
    assert response.headers["Server"] == "coatcheck"


def test_a_wrong_path_is_a_problem_json_404_that_quotes_nothing(port: int) -> None:
    response, body = ask(port, "GET", "/secret-path-token?ticket=abcdef")
    assert response.status == 404
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert response.headers["Server"] == "coatcheck"
    assert response.headers["Cache-Control"] == "no-store"
    assert json.loads(body) == {
        "type": "urn:coatcheck:problem:not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
    }
    assert b"secret" not in body
    assert b"abcdef" not in body


@pytest.mark.parametrize("method", ["POST", "DELETE", "OPTIONS", "FOO"])
def test_a_method_other_than_get_is_a_405_that_names_get_and_head(port: int, method: str) -> None:
    response, body = ask(port, method, "/metrics")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert json.loads(body)["status"] == 405


def refused(port: int, request: bytes) -> tuple[bytes, dict[str, object]]:
    """The head and JSON body of what the listener answers these bytes, sent as they are."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(request)
        answer = b""
        while chunk := raw.recv(4096):  # it closes the connection after the answer
            answer += chunk
    assert b"ticket-abcdef" not in answer
    assert b"Python" not in answer
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nServer: coatcheck\r\n" in head
    assert b"\r\nContent-Type: " + PROBLEM_JSON.encode() + b"\r\n" in head
    return head, json.loads(body)


# What it cannot read is answered as the API answers what aiohttp's parser refuses.
UNREADABLE = {
    "one-word-too-many": (b"GET /metrics HTTP/1.1 ticket-abcdef\r\n\r\n", 400),
    "no-version-it-speaks": (b"GET /metrics?ticket-abcdef HTTP/9.9\r\n\r\n", 400),
    "tls-on-the-http-port": (b"\x16\x03\x01\x00\xa5\x01\x00 ticket-abcdef\r\n\r\n", 400),
    "too-many-headers": (
        b"GET /metrics HTTP/1.1\r\n"
        + b"".join(b"X-%d: ticket-abcdef\r\n" % n for n in range(200))
        + b"\r\n",
        431,
    ),
    "over-long-line": (b"GET /ticket-abcdef" + b"A" * 70_000 + b" HTTP/1.1\r\n\r\n", 431),
}
KINDS = {400: "malformed-request", 431: "header-fields-too-large"}


@pytest.mark.parametrize(("request_bytes", "status"), UNREADABLE.values(), ids=UNREADABLE)
def test_a_request_it_cannot_read_is_refused_as_the_api_refuses_it_quoting_nothing(
    port: int, request_bytes: bytes, status: int
) -> None:
    head, problem = refused(port, request_bytes)
    assert head.startswith(b"HTTP/1.0 %d " % status)
    assert problem["status"] == status
    assert problem["type"] == f"urn:coatcheck:problem:{KINDS[status]}"


def closed_by_the_server(connection: socket.socket) -> bool:
    """Whether the server closed the connection without a word (EOF or a reset)."""
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_connection_that_sends_nothing_is_closed_after_the_head_timeout(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=HEAD_TIMEOUT * 10) as idle:
        assert closed_by_the_server(idle)  # within the timeout above, or recv would raise
    response, _ = ask(port, "GET", "/metrics")
    assert response.status == 200


def test_past_its_limit_a_connection_is_closed_at_once_and_scrapes_resume_after(
    port: int,
) -> None:
    held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(SCRAPERS)]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=HEAD_TIMEOUT / 2) as extra:
            assert closed_by_the_server(extra)  # before the head timeout: refused, not idle
    finally:
        for connection in held:
            connection.close()
    response, _ = ask(port, "GET", "/metrics")
    assert response.status == 200


def test_a_client_that_resets_mid_request_is_no_traceback(
    port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as rude:
            rude.sendall(b"GET /metrics HTTP/1.1\r\n")
            rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    response, _ = ask(port, "GET", "/metrics")  # after the resets were handled
    assert response.status == 200
    assert "Traceback" not in capfd.readouterr().err


def test_a_worker_slow_to_answer_is_left_out_of_one_scrape_not_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics_gathering, "SCRAPE_SECONDS", 0.2)
    busy = tmp_path / f"1{metrics_gathering.SOCKET_SUFFIX}"
    gone = tmp_path / f"2{metrics_gathering.SOCKET_SUFFIX}"
    with socket.socket(socket.AF_UNIX) as listening, socket.socket(socket.AF_UNIX) as closed:
        listening.bind(str(busy))
        listening.listen()  # connects, never answers: a worker alive but busy
        closed.bind(str(gone))  # its file stays, nothing listens: a worker gone

        text = gather(tmp_path).decode()

        assert "coatcheck_metrics_processes 0.0" in text
        assert busy.exists()  # asked again at the next scrape
        assert not gone.exists()


def test_a_head_sent_a_byte_at_a_time_is_cut_off_at_the_head_timeout(port: int) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
        try:
            for byte in b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 100:
                slow.sendall(bytes([byte]))  # each well within a read's timeout
                time.sleep(HEAD_TIMEOUT / 5)
            pytest.fail("the slow head was still being read")
        except (BrokenPipeError, ConnectionResetError):
            pass  # cut off
    assert time.monotonic() - started < HEAD_TIMEOUT * 4


def _socket_descriptors() -> int:
    return sum(
        os.readlink(fd).startswith("socket:")
        for fd in Path("/proc/self/fd").iterdir()
        if fd.name.isdigit() and fd.exists()
    )


def test_a_worker_forked_with_connections_open_keeps_no_copy_of_them(tmp_path: Path) -> None:
    chosen = free_port()
    gatherer = MetricsGatherer(tmp_path, "127.0.0.1", chosen, head_timeout=5)
    gatherer.start()
    held = [socket.create_connection(("127.0.0.1", chosen), timeout=5) for _ in range(3)]
    try:
        time.sleep(0.3)  # accepted, each waiting for its head in a thread
        child = os.fork()
        if child == 0:  # as gunicorn's post_fork: the listener's, then its 3 connections'
            before = _socket_descriptors()
            gatherer.close_in_worker()
            os._exit(0 if before - _socket_descriptors() == 4 else 1)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        response, _ = ask(chosen, "GET", "/metrics")  # the arbiter's own are untouched
        assert response.status == 200
    finally:
        for connection in held:
            connection.close()
        gatherer.stop()

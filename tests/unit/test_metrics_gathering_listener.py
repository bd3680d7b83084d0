"""The arbiter's /metrics listener (`serve --workers N`) answers what it refuses as the API
does: problem+json naming the status, quoting nothing the client sent, `Server: coatcheck`
(http.server's own answer is an HTML page that quotes the request line and names Python)."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from coatcheck.entrypoints.metrics_gathering import MetricsGatherer
from tests.faults import free_port

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    chosen = free_port()
    gatherer = MetricsGatherer(tmp_path, "127.0.0.1", chosen)  # no worker: nothing to sum
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


def test_a_method_other_than_get_is_a_405_that_names_get_and_head(port: int) -> None:
    response, body = ask(port, "POST", "/metrics")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert json.loads(body)["status"] == 405


def test_a_request_line_it_cannot_parse_is_a_400_that_quotes_nothing(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"GET /metrics HTTP/1.1 ticket-abcdef\r\n\r\n")  # one word too many
        answer = b""
        while chunk := raw.recv(4096):  # it closes the connection after the answer
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400 ")
    assert b"\r\nServer: coatcheck\r\n" in head
    assert b"\r\nContent-Type: application/problem+json\r\n" in head
    assert json.loads(body)["status"] == 400
    assert b"ticket-abcdef" not in answer
    assert b"Python" not in answer

"""Bytes no decoder expects, in any header a handler reads, are never a 500."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from pathlib import Path

import pytest

from coatcheck.entrypoints.http.openapi import document_of
from tests.integration.conformance import check
from tests.integration.conftest import REGISTRATION, Client
from tests.integration.http import raw_exchange
from tests.integration.serving import coatcheck_serve, output_of

HEADERS = ["User-Agent", "Origin", "Sec-Fetch-Site", "Cookie", "Authorization", "X-Forwarded-For"]


async def _raw_post(client: Client, path: str, header: bytes, body: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n" + header + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("name", HEADERS)
async def test_undecodable_bytes_in_a_header_never_cause_a_500(client: Client, name: str) -> None:
    header = name.encode() + b": caf\xc3 \xff\xfe\x80 end"
    body = json.dumps(REGISTRATION).encode()
    for path in ("/authentication/register", "/authentication/log-in"):
        status_line = (await _raw_post(client, path, header, body)).split(b"\r\n", 1)[0]
        status = int(status_line.split()[1])
        assert 200 <= status < 500, (path, status_line)


async def test_a_user_agent_with_undecodable_bytes_is_stored_as_readable_text(
    client: Client,
) -> None:
    body = json.dumps(REGISTRATION).encode()
    response = await _raw_post(
        client, "/authentication/register", b"User-Agent: Mozilla \xff bad", body
    )
    assert response.startswith(b"HTTP/1.1 201")
    cookie = next(
        line.split(b":", 1)[1].split(b";", 1)[0].strip()
        for line in response.split(b"\r\n")
        if line.lower().startswith(b"set-cookie:")
    )
    listed = await client.get("/authentication/sessions", headers={"Cookie": cookie.decode()})
    assert listed.status == 200
    [session] = await listed.json()
    assert session["userAgent"] == "Mozilla \ufffd bad"


# --- what aiohttp refuses before any handler runs: problem+json, nothing echoed ---------------

SECRET = b"Sw0rdfish" + b"A" * 34  # ticket-shaped: what must never come back or be logged
LONG = SECRET + b"B" * 9000  # over aiohttp's 8,190-byte limit of a header field
HOST = b"Host: 127.0.0.1\r\n"
CLOSE = b"Connection: close\r\n"
POST_JSON = b"POST /authentication/log-in HTTP/1.1\r\n" + HOST + CLOSE
REFUSED = {
    "over-long-cookie": (
        431,
        b"GET /authentication HTTP/1.1\r\n" + HOST + b"Cookie: coatcheck=" + LONG + b"\r\n\r\n",
    ),
    "over-long-authorization": (
        431,
        b"GET /authentication HTTP/1.1\r\n" + HOST + b"Authorization: Bearer " + LONG + b"\r\n\r\n",
    ),
    "over-long-user-agent": (
        431,
        b"GET / HTTP/1.1\r\n" + HOST + b"User-Agent: " + LONG + b"\r\n\r\n",
    ),
    "over-long-path": (431, b"GET /" + LONG + b" HTTP/1.1\r\n" + HOST + b"\r\n"),
    "too-many-headers": (
        431,
        b"GET / HTTP/1.1\r\n"
        + HOST
        + b"".join(b"X-%d: " % n + SECRET + b"\r\n" for n in range(200)),
    ),
    "bad-request-line": (
        400,
        b"GET /authentication?" + SECRET + b" HTTP/1.1 junk\r\n" + HOST + b"\r\n",
    ),
    "bad-method": (400, b"G(T /" + SECRET + b" HTTP/1.1\r\n" + HOST + b"\r\n"),
    "header-without-colon": (400, b"GET / HTTP/1.1\r\n" + HOST + b"Cookie " + SECRET + b"\r\n\r\n"),
    "control-character-in-a-header": (
        400,
        b"GET / HTTP/1.1\r\n" + HOST + b"Cookie: coatcheck=" + SECRET + b"\x01\r\n\r\n",
    ),
    "bad-chunk-size": (
        400,
        POST_JSON + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz" + SECRET + b"\r\n{}\r\n0\r\n\r\n",
    ),
    "chunked-and-length": (
        400,
        POST_JSON + b"Transfer-Encoding: chunked\r\nContent-Length: 3" + SECRET + b"\r\n\r\n",
    ),
    "bad-content-length": (400, POST_JSON + b"Content-Length: 1" + SECRET + b"\r\n\r\n"),
    "tls-on-the-http-port": (400, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + SECRET),
    # aiohttp refuses it before any middleware, in text/plain quoting the header
    "unknown-expectation": (
        417,
        b"GET /authentication HTTP/1.1\r\n" + HOST + b"Expect: " + SECRET + b"\r\n\r\n",
    ),
    # a value aiohttp cannot encode back into its own text: its handler fails (was a 500)
    "undecodable-expectation": (
        417,
        b"GET /authentication HTTP/1.1\r\n"
        + HOST
        + b"Expect: \xc3\xa9\xff\xfe"
        + SECRET
        + b"\r\n\r\n",
    ),
    "unknown-expectation-on-no-route": (
        417,
        b"POST /no/such/route HTTP/1.1\r\n" + HOST + b"Expect: " + SECRET + b"\r\n"
        b"Content-Length: 2\r\n\r\n{}",
    ),
}


def problem_in(answer: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    """Status, headers (lower-cased names) and JSON body of a raw HTTP/1.1 answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)
    }
    return int(status_line.split()[1]), headers, json.loads(body)


def assert_refused_without_echo(answer: bytes, status: int) -> None:
    got, headers, problem = problem_in(answer)
    assert got == status, answer[:200]
    assert headers["content-type"].startswith("application/problem+json")
    assert headers["server"] == "coatcheck"
    assert problem["status"] == status
    assert str(problem["type"]).startswith("urn:coatcheck:problem:")
    assert SECRET not in answer
    assert b"Sw0rdfish" not in answer


@pytest.mark.parametrize(("status", "request_bytes"), REFUSED.values(), ids=REFUSED)
async def test_what_aiohttp_refuses_is_problem_json_that_echoes_and_logs_nothing_sent(
    client: Client, caplog: pytest.LogCaptureFixture, status: int, request_bytes: bytes
) -> None:
    caplog.set_level(logging.DEBUG)

    answer = await raw_exchange(client.port, request_bytes)

    assert_refused_without_echo(answer, status)
    logged = [record for record in caplog.records if record.name != "asyncio"]
    assert logged, "the refusal is logged"
    request_id = problem_in(answer)[1]["x-request-id"]  # as every answer has one
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", request_id)
    ours = [record for record in logged if record.name.startswith("coatcheck.")]
    assert ours, "coatcheck logs the refusal"
    assert [getattr(record, "request_id", None) for record in ours] == [request_id] * len(ours), (
        "every line of the refusal under the id it was answered with"
    )
    for record in logged:
        line = record.getMessage() + (record.exc_text or "") + repr(record.exc_info or "")
        assert "Sw0rdfish" not in line, line
        assert record.levelno < logging.ERROR  # a client's mistake, not the server's


async def test_an_expect_100_continue_still_gets_its_interim_answer_then_the_real_one(
    client: Client,
) -> None:
    body = json.dumps(REGISTRATION).encode()
    answer = await raw_exchange(
        client.port,
        b"POST /authentication/register HTTP/1.1\r\n" + HOST + CLOSE + b"Expect: 100-continue\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
    )

    interim, _, final = answer.partition(b"\r\n\r\n")
    assert interim == b"HTTP/1.1 100 Continue"
    assert final.startswith(b"HTTP/1.1 201 ")


async def test_a_refused_request_is_logged_by_the_name_of_its_problem(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    await raw_exchange(client.port, REFUSED["over-long-cookie"][1])

    assert any("LineTooLong" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("refused", ["over-long-cookie", "unknown-expectation"])
async def test_an_answer_refused_before_the_handlers_conforms_to_the_openapi_document(
    client: Client, refused: str
) -> None:
    answer = await raw_exchange(client.port, REFUSED[refused][1])
    status, headers, problem = problem_in(answer)
    body = json.dumps(problem).encode()
    content_type = headers["content-type"].split(";")[0]

    assert (
        check(document_of(client.app), "GET", "/authentication", status, content_type, body) == []
    )


@pytest.mark.parametrize("workers", [1, 2], ids=["serve", "serve-workers-2"])
async def test_coatcheck_serve_refuses_an_over_long_cookie_without_echo(
    tmp_path: Path, workers: int
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATA_DIR": str(tmp_path / "data"),
        "BCRYPT_ROUNDS": "4",
        "PYTHONUNBUFFERED": "1",
        "METRICS_PORT": "api",  # one instance of many: not the default port
    }
    log = tmp_path / "server.log"
    async with coatcheck_serve("--workers", str(workers), env=env, log=log) as base:
        port = int(base.rsplit(":", 1)[1])
        answer = await raw_exchange(port, REFUSED["over-long-cookie"][1])
        await asyncio.sleep(0.6)  # request lines are written at the latest half a second late

    assert_refused_without_echo(answer, 431)
    output = output_of(log)
    assert "Sw0rdfish" not in output
    assert "LineTooLong" in output
    assert '"level":"ERROR"' not in output  # a client's mistake, not the server's
    assert '"route":null,"status":431' in output  # its request line, as every request's
    request_id = problem_in(answer)[1]["x-request-id"]
    lines = [json.loads(line) for line in output.splitlines() if request_id in line]
    assert {line["message"] for line in lines} == {
        "refused a request aiohttp could not parse: LineTooLong",
        "request",
    }, "the refusal's line and its request line, under the id it was answered with"

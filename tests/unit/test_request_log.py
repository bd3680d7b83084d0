"""Request lines: one buffer for the process, however many connections aiohttp makes a
request log for."""

from __future__ import annotations

import asyncio
import atexit
import io
import json
import logging

import pytest

from coatcheck.entrypoints import logs
from coatcheck.entrypoints.logs import Entry, LineBuffer, RequestLog


def test_request_logs_of_many_connections_share_one_buffer_and_register_nothing_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[object] = []
    monkeypatch.setattr(atexit, "register", registered.append)
    logs = [RequestLog(logging.getLogger("test"), "json") for _ in range(100)]

    assert registered == []
    assert len({id(log._lines) for log in logs}) == 1


class _Stream:
    """What the buffer writes, each write apart."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def flush(self) -> None:
        pass


class _Resource:
    canonical = "/authentication"


def _entry(number: int, resource: object = _Resource()) -> Entry:
    return (1_765_000_000.25, "GET", resource, 200, 0.0012345, f"abc-{number:x}")


async def test_kept_lines_are_written_as_json_lines_at_the_latest_flush_seconds_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logs, "FLUSH_SECONDS", 0.01)
    stream = _Stream()
    buffer = LineBuffer(stream)  # type: ignore[arg-type]
    buffer.keep(_entry(1))
    buffer.keep(_entry(2, resource=None))

    assert stream.writes == []  # kept, not yet formatted
    await asyncio.sleep(0.05)

    lines = b"".join(stream.writes).splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "time": "2025-12-06T05:46:40.250+00:00",
            "level": "INFO",
            "logger": "coatcheck.request",
            "message": "request",
            "method": "GET",
            "route": route,
            "status": 200,
            "duration_ms": 1.234,
            "request_id": request_id,
        }
        for route, request_id in (("/authentication", "abc-1"), (None, "abc-2"))
    ]


async def test_lines_go_in_whole_lines_writes_of_at_most_4_kib_once_max_kept_are_kept() -> None:
    stream = _Stream()
    buffer = LineBuffer(stream)  # type: ignore[arg-type]
    for number in range(logs.MAX_KEPT):
        buffer.keep(_entry(number))

    assert len(stream.writes) > 1  # written at MAX_KEPT, without waiting for the timer
    assert all(len(write) <= 4096 and write.endswith(b"\n") for write in stream.writes)
    lines = b"".join(stream.writes).splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == [
        f"abc-{number:x}" for number in range(logs.MAX_KEPT)
    ]
    buffer.flush()
    assert len(b"".join(stream.writes).splitlines()) == logs.MAX_KEPT  # nothing twice


async def test_text_lines_say_the_same_in_one_line() -> None:
    stream = _Stream()
    buffer = LineBuffer(stream)  # type: ignore[arg-type]
    buffer.keep(_entry(7), json=False)
    buffer.flush()

    (line,) = b"".join(stream.writes).decode().splitlines()
    assert line.endswith(" INFO request GET /authentication 200 1.234ms abc-7")


class _Raw(io.RawIOBase):
    """A pipe's end as the kernel sees it: each write(2) apart."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes.append(bytes(data))
        return len(data)


async def test_writes_stay_whole_lines_of_at_most_4_kib_through_a_larger_buffer() -> None:
    """sys.stderr.buffer is as large as the stream's st_blksize: a pipe's page (64 KiB on
    64 KiB-page kernels), more than PIPE_BUF. Each 4 KiB write must reach the pipe by itself,
    not joined with the next ones into one write(2) that another worker's lines can split."""
    raw = _Raw()
    buffer = LineBuffer(io.BufferedWriter(raw, buffer_size=65536))
    for number in range(logs.MAX_KEPT):
        buffer.keep(_entry(number))

    assert len(raw.writes) > 1
    assert all(len(write) <= 4096 and write.endswith(b"\n") for write in raw.writes)
    assert len(b"".join(raw.writes).splitlines()) == logs.MAX_KEPT


def test_lines_kept_on_a_later_loop_are_written_on_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flush timer stays with its loop while that loop runs (the loop is not asked of
    get_running_loop() on every line); a line kept on a later loop, once the first has
    stopped with its timer pending, is written by a timer of that later loop."""
    monkeypatch.setattr(logs, "FLUSH_SECONDS", 0.01)
    stream = _Stream()
    buffer = LineBuffer(stream)  # type: ignore[arg-type]

    async def keep_and_stop(number: int) -> None:
        buffer.keep(_entry(number))

    async def keep_and_wait(number: int) -> None:
        buffer.keep(_entry(number))
        await asyncio.sleep(0.05)

    asyncio.run(keep_and_stop(1))  # its timer never fires: the loop ended first
    assert stream.writes == []
    asyncio.run(keep_and_wait(2))

    lines = b"".join(stream.writes).splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == ["abc-1", "abc-2"]

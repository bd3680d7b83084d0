"""Logs: one JSON object per line (LOG_FORMAT=text for a terminal), and one line per
request. No line ever holds a password, ticket, digest, hash or secret: request lines name
the route template, never the path's values, the query string or a header. Every line made
while a request is served carries its request id (see http/context.py).

Request lines are the one log written on every request, so they skip the logging module's
per-record machinery (about 10 µs a line) and are written the way nginx's
`access_log ... buffer= flush=` writes them: whole lines, in writes of at most 4 KiB (atomic
on a pipe that several workers share), at the latest FLUSH_SECONDS after they were made.
A request only keeps its line's fields; the lines are formatted together when they are
written (one after the other, the formatting's code and data stay in the CPU's caches: a
line cost about half as much as when each was formatted between two requests).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Literal

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

LogFormat = Literal["json", "text"]
FLUSH_SECONDS = 0.5
_MAX_WRITE = 4096
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}
REQUEST_ID: ContextVar[str | None] = ContextVar("coatcheck_request_id", default=None)
REQUEST_ID_KEY = web.RequestKey("request_id", str)  # the request's id, for its log line


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


_second: list[object] = [None, ""]  # the second last formatted, and its text


def _iso_time(moment: float) -> str:
    """`moment` (time.time()) as ISO 8601 UTC to the millisecond; the date and time part is
    formatted once a second (request lines ask for it on every line)."""
    second = int(moment)
    if _second[0] != second:
        _second[:] = [second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{int((moment - second) * 1000):03d}+00:00"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class _TextFormatter(logging.Formatter):
    """The message, then the record's own fields as name=value."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{name}={value}" for name, value in vars(record).items() if name not in _RECORD_FIELDS
        )
        line = super().format(record)
        return f"{line} {fields}" if fields else line


_format: LogFormat = "json"


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is written, not to the one there was when
    logging was configured: a stream swapped and closed since (pytest's capture of a test
    that ran the CLI in process) would make every later line a "Logging error"."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass  # always sys.stderr


def configure_logging(log_format: LogFormat = "json", level: int = logging.INFO) -> None:
    global _format
    _format = log_format
    handler = _StandardError()
    handler.addFilter(_RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


# What a request line says, kept as the request ends: when (time.time()), method, the
# route's resource (None if refused before routing), status, duration (s), request id.
Entry = tuple[float, str, Any, int, float, "str | None"]
MAX_KEPT = 512  # lines kept at most before they are written, FLUSH_SECONDS or not


class LineBuffer:
    """Request lines, kept as entries and formatted when written: whole lines in writes of at
    most 4 KiB, at the latest FLUSH_SECONDS after the first was kept (or MAX_KEPT later)."""

    def __init__(self, stream: IO[bytes] | None = None) -> None:
        self._stream = stream
        self._kept: list[Entry] = []
        self._json = True
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def keep(self, entry: Entry, json: bool = True) -> None:
        if json is not self._json:  # one format a process; the tests switch between them
            self.flush()
            self._json = json
        kept = self._kept
        kept.append(entry)
        if len(kept) >= MAX_KEPT:
            self.flush()
            return
        # Rescheduled when none is set, or when its loop no longer runs (a loop of its own
        # per test, say). Not asked of get_running_loop() on every line: on Python 3.11 each
        # call is a getpid() system call (0.45 us here, where a request costs about 130).
        if self._timer is None or self._loop is None or not self._loop.is_running():
            loop = asyncio.get_running_loop()
            self._timer, self._loop = loop.call_later(FLUSH_SECONDS, self.flush), loop

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._kept:
            return
        line = _json_line if self._json else _text_line
        kept, self._kept = self._kept, []
        stream = self._stream or sys.stderr.buffer
        # Each line joins its write as it is made: 512 lines made first and kept side by
        # side cost twice as much a line (4.5 us at best against 2.3, 400 interleaved flushes).
        chunk = bytearray()
        for entry in kept:
            made = line(entry)
            if len(chunk) + len(made) > _MAX_WRITE and chunk:
                _write(stream, chunk)
                chunk = bytearray()
            chunk += made
        _write(stream, chunk)


def _write(stream: IO[bytes], data: bytes | bytearray) -> None:
    """`data` (whole lines, at most 4 KiB) in a write of its own: flushed at once, or the
    stream's buffer (sys.stderr.buffer is st_blksize large: a pipe's page, 64 KiB on 64 KiB-page
    kernels) joins it with the next ones into a write larger than PIPE_BUF, which the lines of
    another worker sharing the pipe can split mid-line."""
    stream.write(data)
    stream.flush()


def _json_line(entry: Entry) -> bytes:
    moment, method, resource, status, seconds, request_id = entry
    return orjson.dumps(
        {
            "time": _iso_time(moment),
            "level": "INFO",
            "logger": "coatcheck.request",
            "message": "request",
            "method": method,
            "route": resource.canonical if resource is not None else None,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": request_id,
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )


def _text_line(entry: Entry) -> bytes:
    moment, method, resource, status, seconds, request_id = entry
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment))
    route = resource.canonical if resource is not None else None
    duration = round(seconds * 1000, 3)
    return f"{stamp} INFO request {method} {route} {status} {duration}ms {request_id}\n".encode()


# One buffer for the process: aiohttp makes a request log for every connection.
_REQUEST_LINES = LineBuffer()
atexit.register(_REQUEST_LINES.flush)  # what the timer had no time to write


def flush_request_lines() -> None:
    """Write the request lines kept so far now (a drain's last, before the line that says
    what it drained)."""
    _REQUEST_LINES.flush()


class RequestLog(AbstractAccessLogger):
    """One line per request: method, route, status, duration and request id. aiohttp hands
    the server's access_log_format to the constructor: here it is the LogFormat, "json" or
    "text". aiohttp makes one for every connection, so it holds nothing of its own."""

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._json = log_format != "text"
        self._lines = _REQUEST_LINES

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time_: float) -> None:
        try:
            resource = request.match_info.route.resource  # type: ignore[attr-defined]
        except (AttributeError, AssertionError):  # refused by the parser before any routing
            resource = None
        request_id = request.get(REQUEST_ID_KEY)
        entry = (time.time(), request.method, resource, response.status, time_, request_id)
        self._lines.keep(entry, self._json)

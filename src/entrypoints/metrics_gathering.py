"""/metrics for `coatcheck serve --workers N`: one listener, in the arbiter, that answers
for every process. Each worker serves its own metrics on a Unix socket in a folder only
this service can reach; a scrape asks each of them and sums every series (counters,
histograms' buckets, sums and counts, and gauges: `coatcheck_websockets` is then the
open sockets of all processes, `coatcheck_store_up` how many processes see the store up).

Chosen over prometheus_client's multiprocess mode, which needs an environment variable set
before the library is imported, cannot hold the custom collectors the request path counts
with (request_metrics.py) nor callback gauges, and shares one set of files between every
registry of a process (the tests run many apps in one). A worker that has exited takes its
counts with it: Prometheus reads the drop as a counter reset, as after any restart.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from coatcheck.entrypoints.http.headers import SERVER
from coatcheck.entrypoints.http.problems import PROBLEM_JSON, refused_request, status_body
from coatcheck.entrypoints.http.protocol import BACKLOG, REQUEST_HEAD_TIMEOUT
from coatcheck.entrypoints.http.tickets import NO_STORE
from coatcheck.entrypoints.metrics import CONTENT_TYPE

log = logging.getLogger(__name__)
# What http.server refuses before it has read a request whole: a request line or headers it
# cannot read (400), an HTTP version it does not speak (505), a line or headers too long.
_TOO_LARGE = frozenset({414, 431})
_NOT_READ = frozenset({400, 505}) | _TOO_LARGE

SCRAPE_SECONDS = 2.0  # a worker that does not answer within this is left out of the scrape
SCRAPERS = 32  # connections the arbiter's listener holds at once (Prometheus needs one or two)
SOCKET_SUFFIX = ".metrics.sock"
_REQUEST = b"GET /metrics HTTP/1.0\r\nHost: worker\r\n\r\n"


def worker_socket(folder: Path, pid: int) -> Path:
    return folder / f"{pid}{SOCKET_SUFFIX}"


class WorkerGone(Exception):
    """No worker listens on the socket any more: its worker has exited."""


def scrape(path: Path, seconds: float | None = None) -> str | None:
    """The exposition a worker's socket answers; None if it does not answer in time (a
    worker alive but busy: left out of this scrape only). WorkerGone if none listens."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(SCRAPE_SECONDS if seconds is None else seconds)
        try:
            connection.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError) as error:
            raise WorkerGone(path.name) from error
        except OSError:
            return None
        try:
            connection.sendall(_REQUEST)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        except OSError:
            return None
    head, _, body = answer.partition(b"\r\n\r\n")
    if not head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")):
        return None
    return body.decode()


def merged(expositions: Iterable[str]) -> list[Metric]:
    """The metric families of every exposition, every series summed across them."""
    families: dict[str, Metric] = {}
    totals: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for text in expositions:
        for family in text_string_to_metric_families(text):
            families.setdefault(family.name, family)
            sums = totals.setdefault(family.name, {})
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                sums[key] = sums.get(key, 0.0) + sample.value
    result = []
    for name, family in families.items():
        summed = Metric(name, family.documentation, family.type, family.unit)
        summed.samples = [
            Sample(sample, dict(labels), value) for (sample, labels), value in totals[name].items()
        ]
        result.append(summed)
    return result


class _Gathered:
    """A collector of the families gathered for one scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def gather(folder: Path) -> bytes:
    """Every live worker's metrics, summed, plus how many processes answered."""
    expositions = []
    for path in sorted(folder.glob(f"*{SOCKET_SUFFIX}")):
        try:
            text = scrape(path)
        except WorkerGone:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # its worker has exited: nothing will answer there again
            continue
        if text is not None:  # else too slow this time: asked again at the next scrape
            expositions.append(text)
    families = merged(expositions)
    processes = Metric("coatcheck_metrics_processes", "Processes these metrics sum", "gauge")
    processes.add_sample("coatcheck_metrics_processes", {}, float(len(expositions)))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Gathered([*families, processes]))
    return generate_latest(registry)


class _Listener(ThreadingHTTPServer):
    """http.server's, bounded: at most SCRAPERS connections at once (one more is closed at
    once, before a thread or a read), a kernel backlog as the API's, and a client that
    hangs up mid-answer is no traceback."""

    daemon_threads = True
    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._room = threading.BoundedSemaphore(SCRAPERS)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._room.acquire(blocking=False):
            self.shutdown_request(request)  # full: closed unanswered, as a backlog overflows
            return
        self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        if request in self._open:
            self._open.discard(request)
            self._room.release()
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client hung up: nothing to tell
        log.exception("error answering a /metrics request")

    def close_in_child(self) -> None:
        """Close this process's copies of the listening socket and of the connections open
        at the fork (close only: a shutdown would end them for the arbiter too). A
        connection's descriptor is closed outright: its socket's close() waits for the
        handler's file objects, whose threads do not exist in the child."""
        self.socket.close()
        for request in list(self._open):
            with contextlib.suppress(OSError):  # closed by its thread as the fork came
                os.close(request.detach())
        self._open.clear()


class MetricsGatherer:
    """The arbiter's /metrics listener (a thread of its own), gathering from `folder`."""

    def __init__(
        self, folder: Path, host: str, port: int, head_timeout: float = REQUEST_HEAD_TIMEOUT
    ) -> None:
        self.folder = folder

        class Handler(BaseHTTPRequestHandler):
            """GET (and HEAD) /metrics; everything else is answered as the API answers it:
            problem+json naming the status, quoting nothing, `Server: coatcheck`."""

            # A request line it cannot read is answered with a status line and headers, not
            # as HTTP/0.9 (the bare body, which http.server assumes until it reads a version).
            default_request_version = "HTTP/1.0"
            timeout = head_timeout  # each read; the whole head has its deadline below

            def setup(self) -> None:
                super().setup()
                # A head not read whole within head_timeout ends the connection, as on the
                # API's port: a read's timeout alone lets a byte a second hold it for ever.
                self._deadline = threading.Timer(head_timeout, self._too_slow)
                self._deadline.daemon = True
                self._deadline.start()

            def _too_slow(self) -> None:
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

            def parse_request(self) -> bool:
                try:
                    return super().parse_request()
                finally:
                    self._deadline.cancel()  # the head is read: the answer may take its time

            def finish(self) -> None:
                self._deadline.cancel()
                super().finish()

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):  # every other method, as aiohttp answers it
                    return self._not_allowed
                raise AttributeError(name)

            def do_GET(self) -> None:
                if self.path.partition("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                self._answer(200, f"{CONTENT_TYPE}; charset=utf-8", gather(folder))

            def do_HEAD(self) -> None:
                self.do_GET()

            def _not_allowed(self) -> None:
                self.send_error(405)

            def send_error(
                self, code: int, message: str | None = None, explain: str | None = None
            ) -> None:
                # http.server's own: an HTML page that quotes the request line, for a wrong
                # path, method or request line alike. What it could not read is answered
                # as the API answers what aiohttp's parser refuses.
                self.close_connection = True
                if code in _NOT_READ:
                    refused = refused_request(too_large=code in _TOO_LARGE)
                    code, body = refused.status, cast(bytes, refused.body)
                else:
                    body = status_body(code)
                self._answer(code, f"{PROBLEM_JSON}; charset=utf-8", body)

            def _answer(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", NO_STORE["Cache-Control"])
                if status == 405:
                    self.send_header("Allow", "GET, HEAD")
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def version_string(self) -> str:
                return SERVER

            def log_message(self, format: str, *args: object) -> None:
                return None  # scrapes are not worth a log line each

        self._server = _Listener((host, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def close_in_worker(self) -> None:
        """In a worker forked from the arbiter: let go of the listener's socket and of the
        connections it had open, which only the arbiter answers (its own stay open)."""
        self._server.close_in_child()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

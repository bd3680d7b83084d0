"""aiohttp's HTTP/1.1 protocol, answering what it refuses as coatcheck answers everything.

aiohttp answers a request its parser refuses (a line or header too long, a bad request
line, header or chunk) before any middleware runs, in text/plain that quotes the start of
the offending line, a ticket included, and logs the same at ERROR. Here such a request
gets a problem+json answer that quotes nothing, and one log line naming the problem.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from coatcheck.entrypoints.http import headers
from coatcheck.entrypoints.http.problems import internal_error, refused_by_the_parser

log = logging.getLogger(__name__)


class Protocol(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: an answer has begun, none can follow
            raise ConnectionError("an answer was already being sent")
        if isinstance(exc, HttpProcessingError):
            response = refused_by_the_parser(exc)
            log.info(
                "refused a request aiohttp could not parse: %s",
                type(exc).__name__,
                extra={"status": response.status},
            )
        else:  # an error no middleware answered (500), or aiohttp's handler timeout (504)
            log.error("error handling a request (%d)", status, exc_info=exc)
            response = internal_error(status)
        headers.stamp(response)
        response.force_close()
        return response

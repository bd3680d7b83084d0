"""Handlers: parse, call a use-case, shape the answer. Nothing else.

Each handler declares what it answers with `@answers(...)` beside it: its success replies
and their models, its request body, the domain errors it raises beyond those that follow
from how it is reached. The OpenAPI document is generated from these declarations."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aiohttp import web
from attrs import frozen
from pydantic import BaseModel

from coatcheck.domain.errors import NotAuthenticated, Overloaded, StoreUnavailable
from coatcheck.entrypoints.http.origin import SAFE_METHODS
from coatcheck.entrypoints.http.problems import (
    CrossSiteRequest,
    HeaderFieldsTooLarge,
    NotJson,
    RequestInvalid,
)
from coatcheck.entrypoints.http.responses import JSON

_H = TypeVar("_H", bound=Callable[..., Any])
_ANSWERS = "__coatcheck_answers__"


@frozen
class Reply:
    """A success answer: its status, what it means, its body's model (None: no body)."""

    status: int
    description: str
    model: type[BaseModel] | None = None
    cookie: bool = False  # it hands out the session cookie
    headers: tuple[tuple[str, str], ...] = ()  # (name, description) of headers it carries
    media: str | None = None  # a body that is not JSON: its media type (a string)


@frozen
class Answers:
    summary: str
    replies: tuple[Reply, ...]
    body: type[BaseModel] | None
    raises: tuple[type[Exception], ...]
    authenticates: bool
    stores: bool
    hashes: bool  # hashes or checks a password: the longer deadline

    def errors(self, method: str) -> tuple[type[Exception], ...]:
        """What the route raises, and what follows from how it is reached."""
        # refused before any handler runs: an over-long head, an Expect other than 100-continue
        derived: list[type[Exception]] = [HeaderFieldsTooLarge, web.HTTPExpectationFailed]
        if self.body is not None:
            derived += [RequestInvalid, web.HTTPRequestEntityTooLarge, NotJson]
        if self.authenticates:
            derived.append(NotAuthenticated)
        if method not in SAFE_METHODS:  # the Origin check of cookie requests
            derived.append(CrossSiteRequest)
        if self.stores:
            derived += [StoreUnavailable, Overloaded]
        return (*derived, *self.raises)


def answers(
    *replies: Reply,
    body: type[BaseModel] | None = None,
    raises: tuple[type[Exception], ...] = (),
    authenticates: bool = True,
    stores: bool = True,
    hashes: bool = False,
) -> Callable[[_H], _H]:
    """Declares what a handler answers; its docstring's first line is the summary. A route
    with a body refuses any other content type than JSON (415) before its handler runs."""

    def declare(handler: _H) -> _H:
        summary = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
        if body is not None:
            handler = _json_only(handler)
        declared = Answers(summary, replies, body, raises, authenticates, stores, hashes)
        setattr(handler, _ANSWERS, declared)
        return handler

    return declare


def hashes_passwords(handler: object) -> bool:
    """Whether the handler hashes or checks a password (cheap: on every request)."""
    declared = getattr(handler, _ANSWERS, None)
    return declared is not None and declared.hashes


def _json_only(handler: _H) -> _H:
    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        if request.content_type != JSON:
            raise NotJson()
        response: web.StreamResponse = await handler(request)
        return response

    return cast(_H, checked)


def answers_of(handler: object) -> Answers | None:
    declared = getattr(handler, _ANSWERS, None)
    return declared if isinstance(declared, Answers) else None

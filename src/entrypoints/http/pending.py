"""The pending cookie: what a browser holds between a right password and its second factor.
It is not a session (no route but the second step reads it), lives minutes, and goes once
the second step succeeds. And so what a log-in answers: the new session's cookie with the
user, or the pending cookie while a second factor is missing."""

from __future__ import annotations

import math

from aiohttp import web

from coatcheck.domain.second_step import PendingLogIn, PendingTicket
from coatcheck.domain.sessions import LoggedIn
from coatcheck.entrypoints.http.keys import services
from coatcheck.entrypoints.http.responses import SecondFactorOut, json_response, user_response
from coatcheck.entrypoints.http.tickets import COOKIES, hand_out


def _name(request: web.Request) -> str:
    return request.app[COOKIES].name + "-pending"


def held_pending(request: web.Request) -> PendingTicket | None:
    return PendingTicket.parse(request.cookies.get(_name(request)))


def pending_response(request: web.Request, pending: PendingLogIn) -> web.Response:
    """200 {secondFactorRequired, methods, expiresAt} with the pending cookie (and the device
    cookie, once the password was right): never a session cookie."""
    response = json_response(
        SecondFactorOut(
            second_factor_required=True, methods=pending.methods, expires_at=pending.expires_at
        )
    )
    cookie = request.app[COOKIES]
    lifetime = (pending.expires_at - services(request).clock.now()).total_seconds()
    write_pending(request, response, pending.ticket, max(1, math.floor(lifetime)))
    if pending.device is not None:
        cookie.write(response, pending.device.value, cookie.device_max_age, name=cookie.device_name)
    return response


def write_pending(
    request: web.Request, response: web.StreamResponse, ticket: PendingTicket, max_age: int
) -> None:
    request.app[COOKIES].write(response, ticket.value, max_age, name=_name(request))


def clear_pending(request: web.Request, response: web.StreamResponse) -> None:
    if _name(request) in request.cookies:
        request.app[COOKIES].write(response, "", 0, name=_name(request))


async def log_in_response(request: web.Request, outcome: LoggedIn | PendingLogIn) -> web.Response:
    """A first step's answer: the pending cookie if the account's second factor is missing,
    else the new session's cookie with the user."""
    if isinstance(outcome, PendingLogIn):
        return pending_response(request, outcome)
    return await _session_response(request, outcome)


async def second_step_response(request: web.Request, logged_in: LoggedIn) -> web.Response:
    """The second step's answer (or a passkey's log-in): the new session's cookie with the
    user, and the pending cookie it used up cleared."""
    response = await _session_response(request, logged_in)
    clear_pending(request, response)
    return response


async def _session_response(request: web.Request, logged_in: LoggedIn) -> web.Response:
    await hand_out(request, logged_in)
    return user_response(logged_in.user.public)

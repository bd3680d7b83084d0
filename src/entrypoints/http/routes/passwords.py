"""Changing the password: it ends every other session and rotates the caller's ticket."""

from __future__ import annotations

from aiohttp import web

from coatcheck.domain.errors import ReauthenticationRequired, TooManyAttempts, WrongPassword
from coatcheck.entrypoints.http.client import client_info
from coatcheck.entrypoints.http.keys import services
from coatcheck.entrypoints.http.responses import TokenOut, json_response
from coatcheck.entrypoints.http.routes import Reply, answers
from coatcheck.entrypoints.http.schemas import ChangePasswordBody, parse
from coatcheck.entrypoints.http.tickets import (
    bearer_value,
    hand_out,
    held_device,
    recently_authenticated,
)

routes = web.RouteTableDef()


@routes.post("/authentication/change-password")
@answers(
    Reply(204, "changed; a new cookie", cookie=True),
    Reply(200, "changed; a bearer caller's new token", TokenOut),
    body=ChangePasswordBody,
    raises=(WrongPassword, TooManyAttempts, ReauthenticationRequired),
    hashes=True,
)
async def change_password(request: web.Request) -> web.Response:
    """Change my password: every other session ends, this one gets a new ticket.

    204 with a new cookie; a bearer caller gets its new token in the body instead.
    """
    caller = await recently_authenticated(request)
    body = await parse(request, ChangePasswordBody)
    logged_in = await services(request).change_password(
        caller, body.current_password, body.new_password, client_info(request), held_device(request)
    )
    if bearer_value(request) is not None:
        return json_response(TokenOut.of(logged_in))
    await hand_out(request, logged_in)
    return web.Response(status=204)

"""A user's sessions: list, revoke one, revoke the others, change the password."""

from __future__ import annotations

from aiohttp import web

from entrypoints.http.client import client_info
from entrypoints.http.keys import container
from entrypoints.http.responses import SessionsOut, TokenOut, json_response
from entrypoints.http.schemas import ChangePasswordBody, parse
from entrypoints.http.tickets import NO_STORE, authenticate, bearer_value, hand_out, take_back

routes = web.RouteTableDef()


@routes.get("/authentication/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    """My live sessions, newest first."""
    views = await container(request).list_sessions()(await authenticate(request))
    return json_response(SessionsOut.of(views), headers=NO_STORE)


@routes.delete("/authentication/sessions/{id}")
async def revoke_session(request: web.Request) -> web.Response:
    """End one of my sessions."""
    caller = await authenticate(request)
    revoked = await container(request).revoke_session()(caller, request.match_info["id"])
    if revoked.id == caller.session.id:
        await take_back(request)
    return web.Response(status=204)


@routes.delete("/authentication/sessions")
async def revoke_other_sessions(request: web.Request) -> web.Response:
    """End all my sessions but this one."""
    await container(request).revoke_other_sessions()(await authenticate(request))
    return web.Response(status=204)


@routes.post("/authentication/change-password")
async def change_password(request: web.Request) -> web.Response:
    """Change my password: every other session ends, this one gets a new ticket.

    204 with a new cookie; a bearer caller gets its new token in the body instead.
    """
    caller = await authenticate(request)
    body = await parse(request, ChangePasswordBody)
    logged_in = await container(request).change_password()(
        caller, body.current_password, body.new_password, client_info(request)
    )
    if bearer_value(request) is not None:
        return json_response(TokenOut.of(logged_in), headers=NO_STORE)
    await hand_out(request, logged_in)
    return web.Response(status=204)

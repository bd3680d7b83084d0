"""A user's sessions: list, revoke one, revoke the others, change the password."""

from __future__ import annotations

from aiohttp import web

from entrypoints.http.client import client_info
from entrypoints.http.keys import services
from entrypoints.http.schemas import ChangePasswordBody, parse, session_views_json, token_json
from entrypoints.http.tickets import NO_STORE, authenticate, bearer_value, hand_out, take_back

routes = web.RouteTableDef()


@routes.get("/authentication/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    views = await services(request).list_sessions(await authenticate(request))
    return web.json_response(session_views_json(views), headers=NO_STORE)


@routes.delete("/authentication/sessions/{id}")
async def revoke_session(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    revoked = await services(request).revoke_session(caller, request.match_info["id"])
    if revoked.id == caller.session.id:
        await take_back(request)
    return web.Response(status=204)


@routes.delete("/authentication/sessions")
async def revoke_other_sessions(request: web.Request) -> web.Response:
    await services(request).revoke_other_sessions(await authenticate(request))
    return web.Response(status=204)


@routes.post("/authentication/change-password")
async def change_password(request: web.Request) -> web.Response:
    """204 with a new cookie; a bearer caller gets its new token in the body instead."""
    caller = await authenticate(request)
    body = await parse(request, ChangePasswordBody)
    logged_in = await services(request).change_password(
        caller, body.current_password, body.new_password, client_info(request)
    )
    if bearer_value(request) is not None:
        return web.json_response(token_json(logged_in), headers=NO_STORE)
    await hand_out(request, logged_in)
    return web.Response(status=204)

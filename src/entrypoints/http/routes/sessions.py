"""A user's sessions: list them, revoke one, revoke the others."""

from __future__ import annotations

from aiohttp import web

from coatcheck.domain.errors import SessionNotFound
from coatcheck.entrypoints.http.keys import services
from coatcheck.entrypoints.http.responses import SessionsOut, json_response
from coatcheck.entrypoints.http.routes import Reply, answers
from coatcheck.entrypoints.http.tickets import authenticate, take_back

routes = web.RouteTableDef()


@routes.get("/authentication/sessions")
@answers(Reply(200, "the sessions", SessionsOut))
async def list_sessions(request: web.Request) -> web.Response:
    """My live sessions, newest first."""
    views = await services(request).list_sessions(await authenticate(request))
    return json_response(SessionsOut.of(views))


@routes.delete("/authentication/sessions/{id}")
@answers(Reply(204, "ended"), raises=(SessionNotFound,))
async def revoke_session(request: web.Request) -> web.Response:
    """End one of my sessions."""
    caller = await authenticate(request)
    revoked = await services(request).revoke_session(caller, request.match_info["id"])
    if revoked.id == caller.session.id:
        await take_back(request)
    return web.Response(status=204)


@routes.delete("/authentication/sessions")
@answers(Reply(204, "ended"))
async def revoke_other_sessions(request: web.Request) -> web.Response:
    """End all my sessions but this one."""
    await services(request).revoke_other_sessions(await authenticate(request))
    return web.Response(status=204)

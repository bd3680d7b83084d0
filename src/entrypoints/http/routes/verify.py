"""Forward auth: a reverse proxy (nginx auth_request, Traefik forwardAuth, Caddy forward_auth)
asks who a request is from before letting it through. The answer is the authenticated check
of GET /authentication, given in headers with an empty body; see docs/protecting-services.md."""

from __future__ import annotations

from aiohttp import web

from coatcheck.entrypoints.http import identity
from coatcheck.entrypoints.http.keys import services
from coatcheck.entrypoints.http.routes import Reply, answers
from coatcheck.entrypoints.http.tickets import NO_STORE, authenticate

routes = web.RouteTableDef()


@routes.get("/authentication/verify")
@answers(
    Reply(
        200,
        "a live session: who it is, in headers (no body); Set-Cookie when it was renewed",
        cookie=True,
        headers=(*identity.DESCRIPTIONS, identity.METHODS_DESCRIPTION),
    )
)
async def verify(request: web.Request) -> web.Response:
    """Forward auth: who this request is from, in response headers."""
    authenticated = await authenticate(request)
    user = await services(request).current_user(authenticated)
    headers = identity.verify_headers(user, authenticated.session)
    headers.update(NO_STORE)
    return web.Response(headers=headers)

"""GET /account/: the account page. Static HTML, CSS and JavaScript modules, shipped with the
package (no build step, no CDN), that use nothing but the public API with the cookie.
ACCOUNT_PAGE=false leaves these routes out.

Every file is answered with a Content-Security-Policy that allows no inline script or
style and nothing from elsewhere: the page's own files, its API calls and its WebSocket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from aiohttp import web

from coatcheck.entrypoints.http.routes import Reply, answers

PAGE = "/account/"
FILES = {  # file: media type; index.html is the page itself
    "index.html": "text/html",
    "account.css": "text/css",
    "account.js": "text/javascript",
    "api.js": "text/javascript",
    "forms.js": "text/javascript",
    "events.js": "text/javascript",
    "factors.js": "text/javascript",
    "icon.svg": "image/svg+xml",
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",  # 'self' covers ws: and wss: to the same host
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-cache",  # always revalidated: a new release is seen at once
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _file(name: str, media_type: str, body: bytes) -> Handler:
    async def file(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=media_type, charset="utf-8", headers=HEADERS)

    file.__doc__ = "The account page." if name == "index.html" else f"The account page's {name}."
    reply = Reply(200, name, media=media_type)
    return answers(reply, authenticates=False, stores=False)(file)


@answers(Reply(308, "to /account/"), authenticates=False, stores=False)
async def to_the_page(request: web.Request) -> web.Response:
    """The account page is at /account/."""
    return web.Response(status=308, headers={"Location": PAGE})


def routes() -> web.RouteTableDef:
    """The page's routes, each file read once from the package."""
    folder = resources.files("coatcheck.entrypoints.http").joinpath("static", "account")
    table = web.RouteTableDef()
    table.get(PAGE.rstrip("/"))(to_the_page)
    for name, media_type in FILES.items():
        path = PAGE if name == "index.html" else PAGE + name
        table.get(path)(_file(name, media_type, folder.joinpath(name).read_bytes()))
    return table

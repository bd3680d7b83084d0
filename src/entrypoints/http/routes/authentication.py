"""Register, log in (cookie or token), who am I, log out: the seed tutorial's API."""

from __future__ import annotations

from aiohttp import web

from coatcheck.domain.errors import (
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    SecondFactorFailed,
    SecondFactorRequired,
    TooManyAttempts,
)
from coatcheck.domain.model import SessionKind
from coatcheck.domain.sessions import LoggedIn
from coatcheck.entrypoints.http.client import client_info
from coatcheck.entrypoints.http.keys import services
from coatcheck.entrypoints.http.pending import log_in_response
from coatcheck.entrypoints.http.responses import (
    SecondFactorOut,
    TokenOut,
    UserOut,
    json_response,
    user_response,
)
from coatcheck.entrypoints.http.routes import Reply, answers
from coatcheck.entrypoints.http.schemas import LogInBody, RegisterBody, parse
from coatcheck.entrypoints.http.tickets import (
    authenticate,
    hand_out,
    held_device,
    held_ticket,
    take_back,
)

routes = web.RouteTableDef()
_LOG_IN_FAILURES = (InvalidCredentials, TooManyAttempts, EmailNotVerified)


@routes.post("/authentication/register")
@answers(
    Reply(
        201,
        "registered and logged in (with REQUIRE_VERIFIED_EMAIL, registered only: no cookie"
        " until the emailed link is followed)",
        UserOut,
        cookie=True,
    ),
    body=RegisterBody,
    raises=(EmailTaken, TooManyAttempts),
    authenticates=False,
    hashes=True,
)
async def register(request: web.Request) -> web.Response:
    """Create a user and log them in."""
    body = await parse(request, RegisterBody)
    registered = await services(request).register_user(
        body.email,
        body.name,
        body.password,
        client_info(request),
        replacing=await held_ticket(request),
        device=held_device(request),
    )
    if registered.logged_in is not None:
        await hand_out(request, registered.logged_in)
    return user_response(registered.user.public, 201)


@routes.post("/authentication/log-in")
@answers(
    Reply(200, "logged in", UserOut, cookie=True),
    Reply(
        200,
        "the password is right, and the account has a second factor: a pending cookie (not a"
        " session) for POST /authentication/log-in/second-factor",
        SecondFactorOut,
    ),
    body=LogInBody,
    raises=(*_LOG_IN_FAILURES, SecondFactorFailed),
    authenticates=False,
    hashes=True,
)
async def log_in(request: web.Request) -> web.Response:
    """Log in with a cookie (a fresh session every time)."""
    body = await parse(request, LogInBody)
    kind = SessionKind.REMEMBERED if body.remember else SessionKind.BROWSER
    logged_in = await services(request).log_in(
        body.email,
        body.password,
        client_info(request),
        kind,
        await held_ticket(request),
        held_device(request),
        body.proof,
    )
    return await log_in_response(request, logged_in)


@routes.post("/authentication/token")
@answers(
    Reply(200, "logged in", TokenOut),
    body=LogInBody,
    raises=(*_LOG_IN_FAILURES, SecondFactorRequired, SecondFactorFailed),
    authenticates=False,
    hashes=True,
)
async def token(request: web.Request) -> web.Response:
    """Log in for a bearer token (no cookie); a second factor comes in the same body."""
    body = await parse(request, LogInBody)
    logged_in = await services(request).log_in(
        body.email,
        body.password,
        client_info(request),
        SessionKind.TOKEN,
        None,
        held_device(request),
        body.proof,
    )
    assert isinstance(logged_in, LoggedIn)  # a token log-in is never held: it needs the factor
    return json_response(TokenOut.of(logged_in))


@routes.get("/authentication")
@answers(Reply(200, "the user", UserOut))
async def who_am_i(request: web.Request) -> web.Response:
    """Who am I."""
    authenticated = await authenticate(request)
    user = await services(request).current_user(authenticated)
    return user_response(user)


@routes.post("/authentication/log-out")
@answers(Reply(204, "logged out"), authenticates=False)
async def log_out(request: web.Request) -> web.Response:
    """End this session and clear the cookie."""
    await services(request).log_out(await held_ticket(request))
    await take_back(request)
    return web.Response(status=204)

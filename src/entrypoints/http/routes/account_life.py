"""The account's life: password reset, email verification, change of email, deletion.

Every route that sends a message answers before it is sent (the outbox sends it after)."""

from __future__ import annotations

from aiohttp import web

from coatcheck.domain.errors import (
    EmailTaken,
    EmailUnavailable,
    InvalidToken,
    InvalidValue,
    ReauthenticationRequired,
    TooManyAttempts,
    TooManyEmails,
    WrongPassword,
)
from coatcheck.entrypoints.http.client import client_info
from coatcheck.entrypoints.http.keys import services
from coatcheck.entrypoints.http.pending import log_in_response
from coatcheck.entrypoints.http.responses import (
    Accepted,
    SecondFactorOut,
    UserOut,
    json_response,
)
from coatcheck.entrypoints.http.routes import Reply, answers
from coatcheck.entrypoints.http.schemas import (
    ChangeEmailBody,
    DeleteAccountBody,
    PasswordResetBody,
    PasswordResetConfirmBody,
    TokenBody,
    parse,
)
from coatcheck.entrypoints.http.tickets import (
    authenticate,
    held_device,
    held_ticket,
    recently_authenticated,
    take_back,
)

routes = web.RouteTableDef()
_MAILING = (TooManyEmails, EmailUnavailable)
_REAUTH = ReauthenticationRequired  # the session's last authentication is not recent
RESET_ASKED = Accepted(detail="if an account has this email, a link to reset its password is sent")
LINK_SENT = Accepted(detail="a link is on its way")


@routes.post("/authentication/password-reset")
@answers(
    Reply(202, "taken in: the same answer, in the same time, for any email", Accepted),
    body=PasswordResetBody,
    raises=_MAILING,
    authenticates=False,
)
async def request_password_reset(request: web.Request) -> web.Response:
    """Ask for a password-reset link by email.

    The answer says nothing about whether an account has the email.
    """
    body = await parse(request, PasswordResetBody)
    await services(request).request_password_reset(body.email, client_info(request))
    return json_response(RESET_ASKED, 202)


@routes.post("/authentication/password-reset/confirm")
@answers(
    Reply(200, "the password is reset, every session ended: logged in anew", UserOut, cookie=True),
    Reply(
        200,
        "the password is reset, every session ended; the account has a second factor: a"
        " pending cookie for POST /authentication/log-in/second-factor, never a session",
        SecondFactorOut,
    ),
    body=PasswordResetConfirmBody,
    raises=(InvalidToken,),
    authenticates=False,
    hashes=True,
)
async def reset_password(request: web.Request) -> web.Response:
    """Choose a new password with the token of a reset link."""
    body = await parse(request, PasswordResetConfirmBody)
    logged_in = await services(request).reset_password(
        body.token,
        body.new_password,
        client_info(request),
        await held_ticket(request),
        held_device(request),
    )
    return await log_in_response(request, logged_in)  # a reset never skips the second factor


@routes.post("/authentication/verify-email")
@answers(
    Reply(204, "the address is verified"),
    body=TokenBody,
    raises=(InvalidToken,),
    authenticates=False,
)
async def verify_email(request: web.Request) -> web.Response:
    """Verify the address with the token of a verification link."""
    body = await parse(request, TokenBody)
    await services(request).verify_email(body.token)
    return web.Response(status=204)


@routes.post("/authentication/verify-email/resend")
@answers(Reply(202, "a new link is on its way (none once verified)", Accepted), raises=_MAILING)
async def resend_verification(request: web.Request) -> web.Response:
    """Send me a new verification link."""
    caller = await authenticate(request)
    await services(request).resend_verification(caller, client_info(request))
    return json_response(LINK_SENT, 202)


@routes.post("/authentication/change-email")
@answers(
    Reply(
        202, "a link is on its way to the new address; nothing changes until it is used", Accepted
    ),
    body=ChangeEmailBody,
    raises=(WrongPassword, TooManyAttempts, InvalidValue, *_MAILING, _REAUTH),  # taken or not
    hashes=True,
)
async def request_email_change(request: web.Request) -> web.Response:
    """Change my email: a link goes to the new address."""
    caller = await recently_authenticated(request)
    body = await parse(request, ChangeEmailBody)
    await services(request).request_email_change(
        caller, body.current_password, body.new_email, client_info(request), held_device(request)
    )
    return json_response(LINK_SENT, 202)


@routes.post("/authentication/change-email/confirm")
@answers(
    Reply(204, "the account has the new address, verified; the old one is told"),
    body=TokenBody,
    raises=(InvalidToken, EmailTaken),
    authenticates=False,
)
async def change_email(request: web.Request) -> web.Response:
    """Make the change of email with the token of the link sent to the new address."""
    body = await parse(request, TokenBody)
    await services(request).change_email(body.token, client_info(request), held_device(request))
    return web.Response(status=204)


@routes.delete("/authentication/account")
@answers(
    Reply(204, "deleted with everything stored about it; every session ended"),
    body=DeleteAccountBody,
    raises=(WrongPassword, TooManyAttempts, _REAUTH),
    hashes=True,
)
async def delete_account(request: web.Request) -> web.Response:
    """Delete my account."""
    caller = await recently_authenticated(request)
    body = await parse(request, DeleteAccountBody)
    await services(request).delete_account(
        caller, body.current_password, client_info(request), held_device(request)
    )
    await take_back(request)
    return web.Response(status=204)

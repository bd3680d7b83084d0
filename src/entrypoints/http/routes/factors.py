"""Second factors: the second step of a log-in, re-authentication, the authenticator app and
recovery codes."""

from __future__ import annotations

import io

import segno
from aiohttp import web

from coatcheck.domain.errors import (
    FactorConflict,
    FactorKeysMissing,
    FactorNotFound,
    InvalidCode,
    PasskeyFailed,
    PendingLogInMissing,
    ReauthenticationRequired,
    SecondFactorFailed,
    TooManyAttempts,
    WrongPassword,
)
from coatcheck.entrypoints.http.client import client_info
from coatcheck.entrypoints.http.keys import services
from coatcheck.entrypoints.http.pending import held_pending, second_step_response
from coatcheck.entrypoints.http.responses import (
    FactorAddedOut,
    FactorsOut,
    RecoveryCodesOut,
    TotpSetupOut,
    UserOut,
    json_response,
)
from coatcheck.entrypoints.http.routes import Reply, answers
from coatcheck.entrypoints.http.schemas import (
    CurrentPasswordBody,
    ReauthenticateBody,
    RemoveTotpBody,
    SecondFactorBody,
    TotpConfirmBody,
    parse,
)
from coatcheck.entrypoints.http.tickets import authenticate, held_ticket

routes = web.RouteTableDef()


def qr_svg(text: str) -> str:
    """The text as a QR code, a standalone SVG document (shown as an image: no script)."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=4, xmldecl=False, title="QR code")
    return out.getvalue().decode()


@routes.post("/authentication/log-in/second-factor")
@answers(
    Reply(200, "logged in: the pending log-in is used up", UserOut, cookie=True),
    body=SecondFactorBody,
    raises=(PendingLogInMissing, SecondFactorFailed, PasskeyFailed, TooManyAttempts),
    authenticates=False,
)
async def second_factor(request: web.Request) -> web.Response:
    """Complete a log-in with its second factor (the pending cookie of a right password)."""
    body = await parse(request, SecondFactorBody)
    pending, client = held_pending(request), client_info(request)
    replacing = await held_ticket(request)
    if body.credential is not None:
        logged_in = await services(request).passkey_log_in(
            pending, body.credential, client, replacing, second_factor=True
        )
    else:
        logged_in = await services(request).complete_log_in(pending, body.proof, client, replacing)
    return await second_step_response(request, logged_in)


@routes.post("/authentication/reauthenticate")
@answers(
    Reply(204, "authenticated again: what needs a recent authentication may be done"),
    body=ReauthenticateBody,
    raises=(WrongPassword, InvalidCode, PasskeyFailed, TooManyAttempts),
    hashes=True,
)
async def reauthenticate(request: web.Request) -> web.Response:
    """Prove again who holds this session (the password, or a second factor if it has one)."""
    caller = await authenticate(request)
    body = await parse(request, ReauthenticateBody)
    if body.credential is not None:
        await services(request).passkey_reauthentication(caller, body.credential)
    else:
        await services(request).reauthenticate(
            caller, body.password, body.proof, client_info(request)
        )
    return web.Response(status=204)


@routes.get("/authentication/factors")
@answers(Reply(200, "the account's second factors", FactorsOut))
async def factors(request: web.Request) -> web.Response:
    """Which second factors guard my account."""
    caller = await authenticate(request)
    summary = await services(request).factors.summary(caller.session.user_id)
    return json_response(FactorsOut.of(summary))


@routes.post("/authentication/totp")
@answers(
    Reply(200, "a new authenticator app, inactive until confirmed", TotpSetupOut),
    raises=(ReauthenticationRequired, FactorConflict, FactorKeysMissing),
)
async def set_up_totp(request: web.Request) -> web.Response:
    """Set up an authenticator app: its secret, as text and as a QR code."""
    caller = await authenticate(request)
    enrolment = await services(request).set_up_totp(caller)
    return json_response(
        TotpSetupOut(
            secret=enrolment.secret, otpauth_uri=enrolment.uri, qr_svg=qr_svg(enrolment.uri)
        )
    )


@routes.post("/authentication/totp/confirm")
@answers(
    Reply(200, "the app is active; the first factor comes with recovery codes", FactorAddedOut),
    body=TotpConfirmBody,
    raises=(ReauthenticationRequired, FactorNotFound, InvalidCode, TooManyAttempts),
)
async def confirm_totp(request: web.Request) -> web.Response:
    """Activate the authenticator app with a code of it."""
    caller = await authenticate(request)
    body = await parse(request, TotpConfirmBody)
    added = await services(request).confirm_totp(caller, body.code, client_info(request))
    return json_response(FactorAddedOut(recovery_codes=added.recovery_codes))


@routes.delete("/authentication/totp")
@answers(
    Reply(204, "the app is removed"),
    body=RemoveTotpBody,
    raises=(ReauthenticationRequired, FactorNotFound, WrongPassword, InvalidCode, TooManyAttempts),
    hashes=True,
)
async def remove_totp(request: web.Request) -> web.Response:
    """Remove the authenticator app (the current password and a code of it)."""
    caller = await authenticate(request)
    body = await parse(request, RemoveTotpBody)
    await services(request).remove_totp(
        caller, body.current_password, body.code, client_info(request)
    )
    return web.Response(status=204)


@routes.post("/authentication/recovery-codes")
@answers(
    Reply(200, "a new set of recovery codes; the old set is void", RecoveryCodesOut),
    body=CurrentPasswordBody,
    raises=(ReauthenticationRequired, FactorNotFound, WrongPassword, TooManyAttempts),
    hashes=True,
)
async def regenerate_recovery_codes(request: web.Request) -> web.Response:
    """Make a new set of recovery codes (the current password)."""
    caller = await authenticate(request)
    body = await parse(request, CurrentPasswordBody)
    codes = await services(request).regenerate_recovery_codes(
        caller, body.current_password, client_info(request)
    )
    return json_response(RecoveryCodesOut(recovery_codes=codes))

"""Passkeys (WebAuthn): register, list, rename, remove; log in with one and no password;
the options of an assertion for a pending log-in's second step or a re-authentication."""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from coatcheck.domain.errors import (
    FactorConflict,
    FactorNotFound,
    PasskeyFailed,
    PasskeyRefused,
    PendingLogInMissing,
    ReauthenticationRequired,
)
from coatcheck.domain.model import SessionKind
from coatcheck.entrypoints.http.client import client_info
from coatcheck.entrypoints.http.keys import services
from coatcheck.entrypoints.http.pending import held_pending, second_step_response, write_pending
from coatcheck.entrypoints.http.responses import (
    FactorAddedOut,
    PasskeyOptionsOut,
    PasskeyOut,
    PasskeysOut,
    UserOut,
    json_response,
)
from coatcheck.entrypoints.http.routes import Reply, answers
from coatcheck.entrypoints.http.schemas import (
    PasskeyBody,
    PasskeyLogInBody,
    PasskeyLogInOptionsBody,
    PasskeyRenameBody,
    parse,
)
from coatcheck.entrypoints.http.tickets import authenticate, held_ticket

routes = web.RouteTableDef()
_CHALLENGE_MINUTES = 5
# One passkey, by id: any segment but "options", which is the sibling route's. Without the
# exclusion /authentication/passkeys/options matched it too, and its 405 named PATCH and
# DELETE in Allow, methods the document does not give that path (schemathesis: ST205).
_ONE_PASSKEY = "/authentication/passkeys/{id:(?!options$)[^{}/]+}"


def _credential_id(request: web.Request) -> bytes:
    """The {id} of the path: a credential id in base64url; any other text names none."""
    text = request.match_info["id"]
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise FactorNotFound("no such passkey") from None


@routes.post("/authentication/passkeys/options")
@answers(
    Reply(200, "options for navigator.credentials.create()", PasskeyOptionsOut),
    raises=(ReauthenticationRequired,),
)
async def passkey_registration_options(request: web.Request) -> web.Response:
    """Start registering a passkey: its options (a challenge bound to this session)."""
    caller = await authenticate(request)
    options = await services(request).start_passkey_registration(caller)
    return json_response(PasskeyOptionsOut(options))


@routes.post("/authentication/passkeys")
@answers(
    Reply(201, "registered; the first factor comes with recovery codes", FactorAddedOut),
    body=PasskeyBody,
    raises=(ReauthenticationRequired, PasskeyRefused, FactorConflict),
)
async def register_passkey(request: web.Request) -> web.Response:
    """Register the passkey the options were answered with."""
    caller = await authenticate(request)
    body = await parse(request, PasskeyBody)
    added = await services(request).register_passkey(
        caller, body.credential, body.passkey_name, client_info(request)
    )
    return json_response(FactorAddedOut(recovery_codes=added.recovery_codes), 201)


@routes.get("/authentication/passkeys")
@answers(Reply(200, "my passkeys, oldest first", PasskeysOut))
async def list_passkeys(request: web.Request) -> web.Response:
    """My passkeys."""
    caller = await authenticate(request)
    passkeys = await services(request).factors.passkeys(caller.session.user_id)
    return json_response(PasskeysOut([PasskeyOut.of(passkey) for passkey in passkeys]))


@routes.patch(_ONE_PASSKEY)
@answers(Reply(204, "renamed"), body=PasskeyRenameBody, raises=(FactorNotFound,))
async def rename_passkey(request: web.Request) -> web.Response:
    """Rename one of my passkeys."""
    caller = await authenticate(request)
    body = await parse(request, PasskeyRenameBody)
    await services(request).rename_passkey(caller, _credential_id(request), body.name)
    return web.Response(status=204)


@routes.delete(_ONE_PASSKEY)
@answers(Reply(204, "removed"), raises=(ReauthenticationRequired, FactorNotFound))
async def remove_passkey(request: web.Request) -> web.Response:
    """Remove one of my passkeys."""
    caller = await authenticate(request)
    await services(request).remove_passkey(caller, _credential_id(request), client_info(request))
    return web.Response(status=204)


@routes.post("/authentication/passkey-log-in/options")
@answers(
    Reply(200, "options for navigator.credentials.get(), and a pending cookie", PasskeyOptionsOut),
    body=PasskeyLogInOptionsBody,
    authenticates=False,
)
async def passkey_log_in_options(request: web.Request) -> web.Response:
    """Start a log-in with a passkey and no password: its options."""
    body = await parse(request, PasskeyLogInOptionsBody)
    kind = SessionKind.REMEMBERED if body.remember else SessionKind.BROWSER
    ticket, options = await services(request).passkey_challenge.log_in(kind)
    response = json_response(PasskeyOptionsOut(options))
    write_pending(request, response, ticket, _CHALLENGE_MINUTES * 60)
    return response


@routes.post("/authentication/passkey-log-in")
@answers(
    Reply(200, "logged in (a passkey with user verification is both factors)", UserOut, True),
    body=PasskeyLogInBody,
    raises=(PendingLogInMissing, PasskeyFailed),
    authenticates=False,
)
async def passkey_log_in(request: web.Request) -> web.Response:
    """Log in with a passkey (the pending cookie of its options)."""
    body = await parse(request, PasskeyLogInBody)
    logged_in = await services(request).passkey_log_in(
        held_pending(request), body.credential, client_info(request), await held_ticket(request)
    )
    return await second_step_response(request, logged_in)


@routes.post("/authentication/log-in/second-factor/options")
@answers(
    Reply(200, "options for an assertion of one of the account's passkeys", PasskeyOptionsOut),
    raises=(PendingLogInMissing, FactorNotFound),
    authenticates=False,
)
async def second_factor_options(request: web.Request) -> web.Response:
    """A pending log-in's second factor with a passkey: its options."""
    options = await services(request).passkey_challenge.second_factor(held_pending(request))
    return json_response(PasskeyOptionsOut(options))


@routes.post("/authentication/reauthenticate/options")
@answers(
    Reply(200, "options for an assertion of one of my passkeys", PasskeyOptionsOut),
    raises=(FactorNotFound,),
)
async def reauthenticate_options(request: web.Request) -> web.Response:
    """Authenticate again with a passkey: its options (a challenge bound to this session)."""
    caller = await authenticate(request)
    options = await services(request).passkey_challenge.session(caller)
    return json_response(PasskeyOptionsOut(options))

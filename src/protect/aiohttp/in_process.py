"""The verifier of an application that runs coatcheck in its own process: it asks the
Authenticate and CurrentUser use-cases themselves, as GET /authentication does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from coatcheck.domain.errors import NotAuthenticated, StoreUnavailable
from coatcheck.domain.sessions import Authenticated
from coatcheck.domain.tickets import SessionTicket
from coatcheck.entrypoints.container import Services
from coatcheck.entrypoints.http.identity import Identity
from coatcheck.entrypoints.http.keys import SERVICES, SETTINGS
from coatcheck.entrypoints.http.tickets import CookiePolicy, bearer_value, cookie_max_age, ticket_of
from coatcheck.protect.verify import TIMEOUT_SECONDS, Checked, Unavailable


class InProcess:
    """Checks a request's ticket (its bearer header, else its cookie) with coatcheck's
    use-cases, renewing the session like any authenticated request; a store that fails or
    does not answer within `timeout` seconds makes it Unavailable."""

    def __init__(
        self,
        services: Services | Callable[[], Services],
        cookie: CookiePolicy,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self._services = services if callable(services) else lambda: services
        self._cookie = cookie
        self._timeout = timeout

    @classmethod
    def of(cls, coatcheck: web.Application, timeout: float = TIMEOUT_SECONDS) -> InProcess:
        """The use-cases and cookie of a coatcheck app (`create_app`), read once it has
        started: the app may be the protected one itself, or run beside it."""
        return cls(
            lambda: coatcheck[SERVICES], CookiePolicy.of(coatcheck[SETTINGS]), timeout=timeout
        )

    async def __call__(self, request: web.BaseRequest) -> Checked:
        ticket = ticket_of(request, self._cookie)
        services = self._services()
        try:
            async with asyncio.timeout(self._timeout):
                authenticated = await services.authenticate(ticket)
                user = await services.current_user(authenticated)
        except NotAuthenticated:
            return Checked(None, self._cleared(request))
        except (StoreUnavailable, TimeoutError) as error:
            raise Unavailable() from error
        assert ticket is not None  # authenticated
        return Checked(
            Identity.of(user, authenticated.session), self._renewed(request, ticket, authenticated)
        )

    def _renewed(
        self, request: web.BaseRequest, ticket: SessionTicket, authenticated: Authenticated
    ) -> tuple[str, ...]:
        """A renewed persistent session's cookie, as the service writes it (a bearer request
        never gets one; a browser session's cookie has no lifetime to renew)."""
        max_age = cookie_max_age(authenticated.session)
        if not authenticated.renewed or max_age is None or bearer_value(request) is not None:
            return ()
        return self._set_cookies(ticket.value, max_age)

    def _cleared(self, request: web.BaseRequest) -> tuple[str, ...]:
        """A dead cookie is cleared, as the service clears it."""
        if bearer_value(request) is not None or self._cookie.name not in request.cookies:
            return ()
        return self._set_cookies("", 0)

    def _set_cookies(self, value: str, max_age: int) -> tuple[str, ...]:
        written = web.Response()  # the header as the service writes it, from the same policy
        self._cookie.write(written, value, max_age)
        return tuple(morsel.OutputString() for morsel in written.cookies.values())

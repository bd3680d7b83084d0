"""What every log-in does once it is proved (a password, a second step, a passkey)."""

from __future__ import annotations

from coatcheck.domain.events import EndReason
from coatcheck.domain.model import AuthMethod, ClientInfo, SessionKind, User
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import Events
from coatcheck.domain.sessions import LoggedIn, SessionIssuer
from coatcheck.domain.tickets import SessionTicket
from coatcheck.domain.token_issuer import TokenIssuer
from coatcheck.domain.tokens import TokenPurpose


class LogInSession:
    """The session of a proved log-in.

    - the session the client held before, if any, ends; the new one has a fresh ticket and
      records how it was authenticated;
    - password-reset links sent before stop working; a device the account had not been
      seen on is told to its address; the log-in is logged.
    """

    def __init__(
        self, issuer: SessionIssuer, tokens: TokenIssuer, notices: Notices, events: Events
    ) -> None:
        self._issuer = issuer
        self._tokens = tokens
        self._notices = notices
        self._events = events

    async def start(
        self,
        user: User,
        kind: SessionKind,
        client: ClientInfo,
        methods: AuthMethod,
        replacing: SessionTicket | None,
    ) -> LoggedIn:
        """The new session; it counts once welcomed (a log-in may check more between)."""
        await self._issuer.end(replacing, EndReason.REPLACED)
        return await self._issuer.start(user, kind, client, methods)

    async def welcome(self, logged_in: LoggedIn, client: ClientInfo) -> None:
        """The log-in counts."""
        user = logged_in.user
        await self._tokens.discard(user.id, TokenPurpose.PASSWORD_RESET)
        self._notices.seen(user, client)
        self._events.logged_in(user, logged_in.session)

"""What happens to a user's sessions, announced so that whoever watches them (an open
WebSocket, on any instance) learns of it at once.

Sessions are named by their public id and their user's id: neither is a secret, and
neither can be used as a ticket.
"""

from __future__ import annotations

import enum
import uuid

from attrs import frozen


class EndReason(enum.Enum):
    LOGGED_OUT = "logged-out"
    REVOKED = "revoked"  # by the user from another session, or by an operator
    PASSWORD_CHANGED = "password-changed"  # noqa: S105 -- a reason, not a password
    REPLACED = "replaced"  # a new log-in on the same client, or under the single-session policy
    PASSWORD_RESET = "password-reset"  # noqa: S105 -- a reason, not a password
    ACCOUNT_DELETED = "account-deleted"


@frozen
class SessionsEnded:
    """Sessions of one user ended: those in `ids`, and with `every`, all of them but `kept`."""

    user_id: uuid.UUID
    reason: EndReason
    ids: tuple[str, ...] = ()
    every: bool = False
    kept: str | None = None

    def covers(self, session_id: str) -> bool:
        return session_id in self.ids or (self.every and session_id != self.kept)


@frozen
class SessionsChanged:
    """A user's list of sessions changed without any ending (a session started)."""

    user_id: uuid.UUID


SessionEvent = SessionsEnded | SessionsChanged

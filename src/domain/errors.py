"""Every error the domain raises derives from CoatcheckError; the HTTP layer maps them once."""

from __future__ import annotations


class CoatcheckError(Exception):
    """Root of all domain errors."""


class InvalidValue(CoatcheckError, ValueError):
    """A value object refused its input; the message says why and never repeats it."""


class InvalidCredentials(CoatcheckError):
    """Unknown email or wrong password: deliberately the same error for both."""

    def __init__(self) -> None:
        super().__init__("invalid email or password")


class NotAuthenticated(CoatcheckError):
    """No ticket, or a ticket that names no live session."""

    def __init__(self) -> None:
        super().__init__("not authenticated")


class EmailTaken(CoatcheckError):
    def __init__(self) -> None:
        super().__init__("a user with this email already exists")


class SessionNotFound(CoatcheckError):
    """No session of the caller has this id (also when it belongs to someone else)."""

    def __init__(self) -> None:
        super().__init__("no such session")


class UserNotFound(CoatcheckError):
    def __init__(self) -> None:
        super().__init__("no such user")


class TooManyAttempts(CoatcheckError):
    def __init__(
        self, retry_after_seconds: int, what: str = "too many failed log-in attempts"
    ) -> None:
        super().__init__(f"{what}, try again later")
        self.retry_after_seconds = retry_after_seconds


class StoreUnavailable(CoatcheckError):
    """A store could not be reached; the message names the store, never its address."""


class Overloaded(CoatcheckError):
    """No capacity within the request's deadline (a store connection, a hashing thread): a
    burst, not an outage."""

    def __init__(self, resource: str) -> None:
        super().__init__("the service is busy, try again shortly")
        self.resource = resource


class WrongPassword(CoatcheckError):
    """The current password a logged-in caller gave (to change it, the email, or delete the
    account) is wrong: wrong credentials, told apart from a log-in's by its own type."""

    def __init__(self) -> None:
        super().__init__("the current password is wrong")


class InvalidToken(CoatcheckError):
    """A one-time link's token that is unknown, used, expired or no longer fits its account:
    deliberately one error for all of them."""

    def __init__(self) -> None:
        super().__init__("the link is invalid or has expired; ask for a new one")


class EmailNotVerified(CoatcheckError):
    """The password is right, but the address must be verified before a log-in succeeds."""

    def __init__(self) -> None:
        super().__init__("verify your email address first: follow the link sent to it")


class EmailUnavailable(CoatcheckError):
    """No email backend is configured, so what must send a message cannot be done."""

    def __init__(self) -> None:
        super().__init__("email not configured")


class TooManyEmails(CoatcheckError):
    """Messages to one address, or asked for from one client, are throttled."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many messages asked for, try again later")
        self.retry_after_seconds = retry_after_seconds


class SecondFactorRequired(CoatcheckError):
    """The password is right, but the account has a second factor, and none was given."""

    def __init__(self, methods: list[str]) -> None:
        super().__init__("a second factor is required: " + ", ".join(methods))
        self.methods = methods


class InvalidCode(CoatcheckError):
    """A wrong, used or expired code (or recovery code, or passkey assertion): one error."""

    def __init__(self, detail: str = "the code is wrong or was used already") -> None:
        super().__init__(detail)


class PendingLogInMissing(CoatcheckError):
    """No pending log-in (or passkey challenge) is held, or it expired: start again."""

    def __init__(self) -> None:
        super().__init__("no log-in is waiting for a second factor; log in again")


class ReauthenticationRequired(CoatcheckError):
    """What was asked needs an authentication more recent than the session's last one."""

    def __init__(self) -> None:
        super().__init__("authenticate again to do this")


class FactorConflict(CoatcheckError):
    """A factor change that does not fit the account's factors as they are."""


class FactorNotFound(CoatcheckError):
    def __init__(self, what: str = "no such factor") -> None:
        super().__init__(what)


class FactorKeysMissing(CoatcheckError):
    """The authenticator app needs FACTOR_KEYS, which this server was not given."""

    def __init__(self) -> None:
        super().__init__("the authenticator app is not configured on this server")


class SecondFactorFailed(InvalidCode):
    """A log-in's second factor that is wrong, used or expired: a log-in that failed (401)."""


class PasskeyRefused(CoatcheckError):
    """A passkey registration that does not verify, or whose challenge is gone (400)."""


class PasskeyFailed(CoatcheckError):
    """A passkey assertion that does not log in: unknown, another user's, altered, without
    user verification, replayed or behind its counter; or its challenge is gone (401)."""

    def __init__(self, detail: str = "the passkey was not accepted") -> None:
        super().__init__(detail)

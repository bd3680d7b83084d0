"""The composition root: every resource, adapter and use-case, built from Settings.

`build_container` is the one way in, for the app, the CLI and the tests: it resolves what
the service needs (opening only the resources that the chosen stores use) and closes them
on the way out. Tests override providers with in-memory adapters and a fake clock.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from attrs import frozen
from dependency_injector import containers, providers
from dependency_injector.providers import Provider, Selector

from coatcheck.adapters.clock import SystemClock
from coatcheck.adapters.email import Outbox as LetterOutbox
from coatcheck.adapters.postgres.account_tokens import PostgresAccountTokens, PostgresKnownDevices
from coatcheck.adapters.postgres.factors import PostgresFactors
from coatcheck.adapters.postgres.outbox import PostgresOutboxStore
from coatcheck.adapters.postgres.users import PostgresUsers
from coatcheck.adapters.redis.cluster_health import ClusterHealth
from coatcheck.adapters.redis.login_attempts import RedisLoginAttempts
from coatcheck.adapters.redis.milestones import RedisMilestones
from coatcheck.adapters.redis.pending_steps import RedisPendingSteps
from coatcheck.adapters.redis.session_events import RedisSessionEvents
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.adapters.store_watch import StoreWatch
from coatcheck.adapters.totp import PyotpPasswords
from coatcheck.adapters.webauthn_ceremonies import WebAuthnCeremonies
from coatcheck.domain.keyed_attempts import KeyedAttempts
from coatcheck.domain.mail_orders import ResolveOrder
from coatcheck.domain.mail_throttle import MailThrottlePolicy
from coatcheck.domain.model import EmailPolicy
from coatcheck.domain.ports import (
    AccountTokens,
    Clock,
    Events,
    Factors,
    HealthCheck,
    KnownDevices,
    LoginAttempts,
    Milestones,
    OneTimePasswords,
    OutboxStore,
    PasskeyCeremonies,
    PasswordHasher,
    PendingSteps,
    Sealer,
    SessionEventFeed,
    Sessions,
    Users,
)
from coatcheck.domain.sessions import SessionPolicy
from coatcheck.domain.throttle import ThrottlePolicy
from coatcheck.domain.tickets import TicketKey
from coatcheck.domain.token_issuer import TokenIssuer, TokenLifetimes
from coatcheck.domain.use_cases import (
    Authenticate,
    ChangeEmail,
    ChangePassword,
    CheckSession,
    CurrentUser,
    DeleteAccount,
    DeleteUser,
    ListSessions,
    LogIn,
    LogOut,
    RegisterUser,
    RequestEmailChange,
    RequestPasswordReset,
    ResendVerification,
    ResetPassword,
    RevokeOtherSessions,
    RevokeSession,
    RevokeUserSessions,
    UserSessions,
    VerifyEmail,
)
from coatcheck.domain.use_cases.factors import (
    CompleteLogIn,
    ConfirmTotp,
    Reauthenticate,
    RecentAuthentication,
    RegenerateRecoveryCodes,
    RemoveTotp,
    ResetFactors,
    SetUpTotp,
)
from coatcheck.domain.use_cases.passkeys import (
    PasskeyChallenge,
    PasskeyLogIn,
    PasskeyReauthentication,
    RegisterPasskey,
    RemovePasskey,
    RenamePasskey,
    StartPasskeyRegistration,
)
from coatcheck.entrypoints import resources
from coatcheck.entrypoints.audit_log import LoggedEvents
from coatcheck.entrypoints.metrics import Metrics
from coatcheck.entrypoints.settings import Settings
from coatcheck.entrypoints.wiring import Wiring, is_protocol

T = TypeVar("T")


@frozen
class Services:
    """What a running coatcheck uses, resolved once: handlers read attributes, no lookups.

    The one list of the composition root. A field named like a provider of Container is
    that provider (an adapter, a policy, a setting); every other field is a use-case, built
    from its constructor's annotations (entrypoints/wiring.py). A new use-case is one field here.
    """

    clock: Clock
    users: Users
    sessions: Sessions
    login_attempts: LoginAttempts
    milestones: Milestones
    throttle_counts: KeyedAttempts
    token_issuer: TokenIssuer
    account_tokens: AccountTokens
    known_devices: KnownDevices
    outbox: LetterOutbox
    outbox_store: OutboxStore
    session_events: SessionEventFeed
    hasher: PasswordHasher
    ticket_key: TicketKey
    session_policy: SessionPolicy
    throttle_policy: ThrottlePolicy
    mail_throttle_policy: MailThrottlePolicy
    email_policy: EmailPolicy
    token_lifetimes: TokenLifetimes
    require_verified_email: bool
    stores: Mapping[str, HealthCheck]  # what readiness asks, by name
    watches: Mapping[str, StoreWatch]  # each store's health as seen, by the same name
    metrics: Metrics
    events: Events

    register_user: RegisterUser
    log_in: LogIn
    authenticate: Authenticate
    check_session: CheckSession
    current_user: CurrentUser
    log_out: LogOut
    list_sessions: ListSessions
    revoke_session: RevokeSession
    revoke_other_sessions: RevokeOtherSessions
    change_password: ChangePassword
    user_sessions: UserSessions
    revoke_user_sessions: RevokeUserSessions
    request_password_reset: RequestPasswordReset
    reset_password: ResetPassword
    resend_verification: ResendVerification
    verify_email: VerifyEmail
    request_email_change: RequestEmailChange
    change_email: ChangeEmail
    delete_account: DeleteAccount
    delete_user: DeleteUser
    # Second factors (issue 21).
    factors: Factors
    pending_steps: PendingSteps
    factor_sealer: Sealer
    one_time_passwords: OneTimePasswords
    passkey_ceremonies: PasskeyCeremonies
    recent_authentication: RecentAuthentication
    complete_log_in: CompleteLogIn
    reauthenticate: Reauthenticate
    set_up_totp: SetUpTotp
    confirm_totp: ConfirmTotp
    remove_totp: RemoveTotp
    regenerate_recovery_codes: RegenerateRecoveryCodes
    reset_factors: ResetFactors
    start_passkey_registration: StartPasskeyRegistration
    register_passkey: RegisterPasskey
    rename_passkey: RenamePasskey
    remove_passkey: RemovePasskey
    passkey_challenge: PasskeyChallenge
    passkey_log_in: PasskeyLogIn
    passkey_reauthentication: PasskeyReauthentication


@frozen
class _StoreChoice:
    """A store that a setting chooses ("postgres" or "sqlite" for the users' ports, "redis" or
    "sqlite" for the sessions'): a port's adapter of the server (`server`) built on its
    `connection` (and `more`), or its part of the SQLite store.

    Called with a Selector's annotation, mypy checks that the server's adapter is the port."""

    setting: Provider[Any]
    server: str
    connection: Mapping[str, Provider[Any]]

    def __call__(
        self, adapter: Callable[..., T], on_sqlite: Provider[Any], **more: Provider[Any]
    ) -> Selector[T]:
        built = providers.Singleton(adapter, **{**self.connection, **more})
        return providers.Selector(self.setting, **{self.server: built}, sqlite=on_sqlite)


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    metrics = providers.Singleton(Metrics)
    events = providers.Singleton(LoggedEvents, metrics=metrics)
    users_watch = providers.Singleton(resources.store_watch, "users", settings, metrics)
    sessions_watch = providers.Singleton(resources.store_watch, "sessions", settings, metrics)
    store_timeouts = providers.Singleton(settings.provided.store_timeouts.call())

    # Resources: opened on first use, closed by shutdown_resources().
    session_secret = providers.Resource(resources.session_secret, settings)
    postgres = providers.Resource(resources.postgres_pool, settings)
    redis = providers.Resource(resources.redis_client, settings, sessions_watch)
    sqlite = providers.Resource(resources.sqlite_store, settings)
    hasher = providers.Resource(resources.bcrypt_hasher, settings)
    email_sender = providers.Singleton(resources.email_sender, settings)

    clock = providers.Singleton(SystemClock)
    ticket_key = providers.Singleton(TicketKey, secret=session_secret)
    session_policy = providers.Singleton(settings.provided.session_policy.call())
    throttle_policy = providers.Singleton(settings.provided.throttle_policy.call())
    mail_throttle_policy = providers.Singleton(settings.provided.mail_throttle_policy.call())
    email_policy = providers.Singleton(settings.provided.email_policy.call())
    token_lifetimes = providers.Singleton(settings.provided.token_lifetimes.call())
    require_verified_email = settings.provided.require_verified_email

    # Each port lives in the store its setting names, where every adapter is built alike.
    in_users_store = _StoreChoice(
        settings.provided.users_store,
        "postgres",
        {"pool": postgres, "timeouts": store_timeouts, "watch": users_watch},
    )
    in_sessions_store = _StoreChoice(
        settings.provided.sessions_store,
        "redis",
        {"client": redis, "prefix": settings.provided.redis_prefix, "watch": sessions_watch},
    )

    users: Selector[Users] = in_users_store(PostgresUsers, sqlite.provided.users)
    sessions: Selector[Sessions] = in_sessions_store(
        RedisSessions, sqlite.provided.sessions, encoding=settings.provided.session_encoding
    )
    sessions_readiness = providers.Selector(
        settings.provided.sessions_readiness,
        cluster=providers.Singleton(
            ClusterHealth,
            client=redis,
            prefix=settings.provided.redis_prefix,
            watch=sessions_watch,
            every_primary=settings.provided.ready_every_primary,
        ),
        store=sessions,
    )
    login_attempts: Selector[LoginAttempts] = in_sessions_store(
        RedisLoginAttempts, sqlite.provided.login_attempts
    )
    milestones: Selector[Milestones] = in_sessions_store(
        RedisMilestones, sqlite.provided.milestones
    )
    # One-time tokens and known devices belong to users: they live in the users' store.
    account_tokens: Selector[AccountTokens] = in_users_store(
        PostgresAccountTokens, sqlite.provided.account_tokens
    )
    known_devices: Selector[KnownDevices] = in_users_store(
        PostgresKnownDevices, sqlite.provided.known_devices
    )
    session_events = providers.Selector(  # the one port of Redis that no watch follows
        settings.provided.sessions_store,
        redis=providers.Singleton(
            RedisSessionEvents, client=redis, prefix=settings.provided.redis_prefix
        ),
        sqlite=sqlite.provided.session_events,
    )

    # Every throttle key reaches the store only as an HMAC under the secret (issue 18).
    throttle_counts = providers.Singleton(KeyedAttempts, attempts=login_attempts, key=ticket_key)
    token_issuer = providers.Singleton(
        TokenIssuer, tokens=account_tokens, key=ticket_key, clock=clock, lifetimes=token_lifetimes
    )
    # The outbox: letters stored in the users' store, sent by one worker per process.
    outbox_watch = providers.Singleton(resources.store_watch, "users", settings, None)
    outbox_store: Selector[OutboxStore] = in_users_store(
        PostgresOutboxStore, sqlite.provided.outbox, watch=outbox_watch
    )
    letter_writer = providers.Singleton(resources.letter_writer, settings)
    resolve_order = providers.Singleton(
        ResolveOrder, users=users, tokens=token_issuer, clock=clock, email_policy=email_policy
    )
    outbox = providers.Resource(
        resources.outbox,
        settings,
        outbox_store,
        resolve_order,
        email_sender,
        letter_writer,
        ticket_key,
        clock,
        metrics.provided.outbox,
    )

    # Second factors (issue 21): their stores and adapters; their use-cases are Services'.
    factor_sealer = providers.Resource(resources.factor_sealer, settings)
    factors: Selector[Factors] = in_users_store(PostgresFactors, sqlite.provided.factors)
    pending_steps: Selector[PendingSteps] = in_sessions_store(
        RedisPendingSteps, sqlite.provided.pending_steps
    )
    one_time_passwords = providers.Singleton(PyotpPasswords)
    recent_authentication = providers.Singleton(
        RecentAuthentication, window=settings.provided.reauth_window_delta, clock=clock
    )
    passkey_ceremonies = providers.Singleton(
        WebAuthnCeremonies,
        rp_id=settings.provided.webauthn_relying_party,
        origin=settings.provided.webauthn_origin,
    )

    stores = providers.Dict(users=users, sessions=sessions_readiness)
    watches = providers.Dict(users=users_watch, sessions=sessions_watch)


async def _resolved(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _services(container: Container) -> Services:
    """Every field of Services: the container's providers resolved, the use-cases built;
    each checked against its field's type, since mypy cannot follow it through the wiring."""
    hints = typing.get_type_hints(Services)
    provided = {
        name: await _resolved(getattr(container, name)())
        for name in hints
        if name in container.providers
    }
    wiring = Wiring(provided, hints)
    fields: dict[str, Any] = {
        name: provided[name] if name in provided else wiring.build(hints[name]) for name in hints
    }
    for name, value in fields.items():
        _check_type(name, value, hints[name])
    return Services(**fields)


def _check_type(name: str, value: object, hint: Any) -> None:
    """An override (or a resolved field) that is not of its Services field's type is an error
    at start-up, before anything is built from it."""
    if isinstance(value, providers.Provider) or not isinstance(hint, type) or is_protocol(hint):
        return
    if not isinstance(value, hint):
        raise TypeError(f"Services.{name} is {type(value).__qualname__}, not {hint}")


@asynccontextmanager
async def build_container(
    settings: Settings, overrides: Mapping[str, object] | None = None
) -> AsyncIterator[Services]:
    """Open what the chosen stores need, build every adapter and use-case, close on exit.

    `overrides` replace providers by name (`users=InMemoryUsers()`, `clock=FakeClock()`);
    a resource whose only users are overridden is never opened.
    """
    container = Container(settings=settings)
    hints = typing.get_type_hints(Services)
    for name, value in (overrides or {}).items():
        _check_type(name, value, hints.get(name))
        provider = getattr(container, name)
        provider.override(
            value if isinstance(value, providers.Provider) else providers.Object(value)
        )
    try:
        yield await _services(container)
    finally:
        # Letters still queued need the stores (their look-ups and writes): sent first.
        await _resolved(container.outbox.shutdown())
        await _resolved(container.shutdown_resources())

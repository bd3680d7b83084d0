"""The composition root: every resource, adapter and use-case, built from Settings.

`build_container` is the one way in, for the app, the CLI and the tests: it resolves what
the service needs (opening only the resources that the chosen stores use) and closes them
on the way out. Tests override providers with in-memory adapters and a fake clock.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from attrs import frozen
from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.postgres_users import PostgresUsers
from adapters.redis_login_attempts import RedisLoginAttempts
from adapters.redis_session_events import RedisSessionEvents
from adapters.redis_sessions import RedisSessions
from adapters.store_watch import StoreWatch
from domain.ports import (
    Clock,
    Events,
    HealthCheck,
    LoginAttempts,
    PasswordHasher,
    SessionEventFeed,
    Sessions,
    Users,
)
from domain.sessions import SessionIssuer, SessionPolicy
from domain.throttle import LoginThrottle, ThrottlePolicy
from domain.tickets import TicketKey
from domain.use_cases import (
    Authenticate,
    ChangePassword,
    CheckSession,
    CurrentUser,
    ListSessions,
    LogIn,
    LogOut,
    RegisterUser,
    RevokeOtherSessions,
    RevokeSession,
    RevokeUserSessions,
    UserSessions,
)
from entrypoints import resources
from entrypoints.events import LoggedEvents
from entrypoints.metrics import Metrics
from entrypoints.settings import Settings


@frozen
class Services:
    """What a running coatcheck uses, resolved once: handlers read attributes, no lookups."""

    clock: Clock
    users: Users
    sessions: Sessions
    login_attempts: LoginAttempts
    session_events: SessionEventFeed
    hasher: PasswordHasher
    ticket_key: TicketKey
    session_policy: SessionPolicy
    throttle_policy: ThrottlePolicy
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

    clock = providers.Singleton(SystemClock)
    ticket_key = providers.Singleton(TicketKey, secret=session_secret)
    session_policy = providers.Singleton(settings.provided.session_policy.call())
    throttle_policy = providers.Singleton(settings.provided.throttle_policy.call())

    users = providers.Selector(
        settings.provided.users_store,
        postgres=providers.Singleton(
            PostgresUsers, pool=postgres, timeouts=store_timeouts, watch=users_watch
        ),
        sqlite=sqlite.provided.users,
    )
    sessions = providers.Selector(
        settings.provided.sessions_store,
        redis=providers.Singleton(
            RedisSessions,
            client=redis,
            prefix=settings.provided.redis_prefix,
            encoding=settings.provided.session_encoding,
            watch=sessions_watch,
        ),
        sqlite=sqlite.provided.sessions,
    )
    login_attempts = providers.Selector(
        settings.provided.sessions_store,
        redis=providers.Singleton(
            RedisLoginAttempts,
            client=redis,
            prefix=settings.provided.redis_prefix,
            watch=sessions_watch,
        ),
        sqlite=sqlite.provided.login_attempts,
    )
    session_events = providers.Selector(
        settings.provided.sessions_store,
        redis=providers.Singleton(
            RedisSessionEvents, client=redis, prefix=settings.provided.redis_prefix
        ),
        sqlite=sqlite.provided.session_events,
    )

    throttle = providers.Singleton(
        LoginThrottle,
        attempts=login_attempts,
        policy=throttle_policy,
        clock=clock,
        key=ticket_key,
        events=events,
    )
    issuer = providers.Singleton(
        SessionIssuer,
        sessions=sessions,
        key=ticket_key,
        clock=clock,
        policy=session_policy,
        session_events=session_events,
    )

    register_user = providers.Singleton(
        RegisterUser,
        users=users,
        hasher=hasher,
        throttle=throttle,
        issuer=issuer,
        clock=clock,
        events=events,
    )
    log_in = providers.Singleton(
        LogIn, users=users, hasher=hasher, throttle=throttle, issuer=issuer, events=events
    )
    authenticate = providers.Singleton(
        Authenticate, sessions=sessions, key=ticket_key, clock=clock, policy=session_policy
    )
    check_session = providers.Singleton(
        CheckSession, sessions=sessions, key=ticket_key, clock=clock
    )
    current_user = providers.Singleton(CurrentUser, users=users)
    log_out = providers.Singleton(LogOut, issuer=issuer, events=events)
    list_sessions = providers.Singleton(ListSessions, sessions=sessions, clock=clock)
    revoke_session = providers.Singleton(
        RevokeSession,
        sessions=sessions,
        clock=clock,
        events=events,
        session_events=session_events,
    )
    revoke_other_sessions = providers.Singleton(
        RevokeOtherSessions, sessions=sessions, events=events, session_events=session_events
    )
    change_password = providers.Singleton(
        ChangePassword,
        users=users,
        hasher=hasher,
        throttle=throttle,
        sessions=sessions,
        issuer=issuer,
        events=events,
        session_events=session_events,
    )
    user_sessions = providers.Singleton(UserSessions, users=users, sessions=sessions, clock=clock)
    revoke_user_sessions = providers.Singleton(
        RevokeUserSessions,
        users=users,
        sessions=sessions,
        clock=clock,
        events=events,
        session_events=session_events,
    )

    services = providers.Singleton(
        Services,
        clock=clock,
        users=users,
        sessions=sessions,
        login_attempts=login_attempts,
        session_events=session_events,
        hasher=hasher,
        ticket_key=ticket_key,
        session_policy=session_policy,
        throttle_policy=throttle_policy,
        stores=providers.Dict(users=users, sessions=sessions),
        watches=providers.Dict(users=users_watch, sessions=sessions_watch),
        metrics=metrics,
        events=events,
        register_user=register_user,
        log_in=log_in,
        authenticate=authenticate,
        check_session=check_session,
        current_user=current_user,
        log_out=log_out,
        list_sessions=list_sessions,
        revoke_session=revoke_session,
        revoke_other_sessions=revoke_other_sessions,
        change_password=change_password,
        user_sessions=user_sessions,
        revoke_user_sessions=revoke_user_sessions,
    )


async def _resolved(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


@asynccontextmanager
async def build_container(
    settings: Settings, overrides: Mapping[str, object] | None = None
) -> AsyncIterator[Services]:
    """Open what the chosen stores need, build every adapter and use-case, close on exit.

    `overrides` replace providers by name (`users=InMemoryUsers()`, `clock=FakeClock()`);
    a resource whose only users are overridden is never opened.
    """
    container = Container(settings=settings)
    for name, value in (overrides or {}).items():
        provider = getattr(container, name)
        provider.override(
            value if isinstance(value, providers.Provider) else providers.Object(value)
        )
    try:
        yield await _resolved(container.services())
    finally:
        await _resolved(container.shutdown_resources())

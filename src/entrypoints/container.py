"""The composition root: adapters and use-cases built from Settings and open Resources."""

from __future__ import annotations

from collections.abc import Iterator

from dependency_injector import containers, providers

from adapters.bcrypt_hasher import BcryptHasher
from adapters.clock import SystemClock
from adapters.postgres_users import PostgresUsers
from adapters.redis_login_attempts import RedisLoginAttempts
from adapters.redis_sessions import RedisSessions
from domain.throttle import LoginThrottle
from domain.tickets import TicketKey
from domain.use_cases import (
    Authenticate,
    ChangePassword,
    CurrentUser,
    ListSessions,
    LogIn,
    LogOut,
    RegisterUser,
    RevokeOtherSessions,
    RevokeSession,
    RevokeUserSessions,
    SessionIssuer,
    UserSessions,
)
from entrypoints.resources import Resources
from entrypoints.settings import Settings


def _bcrypt_hasher(rounds: int, max_threads: int) -> Iterator[BcryptHasher]:
    """A resource: its thread pool closes with the container's shutdown_resources()."""
    hasher = BcryptHasher(rounds, max_threads)
    yield hasher
    hasher.close()


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    resources = providers.Dependency(instance_of=Resources)

    clock = providers.Singleton(SystemClock)
    ticket_key = providers.Singleton(TicketKey, resources.provided.session_secret)
    hasher = providers.Resource(
        _bcrypt_hasher,
        rounds=settings.provided.bcrypt_rounds,
        max_threads=settings.provided.bcrypt_threads,
    )
    session_policy = providers.Singleton(settings.provided.session_policy.call())
    throttle_policy = providers.Singleton(settings.provided.throttle_policy.call())

    users = providers.Selector(
        settings.provided.users_store,
        postgres=providers.Singleton(PostgresUsers, resources.provided.postgres),
        sqlite=resources.provided.sqlite.users,
    )
    sessions = providers.Selector(
        settings.provided.sessions_store,
        redis=providers.Singleton(
            RedisSessions, resources.provided.redis, prefix=settings.provided.redis_prefix
        ),
        sqlite=resources.provided.sqlite.sessions,
    )
    login_attempts = providers.Selector(
        settings.provided.sessions_store,
        redis=providers.Singleton(
            RedisLoginAttempts, resources.provided.redis, prefix=settings.provided.redis_prefix
        ),
        sqlite=resources.provided.sqlite.login_attempts,
    )

    throttle = providers.Singleton(LoginThrottle, login_attempts, throttle_policy, clock)
    issuer = providers.Singleton(SessionIssuer, sessions, ticket_key, clock, session_policy)

    register_user = providers.Singleton(RegisterUser, users, hasher, issuer, clock)
    log_in = providers.Singleton(LogIn, users, hasher, throttle, issuer)
    authenticate = providers.Singleton(Authenticate, sessions, ticket_key, clock, session_policy)
    current_user = providers.Singleton(CurrentUser, users)
    log_out = providers.Singleton(LogOut, issuer)
    list_sessions = providers.Singleton(ListSessions, sessions, clock)
    revoke_session = providers.Singleton(RevokeSession, sessions, clock)
    revoke_other_sessions = providers.Singleton(RevokeOtherSessions, sessions)
    change_password = providers.Singleton(ChangePassword, users, hasher, throttle, sessions, issuer)
    user_sessions = providers.Singleton(UserSessions, users, sessions, clock)
    revoke_user_sessions = providers.Singleton(RevokeUserSessions, users, sessions, clock)

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

from coatcheck.adapters.clock import SystemClock
from coatcheck.adapters.postgres.account_tokens import PostgresAccountTokens, PostgresKnownDevices
from coatcheck.adapters.postgres.factors import PostgresFactors
from coatcheck.adapters.postgres.users import PostgresUsers
from coatcheck.adapters.redis.login_attempts import RedisLoginAttempts
from coatcheck.adapters.redis.pending_steps import RedisPendingSteps
from coatcheck.adapters.redis.session_events import RedisSessionEvents
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.adapters.store_watch import StoreWatch
from coatcheck.adapters.totp import PyotpPasswords
from coatcheck.adapters.webauthn_ceremonies import WebAuthnCeremonies
from coatcheck.domain.mail_throttle import MailThrottle
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import (
    AccountTokens,
    Clock,
    Events,
    Factors,
    HealthCheck,
    KnownDevices,
    LoginAttempts,
    Outbox,
    PasswordHasher,
    SessionEventFeed,
    Sessions,
    Users,
)
from coatcheck.domain.second_step import FactorCheck, FactorThrottle, SecondStep
from coatcheck.domain.sessions import SessionIssuer, SessionPolicy
from coatcheck.domain.throttle import LoginThrottle, ThrottlePolicy
from coatcheck.domain.tickets import TicketKey
from coatcheck.domain.token_issuer import TokenIssuer
from coatcheck.domain.use_cases import (
    Authenticate,
    ChangeEmail,
    ChangePassword,
    CheckSession,
    CurrentPasswordCheck,
    CurrentUser,
    DeleteAccount,
    DeleteUser,
    EraseUser,
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
    SendVerification,
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
    Challenges,
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


@frozen
class Services:
    """What a running coatcheck uses, resolved once: handlers read attributes, no lookups."""

    clock: Clock
    users: Users
    sessions: Sessions
    login_attempts: LoginAttempts
    account_tokens: AccountTokens
    known_devices: KnownDevices
    outbox: Outbox
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
    outbox = providers.Resource(resources.outbox, settings, email_sender)

    clock = providers.Singleton(SystemClock)
    ticket_key = providers.Singleton(TicketKey, secret=session_secret)
    session_policy = providers.Singleton(settings.provided.session_policy.call())
    throttle_policy = providers.Singleton(settings.provided.throttle_policy.call())
    mail_throttle_policy = providers.Singleton(settings.provided.mail_throttle_policy.call())
    token_lifetimes = providers.Singleton(settings.provided.token_lifetimes.call())
    require_verified_email = settings.provided.require_verified_email

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
    # One-time tokens and known devices belong to users: they live in the users' store.
    account_tokens = providers.Selector(
        settings.provided.users_store,
        postgres=providers.Singleton(
            PostgresAccountTokens, pool=postgres, timeouts=store_timeouts, watch=users_watch
        ),
        sqlite=sqlite.provided.account_tokens,
    )
    known_devices = providers.Selector(
        settings.provided.users_store,
        postgres=providers.Singleton(
            PostgresKnownDevices, pool=postgres, timeouts=store_timeouts, watch=users_watch
        ),
        sqlite=sqlite.provided.known_devices,
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
    mail_throttle = providers.Singleton(
        MailThrottle, attempts=login_attempts, policy=mail_throttle_policy, clock=clock
    )
    issuer = providers.Singleton(
        SessionIssuer,
        sessions=sessions,
        key=ticket_key,
        clock=clock,
        policy=session_policy,
        session_events=session_events,
    )
    token_issuer = providers.Singleton(
        TokenIssuer, tokens=account_tokens, key=ticket_key, clock=clock, lifetimes=token_lifetimes
    )
    notices = providers.Singleton(
        Notices, outbox=outbox, devices=known_devices, key=ticket_key, clock=clock
    )
    send_verification = providers.Singleton(SendVerification, tokens=token_issuer, outbox=outbox)
    password_check = providers.Singleton(
        CurrentPasswordCheck, users=users, hasher=hasher, throttle=throttle
    )
    erase_user = providers.Singleton(
        EraseUser,
        users=users,
        sessions=sessions,
        login_throttle=throttle,
        mail_throttle=mail_throttle,
        events=events,
        session_events=session_events,
    )

    # Second factors (issue 21): their stores, checks and use-cases, in one block.
    factor_sealer = providers.Resource(resources.factor_sealer, settings)
    factors = providers.Selector(
        settings.provided.users_store,
        postgres=providers.Singleton(
            PostgresFactors, pool=postgres, timeouts=store_timeouts, watch=users_watch
        ),
        sqlite=sqlite.provided.factors,
    )
    pending_steps = providers.Selector(
        settings.provided.sessions_store,
        redis=providers.Singleton(
            RedisPendingSteps,
            client=redis,
            prefix=settings.provided.redis_prefix,
            watch=sessions_watch,
        ),
        sqlite=sqlite.provided.pending_steps,
    )
    one_time_passwords = providers.Singleton(PyotpPasswords)
    recent_authentication = providers.Singleton(
        RecentAuthentication, window=settings.provided.reauth_window_delta, clock=clock
    )
    factor_throttle = providers.Singleton(
        FactorThrottle,
        attempts=login_attempts,
        policy=throttle_policy,
        clock=clock,
        events=events,
    )
    factor_check = providers.Singleton(
        FactorCheck,
        factors=factors,
        sealer=factor_sealer,
        passwords=one_time_passwords,
        throttle=factor_throttle,
        notices=notices,
        clock=clock,
    )
    second_step = providers.Singleton(
        SecondStep, factors=factors, steps=pending_steps, key=ticket_key, clock=clock
    )
    complete_log_in = providers.Singleton(
        CompleteLogIn,
        users=users,
        second_step=second_step,
        factor_check=factor_check,
        issuer=issuer,
        tokens=token_issuer,
        notices=notices,
        events=events,
    )
    reauthenticate = providers.Singleton(
        Reauthenticate,
        users=users,
        factors=factors,
        password_check=password_check,
        factor_check=factor_check,
        sessions=sessions,
        clock=clock,
    )
    set_up_totp = providers.Singleton(
        SetUpTotp,
        users=users,
        factors=factors,
        sealer=factor_sealer,
        passwords=one_time_passwords,
        recent=recent_authentication,
    )
    confirm_totp = providers.Singleton(
        ConfirmTotp,
        users=users,
        factors=factors,
        factor_check=factor_check,
        recent=recent_authentication,
        notices=notices,
    )
    remove_totp = providers.Singleton(
        RemoveTotp,
        factors=factors,
        password_check=password_check,
        factor_check=factor_check,
        recent=recent_authentication,
        notices=notices,
    )
    regenerate_recovery_codes = providers.Singleton(
        RegenerateRecoveryCodes,
        factors=factors,
        password_check=password_check,
        recent=recent_authentication,
    )
    reset_factors = providers.Singleton(
        ResetFactors, users=users, factors=factors, notices=notices, events=events
    )
    passkey_ceremonies = providers.Singleton(
        WebAuthnCeremonies,
        rp_id=settings.provided.webauthn_relying_party,
        origin=settings.provided.webauthn_origin,
    )
    challenges = providers.Singleton(Challenges, steps=pending_steps, clock=clock)
    start_passkey_registration = providers.Singleton(
        StartPasskeyRegistration,
        users=users,
        factors=factors,
        challenges=challenges,
        ceremonies=passkey_ceremonies,
        recent=recent_authentication,
    )
    register_passkey = providers.Singleton(
        RegisterPasskey,
        users=users,
        factors=factors,
        challenges=challenges,
        ceremonies=passkey_ceremonies,
        recent=recent_authentication,
        notices=notices,
        clock=clock,
    )
    rename_passkey = providers.Singleton(RenamePasskey, factors=factors)
    remove_passkey = providers.Singleton(
        RemovePasskey, users=users, factors=factors, recent=recent_authentication, notices=notices
    )
    passkey_challenge = providers.Singleton(
        PasskeyChallenge,
        factors=factors,
        challenges=challenges,
        ceremonies=passkey_ceremonies,
        second_step=second_step,
        key=ticket_key,
    )
    passkey_log_in = providers.Singleton(
        PasskeyLogIn,
        users=users,
        factors=factors,
        challenges=challenges,
        ceremonies=passkey_ceremonies,
        issuer=issuer,
        tokens=token_issuer,
        notices=notices,
        events=events,
        key=ticket_key,
        clock=clock,
    )
    passkey_reauthentication = providers.Singleton(
        PasskeyReauthentication,
        factors=factors,
        challenges=challenges,
        ceremonies=passkey_ceremonies,
        sessions=sessions,
        clock=clock,
    )

    register_user = providers.Singleton(
        RegisterUser,
        users=users,
        hasher=hasher,
        throttle=throttle,
        issuer=issuer,
        clock=clock,
        events=events,
        send_verification=send_verification,
        notices=notices,
        require_verified_email=require_verified_email,
    )
    log_in = providers.Singleton(
        LogIn,
        users=users,
        hasher=hasher,
        throttle=throttle,
        issuer=issuer,
        sessions=sessions,
        tokens=token_issuer,
        notices=notices,
        events=events,
        second_step=second_step,
        factor_check=factor_check,
        require_verified_email=require_verified_email,
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
        check=password_check,
        sessions=sessions,
        issuer=issuer,
        tokens=token_issuer,
        notices=notices,
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
    request_password_reset = providers.Singleton(
        RequestPasswordReset,
        users=users,
        tokens=token_issuer,
        throttle=mail_throttle,
        outbox=outbox,
    )
    reset_password = providers.Singleton(
        ResetPassword,
        users=users,
        hasher=hasher,
        tokens=token_issuer,
        sessions=sessions,
        issuer=issuer,
        throttle=throttle,
        notices=notices,
        events=events,
        session_events=session_events,
        second_step=second_step,
    )
    resend_verification = providers.Singleton(
        ResendVerification,
        users=users,
        send=send_verification,
        throttle=mail_throttle,
        outbox=outbox,
    )
    verify_email = providers.Singleton(
        VerifyEmail, users=users, tokens=token_issuer, sessions=sessions
    )
    request_email_change = providers.Singleton(
        RequestEmailChange,
        users=users,
        check=password_check,
        tokens=token_issuer,
        throttle=mail_throttle,
        outbox=outbox,
    )
    change_email = providers.Singleton(
        ChangeEmail, users=users, tokens=token_issuer, sessions=sessions, notices=notices
    )
    delete_account = providers.Singleton(DeleteAccount, check=password_check, erase=erase_user)
    delete_user = providers.Singleton(DeleteUser, users=users, erase=erase_user)

    services = providers.Singleton(
        Services,
        clock=clock,
        users=users,
        sessions=sessions,
        login_attempts=login_attempts,
        account_tokens=account_tokens,
        known_devices=known_devices,
        outbox=outbox,
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
        request_password_reset=request_password_reset,
        reset_password=reset_password,
        resend_verification=resend_verification,
        verify_email=verify_email,
        request_email_change=request_email_change,
        change_email=change_email,
        delete_account=delete_account,
        delete_user=delete_user,
        factors=factors,
        recent_authentication=recent_authentication,
        complete_log_in=complete_log_in,
        reauthenticate=reauthenticate,
        set_up_totp=set_up_totp,
        confirm_totp=confirm_totp,
        remove_totp=remove_totp,
        regenerate_recovery_codes=regenerate_recovery_codes,
        reset_factors=reset_factors,
        start_passkey_registration=start_passkey_registration,
        register_passkey=register_passkey,
        rename_passkey=rename_passkey,
        remove_passkey=remove_passkey,
        passkey_challenge=passkey_challenge,
        passkey_log_in=passkey_log_in,
        passkey_reauthentication=passkey_reauthentication,
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
        # Letters still queued need the stores (their look-ups and writes): sent first.
        await _resolved(container.outbox.shutdown())
        await _resolved(container.shutdown_resources())

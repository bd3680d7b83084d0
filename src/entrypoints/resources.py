"""The connections a running coatcheck holds: each opened when first needed and closed at
shutdown by the container (dependency-injector Resource providers)."""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from coatcheck.adapters.aead import AeadSealer, NoSealer
from coatcheck.adapters.bcrypt_hasher import BcryptHasher
from coatcheck.adapters.email import ConsoleSender, LetterWriter, Outbox, SmtpSender
from coatcheck.adapters.email.letters import load_templates
from coatcheck.adapters.email.outbox_metrics import OutboxMetrics
from coatcheck.adapters.email.sealed import Sealer, outbox_key
from coatcheck.adapters.postgres.users import create_pool
from coatcheck.adapters.private_files import private_folder, publish_once
from coatcheck.adapters.redis.client import Client as RedisClient
from coatcheck.adapters.redis.client import open_redis
from coatcheck.adapters.sqlite import SqliteStore
from coatcheck.adapters.store_watch import StoreWatch, address_of
from coatcheck.domain.mail_orders import ResolveOrder
from coatcheck.domain.ports import Clock, EmailSender, OutboxStore
from coatcheck.domain.ports import Sealer as FactorSealer
from coatcheck.domain.tickets import TicketKey
from coatcheck.entrypoints import user_agents
from coatcheck.entrypoints.logs import REQUEST_ID
from coatcheck.entrypoints.metrics import Metrics
from coatcheck.entrypoints.settings import Settings, decode_factor_keys

log = logging.getLogger("coatcheck")


def embedded_session_secret(data_dir: Path) -> bytes:
    """The embedded default's secret: made once, kept (mode 0600) beside its database."""
    path = data_dir / "session_secret"
    private_folder(data_dir)
    if not path.exists():
        publish_once(path, secrets.token_urlsafe(48).encode())
    return path.read_bytes().strip()


async def session_secret(settings: Settings) -> AsyncIterator[bytes]:
    if settings.session_secret is not None:
        yield settings.session_secret.get_secret_value().encode()
    else:
        yield await asyncio.to_thread(embedded_session_secret, settings.data_dir)


def embedded_factor_key(data_dir: Path) -> bytes:
    """The embedded default's factor key: made once, kept (mode 0600) beside its database.
    Not the session secret: changing that must not lock out every authenticator app."""
    path = data_dir / "factor_key"
    private_folder(data_dir)
    if not path.exists():
        publish_once(path, base64.b64encode(secrets.token_bytes(32)))
    return base64.b64decode(path.read_bytes().strip())


async def factor_sealer(settings: Settings) -> AsyncIterator[FactorSealer]:
    """FACTOR_KEYS; else, for the embedded default, a key of its own in its data folder; with
    shared stores and no FACTOR_KEYS, none (the authenticator app says it is unavailable)."""
    if settings.factor_keys is not None:
        yield AeadSealer(decode_factor_keys(settings.factor_keys.get_secret_value()))
    elif settings.users_store == "sqlite":
        yield AeadSealer([await asyncio.to_thread(embedded_factor_key, settings.data_dir)])
    else:
        yield NoSealer()


def store_watch(store: str, settings: Settings, metrics: Metrics | None) -> StoreWatch:
    """The watch of the store readiness calls `store` ("users" or "sessions"); without
    `metrics`, one that only logs (the outbox's: its polls would make the store's metrics
    rise with time, and it has metrics of its own)."""
    url = settings.database_url if store == "users" else settings.redis_url
    address = address_of(url.get_secret_value()) if url else str(settings.sqlite_path)
    return StoreWatch(store, address, None if metrics is None else metrics.store)


async def postgres_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """Opened whether or not PostgreSQL answers now: its connections open as needed."""
    assert settings.database_url is not None
    pool = await create_pool(
        settings.database_url.get_secret_value(), timeouts=settings.store_timeouts()
    )
    try:
        yield pool
    finally:
        await pool.close()


async def redis_client(settings: Settings, watch: StoreWatch) -> AsyncIterator[RedisClient]:
    """Opened whether or not Redis answers now: it connects as needed."""
    assert settings.redis_url is not None
    client = await open_redis(
        settings.redis_url.get_secret_value(),
        cluster=settings.redis_cluster,
        timeouts=settings.store_timeouts(),
        watch=watch,
    )
    try:
        yield client
    finally:
        await client.aclose()


async def sqlite_store(settings: Settings) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(settings.sqlite_path)
    try:
        yield store
    finally:
        await store.close()


async def bcrypt_hasher(settings: Settings) -> AsyncIterator[BcryptHasher]:
    hasher = BcryptHasher(rounds=settings.bcrypt_rounds, max_threads=settings.bcrypt_threads)
    try:
        yield hasher
    finally:
        hasher.close()


def email_sender(settings: Settings) -> EmailSender | None:
    """The sender EMAIL_BACKEND chooses (see Settings.email_delivery); None: no email."""
    delivery = settings.email_delivery
    if delivery == "smtp":
        assert settings.smtp_host is not None
        password = settings.smtp_password
        return SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_tls,
            settings.smtp_username,
            None if password is None else password.get_secret_value(),
            settings.smtp_timeout,
        )
    if delivery == "console":
        if settings.shared_stores:
            log.warning(
                "EMAIL_BACKEND=console: account links (password reset, email verification)"
                " are printed to standard error, not sent"
            )
        return ConsoleSender()
    return None  # the routes that must send answer 503 "email not configured"


def letter_writer(settings: Settings) -> LetterWriter:
    """Letters in the operator's words (EMAIL_TEMPLATES, PRODUCT_NAME, SUPPORT_CONTACT)."""
    return LetterWriter(
        settings.sender_address,
        settings.base_url,
        templates=load_templates(settings.email_templates),
        product=settings.product_name,
        support=settings.support_contact,
        describe_device=user_agents.describe,
    )


async def outbox(
    settings: Settings,
    store: OutboxStore,
    resolve: ResolveOrder,
    sender: EmailSender | None,
    writer: LetterWriter,
    ticket_key: TicketKey,
    clock: Clock,
    metrics: OutboxMetrics,
) -> AsyncIterator[Outbox]:
    """Letters are sealed under OUTBOX_KEY, else under a key drawn from the session secret
    (both kept outside the database)."""
    secret = settings.outbox_key
    key = outbox_key(ticket_key.secret if secret is None else secret.get_secret_value().encode())
    box = Outbox(
        store,
        resolve,
        sender,
        writer,
        Sealer(key),
        clock,
        metrics,
        settings.outbox_policy(),
        request_id=REQUEST_ID.get,
    )
    try:
        yield box
    finally:
        await box.close()

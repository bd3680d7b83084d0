"""The coatcheck command: serve, migrate, and an operator's view of sessions."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiohttp import web

from adapters.postgres_migrations import migrate
from domain.errors import CoatcheckError, InvalidValue, UserNotFound
from domain.model import Email
from entrypoints.container import Container
from entrypoints.http.app import create_app
from entrypoints.presentation import timestamp
from entrypoints.resources import open_resources
from entrypoints.settings import ConfigError, Settings, load_settings
from entrypoints.workers import serve_workers

_T = TypeVar("_T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coatcheck", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port (default 1)"
    )
    commands.add_parser("migrate", help="apply pending PostgreSQL migrations (DATABASE_URL)")
    sessions = commands.add_parser("sessions", help="see or end a user's sessions")
    actions = sessions.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="a user's live sessions").add_argument("email")
    revoke = actions.add_parser("revoke", help="end one or all of a user's sessions")
    revoke.add_argument("email")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--session", metavar="ID", help="the public id shown by `list`")
    which.add_argument("--all", action="store_true", help="every session of the user")
    return parser


async def _with_container(settings: Settings, work: Callable[[Container], Awaitable[_T]]) -> _T:
    async with open_resources(settings) as resources:
        container = Container(settings=settings, resources=resources)
        try:
            return await work(container)
        finally:
            container.shutdown_resources()


async def _list_sessions(container: Container, email: Email) -> str:
    sessions = await container.user_sessions()(email)
    lines = [f"{len(sessions)} live session(s) of {email}"]
    for session in sessions:
        lines.append(
            f"{session.id}  {session.kind.value:<10}  created {timestamp(session.created_at)}"
            f"  last seen {timestamp(session.last_seen_at)}  from {session.client.address or '-'}"
            f"  {session.client.user_agent or '-'}"
        )
    return "\n".join(lines)


async def _revoke_sessions(container: Container, email: Email, session_id: str | None) -> str:
    ended = await container.revoke_user_sessions()(email, session_id)
    return f"ended {ended} session(s) of {email}"


async def _migrate(settings: Settings) -> str:
    if settings.database_url is None:
        return "DATABASE_URL is not set: the embedded store needs no migration"
    applied = await migrate(settings.database_url.get_secret_value())
    return f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}"


def _run(arguments: argparse.Namespace, settings: Settings) -> str | None:
    if arguments.command == "serve":
        if arguments.workers > 1:
            serve_workers(settings, arguments.host, arguments.port, arguments.workers)
        else:
            web.run_app(create_app(settings), host=arguments.host, port=arguments.port)
        return None
    if arguments.command == "migrate":
        return asyncio.run(_migrate(settings))
    email = Email(arguments.email)
    if arguments.action == "list":
        return asyncio.run(_with_container(settings, lambda c: _list_sessions(c, email)))
    session_id = None if arguments.all else arguments.session
    return asyncio.run(_with_container(settings, lambda c: _revoke_sessions(c, email, session_id)))


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        output = _run(arguments, load_settings())
    except ConfigError as error:
        return _fail(str(error), 2)
    except InvalidValue as error:
        return _fail(f"email {error}", 2)
    except UserNotFound:
        return _fail(f"no user has the email {arguments.email}", 1)
    except CoatcheckError as error:
        return _fail(str(error), 1)
    if output:
        print(output)
    return 0


def _fail(message: str, code: int) -> int:
    print(f"coatcheck: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""The coatcheck command: serve, migrate, and an operator's view of sessions and users."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib.metadata import version
from typing import TypeVar

from coatcheck.adapters.email_forms import describe, survey
from coatcheck.adapters.store_watch import cause_of, chain
from coatcheck.domain.errors import CoatcheckError, InvalidValue, UserNotFound
from coatcheck.domain.model import Email
from coatcheck.entrypoints import outbox_command
from coatcheck.entrypoints.container import Services, build_container
from coatcheck.entrypoints.http.app import CannotListen
from coatcheck.entrypoints.logs import configure_logging
from coatcheck.entrypoints.migrations import apply_migrations
from coatcheck.entrypoints.presentation import timestamp
from coatcheck.entrypoints.serving import serve
from coatcheck.entrypoints.settings import ConfigError, Settings, load_settings

_T = TypeVar("_T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coatcheck", description=__doc__)
    parser.add_argument("--version", action="version", version=f"coatcheck {version('coatcheck')}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the HTTP service",
        description="Run the HTTP service. Everything else is set by environment variables.",
        epilog=_environment(),
        formatter_class=_Help,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    commands.add_parser(
        "migrate", help="apply pending migrations: PostgreSQL (DATABASE_URL), the SQLite file"
    )
    sessions = commands.add_parser("sessions", help="see or end a user's sessions")
    actions = sessions.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="a user's live sessions").add_argument("email")
    revoke = actions.add_parser("revoke", help="end one or all of a user's sessions")
    revoke.add_argument("email")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--session", metavar="ID", help="the public id shown by `list`")
    which.add_argument("--all", action="store_true", help="every session of the user")
    users = commands.add_parser("users", help="operate on a user")
    user_actions = users.add_subparsers(dest="action", required=True)
    delete = user_actions.add_parser(
        "delete", help="delete a user and everything stored about them; their sessions end"
    )
    delete.add_argument("email")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    user_actions.add_parser(
        "problems",
        help="addresses stored before the one normal form: not one mailbox (they log in, and"
        " are never sent a letter), or the same address as another account's",
    )
    outbox_command.add_parser(commands)
    user_actions.add_parser(
        "reset-factors",
        help="remove a user's second factors and recovery codes, after an identity check done"
        " elsewhere (audited in the log; the user is told)",
    ).add_argument("email")
    return parser


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Options with their defaults; the epilog (the environment) as written."""


def _environment() -> str:
    """Every setting's environment variable and its default, as Settings declares them."""
    lines = ["environment variables and their defaults (durations in seconds):"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, bool):
            shown = str(default).lower()
        elif isinstance(default, list):
            shown = ",".join(default) or "none"
        else:
            shown = "unset" if default is None else str(default)
        lines.append(f"  {name.upper():<32} {shown}")
    return "\n".join(lines)


def _confirmed(email: Email) -> bool:
    """Asks on the terminal (or reads a line of standard input): only "yes" or "y" goes on."""
    print(f"Delete {email} and everything stored about them? [y/N] ", end="", file=sys.stderr)
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in {"y", "yes"}


async def _with_services(settings: Settings, work: Callable[[Services], Awaitable[_T]]) -> _T:
    async with build_container(settings) as services:
        return await work(services)


async def _list_sessions(services: Services, email: Email) -> str:
    sessions = await services.user_sessions(email)
    lines = [f"{len(sessions)} live session(s) of {email}"]
    for session in sessions:
        lines.append(
            f"{session.id}  {session.kind.value:<10}  created {timestamp(session.created_at)}"
            f"  last seen {timestamp(session.last_seen_at)}  from {session.client.address or '-'}"
            f"  {session.client.user_agent or '-'}  by {'+'.join(session.methods.names)}"
        )
    return "\n".join(lines)


async def _revoke_sessions(services: Services, email: Email, session_id: str | None) -> str:
    ended = await services.revoke_user_sessions(email, session_id)
    return f"ended {ended} session(s) of {email}"


async def _delete_user(services: Services, email: Email) -> str:
    ended = await services.delete_user(email)
    return f"deleted {email} and everything stored about them; ended {ended} session(s)"


async def _problems(services: Services) -> str:
    rows = await services.users.stored_emails()
    rows_as_text = ((str(user_id), email) for user_id, email in rows)
    _renames, problems = survey(rows_as_text, services.email_policy)
    return describe(problems)


async def _reset_factors(services: Services, email: Email) -> str:
    await services.reset_factors(email)
    return f"removed every second factor and recovery code of {email}"


async def _migrate(settings: Settings) -> str:
    return "\n".join(
        f"{store}: applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}"
        for store, applied in (await apply_migrations(settings)).items()
    )


class NotConfirmed(Exception):
    """The operator did not confirm a deletion."""


def _run(arguments: argparse.Namespace, settings: Settings) -> str | None:
    if arguments.command == "serve":
        serve(settings, arguments.host, arguments.port, arguments.workers)
        return None
    if arguments.command == "migrate":
        return asyncio.run(_migrate(settings))
    if arguments.command == "users" and arguments.action == "problems":
        return asyncio.run(_with_services(settings, _problems))
    if arguments.command == "outbox":
        return asyncio.run(outbox_command.run(arguments, settings))
    email = Email.for_log_in(arguments.email)  # an old row's form finds it too
    if arguments.command == "users" and arguments.action == "reset-factors":
        return asyncio.run(_with_services(settings, lambda c: _reset_factors(c, email)))
    if arguments.command == "users":
        if not (arguments.yes or _confirmed(email)):
            raise NotConfirmed()
        return asyncio.run(_with_services(settings, lambda c: _delete_user(c, email)))
    if arguments.action == "list":
        return asyncio.run(_with_services(settings, lambda c: _list_sessions(c, email)))
    session_id = None if arguments.all else arguments.session
    return asyncio.run(_with_services(settings, lambda c: _revoke_sessions(c, email, session_id)))


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        return _fail(str(error), 2)
    configure_logging(settings.log_format)
    try:
        output = _run(arguments, settings)
    except InvalidValue as error:
        return _fail(f"email {error}", 2)
    except NotConfirmed:
        return _fail("nothing deleted (answer yes, or pass --yes)", 1)
    except UserNotFound:
        return _fail(f"no user has the email {arguments.email}", 1)
    except CoatcheckError as error:
        return _fail(_with_cause(error), 1)
    except CannotListen as error:
        return _fail(f"cannot listen for {error}", 1)
    if output:
        print(output)
    return 0


def _with_cause(error: CoatcheckError) -> str:
    """The error, and what a store said: "user store unavailable (refused: OSError)"; and
    the file or folder a filesystem error was about ("... at /app/data")."""
    if error.__cause__ is None:
        return str(error)
    cause, error_class = cause_of(error.__cause__)
    files = (link.filename for link in chain(error.__cause__) if isinstance(link, OSError))
    path = next((name for name in files if name), None)
    where = f" at {os.fsdecode(path)}" if path is not None else ""
    return f"{error} ({cause}: {error_class}){where}"


def _fail(message: str, code: int) -> int:
    print(f"coatcheck: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())

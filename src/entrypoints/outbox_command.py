"""`coatcheck outbox`: what waits to be sent or failed (never a letter's content), and an
operator's retry or removal of one entry."""

from __future__ import annotations

import argparse
import uuid
from datetime import timedelta

from coatcheck.entrypoints.container import Services, build_container
from coatcheck.entrypoints.presentation import timestamp
from coatcheck.entrypoints.settings import Settings

LIST_LIMIT = 100


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = commands.add_parser("outbox", help="letters waiting to be sent, or failed")
    actions = outbox.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="what waits or failed, oldest first")
    listing.add_argument("--limit", type=int, default=LIST_LIMIT)
    retry = actions.add_parser("retry", help="send one now (a failed one too)")
    retry.add_argument("id", type=uuid.UUID, help="as `list` shows it")
    drop = actions.add_parser("drop", help="remove one that waits or failed")
    drop.add_argument("id", type=uuid.UUID, help="as `list` shows it")


async def run(arguments: argparse.Namespace, settings: Settings) -> str:
    async with build_container(settings) as services:
        if arguments.action == "list":
            return await _list(services, arguments.limit)
        entry_id: uuid.UUID = arguments.id
        store = services.outbox_store
        if arguments.action == "retry":
            now = services.clock.now()
            until = now + timedelta(seconds=settings.outbox_retry_for)
            if await store.requeue(entry_id, now, until):
                return f"{entry_id} will be sent now"
            return f"{entry_id}: no such letter waiting or failed, or its link has expired"
        if await store.drop(entry_id):
            return f"{entry_id} dropped"
        return f"{entry_id}: no such letter waiting or failed"


async def _list(services: Services, limit: int) -> str:
    entries = await services.outbox_store.entries(limit)
    depth, _oldest = await services.outbox_store.depth()
    lines = [f"{depth} letter(s) waiting; waiting or failed, oldest first:"]
    for entry in entries:
        due = "-" if entry.next_attempt_at is None else timestamp(entry.next_attempt_at)
        lines.append(
            f"{entry.id}  {entry.state.value:<7}  {entry.kind:<18}  to {entry.recipient or '-'}"
            f"  created {timestamp(entry.created_at)}  attempts {entry.attempts}  next {due}"
            f"  error {entry.last_error or '-'}  request {entry.request_id or '-'}"
        )
    return "\n".join(lines)

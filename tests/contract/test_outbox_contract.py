"""The OutboxStore port, as every user store (memory, SQLite, PostgreSQL) must honour it: an
entry is leased to one claimer at a time, across handles (processes, instances); a resolved
letter and its token are written together or not at all; a sent letter's content is erased;
what is finished is kept only until purged."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import attrs

from coatcheck.domain.ports import EntryState, OutboxEntry, ResolvedEntry
from coatcheck.domain.tokens import TokenPurpose, TokenRecord
from tests.contract.conftest import OutboxStores
from tests.factories import NOW, digest_for, make_user

LEASE = timedelta(minutes=2)


def entry(
    created: datetime = NOW, expires: datetime | None = None, recipient: str = "ada@example.com"
) -> OutboxEntry:
    return OutboxEntry(
        id=uuid.uuid4(),
        kind="password-reset",
        recipient=recipient,
        content=b"sealed \x00 bytes",
        request_id="req-1",
        created_at=created,
        retry_until=created + timedelta(hours=1),
        expires_at=expires,
        next_attempt_at=created,
    )


async def test_an_entry_is_claimed_by_one_handle_until_its_lease_ends(
    outbox_stores: OutboxStores,
) -> None:
    added = entry()
    await outbox_stores.outbox.add(added)

    [claimed] = await outbox_stores.outbox.claim(NOW, LEASE, 10)
    assert claimed.claim is not None
    assert attrs.evolve(claimed, claim=None, attempts=0) == added
    assert claimed.attempts == 1
    assert await outbox_stores.other.claim(NOW + LEASE - timedelta(seconds=1), LEASE, 10) == []

    [again] = await outbox_stores.other.claim(NOW + LEASE, LEASE, 10)
    assert (again.id, again.attempts) == (added.id, 2)
    assert again.claim != claimed.claim


async def test_parallel_claims_on_two_handles_never_share_an_entry(
    outbox_stores: OutboxStores,
) -> None:
    for _ in range(40):
        await outbox_stores.outbox.add(entry())

    batches = await asyncio.gather(
        *(store.claim(NOW, LEASE, 7) for store in [outbox_stores.outbox, outbox_stores.other] * 4)
    )

    ids = [claimed.id for batch in batches for claimed in batch]
    assert len(ids) == len(set(ids)) == 40


async def test_only_due_entries_are_claimed_soonest_first_up_to_the_limit(
    outbox_stores: OutboxStores,
) -> None:
    later, soon, soonest = entry(NOW + timedelta(minutes=5)), entry(NOW), entry(NOW - timedelta(1))
    for added in (later, soon, soonest):
        await outbox_stores.outbox.add(added)

    assert [e.id for e in await outbox_stores.outbox.claim(NOW, LEASE, 1)] == [soonest.id]
    assert [e.id for e in await outbox_stores.outbox.claim(NOW, LEASE, 5)] == [soon.id]
    assert await outbox_stores.outbox.claim(NOW, LEASE, 5) == []


async def resolution(stores: OutboxStores) -> tuple[ResolvedEntry, TokenRecord]:
    user = make_user()
    await stores.users.add(user)
    record = TokenRecord(TokenPurpose.PASSWORD_RESET, user.id, user.email, NOW + timedelta(hours=1))
    resolved = ResolvedEntry(
        kind="password-reset",
        recipient=user.email.value,
        content=b"the letter, sealed",
        expires_at=record.expires_at,
        token_digest=digest_for("new"),
        token=record,
    )
    return resolved, record


async def test_resolving_writes_the_letter_and_its_token_together(
    outbox_stores: OutboxStores,
) -> None:
    resolved, record = await resolution(outbox_stores)
    await outbox_stores.tokens.issue(digest_for("older"), record, NOW)
    await outbox_stores.outbox.add(attrs.evolve(entry(), recipient=None))
    [claimed] = await outbox_stores.outbox.claim(NOW, LEASE, 1)

    assert await outbox_stores.outbox.resolve(claimed, resolved, NOW) is True

    assert await outbox_stores.tokens.take(digest_for("new"), TokenPurpose.PASSWORD_RESET) == record
    assert await outbox_stores.tokens.take(digest_for("older"), TokenPurpose.PASSWORD_RESET) is None
    [listed] = await outbox_stores.outbox.entries(10)
    assert (listed.recipient, listed.expires_at, listed.content) == (
        resolved.recipient,
        resolved.expires_at,
        None,  # never listed
    )
    await outbox_stores.outbox.retry(claimed, NOW, "x")
    [again] = await outbox_stores.outbox.claim(NOW, LEASE, 1)
    assert again.content == resolved.content


async def test_a_resolution_on_a_lost_claim_or_for_a_deleted_user_writes_nothing(
    outbox_stores: OutboxStores,
) -> None:
    resolved, record = await resolution(outbox_stores)
    await outbox_stores.outbox.add(entry())
    [lost] = await outbox_stores.outbox.claim(NOW, LEASE, 1)
    [holder] = await outbox_stores.other.claim(NOW + LEASE, LEASE, 1)

    assert await outbox_stores.outbox.resolve(lost, resolved, NOW) is False
    assert await outbox_stores.tokens.take(digest_for("new"), TokenPurpose.PASSWORD_RESET) is None

    await outbox_stores.users.remove(record.user_id)
    assert await outbox_stores.other.resolve(holder, resolved, NOW) is False
    [kept] = await outbox_stores.other.claim(NOW + 2 * LEASE, LEASE, 1)
    assert kept.content == b"sealed \x00 bytes"


async def test_a_sent_entry_is_erased_and_a_stale_claim_changes_nothing(
    outbox_stores: OutboxStores,
) -> None:
    await outbox_stores.outbox.add(entry())
    [stale] = await outbox_stores.outbox.claim(NOW, LEASE, 1)
    [claimed] = await outbox_stores.other.claim(NOW + LEASE, LEASE, 1)

    await outbox_stores.outbox.sent(stale, NOW)
    assert (await outbox_stores.outbox.depth())[0] == 1
    await outbox_stores.other.sent(claimed, NOW + LEASE)

    assert await outbox_stores.outbox.depth() == (0, None)
    assert await outbox_stores.outbox.entries(10) == []  # sent ones are not listed
    assert await outbox_stores.outbox.claim(NOW + 10 * LEASE, LEASE, 1) == []
    assert await outbox_stores.outbox.drop(claimed.id) is False
    assert await outbox_stores.outbox.requeue(claimed.id, NOW, NOW + LEASE) is False


async def test_a_retried_entry_is_due_again_at_its_time(outbox_stores: OutboxStores) -> None:
    await outbox_stores.outbox.add(entry())
    [claimed] = await outbox_stores.outbox.claim(NOW, LEASE, 1)
    await outbox_stores.outbox.retry(claimed, NOW + timedelta(seconds=30), "ConnectionRefusedError")

    assert await outbox_stores.outbox.claim(NOW + timedelta(seconds=29), LEASE, 1) == []
    [again] = await outbox_stores.other.claim(NOW + timedelta(seconds=30), LEASE, 1)
    assert (again.attempts, again.last_error) == (2, "ConnectionRefusedError")


async def test_failed_entries_are_listed_requeued_or_dropped(outbox_stores: OutboxStores) -> None:
    kept, erased = entry(NOW - timedelta(minutes=1)), entry(NOW)
    for added in (kept, erased):
        await outbox_stores.outbox.add(added)
    first, second = await outbox_stores.outbox.claim(NOW, LEASE, 2)
    await outbox_stores.outbox.fail(first, NOW, "550", erase=False)
    await outbox_stores.outbox.fail(second, NOW, "expired", erase=True)

    listed = await outbox_stores.outbox.entries(10)
    assert [(e.id, e.state, e.last_error, e.content) for e in listed] == [
        (kept.id, EntryState.FAILED, "550", None),
        (erased.id, EntryState.FAILED, "expired", None),
    ]
    assert await outbox_stores.outbox.depth() == (0, None)
    assert await outbox_stores.outbox.requeue(erased.id, NOW, NOW + LEASE) is False
    assert await outbox_stores.outbox.requeue(kept.id, NOW, NOW + LEASE) is True
    assert await outbox_stores.outbox.depth() == (1, kept.created_at)
    [again] = await outbox_stores.other.claim(NOW, LEASE, 1)
    assert (again.id, again.attempts, again.content) == (kept.id, 1, kept.content)
    assert await outbox_stores.outbox.drop(erased.id) is True
    assert await outbox_stores.outbox.drop(uuid.uuid4()) is False


async def test_a_claimed_entry_discarded_is_gone(outbox_stores: OutboxStores) -> None:
    await outbox_stores.outbox.add(entry())
    [claimed] = await outbox_stores.outbox.claim(NOW, LEASE, 1)
    await outbox_stores.outbox.discard(claimed)
    assert await outbox_stores.outbox.entries(10) == []


async def test_purging_expires_stale_links_and_deletes_what_is_past_retention(
    outbox_stores: OutboxStores,
) -> None:
    stale = entry(NOW, expires=NOW + timedelta(minutes=30))
    fresh = entry(NOW, expires=NOW + timedelta(hours=2))
    done = entry(NOW)
    refused = entry(NOW, expires=NOW + timedelta(minutes=30))
    for added in (stale, fresh, done, refused):
        await outbox_stores.outbox.add(added)
    claimed_now = {e.id: e for e in await outbox_stores.outbox.claim(NOW, LEASE, 4)}
    await outbox_stores.outbox.sent(claimed_now[done.id], NOW + timedelta(hours=2))
    await outbox_stores.outbox.fail(claimed_now[refused.id], NOW, "550", erase=False)
    for other in (stale, fresh):
        await outbox_stores.outbox.retry(claimed_now[other.id], NOW, "x")
    later = NOW + timedelta(hours=1)
    for other in await outbox_stores.outbox.claim(later, LEASE, 3):
        await outbox_stores.outbox.retry(other, later + timedelta(hours=5), "x")

    assert await outbox_stores.outbox.purge(later, NOW - timedelta(seconds=1)) == 0

    states = {e.id: (e.state, e.last_error) for e in await outbox_stores.outbox.entries(10)}
    assert states == {
        stale.id: (EntryState.FAILED, "expired"),
        fresh.id: (EntryState.PENDING, "x"),
        refused.id: (EntryState.FAILED, "550"),
    }
    for erased in (stale, refused):  # their links expired: nothing can send them again
        assert await outbox_stores.outbox.requeue(erased.id, later, later) is False
    assert await outbox_stores.outbox.purge(later, NOW + timedelta(seconds=1)) == 1  # refused
    assert await outbox_stores.outbox.purge(later, later + timedelta(seconds=1)) == 1  # stale
    assert [e.id for e in await outbox_stores.outbox.entries(10)] == [fresh.id]

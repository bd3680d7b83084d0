"""The LoginAttempts port, as every adapter must honour it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.factories import NOW

WINDOW = timedelta(minutes=15)
SOON = NOW.replace(microsecond=0) + timedelta(seconds=30)


async def test_nothing_is_locked_at_first(login_attempts: Any) -> None:
    assert await login_attempts.locked_until(["account:a", "address:b"]) is None


async def test_failures_count_up_within_the_window(login_attempts: Any) -> None:
    counts = [await login_attempts.record_failure("account:a", WINDOW, NOW) for _ in range(3)]
    assert counts == [1, 2, 3]


async def test_failure_count_restarts_after_the_window(login_attempts: Any) -> None:
    await login_attempts.record_failure("account:a", WINDOW, NOW)
    await login_attempts.record_failure("account:a", WINDOW, NOW)
    after = NOW + WINDOW + timedelta(seconds=1)
    assert await login_attempts.record_failure("account:a", WINDOW, after) == 1


async def test_keys_are_counted_apart(login_attempts: Any) -> None:
    await login_attempts.record_failure("account:a", WINDOW, NOW)
    assert await login_attempts.record_failure("address:b", WINDOW, NOW) == 1


async def test_lock_reports_the_latest_deadline_of_the_keys(login_attempts: Any) -> None:
    assert await login_attempts.claim_lock("account:a", SOON, NOW) is True
    assert await login_attempts.claim_lock("address:b", SOON + timedelta(seconds=5), NOW) is True
    assert await login_attempts.locked_until(["account:a"]) == SOON
    assert await login_attempts.locked_until(["account:a", "address:b"]) == SOON + timedelta(
        seconds=5
    )


async def test_clear_forgets_failures_and_lock(login_attempts: Any) -> None:
    await login_attempts.record_failure("account:a", WINDOW, NOW)
    await login_attempts.claim_lock("account:a", SOON, NOW)
    await login_attempts.clear("account:a")
    assert await login_attempts.locked_until(["account:a"]) is None
    assert await login_attempts.record_failure("account:a", WINDOW, NOW) == 1


async def test_a_live_lock_cannot_be_claimed_again(login_attempts: Any) -> None:
    assert await login_attempts.claim_lock("account:a", SOON, NOW) is True
    later = SOON + timedelta(seconds=30)
    assert await login_attempts.claim_lock("account:a", later, NOW) is False
    assert await login_attempts.locked_until(["account:a"]) == SOON


async def test_an_ended_lock_can_be_claimed_anew(login_attempts: Any) -> None:
    await login_attempts.claim_lock("account:a", SOON, NOW)
    later = SOON + timedelta(seconds=30)
    assert await login_attempts.claim_lock("account:a", later, SOON) is True
    assert await login_attempts.locked_until(["account:a"]) == later


async def test_of_parallel_claims_exactly_one_wins(login_attempts: Any) -> None:
    claims = [login_attempts.claim_lock("account:a", SOON, NOW) for _ in range(10)]
    assert sorted(await asyncio.gather(*claims)) == [False] * 9 + [True]


async def test_a_lock_keeps_the_failure_count(login_attempts: Any) -> None:
    await login_attempts.record_failure("account:a", WINDOW, NOW)
    await login_attempts.claim_lock("account:a", SOON, NOW)
    assert await login_attempts.record_failure("account:a", WINDOW, NOW) == 2

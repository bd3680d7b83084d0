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


async def test_a_sliding_window_lasts_while_attempts_go_on(login_attempts: Any) -> None:
    moments = [NOW + n * timedelta(minutes=10) for n in range(5)]  # each within a window
    counts = [
        await login_attempts.record_failure("account:a", WINDOW, moment, sliding=True)
        for moment in moments
    ]
    assert counts == [1, 2, 3, 4, 5]


async def test_a_sliding_count_restarts_after_a_whole_window_without_attempts(
    login_attempts: Any,
) -> None:
    await login_attempts.record_failure("account:a", WINDOW, NOW, sliding=True)
    later = NOW + timedelta(minutes=10)
    await login_attempts.record_failure("account:a", WINDOW, later, sliding=True)
    quiet = later + WINDOW
    assert await login_attempts.record_failure("account:a", WINDOW, quiet, sliding=True) == 1


async def test_a_fixed_window_is_not_extended_by_attempts(login_attempts: Any) -> None:
    await login_attempts.record_failure("address:b", WINDOW, NOW)
    await login_attempts.record_failure("address:b", WINDOW, NOW + timedelta(minutes=10))
    after = NOW + WINDOW
    assert await login_attempts.record_failure("address:b", WINDOW, after) == 1


DAY = timedelta(days=1)
LATER = NOW.replace(microsecond=0) + DAY


async def test_a_device_is_not_trusted_unless_told(login_attempts: Any) -> None:
    assert await login_attempts.trusted("user:a", "d1", NOW) is False


async def test_a_trusted_device_is_trusted_on_its_owners_account_until_its_deadline(
    login_attempts: Any,
) -> None:
    until = NOW.replace(microsecond=0) + timedelta(days=90)
    await login_attempts.trust("user:a", "d1", until, NOW)

    assert await login_attempts.trusted("user:a", "d1", NOW) is True
    assert await login_attempts.trusted("user:a", "d1", until - timedelta(seconds=1)) is True
    assert await login_attempts.trusted("user:a", "d1", until) is False
    assert await login_attempts.trusted("user:a", "d2", NOW) is False
    assert await login_attempts.trusted("user:b", "d1", NOW) is False


async def test_trusting_again_moves_the_deadline(login_attempts: Any) -> None:
    await login_attempts.trust("user:a", "d1", LATER, NOW)
    await login_attempts.trust("user:a", "d1", LATER + DAY, NOW)

    assert await login_attempts.trusted("user:a", "d1", LATER + timedelta(hours=1)) is True


async def test_a_new_device_does_not_shorten_the_trust_of_another(login_attempts: Any) -> None:
    await login_attempts.trust("user:a", "d1", LATER + DAY, NOW)
    await login_attempts.trust("user:a", "d2", LATER, NOW)

    assert await login_attempts.trusted("user:a", "d1", LATER + timedelta(hours=1)) is True


async def test_forgetting_an_owners_devices_forgets_them_all_and_no_one_elses(
    login_attempts: Any,
) -> None:
    for device in ("d1", "d2", "d3"):
        await login_attempts.trust("user:a", device, LATER, NOW)
    await login_attempts.trust("user:b", "d1", LATER, NOW)

    await login_attempts.forget_devices("user:a")

    for device in ("d1", "d2", "d3"):
        assert await login_attempts.trusted("user:a", device, NOW) is False
    assert await login_attempts.trusted("user:b", "d1", NOW) is True


async def test_forgetting_an_owners_devices_can_keep_one(login_attempts: Any) -> None:
    await login_attempts.trust("user:a", "d1", LATER, NOW)
    await login_attempts.trust("user:a", "d2", LATER + DAY, NOW)

    await login_attempts.forget_devices("user:a", keep="d2")
    await login_attempts.forget_devices("user:b", keep="unknown")  # trusts nothing new

    assert await login_attempts.trusted("user:a", "d1", NOW) is False
    assert await login_attempts.trusted("user:a", "d2", LATER + timedelta(hours=1)) is True
    assert await login_attempts.trusted("user:b", "unknown", NOW) is False


async def test_clearing_a_keys_count_keeps_its_devices_trusted(login_attempts: Any) -> None:
    await login_attempts.trust("user:a", "d1", LATER, NOW)
    await login_attempts.record_failure("user:a", WINDOW, NOW)
    await login_attempts.claim_lock("user:a", SOON, NOW)

    await login_attempts.clear("user:a")

    assert await login_attempts.trusted("user:a", "d1", NOW) is True
    assert await login_attempts.locked_until(["user:a"]) is None

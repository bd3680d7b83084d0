"""The PendingSteps port, as every sessions' store (memory, SQLite, Redis, Redis Cluster) must
honour it: short-lived steps that are not sessions, taken once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from coatcheck.domain.factors import PendingPurpose, PendingStep
from coatcheck.domain.model import AuthMethod, SessionKind
from tests.factories import NOW, digest_for


def step(challenge: bytes | None = b"\x00challenge\xff") -> PendingStep:
    return PendingStep(
        PendingPurpose.LOG_IN,
        NOW + timedelta(minutes=5),
        uuid.uuid4(),
        SessionKind.REMEMBERED,
        AuthMethod.PASSWORD,
        challenge,
    )


async def test_a_step_reads_back_equal(pending_steps: Any) -> None:
    made = step()
    await pending_steps.put(digest_for("p"), made, NOW)

    assert await pending_steps.get(digest_for("p")) == made
    assert await pending_steps.get(digest_for("p")) == made  # reading keeps it


async def test_a_step_without_user_or_challenge_reads_back_equal(pending_steps: Any) -> None:
    made = PendingStep(PendingPurpose.PASSKEY_LOG_IN, NOW + timedelta(minutes=5))
    await pending_steps.put(digest_for("p"), made, NOW)

    assert await pending_steps.get(digest_for("p")) == made


async def test_a_step_is_taken_once(pending_steps: Any) -> None:
    made = step()
    await pending_steps.put(digest_for("p"), made, NOW)

    taken = await asyncio.gather(*(pending_steps.take(digest_for("p")) for _ in range(4)))

    assert sorted(taken, key=lambda found: found is None) == [made, None, None, None]
    assert await pending_steps.get(digest_for("p")) is None


async def test_putting_again_replaces_the_step(pending_steps: Any) -> None:
    await pending_steps.put(digest_for("p"), step(), NOW)
    newer = step(b"another")
    await pending_steps.put(digest_for("p"), newer, NOW)

    assert await pending_steps.take(digest_for("p")) == newer


async def test_an_unknown_key_has_no_step(pending_steps: Any) -> None:
    assert await pending_steps.get(digest_for("none")) is None
    assert await pending_steps.take(digest_for("none")) is None

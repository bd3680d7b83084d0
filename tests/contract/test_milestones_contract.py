"""The Milestones port, as every sessions' store (memory, SQLite, Redis, Redis Cluster) must
honour it: the first moment recorded under a name stays, whoever proposes another."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.factories import NOW


async def test_the_first_moment_recorded_under_a_name_stays(milestones: Any) -> None:
    assert await milestones.first("cookie-host-prefix", NOW) == NOW
    later = NOW + timedelta(days=3)
    assert await milestones.first("cookie-host-prefix", later) == NOW
    assert await milestones.first("another", later) == later


async def test_of_moments_proposed_at_once_one_stays_for_all(milestones: Any) -> None:
    proposed = [NOW + timedelta(seconds=n) for n in range(8)]
    answers = await asyncio.gather(*(milestones.first("race", moment) for moment in proposed))
    assert len(set(answers)) == 1
    assert answers[0] in proposed

"""What a serving process does to the garbage collector once its app has started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from aiohttp import web

from coatcheck.entrypoints import serving


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_settling_freezes_what_start_up_made_and_collects_the_young_only_past_10_000() -> None:
    made_at_start_up = [object() for _ in range(100)]
    gc.unfreeze()
    older = gc.get_threshold()[1:]

    serving.settle_heap()

    assert gc.get_freeze_count() >= len(made_at_start_up)
    young, middle, old = gc.get_threshold()
    assert young == serving.YOUNG_COLLECTION_THRESHOLD == 10_000
    assert (middle, old) == older  # the older generations' are left as they were


@pytest.mark.usefixtures("collector")
async def test_an_app_served_as_coatcheck_serves_it_is_settled_once_started() -> None:
    gc.set_threshold(700, 10, 10)
    app = serving._frozen_after_start(web.Application())
    runner = web.AppRunner(app)

    await runner.setup()
    try:
        assert gc.get_threshold()[0] == serving.YOUNG_COLLECTION_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        await runner.cleanup()

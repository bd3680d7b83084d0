"""Reads that arrive together share one fetch; while fetches are on their way, the next
reads gather and go together as soon as one answers. Every read is sent after it was asked
for, and no value outlives its answer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from coatcheck.adapters.redis.batch import MAX_BATCH, TickBatcher


class Store:
    """A fetch that answers when told to, recording each batch it was sent."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.batches: list[list[str]] = []
        self.gates: list[asyncio.Event] = []
        self.fail_next = False

    async def fetch(self, keys: list[Any]) -> list[str | None]:
        self.batches.append(list(keys))
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("store down")
        return [self.values.get(key) for key in keys]

    def answer(self, index: int) -> None:
        self.gates[index].set()


async def ticks(count: int = 3) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_reads_of_one_tick_are_one_fetch() -> None:
    store = Store()
    store.values = {"a": "1", "b": "2"}
    batcher = TickBatcher(store.fetch)
    reads = [batcher.get(key) for key in ("a", "b", "c")]
    await ticks()
    assert store.batches == [["a", "b", "c"]]
    store.answer(0)
    assert await asyncio.gather(*reads) == ["1", "2", None]


async def test_reads_arriving_while_fetches_are_in_flight_go_as_one_batch_when_one_answers() -> (
    None
):
    store = Store()
    batcher = TickBatcher(store.fetch, max_in_flight=1)
    first = batcher.get("a")
    await ticks()
    later = []
    for key in ("b", "c", "d"):  # three ticks apart, all while "a" is on its way
        later.append(batcher.get(key))
        await ticks()
    assert store.batches == [["a"]]  # nothing more sent while one fetch is in flight
    store.values = {"b": "written after the reads were asked for"}
    store.answer(0)
    await ticks()
    assert store.batches == [["a"], ["b", "c", "d"]]
    store.answer(1)
    assert await first is None
    assert await asyncio.gather(*later) == ["written after the reads were asked for", None, None]


async def test_up_to_max_in_flight_fetches_go_at_once() -> None:
    store = Store()
    batcher = TickBatcher(store.fetch, max_in_flight=2)
    batcher.get("a")
    await ticks()
    batcher.get("b")
    await ticks()
    batcher.get("c")
    await ticks()
    assert store.batches == [["a"], ["b"]]
    store.answer(1)
    await ticks()
    assert store.batches == [["a"], ["b"], ["c"]]
    for gate in store.gates:
        gate.set()


async def test_a_full_batch_goes_at_once_whatever_is_in_flight() -> None:
    store = Store()
    batcher = TickBatcher(store.fetch, max_in_flight=1)
    batcher.get("first")
    await ticks()
    for number in range(MAX_BATCH):
        batcher.get(str(number))
    await ticks()
    assert [len(batch) for batch in store.batches] == [1, MAX_BATCH]
    for gate in store.gates:
        gate.set()


async def test_a_failed_fetch_fails_its_readers_and_the_gathered_batch_still_goes() -> None:
    store = Store()
    store.values = {"b": "2"}
    batcher = TickBatcher(store.fetch, max_in_flight=1)
    doomed = batcher.get("a")
    await ticks()
    waiting = batcher.get("b")
    await ticks()
    store.fail_next = True
    store.answer(0)
    with pytest.raises(ConnectionError):
        await doomed
    await ticks()
    assert store.batches == [["a"], ["b"]]
    store.answer(1)
    assert await waiting == "2"


async def test_a_reader_that_gave_up_leaves_the_others_their_answers() -> None:
    store = Store()
    store.values = {"a": "1", "b": "2"}
    batcher = TickBatcher(store.fetch)
    abandoned, kept = batcher.get("a"), batcher.get("b")
    await ticks()
    abandoned.cancel()
    store.answer(0)
    assert await kept == "2"


def test_a_batcher_read_on_one_loop_then_another_answers_on_each() -> None:
    """The batcher keeps the loop of its last read (no get_running_loop() on every read):
    once that loop no longer runs, a read on the next one is scheduled there, not on it."""
    store = Store()
    store.values = {"a": "1"}
    batcher = TickBatcher(store.fetch)

    async def read() -> str | None:
        waiter = batcher.get("a")
        await ticks()
        store.answer(len(store.gates) - 1)
        value: str | None = await waiter
        return value

    assert [asyncio.run(read()), asyncio.run(read())] == ["1", "1"]
    assert store.batches == [["a"], ["a"]]

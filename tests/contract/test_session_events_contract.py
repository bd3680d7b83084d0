"""The SessionEvents port, as every adapter must honour it: an event published on one
instance reaches every listener on every instance, in order, from the listener's first
resync on."""

from __future__ import annotations

import uuid
from typing import Any

from coatcheck.domain.events import EndReason, SessionsChanged, SessionsEnded
from tests.listening import listening, until

ADA = uuid.uuid4()


async def test_an_ending_published_on_one_instance_reaches_a_listener_on_another(
    session_events: tuple[Any, Any],
) -> None:
    publisher, listener = session_events
    ended = SessionsEnded(ADA, EndReason.REVOKED, ids=("0123456789abcdef",))
    async with listening(listener) as heard:
        await publisher.publish(ended)
        await until(lambda: len(heard.events) == 1)
    assert heard.events == [ended]


async def test_every_kind_of_event_arrives_as_it_was_published_and_in_order(
    session_events: tuple[Any, Any],
) -> None:
    publisher, listener = session_events
    published = [
        SessionsChanged(ADA),
        SessionsEnded(ADA, EndReason.LOGGED_OUT, ids=("a1",)),
        SessionsEnded(ADA, EndReason.REVOKED, every=True, kept="a2"),
        SessionsEnded(ADA, EndReason.PASSWORD_CHANGED, every=True),
        SessionsEnded(ADA, EndReason.REPLACED, ids=("a3", "a4")),
        *(SessionsChanged(uuid.uuid4()) for _ in range(10)),
    ]
    async with listening(listener) as heard:
        for event in published:
            await publisher.publish(event)
        await until(lambda: len(heard.events) == len(published))
    assert heard.events == published


async def test_every_listener_hears_every_event(session_events: tuple[Any, Any]) -> None:
    publisher, listener = session_events
    event = SessionsChanged(ADA)
    async with listening(listener) as first, listening(publisher) as second:
        await publisher.publish(event)
        await until(lambda: len(first.events) == 1 and len(second.events) == 1)
    assert first.events == second.events == [event]


async def test_a_listener_hears_only_what_is_published_after_its_first_resync(
    session_events: tuple[Any, Any],
) -> None:
    publisher, listener = session_events
    await publisher.publish(SessionsChanged(uuid.uuid4()))  # before: covered by the resync
    async with listening(listener) as heard:
        assert heard.resyncs == 1
        assert heard.events == []
        await publisher.publish(SessionsChanged(ADA))
        await until(lambda: len(heard.events) == 1)
    assert heard.events == [SessionsChanged(ADA)]


async def test_publishing_with_no_one_listening_is_harmless(
    session_events: tuple[Any, Any],
) -> None:
    publisher, listener = session_events
    async with listening(listener):
        pass
    await publisher.publish(SessionsEnded(ADA, EndReason.LOGGED_OUT, ids=("gone",)))

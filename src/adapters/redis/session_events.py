"""Session events over Redis pub/sub, on one channel, `{prefix}session-events`, which every
instance subscribes to once (a Redis Cluster carries a PUBLISH to every node).

Pub/sub keeps nothing for a subscriber that is away, so whatever reconnects the
subscription (this loop, or redis-py on its own) is followed by Redis's confirmation of the
subscription, and each confirmation calls `resync`: the listener checks again whatever it
watches. A connection that stops answering (no reset, just silence) is found by a PING
after PING_SECONDS of quiet, and replaced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.exceptions import RedisError

from coatcheck.adapters.event_records import decode, encode
from coatcheck.adapters.redis.client import Client
from coatcheck.domain.events import SessionEvent

log = logging.getLogger(__name__)
PING_SECONDS = 5.0  # of silence before we ask the connection whether it still answers
ANSWER_SECONDS = 2.0  # for that answer
WAIT_SECONDS = 0.25  # for a message, before looking again (see _follow)
FIRST_RETRY_SECONDS = 0.05
LAST_RETRY_SECONDS = 1.0
_LOST = (RedisError, OSError)  # redis-py's ConnectionError is a RedisError; socket errors


class SubscriptionLost(ConnectionError):
    """The subscription's connection did not answer a PING in time."""


class RedisSessionEvents:
    def __init__(
        self,
        client: Client,
        prefix: str = "coatcheck:",
        ping_seconds: float = PING_SECONDS,
        answer_seconds: float = ANSWER_SECONDS,
    ) -> None:
        self._redis = client
        self._channel = f"{prefix}session-events"
        self._ping_seconds = ping_seconds
        self._answer_seconds = answer_seconds

    async def publish(self, event: SessionEvent) -> None:
        try:
            await self._redis.publish(self._channel, encode(event))
        except _LOST as error:
            log.warning("a session event was not published: %s", type(error).__name__)

    async def listen(
        self, deliver: Callable[[SessionEvent], None], resync: Callable[[], None]
    ) -> None:
        retry = FIRST_RETRY_SECONDS
        lost = False

        def subscribed() -> None:
            nonlocal retry, lost
            if lost:
                log.info("session events: subscription re-established")
                lost = False
            retry = FIRST_RETRY_SECONDS
            resync()

        while True:
            try:
                await self._follow(deliver, subscribed)
            except _LOST as error:
                if not lost:
                    log.warning("session events: subscription lost (%s)", type(error).__name__)
                    lost = True
            await asyncio.sleep(retry)
            retry = min(retry * 2, LAST_RETRY_SECONDS)

    async def _follow(
        self, deliver: Callable[[SessionEvent], None], subscribed: Callable[[], None]
    ) -> None:
        """Subscribe and deliver what arrives until the connection fails (it raises)."""
        pubsub = self._redis.pubsub()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        try:
            await pubsub.subscribe(self._channel)
            heard, pinged = loop.time(), False
            while True:
                if task is not None and task.cancelling():
                    # redis-py writes through asyncio.wait_for, which in Python 3.11 loses a
                    # cancellation that lands as the write completes: honour it here.
                    raise asyncio.CancelledError()
                message = await pubsub.get_message(timeout=min(WAIT_SECONDS, self._ping_seconds))
                now = loop.time()
                if message is None:
                    if now - heard > self._ping_seconds + self._answer_seconds:
                        raise SubscriptionLost("no answer to a PING")
                    if now - heard > self._ping_seconds and not pinged:
                        await pubsub.ping()
                        pinged = True
                    continue
                heard, pinged = now, False
                if message["type"] == "subscribe":  # also after redis-py reconnected by itself
                    subscribed()
                elif message["type"] == "message":
                    event = decode(message["data"])
                    if event is not None:
                        deliver(event)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

"""Each request's deadline, and the store timeouts that fit inside it.

The HTTP layer sets the deadline of the request being served (a context variable: each
request sees its own); adapters read what is left of it where they wait for capacity (a
hashing thread) or tell a store how long a write may still count (a registration).
"""

from __future__ import annotations

import asyncio
import math
from contextvars import ContextVar, Token

from attrs import frozen

_DEADLINE: ContextVar[float] = ContextVar("coatcheck_deadline", default=math.inf)


def begin(at: float) -> Token[float]:
    """Begin a deadline at `at` (event-loop time); the token that ends it."""
    return _DEADLINE.set(at)


def end(token: Token[float]) -> None:
    _DEADLINE.reset(token)


def remaining() -> float:
    """Seconds left before the current request's deadline; infinite outside a request."""
    at = _DEADLINE.get()
    return at if at == math.inf else at - asyncio.get_running_loop().time()


@frozen
class StoreTimeouts:
    """How long one store step may wait: for a pooled connection, for a new connection, for
    a command's answer. One step, tried at most twice (one retry), fits in half the
    request's deadline, so a request that meets a failing store answers within it."""

    pool_wait: float
    connect: float
    command: float

    @classmethod
    def within(cls, deadline_seconds: float) -> StoreTimeouts:
        quarter = deadline_seconds / 4
        return cls(pool_wait=quarter, connect=quarter, command=quarter)

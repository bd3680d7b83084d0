"""Request lines: one buffer for the process, however many connections aiohttp makes a
request log for."""

from __future__ import annotations

import atexit
import logging

import pytest

from coatcheck.entrypoints.logs import RequestLog


def test_request_logs_of_many_connections_share_one_buffer_and_register_nothing_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[object] = []
    monkeypatch.setattr(atexit, "register", registered.append)
    logs = [RequestLog(logging.getLogger("test"), "json") for _ in range(100)]

    assert registered == []
    assert len({id(log._lines) for log in logs}) == 1

"""Log lines go to the standard error of the moment: a stream that was swapped in when
logging was configured, and closed since, is not written to (no "Logging error")."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from coatcheck.entrypoints.logs import configure_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_line_after_the_configured_stream_closed_goes_to_the_current_one(
    monkeypatch: pytest.MonkeyPatch, restored_logging: None
) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    configure_logging("json")
    first.close()
    monkeypatch.setattr("sys.stderr", second)
    errors: list[logging.LogRecord] = []
    monkeypatch.setattr(logging.Handler, "handleError", lambda self, record: errors.append(record))

    logging.getLogger("coatcheck.test").warning("after", extra={"event": "after"})

    assert errors == []
    assert json.loads(second.getvalue())["event"] == "after"

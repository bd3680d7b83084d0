"""Session events on the wire: what one instance encodes, another decodes equal; anything
else on the channel is dropped, never a crash of the listener."""

from __future__ import annotations

import uuid

import pytest

from coatcheck.adapters.event_records import decode, encode
from coatcheck.domain.events import EndReason, SessionEvent, SessionsChanged, SessionsEnded

USER = uuid.uuid4()


@pytest.mark.parametrize(
    "event",
    [
        SessionsChanged(USER),
        SessionsEnded(USER, EndReason.LOGGED_OUT, ids=("0123456789abcdef",)),
        SessionsEnded(USER, EndReason.REVOKED, every=True, kept="0123456789abcdef"),
        SessionsEnded(USER, EndReason.PASSWORD_CHANGED, every=True),
    ],
)
def test_an_event_decodes_to_what_was_encoded(event: SessionEvent) -> None:
    assert decode(encode(event)) == event


def ended(
    ids: str = "[]", every: str = "false", kept: str = "null", reason: str = "revoked"
) -> bytes:
    return (
        f'{{"user": "{USER}", "ended": {ids}, "every": {every}, "kept": {kept},'
        f' "reason": "{reason}"}}'
    ).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe",
        b"[]",
        b"{}",
        b'{"user": "not a uuid", "changed": true}',
        f'{{"user": "{USER}"}}'.encode(),
        ended(ids='"ab"'),
        ended(ids="[1]"),
        ended(kept="5"),
        ended(reason="bored"),
    ],
)
def test_anything_else_decodes_to_none(raw: bytes) -> None:
    assert decode(raw) is None


def test_the_helper_makes_a_valid_ending() -> None:
    assert decode(ended(ids='["a"]')) == SessionsEnded(USER, EndReason.REVOKED, ids=("a",))

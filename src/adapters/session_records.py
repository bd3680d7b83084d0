"""How a session is written in Redis: the compact record of this release, and the JSON
record of release 0.1, which this release still reads and can still write (for a rolling
deploy that shares Redis with 0.1 instances).

Compact: a MessagePack array, times in whole epoch seconds (the domain keeps them to the
second, but for a session's creation, kept to the millisecond so that sessions made in one
second list in order), the later ones relative to the earlier ones, the address and the
user agent packed (adapters/agent_packing: a typical browser's 110 bytes take about 20):

    [2, id (8 bytes), user id (16 bytes), kind, created, seen - created,
     expires - seen, (authenticated - created) << 14 | created's milliseconds << 4 | methods,
     absolute - created, user agent, address, email, name, user created, email verified]

`methods` is how the session was authenticated (a bitmask: domain.model.AuthMethod),
`authenticated` when it last was (a re-authentication moves it; a renewal does not), and
the creation's milliseconds (so that sessions made in one second list in order): one
integer, so that the array keeps a one-byte header (15 elements at most). Records of
version 1 have none of them (read as a password, at creation, on the second): [1, id,
user id, kind, created, seen - created, expires - seen, absolute - created, ...the rest as
in version 2]. Records written before the last element was appended (13 elements) read as
unverified; a user agent stored as text (as records written before packing hold it) reads
as it is.
"""

from __future__ import annotations

import json
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

import ormsgpack

from coatcheck.adapters.agent_packing import pack, unpack
from coatcheck.adapters.recent import Recent
from coatcheck.adapters.timestamps import iso_utc
from coatcheck.domain.model import (
    AuthMethod,
    ClientInfo,
    Email,
    Name,
    PublicUser,
    Session,
    SessionKind,
)

COMPACT = 2
_WITHOUT_METHODS = 1  # the version before sessions recorded how they were authenticated
_KINDS = list(SessionKind)
_KIND_CODES = {kind: code for code, kind in enumerate(_KINDS)}
_MOMENTS = ("created_at", "last_seen_at", "expires_at", "absolute_expires_at")


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


_FAMILIES = {4: socket.AF_INET, 16: socket.AF_INET6}


def _packed_address(address: str) -> bytes | str:
    for family in _FAMILIES.values():
        try:
            return socket.inet_pton(family, address)
        except OSError:
            pass
    return address  # not an IP address (a unix socket, say): kept as text


def _address(value: bytes | str) -> str:
    if isinstance(value, bytes):
        return socket.inet_ntop(_FAMILIES[len(value)], value)
    return value


def can_be_compact(session: Session) -> bool:
    """A session of this release: a user card, an 8-byte id, whole seconds (its creation:
    whole milliseconds)."""
    return (
        session.user is not None
        and len(session.id) == 16
        and session.created_at.microsecond % 1000 == 0
        and all(getattr(session, name).microsecond == 0 for name in _MOMENTS[1:])
    )


def _elements(session: Session) -> list[Any]:
    user = session.user
    assert user is not None
    created, seen = _seconds(session.created_at), _seconds(session.last_seen_at)
    authenticated = session.authenticated_at
    return [
        COMPACT,
        bytes.fromhex(session.id),
        user.id.bytes,
        _KIND_CODES[session.kind],
        created,
        seen - created,
        _seconds(session.expires_at) - seen,
        # One integer, so that the array stays a one-byte-header fixarray (15 elements).
        (0 if authenticated is None else _seconds(authenticated) - created) << 14
        | (session.created_at.microsecond // 1000) << 4
        | session.methods,
        _seconds(session.absolute_expires_at) - created,
        pack(session.client.user_agent),
        _packed_address(session.client.address),
        user.email.value,
        user.name.value,
        _seconds(user.created_at),
        user.email_verified,
    ]


def encode_compact(session: Session) -> bytes:
    return ormsgpack.packb(_elements(session))


_CARD = 11  # the user card's elements start here; a renewal leaves them as they are


def renewal_tails(session: Session) -> tuple[bytes, bytes]:
    """How a compact record of this session ends from its user card on: as this release
    writes it, and as a record without the last element (unverified) does, in either
    version. MessagePack encodes each element of an array on its own. (From the card on:
    how the elements before it are written, the user agent's packing say, may differ
    between the record read and the one written.)"""
    tail = [ormsgpack.packb(element) for element in _elements(session)[_CARD:]]
    return b"".join(tail), b"".join(tail[:-1])


# Decoded records, user cards and clients are kept a minute from when they were made (see
# adapters/recent.py), not by count alone. A record's bytes are read again only while its
# session stays active without a renewal, and a renewal (at most a touch interval after the
# last one: a minute by default) writes other bytes; a session ended or renewed leaves its
# old bytes behind, never to be read again. Kept by count, these dead records (and the
# cards of users gone) filled the caches, for every session a process ever saw, until the
# count's bound. Kept a minute, they hold what the sessions active in the last minute
# need, and cost at most one decoding (about 10 us) and one card a session a minute more,
# beside the one its renewal brings anyway. Measured (tracemalloc): a decoded record about
# 510 B, a card 715 B; at most 16,384 records (full only past 270 new a second) and 4,096
# cards and clients.
KEPT_SECONDS = 60.0
DECODED_KEPT = 16_384
CARDS_KEPT = 4096


def _make_card(fields: tuple[bytes, str, str, int, bool]) -> PublicUser:
    """The user card of a record, made (and its values validated) once for the same fields:
    a pure function of the record's bytes, so a user's next request, in any of their
    sessions, reuses it. Nothing is kept that Redis did not just return: an account's change
    rewrites its records, and the new fields make another card."""
    user_id, email, name, created, verified = fields
    return PublicUser(
        uuid.UUID(bytes=user_id), Email.as_written(email), Name(name), _moment(created), verified
    )


def _make_client(fields: tuple[bytes | str, bytes | str]) -> ClientInfo:
    """Where a session came from, made once for the same fields (as _make_card)."""
    agent, address = fields
    return ClientInfo(unpack(agent), _address(address))


_user_card = Recent(_make_card, KEPT_SECONDS, CARDS_KEPT)
_client = Recent(_make_client, KEPT_SECONDS, CARDS_KEPT)


def _decode_compact(raw: bytes) -> Session:
    elements = ormsgpack.unpackb(raw)
    if elements[0] == _WITHOUT_METHODS:
        methods, authenticated, milliseconds = AuthMethod.PASSWORD, 0, 0
    else:
        authentication = elements.pop(7)
        methods, authenticated = _METHODS[authentication & 15], authentication >> 14
        milliseconds = authentication >> 4 & 1023
    (_, id_, user_id, kind, created, seen, expires, absolute, agent, address, email, name,
     user_created, *verified) = elements  # fmt: skip
    user = _user_card((user_id, email, name, user_created, bool(verified and verified[0])))
    made = _moment(created).replace(microsecond=milliseconds * 1000)
    return Session(
        id=id_.hex(),
        user_id=user.id,
        kind=_KINDS[kind],
        created_at=made,
        last_seen_at=_moment(created + seen),
        expires_at=_moment(created + seen + expires),
        absolute_expires_at=_moment(created + absolute),
        client=_client((agent, address)),
        user=user,
        methods=methods,
        authenticated_at=_moment(created + authenticated) if authenticated else None,
    )


_METHODS = [AuthMethod(value) for value in range(16)]


def encode_json(session: Session) -> bytes:
    """Release 0.1's record, plus the user's card, which 0.1 ignores."""
    record: dict[str, Any] = {
        "id": session.id,
        "user_id": str(session.user_id),
        "kind": session.kind.value,
        **{name: iso_utc(getattr(session, name)) for name in _MOMENTS},
        "client": {"user_agent": session.client.user_agent, "address": session.client.address},
    }
    if session.methods is not AuthMethod.PASSWORD or session.authenticated_at is not None:
        record["methods"] = int(session.methods)
        record["authenticated_at"] = (
            None if session.authenticated_at is None else iso_utc(session.authenticated_at)
        )
    if session.user is not None:
        record["user"] = {
            "email": session.user.email.value,
            "name": session.user.name.value,
            "created_at": iso_utc(session.user.created_at),
            "email_verified": session.user.email_verified,
        }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def _decode_json(raw: bytes) -> Session:
    record = json.loads(raw)
    user_id = uuid.UUID(record["user_id"])
    card = record.get("user")
    user = None
    if card is not None:
        created = datetime.fromisoformat(card["created_at"])
        verified = bool(card.get("email_verified", False))
        user = PublicUser(
            user_id, Email.as_written(card["email"]), Name(card["name"]), created, verified
        )
    return Session(
        id=record["id"],
        user_id=user_id,
        kind=SessionKind(record["kind"]),
        client=ClientInfo(**record["client"]),
        user=user,
        methods=AuthMethod(record.get("methods", AuthMethod.PASSWORD)),
        authenticated_at=_optional_moment(record.get("authenticated_at")),
        **{name: datetime.fromisoformat(record[name]) for name in _MOMENTS},
    )


def _optional_moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


_decoded = Recent(_decode_compact, KEPT_SECONDS, DECODED_KEPT)  # by the record's bytes


def decode(raw: bytes) -> Session:
    """Either format: a JSON record starts with "{", a compact one never does."""
    return _decode_json(raw) if raw[:1] == b"{" else _decoded(raw)

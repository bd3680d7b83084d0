"""Compact session records decode to what was encoded. Decoded user cards (and the JSON
"who am I" answers with) are made once for the same fields, and never outlive a change:
a record with changed fields gives a card, and a body, of its own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import ormsgpack
from attrs import evolve

from coatcheck.adapters.session_records import decode, encode_compact, encode_json
from coatcheck.domain.model import (
    AuthMethod,
    ClientInfo,
    Email,
    Name,
    PublicUser,
    Session,
    SessionKind,
)
from coatcheck.entrypoints.http.responses import user_body

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
USER = PublicUser(uuid.uuid4(), Email("ada@example.com"), Name("Ada"), NOW, False)


def session(user: PublicUser = USER, id_: str = "0123456789abcdef") -> Session:
    return Session(
        id=id_,
        user_id=user.id,
        kind=SessionKind.BROWSER,
        created_at=NOW,
        last_seen_at=NOW,
        expires_at=NOW,
        absolute_expires_at=NOW,
        client=ClientInfo("Firefox", "192.0.2.1"),
        user=user,
    )


def test_a_compact_record_decodes_to_the_session_encoded() -> None:
    assert decode(encode_compact(session())) == session()


def test_two_sessions_of_one_user_decode_to_one_shared_card() -> None:
    first = decode(encode_compact(session(id_="0123456789abcdef")))
    second = decode(encode_compact(session(id_="fedcba9876543210")))
    assert first.user is second.user
    assert first.client is second.client


def test_a_record_with_changed_user_fields_decodes_to_the_new_card() -> None:
    before = decode(encode_compact(session()))
    renamed = evolve(USER, name=Name("Ada Lovelace"), email_verified=True)
    after = decode(encode_compact(session(renamed)))
    assert after.user == renamed
    assert before.user == USER


def test_the_body_of_a_changed_card_is_its_own() -> None:
    assert orjson.loads(user_body(USER))["name"] == "Ada"
    renamed = evolve(USER, name=Name("Ada Lovelace"))
    body = orjson.loads(user_body(renamed))
    assert body["name"] == "Ada Lovelace"
    assert body["id"] == str(USER.id)
    assert body["emailVerified"] is False


def test_a_record_says_how_its_session_was_authenticated_and_when_last() -> None:
    made = evolve(
        session(),
        methods=AuthMethod.PASSWORD | AuthMethod.RECOVERY_CODE,
        authenticated_at=NOW + timedelta(minutes=3),
    )

    assert decode(encode_compact(made)) == made
    assert decode(encode_json(made)) == made


def test_a_record_written_before_sessions_recorded_their_methods_reads_as_a_password() -> None:
    elements = ormsgpack.unpackb(encode_compact(session()))
    del elements[7]  # what version 1 wrote: no methods, no time of authentication
    elements[0] = 1

    read = decode(ormsgpack.packb(elements))

    assert read == session()
    assert read.methods is AuthMethod.PASSWORD
    assert read.last_authenticated_at == NOW

"""Compact session records decode to what was encoded, their user agents packed small and
returned whole. Decoded user cards (and the JSON "who am I" answers with) and sessions are
made once for the same fields or bytes, and never outlive a change: a record with changed
fields gives a card, and a body, of its own (how long they are kept: test_recent.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import ormsgpack
import pytest
from attrs import evolve

from coatcheck.adapters.session_records import (
    decode,
    encode_compact,
    encode_json,
    renewal_tails,
)
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


BROWSER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Company/1.0"
)  # 110 bytes


def with_agent(agent: str) -> Session:
    return evolve(session(), client=ClientInfo(agent, "192.0.2.1"))


def test_a_browser_user_agent_takes_a_fifth_of_its_length_and_comes_back_whole() -> None:
    plain = len(ormsgpack.packb(BROWSER_AGENT))
    written = with_agent(BROWSER_AGENT)

    record = encode_compact(written)

    assert len(encode_compact(with_agent(""))) + plain // 5 >= len(record)
    assert decode(record).client.user_agent == BROWSER_AGENT


@pytest.mark.parametrize(
    "agent",
    ["", "curl/8.5.0", "é" * 256, "\ufffd" * 3 + "x" * 253, "Mozilla/5.0 (compatible; Bot/2.1)"],
)
def test_any_user_agent_comes_back_exactly_as_written(agent: str) -> None:
    assert decode(encode_compact(with_agent(agent))).client.user_agent == agent


def test_a_record_holding_its_user_agent_as_text_reads_and_its_card_is_recognised() -> None:
    """As records written before user agents were packed hold it; a renewal of such a
    record (which checks how the stored record ends) must still find its card."""
    elements = ormsgpack.unpackb(encode_compact(with_agent(BROWSER_AGENT)))
    elements[9] = BROWSER_AGENT
    earlier = ormsgpack.packb(elements)

    read = decode(earlier)

    assert read == with_agent(BROWSER_AGENT)
    assert earlier.endswith(renewal_tails(read)[0])


def test_a_record_read_again_is_not_decoded_again_and_a_renewed_one_is() -> None:
    written = session(id_="00000000000000aa")
    record = encode_compact(written)
    renewed = evolve(written, last_seen_at=NOW + timedelta(minutes=1))

    assert decode(bytes(record)) is decode(bytes(record))
    assert decode(encode_compact(renewed)) == renewed


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

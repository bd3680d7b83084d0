"""What GET /authentication/verify answers in headers is Identity's headers and the methods
header, whichever way they are written: the user's part, written once per user card, equals
Identity.of(user, session).headers() for every card, however unusual its email."""

from __future__ import annotations

import uuid

from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from coatcheck.domain.model import AuthMethod, Email
from coatcheck.entrypoints.http.identity import Identity, methods_header, verify_headers
from tests.factories import make_session

LOCAL = st.text(
    alphabet=st.sampled_from("abcXYZ019.!#$&'*+/=?^_`{|}~-%éü"), min_size=1, max_size=20
).filter(lambda local: not local.startswith(".") and not local.endswith(".") and ".." not in local)


@given(local=LOCAL, verified=st.booleans(), methods=st.sampled_from(list(AuthMethod)))
def test_verify_headers_are_identity_s_headers_and_the_methods(
    local: str, verified: bool, methods: AuthMethod
) -> None:
    session = make_session(uuid.uuid4())
    assert session.user is not None
    user = evolve(session.user, email=Email.as_written(f"{local}@example.com"))
    user = evolve(user, email_verified=verified)
    session = evolve(session, user=user, methods=methods)

    expected = Identity.of(user, session).headers() | methods_header(session)
    assert verify_headers(user, session) == expected
    assert verify_headers(user, session) == expected  # and again, from the user's card kept

"""The session cookie read from a plain Cookie header gives what aiohttp's own parser
gives, for every header the plain reading takes; any other header is left to aiohttp."""

from __future__ import annotations

from aiohttp._cookie_helpers import parse_cookie_header
from aiohttp.test_utils import make_mocked_request
from hypothesis import given, settings
from hypothesis import strategies as st

from coatcheck.entrypoints.http.cookie_header import cookie_of, is_plain, plain_cookie

NAMES = ["__Host-coatcheck", "coatcheck", "a", "x,y", "_ga"]
# every character class the two parsers treat differently, and some that matter to none
TEXT = st.text(alphabet=st.sampled_from(list('ab_-.=;, "\\\t()[]{}<>@:/?$~é\x00')), max_size=40)


def aiohttp_reads(header: str, name: str) -> str | None:
    return {key: morsel.value for key, morsel in parse_cookie_header(header)}.get(name)


@settings(max_examples=500)
@given(st.lists(st.tuples(st.sampled_from([*NAMES, "b c", ""]), TEXT), max_size=4), st.booleans())
def test_a_plain_header_reads_as_aiohttp_reads_it(
    pairs: list[tuple[str, str]], spaced: bool
) -> None:
    header = ("; " if spaced else ";").join(f"{name}={value}" for name, value in pairs)
    if is_plain(header):
        for name in {*NAMES, *(name for name, _ in pairs)}:
            assert plain_cookie(header, name) == aiohttp_reads(header, name)


@given(TEXT)
def test_any_header_reads_as_aiohttp_reads_it(header: str) -> None:
    request = make_mocked_request("GET", "/", headers={"Cookie": header})
    for name in NAMES:
        assert cookie_of(request, name) == aiohttp_reads(header, name)


def test_a_browsers_usual_header_is_plain_and_the_last_of_a_name_counts() -> None:
    header = "_ga=GA1.1.1700000000; __Host-coatcheck=abc-DEF_123; __Host-coatcheck=last"
    assert is_plain(header)
    assert plain_cookie(header, "__Host-coatcheck") == "last"


def test_a_quoted_value_is_left_to_aiohttp() -> None:
    header = 'a="b;c"; __Host-coatcheck=t'
    request = make_mocked_request("GET", "/", headers={"Cookie": header})
    assert not is_plain(header)
    assert cookie_of(request, "a") == "b;c"
    assert cookie_of(request, "__Host-coatcheck") == "t"


def test_no_cookie_header_is_no_cookie() -> None:
    assert cookie_of(make_mocked_request("GET", "/"), "__Host-coatcheck") is None

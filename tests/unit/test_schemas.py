"""The OpenAPI document's patterns refuse exactly the characters the domain refuses."""

from __future__ import annotations

import re
import sys
import unicodedata

from coatcheck.entrypoints.http.schemas import NAME_PATTERN, PASSWORD_PATTERN

EVERY_CHARACTER = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]


def test_the_password_pattern_refuses_exactly_the_control_characters() -> None:
    pattern = re.compile(PASSWORD_PATTERN)
    refused = {char for char in EVERY_CHARACTER if not pattern.fullmatch(char)}
    assert refused == {char for char in EVERY_CHARACTER if unicodedata.category(char) == "Cc"}


def test_the_name_pattern_refuses_exactly_control_format_and_blank_names() -> None:
    pattern = re.compile(NAME_PATTERN)
    refused = {char for char in EVERY_CHARACTER if not pattern.fullmatch(char)}
    assert refused == {
        char
        for char in EVERY_CHARACTER
        if unicodedata.category(char) in {"Cc", "Cf"} or not char.strip()
    }
    assert pattern.fullmatch("  Ada Lovelace ")
    assert not pattern.fullmatch("Ada\u200bLovelace")

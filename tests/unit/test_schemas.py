"""The OpenAPI document's patterns refuse exactly the characters the domain refuses."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from coatcheck.domain.errors import InvalidValue
from coatcheck.domain.model import EmailPolicy
from coatcheck.entrypoints.http.app import create_app
from coatcheck.entrypoints.http.openapi import document_of
from coatcheck.entrypoints.http.schemas import NAME_PATTERN, PASSWORD_PATTERN, new_email_pattern
from coatcheck.entrypoints.settings import Settings

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


# Addresses of the `email` format that a policy may refuse, and ones every policy takes.
ADDRESSES = [
    "ada@example.com",
    "-i-x{@u.test",  # schemathesis' own: a .test domain
    "y/qm@n57qb.qv2.test",
    "ada@EXAMPLE.Test",
    "ada@test",
    "ada@[192.0.2.1]",
    '"ada lovelace"@example.com',
    "ada@host.localhost",
    "ada@example.invalid",
    "ada@printer.local",
    "ada@abc.onion",
    "ada@in-addr.arpa",
    "ada@testing.example",
    "ada@example.tests",
]
POLICIES = [EmailPolicy(ip, test) for ip in (False, True) for test in (False, True)]


def _taken(policy: EmailPolicy, address: str) -> bool:
    try:
        policy.email(address)
    except InvalidValue:
        return False
    return True


@pytest.mark.parametrize("policy", POLICIES, ids=repr)
def test_the_new_address_pattern_refuses_what_the_email_policy_refuses(
    policy: EmailPolicy,
) -> None:
    pattern = re.compile(new_email_pattern(policy))

    said = {address: bool(pattern.fullmatch(address)) for address in ADDRESSES}

    assert said == {address: _taken(policy, address) for address in ADDRESSES}


@pytest.mark.parametrize("policy", POLICIES, ids=repr)
def test_the_document_states_its_deployment_s_email_policy(policy: EmailPolicy) -> None:
    settings = Settings(
        email_allow_ip_literal=policy.allow_ip_literal,
        email_allow_test_domains=policy.allow_test_domains,
    )
    schemas = document_of(create_app(settings))["components"]["schemas"]

    new_addresses = {
        schemas[model]["properties"][field]["pattern"]
        for model, field in [
            ("RegisterBody", "email"),
            ("ChangeEmailBody", "newEmail"),
            ("PasswordResetBody", "email"),
        ]
    }

    assert new_addresses == {new_email_pattern(policy)}
    assert "pattern" not in schemas["LogInBody"]["properties"]["email"]  # older forms log in

"""The two answers a guard gives instead of the application's, byte for byte as coatcheck
itself gives them (problem+json, RFC 9457), with no web framework: 401 without a live
session, 503 when the check could not be made. tests/unit/test_protect_refusals.py holds
them equal to coatcheck's own."""

from __future__ import annotations

import json

from attrs import frozen

PROBLEM_JSON = "application/problem+json; charset=utf-8"
NO_STORE = ("Cache-Control", "no-store")


@frozen
class Refusal:
    status: int
    reason: str  # the status line's phrase
    body: bytes
    headers: tuple[tuple[str, str], ...]  # Content-Type and Cache-Control included


def _refusal(
    status: int, reason: str, slug: str, title: str, detail: str, *extra: tuple[str, str]
) -> Refusal:
    problem = {"type": f"urn:coatcheck:problem:{slug}", "title": title, "status": status}
    body = json.dumps(problem | {"detail": detail}, separators=(",", ":")).encode()
    return Refusal(status, reason, body, (("Content-Type", PROBLEM_JSON), NO_STORE, *extra))


NOT_AUTHENTICATED = _refusal(
    401, "Unauthorized", "not-authenticated", "Not authenticated", "not authenticated"
)
UNAVAILABLE = _refusal(
    503,
    "Service Unavailable",
    "store-unavailable",
    "Service unavailable",
    "the session could not be checked",
    ("Retry-After", "1"),
)

"""How moments read to people and clients alike: the API's JSON and the CLI's lines."""

from __future__ import annotations

from datetime import datetime


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC to the millisecond: `2024-05-01T12:00:00.000Z`."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""Times as text for the stores that keep them so: ISO 8601 in UTC, to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(moment: datetime) -> str:
    """Fixed-width text, so two of them compare in time order; datetime.fromisoformat reads it."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")

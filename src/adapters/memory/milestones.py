"""Milestones in a dict."""

from __future__ import annotations

from datetime import datetime


class InMemoryMilestones:
    def __init__(self) -> None:
        self.moments: dict[str, datetime] = {}

    async def first(self, name: str, moment: datetime) -> datetime:
        return self.moments.setdefault(name, moment)

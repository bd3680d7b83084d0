"""What the request path reuses (decoded session records, user cards, users' JSON) is kept
a while after it was made, a bounded number at a time: the results made for sessions ended
or renewed, and for users gone, do not pile up with every session a process sees."""

from __future__ import annotations

import pytest

from coatcheck.adapters.recent import Recent


class Ticking:
    """A monotonic clock that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def kept_a_minute(most: int = 3) -> tuple[list[str], Recent[str, str], Ticking]:
    made: list[str] = []

    def make(key: str) -> str:
        made.append(key)
        if key == "bad":
            raise ValueError(key)
        return key.upper()

    clock = Ticking()
    return made, Recent(make, seconds=60, most=most, clock=clock), clock


def test_a_result_is_made_once_and_the_same_object_handed_back() -> None:
    made, recent, _ = kept_a_minute()
    first = recent("ada")
    assert recent("ada") is first
    assert made == ["ada"]


def test_a_result_is_dropped_a_minute_after_it_was_made_once_new_ones_come() -> None:
    made, recent, clock = kept_a_minute()
    recent("a")
    clock.now += 59
    recent("b")  # "a", made 59 s ago, stays
    assert len(recent) == 2
    assert recent("a") == "A"
    clock.now += 1
    recent("c")  # and now it is a minute old: dropped
    assert len(recent) == 2
    assert recent("a") == "A"
    assert made == ["a", "b", "c", "a"]


def test_a_result_asked_for_all_along_is_still_made_again_once_a_minute() -> None:
    made, recent, clock = kept_a_minute()
    for _ in range(7):
        recent("a")
        clock.now += 10
    recent("b")  # 70 s after "a" was made
    recent("a")
    assert made == ["a", "b", "a"]


def test_results_never_outnumber_their_bound_the_oldest_going_first() -> None:
    made, recent, clock = kept_a_minute(most=3)
    for key in "abcde":
        recent(key)
        clock.now += 1
    assert len(recent) == 3
    made.clear()
    for key in "cde":
        recent(key)
    assert made == []
    recent("a")
    assert made == ["a"]


def test_what_making_raises_is_not_kept() -> None:
    made, recent, _ = kept_a_minute()
    for _ in range(2):
        with pytest.raises(ValueError, match="bad"):
            recent("bad")
    assert len(recent) == 0
    assert made == ["bad", "bad"]


def test_sessions_of_users_come_and_gone_leave_no_more_than_a_minute_of_results() -> None:
    _, recent, clock = kept_a_minute(most=16_384)
    for second in range(600):  # ten minutes, 20 new keys a second, each asked for once
        for number in range(20):
            recent(f"session-{second}-{number}")
        clock.now += 1
    assert len(recent) == 20 * 60

"""The composition root builds each use-case from its constructor's annotations."""

from __future__ import annotations

import typing

import pytest

from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.memory import InMemorySessionEvents, InMemorySessions
from coatcheck.domain.mail_throttle import MailThrottlePolicy
from coatcheck.domain.ports import Clock, SessionEventFeed, SessionEvents, Sessions
from coatcheck.domain.sessions import SessionPolicy
from coatcheck.domain.tickets import TicketKey
from coatcheck.domain.use_cases import DeleteAccount, DeleteUser
from coatcheck.entrypoints.container import Services
from coatcheck.entrypoints.wiring import Wiring
from tests.factories import NOW
from tests.unit.conftest import Build, Domain


class Helper:
    def __init__(self, sessions: Sessions, clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock


class UseCase:
    def __init__(
        self,
        helper: Helper,
        session_events: SessionEvents,
        policy: SessionPolicy,
        strict: bool,
        retries: int = 3,
    ) -> None:
        self.helper = helper
        self.session_events = session_events
        self.policy = policy
        self.strict = strict
        self.retries = retries


class Other:
    def __init__(self, helper: Helper) -> None:
        self.helper = helper


class NeedsMailPolicy:
    def __init__(self, policy: MailThrottlePolicy) -> None:
        self.policy = policy


class Provided:
    sessions: Sessions
    clock: Clock
    session_events: SessionEventFeed
    session_policy: SessionPolicy
    strict: bool


def wiring(**overrides: object) -> Wiring:
    provided: dict[str, object] = {
        "sessions": InMemorySessions(),
        "clock": FakeClock(NOW),
        "session_events": InMemorySessionEvents(),
        "session_policy": SessionPolicy(single_session=True),
        "strict": True,
        **overrides,
    }
    return Wiring(provided, typing.get_type_hints(Provided))


def test_parameters_are_resolved_by_type_then_by_name_for_protocols_and_plain_values() -> None:
    built = wiring().build(UseCase)
    assert isinstance(built, UseCase)
    assert built.policy == SessionPolicy(single_session=True)  # by type, whatever its name
    assert isinstance(built.session_events, InMemorySessionEvents)  # a protocol, by name
    assert built.strict is True  # a plain value, by name
    assert built.retries == 3  # nothing provides it: its default
    assert isinstance(built.helper.sessions, InMemorySessions)


def test_what_use_cases_need_is_built_once_and_shared() -> None:
    wired = wiring()
    use_case = wired.build(UseCase)
    other = wired.build(Other)
    assert isinstance(use_case, UseCase)
    assert isinstance(other, Other)
    assert use_case.helper is other.helper


def test_a_policy_nothing_provides_is_an_error_not_a_silent_default() -> None:
    with pytest.raises(TypeError, match="MailThrottlePolicy"):
        wiring().build(NeedsMailPolicy)


def test_a_plain_value_of_the_wrong_type_is_an_error() -> None:
    with pytest.raises(TypeError, match="strict"):
        wiring(strict="yes").build(UseCase)


async def test_every_use_case_of_services_is_an_instance_of_its_field_type(app: Domain) -> None:
    for name, hint in typing.get_type_hints(Services).items():
        if isinstance(hint, type) and not getattr(hint, "_is_protocol", False):
            assert isinstance(getattr(app, name), hint), name
    assert isinstance(app.delete_account, DeleteAccount)
    assert isinstance(app.delete_user, DeleteUser)


async def test_an_override_of_the_wrong_type_fails_at_start_up(build: Build) -> None:
    with pytest.raises(TypeError, match="ticket_key"):
        await build(ticket_key=typing.cast(TicketKey, "not a key"))

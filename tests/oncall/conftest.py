"""On-call fixtures: the infrastructure first responders' weekly schedule (handing off Monday
09:00 America/Chicago from Monday 2 November 2026) and the support calendar."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from ceres.oncall import services
from ceres.oncall.models import OnCallSchedule
from ceres.sla import services as sla_services
from ceres.sla.models import BusinessCalendar
from ceres.team.models import Person
from tests.sla.conftest import SUPPORT

CHICAGO = ZoneInfo("America/Chicago")
WEEK = 7 * 24


def chicago(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    """A wall-clock time in Chicago as an aware datetime (what a person means)."""
    return datetime.datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime.datetime], None]:
    def set_now(now: datetime.datetime) -> None:
        monkeypatch.setattr("django.utils.timezone.now", lambda: now)

    return set_now


@pytest.fixture
def ravi(make_person: Callable[..., Person]) -> Person:
    return make_person("engineer", name="Ravi Menon", email="ravi@example.com", username="ravi")


@pytest.fixture
def jonas(make_person: Callable[..., Person]) -> Person:
    return make_person("engineer", name="Jonas Berg", email="jonas@example.com", username="jonas")


@pytest.fixture
def support_calendar(db: None) -> BusinessCalendar:
    return sla_services.save_calendar(actor=None, key="support", spec=SUPPORT)


@pytest.fixture
def first_responder(ravi: Person, jonas: Person) -> OnCallSchedule:
    schedule = services.save_schedule(
        actor=None, key="infrastructure-oncall", name="Infrastructure first responder"
    )
    services.save_layer(
        actor=None,
        schedule=schedule,
        position=0,
        people=[ravi, jonas],
        shift_length_hours=WEEK,
        start=chicago(2026, 11, 2, 9),
        timezone="America/Chicago",
    )
    return schedule


@pytest.fixture
def developer_on_call(support_calendar: BusinessCalendar, cse: Person) -> OnCallSchedule:
    """The developer on-call: the support engineer, weekly from Monday 09:00 Chicago, in the
    support calendar's hours only (nights and weekends are gaps)."""
    schedule = services.save_schedule(actor=None, key="developer-on-call", name="Developer on-call")
    services.save_layer(
        actor=None,
        schedule=schedule,
        position=0,
        people=[cse],
        shift_length_hours=WEEK,
        start=chicago(2026, 11, 2, 9),
        timezone="America/Chicago",
        restriction="support",
    )
    return schedule

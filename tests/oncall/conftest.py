"""On-call fixtures: the infrastructure first responders' weekly schedule (handing off Monday
09:00 America/Chicago from Monday 2 November 2026) and the support calendar."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from ceres.oncall import alarms, services
from ceres.oncall.alarm_formats import AlarmEvent
from ceres.oncall.models import (
    Alarm,
    AlarmIntegration,
    EscalationPolicy,
    EscalationStep,
    OnCallSchedule,
)
from ceres.sla import services as sla_services
from ceres.sla.models import BusinessCalendar
from ceres.team.models import Person
from tests.sla.conftest import SUPPORT

CHICAGO = ZoneInfo("America/Chicago")
WEEK = 7 * 24


def chicago(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    """A wall-clock time in Chicago as an aware datetime (what a person means)."""
    return datetime.datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


def weekly(
    key: str,
    people: list[Person],
    first: datetime.datetime,
    *,
    name: str = "",
    restriction: str = "",
    position: int = 0,
    schedule: OnCallSchedule | None = None,
) -> OnCallSchedule:
    """A weekly rotation of `people` from `first` (Chicago), as layer `position` of the
    schedule `key` (made when `schedule` is not given); `restriction`: a calendar's key."""
    if schedule is None:
        schedule = services.save_schedule(actor=None, key=key, name=name or key)
    services.save_layer(
        actor=None,
        schedule=schedule,
        position=position,
        people=people,
        shift_length_hours=WEEK,
        start=first,
        timezone="America/Chicago",
        restriction=restriction,
    )
    return schedule


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
    return weekly(
        "infrastructure-oncall",
        [ravi, jonas],
        chicago(2026, 11, 2, 9),
        name="Infrastructure first responder",
    )


@pytest.fixture
def developer_on_call(support_calendar: BusinessCalendar, cse: Person) -> OnCallSchedule:
    """The developer on-call: the support engineer, weekly from Monday 09:00 Chicago, in the
    support calendar's hours only (nights and weekends are gaps)."""
    return weekly(
        "developer-on-call",
        [cse],
        chicago(2026, 11, 2, 9),
        name="Developer on-call",
        restriction="support",
    )


# --- escalation: the handbook's chain and an integration paging through it -------------------

# Tuesday 24 November 2026: Jonas's week on the first-responder rotation (Ravi, Jonas from
# Monday 2 November 09:00 Chicago).
NIGHT = chicago(2026, 11, 24, 3, 12)
DAY = chicago(2026, 11, 24, 10, 0)
HELP_P1 = "C0HELPP1"


@pytest.fixture
def people(ravi: Person, jonas: Person, vp: Person) -> dict[str, Person]:
    Person.objects.filter(pk=ravi.pk).update(slack_user_id="U0RAVI", phone="+15555550101")
    Person.objects.filter(pk=jonas.pk).update(slack_user_id="U0JONAS", phone="+15555550102")
    Person.objects.filter(pk=vp.pk).update(slack_user_id="U0ADA")
    return {p.name.split()[0].lower(): p for p in Person.objects.all()}


@pytest.fixture
def policy(
    first_responder: OnCallSchedule, people: dict[str, Person], support_calendar: BusinessCalendar
) -> EscalationPolicy:
    """The handbook's chain: the first responder (Slack and SMS), the site owner, the VP;
    each waits 15 minutes; the whole chain once more."""
    policy = EscalationPolicy.objects.create(
        key="infrastructure-alarm",
        name="Infrastructure alarm",
        repeat=1,
        alarm_channel=HELP_P1,
        target_calendar="support",
    )
    EscalationStep.objects.create(
        policy=policy,
        position=0,
        schedule=first_responder,
        via=["slack", "sms"],
        wait_minutes=15,
    )
    EscalationStep.objects.create(
        policy=policy, position=1, people=[people["ravi"].pk], via=["slack"], wait_minutes=15
    )
    EscalationStep.objects.create(
        policy=policy, position=2, role="vp-cs", via=["slack", "email"], wait_minutes=15
    )
    return policy


@pytest.fixture
def integration(policy: EscalationPolicy) -> AlarmIntegration:
    integration, _ = alarms.create_integration(actor=None, name="Prometheus", kind="alertmanager")
    integration.escalation_policy = policy
    integration.save()
    return integration


def fire(
    integration: AlarmIntegration,
    at: datetime.datetime,
    key: str = "db-cpu",
    status: str = "firing",
) -> Alarm:
    event = AlarmEvent(dedup_key=key, title=f"{key} high", severity="critical", status=status)
    touched = alarms.ingest(integration=integration, events=[event], now=at)
    return Alarm.objects.get(pk=touched[0].pk) if touched else Alarm.objects.get(dedup_key=key)

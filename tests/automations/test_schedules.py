"""Rules on a schedule: at each moment, once, over the open conversations their conditions
pick (e.g. a nudge for conversations left waiting on the customer for days)."""

from __future__ import annotations

import datetime

import pytest

from ceres.automations import services
from ceres.automations.models import AutomationFiring, AutomationRule
from ceres.automations.rules import last_moment
from ceres.conversations import services as conversation_services
from ceres.conversations.models import Conversation
from ceres.core.errors import Invalid
from ceres.team.models import Person

pytestmark = pytest.mark.django_db

CHICAGO = datetime.timezone(datetime.timedelta(hours=-6))
WEEKDAYS_9 = {
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "at": "09:00",
    "timezone": "America/Chicago",
}


def nudge_rule() -> AutomationRule:
    return services.save_rule(
        actor=None,
        key="nudge-waiting",
        trigger="schedule",
        schedule=WEEKDAYS_9,
        conditions={"status": "waiting_on_customer", "idle_for": "2d"},
        actions=[{"add_tag": "nudge"}],
    )


def conversation(subject: str, status: str, changed: datetime.datetime) -> Conversation:
    c = conversation_services.open_conversation(
        actor=None, source="email", subject=subject, body=subject, requester_email="x@example.org"
    )
    Conversation.objects.filter(pk=c.pk).update(status=status, updated_at=changed)
    return Conversation.objects.get(pk=c.pk)


def test_the_last_moment_of_a_schedule() -> None:
    friday_8 = datetime.datetime(2026, 12, 4, 8, 0, tzinfo=CHICAGO)
    assert last_moment(WEEKDAYS_9, friday_8) == datetime.datetime(
        2026, 12, 3, 15, 0, tzinfo=datetime.UTC
    )  # Thursday 09:00 Chicago
    sunday = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=CHICAGO)
    assert last_moment(WEEKDAYS_9, sunday) == datetime.datetime(
        2026, 12, 4, 15, 0, tzinfo=datetime.UTC
    )


def test_a_schedule_rule_runs_once_per_moment_on_what_its_conditions_pick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.utils import timezone

    created = datetime.datetime(2026, 11, 30, 8, 0, tzinfo=CHICAGO)  # Monday, before 09:00
    monkeypatch.setattr(timezone, "now", lambda: created)
    rule = nudge_rule()
    stale = conversation("stale", "waiting_on_customer", created - datetime.timedelta(days=3))
    fresh = conversation("fresh", "waiting_on_customer", created - datetime.timedelta(hours=5))
    conversation("open", "open", created - datetime.timedelta(days=3))
    before_nine = created + datetime.timedelta(minutes=30)
    assert services.run_schedules(now=before_nine) == 0  # Monday 09:00 has not come
    at_nine = datetime.datetime(2026, 11, 30, 9, 0, 30, tzinfo=CHICAGO)
    assert services.run_schedules(now=at_nine) == 1
    assert services.run_schedules(now=at_nine + datetime.timedelta(minutes=1)) == 0  # once
    assert [t.name for t in Conversation.objects.get(pk=stale.pk).tags.all()] == ["nudge"]
    assert not Conversation.objects.get(pk=fresh.pk).tags.exists()
    firing = AutomationFiring.objects.get()
    assert firing.event_key.startswith("schedule:2026-11-30T15:00:00+00:00:")
    rule.refresh_from_db()
    assert rule.last_run_for == datetime.datetime(2026, 11, 30, 15, 0, tzinfo=datetime.UTC)


def test_a_rule_does_not_run_for_a_moment_before_it_existed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.utils import timezone

    created = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=CHICAGO)  # after Monday's 09:00
    monkeypatch.setattr(timezone, "now", lambda: created)
    nudge_rule()
    conversation("stale", "waiting_on_customer", created - datetime.timedelta(days=3))
    assert services.run_schedules(now=created + datetime.timedelta(minutes=1)) == 0
    tuesday = datetime.datetime(2026, 12, 1, 9, 1, tzinfo=CHICAGO)
    assert services.run_schedules(now=tuesday) == 1


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({}, "schedule"),
        ({"days": ["someday"], "at": "09:00"}, "schedule.days"),
        ({"days": ["mon"], "at": "9am"}, "schedule.at"),
        ({"days": ["mon"], "at": "09:00", "timezone": "Mars/Base"}, "schedule.timezone"),
        ({"days": ["mon"], "at": "09:00", "every": "week"}, "schedule"),
    ],
)
def test_bad_schedules_are_refused(schedule: dict[str, object], field: str, vp: Person) -> None:
    with pytest.raises(Invalid) as refused:
        services.save_rule(
            actor=None, key="x", trigger="schedule", schedule=schedule, actions=[{"add_tag": "x"}]
        )
    assert refused.value.field == field
    with pytest.raises(Invalid) as wrong:
        services.save_rule(
            actor=None,
            key="y",
            trigger="message_received",
            schedule=WEEKDAYS_9,
            actions=[{"add_tag": "x"}],
        )
    assert wrong.value.field == "schedule"
    assert not AutomationRule.objects.exists()

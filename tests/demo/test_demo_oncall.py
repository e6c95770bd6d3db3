"""The demo's on-call schedules: the handbook's three, from the demo playbook's rotations with
its people, and the demo's one replacement, made once however often the demo runs."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from ceres.demo.oncall import make_oncall_override
from ceres.oncall import selectors
from ceres.oncall.models import EscalationPolicy, OnCallSchedule, ScheduleOverride

CHICAGO = ZoneInfo("America/Chicago")


def test_demo_makes_the_handbook_schedules_once(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.datetime(2026, 11, 25, 12, tzinfo=CHICAGO)  # a Wednesday
    monkeypatch.setattr("django.utils.timezone.now", lambda: now)
    call_command("demo", accounts=0, seed=3, issues=True, no_progress=True)
    keys = set(OnCallSchedule.objects.values_list("key", flat=True))
    assert keys == {"developer-on-call", "infrastructure-oncall", "premium-support"}
    assert make_oncall_override(now=now) == 0
    assert ScheduleOverride.objects.count() == 1
    override = ScheduleOverride.objects.select_related("schedule", "person").get()
    assert (override.schedule.key, override.person.role.key) == ("premium-support", "cse")
    handles = dict(OnCallSchedule.objects.values_list("key", "slack_usergroup_handle"))
    assert handles == {
        "developer-on-call": "oncall",
        "infrastructure-oncall": "infrastructure-oncall",
        "premium-support": "",
    }
    chain = EscalationPolicy.objects.get(key="infrastructure-alarm")
    assert (chain.repeat, chain.alarm_channel, chain.target_calendar) == (2, "C0HELPP1", "support")
    steps = chain.steps.order_by("position").select_related("schedule")
    assert [(s.schedule.key if s.schedule else s.role or "person") for s in steps] == [
        "infrastructure-oncall",
        "person",
        "vp-cs",
        "support-manager",
    ]

    infra = selectors.on_call_now_detail(selectors.get_schedule("infrastructure-oncall"), now=now)
    assert infra.person is not None
    assert infra.person.role.key == "infra"
    assert infra.next_person is not None
    assert infra.next_person != infra.person
    assert infra.until is not None
    local = infra.until.astimezone(CHICAGO)
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)  # Monday 09:00 Chicago

    premium = selectors.get_schedule("premium-support")
    by_day = selectors.on_call_now(premium.key, now=now)
    at_night = selectors.on_call_now(premium.key, now=now + datetime.timedelta(hours=10))
    assert by_day is not None
    assert by_day.role.key == "cse"
    assert at_night is not None
    assert at_night.role.key == "infra"
    assert not selectors.upcoming_gaps(premium, days=14, now=now)
    dev = selectors.get_schedule("developer-on-call")
    on_call = selectors.on_call_now(dev.key, now=now)
    assert on_call is not None
    assert on_call.role.key == "engineer"

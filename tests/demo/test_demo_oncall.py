"""The demo's on-call schedules: the handbook's three, from the demo playbook's rotations with
its people, and the demo's one replacement, made once however often the demo runs; two weeks
of alarms from two integrations, last Monday's handoff summaries and a retro, shown by the
on-call pages, with none of the pages they wrote left to be sent."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import Client

from ceres.core.audit.models import AuditEntry
from ceres.core.outbox.models import OutboxMessage
from ceres.demo.oncall import NOT_SENT, make_oncall_activity, make_oncall_override
from ceres.oncall import selectors
from ceres.oncall.models import (
    Alarm,
    AlarmIntegration,
    AlarmPage,
    EscalationPolicy,
    HandoffSummary,
    OnCallSchedule,
    Retro,
    ScheduleOverride,
)
from ceres.team.models import Person

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
    assert (local.weekday(), local.hour, local.minute) == (0, 8, 0)  # Monday 08:00 Chicago

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


def _oncall_rows() -> dict[str, int]:
    models = (AlarmIntegration, Alarm, AlarmPage, HandoffSummary, Retro, ScheduleOverride)
    return {model.__name__: model.objects.count() for model in models} | {
        "outbox": OutboxMessage.objects.filter(idempotency_key__startswith="oncall-").count()
    }


def test_demo_on_call_activity_shows_on_every_page_and_sends_nothing(
    db: None, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.datetime(2026, 11, 25, 12, tzinfo=CHICAGO)  # a Wednesday
    monkeypatch.setattr("django.utils.timezone.now", lambda: now)
    call_command("demo", accounts=0, seed=3, issues=True, no_progress=True)

    chain = EscalationPolicy.objects.get(key="infrastructure-alarm")
    kinds = {
        i.name: (i.kind, i.schedule.key if i.schedule else None, i.escalation_policy_id)
        for i in AlarmIntegration.objects.select_related("schedule")
    }
    assert kinds == {
        "Prometheus (Managed Cloud)": ("alertmanager", "infrastructure-oncall", chain.pk),
        "fleetdm.com uptime": ("generic", "infrastructure-oncall", chain.pk),
    }
    alarms = list(Alarm.objects.order_by("first_seen_at"))
    assert len(alarms) == 9
    assert all(now - datetime.timedelta(days=17) < a.first_seen_at < now for a in alarms)
    assert sum(a.count > 1 for a in alarms) >= 5  # repeats count on the open alarm
    resolved = [a for a in alarms if a.status == Alarm.Status.RESOLVED]
    assert len(resolved) == 7
    assert [a.title for a in alarms if a.status == Alarm.Status.ACKNOWLEDGED] == [
        "Managed Cloud: Redis memory above 85%"
    ]
    [firing] = [a for a in alarms if a.status == Alarm.Status.FIRING]
    assert firing.first_seen_at > now - datetime.timedelta(minutes=10)
    assert firing.next_escalation_at is None  # a demo pages nobody later: its chain stopped
    assert AlarmPage.objects.filter(alarm=firing).exists()  # paged when it opened
    assert firing.ack_due_at is not None
    assert firing.ack_due_at > now
    # Most acknowledged in time, one late (paged on to the VP, a suspected-outage issue), one
    # gone by itself before anyone answered.
    met = [a for a in resolved if a.first_acknowledged_at and a.ack_due_at
           and a.first_acknowledged_at <= a.ack_due_at]  # fmt: skip
    [late] = [a for a in resolved if a.first_acknowledged_at and a.ack_due_at
              and a.first_acknowledged_at > a.ack_due_at]  # fmt: skip
    [by_itself] = [a for a in resolved if a.first_acknowledged_at is None]
    assert len(met) == 5
    assert late.outage_issue_id is not None
    assert late.pages.filter(person__role__key="vp-cs").exists()
    assert by_itself.resolved_by_id is None
    assert any(a.resolved_by_id for a in resolved)  # and one resolved by hand
    for alarm in alarms:  # every page and acknowledgement at its own instant, in the past
        assert alarm.pages.exists()
        assert all(alarm.first_seen_at <= p.paged_at <= now for p in alarm.pages.all())
    assert AuditEntry.objects.filter(action="oncall.alarm.acknowledge").count() == 7

    infra = selectors.get_schedule("infrastructure-oncall")
    summary = HandoffSummary.objects.get(schedule=infra)
    assert summary.week_start == datetime.date(2026, 11, 23)
    assert summary.posted_at is not None
    assert "Managed Cloud: API p99 latency above 2s (6 times)" in summary.body
    assert "_Add what the next on-call" not in summary.body  # the items to watch filled in
    retro = Retro.objects.get()
    assert (retro.schedule, retro.week_start) == (infra, datetime.date(2026, 11, 16))
    assert retro.written_by == summary.outgoing
    assert "API p99 latency" in retro.could_be_better

    # The pages the demo's alarms and summaries wrote never leave, whatever is set up later.
    demo_rows = OutboxMessage.objects.filter(idempotency_key__startswith="oncall-")
    assert demo_rows.count() > 30
    assert set(demo_rows.values_list("status", "last_error")) == {("dead", NOT_SENT)}
    assert not OutboxMessage.objects.filter(status="pending", last_error=NOT_SENT).exists()

    before = _oncall_rows()
    assert make_oncall_activity(now=now).alarms == 0
    call_command("demo", accounts=0, seed=3, issues=True, no_progress=True)
    assert _oncall_rows() == before

    client.force_login(Person.objects.get(user__username="ada").user)
    pages = {
        "/oncall/": ["Alarms", "Alarm integrations", "Handoff summaries", "Retros"],
        "/oncall/alarms/": [firing.title, "Managed Cloud: Redis memory above 85%"],
        "/oncall/alarms/?state=resolved": [late.title, by_itself.title, "late", "met"],
        f"/oncall/alarms/{firing.pk}/": [firing.title, "Unacknowledged", "Who was paged"],
        f"/oncall/alarms/{late.pk}/": [late.title, "Late", late.outage_issue.reference],
        "/oncall/integrations/": ["Prometheus (Managed Cloud)", "fleetdm.com uptime"],
        "/oncall/handoffs/": ["Infrastructure first responder", "posted", "draft"],
        f"/oncall/handoffs/{summary.pk}/": ["Redis memory on the Managed Cloud"],
        "/oncall/retros/": ["Infrastructure first responder", "Mon Nov 16, 2026"],
        f"/oncall/retros/{retro.pk}/": ["customer call", late.title],
    }
    for url, texts in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for text in texts:
            assert text in html, (url, text)


NAV = {
    "schedules": "/oncall/",
    "alarms": "/oncall/alarms/",
    "integrations": "/oncall/integrations/",
    "handoffs": "/oncall/handoffs/",
    "retros": "/oncall/retros/",
}


def _nav_links(html: str) -> list[str]:
    nav = html.split('<nav class="segmented oncall-nav"', 1)[1].split("</nav>", 1)[0]
    return [key for key in NAV if f'data-nav="{key}"' in nav]


def test_every_oncall_page_links_to_the_others_and_the_sidebar_to_alarms(
    db: None, client: Client
) -> None:
    call_command("demo", accounts=0, seed=3, no_progress=True)
    people = {p.user.username: p for p in Person.objects.select_related("user")}
    client.force_login(people["ada"].user)
    for key, url in NAV.items():
        html = client.get(url).content.decode()
        assert _nav_links(html) == list(NAV), url
        assert f'href="{url}" data-nav="{key}" aria-current="page"' in html, url
        sidebar = html.split('<nav class="sidebar"', 1)[1].split("</nav>", 1)[0]
        on_alarms = key == "alarms"
        assert ('<a href="/oncall/alarms/" aria-current="page">' in sidebar) is on_alarms
        assert ('<a href="/oncall/" aria-current="page">' in sidebar) is not on_alarms
    # Each link needs its page's permission: an evangelist sees schedules, alarms and retros.
    client.force_login(people["zoe"].user)
    assert _nav_links(client.get("/oncall/").content.decode()) == [
        "schedules",
        "alarms",
        "retros",
    ]
    # Someone without on-call permissions has neither sidebar entry.
    client.force_login(people["iris"].user)
    html = client.get("/accounts/").content.decode()
    assert 'href="/oncall/"' not in html
    assert 'href="/oncall/alarms/"' not in html

"""The weekly handoff summary: drafted after the Monday 09:00 Chicago handoff with the week's
alarms and the right open issues (never the confidential repository's), once, with a DM to the
outgoing on-call through the outbox; edited and posted to the schedule's channel once; bad input
answered on the field with nothing written; and its permissions."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Conflict, Invalid
from ceres.core.outbox.models import OutboxMessage
from ceres.core.periodic.registry import load_jobs
from ceres.oncall import alarms, handoff
from ceres.oncall.models import (
    Alarm,
    AlarmIntegration,
    EscalationPolicy,
    EscalationStep,
    HandoffSummary,
    OnCallSchedule,
)
from ceres.team import services as team_services
from ceres.team.models import Person
from ceres.tracker.models import IssueLabel, TrackerIssue, TrackerRepository
from tests.oncall.conftest import chicago, weekly

pytestmark = pytest.mark.django_db

HANDOFF = chicago(2026, 11, 9, 9)  # Ravi Menon hands over to Jonas Berg
AFTER = chicago(2026, 11, 9, 9, 30)
CHANNEL = "C0HELPCUST"
BASE = "https://ceres.example.com"


@pytest.fixture(autouse=True)
def base_url(settings: Settings) -> None:
    settings.BASE_URL = BASE


@pytest.fixture
def schedule(first_responder: OnCallSchedule, ravi: Person) -> OnCallSchedule:
    OnCallSchedule.objects.filter(pk=first_responder.pk).update(handoff_channel=CHANNEL)
    first_responder.refresh_from_db()
    Person.objects.filter(pk=ravi.pk).update(slack_user_id="U0RAVI")
    return first_responder


def integration(name: str, schedule: OnCallSchedule | None = None) -> AlarmIntegration:
    return alarms.create_integration(actor=None, name=name, kind="generic", schedule=schedule)[0]


def alarm(source: AlarmIntegration, title: str, seen: datetime.datetime, **values: Any) -> Alarm:
    return Alarm.objects.create(
        integration=source,
        dedup_key=title,
        title=title,
        severity=values.pop("severity", "critical"),
        first_seen_at=seen,
        last_seen_at=seen,
        **values,
    )


def issue(repo: TrackerRepository, title: str, *labels: str, **values: Any) -> TrackerIssue:
    repo.last_number += 1
    repo.save(update_fields=["last_number"])
    row = TrackerIssue.objects.create(
        repository=repo, number=repo.last_number, title=title, **values
    )
    IssueLabel.objects.bulk_create([IssueLabel(issue=row, name=name) for name in labels])
    return row


@pytest.fixture
def week(schedule: OnCallSchedule, jonas: Person, ravi: Person) -> dict[str, Any]:
    """A week of alarms and issues around the 9 November handoff."""
    prometheus = integration("Prometheus", schedule)
    # An integration without a schedule whose chain pages the first responder: its alarms count.
    paged = integration("Uptime checks")
    policy = EscalationPolicy.objects.create(key="infra", name="Infrastructure")
    EscalationStep.objects.create(
        policy=policy, position=0, schedule=schedule, via=["slack"], wait_minutes=5
    )
    AlarmIntegration.objects.filter(pk=paged.pk).update(escalation_policy=policy)
    elsewhere = integration("Billing")
    ack = chicago(2026, 11, 3, 10, 4)
    alarm(
        prometheus,
        "checkout.example.com is down",
        chicago(2026, 11, 3, 10),
        status="resolved",
        count=12,
        resolved_at=chicago(2026, 11, 3, 12, 10),
        acknowledged_by=ravi,
        acknowledged_at=ack,
        first_acknowledged_at=ack,
    )
    alarm(paged, "<!channel> TLS certificate expires in 3 days", chicago(2026, 11, 6, 22))
    alarm(elsewhere, "Invoices job failed", chicago(2026, 11, 4, 8))
    alarm(prometheus, "Disk 85% on db-1", chicago(2026, 10, 30, 7), severity="warning")
    alarm(prometheus, "Before the week", chicago(2026, 11, 2, 8, 59), status="resolved")
    alarm(prometheus, "After the handoff", chicago(2026, 11, 9, 9, 10))
    public = TrackerRepository.objects.create(name="public", visibility="public", backend="builtin")
    secret = TrackerRepository.objects.create(
        name="confidential", visibility="confidential", backend="builtin"
    )
    return {
        "impact": issue(public, "Hosts go offline after the upgrade", "bug", "customer-kamooalewa"),
        "bug": issue(public, "Typo on the settings page", "bug", ":reproduce"),
        "investigate": issue(public, "Slow host search", "~investigate"),
        "feature": issue(public, "Export hosts as CSV", "customer-kamooalewa"),
        "closed": issue(public, "Fixed last week", "bug", "customer-kamooalewa", state="closed"),
        "secret": issue(secret, "Acme Robotics outage of hosts", "bug", "customer-kamooalewa"),
    }


def section(body: str, title: str) -> str:
    return body.split(f"*{title}", 1)[1].split("\n\n", 1)[0]


def drafted_summary(clock: Callable[[datetime.datetime], None]) -> HandoffSummary:
    clock(AFTER)
    assert handoff.draft_summaries() == 1
    return HandoffSummary.objects.get()


# --- drafting ------------------------------------------------------------------------------------


def test_drafted_after_the_monday_handoff_with_the_weeks_alarms_and_issues(
    schedule: OnCallSchedule,
    week: dict[str, Any],
    ravi: Person,
    clock: Callable[[datetime.datetime], None],
) -> None:
    clock(chicago(2026, 11, 9, 8, 45))
    assert handoff.draft_summaries() == 0  # before the handoff
    summary = drafted_summary(clock)
    assert summary.schedule == schedule
    assert summary.week_start == datetime.date(2026, 11, 9)
    assert summary.outgoing == ravi
    assert summary.drafted_at == AFTER
    assert summary.posted_at is None
    body = summary.body
    assert body.startswith("*Infrastructure first responder: on-call handoff, Mon Nov 9, 2026*")
    assert "Ravi Menon hands over to Jonas Berg." in body

    alarms_of_week = section(body, "Alarms of the week")
    assert "(Mon Nov 2, 09:00 to Mon Nov 9, 09:00 CST): 2" in alarms_of_week
    assert (
        "- Tue Nov 3, 10:00 [critical] checkout.example.com is down (12 times): resolved after "
        "2h 10m, acknowledged by Ravi Menon in 4m"
    ) in alarms_of_week
    assert "<!channel> TLS certificate expires in 3 days: firing, not acknowledged" in body
    for absent in ("Invoices job failed", "Before the week", "Disk 85%"):
        assert absent not in alarms_of_week
    assert "After the handoff" not in body  # the incoming on-call's already

    unresolved = section(body, "Still unresolved")
    assert "Disk 85% on db-1: firing since Fri Oct 30, 07:00" in unresolved
    assert "TLS certificate" in unresolved
    assert "checkout.example.com" not in unresolved

    with_impact = section(body, "Open issues with end-user impact")
    impact = week["impact"]
    assert (
        f"- public#{impact.number} Hosts go offline after the upgrade (customer-kamooalewa) "
        f"{BASE}/tracker/{impact.pk}/"
    ) in with_impact
    assert "Typo" not in with_impact
    without = section(body, "Open issues without end-user impact")
    assert "Typo on the settings page (bug)" in without
    assert "Slow host search (~investigate)" in without
    assert "Hosts go offline" not in without
    for never in ("Export hosts as CSV", "Fixed last week", "Acme Robotics", "confidential#"):
        assert never not in body
    assert body.endswith("*Items to watch*\n" + handoff.WATCH_PLACEHOLDER)
    entry = AuditEntry.objects.get(action="oncall.handoff.draft")
    assert (entry.actor_label, entry.changes["notified"]) == ("handoff summary", [None, "slack"])


def test_the_outgoing_on_call_is_sent_a_dm_with_the_link_through_the_outbox(
    schedule: OnCallSchedule, clock: Callable[[datetime.datetime], None]
) -> None:
    summary = drafted_summary(clock)
    message = OutboxMessage.objects.get(idempotency_key=f"oncall-handoff-{summary.pk}-drafted")
    assert message.channel == "slack"
    assert message.payload["method"] == "dm"
    assert message.payload["args"]["user"] == "U0RAVI"
    assert f"{BASE}/oncall/handoffs/{summary.pk}/" in message.payload["args"]["text"]


def test_without_a_slack_id_the_outgoing_on_call_gets_an_email(
    first_responder: OnCallSchedule, clock: Callable[[datetime.datetime], None]
) -> None:
    summary = drafted_summary(clock)
    message = OutboxMessage.objects.get(idempotency_key=f"oncall-handoff-{summary.pk}-drafted")
    assert message.channel == "email"
    assert message.payload["to"] == ["ravi@example.com"]
    assert f"{BASE}/oncall/handoffs/{summary.pk}/" in message.payload["body"]


def test_drafting_twice_or_racing_makes_one_summary_and_one_dm(
    schedule: OnCallSchedule,
    clock: Callable[[datetime.datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drafted_summary(clock)
    clock(AFTER + datetime.timedelta(minutes=15))
    assert handoff.draft_summaries() == 0
    # Another worker's check ran before the row existed: the constraint refuses the second.
    monkeypatch.setattr(handoff, "_already_drafted", lambda schedule, week_start: False)
    assert handoff.draft_summaries() == 0
    assert HandoffSummary.objects.count() == 1
    assert OutboxMessage.objects.filter(idempotency_key__endswith="-drafted").count() == 1
    assert AuditEntry.objects.filter(action="oncall.handoff.draft").count() == 1


def test_the_periodic_job_drafts_every_15_minutes(
    schedule: OnCallSchedule, clock: Callable[[datetime.datetime], None]
) -> None:
    job = {job.name: job for job in load_jobs()}["oncall.handoff-summaries"]
    assert job.every == datetime.timedelta(minutes=15)
    clock(AFTER)
    job.run()
    assert HandoffSummary.objects.count() == 1


def test_the_rotations_first_turn_and_a_day_later_draft_nothing(
    schedule: OnCallSchedule, clock: Callable[[datetime.datetime], None]
) -> None:
    clock(chicago(2026, 11, 2, 9, 30))  # nobody -> Ravi: nobody to write a summary
    assert handoff.draft_summaries() == 0
    clock(chicago(2026, 11, 10, 9, 30))  # the handoff is more than 24 hours ago
    assert handoff.draft_summaries() == 0
    assert not HandoffSummary.objects.exists()


def test_a_business_hours_schedule_hands_off_across_the_weekend_gap(
    support_calendar: Any, ravi: Person, jonas: Person, clock: Callable[[datetime.datetime], None]
) -> None:
    weekly(
        "developer-on-call",
        [ravi, jonas],
        chicago(2026, 11, 2, 9),
        name="Developer",
        restriction="support",
    )
    clock(chicago(2026, 11, 6, 17, 30))  # Ravi -> nobody on Friday evening: no handoff
    assert handoff.draft_summaries() == 0
    clock(chicago(2026, 11, 10, 9, 30))  # nobody -> Jonas again on Tuesday: no handoff
    assert handoff.draft_summaries() == 0
    summary = drafted_summary(clock)  # nobody -> Jonas on Monday, after Ravi's week
    assert (summary.outgoing, summary.week_start) == (ravi, datetime.date(2026, 11, 9))


def test_the_week_that_holds_the_dst_change_is_169_hours(
    ravi: Person, jonas: Person, clock: Callable[[datetime.datetime], None]
) -> None:
    schedule = weekly("autumn", [ravi, jonas], chicago(2026, 10, 26, 9), name="Autumn")
    (week,) = handoff.week_handoffs(schedule, chicago(2026, 11, 2), chicago(2026, 11, 3))
    assert week.at == chicago(2026, 11, 2, 9)
    assert week.week_from == chicago(2026, 10, 26, 9)
    assert week.at - week.week_from == datetime.timedelta(hours=169)


# --- editing and posting -------------------------------------------------------------------------


@pytest.fixture
def ada(client: Client, vp: Person, clock: Callable[[datetime.datetime], None]) -> Client:
    vp.timezone = "America/Chicago"
    vp.save(update_fields=["timezone"])
    client.force_login(vp.user)
    return client


def posts() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(idempotency_key__endswith="-post"))


def test_edit_then_post_once(
    ada: Client,
    vp: Person,
    schedule: OnCallSchedule,
    week: dict[str, Any],
    clock: Callable[[datetime.datetime], None],
) -> None:
    summary = drafted_summary(clock)
    page = f"/oncall/handoffs/{summary.pk}/"
    html = ada.get("/oncall/handoffs/").content.decode()
    assert f'href="{page}"' in html
    assert 'badge-open">draft' in html
    html = ada.get(page).content.decode()
    assert "<textarea" in html
    assert "checkout.example.com is down" in html
    assert f"Post to <code>{CHANNEL}</code>" in html

    edited = summary.body.replace(handoff.WATCH_PLACEHOLDER, "- The TLS renewal is on Jonas.")
    assert ada.post(page, {"body": edited}).status_code == 302
    summary.refresh_from_db()
    assert summary.body == edited
    assert AuditEntry.objects.filter(action="oncall.handoff.update", actor_label="ada").exists()

    clock(chicago(2026, 11, 9, 10))
    final = edited + "\nThanks all."
    assert ada.post(f"{page}post/", {"body": final}).status_code == 302
    summary.refresh_from_db()
    assert (summary.body, summary.posted_at, summary.posted_by) == (
        final,
        chicago(2026, 11, 9, 10),
        vp,
    )
    (message,) = posts()
    assert message.channel == "slack"
    assert message.payload["method"] == "chat.postMessage"
    args = message.payload["args"]
    assert args["channel"] == CHANNEL
    assert "thread_ts" not in args
    assert "- The TLS renewal is on Jonas." in args["text"]
    assert "&lt;!channel&gt; TLS certificate" in args["text"]  # never pings the channel
    assert "<!channel>" not in args["text"]
    assert AuditEntry.objects.filter(action="oncall.handoff.post").count() == 1

    # Posted is final: read-only page, a second post and an edit are conflicts.
    html = ada.get(page).content.decode()
    assert "<textarea" not in html
    assert 'badge-done">posted' in html
    second = ada.post(f"{page}post/", {"body": final})
    assert second.status_code == 409
    assert "a posted summary is final" in second.content.decode()
    late = ada.post(page, {"body": "Something else"})
    assert late.status_code == 409
    assert "a posted summary is final" in late.content.decode()
    summary.refresh_from_db()
    assert summary.body == final
    assert len(posts()) == 1
    with pytest.raises(Conflict):
        handoff.post_summary(actor=None, summary=summary, person=None)


def test_posting_without_a_channel_is_refused_naming_the_field(
    ada: Client, first_responder: OnCallSchedule, clock: Callable[[datetime.datetime], None]
) -> None:
    summary = drafted_summary(clock)
    with pytest.raises(Invalid) as refused:
        handoff.post_summary(actor=None, summary=summary, person=None)
    assert refused.value.field == "handoff_channel"
    r = ada.post(f"/oncall/handoffs/{summary.pk}/post/", {"body": "Edited"})
    assert r.status_code == 422
    assert "Handoff channel" in r.content.decode()
    assert "has no handoff channel" in r.content.decode()
    summary.refresh_from_db()
    assert summary.posted_at is None
    assert summary.body != "Edited"
    assert posts() == []


@pytest.mark.parametrize("action", ["save", "post"])
@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("", 422, "must not be blank"),
        ("   \n ", 422, "must not be blank"),
        ("Hello\x00there", 400, "Null characters are not allowed"),
        ("x" * 40_001, 422, "at most 40,000 characters"),
    ],
)
def test_bad_bodies_are_answered_on_the_field_and_nothing_is_written(
    ada: Client,
    schedule: OnCallSchedule,
    clock: Callable[[datetime.datetime], None],
    action: str,
    body: str,
    status: int,
    message: str,
) -> None:
    summary = drafted_summary(clock)
    draft = summary.body
    url = f"/oncall/handoffs/{summary.pk}/" + ("post/" if action == "post" else "")
    r = ada.post(url, {"body": body})
    assert r.status_code == status
    field = r.content.decode().split('data-field="body"', 1)[1].split("</div>", 1)[0]
    assert "field-error" in field
    assert message in field
    summary.refresh_from_db()
    assert (summary.body, summary.posted_at) == (draft, None)
    assert posts() == []
    written = ["oncall.handoff.update", "oncall.handoff.post"]
    assert not AuditEntry.objects.filter(action__in=written).exists()


def test_the_services_refuse_a_nul_and_a_long_body(
    schedule: OnCallSchedule, clock: Callable[[datetime.datetime], None]
) -> None:
    summary = drafted_summary(clock)
    for body in ("a\x00b", "x" * 40_001, ""):
        with pytest.raises(Invalid) as refused:
            handoff.save_summary(actor=None, summary=summary, body=body)
        assert refused.value.field == "body"


def test_permissions(
    client: Client,
    engineer: Person,
    make_person: Callable[..., Person],
    schedule: OnCallSchedule,
    clock: Callable[[datetime.datetime], None],
) -> None:
    summary = drafted_summary(clock)
    page = f"/oncall/handoffs/{summary.pk}/"
    assert client.get("/oncall/handoffs/").status_code == 302  # to the login page
    client.force_login(engineer.user)
    for url in ("/oncall/handoffs/", page):
        assert client.get(url).status_code == 403
    assert client.post(page, {"body": "Mine"}).status_code == 403
    assert client.post(f"{page}post/", {"body": "Mine"}).status_code == 403
    team_services.save_role(
        actor=None,
        key="watcher",
        name="Watcher",
        permission_names=["oncall.view_oncallschedule", "oncall.view_handoffsummary"],
    )
    client.force_login(make_person("watcher", username="wanda").user)
    assert client.get("/oncall/handoffs/").status_code == 200
    html = client.get(page).content.decode()
    assert "<textarea" not in html  # read-only without oncall.change_handoffsummary
    assert client.post(page, {"body": "Mine"}).status_code == 403
    assert client.post(f"{page}post/", {"body": "Mine"}).status_code == 403
    summary.refresh_from_db()
    assert (summary.posted_at, "Mine" in summary.body) == (None, False)
    assert posts() == []
    assert 'href="/oncall/handoffs/"' in client.get("/oncall/").content.decode()


def test_the_list_costs_the_same_queries_for_one_summary_or_many(
    ada: Client, schedule: OnCallSchedule, ravi: Person
) -> None:
    def create(week_start: datetime.date) -> None:
        HandoffSummary.objects.create(
            schedule=schedule,
            week_start=week_start,
            outgoing=ravi,
            body="Quiet week.",
            drafted_at=HANDOFF,
            posted_at=HANDOFF if week_start.day % 2 else None,
            posted_by=ravi,
        )

    create(datetime.date(2026, 11, 9))
    with CaptureQueriesContext(connection) as one:
        assert ada.get("/oncall/handoffs/").status_code == 200
    for weeks in range(1, 8):
        create(datetime.date(2026, 11, 9) - datetime.timedelta(weeks=weeks))
    with CaptureQueriesContext(connection) as eight:
        html = ada.get("/oncall/handoffs/").content.decode()
    assert len(eight.captured_queries) == len(one.captured_queries)
    assert html.count("data-summary=") == 8

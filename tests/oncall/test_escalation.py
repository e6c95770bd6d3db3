"""Escalation: a new alarm is posted and pages the first step; unacknowledged, the sweep pages
the next steps, repeats the chain, runs out; an acknowledgement stops it (and can expire);
resolving stops it for good; every page is sent once, whatever the sweep and the workers do."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Conflict, PermissionDenied
from ceres.core.outbox.models import OutboxMessage
from ceres.oncall import alarms, escalation, paging, targets
from ceres.oncall.models import (
    Alarm,
    AlarmIntegration,
    AlarmPage,
    EscalationPolicy,
    EscalationStep,
    OnCallSchedule,
    ScheduleLayer,
)
from ceres.oncall.slack_buttons import on_press
from ceres.slack.interactions import ButtonPress
from ceres.team.models import Person
from ceres.tracker.models import TrackerIssue
from tests.oncall.conftest import DAY, HELP_P1, NIGHT, chicago, fire

pytestmark = pytest.mark.django_db


def paged(alarm: Alarm) -> list[tuple[int, int, str, list[str]]]:
    return [
        (page.round, page.step, page.person.name, page.via)
        for page in AlarmPage.objects.filter(alarm=alarm).select_related("person")
    ]


def messages(kind: str, key_part: str = "") -> list[OutboxMessage]:
    rows = OutboxMessage.objects.filter(channel=kind).order_by("pk")
    return [row for row in rows if key_part in row.idempotency_key]


def minutes(n: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=n)


# --- a new alarm ---------------------------------------------------------------------------------


def test_a_new_alarm_is_posted_and_pages_the_first_responder(
    integration: AlarmIntegration,
) -> None:
    alarm = fire(integration, NIGHT)
    assert paged(alarm) == [(0, 0, "Jonas Berg", ["slack", "sms"])]
    post = messages("slack", "channel")
    assert len(post) == 1
    assert post[0].payload["args"]["channel"] == HELP_P1
    assert "db-cpu high" in post[0].payload["args"]["text"]
    dm = messages("slack", "-slack")[0]
    assert dm.payload["method"] == "dm"
    assert dm.payload["args"]["user"] == "U0JONAS"
    actions = dm.payload["args"]["blocks"][1]["elements"]
    assert [a["action_id"] for a in actions] == [
        f"oncall:{alarm.pk}:ack",
        f"oncall:{alarm.pk}:resolve",
    ]
    sms = messages("sms")
    assert len(sms) == 1
    assert sms[0].payload["to"] == "+15555550102"
    assert f"/oncall/alarms/{alarm.pk}/" in sms[0].payload["body"]
    assert alarm.next_escalation_at == NIGHT + minutes(15)


def test_repeats_of_an_open_alarm_page_nobody_again(integration: AlarmIntegration) -> None:
    fire(integration, NIGHT)
    alarm = fire(integration, NIGHT + minutes(1))
    assert alarm.count == 2
    assert len(paged(alarm)) == 1
    assert len(messages("slack", "channel")) == 1
    assert len(messages("sms")) == 1
    fire(integration, NIGHT + minutes(2), key="api-latency")
    assert len(messages("slack", "channel")) == 2  # one post per alarm


@pytest.mark.parametrize(
    ("at", "within"),
    [(DAY, 60), (NIGHT, 240), (chicago(2026, 11, 26, 10), 240)],  # Thanksgiving: closed
    ids=["business hours", "night", "holiday"],
)
def test_the_response_target_is_one_hour_in_business_hours_four_outside(
    integration: AlarmIntegration, at: datetime.datetime, within: int
) -> None:
    alarm = fire(integration, at)
    assert alarm.ack_due_at == at + minutes(within)


def test_without_a_policy_an_alarm_is_recorded_and_nobody_paged() -> None:
    integration, _ = alarms.create_integration(actor=None, name="Uptime", kind="generic")
    alarm = fire(integration, NIGHT)
    assert alarm.next_escalation_at is None
    assert alarm.policy is None
    assert not AlarmPage.objects.exists()
    assert not OutboxMessage.objects.exists()


# --- the sweep -----------------------------------------------------------------------------------


def test_unacknowledged_the_chain_goes_step_by_step_repeats_and_runs_out(
    integration: AlarmIntegration,
) -> None:
    alarm = fire(integration, NIGHT)
    assert escalation.sweep(now=NIGHT + minutes(14)).moved == 0
    assert escalation.sweep(now=NIGHT + minutes(15)).moved == 1
    assert escalation.sweep(now=NIGHT + minutes(15)).moved == 0  # once
    escalation.sweep(now=NIGHT + minutes(30))
    escalation.sweep(now=NIGHT + minutes(45))  # the chain again (repeat: 1)
    escalation.sweep(now=NIGHT + minutes(60))
    escalation.sweep(now=NIGHT + minutes(75))
    escalation.sweep(now=NIGHT + minutes(90))  # ran out
    escalation.sweep(now=NIGHT + minutes(200))
    alarm.refresh_from_db()
    assert [(r, s, name) for r, s, name, _ in paged(alarm)] == [
        (0, 0, "Jonas Berg"),
        (0, 1, "Ravi Menon"),
        (0, 2, "Ada Ortiz"),
        (1, 0, "Jonas Berg"),
        (1, 1, "Ravi Menon"),
        (1, 2, "Ada Ortiz"),
    ]
    assert alarm.next_escalation_at is None
    assert alarm.status == Alarm.Status.FIRING
    ran_out = messages("slack", "exhausted")
    assert len(ran_out) == 1
    assert "Nobody acknowledged" in ran_out[0].payload["args"]["text"]
    # The VP has no phone: Slack and e-mail, as the step says.
    assert paged(alarm)[2][3] == ["slack", "email"]
    assert AuditEntry.objects.filter(action="oncall.alarm.escalate").count() == 6


def test_a_step_that_reaches_nobody_passes_to_the_next_at_once(
    integration: AlarmIntegration, policy: EscalationPolicy, people: dict[str, Person]
) -> None:
    Person.objects.filter(pk=people["jonas"].pk).update(is_active=False)
    alarm = fire(integration, NIGHT)
    assert [(s, name) for _, s, name, _ in paged(alarm)] == [(1, "Ravi Menon")]
    assert alarm.step == 1
    assert alarm.next_escalation_at == NIGHT + minutes(15)


def test_a_schedule_that_cannot_be_read_never_loses_the_alarm(
    integration: AlarmIntegration, first_responder: OnCallSchedule, support_calendar: Any
) -> None:
    """A layer naming a calendar deleted since: the alarm is stored and the chain goes on to
    the people it can reach."""
    ScheduleLayer.objects.filter(schedule=first_responder).update(restriction="gone")
    alarm = fire(integration, NIGHT)
    assert [(s, name) for _, s, name, _ in paged(alarm)] == [(1, "Ravi Menon")]


def test_a_person_without_slack_or_phone_gets_email(
    integration: AlarmIntegration, people: dict[str, Person]
) -> None:
    Person.objects.filter(pk=people["jonas"].pk).update(slack_user_id="", phone="")
    alarm = fire(integration, NIGHT)
    assert paged(alarm) == [(0, 0, "Jonas Berg", ["email"])]
    assert messages("email")[0].payload["to"] == ["jonas@example.com"]


def test_a_sweep_that_dies_midway_leaves_the_alarm_due_and_pages_once_later(
    integration: AlarmIntegration, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarm = fire(integration, NIGHT)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(paging.slack_outbox, "send_dm", crash)
    assert escalation.sweep(now=NIGHT + minutes(16)).moved == 0
    alarm.refresh_from_db()
    assert alarm.step == 0
    assert alarm.next_escalation_at == NIGHT + minutes(15)
    assert len(paged(alarm)) == 1
    monkeypatch.undo()
    assert escalation.sweep(now=NIGHT + minutes(17)).moved == 1
    assert escalation.sweep(now=NIGHT + minutes(17)).moved == 0
    assert [(s, name) for _, s, name, _ in paged(alarm)] == [(0, "Jonas Berg"), (1, "Ravi Menon")]
    assert len(messages("slack", f"oncall-page-{alarm.pk}-r0-s1")) == 1


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite serialises writers; the race needs PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_several_workers_sweeping_at_once_page_each_step_once(
    integration: AlarmIntegration,
) -> None:
    for n in range(20):
        fire(integration, NIGHT, key=f"key-{n}")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            escalation.sweep(now=NIGHT + minutes(15))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert AlarmPage.objects.filter(step=1).count() == 20
    assert AlarmPage.objects.count() == 40
    assert set(Alarm.objects.values_list("step", flat=True)) == {1}


def test_the_periodic_run_sweeps_batch_after_batch_until_none_is_due(
    integration: AlarmIntegration,
) -> None:
    for n in range(5):
        fire(integration, NIGHT, key=f"storm-{n}")
    assert escalation.sweep_all(limit=2, now=NIGHT + minutes(15)) == 5
    assert set(Alarm.objects.values_list("step", flat=True)) == {1}
    assert escalation.sweep_all(limit=2, now=NIGHT + minutes(15)) == 0


def test_the_sweep_keeps_going_past_an_alarm_that_fails(
    integration: AlarmIntegration, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = fire(integration, NIGHT, key="a"), fire(integration, NIGHT, key="b")
    real = escalation._move

    def move(alarm: Alarm, now: datetime.datetime) -> str:
        if alarm.pk == first.pk:
            raise RuntimeError("boom")
        return real(alarm, now)

    monkeypatch.setattr(escalation, "_move", move)
    result = escalation.sweep(now=NIGHT + minutes(15))
    assert (result.moved, result.skipped) == (1, 1)
    second.refresh_from_db()
    assert second.step == 1


# --- acknowledging and resolving -----------------------------------------------------------------


def test_acknowledging_stops_the_escalation(
    integration: AlarmIntegration, people: dict[str, Person]
) -> None:
    alarm = fire(integration, NIGHT)
    escalation.acknowledge(
        actor=None, alarm_id=alarm.pk, person=people["jonas"], now=NIGHT + minutes(5)
    )
    assert escalation.sweep(now=NIGHT + minutes(60)).moved == 0
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.ACKNOWLEDGED
    assert alarm.acknowledged_by == people["jonas"]
    assert alarm.first_acknowledged_at == NIGHT + minutes(5)
    assert len(paged(alarm)) == 1
    assert "Acknowledged by Jonas Berg" in messages("slack", "-ack-")[0].payload["args"]["text"]


def test_an_acknowledgement_from_someone_not_paged_is_refused(
    integration: AlarmIntegration, people: dict[str, Person]
) -> None:
    alarm = fire(integration, NIGHT)
    with pytest.raises(PermissionDenied) as refused:
        escalation.acknowledge(actor=None, alarm_id=alarm.pk, person=people["ravi"])
    assert refused.value.field == "person"
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.FIRING
    assert alarm.next_escalation_at is not None
    # Once paged (step 2), the site owner may.
    escalation.sweep(now=NIGHT + minutes(15))
    escalation.acknowledge(
        actor=None, alarm_id=alarm.pk, person=people["ravi"], now=NIGHT + minutes(16)
    )
    alarm.refresh_from_db()
    assert alarm.acknowledged_by == people["ravi"]


def test_acknowledging_twice_changes_nothing_and_a_resolved_alarm_cannot_be(
    integration: AlarmIntegration, people: dict[str, Person]
) -> None:
    alarm = fire(integration, NIGHT)
    jonas = people["jonas"]
    escalation.acknowledge(actor=None, alarm_id=alarm.pk, person=jonas, now=NIGHT + minutes(1))
    escalation.acknowledge(actor=None, alarm_id=alarm.pk, person=jonas, now=NIGHT + minutes(2))
    assert AuditEntry.objects.filter(action="oncall.alarm.acknowledge").count() == 1
    fire(integration, NIGHT + minutes(3), status="resolved")
    with pytest.raises(Conflict):
        escalation.acknowledge(actor=None, alarm_id=alarm.pk, person=jonas)


def test_an_acknowledgement_can_expire_and_the_chain_starts_again(
    integration: AlarmIntegration, policy: EscalationPolicy, people: dict[str, Person]
) -> None:
    policy.ack_timeout_minutes = 30
    policy.save()
    alarm = fire(integration, NIGHT)
    escalation.acknowledge(
        actor=None, alarm_id=alarm.pk, person=people["jonas"], now=NIGHT + minutes(5)
    )
    assert escalation.sweep(now=NIGHT + minutes(34)).moved == 0
    assert escalation.sweep(now=NIGHT + minutes(35)).moved == 1
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.FIRING
    assert alarm.acknowledged_by is None
    assert alarm.first_acknowledged_at == NIGHT + minutes(5)  # the target keeps the first
    assert [(r, s) for r, s, _, _ in paged(alarm)] == [(0, 0), (1, 0)]
    assert alarm.repeats_left == 1


def test_resolving_stops_it_for_good(
    integration: AlarmIntegration, people: dict[str, Person]
) -> None:
    alarm = fire(integration, NIGHT)
    with pytest.raises(PermissionDenied):
        escalation.resolve(actor=None, alarm_id=alarm.pk, person=people["ada"])
    escalation.resolve(actor=None, alarm_id=alarm.pk, person=people["ada"], may_resolve_any=True)
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.RESOLVED
    assert alarm.next_escalation_at is None
    assert alarm.resolved_by == people["ada"]
    assert escalation.sweep(now=NIGHT + minutes(60)).moved == 0


def test_the_source_resolving_stops_the_escalation(integration: AlarmIntegration) -> None:
    fire(integration, NIGHT)
    alarm = fire(integration, NIGHT + minutes(5), status="resolved")
    assert alarm.status == Alarm.Status.RESOLVED
    assert alarm.next_escalation_at is None
    assert escalation.sweep(now=NIGHT + minutes(60)).moved == 0
    assert "source reported it fixed" in messages("slack", "resolved")[0].payload["args"]["text"]


# --- the Slack buttons ---------------------------------------------------------------------------


def press(alarm: Alarm, action: str, user: str) -> None:
    on_press(
        ButtonPress(
            action_id=f"oncall:{alarm.pk}:{action}",
            slack_user_id=user,
            channel_id="D0JONAS",
            message_ts="1764000000.000100",
            message_text="db-cpu high",
        )
    )


def test_acknowledge_from_the_slack_page(integration: AlarmIntegration) -> None:
    alarm = fire(integration, NIGHT)
    press(alarm, "ack", "U0JONAS")
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.ACKNOWLEDGED
    update = [m for m in messages("slack") if m.payload["method"] == "chat.update"]
    assert len(update) == 1
    assert update[0].payload["args"]["ts"] == "1764000000.000100"
    assert "Acknowledged by <@U0JONAS>" in str(update[0].payload["args"]["blocks"])


def test_a_press_by_someone_not_paged_does_nothing_and_says_why(
    integration: AlarmIntegration,
) -> None:
    alarm = fire(integration, NIGHT)
    press(alarm, "ack", "U0RAVI")
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.FIRING
    refusal = messages("slack", "refused")
    assert len(refusal) == 1
    assert "was not paged" in refusal[0].payload["args"]["text"]
    press(alarm, "ack", "U0STRANGER")  # not on the team: ignored, logged
    assert len(messages("slack", "refused")) == 1


def test_resolve_from_the_slack_page(integration: AlarmIntegration) -> None:
    alarm = fire(integration, NIGHT)
    press(alarm, "resolve", "U0JONAS")
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.RESOLVED


@pytest.mark.parametrize(
    "action_id",
    ["oncall:1:snooze", "oncall:x:ack", "oncall:1", "other:1:ack", "oncall:" + "9" * 19 + ":ack"],
)
def test_unknown_buttons_are_not_ours(action_id: str) -> None:
    assert paging.parse_action_id(action_id) is None


# --- the suspected-outage issue and the response report ------------------------------------------


def test_a_step_can_open_a_suspected_outage_issue_once(
    integration: AlarmIntegration, policy: EscalationPolicy
) -> None:
    EscalationStep.objects.filter(policy=policy, position=1).update(open_outage_issue=True)
    alarm = fire(integration, NIGHT)
    assert not TrackerIssue.objects.exists()
    escalation.sweep(now=NIGHT + minutes(15))
    escalation.sweep(now=NIGHT + minutes(30))
    escalation.sweep(now=NIGHT + minutes(45))
    escalation.sweep(now=NIGHT + minutes(60))  # step 2 again in round 2: no second issue
    issue = TrackerIssue.objects.get()
    assert issue.title == "Suspected outage: db-cpu high"
    assert not issue.repository.is_public
    alarm.refresh_from_db()
    assert alarm.outage_issue == issue


def test_response_report(
    integration: AlarmIntegration, people: dict[str, Person], clock: Callable[..., None]
) -> None:
    jonas = people["jonas"]
    met = fire(integration, DAY, key="met")
    escalation.acknowledge(actor=None, alarm_id=met.pk, person=jonas, now=DAY + minutes(20))
    late = fire(integration, DAY, key="late")
    escalation.acknowledge(actor=None, alarm_id=late.pk, person=jonas, now=DAY + minutes(90))
    fire(integration, DAY, key="silent")  # never acknowledged: missed once an hour passed
    fire(integration, DAY, key="flap")
    fire(integration, DAY + minutes(2), key="flap", status="resolved")  # gone by itself
    fire(integration, DAY + minutes(170), key="pending")
    report = targets.response_report(DAY - minutes(1), DAY + minutes(300), now=DAY + minutes(180))
    assert (report.alarms, report.met, report.missed, report.pending) == (5, 1, 2, 1)
    assert report.median_minutes == 55
    assert report.met_ratio == pytest.approx(1 / 3)

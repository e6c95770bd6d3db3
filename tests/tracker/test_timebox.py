"""The investigation timebox: blocks of at most an hour, one running block per person, the
"hour is up: escalate?" prompt (once, through the outbox), forgotten blocks stopped, the time
logged per person, and the panel of the issue page."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Conflict, Invalid
from ceres.core.outbox.models import OutboxMessage
from ceres.core.periodic.registry import load_jobs
from ceres.team.models import Person
from ceres.tracker import selectors, services, timebox
from ceres.tracker.models import InvestigationBlock, TrackerIssue

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 11, 30, 15, 0, tzinfo=datetime.UTC)
HX = {"HTTP_HX_REQUEST": "true"}


def minutes(n: float) -> datetime.timedelta:
    return datetime.timedelta(minutes=n)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime.datetime], None]:
    def set_now(now: datetime.datetime) -> None:
        monkeypatch.setattr("django.utils.timezone.now", lambda: now)

    set_now(T0)
    return set_now


def open_bug(
    title: str = "Hosts go offline after the agent upgrade", **kwargs: Any
) -> TrackerIssue:
    return services.open_issue(
        actor=None,
        repository=kwargs.pop("repository", None) or selectors.repository("public"),
        title=title,
        body="About a third of the hosts stop checking in.",
        kind="bug",
        labels=["bug"],
        **kwargs,
    )


@pytest.fixture
def issue(db: None) -> TrackerIssue:
    return open_bug()


@pytest.fixture
def slacker(make_person: Callable[..., Person]) -> Person:
    return make_person(
        "cse", name="Ravi Shah", email="ravi@example.com", slack_user_id="U0RAVI", username="ravi"
    )


def block_of(person: Person) -> InvestigationBlock:
    return InvestigationBlock.objects.get(person=person, stopped_at__isnull=True)


# --- start and stop ----------------------------------------------------------------------------


def test_start_and_stop_a_block(issue: TrackerIssue, cse: Person) -> None:
    block = timebox.start_block(
        actor=cse.user, issue=issue, person=cse, minutes=30, note="Read the logs", now=T0
    )
    assert (block.started_at, block.ends_at, block.stopped_at) == (T0, T0 + minutes(30), None)
    assert AuditEntry.objects.filter(action="tracker.timebox.start", target_id=str(issue.pk)).get()

    stopped = timebox.stop_block(
        actor=cse.user, block=block, note="Nothing in them", now=T0 + minutes(20)
    )
    assert stopped.stopped_at == T0 + minutes(20)
    assert stopped.note == "Read the logs\nNothing in them"
    again = timebox.stop_block(actor=cse.user, block=block, note="ignored", now=T0 + minutes(40))
    assert again.stopped_at == T0 + minutes(20)  # idempotent: the first stop stands
    assert again.note == "Read the logs\nNothing in them"
    assert AuditEntry.objects.filter(action="tracker.timebox.stop").count() == 1


@pytest.mark.parametrize("bad", [0, 61, -5, 90, True, "abc", "", "1.5", "²", None])
def test_a_block_is_one_to_sixty_minutes(issue: TrackerIssue, cse: Person, bad: Any) -> None:
    with pytest.raises(Invalid) as caught:
        timebox.start_block(actor=cse.user, issue=issue, person=cse, minutes=bad)
    assert caught.value.field == "minutes"
    assert not InvestigationBlock.objects.exists()


@pytest.mark.parametrize("good", [1, 15, 60, "45"])
def test_the_limits_themselves_are_fine(issue: TrackerIssue, cse: Person, good: Any) -> None:
    block = timebox.start_block(actor=cse.user, issue=issue, person=cse, minutes=good, now=T0)
    assert block.ends_at - block.started_at == minutes(int(good))


def test_a_long_note_is_refused(issue: TrackerIssue, cse: Person) -> None:
    with pytest.raises(Invalid) as caught:
        timebox.start_block(actor=cse.user, issue=issue, person=cse, note="x" * 501)
    assert caught.value.field == "note"
    block = timebox.start_block(actor=cse.user, issue=issue, person=cse, note="x" * 400)
    with pytest.raises(Invalid) as caught:  # the notes together still fit the column
        timebox.stop_block(actor=cse.user, block=block, note="y" * 200)
    assert caught.value.field == "note"
    assert block_of(cse).stopped_at is None


def test_one_running_block_per_person(
    issue: TrackerIssue, cse: Person, slacker: Person, clock: Any
) -> None:
    other = open_bug("Software inventory is empty")
    first = timebox.start_block(actor=cse.user, issue=issue, person=cse)
    with pytest.raises(Conflict) as caught:
        timebox.start_block(actor=cse.user, issue=other, person=cse)
    assert caught.value.field == "block"
    assert issue.reference in caught.value.message
    assert "stop it first" in caught.value.message
    with pytest.raises(Conflict):
        timebox.start_block(actor=cse.user, issue=issue, person=cse)  # the same issue too
    timebox.start_block(actor=slacker.user, issue=other, person=slacker)  # someone else may
    timebox.stop_block(actor=cse.user, block=first)
    assert timebox.start_block(actor=cse.user, issue=other, person=cse).issue_id == other.pk
    assert InvestigationBlock.objects.filter(stopped_at__isnull=True).count() == 2


def test_a_closed_issue_takes_no_block(issue: TrackerIssue, cse: Person) -> None:
    services.set_state(actor=None, issue=issue, state="closed")
    with pytest.raises(Conflict) as caught:
        timebox.start_block(actor=cse.user, issue=selectors.get_issue(issue.pk), person=cse)
    assert caught.value.field == "issue"


# --- the sweep ---------------------------------------------------------------------------------


def test_the_hour_is_up_prompt_goes_once_by_slack(issue: TrackerIssue, slacker: Person) -> None:
    block = timebox.start_block(actor=slacker.user, issue=issue, person=slacker, now=T0)
    assert timebox.sweep_overrun(now=T0 + minutes(59)) == (0, 0)
    assert timebox.sweep_overrun(now=T0 + minutes(61)) == (1, 0)
    assert timebox.sweep_overrun(now=T0 + minutes(62)) == (0, 0)  # run again: nothing more
    message = OutboxMessage.objects.get()
    assert message.channel == "slack"
    assert message.idempotency_key == f"tracker-block-{block.pk}-hour-up"
    assert message.payload["method"] == "dm"
    assert message.payload["args"]["user"] == "U0RAVI"
    text = message.payload["args"]["text"]
    assert "1h investigation block" in text
    assert issue.reference in text
    assert issue.title in text  # a public issue: the title passed the firewall
    for words in ("other CSEs or CSAs", "developer on-call", "logs from the customer"):
        assert words in text
    assert text.endswith(f"/tracker/{issue.pk}/")
    block.refresh_from_db()
    assert block.escalation_prompted_at == T0 + minutes(61)
    assert block.stopped_at is None
    assert AuditEntry.objects.filter(action="tracker.timebox.prompt").count() == 1


def test_without_slack_the_prompt_is_an_email(issue: TrackerIssue, cse: Person) -> None:
    timebox.start_block(actor=cse.user, issue=issue, person=cse, minutes=15, now=T0)
    assert timebox.sweep_overrun(now=T0 + minutes(15)).prompted == 1
    timebox.sweep_overrun(now=T0 + minutes(16))
    message = OutboxMessage.objects.get()
    assert message.channel == "email"
    assert message.payload["to"] == ["lena@example.com"]
    assert issue.reference in message.payload["subject"]
    assert "15m investigation block" in message.payload["body"]


def test_a_confidential_issue_title_stays_out_of_the_prompt(cse: Person) -> None:
    secret = open_bug(
        "Acme Robotics fleet is down", repository=selectors.repository("confidential")
    )
    timebox.start_block(actor=cse.user, issue=secret, person=cse, now=T0)
    timebox.sweep_overrun(now=T0 + minutes(61))
    body = OutboxMessage.objects.get().payload["body"]
    assert secret.reference in body
    assert "Acme" not in body


def test_a_stopped_block_gets_no_prompt(issue: TrackerIssue, slacker: Person) -> None:
    block = timebox.start_block(actor=slacker.user, issue=issue, person=slacker, now=T0)
    timebox.stop_block(actor=slacker.user, block=block, now=T0 + minutes(50))
    assert timebox.sweep_overrun(now=T0 + minutes(90)) == (0, 0)
    assert not OutboxMessage.objects.exists()


def test_a_forgotten_block_stops_at_its_end(issue: TrackerIssue, cse: Person) -> None:
    block = timebox.start_block(actor=cse.user, issue=issue, person=cse, note="Logs", now=T0)
    assert timebox.sweep_overrun(now=T0 + minutes(61)).prompted == 1
    assert timebox.sweep_overrun(now=T0 + minutes(60 + 8 * 60 - 1)) == (0, 0)
    assert timebox.sweep_overrun(now=T0 + minutes(60 + 8 * 60 + 1)) == (0, 1)
    block.refresh_from_db()
    assert block.stopped_at == block.ends_at
    assert block.note == f"Logs\n{timebox.AUTO_STOP_NOTE}"
    assert OutboxMessage.objects.count() == 1  # the one prompt, nothing for the stop
    entry = AuditEntry.objects.get(action="tracker.timebox.auto_stop")
    assert entry.actor_label == "investigation timebox"
    assert timebox.time_logged(issue).total == minutes(60)


def test_a_block_forgotten_before_any_sweep_is_stopped_without_a_prompt(
    issue: TrackerIssue, cse: Person
) -> None:
    timebox.start_block(actor=cse.user, issue=issue, person=cse, note="x" * 500, now=T0)
    assert timebox.sweep_overrun(now=T0 + datetime.timedelta(hours=10)) == (0, 1)
    assert not OutboxMessage.objects.exists()
    block = InvestigationBlock.objects.get()
    assert len(block.note) == 500
    assert block.note.endswith(timebox.AUTO_STOP_NOTE)


def test_the_periodic_job_runs_the_sweep_every_minute() -> None:
    jobs = {job.name: job for job in load_jobs()}
    assert jobs["tracker.timebox-overrun"].every == minutes(1)


# --- time logged -------------------------------------------------------------------------------


def test_time_logged_per_person(issue: TrackerIssue, cse: Person, slacker: Person) -> None:
    a = timebox.start_block(actor=None, issue=issue, person=cse, now=T0)
    timebox.stop_block(actor=None, block=a, now=T0 + minutes(20))  # 20m
    b = timebox.start_block(actor=None, issue=issue, person=cse, minutes=30, now=T0 + minutes(30))
    timebox.stop_block(actor=None, block=b, now=T0 + minutes(75))  # 45m, counts its planned 30m
    other = open_bug("Another one")
    c = timebox.start_block(actor=None, issue=other, person=slacker, now=T0 - minutes(120))
    timebox.stop_block(actor=None, block=c, now=T0 - minutes(60))  # another issue: not counted
    timebox.start_block(actor=None, issue=issue, person=slacker, minutes=15, now=T0 + minutes(70))

    log = timebox.time_logged(issue, now=T0 + minutes(80))
    assert [(p.person.name, p.logged, p.blocks, p.running) for p in log.people] == [
        ("Lena Park", minutes(50), 2, False),
        ("Ravi Shah", minutes(10), 1, True),
    ]
    assert log.total == minutes(60)
    assert log.total_text == "1h"
    assert [line.block.person_id for line in log.blocks] == [slacker.pk, cse.pk, cse.pk]
    assert timebox.duration_text(minutes(125)) == "2h 5m"


# --- the panel ---------------------------------------------------------------------------------


def test_the_panel_starts_and_stops_a_block(
    client: Client, issue: TrackerIssue, cse: Person, clock: Any
) -> None:
    client.force_login(cse.user)
    panel = client.get(f"/tracker/{issue.pk}/timebox/")
    assert panel.status_code == 200
    html = panel.content.decode()
    assert 'id="timebox-panel"' in html
    assert "Start block" in html
    assert "<html" not in html
    assert "No investigation time logged yet." in html

    started = client.post(
        f"/tracker/{issue.pk}/timebox/start/", {"minutes": "45", "note": "Check the logs"}, **HX
    )
    assert started.status_code == 200
    html = started.content.decode()
    assert "Stop block" in html
    assert "45m left" in html
    assert "Lena Park" in html
    block = block_of(cse)
    assert block.ends_at == T0 + minutes(45)
    assert block.note == "Check the logs"

    clock(T0 + minutes(30))
    html = client.get(f"/tracker/{issue.pk}/timebox/?part=status").content.decode()
    assert "15m left" in html
    assert 'id="timebox-panel"' not in html
    assert "every 60s" in html

    stopped = client.post(f"/tracker/timebox/{block.pk}/stop/", {"issue_id": issue.pk}, **HX)
    assert stopped.status_code == 200
    assert "Start block" in stopped.content.decode()
    block.refresh_from_db()
    assert block.stopped_at == T0 + minutes(30)

    plain = client.post(f"/tracker/{issue.pk}/timebox/start/", {"minutes": "15"})
    assert plain.status_code == 302
    assert plain["Location"] == f"/tracker/{issue.pk}/"
    again = client.post(f"/tracker/timebox/{block_of(cse).pk}/stop/")
    assert again.status_code == 302
    assert again["Location"] == f"/tracker/{issue.pk}/"
    assert not InvestigationBlock.objects.filter(stopped_at__isnull=True).exists()


@pytest.mark.parametrize("bad", ["90", "0", "abc", "", "-15", "1e3"])
def test_bad_minutes_are_a_422_naming_the_field(
    client: Client, issue: TrackerIssue, cse: Person, bad: str
) -> None:
    client.force_login(cse.user)
    answer = client.post(f"/tracker/{issue.pk}/timebox/start/", {"minutes": bad}, **HX)
    assert answer.status_code == 422
    html = answer.content.decode()
    assert 'data-field="minutes"' in html
    assert "Minutes</strong>" in html
    assert 'id="timebox-panel"' in html  # the panel, with the error in it
    plain = client.post(f"/tracker/{issue.pk}/timebox/start/", {"minutes": bad})
    assert plain.status_code == 422
    assert "minutes" in plain.content.decode()
    assert not InvestigationBlock.objects.exists()


def test_other_bad_input_is_a_4xx(client: Client, issue: TrackerIssue, cse: Person) -> None:
    client.force_login(cse.user)
    missing = client.post(f"/tracker/{issue.pk}/timebox/start/", {}, **HX)
    assert missing.status_code == 422
    assert 'data-field="minutes"' in missing.content.decode()
    long_note = client.post(
        f"/tracker/{issue.pk}/timebox/start/", {"minutes": "15", "note": "x" * 501}, **HX
    )
    assert long_note.status_code == 422
    assert 'data-field="note"' in long_note.content.decode()
    assert client.get(f"/tracker/{issue.pk}/timebox/?part=everything").status_code == 422
    assert client.get("/tracker/999999/timebox/").status_code == 404
    assert client.post("/tracker/999999/timebox/start/", {"minutes": "15"}).status_code == 404
    assert client.post("/tracker/timebox/999999/stop/").status_code == 404
    client.post(f"/tracker/{issue.pk}/timebox/start/", {"minutes": "15"})
    twice = client.post(f"/tracker/{issue.pk}/timebox/start/", {"minutes": "15"}, **HX)
    assert twice.status_code == 409
    assert 'data-field="block"' in twice.content.decode()
    block = block_of(cse)
    bad_issue = client.post(f"/tracker/timebox/{block.pk}/stop/", {"issue_id": "x"})
    assert bad_issue.status_code == 422
    assert "issue_id" in bad_issue.content.decode()
    assert client.get(f"/tracker/{issue.pk}/timebox/start/").status_code == 405


def test_without_permission_it_is_a_403(
    client: Client, issue: TrackerIssue, cse: Person, engineer: Person, slacker: Person
) -> None:
    block = timebox.start_block(actor=None, issue=issue, person=cse)
    client.force_login(engineer.user)
    assert client.get(f"/tracker/{issue.pk}/timebox/").status_code == 403
    assert client.post(f"/tracker/{issue.pk}/timebox/start/", {"minutes": "15"}).status_code == 403
    assert client.post(f"/tracker/timebox/{block.pk}/stop/").status_code == 403
    client.force_login(slacker.user)  # may change issues, but this is not their block
    assert client.post(f"/tracker/timebox/{block.pk}/stop/").status_code == 403
    assert block_of(cse) == block
    assert not InvestigationBlock.objects.filter(person=engineer).exists()


def test_the_panel_asks_to_escalate_when_the_hour_is_up(
    client: Client, issue: TrackerIssue, cse: Person, clock: Any
) -> None:
    timebox.start_block(actor=None, issue=issue, person=cse, now=T0)
    client.force_login(cse.user)
    clock(T0 + minutes(65))
    html = client.get(f"/tracker/{issue.pk}/timebox/").content.decode()
    assert "Your hour is up: escalate?" in html
    assert "5m ago" in html
    assert f'action="/tracker/{issue.pk}/move/escalate/"' in html
    assert "developer on-call" in html
    assert "Stop block" in html
    status = client.get(f"/tracker/{issue.pk}/timebox/?part=status").content.decode()
    assert "Your hour is up" in status
    assert "every 60s" not in status


def test_a_block_elsewhere_can_be_stopped_from_this_panel(
    client: Client, issue: TrackerIssue, cse: Person, clock: Any
) -> None:
    other = open_bug("Software inventory is empty")
    block = timebox.start_block(actor=None, issue=other, person=cse, now=T0)
    client.force_login(cse.user)
    html = client.get(f"/tracker/{issue.pk}/timebox/").content.decode()
    assert other.reference in html
    assert "Stop that block" in html
    assert "Start block" not in html
    answer = client.post(f"/tracker/timebox/{block.pk}/stop/", {"issue_id": issue.pk}, **HX)
    html = answer.content.decode()
    assert answer.status_code == 200
    assert f'data-issue="{issue.pk}"' in html
    assert "Start block" in html


def test_a_racing_start_is_a_conflict_not_a_500(
    issue: TrackerIssue, cse: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two starts that both saw no running block: the constraint refuses the second."""
    first = timebox.start_block(actor=None, issue=issue, person=cse)
    real = timebox.running_block_of
    calls = {"n": 0}

    def stale_then_real(person: Person) -> InvestigationBlock | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(person)

    monkeypatch.setattr(timebox, "running_block_of", stale_then_real)
    with pytest.raises(Conflict) as caught:
        timebox.start_block(actor=None, issue=open_bug("Another one"), person=cse)
    assert caught.value.field == "block"
    assert f"block {first.pk}" in caught.value.message
    assert InvestigationBlock.objects.count() == 1

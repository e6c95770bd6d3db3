"""Gaps ahead (nobody on call) announced once, through the outbox and the fake Slack: to the
schedule's handoff channel, or by DM / e-mail to the people of its layers; a business-hours
schedule's nights are its design and are not announced."""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable

import pytest
from django.core import mail
from django.db import connection
from pytest_django import Settings

from ceres.core.audit.models import AuditEntry
from ceres.core.outbox import services as outbox_services
from ceres.core.outbox.models import OutboxMessage
from ceres.core.periodic.registry import load_jobs
from ceres.oncall import gaps, services
from ceres.oncall.gaps import alert_gaps
from ceres.oncall.models import GapAlert, OnCallSchedule
from ceres.sla.models import BusinessCalendar
from ceres.team.models import Person
from tests.fakes.slack import SlackFake
from tests.oncall.conftest import chicago, weekly

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
HANDOFF = "C0HANDOFF"
LINK = "https://ceres.example.com/oncall/"
MINUTES_15 = datetime.timedelta(minutes=15)


@pytest.fixture
def slack(slack_fake: SlackFake, settings: Settings) -> SlackFake:
    slack_fake.add_channel(HANDOFF, "help-customers")
    slack_fake.add_user("U0RAVI", "ravi", real_name="Ravi Menon")
    settings.CERES_SLACK_API_URL = slack_fake.api_url
    settings.CERES_SLACK_BOT_TOKEN = slack_fake.token
    settings.CERES_SLACK_TIMEOUT = 5
    settings.BASE_URL = "https://ceres.example.com/"
    return slack_fake


def deliver_outbox() -> list[str]:
    pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).order_by("pk")
    return [
        outbox_services.deliver_message(message_id=pk)
        for pk in pending.values_list("pk", flat=True)
    ]


def posted(slack: SlackFake, channel: str = HANDOFF) -> list[str]:
    return [message["text"] for message in slack.messages(channel)]


def with_channel(schedule: OnCallSchedule) -> OnCallSchedule:
    OnCallSchedule.objects.filter(pk=schedule.pk).update(handoff_channel=HANDOFF)
    schedule.refresh_from_db()
    return schedule


@pytest.fixture
def premium(ravi: Person, jonas: Person, make_person: Callable[..., Person]) -> OnCallSchedule:
    """24/7 first responders from Thursday 12 November 2026 09:00 Chicago; Zay covers Monday
    08:00 to Tuesday 08:00 by an override; so nobody from Tuesday 08:00 to Thursday 09:00."""
    Person.objects.filter(pk=ravi.pk).update(slack_user_id="U0RAVI")
    schedule = weekly(
        "premium-support", [ravi, jonas], chicago(2026, 11, 12, 9), name="Premium support"
    )
    zay = make_person("engineer", name="Zay Hanlon", email="zay@example.com")
    services.add_override(
        actor=None,
        schedule=schedule,
        person=zay,
        start=chicago(2026, 11, 9, 8),
        end=chicago(2026, 11, 10, 8),
    )
    return schedule


# --- announced once ----------------------------------------------------------------------------


def test_a_gap_ahead_is_posted_to_the_handoff_channel_once(
    slack: SlackFake, premium: OnCallSchedule
) -> None:
    with_channel(premium)
    now = chicago(2026, 11, 9, 10)
    assert alert_gaps(now=now) == 1
    assert deliver_outbox() == ["sent"]

    assert posted(slack) == [
        "Gap ahead: nobody will be on call for *Premium support*\n"
        "• from Tue 10 Nov 08:00 CST until Thu 12 Nov 09:00 CST "
        "(Tue 10 Nov 14:00 UTC to Thu 12 Nov 15:00 UTC)\n"
        f"Cover it with an override on the On-call page: {LINK}"
    ]
    alert = GapAlert.objects.get()
    assert (alert.schedule_id, alert.start, alert.end, alert.alerted_at) == (
        premium.pk,
        chicago(2026, 11, 10, 8),
        chicago(2026, 11, 12, 9),
        now,
    )
    entry = AuditEntry.objects.get(action="oncall.gap.alert")
    assert entry.target_label == "premium-support"

    # The next runs, and the gap once it is under way: nothing more.
    assert alert_gaps(now=now + MINUTES_15) == 0
    assert alert_gaps(now=chicago(2026, 11, 10, 12)) == 0
    assert deliver_outbox() == []
    assert OutboxMessage.objects.count() == 1
    assert GapAlert.objects.count() == 1


def test_a_gap_further_than_the_look_ahead_waits(slack: SlackFake, premium: OnCallSchedule) -> None:
    with_channel(premium)
    assert alert_gaps(now=chicago(2026, 11, 9, 10), ahead=datetime.timedelta(hours=12)) == 0
    assert not GapAlert.objects.exists()
    assert alert_gaps(now=chicago(2026, 11, 9, 21), ahead=datetime.timedelta(hours=12)) == 1


def test_a_long_gap_is_alerted_once_while_it_lasts(
    slack: SlackFake, support_calendar: BusinessCalendar, cse: Person
) -> None:
    """A business-hours layer that starts in two weeks: nobody in its hours until then."""
    schedule = weekly(
        "developer-on-call",
        [cse],
        chicago(2026, 11, 30, 9),
        name="Developer on-call",
        restriction="support",
    )
    with_channel(schedule)
    now = chicago(2026, 11, 16, 10)
    assert alert_gaps(now=now) == 1
    deliver_outbox()
    assert posted(slack) == [
        "Gap ahead: nobody will be on call for *Developer on-call*\n"
        "• from now (under way) until at least Mon 23 Nov 10:00 CST "
        "(Mon 16 Nov 16:00 UTC to Mon 23 Nov 16:00 UTC)\n"
        f"Cover it with an override on the On-call page: {LINK}"
    ]
    for later in (now + MINUTES_15, chicago(2026, 11, 23, 8), chicago(2026, 11, 27, 12)):
        assert alert_gaps(now=later) == 0
    alert = GapAlert.objects.get()
    assert (alert.start, alert.end) == (now, chicago(2026, 11, 30, 9))  # seen to its end
    assert OutboxMessage.objects.count() == 1


# --- which gaps ----------------------------------------------------------------------------------


def test_a_business_hours_schedules_nights_are_not_alerted(
    slack: SlackFake, developer_on_call: OnCallSchedule, caplog: pytest.LogCaptureFixture
) -> None:
    with_channel(developer_on_call)
    with caplog.at_level(logging.DEBUG, logger="ceres.oncall.gaps"):
        assert alert_gaps(now=chicago(2026, 11, 16, 10)) == 0
    assert not GapAlert.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert [r.getMessage() for r in caplog.records if r.name == "ceres.oncall.gaps"] == [
        "on-call schedule developer-on-call: 5 gap(s) ahead outside its layers' hours, by "
        "design; not alerted"
    ]


def test_nights_a_24_7_layer_is_meant_to_cover_are_alerted_in_one_message(
    slack: SlackFake, developer_on_call: OnCallSchedule, ravi: Person, jonas: Person
) -> None:
    """The developer on-call by day, with 24/7 first responders on top only from Thursday 19
    November: the three nights before are gaps the 24/7 layer is meant to cover."""
    weekly("", [ravi, jonas], chicago(2026, 11, 19, 9), position=1, schedule=developer_on_call)
    with_channel(developer_on_call)
    assert alert_gaps(now=chicago(2026, 11, 16, 10)) == 3
    deliver_outbox()
    [text] = posted(slack)
    assert text.splitlines()[0] == "Gaps ahead: nobody will be on call for *Developer on-call*"
    assert text.splitlines()[1:4] == [
        f"• from {day} 17:00 CST until {next_day} 09:00 CST ({day} 23:00 UTC to {next_day} "
        "15:00 UTC)"
        for day, next_day in [
            ("Mon 16 Nov", "Tue 17 Nov"),
            ("Tue 17 Nov", "Wed 18 Nov"),
            ("Wed 18 Nov", "Thu 19 Nov"),
        ]
    ]
    assert text.endswith(f"Cover them with an override on the On-call page: {LINK}")
    assert GapAlert.objects.count() == 3
    assert alert_gaps(now=chicago(2026, 11, 16, 10, 15)) == 0


def test_a_24_7_schedule_without_gaps_and_a_schedule_without_layers_say_nothing(
    slack: SlackFake, first_responder: OnCallSchedule
) -> None:
    with_channel(first_responder)
    empty = services.save_schedule(actor=None, key="nobody-yet", name="Nobody yet")
    with_channel(empty)
    assert alert_gaps(now=chicago(2026, 11, 16, 10)) == 0
    assert not OutboxMessage.objects.exists()


# --- who is told -------------------------------------------------------------------------------


def test_without_a_channel_the_layers_people_get_a_dm_or_an_email(
    slack: SlackFake, premium: OnCallSchedule
) -> None:
    assert alert_gaps(now=chicago(2026, 11, 9, 10)) == 1
    assert sorted(deliver_outbox()) == ["sent", "sent"]

    dm = slack.dm_channel("U0RAVI")
    assert dm is not None
    [text] = posted(slack, dm)
    assert text.startswith("Gap ahead: nobody will be on call for *Premium support*\n• from Tue")
    [email] = mail.outbox  # Jonas has no Slack id; Zay only covers an override
    assert email.to == ["jonas@example.com"]
    assert email.subject == "On-call gap ahead: nobody on call for Premium support"
    assert email.body == (
        "Gap ahead: nobody will be on call for Premium support\n"
        "- from Tue 10 Nov 08:00 CST until Thu 12 Nov 09:00 CST "
        "(Tue 10 Nov 14:00 UTC to Thu 12 Nov 15:00 UTC)\n"
        f"Cover it with an override on the On-call page: {LINK}"
    )
    assert posted(slack) == []
    assert alert_gaps(now=chicago(2026, 11, 9, 10, 15)) == 0


def test_nobody_to_tell_is_logged_and_the_gap_recorded(
    slack: SlackFake, premium: OnCallSchedule, caplog: pytest.LogCaptureFixture
) -> None:
    Person.objects.filter(user__username__in=["ravi", "jonas"]).update(is_active=False)
    with caplog.at_level(logging.WARNING, logger="ceres.oncall.gaps"):
        assert alert_gaps(now=chicago(2026, 11, 9, 10)) == 1
    assert not OutboxMessage.objects.exists()
    assert GapAlert.objects.count() == 1
    assert [r.getMessage() for r in caplog.records if r.name == "ceres.oncall.gaps"] == [
        "on-call schedule premium-support: gaps ahead but no handoff channel and nobody active "
        "in its layers to tell; recorded as alerted"
    ]


# --- races and failures ------------------------------------------------------------------------


def test_a_run_racing_another_alerts_nothing_twice(
    slack: SlackFake,
    premium: OnCallSchedule,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The second run does not see the first's alert (as if both checked at the same moment):
    the database refuses its row, and its message goes with it."""
    with_channel(premium)
    monkeypatch.setattr(gaps, "_alert_overlapping", lambda schedule, gap: None)
    assert alert_gaps(now=chicago(2026, 11, 9, 10)) == 1
    with caplog.at_level(logging.INFO, logger="ceres.oncall.gaps"):
        assert alert_gaps(now=chicago(2026, 11, 9, 10, 15)) == 0
    deliver_outbox()
    assert len(posted(slack)) == 1
    assert GapAlert.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    assert any("alerted by another run at the same time" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_runs_at_the_same_moment_alert_once(slack: SlackFake, premium: OnCallSchedule) -> None:
    # PostgreSQL: the schedule's row lock; SQLite: writers queue (IMMEDIATE transactions).
    with_channel(premium)
    start = threading.Barrier(4)
    alerted: list[int] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            alerted.append(alert_gaps(now=chicago(2026, 11, 9, 10)))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(alerted) == [0, 0, 0, 1]
    assert GapAlert.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_a_schedule_that_cannot_be_read_does_not_stop_the_others(
    slack: SlackFake,
    premium: OnCallSchedule,
    developer_on_call: OnCallSchedule,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with_channel(premium)
    BusinessCalendar.objects.filter(key="support").delete()
    with caplog.at_level(logging.ERROR, logger="ceres.oncall.gaps"):
        assert alert_gaps(now=chicago(2026, 11, 9, 10)) == 1
    [record] = [r for r in caplog.records if r.name == "ceres.oncall.gaps"]
    assert record.getMessage() == f"on-call schedule {developer_on_call.pk}: gaps ahead not alerted"


def test_the_gap_alerts_run_every_15_minutes() -> None:
    jobs = {job.name: job for job in load_jobs()}
    assert jobs["oncall.gap-alerts"].every == datetime.timedelta(minutes=15)

"""The Slack on-call user groups follow the final schedule: at each handoff the group gets the
new person, once, through the outbox and the fake Slack (`sync_usergroups`, then the outbox
delivered as a worker would)."""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TypedDict

import pytest
from django.db import connection
from pytest_django import Settings

from ceres.core.audit.models import AuditEntry
from ceres.core.outbox import services as outbox_services
from ceres.core.outbox.models import OutboxMessage
from ceres.core.periodic.registry import load_jobs
from ceres.oncall import services, slack_sync
from ceres.oncall.models import OnCallSchedule
from ceres.oncall.slack_sync import sync_usergroups
from ceres.sla.models import BusinessCalendar
from ceres.team.models import Person
from tests.fakes.slack import SlackFake
from tests.oncall.conftest import chicago

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
INFRA = "S0INFRA"
DEV = "S0DEVONCALL"


@pytest.fixture(autouse=True)
def _fresh_warnings() -> Iterator[None]:
    """The once-per-process warnings start afresh in every test (row ids repeat)."""
    slack_sync._warned.clear()
    yield
    slack_sync._warned.clear()


@pytest.fixture
def slack(slack_fake: SlackFake, settings: Settings) -> SlackFake:
    for user_id, name in [("U0RAVI", "ravi"), ("U0JONAS", "jonas"), ("U0LENA", "lena")]:
        slack_fake.add_user(user_id, name)
    slack_fake.add_user("U0ZAY", "zay", real_name="Zay Hanlon")
    slack_fake.add_usergroup(INFRA, "infrastructure-oncall", users=["U0RAVI"])
    slack_fake.add_usergroup(DEV, "oncall", users=["U0LENA"])
    slack_fake.add_usergroup("S0OTHER", "help-customers")
    settings.CERES_SLACK_API_URL = slack_fake.api_url
    settings.CERES_SLACK_BOT_TOKEN = slack_fake.token
    settings.CERES_SLACK_TIMEOUT = 5
    settings.CERES_OUTBOX_MAX_ATTEMPTS = 5
    return slack_fake


def slack_ids(**ids: str) -> None:
    for username, slack_user_id in ids.items():
        Person.objects.filter(user__username=username).update(slack_user_id=slack_user_id)


@pytest.fixture
def infrastructure(first_responder: OnCallSchedule) -> OnCallSchedule:
    """The first responders (Ravi, then Jonas, weekly from Monday 2 November 2026 09:00
    Chicago) with their Slack ids, owning @infrastructure-oncall."""
    slack_ids(ravi="U0RAVI", jonas="U0JONAS")
    OnCallSchedule.objects.filter(pk=first_responder.pk).update(slack_usergroup_id=INFRA)
    first_responder.refresh_from_db()
    return first_responder


@pytest.fixture
def developer(developer_on_call: OnCallSchedule, cse: Person) -> OnCallSchedule:
    """Lena, the developer on-call in business hours only, owning @oncall."""
    slack_ids(lena="U0LENA")
    OnCallSchedule.objects.filter(pk=developer_on_call.pk).update(slack_usergroup_id=DEV)
    developer_on_call.refresh_from_db()
    return developer_on_call


def deliver_outbox() -> list[str]:
    """What a worker does after the commit: every pending message, oldest first."""
    pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).order_by("pk")
    return [
        outbox_services.deliver_message(message_id=pk)
        for pk in pending.values_list("pk", flat=True)
    ]


def updates(slack: SlackFake) -> list[tuple[str, str]]:
    """The usergroups.users.update calls Slack received: (group, users)."""
    return [
        (call.params["usergroup"], call.params["users"])
        for call in slack.calls("usergroups.users.update")
    ]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "ceres.oncall.slack_sync" and record.levelno >= logging.WARNING
    ]


# --- the handoff -------------------------------------------------------------------------------


def test_at_the_monday_handoff_the_group_gets_the_new_first_responder(
    slack: SlackFake, infrastructure: OnCallSchedule
) -> None:
    assert sync_usergroups(now=chicago(2026, 11, 9, 8, 59)) == 1  # Ravi's week, first sync
    assert deliver_outbox() == ["sent"]
    assert sync_usergroups(now=chicago(2026, 11, 9, 9, 0)) == 1  # Monday 09:00: Jonas
    assert deliver_outbox() == ["sent"]

    assert updates(slack) == [(INFRA, "U0RAVI"), (INFRA, "U0JONAS")]
    assert slack.usergroup(INFRA)["users"] == ["U0JONAS"]
    infrastructure.refresh_from_db()
    assert infrastructure.slack_usergroup_users == ["U0JONAS"]
    assert infrastructure.slack_usergroup_synced_at == chicago(2026, 11, 9, 9, 0)
    entry = AuditEntry.objects.filter(action="oncall.usergroup.sync").order_by("id").last()
    assert entry is not None
    assert entry.changes == {"slack_usergroup_users": [["U0RAVI"], ["U0JONAS"]]}
    assert entry.target_label == "infrastructure-oncall"


def test_running_the_sync_again_sends_nothing_more(
    slack: SlackFake, infrastructure: OnCallSchedule
) -> None:
    handoff = chicago(2026, 11, 9, 9, 0)
    assert sync_usergroups(now=handoff) == 1
    assert sync_usergroups(now=handoff) == 0
    assert sync_usergroups(now=handoff + datetime.timedelta(minutes=1)) == 0
    deliver_outbox()
    assert sync_usergroups(now=handoff + datetime.timedelta(hours=3)) == 0

    assert OutboxMessage.objects.count() == 1
    assert updates(slack) == [(INFRA, "U0JONAS")]


def test_an_override_changes_the_group_and_its_end_or_removal_changes_it_back(
    slack: SlackFake, infrastructure: OnCallSchedule, make_person: Callable[..., Person]
) -> None:
    zay = make_person("engineer", name="Zay Hanlon", slack_user_id="U0ZAY")
    services.add_override(
        actor=None,
        schedule=infrastructure,
        person=zay,
        start=chicago(2026, 11, 10, 12),
        end=chicago(2026, 11, 10, 18),
    )
    for hour in (11, 12, 17, 18):  # Jonas, Zay from noon, Zay, Jonas again at 18:00
        sync_usergroups(now=chicago(2026, 11, 10, hour))
        deliver_outbox()
    assert updates(slack) == [(INFRA, "U0JONAS"), (INFRA, "U0ZAY"), (INFRA, "U0JONAS")]

    # Arranged again for the next day, removed while it runs, then arranged again: every change
    # of person is sent, even back to an earlier one at the same shift start.
    def cover(day: int) -> None:
        services.add_override(
            actor=None,
            schedule=infrastructure,
            person=zay,
            start=chicago(2026, 11, day, 12),
            end=chicago(2026, 11, day, 18),
        )

    cover(11)
    sync_usergroups(now=chicago(2026, 11, 11, 13))
    services.remove_override(actor=None, override=infrastructure.overrides.get(start__day=11))
    sync_usergroups(now=chicago(2026, 11, 11, 14))
    cover(11)
    sync_usergroups(now=chicago(2026, 11, 11, 15))
    deliver_outbox()
    assert updates(slack)[3:] == [(INFRA, "U0ZAY"), (INFRA, "U0JONAS"), (INFRA, "U0ZAY")]
    assert slack.usergroup(INFRA)["users"] == ["U0ZAY"]


def test_in_a_gap_the_group_keeps_its_person_and_the_gap_is_logged_once(
    slack: SlackFake, developer: OnCallSchedule, caplog: pytest.LogCaptureFixture
) -> None:
    assert sync_usergroups(now=chicago(2026, 11, 10, 12)) == 1  # Tuesday noon: Lena
    deliver_outbox()
    with caplog.at_level(logging.WARNING, logger="ceres.oncall.slack_sync"):
        assert sync_usergroups(now=chicago(2026, 11, 10, 20)) == 0  # the night: nobody
        assert sync_usergroups(now=chicago(2026, 11, 10, 20, 1)) == 0
    assert sync_usergroups(now=chicago(2026, 11, 11, 9)) == 0  # Lena again: unchanged

    assert updates(slack) == [(DEV, "U0LENA")]
    assert slack.usergroup(DEV)["users"] == ["U0LENA"]
    [warning] = warnings(caplog)  # once for the night, not once a minute
    assert "developer-on-call: nobody is on call" in warning
    assert DEV in warning
    assert "U0LENA" in warning


def test_someone_on_call_without_a_slack_id_leaves_the_group_as_it_was(
    slack: SlackFake, infrastructure: OnCallSchedule, caplog: pytest.LogCaptureFixture
) -> None:
    Person.objects.filter(user__username="jonas").update(slack_user_id="")
    sync_usergroups(now=chicago(2026, 11, 9, 8))
    with caplog.at_level(logging.WARNING, logger="ceres.oncall.slack_sync"):
        assert sync_usergroups(now=chicago(2026, 11, 9, 9)) == 0
    Person.objects.filter(user__username="ravi").update(is_active=False)
    with caplog.at_level(logging.WARNING, logger="ceres.oncall.slack_sync"):
        assert sync_usergroups(now=chicago(2026, 11, 16, 9)) == 0  # Ravi's week, left the team
    deliver_outbox()

    assert updates(slack) == [(INFRA, "U0RAVI")]
    first, second = warnings(caplog)
    assert "Jonas Berg is on call but has no Slack id" in first
    assert "Ravi Menon is on call but is no longer on the team" in second


def test_the_dst_week_hands_off_at_nine_on_the_clock(
    slack: SlackFake, infrastructure: OnCallSchedule
) -> None:
    # Clocks went forward on Sunday 14 March 2027: Monday 09:00 CDT is 14:00 UTC, not 15:00.
    handoff = datetime.datetime(2027, 3, 15, 14, 0, tzinfo=UTC)
    assert chicago(2027, 3, 15, 9) == handoff
    sync_usergroups(now=handoff - datetime.timedelta(minutes=1))
    deliver_outbox()
    assert slack.usergroup(INFRA)["users"] == ["U0RAVI"]
    sync_usergroups(now=handoff)
    deliver_outbox()
    assert slack.usergroup(INFRA)["users"] == ["U0JONAS"]
    assert sync_usergroups(now=handoff + datetime.timedelta(hours=1)) == 0
    assert updates(slack) == [(INFRA, "U0RAVI"), (INFRA, "U0JONAS")]


# --- the user group named by its handle ------------------------------------------------------


def test_a_group_named_by_handle_is_looked_up_once_and_stored(
    slack: SlackFake, first_responder: OnCallSchedule
) -> None:
    slack_ids(ravi="U0RAVI", jonas="U0JONAS")
    OnCallSchedule.objects.filter(pk=first_responder.pk).update(
        slack_usergroup_handle="@infrastructure-oncall"
    )
    assert sync_usergroups(now=chicago(2026, 11, 9, 8)) == 1
    assert sync_usergroups(now=chicago(2026, 11, 9, 9)) == 1
    deliver_outbox()

    first_responder.refresh_from_db()
    assert first_responder.slack_usergroup_id == INFRA
    assert len(slack.calls("usergroups.list")) == 1
    assert updates(slack) == [(INFRA, "U0RAVI"), (INFRA, "U0JONAS")]


class Failure(TypedDict, total=False):
    """How the fake fails the look-up (`SlackFake.fail_next`'s arguments)."""

    status: int
    error: str
    drop: bool


@pytest.mark.parametrize(
    ("failure", "level", "says"),
    [
        ({"status": 500}, logging.WARNING, "usergroups.list failed (HTTP 500)"),
        ({"error": "missing_scope"}, logging.ERROR, "usergroups:read scope"),
        ({"drop": True}, logging.WARNING, "usergroups.list failed ("),
    ],
)
def test_a_failed_lookup_is_logged_and_the_other_schedules_are_synced(
    slack: SlackFake,
    infrastructure: OnCallSchedule,
    developer: OnCallSchedule,
    caplog: pytest.LogCaptureFixture,
    failure: Failure,
    level: int,
    says: str,
) -> None:
    OnCallSchedule.objects.filter(pk=developer.pk).update(
        slack_usergroup_id="", slack_usergroup_handle="oncall"
    )
    slack.fail_next("usergroups.list", **failure)
    now = chicago(2026, 11, 10, 12)
    with caplog.at_level(logging.WARNING, logger="ceres.oncall.slack_sync"):
        assert sync_usergroups(now=now) == 1  # the first responders' group only
    deliver_outbox()
    assert updates(slack) == [(INFRA, "U0JONAS")]
    [record] = [r for r in caplog.records if r.name == "ceres.oncall.slack_sync"]
    assert record.levelno == level
    assert says in record.getMessage()

    assert sync_usergroups(now=now + datetime.timedelta(minutes=1)) == 1  # Slack answers now
    deliver_outbox()
    assert updates(slack)[1:] == [(DEV, "U0LENA")]
    developer.refresh_from_db()
    assert developer.slack_usergroup_id == DEV


def test_an_unknown_handle_is_logged_and_not_synced(
    slack: SlackFake, first_responder: OnCallSchedule, caplog: pytest.LogCaptureFixture
) -> None:
    slack_ids(ravi="U0RAVI")
    OnCallSchedule.objects.filter(pk=first_responder.pk).update(slack_usergroup_handle="infra")
    with caplog.at_level(logging.WARNING, logger="ceres.oncall.slack_sync"):
        assert sync_usergroups(now=chicago(2026, 11, 3, 12)) == 0
    assert warnings(caplog) == [
        "on-call schedule infrastructure-oncall: no Slack user group with the handle @infra "
        "(usergroups.list); not synced"
    ]
    first_responder.refresh_from_db()
    assert first_responder.slack_usergroup_id == ""
    assert first_responder.slack_usergroup_users == []
    assert slack.calls("usergroups.users.update") == []


def test_schedules_without_a_group_are_left_alone(
    slack: SlackFake, first_responder: OnCallSchedule
) -> None:
    slack_ids(ravi="U0RAVI")
    assert sync_usergroups(now=chicago(2026, 11, 3, 12)) == 0
    assert slack.calls() == []
    assert not OutboxMessage.objects.exists()


# --- Slack not configured, a broken schedule, two workers -----------------------------------


def test_without_a_slack_token_the_update_waits_in_the_outbox(
    slack: SlackFake,
    infrastructure: OnCallSchedule,
    developer: OnCallSchedule,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.CERES_SLACK_BOT_TOKEN = ""
    OnCallSchedule.objects.filter(pk=developer.pk).update(
        slack_usergroup_id="", slack_usergroup_handle="oncall"
    )
    with caplog.at_level(logging.WARNING, logger="ceres.oncall.slack_sync"):
        assert sync_usergroups(now=chicago(2026, 11, 10, 12)) == 1  # the id is known: queued
        sync_usergroups(now=chicago(2026, 11, 10, 12, 1))
    assert deliver_outbox() == ["skipped"]
    assert slack.calls() == []
    assert warnings(caplog) == [
        "on-call schedule developer-on-call: cannot look up the Slack user group @oncall "
        "without CERES_SLACK_BOT_TOKEN; not synced"
    ]

    settings.CERES_SLACK_BOT_TOKEN = slack.token
    message = OutboxMessage.objects.get()
    later = message.next_attempt_at + datetime.timedelta(minutes=6)
    assert outbox_services.deliver_message(message_id=message.pk, now=later) == "sent"
    assert updates(slack) == [(INFRA, "U0JONAS")]


def test_a_schedule_that_cannot_be_read_does_not_stop_the_others(
    slack: SlackFake,
    infrastructure: OnCallSchedule,
    developer: OnCallSchedule,
    caplog: pytest.LogCaptureFixture,
) -> None:
    BusinessCalendar.objects.filter(key="support").delete()
    with caplog.at_level(logging.ERROR, logger="ceres.oncall.slack_sync"):
        assert sync_usergroups(now=chicago(2026, 11, 10, 12)) == 1
    deliver_outbox()
    assert updates(slack) == [(INFRA, "U0JONAS")]
    [record] = [r for r in caplog.records if r.name == "ceres.oncall.slack_sync"]
    assert record.getMessage() == "on-call schedule developer-on-call: Slack user group not synced"
    assert "no business calendar 'support'" in str(record.exc_info[1] if record.exc_info else "")


@pytest.mark.django_db(transaction=True)
def test_two_workers_syncing_at_once_send_once(
    slack: SlackFake, infrastructure: OnCallSchedule
) -> None:
    # PostgreSQL: the schedule's row lock; SQLite: writers queue (IMMEDIATE transactions).
    start = threading.Barrier(4)
    sent: list[int] = []
    failures: list[BaseException] = []

    def sync() -> None:
        try:
            start.wait()
            sent.append(sync_usergroups(now=chicago(2026, 11, 9, 9)))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sync) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(sent) == [0, 0, 0, 1]
    assert OutboxMessage.objects.count() == 1


def test_the_sync_runs_every_minute() -> None:
    jobs = {job.name: job for job in load_jobs()}
    assert jobs["oncall.usergroup-sync"].every == datetime.timedelta(minutes=1)

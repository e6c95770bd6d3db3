"""J5, the infrastructure alarm (shared/JOURNEYS.md), as a whole: the applied demo playbook
(the first-responder rotation handing off Monday 08:00 Chicago, the handbook's escalation
chain), Alertmanager's webhook, the periodic jobs as the worker runs them (with a worker dying
mid-sweep), signed Slack presses, the outbox through the official Slack and Twilio SDKs
against their fakes, and next Monday's handoff summary and retro."""

from __future__ import annotations

import datetime
import json
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from pytest_django import Settings

from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import deliver_message
from ceres.oncall import escalation, handoff, integrations, paging, slack_sync, targets
from ceres.oncall import retro as retros
from ceres.oncall.models import (
    Alarm,
    AlarmPage,
    EscalationPolicy,
    HandoffSummary,
    OnCallSchedule,
)
from ceres.playbook.services import DEMO_PLAYBOOK, apply_path
from ceres.team.models import Person
from tests.fakes.slack import SlackFake
from tests.fakes.twilio import TwilioFake
from tests.slack.conftest import INTERACTIVITY, SECRET, signed_headers

pytestmark = pytest.mark.django_db

CHICAGO = ZoneInfo("America/Chicago")
RAVI, JONAS = "U0RAVINF1", "U0JONINF2"  # the demo's first responders (Ravi: the site owner)
HELP_P1, HELP_CUSTOMERS = "C0HELPP1", "C0HELPCUST1"
GROUP = "S0INFRAOC"


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    """A wall-clock moment in Chicago from Monday 30 November 2026 (day 30) into December
    (days 1 to 7)."""
    month = 11 if day == 30 else 12
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = at(30, 7, 0)
        monkeypatch.setattr("django.utils.timezone.now", lambda: self.now)

    def set(self, moment: datetime.datetime) -> None:
        self.now = moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def world(
    settings: Settings, slack_fake: SlackFake, twilio_fake: TwilioFake, clock: Clock
) -> tuple[SlackFake, TwilioFake]:
    settings.CERES_SLACK_SIGNING_SECRET = SECRET
    settings.CERES_SLACK_API_URL = slack_fake.api_url
    settings.CERES_SLACK_BOT_TOKEN = slack_fake.token
    settings.CERES_SLACK_TIMEOUT = 5
    settings.CERES_TWILIO_ACCOUNT_SID = twilio_fake.account_sid
    settings.CERES_TWILIO_AUTH_TOKEN = twilio_fake.auth_token
    settings.CERES_TWILIO_FROM = "+15555550199"
    settings.CERES_TWILIO_MESSAGING_SERVICE_SID = ""
    settings.CERES_TWILIO_API_URL = twilio_fake.url
    settings.CERES_TWILIO_TIMEOUT = 5
    for user, name in [(RAVI, "ravi"), (JONAS, "jonas"), ("U0ADAVP01", "ada")]:
        slack_fake.add_user(user, name)
    slack_fake.add_channel(HELP_P1, "help-p1")
    slack_fake.add_channel(HELP_CUSTOMERS, "help-customers")
    slack_fake.add_usergroup(GROUP, "infrastructure-oncall")
    apply_path(DEMO_PLAYBOOK)
    # The site owner pages by Slack in the demo; give Ravi's and Jonas's Slack ids as the fake
    # knows them (the demo's own), and the VP one too.
    Person.objects.filter(name="Ada Ortiz").update(slack_user_id="U0ADAVP01")
    return slack_fake, twilio_fake


def work(clock: Clock) -> None:
    """What the worker does besides the periodic jobs: the inbox, then the outbox, until idle
    (a failed delivery is made due again at once, as time would)."""
    for _ in range(10):
        events = InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).order_by("pk")
        for event in events:
            process_event(inbound_event_id=event.pk)
        pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING)
        if not events and not pending.exists():
            return
        for message in pending.order_by("pk"):
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=clock.now)
            deliver_message(message_id=message.pk)


def alertmanager(alerts: list[tuple[str, str, str]], starts: datetime.datetime) -> dict[str, Any]:
    """Alertmanager's webhook body for (fingerprint, alertname, summary) alerts."""
    return {
        "version": "4",
        "receiver": "ceres",
        "status": "firing",
        "groupKey": "{}:{alertname}",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": name, "severity": "critical", "service": name},
                "annotations": {"summary": summary},
                "startsAt": starts.isoformat(),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.internal/graph",
                "fingerprint": fingerprint,
            }
            for fingerprint, name, summary in alerts
        ],
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.internal",
    }


def press(client: Client, message: dict[str, Any], channel: str, who: str, action: str) -> None:
    button = next(
        e for e in message["blocks"][1]["elements"] if e["action_id"].endswith(f":{action}")
    )
    payload = {
        "type": "block_actions",
        "trigger_id": "4242.1.feed",
        "user": {"id": who},
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel, "message_ts": message["ts"]},
        "message": {"ts": message["ts"], "text": message["text"]},
        "actions": [{"type": "button", "action_id": button["action_id"], "value": "x"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = client.post(
        INTERACTIVITY,
        data=body,
        content_type="application/x-www-form-urlencoded",
        **signed_headers(body),
    )
    assert response.status_code == 200


def pages_of(alarm: Alarm) -> list[tuple[int, int, str]]:
    return list(
        AlarmPage.objects.filter(alarm=alarm)
        .order_by("round", "step", "person__name")
        .values_list("round", "step", "person__name")
    )


def test_j5_the_infrastructure_alarm(
    client: Client,
    world: tuple[SlackFake, TwilioFake],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack, twilio = world
    schedule = OnCallSchedule.objects.get(key="infrastructure-oncall")
    ravi = Person.objects.get(slack_user_id=RAVI)
    jonas = Person.objects.get(slack_user_id=JONAS)

    # 1. Monday 08:00 the first-responder rotation hands off: @infrastructure-oncall now
    #    points at the new person (Ravi had last week; Jonas this one).
    clock.set(at(30, 7, 59))
    slack_sync.sync_usergroups()
    work(clock)
    assert slack.usergroup(GROUP)["users"] == [RAVI]
    clock.set(at(30, 8, 0))
    slack_sync.sync_usergroups()
    slack_sync.sync_usergroups()  # the next minute's run: nothing more to say
    work(clock)
    assert slack.usergroup(GROUP)["users"] == [JONAS]
    assert len(slack.calls("usergroups.users.update")) == 2

    # 2. Tuesday 03:12 Alertmanager fires "database CPU high" twice (one alarm, count 2), then
    #    once for another service.
    _, token = integrations.add_integration(
        actor=None,
        name="Prometheus (Managed Cloud)",
        kind="alertmanager",
        schedule=schedule,
        escalation_policy=EscalationPolicy.objects.get(key="infrastructure-alarm"),
    )
    url = f"/integrations/alerts/{token}"
    clock.set(at(1, 3, 12))
    db = alertmanager([("fp-db", "DatabaseCPUHigh", "database CPU high")], clock.now)
    api = alertmanager([("fp-api", "APILatencyHigh", "API latency high")], clock.now)
    for body in (db, db, api):
        answer = client.post(url, json.dumps(body), content_type="application/json")
        assert answer.status_code == 202, answer.content
    work(clock)
    db_alarm = Alarm.objects.get(dedup_key="fp-db")
    api_alarm = Alarm.objects.get(dedup_key="fp-api")
    assert (db_alarm.count, api_alarm.count) == (2, 1)
    assert db_alarm.ack_due_at == clock.now + datetime.timedelta(hours=4)  # outside hours

    # 3. #help-p1 gets one post per alarm; the first responder is paged by Slack and SMS.
    posts = slack.messages(HELP_P1)
    assert len(posts) == 2
    assert "database CPU high" in posts[0]["text"]
    assert "API latency high" in posts[1]["text"]
    jonas_dms = slack.messages(slack.dm_channel(JONAS) or "none")
    assert len(jonas_dms) == 2
    assert [sms["to"] for sms in twilio.sent] == [jonas.phone, jonas.phone]
    assert pages_of(db_alarm) == [(0, 0, "Jonas Berg")]

    # 4 and 5. Nobody acknowledges for 15 minutes: the next step (the site owner) is paged. A
    #    worker dies in the middle of that sweep, after paging one alarm's step and before the
    #    other's: nothing is skipped or repeated when the sweep runs again.
    clock.set(at(1, 3, 27))
    real_send = paging.send
    calls = {"n": 0}

    def dies_on_second_alarm(*args: Any, **kwargs: Any) -> list[str]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(paging, "send", dies_on_second_alarm)
    with pytest.raises(SystemExit):
        escalation.sweep()
    monkeypatch.setattr(paging, "send", real_send)
    escalation.sweep()  # the restarted worker
    escalation.sweep()  # and another one, a moment later
    work(clock)
    assert pages_of(db_alarm) == [(0, 0, "Jonas Berg"), (0, 1, "Ravi Menon")]
    assert pages_of(api_alarm) == [(0, 0, "Jonas Berg"), (0, 1, "Ravi Menon")]
    ravi_dms = slack.messages(slack.dm_channel(RAVI) or "none")
    assert len(ravi_dms) == 2

    #    The site owner acknowledges the database alarm from his DM: its escalation stops; the
    #    other goes on to the VP at 03:42.
    db_page = next(m for m in ravi_dms if "database CPU high" in m["text"])
    clock.set(at(1, 3, 30))
    press(client, db_page, slack.dm_channel(RAVI) or "", RAVI, "ack")
    work(clock)
    db_alarm.refresh_from_db()
    assert db_alarm.status == Alarm.Status.ACKNOWLEDGED
    assert db_alarm.acknowledged_by == ravi
    assert db_alarm.next_escalation_at is None
    updated = slack.messages(slack.dm_channel(RAVI) or "none")
    assert any("Acknowledged by" in json.dumps(m.get("blocks")) for m in updated)
    assert any("Acknowledged by Ravi Menon" in m["text"] for m in slack.messages(HELP_P1))
    clock.set(at(1, 3, 42))
    escalation.sweep()
    work(clock)
    assert pages_of(db_alarm) == [(0, 0, "Jonas Berg"), (0, 1, "Ravi Menon")]
    assert pages_of(api_alarm)[-1] == (0, 2, "Ada Ortiz")
    #    Jonas acknowledges the API alarm; Alertmanager later says both are fixed.
    escalation.acknowledge(actor=None, alarm_id=api_alarm.pk, person=jonas)
    clock.set(at(1, 4, 30))
    for body in (db, api):
        body = json.loads(json.dumps(body))
        body["status"] = "resolved"
        for alert in body["alerts"]:
            alert["status"] = "resolved"
            alert["endsAt"] = clock.now.isoformat()
        client.post(url, json.dumps(body), content_type="application/json")
    work(clock)
    assert set(Alarm.objects.values_list("status", flat=True)) == {"resolved"}
    report = targets.response_report(at(1, 0), at(2, 0))
    assert (report.met, report.missed) == (2, 0)

    # 6. The next Monday a handoff summary is drafted for Jonas, the outgoing on-call, with the
    #    week's alarms and open issues; he posts it to #help-customers. The retro records what
    #    went well, what could have gone better and what to remember, and is found by search.
    clock.set(at(7, 8, 30))
    assert handoff.draft_summaries() >= 1  # every schedule that handed off this morning
    assert handoff.draft_summaries() == 0
    summary = HandoffSummary.objects.get(schedule=schedule)
    assert summary.outgoing == jonas
    assert "database CPU high" in summary.body
    assert "API latency high" in summary.body
    assert "Items to watch" in summary.body
    work(clock)
    assert any("handoffs" in m["text"] for m in slack.messages(slack.dm_channel(JONAS) or ""))
    handoff.post_summary(
        actor=jonas.user,
        summary=summary,
        person=jonas,
        body=summary.body + "\nWatch the database CPU after Thursday's upgrade.",
    )
    work(clock)
    posted = slack.messages(HELP_CUSTOMERS)
    assert len(posted) == 1
    assert "Watch the database CPU" in posted[0]["text"]
    retro = retros.save_retro(
        actor=jonas.user,
        schedule=schedule,
        week_start=datetime.date(2026, 11, 30),
        went_well="Ravi picked up the database alarm within minutes of his page.",
        could_be_better="Nobody answered the first page at 03:12: my phone was on silent.",
        remember="Turn on the SMS bypass for Do Not Disturb when on call.",
        person=jonas,
    )
    assert list(retros.search_retros("silent phone", schedule=schedule)) == [retro]
    assert {a.pk for a in handoff.week_alarms(schedule, retro.week_start)} == {
        db_alarm.pk,
        api_alarm.pk,
    }

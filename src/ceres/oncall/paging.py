"""Paging: what a page says and where it goes (docs/oncall.md, "Escalation").

Who a step reaches at an instant, the Slack DM with Acknowledge / Resolve, the SMS, the e-mail,
and the alarm channel's post and its thread. Every message leaves through the outbox under the
key the caller gives (alarm, round, step, person, way), so it is sent once. The decisions (when
to page, which step) are `oncall.escalation`'s.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.conf import settings

from ceres.core.errors import Invalid
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import enqueue
from ceres.oncall.models import Alarm, EscalationStep
from ceres.oncall.schedule import on_call_at
from ceres.oncall.selectors import engine_schedule
from ceres.slack import outbox as slack_outbox
from ceres.sms.outbox import send_sms
from ceres.team.models import Person

log = logging.getLogger(__name__)

BUTTON_PREFIX = "oncall"
ACKNOWLEDGE, RESOLVE = "ack", "resolve"


# --- words and links -----------------------------------------------------------------------------


def alarm_link(alarm: Alarm) -> str:
    # A fixed path (not reverse()): pages go out from the sweep in a worker.
    return f"{settings.BASE_URL.rstrip('/')}/oncall/alarms/{alarm.pk}/"


def describe(alarm: Alarm) -> str:
    times = f", {alarm.count} times" if alarm.count > 1 else ""
    return f"[{alarm.severity.upper()}] {alarm.title} ({alarm.integration.name}{times})"


def button_action_id(alarm: Alarm, action: str) -> str:
    return f"{BUTTON_PREFIX}:{alarm.pk}:{action}"


def parse_action_id(action_id: str) -> tuple[int, str] | None:
    """(alarm id, "ack" | "resolve") of one of the page's buttons, or None."""
    parts = action_id.split(":")
    if len(parts) != 3 or parts[0] != BUTTON_PREFIX or parts[2] not in (ACKNOWLEDGE, RESOLVE):
        return None
    if not parts[1].isdigit() or len(parts[1]) > 18:
        return None
    return int(parts[1]), parts[2]


def page_blocks(alarm: Alarm, text: str) -> list[dict[str, object]]:
    """The Slack page: what fired, then Acknowledge and Resolve."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"{BUTTON_PREFIX}-{alarm.pk}",
            "elements": [
                {
                    "type": "button",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "action_id": button_action_id(alarm, ACKNOWLEDGE),
                    "value": str(alarm.pk),
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Resolve"},
                    "action_id": button_action_id(alarm, RESOLVE),
                    "value": str(alarm.pk),
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Resolve this alarm?"},
                        "text": {
                            "type": "mrkdwn",
                            "text": "Escalation stops; the next notification opens a new alarm.",
                        },
                        "confirm": {"type": "plain_text", "text": "Resolve"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                    },
                },
            ],
        },
    ]


def answered_blocks(text: str, note: str) -> list[dict[str, object]]:
    """The page once answered: the buttons give way to who did what."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]},
    ]


def page_text(alarm: Alarm, step: int, round_: int) -> str:
    where = f"step {step + 1}" + (f", round {round_ + 1}" if round_ else "")
    return f":rotating_light: {describe(alarm)}\nYou are paged ({where}). {alarm_link(alarm)}"


# --- who a step pages --------------------------------------------------------------------------


def step_people(step: EscalationStep, at: datetime.datetime) -> list[Person]:
    """Everyone the step pages at `at`, each once, in order: the schedule's on-call, the named
    people, then the role's active members. Inactive people are skipped."""
    ids: list[int] = []
    if step.schedule is not None:
        try:
            key = on_call_at(engine_schedule(step.schedule, overrides_from=at), at)
        except Invalid as exc:
            # A layer's calendar deleted since: page the rest of the step (and the next steps)
            # rather than refuse the alarm; the On-call page shows the same error.
            log.error("%s: the on-call of %s is unknown: %s", step, step.schedule.key, exc)
            key = None
        if key is not None:
            ids.append(int(key))
    ids.extend(int(pk) for pk in step.people)
    if step.role:
        ids.extend(
            Person.objects.filter(role__key=step.role, is_active=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
    people = Person.objects.filter(is_active=True).in_bulk(ids)
    seen: set[int] = set()
    ordered = []
    for pk in ids:
        if pk in people and pk not in seen:
            seen.add(pk)
            ordered.append(people[pk])
    return ordered


def send(alarm: Alarm, person: Person, ways: Iterable[str], *, key: str, text: str) -> list[str]:
    """Page one person the ways the step says; the ways that went out. Slack needs a Slack id
    and SMS a phone number; a person reached no other way gets e-mail."""
    sent: list[str] = []
    for way in ways:
        if way == "slack" and person.slack_user_id:
            slack_outbox.send_dm(
                idempotency_key=f"{key}-slack",
                user=person.slack_user_id,
                text=text,
                blocks=page_blocks(alarm, text),
            )
            sent.append("slack")
        elif way == "sms" and person.phone:
            body = (
                f"[Ceres] ALARM {describe(alarm)}"[:300]
                + f" Reply ACK {alarm.pk} or RESOLVE {alarm.pk}. {alarm_link(alarm)}"
            )
            send_sms(idempotency_key=f"{key}-sms", to=person.phone, body=body)
            sent.append("sms")
        elif way == "email" and person.email:
            email(person, key=f"{key}-email", alarm=alarm, text=text)
            sent.append("email")
    if not sent and person.email:
        email(person, key=f"{key}-email", alarm=alarm, text=text)
        sent.append("email")
    return sent


def email(person: Person, *, key: str, alarm: Alarm, text: str) -> None:
    enqueue(
        channel="email",
        idempotency_key=key,
        payload={
            "to": [person.email],
            "cc": [],
            "subject": f"[Ceres] Alarm: {alarm.title}"[:200].replace("\n", " "),
            "body": text,
        },
    )


# --- the alarm channel ---------------------------------------------------------------------------


def channel_key(alarm: Alarm) -> str:
    return f"oncall-alarm-{alarm.pk}-channel"


def channel_thread(alarm: Alarm) -> str | None:
    """The ts of the alarm's post in the alarm channel once Slack has it, to answer in its
    thread; None before (the follow-up then goes to the channel after it, in order)."""
    sent = (
        OutboxMessage.objects.filter(idempotency_key=channel_key(alarm), sent_at__isnull=False)
        .values_list("provider_reference", flat=True)
        .first()
    )
    return sent or None


def tell_channel(alarm: Alarm, text: str, *, key: str) -> None:
    policy = alarm.policy
    if policy is None or not policy.alarm_channel:
        return
    slack_outbox.post_in_thread(
        idempotency_key=key,
        channel=policy.alarm_channel,
        thread_ts=channel_thread(alarm),
        text=text,
    )

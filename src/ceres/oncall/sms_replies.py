"""Answering a page by SMS: "ACK 42" acknowledges alarm 42, "RESOLVE 42" resolves it; without a
number, the latest open alarm the sender was paged for. The text arrives through Twilio's signed
webhook (`ceres.sms.webhooks`), is stored in the inbox and handled here in a task.

The sender is the active team member whose phone number sent it; the rules are the
escalation's (only someone paged may acknowledge). Whatever happens, the sender gets one text
back through the outbox saying what was done, or why nothing was (keyed by the incoming
message, so a redelivery or a retried task answers once). A number that is no team member's
gets no answer: a text to a paging number from a stranger is logged and dropped.
"""

from __future__ import annotations

import logging
import re

from django.utils import timezone

from ceres.core.errors import CeresError
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.registry import register_handler
from ceres.oncall import escalation
from ceres.oncall.models import Alarm, AlarmPage
from ceres.sms.outbox import send_sms
from ceres.sms.webhooks import PROVIDER, RECEIVED
from ceres.team.models import Person

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"^\s*(ack|acknowledge|resolve)\b\s*#?\s*(\d{1,18})?\s*[.!]?\s*$", re.I)
HELP = "Reply ACK <alarm> to acknowledge or RESOLVE <alarm> to resolve, e.g. ACK 42."


def register() -> None:
    register_handler(PROVIDER, RECEIVED, on_sms)


def parse(body: str) -> tuple[str, int | None] | None:
    """("ack" | "resolve", the alarm's number or None) for a command, None for anything else."""
    match = _COMMAND.match(body)
    if match is None:
        return None
    action = "resolve" if match.group(1).lower() == "resolve" else "ack"
    return action, int(match.group(2)) if match.group(2) else None


def _latest_paged(person: Person) -> int | None:
    return (
        AlarmPage.objects.filter(person=person)
        .exclude(alarm__status=Alarm.Status.RESOLVED)
        .order_by("-paged_at", "-pk")
        .values_list("alarm_id", flat=True)
        .first()
    )


def on_sms(event: InboundEvent) -> None:
    payload = event.payload
    sender, body, sid = payload.get("From", ""), payload.get("Body", ""), event.event_id
    person = Person.objects.filter(phone=sender, is_active=True).first()
    if person is None:
        log.info("sms %s from %s: not a team member's number, ignored", sid, sender)
        return
    command = parse(str(body))
    answer = f"Ceres: not understood. {HELP}" if command is None else _carry_out(person, *command)
    send_sms(idempotency_key=f"oncall-sms-reply-{sid}", to=sender, body=answer)


def _carry_out(person: Person, action: str, alarm_id: int | None) -> str:
    if alarm_id is None:
        alarm_id = _latest_paged(person)
        if alarm_id is None:
            return f"Ceres: you have no open alarm you were paged for. {HELP}"
    now = timezone.now()
    try:
        if action == "ack":
            alarm = escalation.acknowledge(
                actor=person.user, alarm_id=alarm_id, person=person, now=now
            )
            return (
                f"Ceres: acknowledged alarm {alarm.pk} ({alarm.title[:100]}): escalation stopped."
            )
        alarm = escalation.resolve(actor=person.user, alarm_id=alarm_id, person=person, now=now)
        return f"Ceres: resolved alarm {alarm.pk} ({alarm.title[:100]})."
    except CeresError as exc:
        log.info("sms %s of alarm %s by %s refused: %s", action, alarm_id, person.pk, exc)
        return f"Ceres: nothing done for alarm {alarm_id}: {exc}"

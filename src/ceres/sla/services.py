"""Writes of the SLA engine: calendars and policies (from the playbook or the UI), and the
sweep that turns deadlines into warnings and breaches."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ceres.conversations.models import Conversation
from ceres.core.audit.services import Actor, diff, record_change, record_save, snapshot
from ceres.core.businesstime import Calendar
from ceres.core.errors import Conflict, Invalid, NotFound
from ceres.core.inbox.services import CERES_EVENTS, record_event
from ceres.core.outbox.services import enqueue
from ceres.sla import selectors
from ceres.sla.models import BusinessCalendar, SlaClock, SlaPolicy
from ceres.sla.policies import validate_policy
from ceres.team.models import Person

log = logging.getLogger(__name__)
URGENT = (Conversation.Priority.P0, Conversation.Priority.P1)


@transaction.atomic
def save_calendar(
    *, actor: Actor, key: str, spec: dict[str, Any], create: bool = False
) -> BusinessCalendar:
    """Create or replace a calendar; with `create`, a calendar of that key already there is a
    conflict (two people creating one name must not overwrite each other)."""
    calendar = Calendar.from_spec(spec)  # raises Invalid naming the field
    normalized = calendar.to_spec()
    row = BusinessCalendar.objects.select_for_update().filter(key=key).first()
    if row is not None and create:
        raise Conflict(f"a calendar named {key!r} exists; edit it instead", field="key")
    before = {"spec": row.spec} if row else {}
    if row is None:
        row = BusinessCalendar(key=key)
    row.spec = normalized
    row.save()
    record_save(
        actor=actor,
        action="calendar",
        target=row,
        target_label=key,
        before=before,
        after={"spec": normalized},
    )
    return row


POLICY_FIELDS = ("position", "match", "targets", "pause_on", "warn_at_fraction", "escalate_to_role")


@transaction.atomic
def save_policy(
    *,
    actor: Actor,
    key: str,
    position: int,
    match: dict[str, Any],
    targets: dict[str, Any],
    pause_on: list[str] | None = None,
    warn_at_fraction: float = 0.75,
    escalate_to_role: str = "",
    create: bool = False,
) -> SlaPolicy:
    """Create or replace a policy; with `create`, an existing key is a conflict."""
    pause = list(pause_on if pause_on is not None else ["waiting_on_customer", "on_hold"])
    validate_policy(
        match=match,
        targets=targets,
        pause_on=pause,
        known_calendars=set(BusinessCalendar.objects.values_list("key", flat=True)),
    )
    if position < 0:
        raise Invalid("must be 0 or more", field="position")
    if not 0 < warn_at_fraction < 1:
        raise Invalid("must be between 0 and 1 (e.g. 0.75)", field="warn_at_fraction")
    policy = SlaPolicy.objects.select_for_update().filter(key=key).first()
    if policy is not None and create:
        raise Conflict(f"a policy named {key!r} exists; edit it instead", field="key")
    before = snapshot(policy, POLICY_FIELDS) if policy else {}
    policy = policy or SlaPolicy(key=key)
    policy.position = position
    policy.match = match
    policy.targets = targets
    policy.pause_on = pause
    policy.warn_at_fraction = warn_at_fraction
    policy.escalate_to_role = escalate_to_role
    policy.save()
    record_save(
        actor=actor,
        action="sla_policy",
        target=policy,
        target_label=key,
        before=before,
        after=snapshot(policy, POLICY_FIELDS),
    )
    return policy


@transaction.atomic
def delete_policy(*, actor: Actor, key: str) -> None:
    """Conversations whose clocks it started keep their deadlines; new ones match the next
    policy in order."""
    policy = SlaPolicy.objects.select_for_update().filter(key=key).first()
    if policy is None:
        raise NotFound(f"no SLA policy {key!r}", field="policy")
    before = snapshot(policy, POLICY_FIELDS)
    record_change(
        actor=actor,
        action="sla_policy.delete",
        target=policy,
        target_label=key,
        changes=diff(before, {}),
    )
    policy.delete()


@transaction.atomic
def move_policy(*, actor: Actor, key: str, offset: int) -> SlaPolicy:
    """Try a policy `offset` places earlier (negative) or later (positive) than now; every
    position is renumbered 0, 1, 2 … in the new order."""
    policies = list(SlaPolicy.objects.select_for_update().order_by("position", "key"))
    keys = [policy.key for policy in policies]
    if key not in keys:
        raise NotFound(f"no SLA policy {key!r}", field="policy")
    index = keys.index(key)
    moved = policies.pop(index)
    policies.insert(max(0, min(len(policies), index + offset)), moved)
    for position, policy in enumerate(policies):
        if policy.position != position:
            record_change(
                actor=actor,
                action="sla_policy.update",
                target=policy,
                target_label=policy.key,
                changes=diff({"position": policy.position}, {"position": position}),
            )
            policy.position = position
            policy.save(update_fields=["position"])
    return moved


@transaction.atomic
def delete_calendar(*, actor: Actor, key: str) -> None:
    """Refused while a policy or a running clock counts its hours."""
    row = BusinessCalendar.objects.select_for_update().filter(key=key).first()
    if row is None:
        raise NotFound(f"no calendar {key!r}", field="calendar")
    users = selectors.calendar_users(key)
    if users:
        raise Conflict(
            f"policies use this calendar: {', '.join(users)}; change them first", field="calendar"
        )
    if SlaClock.objects.filter(calendar=row, stopped_at__isnull=True).exists():
        raise Conflict(
            "running SLA clocks count this calendar's hours; delete it once they have stopped",
            field="calendar",
        )
    record_change(
        actor=actor,
        action="calendar.delete",
        target=row,
        target_label=key,
        changes=diff({"spec": row.spec}, {}),
    )
    row.delete()


# --- the sweep -------------------------------------------------------------------------------


def _queue_people() -> list[Person]:
    """Who hears about an unassigned conversation: everyone whose role may work the queue."""
    perm = Permission.objects.filter(
        content_type__app_label="conversations", codename="change_conversation"
    ).first()
    if perm is None:
        return []
    people = Person.objects.filter(is_active=True, role__group__permissions=perm)
    return [p for p in people if perm_name(perm) not in (p.withheld_permissions or [])]


def perm_name(perm: Permission) -> str:
    return f"{perm.content_type.app_label}.{perm.codename}"


class _Audience:
    """Who to tell, looked up once per sweep rather than once per clock."""

    def __init__(self) -> None:
        self._queue: list[Person] | None = None
        self._roles: dict[str, list[Person]] = {}

    def queue(self) -> list[Person]:
        if self._queue is None:
            self._queue = _queue_people()
        return self._queue

    def role(self, key: str) -> list[Person]:
        if key not in self._roles:
            self._roles[key] = list(Person.objects.filter(is_active=True, role__key=key))
        return self._roles[key]


def _recipients(clock: SlaClock, *, breach: bool, audience: _Audience) -> list[str]:
    conversation = clock.conversation
    people = [conversation.assignee] if conversation.assignee else audience.queue()
    if (
        breach
        and conversation.priority in URGENT
        and clock.policy
        and clock.policy.escalate_to_role
    ):
        people = [*people, *audience.role(clock.policy.escalate_to_role)]
    return sorted({p.email for p in people if p is not None and p.email})


def _describe(clock: SlaClock) -> str:
    conversation = clock.conversation
    # Codenames only: not every recipient may see customers' real names.
    who = conversation.account.codename.name if conversation.account else "no account"
    return f"#{conversation.pk} {conversation.priority} ({who}): {conversation.subject[:80]}"


def _notify(clock: SlaClock, *, breach: bool, audience: _Audience) -> None:
    to = _recipients(clock, breach=breach, audience=audience)
    if not to:
        log.warning(
            "SLA %s for conversation %s: nobody to notify", clock.target, clock.conversation_id
        )
        return
    what = "BREACHED" if breach else "due soon"
    target = clock.get_target_display().lower()
    enqueue(
        channel="email",
        idempotency_key=f"sla-clock-{clock.pk}-{'breach' if breach else 'warning'}",
        payload={
            "to": to,
            "cc": [],
            "subject": f"[SLA {what}] {target}: {_describe(clock)}",
            "body": (
                f"The {target} target of conversation {_describe(clock)} is {what}.\n"
                f"Due: {clock.due_at.isoformat()}\n"
            ),
        },
    )


def _announce(clock: SlaClock, event_type: str) -> None:
    """Ceres's own event for the automation rules (`sla_warning`, `sla_breach`), written with
    the claim, so a rule acts on each warning and breach once."""
    record_event(
        provider=CERES_EVENTS,
        event_id=f"sla:{clock.pk}:{event_type.removeprefix('sla_')}",
        event_type=event_type,
        payload={"conversation_id": clock.conversation_id, "clock_id": clock.pk},
        headers={},
    )


def sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Mark warnings and breaches of running clocks and notify, each exactly once: a clock is
    claimed by a conditional UPDATE, so several workers sweeping at once notify once."""
    now = now or timezone.now()
    running = Q(stopped_at__isnull=True, paused_at__isnull=True)
    counts = {"warnings": 0, "breaches": 0}
    audience = _Audience()
    due = SlaClock.objects.filter(running, breached_at__isnull=True, due_at__lte=now)
    for clock_id in list(due.values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            claimed = SlaClock.objects.filter(pk=clock_id, breached_at__isnull=True).update(
                breached_at=now
            )
            if claimed:
                clock = SlaClock.objects.select_related(
                    "conversation__account__codename", "conversation__assignee", "policy"
                ).get(pk=clock_id)
                _notify(clock, breach=True, audience=audience)
                _announce(clock, "sla_breach")
                counts["breaches"] += 1
    warn = SlaClock.objects.filter(
        running, warned_at__isnull=True, breached_at__isnull=True, warn_at__lte=now
    )
    for clock_id in list(warn.values_list("pk", flat=True)[:1000]):
        with transaction.atomic():
            claimed = SlaClock.objects.filter(pk=clock_id, warned_at__isnull=True).update(
                warned_at=now
            )
            if claimed:
                clock = SlaClock.objects.select_related(
                    "conversation__account__codename", "conversation__assignee", "policy"
                ).get(pk=clock_id)
                _notify(clock, breach=False, audience=audience)
                _announce(clock, "sla_warning")
                counts["warnings"] += 1
    return counts

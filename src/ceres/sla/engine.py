"""The SLA clocks of a conversation: started, stopped, paused and resumed by its events.

Conversation services call these inside their own transaction, so a clock never disagrees
with the conversation it measures. Semantics (docs/sla.md): the first response is the first
public reply by a team member (automatic replies do not count); internal notes never count;
a customer message after a reply (or one that reopens a closed conversation) starts a
next-response clock; the statuses in the policy's `pause_on` pause every running clock and
move its deadline by the paused time; closing stops them all.
"""

from __future__ import annotations

import datetime

from django.db.models import Min

from ceres.conversations.models import Conversation
from ceres.core.businesstime import add_business_time, business_time_between
from ceres.sla.models import SlaClock, SlaPolicy
from ceres.sla.policies import Facts, Rule, calendar, policy_for, rule_for

Target = SlaClock.Target


def facts_of(conversation: Conversation) -> Facts:
    account = conversation.account
    tier = account.product.key if account is not None and account.product is not None else None
    channel_kind = None
    if conversation.source == Conversation.Source.SLACK:
        channel_kind = "customer" if account is not None else "community"
    return Facts(
        source=conversation.source,
        category=conversation.category,
        tier=tier,
        priority=conversation.priority,
        channel_kind=channel_kind,
    )


def deadline(rule: Rule, start: datetime.datetime, length: datetime.timedelta) -> datetime.datetime:
    if rule.kind == SlaClock.Kind.BUSINESS and rule.calendar_key:
        _, cal = calendar(rule.calendar_key)
        return add_business_time(cal, start, length)
    return start + length


def _start(
    conversation: Conversation, policy: SlaPolicy, target: str, at: datetime.datetime
) -> SlaClock | None:
    rule = rule_for(policy, target, at)
    if rule is None:
        return None
    warn_length = rule.length * policy.warn_at_fraction
    cal_row = calendar(rule.calendar_key)[0] if rule.calendar_key else None
    return SlaClock.objects.create(
        conversation=conversation,
        policy=policy,
        target=target,
        kind=rule.kind,
        calendar=cal_row,
        length_seconds=int(rule.length.total_seconds()),
        started_at=at,
        due_at=deadline(rule, at, rule.length),
        warn_at=deadline(rule, at, warn_length),
    )


def _running(conversation: Conversation) -> list[SlaClock]:
    return list(conversation.sla_clocks.filter(stopped_at__isnull=True).select_related("calendar"))


def refresh_next_due(conversation: Conversation) -> None:
    nearest = conversation.sla_clocks.filter(
        stopped_at__isnull=True, paused_at__isnull=True
    ).aggregate(nearest=Min("due_at"))["nearest"]
    if conversation.next_due_at != nearest:
        conversation.next_due_at = nearest
        Conversation.objects.filter(pk=conversation.pk).update(next_due_at=nearest)


def conversation_opened(conversation: Conversation) -> SlaPolicy | None:
    policy = policy_for(facts_of(conversation))
    if policy is not None:
        for target in (Target.FIRST_RESPONSE, Target.RESOLUTION):
            _start(conversation, policy, target, conversation.received_at)
        if conversation.status in (policy.pause_on or []):
            status_changed(
                conversation, old="", new=conversation.status, at=conversation.received_at
            )
    refresh_next_due(conversation)
    return policy


def team_replied(conversation: Conversation, at: datetime.datetime) -> None:
    """A public reply by a person: the response clocks stop (met or late)."""
    conversation.sla_clocks.filter(
        stopped_at__isnull=True, target__in=[Target.FIRST_RESPONSE, Target.NEXT_RESPONSE]
    ).update(stopped_at=at, stopped_by="reply")
    refresh_next_due(conversation)


def customer_wrote(conversation: Conversation, at: datetime.datetime, *, reopened: bool) -> None:
    """The requester wrote again. After a reply, or on reopening, a next-response clock runs."""
    clocks = conversation.sla_clocks
    waiting_for_first = clocks.filter(
        target=Target.FIRST_RESPONSE, stopped_at__isnull=True
    ).exists()
    already_running = clocks.filter(target=Target.NEXT_RESPONSE, stopped_at__isnull=True).exists()
    if not waiting_for_first and not already_running:
        last_policy = clocks.exclude(policy=None).order_by("-started_at").first()
        policy = last_policy.policy if last_policy else policy_for(facts_of(conversation))
        if policy is not None:
            _start(conversation, policy, Target.NEXT_RESPONSE, at)
            if (
                reopened
                and not clocks.filter(target=Target.RESOLUTION, stopped_at__isnull=True).exists()
            ):
                _start(conversation, policy, Target.RESOLUTION, at)
    refresh_next_due(conversation)


def _pause_statuses(conversation: Conversation) -> set[str]:
    statuses: set[str] = set()
    for clock in conversation.sla_clocks.filter(stopped_at__isnull=True).select_related("policy"):
        if clock.policy is not None:
            statuses.update(clock.policy.pause_on or [])
    return statuses


def _remaining(clock: SlaClock, at: datetime.datetime) -> float:
    if clock.kind == SlaClock.Kind.BUSINESS and clock.calendar is not None:
        _, cal = calendar(clock.calendar.key)
        left = business_time_between(cal, at, clock.due_at) if at < clock.due_at else None
        if left is None:
            return -business_time_between(cal, clock.due_at, at).total_seconds()
        return left.total_seconds()
    return (clock.due_at - at).total_seconds()


def _moved(clock: SlaClock, resume_at: datetime.datetime, seconds: float) -> datetime.datetime:
    length = datetime.timedelta(seconds=max(seconds, 0))
    if clock.kind == SlaClock.Kind.BUSINESS and clock.calendar is not None:
        _, cal = calendar(clock.calendar.key)
        moved = add_business_time(cal, resume_at, length)
    else:
        moved = resume_at + length
    if seconds < 0:  # already late when paused: it stays late by as much
        return resume_at + datetime.timedelta(seconds=seconds)
    return moved


def status_changed(
    conversation: Conversation, *, old: str, new: str, at: datetime.datetime
) -> None:
    if new == Conversation.Status.CLOSED:
        conversation.sla_clocks.filter(stopped_at__isnull=True).update(
            stopped_at=at, stopped_by="close"
        )
        refresh_next_due(conversation)
        return
    pausing = _pause_statuses(conversation)
    for clock in _running(conversation):
        if new in pausing and clock.paused_at is None:
            clock.remaining_seconds_at_pause = _remaining(clock, at)
            clock.paused_at = at
            clock.save(update_fields=["paused_at", "remaining_seconds_at_pause"])
        elif new not in pausing and clock.paused_at is not None:
            remaining = clock.remaining_seconds_at_pause or 0.0
            fraction = clock.policy.warn_at_fraction if clock.policy else 0.75
            warn_remaining = remaining - (1 - fraction) * clock.length_seconds
            clock.due_at = _moved(clock, at, remaining)
            clock.warn_at = _moved(clock, at, warn_remaining) if warn_remaining > 0 else at
            clock.paused_at = None
            clock.remaining_seconds_at_pause = None
            clock.save(
                update_fields=["due_at", "warn_at", "paused_at", "remaining_seconds_at_pause"]
            )
    refresh_next_due(conversation)


def priority_changed(conversation: Conversation) -> None:
    """A new priority may select another policy: running clocks are measured again from
    their start under it (a P1 gets the P1 target from when the message arrived)."""
    policy = policy_for(facts_of(conversation))
    if policy is None:
        return
    for clock in _running(conversation):
        if clock.paused_at is not None or clock.policy_id == policy.pk:
            continue
        rule = rule_for(policy, clock.target, clock.started_at)
        if rule is None:
            continue
        clock.policy = policy
        clock.kind = rule.kind
        clock.calendar = calendar(rule.calendar_key)[0] if rule.calendar_key else None
        clock.length_seconds = int(rule.length.total_seconds())
        clock.due_at = deadline(rule, clock.started_at, rule.length)
        clock.warn_at = deadline(rule, clock.started_at, rule.length * policy.warn_at_fraction)
        clock.warned_at = (
            None if clock.warned_at and clock.warn_at > clock.warned_at else clock.warned_at
        )
        clock.save()
    refresh_next_due(conversation)

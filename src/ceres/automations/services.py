"""Writes of the automation rules: saving a rule, firing the rules of an event, pressing a
reply's button. Every firing and every press is audited; side effects leave through the outbox.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ceres.automations.models import AutomationFiring, AutomationRule
from ceres.automations.rules import Facts, check_rule, evaluate, last_moment
from ceres.conversations import services as conversations
from ceres.conversations.models import Conversation, Message, SavedReply
from ceres.core.audit.services import Actor, record_change, record_save, snapshot
from ceres.core.errors import CeresError, Conflict, Invalid
from ceres.core.outbox.services import enqueue
from ceres.oncall import escalation
from ceres.sla.models import BusinessCalendar
from ceres.slack import messages as slack_messages
from ceres.slack import outbox as slack_outbox
from ceres.team.models import Person, Role

log = logging.getLogger(__name__)

RULE_FIELDS = (
    "name",
    "position",
    "enabled",
    "trigger",
    "conditions",
    "actions",
    "buttons",
    "schedule",
)
# A schedule rule acts on at most this many open conversations per run (the oldest change
# first); the next run takes the rest.
SCHEDULE_BATCH = 500
PRIORITY_ORDER = {p: i for i, p in enumerate(Conversation.Priority.values)}  # P0 most urgent


@transaction.atomic
def save_rule(
    *,
    actor: Actor,
    key: str,
    trigger: str,
    actions: list[dict[str, Any]],
    conditions: dict[str, Any] | None = None,
    buttons: dict[str, Any] | None = None,
    name: str = "",
    position: int = 0,
    enabled: bool = True,
    create: bool = False,
    schedule: dict[str, Any] | None = None,
) -> AutomationRule:
    """Create or replace a rule; with `create`, an existing name is a conflict."""
    conditions = dict(conditions or {})
    buttons = dict(buttons or {})
    check_rule(
        trigger=trigger,
        conditions=conditions,
        actions=actions,
        buttons=buttons,
        calendars=set(BusinessCalendar.objects.values_list("key", flat=True)),
        saved_replies=set(SavedReply.objects.values_list("key", flat=True)),
        roles=set(Role.objects.values_list("key", flat=True)),
        pages=escalation.page_targets(),
        schedule=schedule or {},
    )
    if position < 0:
        raise Invalid("must be 0 or more", field="position")
    rule = AutomationRule.objects.select_for_update().filter(key=key).first()
    if rule is not None and create:
        raise Conflict(f"a rule named {key!r} exists; edit it instead", field="key")
    before = snapshot(rule, RULE_FIELDS) if rule else {}
    rule = rule or AutomationRule(key=key)
    rule.name = " ".join(name.split())[:200]
    rule.position, rule.enabled, rule.trigger = position, enabled, trigger
    rule.conditions, rule.actions, rule.buttons = conditions, actions, buttons
    if rule.schedule != (schedule or {}):
        rule.last_run_for = None
    rule.schedule = schedule or {}
    rule.save()
    record_save(
        actor=actor,
        action="automation",
        target=rule,
        target_label=key,
        before=before,
        after=snapshot(rule, RULE_FIELDS),
    )
    return rule


@transaction.atomic
def set_enabled(*, actor: Actor, rule: AutomationRule, enabled: bool) -> AutomationRule:
    if rule.enabled != enabled:
        record_change(
            actor=actor,
            action="automation.update",
            target=rule,
            target_label=rule.key,
            changes={"enabled": [rule.enabled, enabled]},
        )
        rule.enabled = enabled
        rule.save(update_fields=["enabled", "updated_at"])
    return rule


# --- firing ----------------------------------------------------------------------------------


def run_rules(
    *,
    trigger: str,
    event_key: str,
    conversation: Conversation,
    message: Message | None,
    at: datetime.datetime,
) -> list[AutomationFiring]:
    """Fire every enabled rule of this trigger whose conditions hold, each once per event."""
    fired = []
    rules = AutomationRule.objects.filter(trigger=trigger, enabled=True).order_by("position", "key")
    for rule in rules:
        if not evaluate(rule.conditions, Facts(conversation, message, at)):
            continue
        firing = _fire(rule, event_key=event_key, conversation=conversation, message=message)
        if firing is not None:
            fired.append(firing)
    return fired


def _fire(
    rule: AutomationRule, *, event_key: str, conversation: Conversation, message: Message | None
) -> AutomationFiring | None:
    try:
        with transaction.atomic():
            firing = AutomationFiring.objects.create(
                rule=rule,
                event_key=event_key[:200],
                conversation=conversation,
                fired_at=timezone.now(),
                requester_slack_user_id=conversation.requester_slack_user_id,
            )
    except IntegrityError:
        return None  # this rule already fired for this event
    outcome = [
        _act(action, rule=rule, firing=firing, conversation=conversation, index=i)
        for i, action in enumerate(rule.actions)
    ]
    firing.outcome = outcome
    firing.save(update_fields=["outcome"])
    record_change(
        actor=None,
        action="automation.fired",
        target=conversation,
        target_label=f"#{conversation.pk}",
        changes={"rule": [None, rule.key], "event": [None, event_key], "did": [None, outcome]},
    )
    return firing


def _act(
    action: dict[str, Any],
    *,
    rule: AutomationRule,
    firing: AutomationFiring,
    conversation: Conversation,
    index: int,
    chosen: str = "",
) -> str:
    """Run one action; a refusal (a saved reply that needs a value, nobody to text) is
    recorded in the firing's outcome instead of failing the others."""
    ((kind, value),) = action.items()
    try:
        with transaction.atomic():
            return _run(kind, value, rule, firing, conversation, index, chosen)
    except CeresError as exc:
        log.warning("automation %s, action %s on #%s: %s", rule.key, kind, conversation.pk, exc)
        return f"{kind}: not done: {exc.message}"


def _run(
    kind: str,
    value: Any,
    rule: AutomationRule,
    firing: AutomationFiring,
    conversation: Conversation,
    index: int,
    chosen: str,
) -> str:
    if kind == "reply_in_thread":
        saved = SavedReply.objects.get(key=value)
        body = conversations.render_saved_reply(saved_reply=saved, conversation=conversation)
        blocks = None
        for button, spec in (rule.buttons or {}).items():
            blocks = slack_messages.text_with_buttons(
                body, firing_id=firing.pk, button=button, options=list(spec["options"])
            )
            break  # one set of buttons per reply
        conversations.reply(
            actor=None, conversation=conversation, body=body, is_automatic=True, slack_blocks=blocks
        )
        return f"replied with {value}" + (" and buttons" if blocks else "")
    if kind in ("notify", "text"):
        return _notify(kind, value, rule, firing, conversation, index, chosen)
    if kind == "set_priority":
        wanted = chosen if value == "from_button" else str(value)
        if wanted not in PRIORITY_ORDER:
            raise Invalid("no priority was chosen", field="set_priority")
        if PRIORITY_ORDER[wanted] >= PRIORITY_ORDER[conversation.priority]:
            return f"priority stays {conversation.priority}"
        conversations.update_conversation(actor=None, conversation=conversation, priority=wanted)
        return f"priority set to {wanted}"
    if kind == "assign":
        person = _person(str(value))
        conversations.update_conversation(actor=None, conversation=conversation, assignee=person)
        return f"assigned to {person.name}"
    if kind == "page":
        who = conversation.account.codename.name if conversation.account else "community"
        what = f"{chosen} emergency" if chosen else (rule.name or rule.key)
        alarm = escalation.page(
            target=str(value),
            title=f"{what} from {who}: {conversation.subject[:100]}",
            key=f"automation-{firing.pk}-{chosen or 'fire'}-{index}",
            link=f"{settings.BASE_URL.rstrip('/')}/inbox/{conversation.pk}/",
        )
        return f"paged {value} (alarm {alarm.pk})"
    if kind == "add_tag":
        names = set(conversation.tags.values_list("name", flat=True)) | {str(value)}
        conversations.set_tags(actor=None, conversation=conversation, names=names)
        return f"tagged {value}"
    raise Invalid(f"unknown action {kind!r}", field="actions")


def _person(who: str) -> Person:
    person = (
        Person.objects.filter(is_active=True, email__iexact=who).first()
        or Person.objects.filter(is_active=True, user__username=who).first()
    )
    if person is None:
        raise Invalid(f"no active person {who!r}", field="person")
    return person


def _people(value: dict[str, Any]) -> list[Person]:
    if "person" in value:
        return [_person(str(value["person"]))]
    return list(Person.objects.filter(is_active=True, role__key=value["role"]).order_by("pk"))


def _notify(
    kind: str,
    value: dict[str, Any],
    rule: AutomationRule,
    firing: AutomationFiring,
    conversation: Conversation,
    index: int,
    chosen: str,
) -> str:
    via = value.get("via", "sms" if kind == "text" else "email")
    text = str(value.get("text") or _default_text(rule, conversation, chosen))
    sent, skipped = [], []
    # The key names the effect: this firing, this action, this person (and the press, for a
    # button's actions), so a second press or a re-run sends nothing more.
    stage = f"press-{chosen}" if chosen else "fire"
    for person in _people(value):
        key = f"automation-{firing.pk}-{stage}-{index}-{person.pk}"
        if via == "sms" and person.phone:
            enqueue(
                channel="sms",
                idempotency_key=key,
                payload={"to": person.phone, "body": text[:1600]},
                ordering_key=f"sms:{person.phone}",
            )
        elif via == "email" and person.email:
            subject = text.splitlines()[0][:200]
            enqueue(
                channel="email",
                idempotency_key=key,
                payload={"to": [person.email], "cc": [], "subject": subject, "body": text},
            )
        elif via == "slack" and person.slack_user_id:
            slack_outbox.send_dm(idempotency_key=key, user=person.slack_user_id, text=text)
        else:
            skipped.append(person.name)
            continue
        sent.append(person.name)
    if not sent:
        raise Invalid(f"nobody to reach by {via}" + (f" ({', '.join(skipped)})" if skipped else ""))
    return f"{via} to {', '.join(sent)}" + (
        f"; no {via} for {', '.join(skipped)}" if skipped else ""
    )


def _default_text(rule: AutomationRule, conversation: Conversation, chosen: str) -> str:
    """Codenames only: a text message leaves Ceres, and not every reader sees real names."""
    who = conversation.account.codename.name if conversation.account else "community"
    what = f"{chosen} emergency" if chosen else (rule.name or rule.key)
    link = f"{settings.BASE_URL.rstrip('/')}/inbox/{conversation.pk}/"
    return f"[Ceres] {what} from {who}: {conversation.subject[:100]} {link}"


def run_schedules(*, now: datetime.datetime | None = None) -> int:
    """Run every schedule rule whose moment has come and that has not run for it: each claims
    the moment with a conditional update (one run per moment, however many workers), then
    acts on the open conversations its conditions pick, each once per moment. Returns how
    many firings."""
    now = now or timezone.now()
    fired = 0
    rules = AutomationRule.objects.filter(trigger=AutomationRule.Trigger.SCHEDULE, enabled=True)
    for rule in rules:
        moment = last_moment(rule.schedule, now)
        if moment is None or (rule.last_run_for is not None and rule.last_run_for >= moment):
            continue
        since_created = moment >= rule.updated_at - datetime.timedelta(minutes=1)
        claimed = AutomationRule.objects.filter(pk=rule.pk, last_run_for=rule.last_run_for).update(
            last_run_for=moment
        )
        if not claimed or not since_created:
            continue  # another worker runs it; or the moment is older than the rule
        open_ = (
            Conversation.objects.exclude(status=Conversation.Status.CLOSED)
            .select_related("account__product", "account__codename")
            .order_by("updated_at", "pk")
        )
        for conversation in open_[:SCHEDULE_BATCH]:
            if not evaluate(rule.conditions, Facts(conversation, None, now)):
                continue
            key = f"schedule:{moment.isoformat()}:{conversation.pk}"
            with transaction.atomic():
                if _fire(rule, event_key=key, conversation=conversation, message=None):
                    fired += 1
    return fired


# --- buttons ---------------------------------------------------------------------------------


@transaction.atomic
def press_button(
    *,
    firing_id: int,
    button: str,
    option: str,
    slack_user_id: str,
    channel_id: str = "",
    message_ts: str = "",
) -> str:
    """A press of a reply's button. Only the original sender's press counts, and only the
    first: pressed twice (or by two people), the button's actions run once. Returns what
    happened: "done", "not_sender", "already", "unknown"."""
    firing = (
        AutomationFiring.objects.select_for_update(of=("self",))
        .select_related("rule", "conversation")
        .filter(pk=firing_id)
        .first()
    )
    spec = (firing.rule.buttons or {}).get(button) if firing is not None else None
    if firing is None or firing.conversation is None or spec is None:
        return "unknown"
    if option not in spec.get("options", []):
        return "unknown"
    conversation = firing.conversation
    if not slack_user_id or slack_user_id != firing.requester_slack_user_id:
        if slack_user_id and channel_id:
            slack_outbox.post_ephemeral(
                idempotency_key=f"automation-{firing.pk}-refused-{slack_user_id}",
                channel=channel_id,
                user=slack_user_id,
                thread_ts=conversation.slack_thread_ts or None,
                text=slack_messages.ONLY_THE_SENDER,
            )
        record_change(
            actor=None,
            action="automation.press_refused",
            target=conversation,
            target_label=f"#{conversation.pk}",
            changes={"pressed_by": [None, slack_user_id], "button": [None, f"{button}:{option}"]},
        )
        return "not_sender"
    if firing.pressed_at is not None:
        return "already"
    firing.pressed_at, firing.pressed_by, firing.pressed_value = (
        timezone.now(),
        slack_user_id,
        option,
    )
    firing.save(update_fields=["pressed_at", "pressed_by", "pressed_value"])
    outcome = [
        _act(
            action,
            rule=firing.rule,
            firing=firing,
            conversation=conversation,
            index=i,
            chosen=option,
        )
        for i, action in enumerate(spec["actions"])
    ]
    if channel_id and message_ts:
        reply = conversation.messages.filter(kind=Message.Kind.REPLY, is_automatic=True).last()
        text = reply.body if reply else "Escalated."
        slack_outbox.update_message(
            idempotency_key=f"automation-{firing.pk}-pressed-update",
            channel=channel_id,
            ts=message_ts,
            thread_ts=conversation.slack_thread_ts or None,
            text=text,
            blocks=slack_messages.text_after_press(text, who=slack_user_id, option=option),
        )
    record_change(
        actor=None,
        action="automation.pressed",
        target=conversation,
        target_label=f"#{conversation.pk}",
        changes={
            "rule": [None, firing.rule.key],
            "button": [None, f"{button}:{option}"],
            "pressed_by": [None, slack_user_id],
            "did": [None, outcome],
        },
    )
    return "done"

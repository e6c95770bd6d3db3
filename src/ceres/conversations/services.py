"""Every write to conversations: open, continue, reply, note, assign, prioritise, tag, close.

Replies to requesters who cannot be answered in a thread (the contact form, e-mail) leave by
e-mail through the outbox, in the same transaction as the reply, so a reply is sent once even
when a worker dies; Slack replies are posted into the conversation's thread the same way.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email, validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from ceres.accounts.models import Account
from ceres.conversations.models import Conversation, Message, SavedReply, Tag
from ceres.core.audit.services import Actor, diff, record_change, snapshot
from ceres.core.errors import Conflict, Invalid
from ceres.core.firewall import check_public_text
from ceres.core.inbox.services import CERES_EVENTS, record_event
from ceres.core.outbox.services import enqueue
from ceres.sla import engine as sla
from ceres.slack.outbox import post_in_thread
from ceres.team.models import Person
from ceres.team.selectors import person_of

MAX_BODY = 50_000  # characters: a message longer than this is refused, not cut
MAX_SUBJECT = 300
CONVERSATION_FIELDS = ("status", "priority", "assignee", "category", "account", "closure_note")
_VARIABLE = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")

Status = Conversation.Status


class Keep:
    """An argument left as it is (None would mean "unassign")."""


KEEP = Keep()


def _label(conversation: Conversation) -> str:
    return f"conversation #{conversation.pk}"


def _check_body(body: str, *, field: str = "body") -> str:
    body = str(body).replace("\x00", "").strip()
    if not body:
        raise Invalid("must not be empty", field=field)
    if len(body) > MAX_BODY:
        raise Invalid(f"is {len(body)} characters; the limit is {MAX_BODY}", field=field)
    return body


def _check_instant(value: datetime.datetime | None, *, field: str) -> datetime.datetime:
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):
        raise Invalid("must include a UTC offset (e.g. 2026-05-22T15:00:00-05:00)", field=field)
    return value


def _check_email(value: str, *, field: str) -> str:
    value = str(value or "").strip().lower()
    if value:
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise Invalid("is not a valid e-mail address", field=field) from exc
    return value


def _check_category(value: str) -> str:
    try:
        validate_slug(value)
    except DjangoValidationError as exc:
        raise Invalid("must be letters, digits, dashes or underscores", field="category") from exc
    if len(value) > 60:
        raise Invalid("must be at most 60 characters", field="category")
    return value


def _check_priority(value: str) -> str:
    if value not in Conversation.Priority.values:
        raise Invalid(f"must be one of {', '.join(Conversation.Priority.values)}", field="priority")
    return value


def _announce(conversation: Conversation, message: Message) -> None:
    """Tell the automation rules (and whatever listens to Ceres's own events) that a message
    arrived: an event in the inbox, written with the message, processed after the commit, once
    (`core/inbox`): a crash delays the rules, never skips or doubles them."""
    record_event(
        provider=CERES_EVENTS,
        event_id=f"message:{message.pk}",
        event_type="message_received",
        payload={"conversation_id": conversation.pk, "message_id": message.pk},
        headers={},
    )


@transaction.atomic
def open_conversation(
    *,
    actor: Actor,
    source: str,
    subject: str,
    body: str,
    category: str = "support",
    account: Account | None = None,
    requester_name: str = "",
    requester_email: str = "",
    requester_slack_user_id: str = "",
    slack_channel_id: str = "",
    slack_thread_ts: str = "",
    fields: Mapping[str, Any] | None = None,
    priority: str = Conversation.Priority.P3,
    received_at: datetime.datetime | None = None,
    external_id: str = "",
) -> Conversation:
    """A new conversation with the requester's first message."""
    if source not in Conversation.Source.values:
        raise Invalid(f"must be one of {', '.join(Conversation.Source.values)}", field="source")
    subject = " ".join(str(subject).split())[:MAX_SUBJECT] or _check_body(body)[:80]
    body = _check_body(body)
    received = _check_instant(received_at, field="received_at")
    requester_email = _check_email(requester_email, field="requester_email")
    answered_by_email = source in (Conversation.Source.EMAIL, Conversation.Source.CONTACT_FORM)
    if answered_by_email and not requester_email:
        raise Invalid("is needed to answer by e-mail", field="requester_email")
    extra = dict(fields or {})
    if any(not isinstance(v, str | int | float | bool) for v in extra.values()):
        raise Invalid("values must be text, numbers or true/false", field="fields")
    conversation = Conversation.objects.create(
        source=source,
        category=_check_category(category),
        account=account,
        subject=subject,
        requester_name=" ".join(str(requester_name).split())[:200],
        requester_email=requester_email,
        requester_slack_user_id=requester_slack_user_id.strip()[:20],
        slack_channel_id=slack_channel_id.strip()[:30],
        slack_thread_ts=slack_thread_ts.strip()[:30],
        fields=extra,
        priority=_check_priority(priority),
        received_at=received,
        last_customer_message_at=received,
    )
    first = Message.objects.create(
        conversation=conversation,
        kind=Message.Kind.INBOUND,
        author_name=conversation.requester_name,
        body=body,
        external_id=external_id[:200],
        created_at=received,
    )
    _announce(conversation, first)
    try:
        sla.conversation_opened(conversation)
    except OverflowError:  # a deadline past 9999-12-31, or a business day before 0001-01-01
        raise Invalid("is too far in the past or the future", field="received_at") from None
    record_change(
        actor=actor,
        action="conversation.open",
        target=conversation,
        target_label=_label(conversation),
        changes={
            "source": [None, source],
            "category": [None, conversation.category],
            "account": [None, account.pk if account else None],
            "priority": [None, conversation.priority],
        },
    )
    return conversation


@transaction.atomic
def add_inbound_message(
    *,
    conversation: Conversation,
    body: str,
    received_at: datetime.datetime | None = None,
    external_id: str = "",
) -> Message:
    """The requester writes again. A closed conversation reopens; waiting-on-customer ends."""
    body = _check_body(body)
    received = _check_instant(received_at, field="received_at")
    if external_id and conversation.messages.filter(external_id=external_id).exists():
        raise Conflict("this message is already recorded", field="external_id")
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation,
                kind=Message.Kind.INBOUND,
                author_name=conversation.requester_name,
                body=body,
                external_id=external_id[:200],
                created_at=received,
            )
    except IntegrityError as exc:
        raise Conflict("this message is already recorded", field="external_id") from exc
    before = snapshot(conversation, CONVERSATION_FIELDS)
    conversation.last_customer_message_at = received
    reopened = conversation.status == Status.CLOSED
    if conversation.status in (Status.CLOSED, Status.WAITING_ON_CUSTOMER):
        conversation.status = Status.OPEN
        conversation.closed_at = None
    conversation.save()
    if before["status"] != conversation.status:
        sla.status_changed(conversation, old=before["status"], new=conversation.status, at=received)
    sla.customer_wrote(conversation, received, reopened=reopened)
    _announce(conversation, message)
    changes = diff(before, snapshot(conversation, CONVERSATION_FIELDS))
    if changes:
        record_change(
            actor=None,
            action="conversation.reopen"
            if before["status"] == Status.CLOSED
            else "conversation.update",
            target=conversation,
            target_label=_label(conversation),
            changes=changes,
        )
    return message


@transaction.atomic
def reply(
    *,
    actor: Actor,
    conversation: Conversation,
    body: str,
    cc: Iterable[str] = (),
    subject: str = "",
    is_automatic: bool = False,
    sent_at: datetime.datetime | None = None,
    external_id: str = "",
    slack_blocks: list[dict[str, Any]] | None = None,
) -> Message:
    """A public response. The first one by a person (not an automatic one) is the first
    response. Contact-form and e-mail requesters get it by e-mail, Slack requesters in their
    thread, through the outbox.

    A reply that was written in Slack itself (a team member answering in the thread) comes
    with its Slack `external_id` and time: it is recorded and stops the clocks, and is not
    posted again. A reply bound for a community channel passes the confidentiality firewall.
    """
    body = _check_body(body)
    author = person_of(actor)
    if author is None and not is_automatic:
        raise Invalid("a public reply needs a team member as its author", field="author")
    in_slack = conversation.source == Conversation.Source.SLACK
    if in_slack and conversation.account_id is None and not external_id:
        check_public_text(body, field="body", destination="the community Slack channel")
    now = _check_instant(sent_at, field="sent_at")
    if external_id and conversation.messages.filter(external_id=external_id[:200]).exists():
        raise Conflict("this message is already recorded", field="external_id")
    message = Message.objects.create(
        conversation=conversation,
        kind=Message.Kind.REPLY,
        author=author,
        author_name=author.name if author else "Ceres",
        body=body,
        is_automatic=is_automatic,
        external_id=external_id[:200],
        created_at=now,
    )
    if in_slack and not external_id and conversation.slack_channel_id:
        post_in_thread(
            idempotency_key=f"conversation-{conversation.pk}-message-{message.pk}",
            channel=conversation.slack_channel_id,
            thread_ts=conversation.slack_thread_ts or None,
            text=body,
            blocks=slack_blocks,
        )
    if not is_automatic:
        if conversation.first_responded_at is None:
            conversation.first_responded_at = now
            conversation.save(update_fields=["first_responded_at", "updated_at"])
        sla.team_replied(conversation, now)
    cc_list = [_check_email(a, field="cc") for a in cc if str(a).strip()]
    if conversation.source in (Conversation.Source.CONTACT_FORM, Conversation.Source.EMAIL):
        enqueue(
            channel="email",
            idempotency_key=f"conversation-{conversation.pk}-message-{message.pk}",
            payload={
                "to": [conversation.requester_email],
                "cc": cc_list,
                "subject": subject.strip() or f"Re: {conversation.subject}",
                "body": body,
                **({"reply_to": author.email} if author else {}),
            },
        )
    record_change(
        actor=actor,
        action="conversation.reply",
        target=conversation,
        target_label=_label(conversation),
        changes={"message": [None, message.pk], **({"cc": [None, cc_list]} if cc_list else {})},
    )
    return message


@transaction.atomic
def set_requester_name(*, conversation: Conversation, name: str) -> Conversation:
    """Fill in the requester's name once it is known (looked up in Slack after the message):
    it never replaces a name already there."""
    name = " ".join(str(name).split())[:200]
    updated = Conversation.objects.filter(pk=conversation.pk, requester_name="").update(
        requester_name=name
    )
    if updated:
        conversation.requester_name = name
        Message.objects.filter(
            conversation=conversation, kind=Message.Kind.INBOUND, author_name=""
        ).update(author_name=name)
    return conversation


@transaction.atomic
def edit_message(
    *, message: Message, body: str, edited_at: datetime.datetime | None = None
) -> Message:
    """Mirror an edit made where the message was written (Slack). The earlier text stays in
    the audit log; clocks are not touched (an edit is not a new message)."""
    body = _check_body(body)
    if message.deleted_at is not None or body == message.body:
        return message
    before = message.body
    message.body = body
    message.edited_at = _check_instant(edited_at, field="edited_at")
    message.save(update_fields=["body", "edited_at"])
    record_change(
        actor=None,
        action="conversation.message_edited",
        target=message.conversation,
        target_label=_label(message.conversation),
        changes={"message": [message.pk, message.pk], "body": [before, body]},
    )
    return message


@transaction.atomic
def delete_message(*, message: Message, deleted_at: datetime.datetime | None = None) -> Message:
    """Mirror a deletion made where the message was written: its text is removed from Ceres
    too (people delete what they should not have posted), and the message shows as deleted."""
    if message.deleted_at is not None:
        return message
    message.body = ""
    message.deleted_at = _check_instant(deleted_at, field="deleted_at")
    message.save(update_fields=["body", "deleted_at"])
    record_change(
        actor=None,
        action="conversation.message_deleted",
        target=message.conversation,
        target_label=_label(message.conversation),
        changes={"message": [message.pk, None]},
    )
    return message


@transaction.atomic
def add_note(*, actor: Actor, conversation: Conversation, body: str) -> Message:
    """An internal note: never sent, never stops a clock."""
    author = person_of(actor)
    message = Message.objects.create(
        conversation=conversation,
        kind=Message.Kind.NOTE,
        author=author,
        author_name=author.name if author else "system",
        body=_check_body(body),
        created_at=timezone.now(),
    )
    record_change(
        actor=actor,
        action="conversation.note",
        target=conversation,
        target_label=_label(conversation),
        changes={"note": [None, message.pk]},
    )
    return message


@transaction.atomic
def update_conversation(
    *,
    actor: Actor,
    conversation: Conversation,
    status: str | None = None,
    priority: str | None = None,
    assignee: Person | Keep | None = KEEP,
    category: str | None = None,
    closure_note: str | None = None,
    closure_note_from_last_reply: bool = False,
    tags: Iterable[str] | None = None,
) -> Conversation:
    """Change status, priority, assignee or category. Closing needs a closure note (the
    handbook: "add a closure note or include a copy of your response as an internal note")."""
    before = snapshot(conversation, CONVERSATION_FIELDS)
    if priority is not None:
        conversation.priority = _check_priority(priority)
    if category is not None:
        conversation.category = _check_category(category)
    if not isinstance(assignee, Keep):
        conversation.assignee = assignee
    if status is not None:
        if status not in Status.values:
            raise Invalid(f"must be one of {', '.join(Status.values)}", field="status")
        if status == Status.CLOSED and not conversation.is_closed:
            note = (closure_note or "").strip()
            if not note and closure_note_from_last_reply:
                last = conversation.messages.filter(kind=Message.Kind.REPLY).last()
                note = f"Response sent:\n\n{last.body}" if last else ""
            if not note:
                raise Invalid(
                    "closing needs a closure note (or a copy of your response)",
                    field="closure_note",
                )
            conversation.closure_note = _check_body(note, field="closure_note")
            conversation.closed_at = timezone.now()
        elif status != Status.CLOSED:
            conversation.closed_at = None
        conversation.status = status
    conversation.save()
    if tags is not None:
        set_tags(actor=actor, conversation=conversation, names=tags)
    if before["status"] != conversation.status:
        sla.status_changed(
            conversation, old=before["status"], new=conversation.status, at=timezone.now()
        )
    if before["priority"] != conversation.priority:
        sla.priority_changed(conversation)
    changes = diff(before, snapshot(conversation, CONVERSATION_FIELDS))
    if changes:
        entry = record_change(
            actor=actor,
            action="conversation.update",
            target=conversation,
            target_label=_label(conversation),
            changes=changes,
        )
        if "status" in changes:
            record_event(
                provider=CERES_EVENTS,
                event_id=f"status:{entry.pk}",
                event_type="status_changed",
                payload={
                    "conversation_id": conversation.pk,
                    "old": before["status"],
                    "new": conversation.status,
                },
                headers={},
            )
    return conversation


@transaction.atomic
def set_tags(*, actor: Actor, conversation: Conversation, names: Iterable[str]) -> list[str]:
    wanted = sorted({str(n).strip().lower() for n in names if str(n).strip()})
    for name in wanted:
        try:
            validate_slug(name)
        except DjangoValidationError as exc:
            raise Invalid(
                f"{name!r}: letters, digits, dashes or underscores", field="tags"
            ) from exc
        if len(name) > 60:
            raise Invalid(f"{name!r}: at most 60 characters", field="tags")
    before = sorted(conversation.tags.values_list("name", flat=True))
    tags = [Tag.objects.get_or_create(name=name)[0] for name in wanted]
    conversation.tags.set(tags)
    if before != wanted:
        record_change(
            actor=actor,
            action="conversation.tags",
            target=conversation,
            target_label=_label(conversation),
            changes={"tags": [before, wanted]},
        )
    return wanted


# --- saved replies ---------------------------------------------------------------------------


def variables_of(text: str) -> list[str]:
    return list(dict.fromkeys(_VARIABLE.findall(text)))


def render_saved_reply(
    *,
    saved_reply: SavedReply,
    conversation: Conversation,
    variables: Mapping[str, str] | None = None,
) -> str:
    """The saved reply's body with its {{variables}} filled (see `render_template`)."""
    return render_template(saved_reply.body, conversation=conversation, variables=variables)


def render_template(
    template: str, *, conversation: Conversation, variables: Mapping[str, str] | None = None
) -> str:
    """Fill {{variables}} from the caller, then the conversation's form fields, then the
    requester; a variable with no value is an error naming it, never a blank in a reply."""
    known: dict[str, str] = {
        "requester_name": conversation.requester_name,
        "subject": conversation.subject,
    }
    known.update({k: str(v) for k, v in conversation.fields.items()})
    known.update({k: str(v) for k, v in (variables or {}).items() if str(v).strip()})
    missing = [v for v in variables_of(template) if not known.get(v, "").strip()]
    if missing:
        raise Invalid(f"the saved reply needs a value for {missing[0]!r}", field=missing[0])
    return _VARIABLE.sub(lambda m: known[m.group(1)], template)


@transaction.atomic
def save_saved_reply(
    *, actor: Actor, key: str, name: str, body: str, subject: str = "", category: str = ""
) -> SavedReply:
    try:
        validate_slug(key)
    except DjangoValidationError as exc:
        raise Invalid("must be letters, digits, dashes or underscores", field="key") from exc
    name = " ".join(str(name).split())
    if not 1 <= len(name) <= 120:
        raise Invalid("must be 1 to 120 characters", field="name")
    body = _check_body(body)
    if category:
        _check_category(category)
    saved = SavedReply.objects.filter(key=key).first()
    before = snapshot(saved, ("name", "subject", "body", "category")) if saved else {}
    saved = saved or SavedReply(key=key)
    saved.name, saved.subject, saved.body, saved.category = name, subject.strip(), body, category
    saved.save()
    changes = diff(before, snapshot(saved, ("name", "subject", "body", "category")))
    if changes:
        record_change(
            actor=actor,
            action="saved_reply.update" if before else "saved_reply.create",
            target=saved,
            target_label=saved.name,
            changes=changes,
        )
    return saved

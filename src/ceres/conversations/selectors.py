"""Reads of conversations, with the same confidentiality rule as accounts: a conversation that
belongs to an account shows its requester only to viewers who may see the customer's name."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from ceres.accounts.selectors import Viewer, can_view_confidential
from ceres.conversations.models import Conversation, Message, SavedReply
from ceres.core.errors import Invalid, NotFound
from ceres.core.text import fold, fold_compact

QUEUES = ("all_open", "mine", "unassigned", "breaching_soon", "closed", "all")
ORDERS = ("received", "due")
OPEN_STATUSES = (
    Conversation.Status.OPEN,
    Conversation.Status.WAITING_ON_CUSTOMER,
    Conversation.Status.ON_HOLD,
)
# "Breaching soon": a running SLA clock falls due within this window, or already has.
BREACHING_SOON = datetime.timedelta(hours=2)


def queue_filter(queue: str, *, user: Viewer, now: datetime.datetime | None = None) -> Q:
    """The condition of one queue. `breaching_soon` reads `next_due_at`, the nearest deadline
    of a running clock (paused and stopped clocks have none), so it is one indexed range."""
    open_ = Q(status__in=OPEN_STATUSES)
    if queue == "all_open":
        return open_
    if queue == "mine":
        return open_ & Q(assignee__user_id=user.pk or 0)
    if queue == "unassigned":
        return open_ & Q(assignee__isnull=True)
    if queue == "breaching_soon":
        return open_ & Q(next_due_at__lte=(now or timezone.now()) + BREACHING_SOON)
    if queue == "closed":
        return Q(status=Conversation.Status.CLOSED)
    if queue == "all":
        return Q()
    raise Invalid(f"must be one of {', '.join(QUEUES)}", field="queue")


def conversation_list(
    *,
    user: Viewer,
    queue: str = "all_open",
    status: str = "",
    source: str = "",
    category: str = "",
    priority: str = "",
    account_id: int | None = None,
    assignee: str = "",
    tag: str = "",
    q: str = "",
    order: str = "received",
    now: datetime.datetime | None = None,
) -> QuerySet[Conversation]:
    """`order`: "received" (newest first) or "due" (the nearest SLA deadline first, then
    conversations without a running clock, newest first): the inbox's order."""
    if order not in ORDERS:
        raise Invalid(f"must be one of {', '.join(ORDERS)}", field="order")
    qs = _filtered(
        user=user,
        status=status,
        source=source,
        category=category,
        priority=priority,
        account_id=account_id,
        assignee=assignee,
        tag=tag,
        q=q,
    ).filter(queue_filter(queue, user=user, now=now))
    if order == "due":
        return qs.order_by(F("next_due_at").asc(nulls_last=True), "-received_at", "-id")
    return qs.order_by("-received_at", "-id")


def queue_counts(
    *,
    user: Viewer,
    queues: tuple[str, ...] = QUEUES,
    now: datetime.datetime | None = None,
    **filters: Any,
) -> dict[str, int]:
    """How many conversations each queue holds under the same filters, in one query."""
    now = now or timezone.now()
    counts = _filtered(user=user, **filters).aggregate(
        **{queue: Count("pk", filter=queue_filter(queue, user=user, now=now)) for queue in queues}
    )
    return {queue: int(counts[queue] or 0) for queue in queues}


def _filtered(
    *,
    user: Viewer,
    status: str = "",
    source: str = "",
    category: str = "",
    priority: str = "",
    account_id: int | None = None,
    assignee: str = "",
    tag: str = "",
    q: str = "",
) -> QuerySet[Conversation]:
    qs = Conversation.objects.select_related("account__codename", "assignee")
    for value, field, choices in (
        (status, "status", Conversation.Status.values),
        (source, "source", Conversation.Source.values),
        (priority, "priority", Conversation.Priority.values),
    ):
        if value:
            if value not in choices:
                raise Invalid(f"must be one of {', '.join(choices)}", field=field)
            qs = qs.filter(**{field: value})
    if category:
        qs = qs.filter(category=category)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    if assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        qs = qs.filter(assignee__user__username=assignee)
    if tag:
        qs = qs.filter(tags__name=tag)
    if q.strip():
        term = q.strip()
        match = Q(subject__icontains=term) | Q(account__codename__folded=fold_compact(term))
        match |= Q(account__codename__folded__startswith=fold_compact(term) or "\x00")
        if term.lstrip("#").isdigit():
            match |= Q(pk=int(term.lstrip("#")))
        if can_view_confidential(user):
            # Real names and requesters are searchable only by those allowed to see them.
            match |= Q(account__legal_name_folded__contains=fold(term))
            match |= Q(requester_email__icontains=term) | Q(requester_name__icontains=term)
        else:
            no_account = Q(account__isnull=True)
            match |= no_account & (
                Q(requester_email__icontains=term) | Q(requester_name__icontains=term)
            )
        qs = qs.filter(match)
    return qs


def get_conversation(conversation_id: int) -> Conversation:
    conversation = (
        Conversation.objects.select_related("account__codename", "assignee")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise NotFound("no such conversation", field="conversation_id")
    return conversation


def messages_of(conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.select_related("author").order_by("created_at", "id")


def requester_visible(conversation: Conversation, user: Viewer) -> bool:
    return conversation.account_id is None or can_view_confidential(user)


def saved_replies(*, category: str = "") -> QuerySet[SavedReply]:
    qs = SavedReply.objects.all()
    if category:
        qs = qs.filter(Q(category="") | Q(category=category))
    return qs.order_by("name")


def get_saved_reply(key: str) -> SavedReply:
    saved = SavedReply.objects.filter(key=key).first()
    if saved is None:
        known = ", ".join(SavedReply.objects.values_list("key", flat=True)) or "none"
        raise Invalid(f"no saved reply {key!r}; known: {known}", field="saved_reply")
    return saved

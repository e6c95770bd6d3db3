"""Reads of conversations, with the same confidentiality rule as accounts: a conversation that
belongs to an account shows its requester only to viewers who may see the customer's name."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from ceres.accounts.selectors import Viewer, can_view_confidential
from ceres.conversations.models import Conversation, Message, SavedReply
from ceres.core.errors import Invalid, NotFound
from ceres.core.text import fold, fold_compact

QUEUES = ("all_open", "mine", "unassigned", "closed", "all")
OPEN_STATUSES = (
    Conversation.Status.OPEN,
    Conversation.Status.WAITING_ON_CUSTOMER,
    Conversation.Status.ON_HOLD,
)


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
) -> QuerySet[Conversation]:
    qs = Conversation.objects.select_related("account__codename", "assignee")
    if queue not in QUEUES:
        raise Invalid(f"must be one of {', '.join(QUEUES)}", field="queue")
    if queue == "all_open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif queue == "mine":
        qs = qs.filter(status__in=OPEN_STATUSES, assignee__user_id=user.pk or 0)
    elif queue == "unassigned":
        qs = qs.filter(status__in=OPEN_STATUSES, assignee__isnull=True)
    elif queue == "closed":
        qs = qs.filter(status=Conversation.Status.CLOSED)
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
    return qs.order_by("-received_at", "-id")


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

"""The inbox: queues as tabs with their counts, filters, search as you type, and the rows in
the order of their nearest SLA deadline, 50 a page. The keyboard shortcuts live in ceres.js.

Without `accounts.view_confidential` an account shows as its codename, and the requester of a
customer's conversation (and the customer's names in its subject) as "confidential".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from ceres.accounts import selectors as account_selectors
from ceres.conversations import selectors
from ceres.conversations.display import Countdown, account_label, countdown, masker_for
from ceres.conversations.forms import DEFAULT_QUEUE, PAGE_SIZE, TABS, InboxFilterForm
from ceres.conversations.models import Conversation
from ceres.core.errors import CeresError, Invalid, NotFound
from ceres.core.web import (
    HtmxHttpRequest,
    apply_error,
    form_errors,
    is_fragment,
    require,
    ui_view,
    viewer,
)
from ceres.team import selectors as team_selectors

RESULTS_ID = "inbox-results"
VIEW = "conversations.view_conversation"
CHANGE = "conversations.change_conversation"
TAB_KEYS = tuple(key for key, _ in TABS)


class KnownCountPaginator(Paginator):  # type: ignore[type-arg]
    """The queue's size is already counted with the tabs: no second COUNT over the queue."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.known_count = count

    @property
    def count(self) -> int:
        return self.known_count


@dataclass(frozen=True)
class InboxRow:
    conversation: Conversation
    subject: str
    account_name: str
    requester: str | None  # None: confidential for this viewer
    countdown: Countdown | None
    tags: list[str]


def _inbox_row(c: Conversation, user: Any, now: datetime.datetime) -> InboxRow:
    visible = selectors.requester_visible(c, user)
    mask = masker_for(c, visible=visible)
    return InboxRow(
        conversation=c,
        subject=mask(c.subject),
        account_name=account_label(c, user),
        requester=(c.requester_name or c.requester_email) if visible else None,
        countdown=countdown(c.next_due_at, now) if c.next_due_at else None,
        tags=[t.name for t in c.tags.all()],
    )


def _filters(data: dict[str, Any]) -> dict[str, Any]:
    """The selector's filters from the form; an account is named by its codename."""
    account_id = None
    if data["account"].strip():
        try:
            account_id = account_selectors.get_account_by_codename(data["account"].strip()).pk
        except NotFound as exc:
            raise Invalid(
                f"no account has the codename {data['account']!r}", field="account"
            ) from exc
    return {
        "q": data["q"],
        "source": data["source"],
        "priority": data["priority"],
        "category": data["category"],
        "assignee": data["assignee"],
        "account_id": account_id,
    }


@require_safe
@ui_view
def inbox_page(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    user = viewer(request)
    now = timezone.now()
    form = InboxFilterForm(request.GET, people=list(team_selectors.people(active_only=True)))
    status, page, rows, counts = 400, None, [], {}
    queue = DEFAULT_QUEUE
    if form.is_valid():
        data = form.cleaned_data
        queue = data["queue"] or DEFAULT_QUEUE
        try:
            filters = _filters(data)
            counts = selectors.queue_counts(user=user, queues=TAB_KEYS, now=now, **filters)
            conversations = selectors.conversation_list(
                user=user, queue=queue, order="due", now=now, **filters
            ).prefetch_related("tags")
        except CeresError as exc:
            apply_error(form, exc)
            status = exc.status_code
        else:
            status = 200
            paginator = KnownCountPaginator(conversations, PAGE_SIZE, count=counts[queue])
            page = paginator.get_page(data["page"] or 1)
            rows = [_inbox_row(c, user, now) for c in page.object_list]
    partial = is_fragment(request) and request.htmx.target == RESULTS_ID
    person = getattr(user, "person", None)
    context = {
        "form": form,
        "errors": form_errors(form),
        "page": page,
        "rows": rows,
        "queue": queue,
        "queue_param": form.cleaned_data.get("queue") or "",
        "tabs": [(key, label, counts.get(key)) for key, label in TABS],
        "confidential": account_selectors.can_view_confidential(user),
        "results_id": RESULTS_ID,
        "partial": partial,
        "me": person,
        "can_change": user.has_perm(CHANGE),
        "categories": _known_categories(),
    }
    template = "conversations/_inbox_results.html" if partial else "conversations/inbox.html"
    return render(request, template, context, status=status)


def _known_categories() -> list[str]:
    """Suggestions for the category filter: those saved replies are written for, and the
    default. (Any category can be typed; a distinct over every conversation is too slow.)"""
    named = {s.category for s in selectors.saved_replies() if s.category}
    return sorted(named | {"support", "job-application"})

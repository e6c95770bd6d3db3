"""The inbox: queues as tabs with their counts, filters, search as you type, and the rows in
the order of their nearest SLA deadline, 50 a page. The keyboard shortcuts live in ceres.js.

Without `accounts.view_confidential` an account shows as its codename, and the requester of a
customer's conversation (and the customer's names in its subject) as "confidential".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
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


# Django's Paginator is generic only in its type stubs: subscript it for the checker alone.
if TYPE_CHECKING:
    ConversationPaginator = Paginator[Conversation]
else:
    ConversationPaginator = Paginator


class KnownCountPaginator(ConversationPaginator):
    """The queue's size is already counted with the tabs: no second COUNT over the queue.

    A capped count (`selectors.AtLeast`, "10,000+": more than that many) gives a lower bound
    of pages, "201+": the page after the last full one exists, so "Next" leads on, and the
    view counts further when a page past the cap is asked for."""

    def __init__(self, object_list: QuerySet[Conversation], per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.queryset = object_list
        self.known_count = count

    @property
    def count(self) -> int:
        return self.known_count

    @property
    def num_pages(self) -> int:
        if isinstance(self.known_count, selectors.AtLeast):
            return selectors.AtLeast(self.known_count // self.per_page + 1)
        pages: int = super().num_pages
        return pages

    def page(self, number: Any) -> Page[Conversation]:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        return Page(selectors.page_of(self.queryset, bottom, top), number, self)


def _page(
    conversations: QuerySet[Conversation],
    number: int,
    count: int | None,
    first: list[Conversation] | None = None,
) -> Page[Conversation]:
    """The page of the queue (`first`: page 1 already read, with one row more). Without a
    count (closed conversations under a filter), or past a capped one, the page is read with
    one row more, which tells whether another follows: the count is then "as far as this
    page" ("150+"), and the history is read only as far as the page, not counted to its end."""
    if count is not None and not (
        isinstance(count, selectors.AtLeast) and number * PAGE_SIZE > count
    ):
        paginator = KnownCountPaginator(conversations, PAGE_SIZE, count=count)
        if first is not None:
            return Page(first[:PAGE_SIZE], 1, paginator)
        return paginator.get_page(number)
    offset = (number - 1) * PAGE_SIZE
    rows = first
    if rows is None:
        rows = list(selectors.page_of(conversations, offset, offset + PAGE_SIZE + 1))
    if not rows and number > 1:  # past the end: how far does it go?
        count = selectors.count_capped(conversations, cap=offset)
        return KnownCountPaginator(conversations, PAGE_SIZE, count=count).get_page(number)
    more = len(rows) > PAGE_SIZE
    count = selectors.AtLeast(offset + PAGE_SIZE) if more else offset + len(rows)
    paginator = KnownCountPaginator(conversations, PAGE_SIZE, count=count)
    return Page(rows[:PAGE_SIZE], number, paginator)


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
            conversations = selectors.conversation_list(
                user=user, queue=queue, order="due", now=now, **filters
            ).prefetch_related("tags")
            number = data["page"] or 1
            # Page 1 is read first, with one row more: when it holds the whole of "All open"
            # (a search, a narrow filter), the open tabs are counted among its rows, not by
            # searching every open conversation a second time.
            first = None
            if number == 1:
                first = list(selectors.page_of(conversations, 0, PAGE_SIZE + 1))
            whole = queue == "all_open" and first is not None and len(first) <= PAGE_SIZE
            counts = selectors.queue_counts(
                user=user,
                queues=_counted_tabs(filters),
                now=now,
                open_ids=[c.pk for c in first or []] if whole else None,
                **filters,
            )
        except CeresError as exc:
            apply_error(form, exc)
            status = exc.status_code
        else:
            status = 200
            page = _page(conversations, number, counts.get(queue), first)
            counts.setdefault(queue, page.paginator.count)
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


def _counted_tabs(filters: dict[str, Any]) -> tuple[str, ...]:
    """The tabs counted with the page: the open queues always (exactly), "Closed" (capped at
    "10,000+") when no filter is set. Under a search or a filter, counting closed conversations
    reads the whole history (no index serves a substring search), which search-as-you-type in
    the open queues must not pay on every keystroke: the Closed tab then shows no number, and
    once opened, counts as far as its page ("50+")."""
    narrowed = any(value not in ("", None) for value in filters.values())
    return tuple(key for key in TAB_KEYS if key in selectors.OPEN_QUEUES or not narrowed)


def _known_categories() -> list[str]:
    """Suggestions for the category filter: those saved replies are written for, and the
    default. (Any category can be typed; a distinct over every conversation is too slow.)"""
    named = {s.category for s in selectors.saved_replies() if s.category}
    return sorted(named | {"support", "job-application"})

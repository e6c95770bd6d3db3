"""An account's support status: its open conversations with the state of their SLA clocks,
as a page (/accounts/<id>/status/) and as the "Conversations" card of the account page; with
the account's open bugs (`bug` and its customer label) and feature requests from the tracker, for
status updates and meeting prep."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from ceres.accounts import selectors as account_selectors
from ceres.accounts.models import Account
from ceres.conversations import selectors
from ceres.conversations.display import ClockView, Countdown, clock_views, countdown, masker_for
from ceres.conversations.models import Conversation
from ceres.core.web import HtmxHttpRequest, require, ui_view, viewer
from ceres.sla import selectors as sla_selectors
from ceres.tracker import issue_summaries

VIEW = "conversations.view_conversation"
MAX_ROWS = 500  # an account with more open conversations has a bigger problem than this page


@dataclass(frozen=True)
class StatusRow:
    conversation: Conversation
    subject: str
    countdown: Countdown | None
    clocks: list[ClockView]


def _open_of(account: Account, user: Any) -> QuerySet[Conversation]:
    return selectors.conversation_list(
        user=user, queue="all_open", account_id=account.pk, order="due"
    ).select_related("assignee")


@require_safe
@ui_view
def account_status_page(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    """The account's open conversations with their SLA state, its open bugs and requests."""
    require(request, VIEW)
    user = viewer(request)
    account = account_selectors.get_account(account_id)
    now = timezone.now()
    conversations = list(_open_of(account, user)[:MAX_ROWS])
    clocks = sla_selectors.clocks_by_conversation(c.pk for c in conversations)
    rows = []
    for c in conversations:
        mask = masker_for(c, visible=selectors.requester_visible(c, user))
        rows.append(
            StatusRow(
                conversation=c,
                subject=mask(c.subject),
                countdown=countdown(c.next_due_at, now) if c.next_due_at else None,
                clocks=[v for v in clock_views(clocks[c.pk], now) if v.state != "met"],
            )
        )
    context = {
        "account": account,
        "name": account_selectors.display_name(account, user),
        "confidential": account_selectors.can_view_confidential(user),
        "rows": rows,
        "breached": sum(1 for r in rows if r.countdown and r.countdown.overdue),
        "soon": sum(1 for r in rows if r.countdown and r.countdown.css == "soon"),
        "now": now,
        "tracker": issue_summaries.for_account(account, user),
    }
    return render(request, "conversations/account_status.html", context)


@require_safe
@ui_view
def account_card(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    """The "Conversations" card of the account page, loaded by htmx after the page."""
    require(request, VIEW)
    user = viewer(request)
    account = account_selectors.get_account(account_id)
    now = timezone.now()
    counts = selectors.queue_counts(
        user=user, queues=("all_open", "breaching_soon"), now=now, account_id=account.pk
    )
    nearest = []
    for c in _open_of(account, user)[:5]:
        mask = masker_for(c, visible=selectors.requester_visible(c, user))
        nearest.append(
            StatusRow(
                conversation=c,
                subject=mask(c.subject),
                countdown=countdown(c.next_due_at, now) if c.next_due_at else None,
                clocks=[],
            )
        )
    context = {"account": account, "counts": counts, "rows": nearest}
    return render(request, "conversations/_account_card.html", context)

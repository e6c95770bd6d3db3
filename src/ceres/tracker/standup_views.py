"""The daily :help-customers stand-up board and the escalation moves."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from ceres.accounts import selectors as account_selectors
from ceres.core.errors import Invalid, NotFound
from ceres.core.web import HtmxHttpRequest, require, ui_view, viewer
from ceres.team.selectors import person_of
from ceres.tracker import escalation, selectors
from ceres.tracker.bug_views import CHANGE, VIEW
from ceres.tracker.models import StandupAcknowledgement, TrackerIssue
from ceres.tracker.standup import board_calendar, business_day_on_board
from ceres.tracker.workflow import current

MOVE_FUNCTIONS = {
    "escalate": (escalation.escalate, "Escalated: on the stand-up board."),
    "reproduced": (escalation.mark_reproduced, "Reproduced: sent to the drafting board."),
    "not_reproduced": (escalation.mark_not_reproduced, "Not reproduced: back to QA."),
}
MAX_NOTE = 2_000


@require_safe
@ui_view
def board(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    wf = current()
    user = viewer(request)
    now = timezone.now()
    cal = board_calendar(wf.calendar)
    today = escalation.today_on_board(now)
    on_board = list(
        selectors.with_rows(
            selectors.visible_to(user, TrackerIssue.objects.filter(state=TrackerIssue.State.OPEN))
            .filter(selectors.with_label(wf.standup_label))
            .order_by("on_board_since", "id")
        )
    )
    acked_today = set(
        StandupAcknowledgement.objects.filter(issue__in=on_board, day=today).values_list(
            "issue_id", flat=True
        )
    )
    rows = []
    for issue in on_board:
        labels = selectors.labels_of(issue)
        rows.append(
            {
                "issue": issue,
                "labels": labels,
                "customers": [
                    account_selectors.display_name(a, user)
                    for a in selectors.accounts_labelled(labels)
                ],
                "day": business_day_on_board(cal, issue.on_board_since, now)
                if issue.on_board_since
                else None,
                "acked_today": issue.pk in acked_today,
            }
        )
    needs_update = list(
        selectors.with_rows(
            selectors.visible_to(user, TrackerIssue.objects.all())
            .filter(state=TrackerIssue.State.OPEN, needs_update_since__isnull=False)
            .exclude(selectors.with_label(wf.standup_label))
        ).order_by("-needs_update_since")[:50]
    )
    context = {
        "rows": rows,
        "needs_update": needs_update,
        "today": today,
        "workflow": wf,
        "unacknowledged": sum(1 for r in rows if not r["acked_today"]),
    }
    return render(request, "tracker/standup.html", context)


@require_POST
@ui_view
def move(request: HtmxHttpRequest, issue_id: int, move: str) -> HttpResponse:
    require(request, CHANGE)
    if move not in MOVE_FUNCTIONS:
        raise NotFound(f"no move {move!r}", field="move")
    issue = selectors.get_issue_for(request.user, issue_id)
    function, note = MOVE_FUNCTIONS[move]
    function(actor=viewer(request), issue=issue)
    messages.success(request, note)
    return redirect("tracker:issue", issue.pk)


@require_POST
@ui_view
def acknowledge(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    require(request, CHANGE)
    issue = selectors.get_issue_for(request.user, issue_id)
    note = request.POST.get("note", "")
    if len(note) > MAX_NOTE:
        raise Invalid(f"at most {MAX_NOTE} characters", field="note")
    escalation.acknowledge(
        actor=viewer(request), issue=issue, person=person_of(request.user), note=note
    )
    messages.success(request, f"Acknowledged {issue.reference}: a comment is on the issue.")
    if request.POST.get("next") == "issue":
        return redirect("tracker:issue", issue.pk)
    return redirect("tracker:standup")

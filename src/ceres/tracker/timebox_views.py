"""The investigation timebox panel of an issue's page: the viewer's running block and its
countdown, start and stop, the "hour is up: escalate?" notice, and the time logged per person.

The issue page loads the panel with htmx (`hx-get` on load); it also renders standalone. The
POST endpoints answer an htmx request with the refreshed panel (an error shown in it, with the
service's 4xx status: base.html swaps 400/409/422), and a plain form post with a redirect to
the issue page (or the error page).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from ceres.core.errors import CeresError, Invalid, PermissionDenied
from ceres.core.web import HtmxHttpRequest, is_fragment, require, ui_view, viewer
from ceres.team.selectors import person_of
from ceres.tracker import escalation, selectors, timebox
from ceres.tracker.bug_views import CHANGE, VIEW
from ceres.tracker.models import TrackerIssue
from ceres.tracker.workflow import MOVES, Stage

TEMPLATE = "tracker/_timebox_panel.html"
FIELD_LABELS = {"minutes": "Minutes", "note": "Note", "block": "Block", "issue": "Issue"}


def _issue_id(value: str, field: str) -> int:
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise Invalid("must be an issue id", field=field)
    return int(value)


def _context(
    request: HtmxHttpRequest,
    issue: TrackerIssue,
    *,
    error: CeresError | None = None,
    form: dict[str, str] | None = None,
    status_only: bool = False,
) -> dict[str, Any]:
    now = timezone.now()
    person = person_of(request.user)
    running = timebox.running_block_of(person) if person is not None else None
    line = timebox.block_line(running, now) if running is not None else None
    here = line if line is not None and line.block.issue_id == issue.pk else None
    stage = escalation.stage(issue)
    context: dict[str, Any] = {
        "issue": issue,
        "person": person,
        "here": here,
        "elsewhere": line if line is not None and here is None else None,
        "remaining_text": timebox.duration_text(running.ends_at - now) if running else "",
        "overdue_text": timebox.duration_text(now - running.ends_at) if running else "",
        "soon": running is not None and (running.ends_at - now).total_seconds() <= 5 * 60,
        "can_escalate": issue.kind == TrackerIssue.Kind.BUG and stage in MOVES["escalate"],
        "on_standup": stage == Stage.INVESTIGATING,
        "next_steps": timebox.NEXT_STEPS,
        "status_only": status_only,
    }
    if status_only:
        return context
    context.update(
        {
            "log": timebox.time_logged(issue, now=now),
            "minute_choices": timebox.MINUTE_CHOICES,
            "form": form or {"minutes": str(timebox.MAX_MINUTES), "note": ""},
            "error": error,
            "error_label": FIELD_LABELS.get(error.field, "") if error else "",
            "is_open": issue.state == TrackerIssue.State.OPEN,
        }
    )
    return context


def _panel(
    request: HtmxHttpRequest,
    issue: TrackerIssue,
    *,
    error: CeresError | None = None,
    form: dict[str, str] | None = None,
) -> HttpResponse:
    context = _context(request, issue, error=error, form=form)
    return render(request, TEMPLATE, context, status=error.status_code if error else 200)


def _done(request: HtmxHttpRequest, issue: TrackerIssue, note: str) -> HttpResponse:
    if is_fragment(request):
        return _panel(request, issue)
    messages.success(request, note)
    return redirect("tracker:issue", issue.pk)


def _failed(
    request: HtmxHttpRequest, issue: TrackerIssue, exc: CeresError, form: dict[str, str]
) -> HttpResponse:
    if is_fragment(request):
        return _panel(request, issue, error=exc, form=form)
    raise exc  # ui_view answers with the error page and the service's status


@require_safe
@ui_view
def timebox_panel(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    """The panel; `?part=status` is only the running block's countdown (polled each minute,
    so the "hour is up" notice appears without a reload)."""
    require(request, VIEW)
    part = request.GET.get("part", "")
    if part not in ("", "status"):
        raise Invalid("must be status or nothing", field="part")
    issue = selectors.get_issue_for(request.user, issue_id)
    context = _context(request, issue, status_only=part == "status")
    return render(request, TEMPLATE, context)


@require_POST
@ui_view
def timebox_start(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    require(request, CHANGE)
    issue = selectors.get_issue_for(request.user, issue_id)
    form = {
        "minutes": request.POST.get("minutes", "")[:10],
        "note": request.POST.get("note", "")[: timebox.MAX_NOTE + 100],
    }
    try:
        person = person_of(request.user)
        if person is None:
            raise Invalid("only team members block investigation time", field="person")
        if "minutes" not in request.POST:
            raise Invalid("how many minutes to block (15, 30, 45 or 60)", field="minutes")
        block = timebox.start_block(
            actor=viewer(request),
            issue=issue,
            person=person,
            minutes=timebox.clean_minutes(request.POST["minutes"]),
            note=request.POST.get("note", ""),
        )
    except CeresError as exc:
        return _failed(request, issue, exc, form)
    minutes = timebox.duration_text(block.ends_at - block.started_at)
    return _done(request, issue, f"Started a {minutes} investigation block on {issue.reference}.")


@require_POST
@ui_view
def timebox_stop(request: HtmxHttpRequest, block_id: int) -> HttpResponse:
    """Stop one of the viewer's own blocks. `issue_id` (optional) is the issue whose panel
    asked (a block on another issue can be stopped from any panel); that panel comes back."""
    require(request, CHANGE)
    block = timebox.get_block(block_id)
    person = person_of(request.user)
    if person is None or block.person_id != person.pk:
        raise PermissionDenied(
            f"only {block.person.name} can stop their investigation block", field="block_id"
        )
    panel_issue = block.issue
    if request.POST.get("issue_id", "").strip():
        panel_issue = selectors.get_issue_for(
            request.user, _issue_id(request.POST["issue_id"], "issue_id")
        )
    try:
        timebox.stop_block(actor=viewer(request), block=block, note=request.POST.get("note", ""))
    except CeresError as exc:
        return _failed(request, panel_issue, exc, {"minutes": str(timebox.MAX_MINUTES), "note": ""})
    return _done(
        request, panel_issue, f"Stopped the investigation block on {block.issue.reference}."
    )

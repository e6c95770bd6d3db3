"""The tracker's issues: the list, an issue's page, and its comments, labels and state."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from ceres.accounts import selectors as account_selectors
from ceres.core.errors import Invalid
from ceres.core.web import HtmxHttpRequest, require, ui_view, viewer
from ceres.team.selectors import person_of
from ceres.tracker import bugs, escalation, selectors, services
from ceres.tracker.bug_views import CHANGE, VIEW
from ceres.tracker.feature_requests import stage_of as feature_stage_of
from ceres.tracker.forms import CommentForm
from ceres.tracker.models import BugReport, TrackerIssue
from ceres.tracker.standup import board_calendar, business_day_on_board
from ceres.tracker.workflow import FeatureStage, Stage, current

PAGE_SIZE = 50
KINDS = [("", "All kinds"), *TrackerIssue.Kind.choices]
STATES = [("open", "Open"), ("closed", "Closed"), ("all", "All")]


@require_safe
@ui_view
def issue_list(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    state = request.GET.get("state", "open")
    kind = request.GET.get("kind", "")
    label = request.GET.get("label", "").strip()
    if state not in dict(STATES):
        raise Invalid("must be open, closed or all", field="state")
    if kind not in dict(KINDS):
        raise Invalid("unknown kind", field="kind")
    if len(label) > services.MAX_LABEL:
        raise Invalid(f"at most {services.MAX_LABEL} characters", field="label")
    qs = selectors.visible_to(request.user, TrackerIssue.objects.all())
    if state != "all":
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if label:
        qs = qs.filter(selectors.with_label(label))
    qs = qs.select_related("feature_request").order_by("-created_at", "-id")
    page = Paginator(selectors.with_rows(qs), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "issue": issue,
            "labels": selectors.labels_of(issue),
            "stage_label": Stage.SHORT[escalation.stage(issue)]
            if issue.kind == TrackerIssue.Kind.BUG
            else feature_stage(issue),
        }
        for issue in page
    ]
    context = {
        "page": page,
        "rows": rows,
        "state": state,
        "kind": kind,
        "label": label,
        "states": STATES,
        "kinds": KINDS,
    }
    return render(request, "tracker/issues.html", context)


def feature_stage(issue: TrackerIssue) -> str:
    request = getattr(issue, "feature_request", None)
    if request is None:
        return "Open" if issue.state == TrackerIssue.State.OPEN else "Closed"
    return FeatureStage.LABELS[feature_stage_of(request, issue)]


def issue_context(request: HtmxHttpRequest, issue: TrackerIssue) -> dict[str, Any]:
    user = viewer(request)
    labels = selectors.labels_of(issue)
    stage = escalation.stage(issue)
    wf = current()
    report = BugReport.objects.filter(pk=issue.pk).select_related("account__codename").first()
    details = []
    if report is not None:
        details = [
            (label, report.details[key])
            for key, label, _kind in bugs.DETAILS
            if key in report.details
        ]
    day = None
    if issue.on_board_since is not None:
        day = business_day_on_board(
            board_calendar(wf.calendar), issue.on_board_since, timezone.now()
        )
    customers = [
        {"account": account, "name": account_selectors.display_name(account, user)}
        for account in selectors.accounts_labelled(labels)
    ]
    return {
        "issue": issue,
        "labels": labels,
        "assignees": selectors.assignees_of(issue),
        "stage": stage,
        "stage_label": Stage.LABELS[stage],
        "moves": [move for move, allowed in escalation.MOVES.items() if stage in allowed]
        if issue.kind == TrackerIssue.Kind.BUG
        else [],
        "comments": escalation.comments_of(issue),
        "report": report,
        "details": details,
        "customers": customers,
        "board_day": day,
        "acks": list(issue.acks.select_related("acknowledged_by")[:10]),
        "comment_form": CommentForm(),
        "workflow": wf,
    }


@require_safe
@ui_view
def issue_page(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    require(request, VIEW)
    issue = selectors.get_issue_for(request.user, issue_id)
    return render(request, "tracker/issue.html", issue_context(request, issue))


def _back(request: HtmxHttpRequest, issue: TrackerIssue, note: str) -> HttpResponse:
    messages.success(request, note)
    return redirect("tracker:issue", issue.pk)


def _refused(
    request: HtmxHttpRequest, issue: TrackerIssue, field: str, message: str
) -> HttpResponse:
    context = issue_context(request, issue)
    context["error"] = {"field": field, "message": message}
    return render(request, "tracker/issue.html", context, status=422)


@require_POST
@ui_view
def comment(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    require(request, CHANGE)
    issue = selectors.get_issue_for(request.user, issue_id)
    form = CommentForm(request.POST)
    if not form.is_valid():
        context = issue_context(request, issue)
        context["comment_form"] = form
        return render(request, "tracker/issue.html", context, status=422)
    try:
        services.add_comment(
            actor=viewer(request),
            issue=issue,
            body=form.cleaned_data["body"],
            author=person_of(request.user),
        )
    except Invalid as exc:
        context = issue_context(request, issue)
        form.add_error("body", exc.message)
        context["comment_form"] = form
        return render(request, "tracker/issue.html", context, status=exc.status_code)
    return _back(request, issue, "Comment added.")


@require_POST
@ui_view
def labels(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    """Add and remove labels by hand (the workflow's moves have their own buttons)."""
    require(request, CHANGE)
    issue = selectors.get_issue_for(request.user, issue_id)
    add = [name for name in request.POST.get("add", "").split(",") if name.strip()]
    remove = request.POST.getlist("remove")
    if not add and not remove:
        raise Invalid("name a label to add or remove", field="add")
    added, removed = services.change_labels(
        actor=viewer(request), issue=issue, add=add, remove=remove
    )
    changes = [f"+{n}" for n in added] + [f"-{n}" for n in removed]
    return _back(request, issue, "Labels: " + (", ".join(changes) or "no change") + ".")


@require_POST
@ui_view
def state(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    require(request, CHANGE)
    issue = selectors.get_issue_for(request.user, issue_id)
    new_state = request.POST.get("state", "")
    services.set_state(actor=viewer(request), issue=issue, state=new_state)
    return _back(request, issue, f"Issue {'closed' if new_state == 'closed' else 'reopened'}.")

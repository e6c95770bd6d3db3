"""Filing a bug report: the form (from a conversation or an account), the similar issues shown
while the title and description are typed, "same issue", and the debug archive."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ceres.accounts import selectors as account_selectors
from ceres.accounts.models import Account
from ceres.conversations import selectors as conversation_selectors
from ceres.conversations.models import Conversation
from ceres.core.errors import CeresError, Invalid, NotFound
from ceres.core.web import HtmxHttpRequest, apply_error, require, ui_view, viewer
from ceres.team.selectors import person_of
from ceres.tracker import bugs, selectors
from ceres.tracker.forms import BugReportForm, SameIssueForm
from ceres.tracker.models import BugReport, TrackerIssue

VIEW = "tracker.view_trackerissue"
FILE = "tracker.add_trackerissue"
CHANGE = "tracker.change_trackerissue"
SIMILAR_TEXT_MAX = 2_000


def _int(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    if not text.isdigit() or len(text) > 12:
        raise Invalid("must be a number", field=field)
    return int(text)


def _origin(
    account_id: int | None, conversation_id: int | None
) -> tuple[Account, Conversation | None]:
    """The account the report is for, from the conversation it is filed from or directly."""
    conversation = None
    if conversation_id is not None:
        conversation = conversation_selectors.get_conversation(conversation_id)
        if conversation.account_id is None:
            raise Invalid(
                "this conversation has no account: link it to the customer's account first",
                field="conversation",
            )
        account_id = conversation.account_id
    if account_id is None:
        raise Invalid("file a bug report from a conversation or an account", field="account")
    try:
        return account_selectors.get_account(account_id), conversation
    except NotFound as exc:
        raise Invalid("no such account", field="account") from exc


def _context(
    request: HtmxHttpRequest,
    form: BugReportForm,
    account: Account,
    conversation: Conversation | None,
) -> dict[str, Any]:
    return {
        "form": form,
        "account": account,
        "conversation": conversation,
        "name": account_selectors.display_name(account, viewer(request)),
        "required": [name for name, _label in bugs.REQUIRED],
    }


@require_http_methods(["GET", "HEAD", "POST"])
@ui_view
def file_bug(request: HtmxHttpRequest) -> HttpResponse:
    require(request, FILE)
    source = request.POST if request.method == "POST" else request.GET
    account, conversation = _origin(
        _int(source.get("account"), "account"), _int(source.get("conversation"), "conversation")
    )
    if request.method != "POST":
        initial: dict[str, Any] = {
            "account": account.pk,
            "conversation": getattr(conversation, "pk", None),
        }
        if account.product_version:
            initial["server_version"] = account.product_version
        if conversation is not None:
            initial["title"] = conversation.subject
        form = BugReportForm(initial=initial)
        return render(
            request, "tracker/file_bug.html", _context(request, form, account, conversation)
        )
    form = BugReportForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.to_input()
        for name in bugs.missing_fields(data):
            form.add_error(name, "Required by the handbook.")
        for name, message in bugs.firewall_problems(data).items():
            target = name if name in form.fields else f"detail_{name}"
            form.add_error(target if target in form.fields else None, message)
    if form.is_valid():
        try:
            report = bugs.file_bug_report(
                actor=viewer(request),
                account=account,
                data=form.to_input(),
                filed_by=person_of(request.user),
                conversation=conversation,
                debug_archive=form.cleaned_data.get("debug_archive"),
            )
        except CeresError as exc:
            field = exc.field if exc.field in form.fields else f"detail_{exc.field}"
            apply_error(
                form, type(exc)(exc.message, field=field if field in form.fields else exc.field)
            )
            status = exc.status_code
        else:
            messages.success(request, f"Filed {report.issue.reference}.")
            return redirect("tracker:issue", report.issue.pk)
    else:
        status = 422
    context = _context(request, form, account, conversation)
    return render(request, "tracker/file_bug.html", context, status=status)


@require_safe
@ui_view
def similar(request: HtmxHttpRequest) -> HttpResponse:
    """Ranked similar issues for what is typed so far (htmx, as the title is typed)."""
    require(request, VIEW)
    text = " ".join(
        request.GET.get(name, "")[:SIMILAR_TEXT_MAX]
        for name in ("title", "actual_behavior", "expected_behavior")
    )
    account_id = _int(request.GET.get("account"), "account")
    conversation_id = _int(request.GET.get("conversation"), "conversation")
    results = selectors.similar_for(request.user, text, limit=6)
    issues = {
        issue.pk: issue
        for issue in selectors.with_rows(
            TrackerIssue.objects.filter(pk__in=[r.issue_id for r in results])
        )
    }
    account = Account.objects.filter(pk=account_id).first() if account_id else None
    rows = [
        {
            "result": r,
            "issue": issues[r.issue_id],
            "labels": selectors.labels_of(issues[r.issue_id]),
            "has_customer": account is not None
            and account.github_label in selectors.labels_of(issues[r.issue_id]),
        }
        for r in results
        if r.issue_id in issues
    ]
    context = {
        "rows": rows,
        "typed": bool(text.strip()),
        "account": account,
        "conversation_id": conversation_id,
    }
    return render(request, "tracker/_similar.html", context)


@require_POST
@ui_view
def same_issue(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    require(request, CHANGE)
    issue = selectors.get_issue_for(request.user, issue_id)
    form = SameIssueForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        raise Invalid(str(errors[0]), field=field)
    account, conversation = _origin(
        form.cleaned_data["account"], form.cleaned_data.get("conversation")
    )
    bugs.same_issue(
        actor=viewer(request),
        issue=issue,
        account=account,
        person=person_of(request.user),
        note=form.cleaned_data.get("note") or "",
        conversation=conversation,
    )
    messages.success(request, f"{account.codename.name} added to {issue.reference}.")
    return redirect("tracker:issue", issue.pk)


@require_safe
@ui_view
def debug_archive(request: HtmxHttpRequest, issue_id: int) -> StreamingHttpResponse:
    require(request, VIEW)
    report = BugReport.objects.filter(pk=issue_id).first()
    if report is None or not report.debug_archive:
        raise NotFound("no debug archive for this issue", field="issue_id")
    return FileResponse(
        report.debug_archive.open("rb"),
        as_attachment=True,
        filename=report.debug_archive.name.rsplit("/", 1)[-1],
    )

"""Feature-request pages: the list (waiting on a CSM, prioritized, all), a form to open one, and
the panel the issue page loads (`hx-get` on load) with the request's stage and its moves.

Forms here only parse; the rules live in `tracker.feature_requests` and the look-ups in
`tracker.feature_selectors`, so an unknown person or account, a missing field or a bad link is
a 422 naming the field, a move that does not apply a 409, and the form comes back with the
message next to the field. After a move the panel answers with an `HX-Trigger` event,
`tracker:issue-changed`, for the parts of the issue page (labels, assignees, comments, state)
that the move changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ceres.accounts.models import Account
from ceres.core.errors import CeresError, Invalid, NotFound, PermissionDenied
from ceres.core.web import (
    HtmxHttpRequest,
    apply_error,
    form_errors,
    is_fragment,
    require,
    set_choices,
    ui_view,
    viewer,
)
from ceres.team.selectors import person_of
from ceres.tracker import feature_requests as moves
from ceres.tracker import feature_selectors as selectors
from ceres.tracker import services
from ceres.tracker.models import FeatureRequest
from ceres.tracker.workflow import current

VIEW = "tracker.view_trackerissue"
CHANGE = "tracker.change_trackerissue"
ADD = "tracker.add_trackerissue"
PAGE_SIZE = 50
PANEL = "tracker/feature_panel.html"
PANEL_PAGE = "tracker/feature_panel_page.html"
CHANGED_EVENT = "tracker:issue-changed"


class LooseChoiceField(forms.ChoiceField):
    """A select whose answer the selectors check (an unknown id is a 422 naming the field,
    as the services answer, rather than the form's own 400)."""

    def valid_value(self, value: Any) -> bool:
        return True


class LooseMultipleChoiceField(forms.MultipleChoiceField):
    def valid_value(self, value: Any) -> bool:
        return True


class FeatureRequestForm(forms.Form):
    title = forms.CharField(label="Title", required=False)
    body = forms.CharField(
        label="What the customers need, and why",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Public: codenames only, never a customer's real name.",
    )
    accounts = LooseMultipleChoiceField(
        label="Accounts that asked",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="By codename; each gets its customer label on the issue. Ctrl- or "
        "⌘-click to choose several.",
    )


class PrioritizeForm(forms.Form):
    product_designer = LooseChoiceField(label="Product designer", required=False)


class AskForFeedbackForm(forms.Form):
    csm = LooseChoiceField(label="Customer Success Manager", required=False)
    product_designer = LooseChoiceField(
        label="Product designer to @-mention", required=False, help_text="Blank: the one recorded."
    )


class OutcomeForm(forms.Form):
    outcome = LooseChoiceField(
        label="Does the release meet the customer's needs?",
        required=False,
        widget=forms.RadioSelect,
        choices=[
            (FeatureRequest.Outcome.MET, "Yes: close the request, @-mentioning the designer"),
            (
                FeatureRequest.Outcome.NOT_MET,
                "Missing something: add the feedback, @-mention the designer, unassign the CSM",
            ),
        ],
    )
    evidence_link = forms.CharField(
        label="Feedback link",
        required=False,
        widget=forms.URLInput(attrs={"placeholder": "https://…"}),
        help_text="A Gong snippet, a Slack thread or meeting notes (required when missing "
        "something).",
    )
    note = forms.CharField(
        label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}), strip=False
    )


class LinkAccountForm(forms.Form):
    account = LooseChoiceField(label="Another account asking for it", required=False)


# --- the list --------------------------------------------------------------------------------


@require_safe
@ui_view
def request_list(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    show = request.GET.get("show", "waiting")
    csm_id = request.GET.get("csm", "")
    csm = selectors.optional_person_for(csm_id, field="csm")
    page = Paginator(selectors.requests_for(show, csm=csm), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "show": show,
        "tabs": selectors.TABS,
        "csm": csm,
        "page": page,
        "rows": selectors.rows(page.object_list),
        "summary": selectors.waiting_summary() if show == "waiting" else [],
        "can_add": request.user.has_perm(ADD),
    }
    return render(request, "tracker/feature_list.html", context)


# --- a new request ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@ui_view
def new_request(request: HtmxHttpRequest) -> HttpResponse:
    require(request, ADD)
    status = 200
    if request.method == "POST":
        form = FeatureRequestForm(request.POST)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            # Both required fields are checked at once, so one answer shows all that is
            # missing; the service checks them again, with the rest.
            problems: list[CeresError] = []
            accounts: list[Account] = []
            try:
                accounts = moves.clean_accounts(
                    selectors.accounts_for(data["accounts"], field="accounts")
                )
            except CeresError as exc:
                problems.append(exc)
            try:
                services.clean_title(data["title"])
            except CeresError as exc:
                problems.append(exc)
            if not problems:
                try:
                    created = moves.open_feature_request(
                        actor=viewer(request),
                        title=data["title"],
                        body=data["body"],
                        accounts=accounts,
                        created_by=person_of(request.user),
                    )
                except CeresError as exc:
                    problems.append(exc)
                else:
                    messages.success(request, f"Feature request {created.issue.reference} opened.")
                    return redirect("tracker:issue", issue_id=created.pk)
            for problem in problems:
                apply_error(form, problem)
            status = problems[0].status_code
    else:
        form = FeatureRequestForm(initial={"accounts": request.GET.getlist("account")[:50]})
    set_choices(form.fields["accounts"], selectors.account_choices())
    context = {"form": form, "errors": form_errors(form)}
    return render(request, "tracker/feature_new.html", context, status=status)


# --- the panel and its moves -----------------------------------------------------------------


def _panel_context(
    request: HtmxHttpRequest,
    feature: FeatureRequest,
    *,
    bound: dict[str, forms.Form] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    row = selectors.rows([feature])[0]
    can_change = request.user.has_perm(CHANGE)
    panel_forms: dict[str, forms.Form] = {}
    if can_change:
        designer = str(feature.product_designer_id or "")
        panel_forms = {
            "prioritize": PrioritizeForm(),
            "ask_for_feedback": AskForFeedbackForm(initial={"product_designer": designer}),
            "record_outcome": OutcomeForm(),
            "link_account": LinkAccountForm(),
        }
        panel_forms.update(bound or {})
        designers = selectors.people_choices(selectors.PRODUCT_DESIGNER_ROLE)
        blank = [("", "Choose…")]
        set_choices(panel_forms["prioritize"].fields["product_designer"], blank + designers)
        ask = panel_forms["ask_for_feedback"]
        set_choices(ask.fields["product_designer"], blank + designers)
        set_choices(
            ask.fields["csm"],
            blank + selectors.people_choices(selectors.CSM_ROLE),
        )
        labels = moves.customer_labels(row.issue)
        set_choices(
            panel_forms["link_account"].fields["account"],
            blank + selectors.account_choices(exclude_labels=labels),
        )
    allowed = {move: moves.allowed(row.stage, move) for move in moves.MOVES}
    errors = {move: form_errors(form) for move, form in (bound or {}).items()}
    return {
        "row": row,
        "feature": feature,
        "issue": row.issue,
        "can_change": can_change,
        "forms": panel_forms,
        "errors": errors,
        # A refused move whose form the stage does not show: its message goes on top.
        "refusal": [e for move, rows in errors.items() if not allowed[move] for e in rows],
        "allowed": allowed,
        "labels": current(),
        "notice": notice,
    }


@require_safe
@ui_view
def feature_panel(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    """A fragment, whoever asks: the issue page swaps it in on load."""
    require(request, VIEW)
    return render(request, PANEL, _panel_context(request, selectors.get_request(issue_id)))


Perform = Callable[[FeatureRequest, dict[str, Any]], str]


def _move(
    request: HtmxHttpRequest, issue_id: int, move: str, form: forms.Form, perform: Perform
) -> HttpResponse:
    """Parse, move, and answer: the panel again (htmx) or the issue page (a plain POST); on
    a refusal, the panel with the message next to the field, with the refusal's status."""
    require(request, CHANGE)
    feature = selectors.get_request(issue_id)
    status = 400
    if form.is_valid():
        try:
            notice = perform(feature, form.cleaned_data)
        except (NotFound, PermissionDenied):
            raise
        except CeresError as exc:
            apply_error(form, exc)
            status = exc.status_code
        else:
            if not is_fragment(request):
                messages.success(request, notice)
                return redirect("tracker:issue", issue_id=issue_id)
            fresh = selectors.get_request(issue_id)
            response = render(request, PANEL, _panel_context(request, fresh, notice=notice))
            response["HX-Trigger"] = json.dumps({CHANGED_EVENT: {"issue": issue_id}})
            return response
    context = _panel_context(request, feature, bound={move: form})
    return render(request, PANEL if is_fragment(request) else PANEL_PAGE, context, status=status)


@require_POST
@ui_view
def prioritize(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    def perform(feature: FeatureRequest, data: dict[str, Any]) -> str:
        designer = selectors.person_for(data["product_designer"], field="product_designer")
        moves.prioritize(actor=viewer(request), issue=feature.issue, product_designer=designer)
        return f"Prioritized: {current().customer_request_label} added, {designer.name} drafts it."

    return _move(request, issue_id, "prioritize", PrioritizeForm(request.POST), perform)


@require_POST
@ui_view
def ask_for_feedback(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    def perform(feature: FeatureRequest, data: dict[str, Any]) -> str:
        csm = selectors.person_for(data["csm"], field="csm")
        designer = selectors.optional_person_for(data["product_designer"], field="product_designer")
        moves.ask_for_feedback(
            actor=viewer(request), issue=feature.issue, csm=csm, product_designer=designer
        )
        return f"Asked {csm.name} to bring the release to the customer for feedback."

    return _move(request, issue_id, "ask_for_feedback", AskForFeedbackForm(request.POST), perform)


@require_POST
@ui_view
def record_outcome(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    def perform(feature: FeatureRequest, data: dict[str, Any]) -> str:
        recorded = moves.record_outcome(
            actor=viewer(request),
            issue=feature.issue,
            outcome=data["outcome"],
            evidence_link=data["evidence_link"],
            note=data["note"],
        )
        if recorded.outcome == FeatureRequest.Outcome.MET:
            return "Recorded: the release meets the customer's needs. The request is closed."
        return "Recorded: the release is missing something. The designer has the feedback."

    return _move(request, issue_id, "record_outcome", OutcomeForm(request.POST), perform)


@require_POST
@ui_view
def link_account(request: HtmxHttpRequest, issue_id: int) -> HttpResponse:
    def perform(feature: FeatureRequest, data: dict[str, Any]) -> str:
        if not data["account"]:
            raise Invalid("choose an account", field="account")
        (account,) = selectors.accounts_for([data["account"]], field="account")
        added = moves.link_account(actor=viewer(request), issue=feature.issue, account=account)
        return f"{account} {'added' if added else 'was already on the request'}."

    return _move(request, issue_id, "link_account", LinkAccountForm(request.POST), perform)

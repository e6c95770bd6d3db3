"""Account pages: the list, a new account, and one account with its contacts, DRI checklist
and history. Reads go through selectors, writes through services; every name shown passes
`selectors.display_name`, so a viewer without `accounts.view_confidential` sees codenames."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ceres.accounts import selectors, services
from ceres.accounts.forms import (
    PAGE_SIZE,
    AccountCreateForm,
    AccountFieldsForm,
    AccountFilterForm,
    ContactForm,
    account_initial,
)
from ceres.accounts.models import Account
from ceres.core.audit.selectors import history_for
from ceres.core.errors import CeresError
from ceres.core.web import (
    HtmxHttpRequest,
    apply_error,
    form_errors,
    history_rows,
    is_fragment,
    require,
    ui_view,
    viewer,
)
from ceres.team import selectors as team_selectors

RESULTS_ID = "account-results"


# --- the list --------------------------------------------------------------------------------


@require_safe
@ui_view
def account_list_page(request: HtmxHttpRequest) -> HttpResponse:
    user = viewer(request)
    confidential = selectors.can_view_confidential(user)
    form = AccountFilterForm(
        request.GET,
        products=selectors.products(),
        owners=list(team_selectors.people()),
        confidential=confidential,
    )
    status, page, rows = 400, None, []
    if form.is_valid():
        data = form.cleaned_data
        try:
            accounts = selectors.account_list(
                user=user,
                q=data["q"],
                kind=data["kind"],
                product=data["product"],
                deployment=data["deployment"],
                csm=data["csm"],
                sort=data["sort"] or "codename",
            )
        except CeresError as exc:
            apply_error(form, exc)
            status = exc.status_code
        else:
            status = 200
            page = Paginator(accounts, PAGE_SIZE).get_page(data["page"] or 1)
            rows = [(a, selectors.display_name(a, user)) for a in page.object_list]
    partial = is_fragment(request) and request.htmx.target == RESULTS_ID
    context = {
        "form": form,
        "errors": form_errors(form),
        "page": page,
        "rows": rows,
        "sort": form.cleaned_data.get("sort") or "codename",
        "sort_param": form.cleaned_data.get("sort") or "",
        "confidential": confidential,
        "results_id": RESULTS_ID,
        "partial": partial,
    }
    template = "accounts/_results.html" if partial else "accounts/list.html"
    return render(request, template, context, status=status)


# --- a new account ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@ui_view
def account_create_page(request: HtmxHttpRequest) -> HttpResponse:
    require(request, "accounts.add_account")
    user = viewer(request)
    choices: dict[str, Any] = {
        "products": selectors.products(),
        "owners": list(team_selectors.people(active_only=True)),
    }
    status = 200
    if request.method == "POST":
        form = AccountCreateForm(request.POST, **choices)
        status = 400
        if form.is_valid():
            try:
                account = services.create_account(actor=user, **form.values())
            except CeresError as exc:
                apply_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, f"Account created with the codename {account}.")
                return redirect("accounts:detail", account_id=account.pk)
    else:
        own = getattr(user, "person", None)
        form = AccountCreateForm(initial={"csm_owner": str(own.pk) if own else ""}, **choices)
    context = {
        "form": form,
        "errors": form_errors(form),
        "suggestions": services.suggest_codenames(count=6),
    }
    return render(request, "accounts/create.html", context, status=status)


@require_safe
@ui_view
def codename_suggestions(request: HtmxHttpRequest) -> HttpResponse:
    require(request, "accounts.add_account")
    legal_name = request.GET.get("legal_name", "")[:200]
    suggestions = services.suggest_codenames(count=6, for_legal_name=legal_name)
    return render(request, "accounts/_codename_chips.html", {"suggestions": suggestions})


# --- one account -----------------------------------------------------------------------------


def _history(account: Account, confidential: bool) -> list[dict[str, Any]]:
    lines = history_for(account, can_view_confidential=confidential)
    names: dict[str, dict[str, str]] = {
        "product": {str(p.pk): p.name for p in selectors.products()},
    }
    if any(field == "csm_owner" for line in lines for field, _, _ in line.changes):
        names["csm_owner"] = {str(p.pk): p.name for p in team_selectors.people()}
    return history_rows(lines, names, skip=("dri_change",))


def _context(request: HtmxHttpRequest, account: Account, **extra: Any) -> dict[str, Any]:
    user = viewer(request)
    confidential = selectors.can_view_confidential(user)
    dri_change = selectors.latest_dri_change(account)
    items = list(dri_change.items.all()) if dri_change else []
    context = {
        "account": account,
        "name": selectors.display_name(account, user),
        "confidential": confidential,
        "can_edit": user.has_perm("accounts.change_account"),
        "can_add_contact": user.has_perm("accounts.add_contact"),
        "can_change_contact": user.has_perm("accounts.change_contact"),
        "contacts": list(selectors.contacts_of(account)),
        "dri_change": dri_change,
        "items": items,
        "done_count": sum(1 for item in items if item.done_at),
        "history": _history(account, confidential),
        "contact_form": ContactForm(),
    }
    context.update(extra)
    return context


def _fragments(request: HtmxHttpRequest, context: dict[str, Any], template: str) -> str:
    """A piece of the account page, plus the history (swapped out of band) it changed."""
    html = render_to_string(template, context, request)
    return html + render_to_string("accounts/_history.html", {**context, "oob": True}, request)


@require_safe
@ui_view
def account_page(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    account = selectors.get_account(account_id)
    return render(request, "accounts/detail.html", _context(request, account))


def _fields_form(request: HtmxHttpRequest, account: Account, data: Any = None) -> AccountFieldsForm:
    return AccountFieldsForm(
        data,
        products=selectors.products(),
        owners=list(team_selectors.people(active_only=True)),
        with_legal_name=selectors.can_view_confidential(request.user),
        initial=account_initial(account),
    )


@require_safe
@ui_view
def account_fields_edit(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    require(request, "accounts.change_account")
    account = selectors.get_account(account_id)
    context = _context(request, account, fields_form=_fields_form(request, account))
    if is_fragment(request):
        return render(request, "accounts/_fields_form.html", context)
    return render(request, "accounts/detail.html", context)


@require_http_methods(["GET", "POST"])
@ui_view
def account_fields(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    """GET: the fields card (what "Cancel" shows). POST: save the inline edit."""
    if request.method == "GET":
        account = selectors.get_account(account_id)
        if not is_fragment(request):
            return redirect("accounts:detail", account_id=account.pk)
        return render(request, "accounts/_fields_card.html", _context(request, account))
    require(request, "accounts.change_account")
    if ("legal_name" in request.POST or "aliases" in request.POST) and not (
        selectors.can_view_confidential(request.user)
    ):
        raise PermissionDenied("You need the permission accounts.view_confidential.")
    account = selectors.get_account(account_id)
    form = _fields_form(request, account, request.POST)
    status = 400
    if form.is_valid():
        try:
            services.update_account(actor=viewer(request), account=account, **form.values())
        except CeresError as exc:
            apply_error(form, exc)
            status = exc.status_code
            account.refresh_from_db()
        else:
            if not is_fragment(request):
                return redirect("accounts:detail", account_id=account.pk)
            html = _fragments(request, _context(request, account), "accounts/_fields_card.html")
            return HttpResponse(html)
    context = _context(request, account, fields_form=form, errors=form_errors(form))
    template = "accounts/_fields_form.html" if is_fragment(request) else "accounts/detail.html"
    return render(request, template, context, status=status)


def _people_answer(
    request: HtmxHttpRequest, account: Account, status: int = 200, **extra: Any
) -> HttpResponse:
    """The contacts and the DRI checklist after a change (or with the error that stopped it)."""
    if status < 400 and not is_fragment(request):
        return redirect(reverse("accounts:detail", args=[account.pk]) + "#contacts")
    context = _context(request, account, **extra)
    if not is_fragment(request):
        return render(request, "accounts/detail.html", context, status=status)
    if status >= 400:
        return render(request, "accounts/_people.html", context, status=status)
    return HttpResponse(_fragments(request, context, "accounts/_people.html"))


@require_POST
@ui_view
def contact_add(request: HtmxHttpRequest, account_id: int) -> HttpResponse:
    require(request, "accounts.add_contact")
    account = selectors.get_account(account_id)
    form = ContactForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.add_contact(actor=viewer(request), account=account, **form.cleaned_data)
        except CeresError as exc:
            apply_error(form, exc)
            status = exc.status_code
        else:
            return _people_answer(request, account)
    return _people_answer(
        request, account, status, contact_form=form, contact_errors=form_errors(form)
    )


@require_POST
@ui_view
def contact_make_dri(request: HtmxHttpRequest, account_id: int, contact_id: int) -> HttpResponse:
    require(request, "accounts.change_contact")
    account = selectors.get_account(account_id)
    contact = selectors.get_contact(account, contact_id)
    try:
        services.start_dri_change(actor=viewer(request), account=account, new_dri=contact)
    except CeresError as exc:
        return _people_answer(request, account, exc.status_code, people_error=exc.message)
    return _people_answer(request, account)


@require_POST
@ui_view
def checklist_item(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    """Tick or untick one step of a DRI change (`done` present and truthy means ticked)."""
    require(request, "accounts.change_contact")
    done = request.POST.get("done", "").lower() in {"1", "true", "on", "yes"}
    item = services.set_checklist_item(actor=viewer(request), item_id=item_id, done=done)
    account = selectors.get_account(item.dri_change.account_id)
    if not is_fragment(request):
        return redirect(reverse("accounts:detail", args=[account.pk]) + "#dri-checklist")
    context = _context(request, account)
    return HttpResponse(_fragments(request, context, "accounts/_checklist.html"))

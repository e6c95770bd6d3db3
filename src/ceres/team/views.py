"""Team pages: the people by role, one person (with inline edit and history), my API tokens."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ceres.accounts.selectors import can_view_confidential
from ceres.core.audit.selectors import history_for
from ceres.core.errors import CeresError
from ceres.core.hours import timezone_names
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
from ceres.team import selectors, services
from ceres.team.forms import PersonForm, TeamFilterForm, TokenForm, person_initial
from ceres.team.models import Person

RESULTS_ID = "team-results"


@require_safe
@ui_view
def team_page(request: HtmxHttpRequest) -> HttpResponse:
    roles = selectors.roles()
    form = TeamFilterForm(request.GET, roles=roles)
    people: list[Person] = []
    status = 400
    if form.is_valid():
        status = 200
        found = selectors.people(q=form.cleaned_data["q"], role=form.cleaned_data["role"])
        if form.cleaned_data["sort"] == "name":
            found = found.order_by("name", "id")
        people = list(found)
    partial = is_fragment(request) and request.htmx.target == RESULTS_ID
    context = {
        "form": form,
        "errors": form_errors(form),
        "people": people,
        "grouped": form.cleaned_data.get("sort") != "name",
        "results_id": RESULTS_ID,
    }
    template = "team/_results.html" if partial else "team/list.html"
    return render(request, template, context, status=status)


def _person_context(request: HtmxHttpRequest, person: Person, **extra: Any) -> dict[str, Any]:
    roles = selectors.roles()
    lines = history_for(person, can_view_confidential=can_view_confidential(request.user))
    context = {
        "person": person,
        "can_edit": request.user.has_perm("team.change_person"),
        "history": history_rows(lines, {"role": {str(r.pk): r.name for r in roles}}),
        "roles": roles,
    }
    context.update(extra)
    return context


@require_safe
@ui_view
def person_page(request: HtmxHttpRequest, person_id: int) -> HttpResponse:
    person = selectors.get_person(person_id)
    return render(request, "team/person.html", _person_context(request, person))


def _person_form(person: Person, data: Any = None) -> PersonForm:
    return PersonForm(data, roles=selectors.roles(), initial=person_initial(person))


@require_safe
@ui_view
def person_edit(request: HtmxHttpRequest, person_id: int) -> HttpResponse:
    require(request, "team.change_person")
    person = selectors.get_person(person_id)
    context = _person_context(
        request, person, form=_person_form(person), timezones=timezone_names()
    )
    template = "team/_person_form.html" if is_fragment(request) else "team/person.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@ui_view
def person_card(request: HtmxHttpRequest, person_id: int) -> HttpResponse:
    """GET: the person's card (what "Cancel" shows). POST: save the inline edit."""
    if request.method == "GET":
        person = selectors.get_person(person_id)
        if not is_fragment(request):
            return redirect("team:person", person_id=person.pk)
        return render(request, "team/_person_card.html", _person_context(request, person))
    require(request, "team.change_person")
    person = selectors.get_person(person_id)
    form = _person_form(person, request.POST)
    status = 400
    if form.is_valid():
        try:
            services.update_person(actor=viewer(request), person=person, **form.values())
        except CeresError as exc:
            apply_error(form, exc)
            status = exc.status_code
            person = selectors.get_person(person_id)
        else:
            if not is_fragment(request):
                return redirect("team:person", person_id=person.pk)
            context = _person_context(request, selectors.get_person(person_id))
            html = render_to_string("team/_person_card.html", context, request)
            html += render_to_string("team/_history.html", {**context, "oob": True}, request)
            return HttpResponse(html)
    context = _person_context(
        request, person, form=form, errors=form_errors(form), timezones=timezone_names()
    )
    template = "team/_person_form.html" if is_fragment(request) else "team/person.html"
    return render(request, template, context, status=status)


# --- my API tokens ---------------------------------------------------------------------------


def _tokens_answer(
    request: HtmxHttpRequest, form: TokenForm, status: int = 200, new_token: str = ""
) -> HttpResponse:
    context = {
        "tokens": list(selectors.tokens_of(viewer(request).pk)),
        "form": form,
        "errors": form_errors(form),
        "new_token": new_token,
    }
    template = "team/_tokens.html" if is_fragment(request) else "team/tokens.html"
    response = render(request, template, context, status=status)
    # The clear token is in this answer once: no cache may keep it.
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@ui_view
def tokens_page(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _tokens_answer(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _tokens_answer(request, form, 400)
    user = viewer(request)
    try:
        _, token = services.create_api_token(actor=user, user=user, name=form.cleaned_data["name"])
    except CeresError as exc:
        apply_error(form, exc)
        return _tokens_answer(request, form, exc.status_code)
    return _tokens_answer(request, TokenForm(), new_token=token)


@require_POST
@ui_view
def token_revoke(request: HtmxHttpRequest, token_id: int) -> HttpResponse:
    user = viewer(request)
    row = services.revoke_api_token(actor=user, user=user, token_id=token_id)
    if not is_fragment(request):
        messages.success(request, f"Revoked the token “{row.name}”.")
        return redirect("team:tokens")
    return _tokens_answer(request, TokenForm())

"""The SLA settings pages: policies in the order they are tried, business calendars, and their
editors. Reading needs the permission to work conversations (a support engineer should know
the targets they are held to); each change needs the model permission it is about.

The playbook (`ceres apply`) writes the same rows through the same services: a change made
here is shown as a difference by the next `ceres apply --dry-run` of a playbook that still
says otherwise.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ceres.accounts import selectors as account_selectors
from ceres.core.errors import CeresError, Invalid
from ceres.core.hours import timezone_names
from ceres.core.web import (
    HtmxHttpRequest,
    apply_error,
    form_errors,
    require,
    ui_view,
    viewer,
)
from ceres.sla import selectors, services
from ceres.sla.calendar_forms import CalendarForm
from ceres.sla.forms import PolicyForm
from ceres.sla.models import BusinessCalendar, SlaPolicy
from ceres.team import selectors as team_selectors

VIEW = "conversations.view_conversation"


@require_safe
@ui_view
def settings_page(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    context = {
        "policies": selectors.policy_rows(),
        "calendars": selectors.calendar_rows(),
    }
    return render(request, "sla/settings.html", context)


# --- policies --------------------------------------------------------------------------------


def _policy_form(
    data: Any = None, *, editing: SlaPolicy | None = None, initial: dict[str, Any] | None = None
) -> PolicyForm:
    return PolicyForm(
        data,
        initial=initial,
        editing=editing,
        tiers=[(p.key, p.name) for p in account_selectors.products()],
        roles=[(role.key, role.name) for role in team_selectors.roles()],
        calendars=selectors.calendar_keys(),
    )


def _policy_page(request: HtmxHttpRequest, form: PolicyForm, *, status: int = 200) -> HttpResponse:
    editing = form.editing
    context = {
        "form": form,
        "errors": form_errors(form) if form.is_bound else [],
        "policy": editing,
        "can_delete": editing is not None and request.user.has_perm("sla.delete_slapolicy"),
    }
    return render(request, "sla/policy_form.html", context, status=status)


def _save_policy(request: HtmxHttpRequest, form: PolicyForm) -> HttpResponse:
    def done(policy: SlaPolicy) -> HttpResponse:
        messages.success(request, f"Policy {policy.key} saved.")
        return redirect("sla:settings")

    return _save(request, form, services.save_policy, _policy_page, done)


@require_http_methods(["GET", "POST"])
@ui_view
def policy_create(request: HtmxHttpRequest) -> HttpResponse:
    require(request, "sla.add_slapolicy")
    if request.method == "POST":
        return _save_policy(request, _policy_form(request.POST))
    initial = {
        "position": selectors.next_position(),
        "warn_at": 75,
        "pause_on": ["waiting_on_customer", "on_hold"],
    }
    return _policy_page(request, _policy_form(initial=initial))


@require_http_methods(["GET", "POST"])
@ui_view
def policy_edit(request: HtmxHttpRequest, key: str) -> HttpResponse:
    if request.method == "POST":
        require(request, "sla.change_slapolicy")
        policy = selectors.find_policy(key)
        return _save_policy(request, _policy_form(request.POST, editing=policy))
    require(request, VIEW)
    policy = selectors.find_policy(key)
    form = _policy_form(editing=policy, initial=PolicyForm.initial_of(policy))
    return _policy_page(request, form)


@require_POST
@ui_view
def policy_move(request: HtmxHttpRequest, key: str) -> HttpResponse:
    require(request, "sla.change_slapolicy")
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        raise Invalid("must be up or down", field="direction")
    services.move_policy(actor=viewer(request), key=key, offset=-1 if direction == "up" else 1)
    return redirect("sla:settings")


@require_POST
@ui_view
def policy_delete(request: HtmxHttpRequest, key: str) -> HttpResponse:
    require(request, "sla.delete_slapolicy")
    services.delete_policy(actor=viewer(request), key=key)
    messages.success(request, f"Policy {key} deleted. Running clocks keep their deadlines.")
    return redirect("sla:settings")


@require_safe
@ui_view
def policy_preview(request: HtmxHttpRequest, key: str) -> HttpResponse:
    """When this policy's targets fall due for a message received at a local time."""
    require(request, VIEW)
    policy = selectors.find_policy(key)
    zone = timezone.get_current_timezone()
    context: dict[str, Any] = {"policy": policy, "zone": zone}
    text = request.GET.get("received", "")[:40]
    try:
        received = datetime.datetime.fromisoformat(text)
    except ValueError:
        context["error"] = "give a date and time, e.g. 2026-05-22 15:00"
        return render(request, "sla/_preview.html", context, status=400)
    if received.tzinfo is None:
        received = received.replace(tzinfo=zone)
    context["received"] = received
    context["lines"] = selectors.preview(policy_key=policy.key, received_at=received)
    return render(request, "sla/_preview.html", context)


# --- calendars -------------------------------------------------------------------------------


def _calendar_page(
    request: HtmxHttpRequest, form: CalendarForm, *, status: int = 200
) -> HttpResponse:
    key = form.editing
    context: dict[str, Any] = {
        "form": form,
        "errors": form_errors(form) if form.is_bound else [],
        "key": key,
        "timezones": timezone_names(),
        "can_delete": key is not None and request.user.has_perm("sla.delete_businesscalendar"),
    }
    if key is not None:
        context["week"] = selectors.week_ahead(key)
        context["used_by"] = selectors.calendar_users(key)
    return render(request, "sla/calendar_form.html", context, status=status)


def _save_calendar(request: HtmxHttpRequest, form: CalendarForm) -> HttpResponse:
    def done(row: BusinessCalendar) -> HttpResponse:
        messages.success(request, f"Calendar {row.key} saved.")
        return redirect("sla:calendar", key=row.key)

    return _save(request, form, services.save_calendar, _calendar_page, done)


def _save(
    request: HtmxHttpRequest,
    form: Any,
    save: Callable[..., Any],
    page: Callable[..., HttpResponse],
    done: Callable[[Any], HttpResponse],
) -> HttpResponse:
    """An editor's POST: the form's own checks, then the service's, whose refusal is shown on
    the field it names; a new name that exists is a conflict, never an overwrite."""
    if not form.is_valid():
        return page(request, form, status=400)
    try:
        saved = save(actor=viewer(request), create=form.editing is None, **form.values())
    except CeresError as exc:
        apply_error(form, exc)
        return page(request, form, status=exc.status_code)
    return done(saved)


@require_http_methods(["GET", "POST"])
@ui_view
def calendar_create(request: HtmxHttpRequest) -> HttpResponse:
    require(request, "sla.add_businesscalendar")
    if request.method == "POST":
        return _save_calendar(request, CalendarForm(request.POST))
    initial = {"timezone": timezone.get_current_timezone_name()}
    initial.update(dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-17:00"))
    return _calendar_page(request, CalendarForm(initial=initial))


@require_http_methods(["GET", "POST"])
@ui_view
def calendar_edit(request: HtmxHttpRequest, key: str) -> HttpResponse:
    if request.method == "POST":
        require(request, "sla.change_businesscalendar")
        row = selectors.find_calendar(key)
        return _save_calendar(request, CalendarForm(request.POST, editing=row.key))
    require(request, VIEW)
    row = selectors.find_calendar(key)
    form = CalendarForm(editing=row.key, initial=CalendarForm.initial_of(row.spec))
    return _calendar_page(request, form)


@require_POST
@ui_view
def calendar_delete(request: HtmxHttpRequest, key: str) -> HttpResponse:
    require(request, "sla.delete_businesscalendar")
    services.delete_calendar(actor=viewer(request), key=key)
    messages.success(request, f"Calendar {key} deleted.")
    return redirect("sla:settings")

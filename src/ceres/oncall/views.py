"""The on-call page: every schedule, who is on call now and next, the next 14 days with the
gaps marked, the overrides, and a form to add one (a replacement) or remove one.

The form only parses; the rules are the services' (an overlap, an end not after the start, a
person not on the team: a 422 with the message next to the field). Times typed into the form
are read in the viewer's time zone, as the page shows them.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from ceres.core.errors import CeresError, Invalid
from ceres.core.web import (
    HtmxHttpRequest,
    apply_error,
    form_errors,
    require,
    set_choices,
    ui_view,
    viewer,
)
from ceres.oncall import selectors, services
from ceres.oncall.models import OnCallSchedule
from ceres.team.models import Person
from ceres.team.selectors import person_of

VIEW = "oncall.view_oncallschedule"
ADD_OVERRIDE = "oncall.add_scheduleoverride"
REMOVE_OVERRIDE = "oncall.delete_scheduleoverride"
DAYS_AHEAD = 14


class LooseChoiceField(forms.ChoiceField):
    """The view checks the answer (an unknown person is a 422 naming the field)."""

    def valid_value(self, value: Any) -> bool:
        return True


class OverrideForm(forms.Form):
    person = LooseChoiceField(label="Who covers", required=False)
    start = forms.DateTimeField(
        label="From",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    end = forms.DateTimeField(
        label="Until",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(
        label="Reason", required=False, max_length=services.MAX_REASON, strip=False
    )


def turns(hours: int) -> str:
    """A shift length as people say it: "weekly shifts", "2-day shifts", "12-hour shifts"."""
    if hours % 168 == 0:
        return "weekly shifts" if hours == 168 else f"{hours // 168}-week shifts"
    if hours % 24 == 0:
        return "daily shifts" if hours == 24 else f"{hours // 24}-day shifts"
    return f"{hours}-hour shifts"


def _person_choices() -> list[tuple[str, str]]:
    people = Person.objects.filter(is_active=True).order_by("name")
    return [("", "Choose…")] + [(str(p.pk), p.name) for p in people]


def _new_form(choices: list[tuple[str, str]], bound: OverrideForm | None = None) -> OverrideForm:
    form = bound or OverrideForm(prefix=None)
    set_choices(form.fields["person"], choices)
    return form


def _schedule_context(
    schedule: OnCallSchedule,
    now: datetime.datetime,
    choices: list[tuple[str, str]],
    bound: OverrideForm | None,
) -> dict[str, Any]:
    detail = selectors.on_call_now_detail(schedule, now=now)
    shifts = selectors.final_schedule_rows(schedule, now, now + datetime.timedelta(days=DAYS_AHEAD))
    layers = list(schedule.layers.order_by("-position"))
    names = dict(
        Person.objects.filter(pk__in={i for la in layers for i in la.people}).values_list(
            "pk", "name"
        )
    )
    form = _new_form(choices, bound)
    return {
        "schedule": schedule,
        "now": detail,
        "shifts": shifts,
        "gaps": sum(1 for row in shifts if row.is_gap),
        "layers": [
            {
                "layer": layer,
                "people": [names.get(pk, f"#{pk}") for pk in layer.people],
                "turns": turns(layer.shift_length_hours),
            }
            for layer in layers
        ],
        "overrides": list(selectors.overrides_ahead(schedule, now=now)),
        "form": form,
        "errors": form_errors(form) if bound is not None else [],
    }


def _page(
    request: HtmxHttpRequest,
    *,
    bound_key: str = "",
    bound: OverrideForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    choices = _person_choices()
    context = {
        "schedules": [
            _schedule_context(schedule, now, choices, bound if schedule.key == bound_key else None)
            for schedule in selectors.schedules()
        ],
        "days_ahead": DAYS_AHEAD,
        "can_add": request.user.has_perm(ADD_OVERRIDE),
        "can_remove": request.user.has_perm(REMOVE_OVERRIDE),
        "viewer_timezone": timezone.get_current_timezone_name(),
    }
    return render(request, "oncall/schedules.html", context, status=status)


@require_safe
@ui_view
def schedules(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    return _page(request)


def _required(value: Any, field: str, what: str) -> Any:
    if value in (None, ""):
        raise Invalid(f"{what} is required", field=field)
    return value


@require_POST
@ui_view
def add_override(request: HtmxHttpRequest, key: str) -> HttpResponse:
    require(request, VIEW)
    require(request, ADD_OVERRIDE)
    schedule = selectors.get_schedule(key)
    form = OverrideForm(request.POST)
    set_choices(form.fields["person"], _person_choices())
    if not form.is_valid():
        return _page(request, bound_key=key, bound=form, status=400)
    data = form.cleaned_data
    try:
        person_id = _required(data["person"], "person", "who covers")
        person = Person.objects.filter(pk=int(person_id) if person_id.isdigit() else 0).first()
        if person is None:
            raise Invalid(f"no team member {person_id!r}", field="person")
        override = services.add_override(
            actor=viewer(request),
            schedule=schedule,
            person=person,
            start=_required(data["start"], "start", "the start"),
            end=_required(data["end"], "end", "the end"),
            reason=data["reason"],
            created_by=person_of(request.user),
        )
    except CeresError as exc:
        apply_error(form, exc)
        return _page(request, bound_key=key, bound=form, status=exc.status_code)
    messages.success(
        request,
        f"{override.person.name} covers {schedule.name} from "
        f"{timezone.localtime(override.start):%a %b %d %H:%M} to "
        f"{timezone.localtime(override.end):%a %b %d %H:%M}.",
    )
    return redirect(f"{reverse('oncall:schedules')}#schedule-{schedule.key}")


@require_POST
@ui_view
def remove_override(request: HtmxHttpRequest, key: str, override_id: int) -> HttpResponse:
    require(request, VIEW)
    require(request, REMOVE_OVERRIDE)
    schedule = selectors.get_schedule(key)
    override = selectors.get_override(schedule, override_id)
    services.remove_override(actor=viewer(request), override=override)
    messages.success(request, f"Removed {override.person.name}'s override on {schedule.name}.")
    return redirect(f"{reverse('oncall:schedules')}#schedule-{schedule.key}")

"""The alarms pages: the open alarms first (with the response targets of the last 7 days), an
alarm with who was paged when and how, and the Acknowledge / Resolve buttons.

The rules are the escalation's (`oncall.escalation`): only someone paged may acknowledge;
someone paged, or whoever may change alarms, may resolve. A refusal is the error page with the
service's message (403 / 409), nothing changed.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from ceres.core.errors import Invalid, NotFound
from ceres.core.web import HtmxHttpRequest, require, ui_view, viewer
from ceres.oncall import escalation, targets
from ceres.oncall.models import Alarm, AlarmPage
from ceres.team.models import Person, Role
from ceres.team.selectors import person_of

VIEW = "oncall.view_alarm"
CHANGE = "oncall.change_alarm"
PAGE_SIZE = 50
REPORT_DAYS = 7
STATES = [
    ("open", "Open"),
    ("firing", "Unacknowledged"),
    ("acknowledged", "Acknowledged"),
    ("resolved", "Resolved"),
    ("all", "All"),
]


@require_safe
@ui_view
def alarm_list(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    state = request.GET.get("state", "open")
    if state not in dict(STATES):
        raise Invalid(f"must be one of {', '.join(dict(STATES))}", field="state")
    qs = Alarm.objects.select_related("integration", "acknowledged_by")
    if state == "open":
        qs = qs.exclude(status=Alarm.Status.RESOLVED)
    elif state != "all":
        qs = qs.filter(status=state)
    page = Paginator(qs.order_by("-first_seen_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    report = targets.response_report(
        now - datetime.timedelta(days=REPORT_DAYS), now + datetime.timedelta(seconds=1), now=now
    )
    context = {
        "page": page,
        "state": state,
        "states": STATES,
        "now": now,
        "report": report,
        "report_days": REPORT_DAYS,
        "open_count": escalation.open_alarms().count(),
    }
    return render(request, "oncall/alarms.html", context)


def _alarm(alarm_id: int) -> Alarm:
    alarm = (
        Alarm.objects.select_related(
            "integration", "policy", "acknowledged_by", "resolved_by", "outage_issue"
        )
        .filter(pk=alarm_id)
        .first()
    )
    if alarm is None:
        raise NotFound(f"no alarm {alarm_id}", field="alarm")
    return alarm


def _chain(alarm: Alarm) -> list[dict[str, Any]]:
    """The alarm's escalation steps as the page says them: named people and the role by name
    (two queries, whatever the chain's length)."""
    if alarm.policy is None:
        return []
    steps = list(alarm.policy.steps.select_related("schedule").order_by("position"))
    ids = {int(pk) for step in steps for pk in step.people}
    names = dict(Person.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    keys = {step.role for step in steps if step.role}
    roles = dict(Role.objects.filter(key__in=keys).values_list("key", "name")) if keys else {}
    return [
        {
            "step": step,
            "people": [names.get(int(pk), f"#{pk}") for pk in step.people],
            "role": roles.get(step.role, step.role),
        }
        for step in steps
    ]


@require_safe
@ui_view
def alarm_detail(request: HtmxHttpRequest, alarm_id: int) -> HttpResponse:
    require(request, VIEW)
    alarm = _alarm(alarm_id)
    me = person_of(request.user)
    pages = list(AlarmPage.objects.filter(alarm=alarm).select_related("person"))
    was_paged = me is not None and any(page.person_id == me.pk for page in pages)
    open_ = alarm.status != Alarm.Status.RESOLVED
    context = {
        "alarm": alarm,
        "pages": pages,
        "chain": _chain(alarm),
        "can_ack": open_
        and was_paged
        and not (
            alarm.status == Alarm.Status.ACKNOWLEDGED and alarm.acknowledged_by_id == me.pk
            if me
            else False
        ),
        "can_resolve": open_ and (was_paged or request.user.has_perm(CHANGE)),
        "payload": json.dumps(alarm.payload, indent=2, sort_keys=True)[:20000],
        "now": timezone.now(),
    }
    return render(request, "oncall/alarm.html", context)


@require_POST
@ui_view
def acknowledge(request: HtmxHttpRequest, alarm_id: int) -> HttpResponse:
    require(request, VIEW)
    alarm = _alarm(alarm_id)
    escalation.acknowledge(actor=viewer(request), alarm_id=alarm.pk, person=person_of(request.user))
    messages.success(request, "Acknowledged: escalation stopped.")
    return redirect(reverse("oncall:alarm", args=[alarm.pk]))


@require_POST
@ui_view
def resolve(request: HtmxHttpRequest, alarm_id: int) -> HttpResponse:
    require(request, VIEW)
    alarm = _alarm(alarm_id)
    escalation.resolve(
        actor=viewer(request),
        alarm_id=alarm.pk,
        person=person_of(request.user),
        may_resolve_any=request.user.has_perm(CHANGE),
    )
    messages.success(request, "Resolved.")
    return redirect(reverse("oncall:alarm", args=[alarm.pk]))

"""The alarm integrations page (`/oncall/integrations/`): every integration with its recent
alarms, a form to add one, and one page per integration to edit it, switch it off or on and
rotate its token.

The URL holds the token, so it is shown once: in the answer to the form that made it (adding,
or rotating), with a copy button and an example for the integration's format, never on a list
and never in a cache (`Cache-Control: no-store`). Reloading that answer would post the form
again, which the browser asks about first; the URL is not in the page a redirect would lead to.

The forms only parse; the rules are the services' (a blank name, an unknown kind or schedule:
a 422 with the message next to the field, nothing written).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

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
from ceres.oncall import integrations
from ceres.oncall.alarms import MAX_INTEGRATION_NAME
from ceres.oncall.models import AlarmIntegration, EscalationPolicy, OnCallSchedule

VIEW = "oncall.view_alarmintegration"
ADD = "oncall.add_alarmintegration"
CHANGE = "oncall.change_alarmintegration"

NONE_CHOICE = ("", "None")


class LooseChoiceField(forms.ChoiceField):
    """The services check the answer (an unknown kind or key is a 422 naming the field)."""

    def valid_value(self, value: Any) -> bool:
        return True


class IntegrationForm(forms.Form):
    # Not limited here: the service's "at most 100 characters" is the message on the field.
    name = forms.CharField(
        label="Name",
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": "Prometheus (production)", "maxlength": MAX_INTEGRATION_NAME}
        ),
        help_text="Where the alarms come from.",
    )
    kind = LooseChoiceField(label="Format", required=False, choices=AlarmIntegration.Kind.choices)
    schedule = LooseChoiceField(
        label="Schedule", required=False, help_text="Whose on-call the alarms are for."
    )
    escalation_policy = LooseChoiceField(
        label="Escalation policy", required=False, help_text="Who is paged, in order."
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["kind"]  # the format is the sender's: a new one is a new integration
        set_choices(self.fields["schedule"], [NONE_CHOICE, *integrations.schedule_choices()])
        set_choices(self.fields["escalation_policy"], [NONE_CHOICE, *integrations.policy_choices()])


def _schedule(key: str) -> OnCallSchedule | None:
    return integrations.schedule_by_key(key) if key else None


def _policy(key: str) -> EscalationPolicy | None:
    return integrations.policy_by_key(key) if key else None


def curl_example(url: str) -> str:
    """A generic alarm sent by hand: what to paste into a shell to see it arrive."""
    body = json.dumps(
        {
            "title": "checkout.example.com is down",
            "dedup_key": "checkout-http",
            "severity": "critical",
        }
    )
    return (
        f"curl -X POST {shlex.quote(url)} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(body)}"
    )


def alertmanager_snippet(url: str) -> str:
    """The receiver to add to Alertmanager's configuration (docs/oncall.md)."""
    return (
        "receivers:\n"
        "  - name: ceres\n"
        "    webhook_configs:\n"
        f"      - url: {url}\n"
        "        send_resolved: true"
    )


def _shown_once(integration: AlarmIntegration, token: str) -> dict[str, Any]:
    """What the page shows once after a token is made: the URL and how to use it."""
    url = integrations.alert_url(token)
    return {
        "integration": integration,
        "url": url,
        "curl_example": curl_example(url),
        "alertmanager_snippet": alertmanager_snippet(url),
    }


def _no_store(response: HttpResponse) -> HttpResponse:
    # The URL holds the token: no cache (the browser's back/forward one included) may keep it.
    response["Cache-Control"] = "no-store"
    return response


# --- the list and the form to add one -------------------------------------------------------


def _list_page(
    request: HtmxHttpRequest,
    form: IntegrationForm | None = None,
    *,
    status: int = 200,
    shown_once: dict[str, Any] | None = None,
) -> HttpResponse:
    if form is None:
        form = IntegrationForm(initial={"kind": AlarmIntegration.Kind.GENERIC})
    context = {
        "integrations": list(integrations.integrations_overview()),
        "form": form,
        "errors": form_errors(form) if form.is_bound else [],
        "can_add": request.user.has_perm(ADD),
        "can_change": request.user.has_perm(CHANGE),
        "shown_once": shown_once,
        "recent_days": integrations.RECENT.days,
    }
    return _no_store(render(request, "oncall/integrations.html", context, status=status))


@require_http_methods(["GET", "HEAD", "POST"])
@ui_view
def integrations_page(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    if request.method != "POST":
        return _list_page(request)
    require(request, ADD)
    form = IntegrationForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    data = form.cleaned_data
    try:
        integration, token = integrations.add_integration(
            actor=viewer(request),
            name=data["name"],
            kind=data["kind"],
            schedule=_schedule(data["schedule"]),
            escalation_policy=_policy(data["escalation_policy"]),
        )
    except CeresError as exc:
        apply_error(form, exc)
        return _list_page(request, form, status=exc.status_code)
    messages.success(request, f"Added “{integration.name}”.")
    return _list_page(request, shown_once=_shown_once(integration, token))


# --- one integration ---------------------------------------------------------------------------


def _edit_page(
    request: HtmxHttpRequest,
    integration: AlarmIntegration,
    form: IntegrationForm | None = None,
    *,
    status: int = 200,
    shown_once: dict[str, Any] | None = None,
) -> HttpResponse:
    if form is None:
        form = IntegrationForm(
            editing=True,
            initial={
                "name": integration.name,
                "schedule": integration.schedule.key if integration.schedule else "",
                "escalation_policy": (
                    integration.escalation_policy.key if integration.escalation_policy else ""
                ),
            },
        )
    context = {
        "integration": integration,
        "form": form,
        "errors": form_errors(form) if form.is_bound else [],
        "can_change": request.user.has_perm(CHANGE),
        "shown_once": shown_once,
        "recent_days": integrations.RECENT.days,
    }
    return _no_store(render(request, "oncall/integration.html", context, status=status))


def _back_to(integration: AlarmIntegration) -> str:
    return reverse("oncall:integration", args=[integration.pk])


@require_http_methods(["GET", "HEAD", "POST"])
@ui_view
def integration_page(request: HtmxHttpRequest, integration_id: int) -> HttpResponse:
    require(request, VIEW)
    if request.method == "POST":
        require(request, CHANGE)
    integration = integrations.get_integration(integration_id, field="integration")
    if request.method != "POST":
        return _edit_page(request, integration)
    form = IntegrationForm(request.POST, editing=True)
    if not form.is_valid():
        return _edit_page(request, integration, form, status=400)
    data = form.cleaned_data
    try:
        integrations.update_integration(
            actor=viewer(request),
            integration=integration,
            name=data["name"],
            schedule=_schedule(data["schedule"]),
            escalation_policy=_policy(data["escalation_policy"]),
        )
    except CeresError as exc:
        apply_error(form, exc)
        return _edit_page(request, integration, form, status=exc.status_code)
    messages.success(request, f"Saved “{integration.name}”.")
    return redirect(_back_to(integration))


@require_POST
@ui_view
def set_active(request: HtmxHttpRequest, integration_id: int) -> HttpResponse:
    require(request, VIEW)
    require(request, CHANGE)
    integration = integrations.get_integration(integration_id, field="integration")
    wanted = request.POST.get("active", "")
    if wanted not in ("true", "false"):
        raise Invalid("must be true or false", field="active")
    active = wanted == "true"
    integrations.set_active(actor=viewer(request), integration=integration, active=active)
    if active:
        messages.success(request, f"“{integration.name}” takes alarms again, at the same URL.")
    else:
        messages.success(
            request, f"Deactivated “{integration.name}”: its URL answers 401 until reactivated."
        )
    back = request.POST.get("next", "")
    if back == "list":
        return redirect(reverse("oncall:integrations"))
    return redirect(_back_to(integration))


@require_POST
@ui_view
def rotate_token(request: HtmxHttpRequest, integration_id: int) -> HttpResponse:
    require(request, VIEW)
    require(request, CHANGE)
    integration = integrations.get_integration(integration_id, field="integration")
    token = integrations.rotate_token(actor=viewer(request), integration=integration)
    messages.success(request, "A new token: the old URL stopped working.")
    return _edit_page(request, integration, shown_once=_shown_once(integration, token))

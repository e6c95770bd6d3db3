"""The public "Contact us" page: no login, CSRF on, its own layout (not the staff navigation).

The view only reads the post and shows the answer; every rule (categories, required fields,
the honeypot, the rate limit) is in `contact_form`. A successful post redirects to the thank-you
page, so reloading it does not send the message again.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ceres.conversations import contact_form
from ceres.conversations.services import MAX_BODY
from ceres.core.errors import CeresError
from ceres.playbook import selectors as playbook_selectors

FIELDS = ("category", "name", "email", "position_title", "message")


def _organization_name() -> str:
    """The vendor's name from the playbook, shown on the public pages (empty before one)."""
    organization = playbook_selectors.organization()
    return organization.name if organization is not None else ""


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the address the nearest trusted proxy saw (CERES_CONTACT_TRUSTED_PROXIES
    proxies each append the address they were reached from to X-Forwarded-For). The entries
    left of those are the client's own claim, so they are never trusted."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.CERES_CONTACT_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    if len(hops) < proxies:
        return remote
    candidate = hops[-proxies]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return remote
    return candidate


def _page(
    request: HttpRequest,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    alert: str = "",
    status: int = 200,
) -> HttpResponse:
    errors = errors or {}
    labels = {"category": "Topic", "name": "Name", "email": "E-mail", "message": "Message"}
    labels["position_title"] = "Position title"
    context: dict[str, Any] = {
        "categories": contact_form.CATEGORIES,
        "job_category": contact_form.JOB_APPLICATION,
        "honeypot_field": contact_form.HONEYPOT_FIELD,
        "values": values,
        "errors": errors,
        "error_list": [(labels.get(f, f), m) for f, m in errors.items()],
        "alert": alert,
        "max_body": MAX_BODY,
        "organization_name": _organization_name(),
    }
    return render(request, "conversations/contact/form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        # A link can preselect the topic: /contact/?category=job-application
        chosen = request.GET.get("category", "")
        known = {c.key for c in contact_form.CATEGORIES}
        return _page(request, values={"category": chosen if chosen in known else ""})
    values = {name: str(request.POST.get(name, "")) for name in FIELDS}
    try:
        contact_form.submit_contact_form(
            category=values["category"],
            name=values["name"],
            email=values["email"],
            position_title=values["position_title"],
            message=values["message"],
            honeypot=str(request.POST.get(contact_form.HONEYPOT_FIELD, "")),
            client_ip=client_ip(request),
        )
    except contact_form.SubmissionInvalid as exc:
        return _page(request, values=values, errors=exc.errors, status=400)
    except contact_form.RateLimited as exc:
        response = _page(request, values=values, alert=exc.message, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except CeresError as exc:
        # The honeypot, or a rule of the conversation itself: said above the form.
        return _page(request, values=values, alert=exc.message, status=exc.status_code)
    query = urlencode({"topic": values["category"].strip()})
    return HttpResponseRedirect(f"{reverse('contact:thanks')}?{query}")


@require_GET
def thanks(request: HttpRequest) -> HttpResponse:
    topic = request.GET.get("topic", "")
    return render(
        request,
        "conversations/contact/thanks.html",
        {
            "is_job_application": topic == contact_form.JOB_APPLICATION,
            "organization_name": _organization_name(),
        },
    )

"""Template helpers of the UI: query strings for links, sortable headers, humane values."""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.http import QueryDict
from django.utils import timezone

from ceres.core.audit.selectors import HIDDEN
from ceres.core.hours import WEEKDAYS

register = template.Library()

ACTIONS = {
    "account.create": "created the account",
    "account.update": "changed the account",
    "account.delete": "deleted the account",
    "contact.create": "added a contact",
    "contact.update": "changed a contact",
    "contact.delete": "removed a contact",
    "contact.new_dri": "made a contact the DRI",
    "contact.former_dri": "retired the former DRI",
    "dri_change.start": "started a DRI change",
    "dri_change.check": "ticked a checklist step",
    "dri_change.uncheck": "unticked a checklist step",
    "conversation.open": "opened the conversation",
    "conversation.reply": "replied",
    "conversation.note": "added an internal note",
    "conversation.update": "changed the conversation",
    "conversation.reopen": "reopened the conversation",
    "conversation.tags": "changed the tags",
    "person.create": "added the person",
    "person.update": "changed the person",
    "role.create": "created the role",
    "role.update": "changed the role",
    "token.create": "created an API token",
    "token.revoke": "revoked an API token",
}


@register.simple_tag
def query(params: QueryDict, **changes: Any) -> str:
    """`?` + the current query with some values replaced (None drops one); empty values go."""
    merged = params.copy()
    for key, value in changes.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    for key in [k for k, v in merged.lists() if not any(v)]:
        merged.pop(key)
    encoded = merged.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.inclusion_tag("includes/sort_header.html", takes_context=True)
def sort_header(context: template.Context, label: str, key: str, css: str = "") -> dict[str, Any]:
    """A column heading that sorts the table by `key`; a second click reverses the order."""
    request = context["request"]
    current = str(context.get("sort") or "")
    ascending = current == key
    descending = current == f"-{key}"
    target = f"-{key}" if ascending else key
    return {
        "label": label,
        "href": query(request.GET, sort=target, page=None),
        "direction": "asc" if ascending else "desc" if descending else "",
        "css": css,
        "target_id": context.get("results_id", "results"),
    }


@register.filter
def action_label(action: str) -> str:
    return ACTIONS.get(action, action.replace("_", " ").replace(".", ": "))


@register.filter
def field_label(name: str) -> str:
    return str(name).replace("_", " ").capitalize()


@register.filter
def audit_value(value: Any) -> str:
    """One before/after value of the history, as a person reads it."""
    if value is None or value == "" or value == {} or value == []:
        return "—"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, dict):
        return hours_summary(value) if set(value) <= set(WEEKDAYS) else str(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


@register.filter
def is_hidden(value: Any) -> bool:
    return bool(value == HIDDEN)


_DAY_NAMES = {d: d.capitalize() for d in WEEKDAYS}
EN_DASH = "\u2013"


@register.filter
def hours_summary(hours: Any) -> str:
    """{"mon": ["09:00-17:00"], ..., "fri": [...]} -> "Mon-Fri 09:00-17:00" (with en dashes)."""
    if not isinstance(hours, dict) or not hours:
        return ""
    groups: list[tuple[list[str], str]] = []
    previous_index = -2
    for index, day in enumerate(WEEKDAYS):
        spans = hours.get(day)
        if not spans:
            continue
        text = ", ".join(str(s).replace("-", EN_DASH) for s in spans)
        if groups and groups[-1][1] == text and previous_index == index - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], text))
        previous_index = index
    parts = []
    for days, text in groups:
        first, last = _DAY_NAMES[days[0]], _DAY_NAMES[days[-1]]
        parts.append(f"{first}{EN_DASH}{last} {text}" if len(days) > 1 else f"{first} {text}")
    return "; ".join(parts)


@register.filter
def days_until(value: datetime.date | None) -> int | None:
    if value is None:
        return None
    return (value - timezone.localdate()).days

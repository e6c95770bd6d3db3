"""The automation rules pages: the rules in the order they run, a rule with its firings and its
dry run, and turning a rule on or off. Rules are written in the playbook (`automations`);
reading needs the inbox permission, switching needs `automations.change_automationrule`."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from ceres.automations import selectors, services
from ceres.core.errors import Invalid
from ceres.core.web import HtmxHttpRequest, require, ui_view, viewer

VIEW = "conversations.view_conversation"


def _pretty(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


@require_safe
@ui_view
def rules_page(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    return render(request, "automations/rules.html", {"rules": list(selectors.rules())})


@require_safe
@ui_view
def rule_page(request: HtmxHttpRequest, key: str) -> HttpResponse:
    require(request, VIEW)
    rule = selectors.find_rule(key)
    rows = selectors.dry_run(rule)
    context = {
        "rule": rule,
        "conditions": _pretty(rule.conditions),
        "actions": _pretty(rule.actions),
        "buttons": _pretty(rule.buttons) if rule.buttons else "",
        "firings": selectors.firings_of(rule),
        "dry_run": rows,
        "would_fire": sum(1 for row in rows if row.would_fire),
        "days": selectors.DRY_RUN_DAYS,
    }
    return render(request, "automations/rule.html", context)


@require_POST
@ui_view
def rule_enabled(request: HtmxHttpRequest, key: str) -> HttpResponse:
    require(request, "automations.change_automationrule")
    value = request.POST.get("enabled", "")
    if value not in ("on", "off"):
        raise Invalid("must be on or off", field="enabled")
    rule = selectors.find_rule(key)
    services.set_enabled(actor=viewer(request), rule=rule, enabled=value == "on")
    messages.success(request, f"Rule {rule.key} turned {value}.")
    return redirect("automations:rule", key=rule.key)

"""The automation rules pages: the rules in the order they run, a rule with its firings and its
dry run, and turning a rule on or off. Rules are written in the playbook (`automations`);
reading needs the inbox permission, switching needs `automations.change_automationrule`."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ceres.automations import selectors, services
from ceres.automations.models import AutomationRule
from ceres.core.errors import CeresError, Invalid
from ceres.core.web import HtmxHttpRequest, require, ui_view, viewer
from ceres.playbook import automation_plan
from ceres.playbook import state as playbook_state

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


EXAMPLE = """name: tag-outages
label: Tag outage reports
on: message_received
if: {author: not_team, text_matches: "(offline|outage|down)"}
then:
  - add_tag: outage
  - set_priority: P1
"""
MAX_RULE_TEXT = 20_000


def _editor(
    request: HtmxHttpRequest,
    *,
    rule: AutomationRule | None,
    text: str,
    problems: list[str],
    status: int = 200,
) -> HttpResponse:
    rows = min(60, max(18, text.count("\n") + 3))
    context = {"rule": rule, "text": text, "problems": problems, "rows": rows}
    return render(request, "automations/rule_form.html", context, status=status)


def _save(request: HtmxHttpRequest, rule: AutomationRule | None) -> HttpResponse:
    text = request.POST.get("text", "")
    if len(text) > MAX_RULE_TEXT:
        return _editor(
            request,
            rule=rule,
            text=text[:MAX_RULE_TEXT],
            problems=[f"at most {MAX_RULE_TEXT} characters"],
            status=400,
        )
    position = rule.position if rule is not None else selectors.next_position()
    values, problems = automation_plan.parse_rule_text(
        text, state=playbook_state.read(), position=position
    )
    if values is None:
        return _editor(request, rule=rule, text=text, problems=problems, status=422)
    if rule is not None and values["key"] != rule.key:
        problems = [f"name: a rule keeps its name ({rule.key}); create a new rule for another"]
        return _editor(request, rule=rule, text=text, problems=problems, status=422)
    try:
        saved = services.save_rule(actor=viewer(request), create=rule is None, **values)
    except CeresError as exc:
        return _editor(
            request, rule=rule, text=text, problems=[exc.message], status=exc.status_code
        )
    messages.success(request, f"Rule {saved.key} saved.")
    return redirect("automations:rule", key=saved.key)


@require_http_methods(["GET", "POST"])
@ui_view
def rule_create(request: HtmxHttpRequest) -> HttpResponse:
    require(request, "automations.add_automationrule")
    if request.method == "POST":
        return _save(request, None)
    return _editor(request, rule=None, text=EXAMPLE, problems=[])


@require_http_methods(["GET", "POST"])
@ui_view
def rule_edit(request: HtmxHttpRequest, key: str) -> HttpResponse:
    require(request, "automations.change_automationrule")
    rule = selectors.find_rule(key)
    if request.method == "POST":
        return _save(request, rule)
    return _editor(request, rule=rule, text=automation_plan.rule_as_text(rule), problems=[])

"""The automation rules pages: the list, a rule's definition, firings and dry run, on/off."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from ceres.automations.models import AutomationRule
from ceres.core.audit.models import AuditEntry
from ceres.core.outbox.models import OutboxMessage
from ceres.team.models import Person
from tests.automations.test_after_hours import (
    SATURDAY_NIGHT,
    TUESDAY_MORNING,
    customer_writes,
)

pytestmark = pytest.mark.django_db


def test_the_rules_page_and_the_dry_run(
    client: Client,
    after_hours_rule: AutomationRule,
    cse: Person,
) -> None:
    customer_writes(client, SATURDAY_NIGHT, "Every host is offline!", n=1)
    customer_writes(client, TUESDAY_MORNING, "A question about labels", n=2)
    after = SATURDAY_NIGHT + datetime.timedelta(minutes=1)
    customer_writes(client, after, "Still down", n=3)
    sent_before = OutboxMessage.objects.count()
    client.force_login(cse.user)
    listing = client.get("/settings/automations/")
    assert listing.status_code == 200
    assert "after-hours-customer-slack" in listing.content.decode()
    page = client.get("/settings/automations/after-hours-customer-slack/")
    assert page.status_code == 200
    rows = page.context["dry_run"]
    # Newest first: the grouped follow-up (not a new conversation), Tuesday's (inside hours),
    # Saturday's (fired).
    assert [(r.would_fire, r.fired) for r in rows] == [(False, False), (False, False), (True, True)]
    reasons = [r.why_not for r in rows]
    assert reasons[0] == "not the conversation's first message"
    assert reasons[1] == "arrived inside support hours"
    assert page.context["would_fire"] == 1
    assert len(page.context["firings"]) == 1
    assert OutboxMessage.objects.count() == sent_before  # a dry run sends nothing
    text = page.content.decode()
    assert "Turn off" not in text  # a support engineer cannot switch rules


def test_turning_a_rule_off_and_on(
    client: Client,
    after_hours_rule: AutomationRule,
    cse: Person,
) -> None:
    client.force_login(cse.user)
    url = "/settings/automations/after-hours-customer-slack/enabled/"
    assert client.post(url, {"enabled": "off"}).status_code == 403
    client.force_login(Person.objects.get(email="ada@example.com").user)  # the VP
    assert client.post(url, {"enabled": "maybe"}).status_code == 422
    assert client.post(url, {"enabled": "off"}).status_code == 302
    after_hours_rule.refresh_from_db()
    assert after_hours_rule.enabled is False
    assert AuditEntry.objects.filter(action="automation.update").count() == 1
    customer_writes(client, SATURDAY_NIGHT, "Every host is offline!", n=5)
    assert not OutboxMessage.objects.filter(channel="slack").exists()
    assert client.get("/settings/automations/nope/").status_code == 404


def test_the_pages_need_the_inbox_permission(
    client: Client,
    after_hours_rule: AutomationRule,
    engineer: Person,
) -> None:
    client.force_login(engineer.user)
    assert client.get("/settings/automations/").status_code == 403
    assert client.get("/settings/automations/after-hours-customer-slack/").status_code == 403


EDITED = """name: after-hours-customer-slack
label: After-hours customer Slack
on: message_received
if: {author: not_team, outside_hours: support, channel_kind: customer}
then:
  - reply_in_thread: after-hours-notice
  - add_tag: after-hours
on_button:
  emergency:
    options: [P0, P1]
    then:
      - text: {role: vp-cs}
      - set_priority: from_button
"""


def test_the_editor_shows_the_rule_as_the_playbook_writes_it_and_saves_changes(
    client: Client, after_hours_rule: AutomationRule
) -> None:
    client.force_login(Person.objects.get(email="ada@example.com").user)
    page = client.get("/settings/automations/after-hours-customer-slack/edit/")
    text = page.context["text"]
    assert "on: message_received" in text
    assert "reply_in_thread: after-hours-notice" in text
    response = client.post(
        "/settings/automations/after-hours-customer-slack/edit/", {"text": EDITED}
    )
    assert response.status_code == 302, response.context and response.context["problems"]
    after_hours_rule.refresh_from_db()
    assert after_hours_rule.actions[-1] == {"add_tag": "after-hours"}
    assert "new_conversation" not in after_hours_rule.conditions
    assert AuditEntry.objects.filter(action="automation.update").count() == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: x\n  on: [", "line 2: invalid YAML"),
        ("- just a list", "a rule is a mapping"),
        (
            EDITED.replace("outside_hours: support", "outside_hours: mars"),
            "if.outside_hours: unknown calendar 'mars'",
        ),
        (EDITED.replace("on: message_received", "on: sunrise"), "on: unknown trigger 'sunrise'"),
        (EDITED.replace("then:\n  - reply", "than:\n  - reply"), "than"),
        (
            EDITED.replace("- add_tag: after-hours", "- page: Infrastructure On-call"),
            "the key of an escalation chain or an on-call rotation",
        ),
        (
            EDITED.replace("name: after-hours-customer-slack", "name: renamed"),
            "a rule keeps its name",
        ),
    ],
)
def test_a_rule_that_cannot_run_is_refused_with_the_key_at_fault(
    client: Client, after_hours_rule: AutomationRule, text: str, problem: str
) -> None:
    client.force_login(Person.objects.get(email="ada@example.com").user)
    before = AutomationRule.objects.get().actions
    response = client.post("/settings/automations/after-hours-customer-slack/edit/", {"text": text})
    assert response.status_code == 422
    assert any(problem in line for line in response.context["problems"]), response.context[
        "problems"
    ]
    assert AutomationRule.objects.get().actions == before


def test_creating_a_rule_in_the_editor(
    client: Client, after_hours_rule: AutomationRule, cse: Person
) -> None:
    client.force_login(cse.user)
    assert client.get("/settings/automations/new/").status_code == 403
    client.force_login(Person.objects.get(email="ada@example.com").user)
    example = client.get("/settings/automations/new/").context["text"]
    assert client.post("/settings/automations/new/", {"text": example}).status_code == 302
    created = AutomationRule.objects.get(key="tag-outages")
    assert created.position > after_hours_rule.position
    again = client.post("/settings/automations/new/", {"text": example})
    assert again.status_code == 409

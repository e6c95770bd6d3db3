"""Filing a bug report in headless Chromium (J3's steps 1 to 4 as a support engineer does them):
the form from a conversation, similar issues appearing as the title is typed, the required
fields and the firewall marked on their fields, the issue page with its labels and markdown
body, escalation, and the stand-up board.

Screenshots land in /tmp/ceres-shots/bug-*.png for a human to look at.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from ceres.accounts.models import Account
from ceres.conversations import services as conversation_services
from ceres.sla.models import SlaPolicy
from ceres.team.models import Person
from ceres.tracker import selectors, services
from ceres.tracker.models import TrackerIssue
from tests.browser.test_journey import SHOTS, log_in
from tests.tracker.conftest import FORM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"bug-{name}.png"), full_page=True)


def test_filing_and_escalating_a_bug_report_in_the_browser(
    live_server: object,
    browser: Browser,
    handbook_policies: dict[str, SlaPolicy],
    acme: Account,
    cse: Person,
) -> None:
    base = str(live_server)
    conversation = conversation_services.open_conversation(
        actor=None, source="slack", subject="Hosts offline", body="Help", account=acme
    )
    services.open_issue(
        actor=None,
        repository=selectors.repository("public"),
        title="Hosts page slow with many offline hosts",
        body="Loading takes 20 seconds.",
        kind=TrackerIssue.Kind.BUG,
        labels=["bug"],
    )
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, cse.user.username)

    page.goto(f"{base}/inbox/{conversation.pk}/")
    page.click("[data-action='file-bug']")
    expect(page.locator("h1")).to_contain_text("File a bug report")

    # Similar issues as the title is typed.
    page.fill("#id_title", "")
    page.type("#id_title", "hosts offline after the upgrade", delay=15)
    similar = page.locator("#similar .similar")
    expect(similar.first).to_contain_text("Hosts page slow with many offline hosts")
    expect(page.locator("#similar")).to_contain_text("Same issue: add Kamo`oalewa")

    # Filed with the required fields missing: each is marked; a real name is blocked.
    page.fill("#id_actual_behavior", "Acme Robotics loses a third of its hosts.")
    page.click("button:has-text('File bug report')")
    expect(page.locator("[data-field='agent_version'] .field-error")).to_have_text(
        "Required by the handbook."
    )
    expect(page.locator("[data-field='actual_behavior'] .field-error")).to_contain_text(
        "'Acme Robotics' at line 1, column 1"
    )
    shot(page, "refused")
    assert not TrackerIssue.objects.filter(bug_report__isnull=False).exists()

    for name in ("server_version", "agent_version", "operating_system", "web_browser"):
        page.fill(f"#id_{name}", FORM[name])
    page.select_option("#id_agent_kind", "fleetd")
    page.fill("#id_expected_behavior", FORM["expected_behavior"])
    page.fill("#id_actual_behavior", "Kamo`oalewa loses a third of its hosts.")
    page.fill("#id_reproduction_steps", FORM["reproduction_steps"])
    page.click("button:has-text('File bug report')")
    expect(page.locator(".flash")).to_contain_text("Filed public#2")
    expect(page.locator("#labels")).to_contain_text("customer-kamooalewa")
    expect(page.locator(".issue-body h3").first).to_have_text("Expected behavior")
    # The panels the page loads after it (they must not inherit the page's own refresh).
    expect(page.locator("#timebox")).to_contain_text("Investigation timebox")
    shot(page, "issue")

    page.click("[data-move='escalate']")
    expect(page.locator(".flash")).to_contain_text("Escalated")
    expect(page.locator("#labels")).to_contain_text("~investigate")
    page.click("nav >> text=Stand-up board")
    expect(page.locator("table.standup-table tbody tr")).to_have_count(1)
    # Day 1 of 2 on a business day; escalated on a weekend or a holiday, it starts on the next.
    expect(page.locator("table.standup-table")).to_contain_text(re.compile(r"day 1 of 2|starts"))
    page.click("button:has-text('Acknowledge')")
    expect(page.locator("table.standup-table")).to_contain_text("acknowledged")
    shot(page, "standup")
    assert errors == []

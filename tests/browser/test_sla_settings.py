"""SLA settings in headless Chromium: the VP changes the default policy's first response and
the support calendar's Friday hours, sees them in words, and a support engineer reads them
without edit controls.

Screenshots land in /tmp/ceres-shots/sla-*.png for a human to look at.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from ceres.sla.models import BusinessCalendar, SlaPolicy
from ceres.team.models import Person
from tests.browser.test_journey import SHOTS, log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"sla-{name}.png"), full_page=True)


def test_editing_a_policy_and_a_calendar_in_the_browser(
    live_server: object,
    browser: Browser,
    handbook_policies: dict[str, SlaPolicy],
    vp: Person,
    cse: Person,
) -> None:
    base = str(live_server)
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, vp.user.username)

    page.click("nav >> text=SLA settings")
    expect(page.locator("h1")).to_have_text("SLA settings")
    rows = page.locator("table.sla-policies tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(3)).to_contain_text("8h business on support")
    shot(page, "settings")

    # The default policy: 6 business hours instead of 8.
    rows.nth(3).locator("a.row-link").click()
    expect(page.locator("h1")).to_contain_text("default")
    page.fill("[name='first_response-0-within']", "6 hours")
    page.click("button:has-text('Save policy')")
    expect(page.locator("[data-field='first_response-0-within'] .field-error")).to_contain_text(
        "is not a duration"
    )
    page.fill("[name='first_response-0-within']", "6h")
    page.click("button:has-text('Save policy')")
    expect(page.locator(".flash")).to_contain_text("Policy default saved")
    expect(page.locator("tr[data-policy='default']")).to_contain_text("6h business on support")
    targets = SlaPolicy.objects.get(key="default").targets
    assert targets["first_response"][0]["within_seconds"] == 6 * 3600

    # The support calendar closes at 15:00 on Fridays; the week ahead says so.
    page.click("tr[data-calendar='support'] a.row-link")
    page.fill("[name='fri']", "09:00-15:00")
    page.click("button:has-text('Save calendar')")
    expect(page.locator(".flash")).to_contain_text("Calendar support saved")
    expect(page.locator(".week-ahead")).to_contain_text("09:00-15:00")
    assert BusinessCalendar.objects.get(key="support").spec["hours"]["fri"] == ["09:00-15:00"]
    shot(page, "calendar")

    # A support engineer reads the same pages, without edit controls.
    log_out(page)
    log_in(page, base, cse.user.username)
    page.goto(f"{base}/settings/sla/")
    expect(page.locator("tr[data-policy='default']")).to_contain_text("6h business on support")
    expect(page.locator("text=New policy")).to_have_count(0)
    page.goto(f"{base}/settings/sla/policies/default/")
    expect(page.locator("button:has-text('Save policy')")).to_have_count(0)
    assert re.search(r"/settings/sla/policies/default/$", page.url)
    assert errors == []

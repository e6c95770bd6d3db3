"""The alarms pages in headless Chromium: the person paged for an alarm finds it from the
sidebar, opens it, sees who was paged and the chain, acknowledges it (escalation stops), and
the list shows it acknowledged; someone not paged sees no Acknowledge button. Screenshots
land in /tmp/ceres-shots/."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from ceres.oncall import alarms, services
from ceres.oncall.models import Alarm, EscalationPolicy, EscalationStep
from ceres.team.models import Person
from tests.browser.test_journey import PASSWORD, shot
from tests.oncall.conftest import fire

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, person: Person) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", person.user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login/"))


def test_acknowledging_an_alarm_in_the_browser(
    live_server: object,
    browser: Browser,
    transactional_db: None,
    make_person: Callable[..., Person],
) -> None:
    ravi = make_person("engineer", name="Ravi Menon", email="ravi@example.com", username="ravi")
    jonas = make_person("engineer", name="Jonas Berg", email="jonas@example.com", username="jonas")
    schedule = services.save_schedule(actor=None, key="infrastructure-oncall", name="First")
    services.save_layer(
        actor=None,
        schedule=schedule,
        position=0,
        people=[ravi, jonas],
        shift_length_hours=168,
        start=timezone.now() - datetime.timedelta(days=3),
        timezone="America/Chicago",
    )
    policy = EscalationPolicy.objects.create(key="infrastructure-alarm", name="Infrastructure")
    EscalationStep.objects.create(
        policy=policy, position=0, schedule=schedule, via=["email"], wait_minutes=15
    )
    EscalationStep.objects.create(
        policy=policy, position=1, people=[ravi.pk, jonas.pk], via=["email"], wait_minutes=15
    )
    integration, _ = alarms.create_integration(actor=None, name="Prometheus", kind="generic")
    integration.escalation_policy = policy
    integration.save()
    alarm = fire(integration, timezone.now(), key="db-cpu")
    paged = alarm.pages.get().person
    other = jonas if paged == ravi else ravi
    view = Permission.objects.get(content_type__app_label="oncall", codename="view_alarm")
    for person in (paged, other):
        person.user.user_permissions.add(view)

    base = str(live_server)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    log_in(page, base, other)
    page.goto(f"{base}/oncall/alarms/{alarm.pk}/")
    expect(page.locator("h1")).to_have_text("db-cpu high")
    expect(page.locator("[data-ack]")).to_have_count(0)
    context.clear_cookies()

    log_in(page, base, paged)
    page.click("nav.sidebar a:has-text('Alarms')")
    expect(page).to_have_url(re.compile(r"/oncall/alarms/$"))
    row = page.locator(f"tr[data-alarm='{alarm.pk}']")
    expect(row).to_contain_text("unacknowledged")
    shot(page, "alarms-01-list")
    row.locator("a").first.click()
    expect(page.locator("tr[data-page]")).to_contain_text(paged.name)
    expect(page.locator("body")).to_contain_text("Escalation chain")
    shot(page, "alarms-02-alarm")
    page.click("[data-ack]")
    expect(page.locator("[data-status]")).to_contain_text("Acknowledged")
    expect(page.locator("[data-ack]")).to_have_count(0)
    shot(page, "alarms-03-acknowledged")
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.ACKNOWLEDGED
    assert alarm.acknowledged_by == paged
    assert alarm.next_escalation_at is None
    page.goto(f"{base}/oncall/alarms/?state=acknowledged")
    expect(page.locator(f"tr[data-alarm='{alarm.pk}']")).to_contain_text(paged.name)
    assert errors == []

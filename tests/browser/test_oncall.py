"""The On-call page in headless Chromium: the VP sees who is on call now and next, the next 14
days with the nights of a business-hours schedule marked as gaps, adds an override, is told
when a second one overlaps it (the message on the field), and removes it. Screenshots land in
/tmp/ceres-shots/."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from ceres.oncall import services
from ceres.oncall.models import ScheduleOverride
from ceres.sla import services as sla_services
from ceres.team.models import Person
from tests.browser.test_journey import log_in, shot
from tests.sla.conftest import SUPPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHICAGO = ZoneInfo("America/Chicago")


def test_oncall_page(
    live_server: object,
    browser: Browser,
    transactional_db: None,
    vp: Person,
    cse: Person,
    engineer: Person,
) -> None:
    vp.timezone = "America/Chicago"
    vp.save(update_fields=["timezone"])
    sla_services.save_calendar(actor=None, key="support", spec=SUPPORT)
    today = timezone.now().astimezone(CHICAGO).date()
    monday = today - datetime.timedelta(days=today.weekday(), weeks=2)
    start = datetime.datetime.combine(monday, datetime.time(9), tzinfo=CHICAGO)
    first = services.save_schedule(
        actor=None, key="infrastructure-oncall", name="Infrastructure first responder"
    )
    services.save_layer(
        actor=None,
        schedule=first,
        position=0,
        people=[engineer, vp],
        shift_length_hours=168,
        start=start,
        timezone="America/Chicago",
    )
    dev = services.save_schedule(actor=None, key="developer-on-call", name="Developer on-call")
    services.save_layer(
        actor=None,
        schedule=dev,
        position=0,
        people=[engineer, cse],
        shift_length_hours=168,
        start=start,
        timezone="America/Chicago",
        restriction="support",
    )

    base = str(live_server)
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "ada")
    page.click("nav.sidebar a:has-text('On-call')")
    expect(page).to_have_url(re.compile(r"/oncall/$"))
    expect(page.locator("h1")).to_have_text("On-call")
    card = page.locator("#schedule-developer-on-call")
    expect(card.locator("tr[data-gap]").first).to_be_visible()
    shot(page, "oncall-01-page")

    tomorrow = today + datetime.timedelta(days=1)
    form = page.locator("#schedule-infrastructure-oncall form.oncall-override-form")
    form.locator("select[name=person]").select_option(label="Lena Park")
    form.locator("input[name=start]").fill(f"{tomorrow}T09:00")
    form.locator("input[name=end]").fill(f"{tomorrow}T17:00")
    form.locator("input[name=reason]").fill("Covering a dentist appointment")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash-success, .toast").first).to_contain_text("Lena Park covers")
    expect(page.locator("#schedule-infrastructure-oncall [data-override]")).to_have_count(1)

    form = page.locator("#schedule-infrastructure-oncall form.oncall-override-form")
    form.locator("select[name=person]").select_option(label="Sam Engel")
    form.locator("input[name=start]").fill(f"{tomorrow}T12:00")
    form.locator("input[name=end]").fill(f"{tomorrow}T20:00")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-field=start] .field-error")).to_contain_text("overlaps Lena Park")
    shot(page, "oncall-02-overlap")
    assert ScheduleOverride.objects.count() == 1

    page.goto(f"{base}/oncall/")
    page.locator("#schedule-infrastructure-oncall [data-override] button").click()
    expect(page.locator("#schedule-infrastructure-oncall [data-override]")).to_have_count(0)
    assert not ScheduleOverride.objects.exists()
    assert errors == []

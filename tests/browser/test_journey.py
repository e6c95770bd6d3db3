"""The accounts journey in headless Chromium: a support engineer creates "Acme Robotics", works
its page (inline edit, contacts, DRI checklist) and finds it in the list; then an engineer
without `accounts.view_confidential` finds the real name nowhere: list, page, search, titles.

Screenshots of every page land in /tmp/ceres-shots/ for a human to look at.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ceres.accounts.models import Account, Product
from ceres.team.models import ApiToken, Person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(tempfile.gettempdir()) / "ceres-shots"
PASSWORD = "correct horse battery staple"
REAL_NAME = "Acme Robotics"


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/$"))


def log_out(page: Page) -> None:
    page.click("button.nav-button:has-text('Log out')")
    expect(page).to_have_url(re.compile(r"/login/$"))


def assert_no_real_name(page: Page) -> None:
    html = page.content()
    assert REAL_NAME.lower() not in html.lower(), page.url
    assert REAL_NAME.lower() not in page.title().lower(), page.url


def test_accounts_journey(
    live_server: object,
    browser: Browser,
    transactional_db: None,
    products: dict[str, Product],
    cse: Person,
    engineer: Person,
) -> None:
    base = str(live_server)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # --- the support engineer, who may see real names ---------------------------------
    page.goto(f"{base}/login/")
    expect(page).to_have_title("Log in · Ceres")
    shot(page, "01-login")
    log_in(page, base, "lena")
    shot(page, "02-accounts-empty")

    page.click("text=New account")
    expect(page).to_have_url(re.compile(r"/accounts/new/$"))
    page.fill("#id_legal_name", REAL_NAME)
    chip = page.locator("[data-fill='#id_codename']").first
    codename = chip.get_attribute("data-value") or ""
    assert codename
    chip.click()
    expect(page.locator("#id_codename")).to_have_value(codename)
    page.select_option("#id_product", "premium")
    page.fill("#id_host_count", "1200")
    page.fill("#id_slack_channel_id", "C0ACME")
    shot(page, "03-new-account")
    page.click("button:has-text('Create account')")

    account = Account.objects.get()
    assert account.codename.name == codename
    expect(page).to_have_url(re.compile(rf"/accounts/{account.pk}/$"))
    expect(page).to_have_title(f"{REAL_NAME} · Ceres")
    expect(page.locator("h1")).to_contain_text(REAL_NAME)
    expect(page.locator(".identity")).to_contain_text(codename)
    expect(page.locator(".identity")).to_contain_text(account.github_label)

    # Inline edit through htmx: no page load (the marker survives).
    page.evaluate("window.__stayed = true")
    page.click("#fields-card >> text=Edit")
    page.fill("#id_host_count", "4000")
    page.fill("#id_product_version", "4.61.0")
    page.click("#fields-card >> button:has-text('Save')")
    expect(page.locator("#fields-card")).to_contain_text("4000")
    expect(page.locator("#history")).to_contain_text("changed the account")
    assert page.evaluate("window.__stayed") is True

    # Contacts, then a DRI change and its checklist.
    for name, role in (("Wile Coyote", "dri"), ("Road Runner", "champion")):
        page.click("summary:has-text('Add contact')")
        page.fill("#contact_name", name)
        page.select_option("#contact_role", role)
        page.click("#people >> button:has-text('Add contact')")
        expect(page.locator("#contacts")).to_contain_text(name)
    page.click("tr:has-text('Road Runner') >> button:has-text('Make DRI')")
    expect(page.locator("#dri-checklist")).to_contain_text("0/8")
    page.locator("#dri-checklist input[type=checkbox]").nth(0).check()
    expect(page.locator("#dri-checklist")).to_contain_text("1/8")
    page.locator("#dri-checklist input[type=checkbox]").nth(4).check()
    expect(page.locator("#dri-checklist")).to_contain_text("2/8")
    expect(page.locator("#history")).to_contain_text("ticked a checklist step")
    assert page.evaluate("window.__stayed") is True
    shot(page, "04-account-page")

    # The list, and search-as-you-type that keeps the query in the address.
    page.click("nav >> text=Accounts")
    expect(page.locator("#account-results")).to_contain_text(REAL_NAME)
    page.evaluate("window.__stayed = true")
    page.fill("input[name=q]", "acme")
    expect(page).to_have_url(re.compile(r"\?q=acme$"))
    expect(page.locator("#account-results")).to_contain_text(codename)
    page.fill("input[name=q]", "zzzz-nothing")
    expect(page.locator("#account-results")).to_contain_text("No accounts match")
    page.fill("input[name=q]", "")
    expect(page.locator("#account-results")).to_contain_text(REAL_NAME)
    assert page.evaluate("window.__stayed") is True
    shot(page, "05-accounts-list")
    page.click(f"a.row-link:has-text('{REAL_NAME}')")
    expect(page).to_have_title(f"{REAL_NAME} · Ceres")

    # The team and my tokens.
    page.click("nav >> text=Team")
    expect(page.locator("#team-results")).to_contain_text("Lena Park")
    shot(page, "06-team")
    page.click("#team-results >> a:has-text('Lena Park')")
    expect(page).to_have_title("Lena Park · Ceres")
    shot(page, "07-person")
    page.click("nav >> text=My API tokens")
    page.fill("#id_name", "laptop scripts")
    page.click("button:has-text('Create token')")
    expect(page.locator("#new-token")).to_contain_text("ceres_")
    shot(page, "08-tokens")
    assert ApiToken.objects.filter(user=cse.user, name="laptop scripts").exists()
    log_out(page)

    # --- the engineer, who may not -------------------------------------------------------
    log_in(page, base, "sam")
    expect(page.locator("#account-results")).to_contain_text(codename)
    assert_no_real_name(page)
    shot(page, "09-engineer-list")
    page.fill("input[name=q]", "Acme")
    expect(page).to_have_url(re.compile(r"\?q=Acme$"))
    expect(page.locator("#account-results")).to_contain_text("No accounts match")
    html = page.locator("#account-results").inner_html()
    assert "acme robotics" not in html.lower()
    page.goto(f"{base}/accounts/?q=Acme")
    expect(page.locator("#account-results")).to_contain_text("No accounts match")
    assert "acme robotics" not in page.locator("#account-results").inner_html().lower()
    shot(page, "10-engineer-search")
    page.goto(f"{base}/accounts/{account.pk}/")
    expect(page).to_have_title(f"{codename} · Ceres")
    expect(page.locator("h1")).to_contain_text(codename)
    expect(page.locator("#history")).to_contain_text("created the account")
    assert_no_real_name(page)
    assert "Wile Coyote" not in page.content()
    shot(page, "11-engineer-account")
    page.goto(f"{base}/accounts/new/")
    expect(page.locator("h1")).to_contain_text("can't do that")
    shot(page, "12-engineer-403")
    page.goto(f"{base}/accounts/987654/")
    expect(page.locator("h1")).to_contain_text("Nothing here")
    assert errors == []
    context.close()

"""The inbox journey in headless Chromium: a support engineer opens the inbox, sees the SLA
countdowns, moves with the keyboard (j, Enter, a, /, ?), answers a job application with the
saved reply and closes it with the reply as the closure note; then a colleague without
`accounts.view_confidential` works the same inbox by codename.

Screenshots land in /tmp/ceres-shots/inbox-*.png for a human to look at.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from ceres.accounts.models import Account
from ceres.conversations import services
from ceres.conversations.models import Conversation, Message
from ceres.sla import services as sla_services
from ceres.sla.engine import refresh_next_due
from ceres.team.models import Person
from tests.browser.test_journey import SHOTS, log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOUR = 3600


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"inbox-{name}.png"), full_page=True)


def the_handbook_slas() -> None:
    sla_services.save_calendar(
        actor=None,
        key="support",
        spec={
            "timezone": "America/Chicago",
            "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        },
    )
    sla_services.save_policy(
        actor=None,
        key="job-application",
        position=10,
        match={"source": ["contact_form"], "category": ["job-application"]},
        targets={
            "first_response": [
                {"within_seconds": 4 * HOUR, "clock": "business", "calendar": "support"}
            ]
        },
    )
    sla_services.save_policy(
        actor=None,
        key="default",
        position=90,
        match={},
        targets={"first_response": [{"within_seconds": 24 * HOUR}]},
    )
    sla_services.save_policy(
        actor=None,
        key="premium",
        position=20,
        match={"tier": ["premium"]},
        targets={
            "first_response": [{"within_seconds": HOUR}],
            "resolution": [{"within_seconds": 72 * HOUR}],
        },
    )


def a_busy_inbox(acme: Account, vp: Person) -> Conversation:
    """A job application (the nearest deadline) and some of the rest of a support day."""
    the_handbook_slas()
    services.save_saved_reply(
        actor=None,
        key="applying-for-open-position",
        name="Applying for open position",
        subject="Your application for {{position_title}}",
        body=(
            "Hi {{requester_name}},\n\nThank you for applying for the {{position_title}} role. "
            "Our Interim Head of People will review your application and get back to you."
        ),
        category="job-application",
    )
    application = services.open_conversation(
        actor=None,
        source="contact_form",
        category="job-application",
        subject="Applying for an open position: Solutions Architect",
        body="Hello! I would love to join the team as a Solutions Architect.",
        requester_name="Jo Applicant",
        requester_email="jo@applicant.example",
        fields={"position_title": "Solutions Architect"},
    )
    assert application.next_due_at is not None
    due = application.next_due_at
    # Deadlines placed after the application's, whatever the hour the test runs at: every
    # clock of a conversation moves by the same amount, as a later arrival would.
    rest = [
        ("slack", acme, "Hosts stopped checking in after the 4.61 upgrade", "P1", 50, None),
        ("email", None, "Which osquery table lists USB devices?", "P3", 190, None),
        ("slack", acme, "SSO login loops back to the sign-in page", "P2", 26 * 60, vp),
        ("api", None, "Webhook retries: what is the backoff?", "P3", 0, None),
    ]
    for source, account, subject, priority, minutes_after, assignee in rest:
        conversation = services.open_conversation(
            actor=None,
            source=source,
            subject=subject,
            body=f"{subject}\n\nThanks, Wile Coyote",
            account=account,
            requester_name="Wile Coyote" if account else "Casey Community",
            requester_email="wile@acme-robotics.example" if account else "casey@example.org",
            priority=priority,
        )
        if assignee:
            services.update_conversation(actor=None, conversation=conversation, assignee=assignee)
            services.set_tags(actor=None, conversation=conversation, names=["sso"])
        assert conversation.next_due_at is not None
        shift = due + datetime.timedelta(minutes=minutes_after) - conversation.next_due_at
        conversation.sla_clocks.update(due_at=F("due_at") + shift, warn_at=F("warn_at") + shift)
        refresh_next_due(conversation)
        if not minutes_after:  # waiting on the customer: its clock pauses, no deadline shows
            services.update_conversation(
                actor=None, conversation=conversation, status="waiting_on_customer"
            )
    return application


def test_inbox_journey(
    live_server: object,
    browser: Browser,
    transactional_db: None,
    acme: Account,
    cse: Person,
    vp: Person,
    make_person: Callable[..., Person],
) -> None:
    application = a_busy_inbox(acme, vp)
    make_person(
        "cse",
        name="Nia Novak",
        email="nia@example.com",
        username="nia",
        password="correct horse battery staple",
        withheld_permissions=["accounts.view_confidential"],
    )
    base = str(live_server)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # --- the inbox: queues, countdowns, the keyboard -------------------------------------
    log_in(page, base, "lena")
    page.click("nav >> text=Inbox")
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    expect(page).to_have_title("Inbox · Ceres")
    rows = page.locator(".inbox-row")
    expect(rows).to_have_count(5)
    first = rows.nth(0)
    expect(first).to_have_attribute("data-id", str(application.pk))
    expect(first.locator(".countdown")).to_have_text(re.compile(r"^(due in \d|overdue \d)"))
    expect(page.locator("[data-queue=all_open] .count")).to_have_text("5")
    expect(page.locator("[data-queue=breaching_soon]")).to_be_visible()
    # The countdown ticks in the browser: a deadline 90 seconds away reads in seconds soon.
    page.evaluate(
        "document.querySelector('.inbox-row .countdown')"
        ".setAttribute('data-due', new Date(Date.now() + 30500).toISOString())"
    )
    expect(first.locator(".countdown")).to_have_text(re.compile(r"^due in (30|29|28)s$"))
    page.reload()
    shot(page, "01-list")

    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    shot(page, "02-shortcuts")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()

    # "/" searches as you type; the queue and the address follow.
    page.keyboard.press("/")
    expect(page.locator("input[name=q]")).to_be_focused()
    page.keyboard.type("kamoo")
    expect(page).to_have_url(re.compile(r"\?q=kamoo$"))
    expect(rows).to_have_count(2)
    page.keyboard.press("Escape")
    expect(page.locator("input[name=q]")).not_to_be_focused()
    expect(page.locator("input[name=q]")).to_have_value("kamoo")
    page.click("[data-queue=mine]")
    expect(page).to_have_url(re.compile(r"\?q=kamoo&queue=mine$"))
    expect(page.locator(".empty-row")).to_contain_text("No conversations match these filters")
    page.click("[data-queue=all_open]")
    expect(rows).to_have_count(2)
    page.fill("input[name=q]", "")
    expect(rows).to_have_count(5)
    page.keyboard.press("Escape")  # leave the search box: the keys move the selection again

    # "a" assigns the selected conversation to me.
    page.keyboard.press("j")
    page.keyboard.press("j")
    second = rows.nth(1)
    expect(second).to_have_class(re.compile(r"selected"))
    page.keyboard.press("a")
    expect(page.locator(".toast")).to_contain_text("assigned to you")
    expect(second).to_contain_text("Lena Park")
    expect(page.locator("[data-queue=mine] .count")).to_have_text("1")

    # j then Enter opens the first conversation, the job application.
    page.keyboard.press("k")
    expect(first).to_have_class(re.compile(r"selected"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/inbox/{application.pk}/$"))
    expect(page.locator("h1")).to_contain_text("Solutions Architect")
    expect(page.locator("#sla-card")).to_contain_text("First response")
    expect(page.locator("#sla-card .badge-clock-running")).to_be_visible()

    # --- the reply: the saved reply with its variable filled from the form ---------------
    page.evaluate("window.__stayed = true")
    page.select_option("select[name=saved_reply]", "applying-for-open-position")
    expect(page.locator("#reply_body")).to_have_value(
        re.compile(r"Hi Jo Applicant,.*Solutions Architect role", re.S)
    )
    expect(page.locator(".reply-subject")).to_contain_text(
        "Your application for Solutions Architect"
    )
    page.fill("#reply_cc", "people@example.com")
    shot(page, "03-saved-reply")
    page.click("button:has-text('Send reply')")
    expect(page.locator("#thread .msg-reply")).to_contain_text("Solutions Architect role")
    expect(page.locator("#sla-card .badge-clock-met")).to_be_visible()
    expect(page.locator("#reply_body")).to_have_value("")

    # An internal note, styled apart.
    page.click("label.segment-note")
    page.fill("#reply_body", "Forwarded to the Interim Head of People.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#thread .msg-note")).to_contain_text("Interim Head of People")
    expect(page.locator("#thread .msg-note .badge-note")).to_have_text("Internal note")
    assert page.evaluate("window.__stayed") is True

    # --- close: a note is required; the last reply serves as one --------------------------
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("e")
    expect(page.locator("#close")).to_have_attribute("open", "")
    page.click("button:has-text('Close conversation')")
    expect(page.locator("#controls")).to_contain_text("closing needs a closure note")
    page.check("input[name=use_last_reply]")
    shot(page, "04-close")
    page.click("button:has-text('Close conversation')")
    expect(page.locator("h1 .badge-status-closed")).to_be_visible()
    expect(page.locator(".closure")).to_contain_text("Solutions Architect role")
    expect(page.locator("#history")).to_contain_text("changed the conversation")
    application.refresh_from_db()
    assert application.status == "closed"
    assert "Solutions Architect role" in application.closure_note
    assert application.messages.filter(kind=Message.Kind.REPLY).count() == 1
    shot(page, "05-closed")

    # --- back in the inbox: the account's status page ----------------------------------
    page.keyboard.press("u")
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    expect(rows).to_have_count(4)
    overdue = services.open_conversation(
        actor=None,
        source="slack",
        subject="Fleet server returns 502 for every agent",
        body="Everything is down.",
        account=acme,
        requester_name="Wile Coyote",
        priority="P0",
    )
    Conversation.objects.filter(pk=overdue.pk).update(
        next_due_at=timezone.now() - datetime.timedelta(minutes=12)
    )
    overdue.sla_clocks.update(due_at=timezone.now() - datetime.timedelta(minutes=12))
    page.reload()
    expect(rows.nth(0).locator(".countdown")).to_have_text(re.compile(r"^overdue 1[23]m$"))
    expect(rows.nth(0).locator(".countdown")).to_have_class(re.compile(r"overdue"))
    shot(page, "06-list-overdue")
    page.goto(f"{base}/accounts/{acme.pk}/")
    expect(page.locator("#account-conversations")).to_contain_text("Fleet server returns 502")
    shot(page, "07-account-card")
    page.click("#account-conversations >> text=Status page")
    expect(page).to_have_url(re.compile(rf"/accounts/{acme.pk}/status/$"))
    expect(page.locator(".status-table")).to_contain_text("overdue")
    expect(page.locator(".status-table .badge-clock-breached").first).to_be_visible()
    shot(page, "08-status")
    log_out(page)

    # --- a colleague without the confidential permission ---------------------------------
    log_in(page, base, "nia")
    page.goto(f"{base}/inbox/")
    expect(rows).to_have_count(5)
    html = page.content()
    for secret in ("Acme Robotics", "Wile Coyote", "wile@acme-robotics.example"):
        assert secret.lower() not in html.lower()
    shot(page, "09-codenames-only")
    page.click("a.row-link:has-text('Fleet server returns 502')")
    expect(page.locator("h1")).to_contain_text("Fleet server returns 502")
    html = page.content()
    for secret in ("Acme Robotics", "Wile Coyote", "wile@acme-robotics.example"):
        assert secret.lower() not in html.lower()
    expect(page.locator(".identity")).to_contain_text(acme.codename.name)
    shot(page, "10-codenames-only-conversation")
    page.emulate_media(color_scheme="dark")
    page.goto(f"{base}/inbox/")
    shot(page, "11-dark")
    assert errors == []
    context.close()

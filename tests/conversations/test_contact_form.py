"""The public contact form (issue 3, "The contact form") and the answer to a job application
(JOURNEYS J2), through the HTTP client and the services."""

from __future__ import annotations

import datetime
import threading
import zoneinfo
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import override_settings

from ceres.conversations import contact_form, services
from ceres.conversations.models import ContactFormCounter, Conversation, Message, SavedReply
from ceres.conversations.public_views import client_ip
from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Conflict, Invalid
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import deliver_message
from ceres.sla import services as sla_services
from ceres.sla.models import SlaClock
from ceres.team import services as team_services
from ceres.team.models import Person, Role
from tests.accounts.test_api import bearer, post

URL = "/contact/"
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
HOUR = 3600


def form(**overrides: str) -> dict[str, str]:
    values = {
        "category": "support",
        "name": "Jo Customer",
        "email": "jo@customer.example",
        "message": "Our hosts stopped reporting.\nSince this morning.",
        "position_title": "",
        "homepage": "",
    }
    values.update(overrides)
    return values


def application(**overrides: str) -> dict[str, str]:
    values = form(
        category="job-application",
        name="Jo Applicant",
        email="jo@applicant.example",
        message="I would like to apply; my CV is at https://jo.example/cv.",
        position_title="Solutions Architect",
    )
    values.update(overrides)
    return values


def nothing_written() -> bool:
    return not (
        Conversation.objects.exists()
        or Message.objects.exists()
        or ContactFormCounter.objects.exists()
        or OutboxMessage.objects.exists()
        or AuditEntry.objects.filter(action__startswith="conversation.").exists()
    )


# --- the page --------------------------------------------------------------------------------


def test_the_page_is_public_and_standalone(client: Client, db: None) -> None:
    r = client.get(URL)
    assert r.status_code == 200
    html = r.content.decode()
    for label in (
        "Support question",
        "Sales / pricing",
        "Applying for an open position",
        "Other",
    ):
        assert label in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="homepage"' in html
    assert 'tabindex="-1"' in html
    assert 'class="sidebar"' not in html  # not the staff layout
    # A link can preselect a topic; an unknown one is ignored.
    assert 'value="job-application" checked' in client.get(f"{URL}?category=job-application").text
    assert " checked" not in client.get(f"{URL}?category=bogus").text


def test_a_support_question_becomes_a_conversation(client: Client, db: None) -> None:
    r = client.post(URL, form(), REMOTE_ADDR="203.0.113.7")
    assert r.status_code == 302
    assert r["Location"] == "/contact/thanks/?topic=support"
    conversation = Conversation.objects.get()
    assert conversation.source == Conversation.Source.CONTACT_FORM
    assert conversation.category == "support"
    assert (conversation.requester_name, conversation.requester_email) == (
        "Jo Customer",
        "jo@customer.example",
    )
    assert conversation.subject == "Our hosts stopped reporting."
    assert conversation.fields == {}
    assert conversation.account is None
    [message] = conversation.messages.all()
    assert message.kind == Message.Kind.INBOUND
    assert message.body == "Our hosts stopped reporting.\nSince this morning."
    thanks = client.get(r["Location"])
    assert thanks.status_code == 200
    assert "We have your message" in thanks.text


def test_a_job_application_records_the_position(client: Client, db: None) -> None:
    r = client.post(URL, application())
    assert r.status_code == 302
    conversation = Conversation.objects.get()
    assert conversation.category == "job-application"
    assert conversation.subject == "Application: Solutions Architect"
    assert conversation.fields == {"position_title": "Solutions Architect"}
    assert "We have your application" in client.get(r["Location"]).text


def test_a_position_title_is_dropped_for_other_topics(client: Client, db: None) -> None:
    client.post(URL, form(position_title="left over"))
    assert Conversation.objects.get().fields == {}


def test_a_job_application_needs_a_position_title(client: Client, db: None) -> None:
    for missing in ("", "   "):
        r = client.post(URL, application(position_title=missing))
        assert r.status_code == 400
        html = r.content.decode()
        assert 'id="position_title-error"' in html
        assert "title of the position you are applying for" in html
        assert "I would like to apply" in html  # what was typed is kept
    assert nothing_written()


def test_missing_fields_are_each_named(client: Client, db: None) -> None:
    r = client.post(URL, {"homepage": ""})
    assert r.status_code == 400
    html = r.content.decode()
    for field in ("category", "name", "email", "message"):
        assert f'id="{field}-error"' in html, field
    assert "4 things to fix" in html
    assert nothing_written()


def test_an_unknown_category_is_refused(client: Client, db: None) -> None:
    r = client.post(URL, form(category="billing"))
    assert r.status_code == 400
    assert 'id="category-error"' in r.text
    assert nothing_written()


@pytest.mark.parametrize("address", ["not-an-address", "jo@", "jo@example..com", "a\n@b.example"])
def test_a_bad_email_is_refused(client: Client, db: None, address: str) -> None:
    r = client.post(URL, form(email=address))
    assert r.status_code == 400
    assert 'id="email-error"' in r.text
    assert "not an e-mail address" in r.text
    assert nothing_written()


def test_an_oversize_message_is_refused(client: Client, db: None) -> None:
    r = client.post(URL, form(message="a" * (services.MAX_BODY + 1)))
    assert r.status_code == 400
    assert 'id="message-error"' in r.text
    assert f"the limit is {services.MAX_BODY:,}" in r.text
    assert nothing_written()
    # The limit itself is accepted.
    assert client.post(URL, form(message="a" * services.MAX_BODY)).status_code == 302


def test_csrf_is_enforced(db: None) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(URL, form()).status_code == 403
    assert nothing_written()
    token = strict.get(URL).cookies["csrftoken"].value
    assert strict.post(URL, {**form(), "csrfmiddlewaretoken": token}).status_code == 302


# --- spam defences ---------------------------------------------------------------------------


def test_a_filled_honeypot_is_rejected(client: Client, db: None) -> None:
    r = client.post(URL, form(homepage="http://cheap-pills.example"))
    assert r.status_code == 400
    assert "looked automated" in r.text
    assert nothing_written()


def test_the_rate_limit_counts_per_address(client: Client, db: None) -> None:
    for n in range(5):
        r = client.post(URL, form(message=f"message {n}"), REMOTE_ADDR="198.51.100.1")
        assert r.status_code == 302, n
    r = client.post(URL, form(message="the sixth"), REMOTE_ADDR="198.51.100.99")
    assert r.status_code == 429  # same e-mail address, another IP
    assert "try again in 60 minutes" in r.text
    assert 3590 <= int(r["Retry-After"]) <= 3600
    assert "the sixth" in r.text  # the visitor keeps what they wrote
    assert Conversation.objects.count() == 5
    # Another address from another IP is not affected...
    other = form(email="someone.else@example.org")
    assert client.post(URL, other, REMOTE_ADDR="198.51.100.2").status_code == 302
    # ...but the same IP is, whatever the address.
    r = client.post(URL, form(email="third@example.org"), REMOTE_ADDR="198.51.100.1")
    assert r.status_code == 429
    assert Conversation.objects.count() == 6
    # A refused post does not count: after the hour, the sender starts again.
    assert ContactFormCounter.objects.filter(count__gt=5).count() == 0
    an_hour_ago = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(hours=1)
    ContactFormCounter.objects.update(window_start=an_hour_ago)
    assert client.post(URL, form(), REMOTE_ADDR="198.51.100.1").status_code == 302
    assert contact_form.forget_old_counters() == 2  # the other sender: e-mail and IP


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_are_counted_once_each() -> None:
    """Eight posts at once from one sender (as from several web workers): exactly five pass."""
    barrier = threading.Barrier(8)

    def submit(n: int) -> str:
        try:
            barrier.wait()
            contact_form.submit_contact_form(
                category="support",
                name="Burst",
                email="burst@example.org",
                message=f"burst {n}",
                client_ip=f"198.51.100.{n}",
            )
            return "sent"
        except contact_form.RateLimited:
            return "limited"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(submit, range(8)))
    assert outcomes == ["limited"] * 3 + ["sent"] * 5
    assert Conversation.objects.count() == 5
    assert ContactFormCounter.objects.get(key__startswith="email:").count == 5


@override_settings(CERES_CONTACT_RATE_LIMIT=2, CERES_CONTACT_RATE_LIMIT_PER_IP=0)
def test_the_limits_are_configurable(client: Client, db: None) -> None:
    statuses = [client.post(URL, form()).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    # The per-IP limit is off: other addresses from the same IP go through.
    for n in range(4):
        assert client.post(URL, form(email=f"p{n}@example.org")).status_code == 302


def test_the_counters_hold_no_address_in_clear(client: Client, db: None) -> None:
    client.post(URL, form(), REMOTE_ADDR="198.51.100.1")
    keys = " ".join(ContactFormCounter.objects.values_list("key", flat=True))
    assert "jo@customer.example" not in keys
    assert "198.51.100.1" not in keys
    assert keys.startswith("email:")


def test_ipv6_senders_are_counted_by_their_64(db: None) -> None:
    assert contact_form.sender_network("2001:db8:1:2::5") == "2001:db8:1:2::/64"
    assert contact_form.sender_network("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert contact_form.sender_network("::ffff:198.51.100.1") == "198.51.100.1"
    assert contact_form.sender_network("garbage") == ""


def test_the_client_address_behind_trusted_proxies() -> None:
    rf = RequestFactory()
    forwarded: dict[str, Any] = {
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7",
    }
    assert client_ip(rf.post(URL, **forwarded)) == "10.0.0.2"  # no proxy trusted: REMOTE_ADDR
    with override_settings(CERES_CONTACT_TRUSTED_PROXIES=1):
        assert client_ip(rf.post(URL, **forwarded)) == "198.51.100.7"
        assert client_ip(rf.post(URL, REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
        bogus = {**forwarded, "HTTP_X_FORWARDED_FOR": "not-an-ip"}
        assert client_ip(rf.post(URL, **bogus)) == "10.0.0.2"
    with override_settings(CERES_CONTACT_TRUSTED_PROXIES=2):
        assert client_ip(rf.post(URL, **forwarded)) == "6.6.6.6"


# --- answering a job application (JOURNEYS J2) -----------------------------------------------


@pytest.fixture
def head_of_people(make_person: Callable[..., Person], roles: dict[str, Role]) -> Person:
    team_services.save_role(
        actor=None, key="head-of-people", name="Interim Head of People", permission_names=[]
    )
    return make_person("head-of-people", name="Maya Rivera", email="maya@example.com")


@pytest.fixture
def job_policy(db: None) -> None:
    """The handbook's rule, as the demo playbook states it: 4 business hours, US holidays."""
    sla_services.save_calendar(
        actor=None,
        key="support",
        spec={
            "timezone": "America/Chicago",
            "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": {"country": "US"},
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


def test_journey_j2_the_job_application(
    job_policy: None, position_reply: SavedReply, head_of_people: Person, cse: Person
) -> None:
    # 1. Friday 2026-05-22 15:00 in Chicago, someone applies for "Solutions Architect".
    received = datetime.datetime(2026, 5, 22, 15, 0, tzinfo=CHICAGO)
    conversation = contact_form.submit_contact_form(
        **{k: v for k, v in application().items() if k != "homepage"},
        client_ip="203.0.113.9",
        received_at=received,
    )
    # 2. Due Tuesday 11:00: Friday 15-17 is two hours, Monday is Memorial Day, then 9-11.
    clock = SlaClock.objects.get(conversation=conversation, target="first_response")
    due = datetime.datetime.fromisoformat("2026-05-26T11:00:00-05:00")
    assert clock.due_at == due
    conversation.refresh_from_db()
    assert conversation.next_due_at == due

    # 3. The engineer sends the saved reply with the Head of People in CC, and it closes.
    message = contact_form.reply_to_job_application(actor=cse.user, conversation=conversation)
    assert message.kind == Message.Kind.REPLY
    assert message.author == cse
    [outgoing] = OutboxMessage.objects.all()
    assert outgoing.channel == "email"
    assert outgoing.payload["to"] == ["jo@applicant.example"]
    assert outgoing.payload["cc"] == ["maya@example.com"]
    assert outgoing.payload["subject"] == "Your application for Solutions Architect"
    expected_body = "Hi Jo Applicant, thanks for applying for the Solutions Architect role."
    assert outgoing.payload["body"] == expected_body
    assert conversation.status == Conversation.Status.CLOSED  # the caller's object is fresh
    assert conversation.closed_at is not None
    assert expected_body in conversation.closure_note
    clock.refresh_from_db()
    assert clock.stopped_at is not None

    # The e-mail, through the real delivery function and Django's locmem backend.
    assert deliver_message(message_id=outgoing.pk) == OutboxMessage.Status.SENT
    [sent] = mail.outbox
    assert sent.to == ["jo@applicant.example"]
    assert sent.cc == ["maya@example.com"]
    assert sent.subject == "Your application for Solutions Architect"
    assert sent.body == expected_body
    assert sent.reply_to == ["lena@example.com"]
    # A second delivery task for the same row sends nothing.
    assert deliver_message(message_id=outgoing.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_only_active_people_of_the_configured_role_are_copied(
    job_application: Conversation,
    position_reply: SavedReply,
    head_of_people: Person,
    make_person: Callable[..., Person],
    cse: Person,
) -> None:
    make_person("head-of-people", name="Former", email="former@example.com")
    Person.objects.filter(email="former@example.com").update(is_active=False)
    make_person("vp-cs", name="Vee", email="vee@example.com")
    contact_form.reply_to_job_application(actor=cse.user, conversation=job_application)
    assert OutboxMessage.objects.get().payload["cc"] == ["maya@example.com"]


def test_without_a_head_of_people_nothing_is_sent(
    job_application: Conversation, position_reply: SavedReply, cse: Person
) -> None:
    with pytest.raises(Invalid) as exc:
        contact_form.reply_to_job_application(actor=cse.user, conversation=job_application)
    assert exc.value.field == "cc"
    assert "head-of-people" in exc.value.message
    assert "CERES_JOB_APPLICATION_CC_ROLE" in exc.value.message
    assert not OutboxMessage.objects.exists()
    assert not job_application.messages.filter(kind=Message.Kind.REPLY).exists()
    job_application.refresh_from_db()
    assert job_application.status == Conversation.Status.OPEN


def test_the_cc_role_is_configurable(
    job_application: Conversation,
    position_reply: SavedReply,
    vp: Person,
    cse: Person,
) -> None:
    with override_settings(CERES_JOB_APPLICATION_CC_ROLE="vp-cs"):
        contact_form.reply_to_job_application(actor=cse.user, conversation=job_application)
    assert OutboxMessage.objects.get().payload["cc"] == ["ada@example.com"]


def test_without_the_saved_reply_nothing_is_sent(
    job_application: Conversation, head_of_people: Person, cse: Person
) -> None:
    with pytest.raises(Invalid) as exc:
        contact_form.reply_to_job_application(actor=cse.user, conversation=job_application)
    assert exc.value.field == "saved_reply"
    assert "applying-for-open-position" in exc.value.message
    assert not OutboxMessage.objects.exists()


def test_a_missing_position_title_is_named(
    position_reply: SavedReply, head_of_people: Person, cse: Person
) -> None:
    conversation = services.open_conversation(
        actor=None,
        source="email",
        category="job-application",
        subject="Job",
        body="Hiring?",
        requester_email="x@applicant.example",
        requester_name="X",
    )
    with pytest.raises(Invalid) as exc:
        contact_form.reply_to_job_application(actor=cse.user, conversation=conversation)
    assert exc.value.field == "position_title"
    assert not OutboxMessage.objects.exists()
    contact_form.reply_to_job_application(
        actor=cse.user, conversation=conversation, variables={"position_title": "Engineer"}
    )
    assert OutboxMessage.objects.get().payload["subject"] == "Your application for Engineer"


def test_only_open_job_applications_get_the_reply(
    job_application: Conversation,
    acme_thread: Conversation,
    position_reply: SavedReply,
    head_of_people: Person,
    cse: Person,
) -> None:
    with pytest.raises(Invalid) as exc:
        contact_form.reply_to_job_application(actor=cse.user, conversation=acme_thread)
    assert exc.value.field == "category"
    contact_form.reply_to_job_application(actor=cse.user, conversation=job_application)
    with pytest.raises(Conflict) as conflict:  # a second click sends nothing more
        contact_form.reply_to_job_application(actor=cse.user, conversation=job_application)
    assert conflict.value.field == "status"
    assert OutboxMessage.objects.count() == 1


def test_the_job_application_reply_api(
    client: Client,
    job_application: Conversation,
    position_reply: SavedReply,
    head_of_people: Person,
    cse: Person,
    engineer: Person,
) -> None:
    url = f"/api/v1/conversations/{job_application.pk}/job-application-reply"
    r = post(client, url, {}, **bearer(engineer))
    assert r.status_code == 403
    assert not OutboxMessage.objects.exists()
    r = post(client, url, {}, **bearer(cse))
    assert r.status_code == 200, r.content
    body: dict[str, Any] = r.json()
    assert body["status"] == "closed"
    assert "Solutions Architect role" in body["closure_note"]
    assert [m["kind"] for m in body["messages"]] == ["inbound", "reply"]
    assert OutboxMessage.objects.get().payload["cc"] == ["maya@example.com"]
    again = post(client, url, {}, **bearer(cse))
    assert again.status_code == 409
    assert again.json()["field"] == "status"
    missing = post(client, "/api/v1/conversations/999999/job-application-reply", {}, **bearer(cse))
    assert missing.status_code == 404

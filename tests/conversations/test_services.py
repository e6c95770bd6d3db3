from __future__ import annotations

import datetime

import pytest

from ceres.conversations import services
from ceres.conversations.models import Conversation, Message, SavedReply
from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Conflict, Invalid
from ceres.core.outbox.models import OutboxMessage
from ceres.team.models import Person


def test_open_records_the_first_message_and_audits(job_application: Conversation) -> None:
    [message] = job_application.messages.all()
    assert message.kind == Message.Kind.INBOUND
    assert message.author_name == "Jo Applicant"
    assert job_application.status == Conversation.Status.OPEN
    assert AuditEntry.objects.filter(action="conversation.open").count() == 1


def test_received_time_without_offset_is_refused(db: None) -> None:
    with pytest.raises(Invalid) as exc:
        services.open_conversation(
            actor=None,
            source="api",
            subject="x",
            body="y",
            received_at=datetime.datetime(2026, 5, 22, 15, 0),  # naive: the bad input
        )
    assert exc.value.field == "received_at"
    assert "offset" in exc.value.message
    assert not Conversation.objects.exists()


def test_oversize_body_is_refused(db: None) -> None:
    with pytest.raises(Invalid) as exc:
        services.open_conversation(
            actor=None, source="api", subject="x", body="a" * (services.MAX_BODY + 1)
        )
    assert exc.value.field == "body"
    assert not Conversation.objects.exists()


def test_email_sources_need_an_address(db: None) -> None:
    with pytest.raises(Invalid) as exc:
        services.open_conversation(actor=None, source="contact_form", subject="x", body="y")
    assert exc.value.field == "requester_email"


def test_reply_by_email_goes_through_the_outbox_once(
    job_application: Conversation, lena: Person
) -> None:
    message = services.reply(
        actor=lena.user, conversation=job_application, body="Thanks!", cc=["people@example.com"]
    )
    job_application.refresh_from_db()
    assert job_application.first_responded_at == message.created_at
    [outgoing] = OutboxMessage.objects.all()
    assert outgoing.channel == "email"
    assert outgoing.payload["to"] == ["jo@applicant.example"]
    assert outgoing.payload["cc"] == ["people@example.com"]
    assert outgoing.payload["reply_to"] == [lena.email]
    assert outgoing.idempotency_key == f"conversation-{job_application.pk}-message-{message.pk}"


def test_automatic_replies_and_notes_do_not_count_as_a_response(
    acme_thread: Conversation, lena: Person
) -> None:
    services.reply(actor=None, conversation=acme_thread, body="We got it.", is_automatic=True)
    services.add_note(actor=lena.user, conversation=acme_thread, body="Looking at logs")
    acme_thread.refresh_from_db()
    assert acme_thread.first_responded_at is None
    services.reply(actor=lena.user, conversation=acme_thread, body="On it")
    acme_thread.refresh_from_db()
    assert acme_thread.first_responded_at is not None
    # Both replies go to the Slack thread, in order; the internal note never leaves.
    posts = OutboxMessage.objects.order_by("pk")
    assert [(m.channel, m.payload["args"]["text"]) for m in posts] == [
        ("slack", "We got it."),
        ("slack", "On it"),
    ]
    assert {m.ordering_key for m in posts} == {"slack:C0ACME:1700000000.000100"}


def test_closing_needs_a_closure_note(job_application: Conversation, lena: Person) -> None:
    with pytest.raises(Invalid) as exc:
        services.update_conversation(actor=lena.user, conversation=job_application, status="closed")
    assert exc.value.field == "closure_note"
    job_application.refresh_from_db()
    assert job_application.status == Conversation.Status.OPEN


def test_closure_note_can_copy_the_response(job_application: Conversation, lena: Person) -> None:
    services.reply(actor=lena.user, conversation=job_application, body="Thanks for applying.")
    services.update_conversation(
        actor=lena.user,
        conversation=job_application,
        status="closed",
        closure_note_from_last_reply=True,
    )
    job_application.refresh_from_db()
    assert job_application.is_closed
    assert "Thanks for applying." in job_application.closure_note
    assert job_application.closed_at is not None


def test_a_new_customer_message_reopens(job_application: Conversation, lena: Person) -> None:
    services.update_conversation(
        actor=lena.user, conversation=job_application, status="closed", closure_note="done"
    )
    services.add_inbound_message(conversation=job_application, body="One more question")
    job_application.refresh_from_db()
    assert job_application.status == Conversation.Status.OPEN
    assert job_application.closed_at is None
    assert AuditEntry.objects.filter(action="conversation.reopen").exists()


def test_a_redelivered_message_is_not_stored_twice(acme_thread: Conversation) -> None:
    services.add_inbound_message(conversation=acme_thread, body="more", external_id="ts-2")
    with pytest.raises(Conflict):
        services.add_inbound_message(conversation=acme_thread, body="more", external_id="ts-2")
    assert acme_thread.messages.count() == 2


def test_saved_reply_fills_the_position_title(
    job_application: Conversation, position_reply: SavedReply
) -> None:
    text = services.render_saved_reply(saved_reply=position_reply, conversation=job_application)
    assert text == "Hi Jo Applicant, thanks for applying for the Solutions Architect role."


def test_saved_reply_with_a_missing_variable_names_it(
    acme_thread: Conversation, position_reply: SavedReply
) -> None:
    with pytest.raises(Invalid) as exc:
        services.render_saved_reply(saved_reply=position_reply, conversation=acme_thread)
    assert exc.value.field == "position_title"
    text = services.render_saved_reply(
        saved_reply=position_reply,
        conversation=acme_thread,
        variables={"position_title": "Engineer"},
    )
    assert "Engineer role" in text


def test_tags_priority_and_assignee(acme_thread: Conversation, lena: Person) -> None:
    services.update_conversation(
        actor=lena.user,
        conversation=acme_thread,
        priority="P1",
        assignee=lena,
        tags=["upgrade", "Hosts-Offline"],
    )
    acme_thread.refresh_from_db()
    assert (acme_thread.priority, acme_thread.assignee) == ("P1", lena)
    assert sorted(t.name for t in acme_thread.tags.all()) == ["hosts-offline", "upgrade"]
    with pytest.raises(Invalid) as exc:
        services.update_conversation(actor=lena.user, conversation=acme_thread, tags=["a b"])
    assert exc.value.field == "tags"
    with pytest.raises(Invalid) as exc:
        services.update_conversation(actor=lena.user, conversation=acme_thread, priority="P9")
    assert exc.value.field == "priority"

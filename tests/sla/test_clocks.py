"""SLA clocks driven by conversation events, on the handbook's policies."""

from __future__ import annotations

import datetime
import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from ceres.accounts.models import Account
from ceres.conversations import services
from ceres.conversations.models import Conversation
from ceres.core.outbox.models import OutboxMessage
from ceres.sla import services as sla_services
from ceres.sla.models import SlaClock, SlaPolicy
from ceres.team.models import Person
from tests.accounts.test_api import bearer, post

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


def clock(conversation: Conversation, target: str) -> SlaClock:
    return conversation.sla_clocks.filter(target=target).latest("started_at")


def test_j2_job_application_due_tuesday_after_memorial_day(
    handbook_policies: dict[str, SlaPolicy],
) -> None:
    conversation = services.open_conversation(
        actor=None,
        source="contact_form",
        category="job-application",
        subject="Application",
        body="Hello",
        requester_email="jo@applicant.example",
        fields={"position_title": "Solutions Architect"},
        received_at=at(2026, 5, 22, 15, 0),
    )
    first = clock(conversation, "first_response")
    assert first.policy == handbook_policies["job-application"]
    assert first.due_at == at(2026, 5, 26, 11, 0)
    conversation.refresh_from_db()
    assert conversation.next_due_at == at(2026, 5, 26, 11, 0)


def test_j1_premium_after_hours_is_due_in_four_hours_and_met_at_first_reply(
    handbook_policies: dict[str, SlaPolicy],
    acme: Account,
    cse: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conversation = services.open_conversation(
        actor=None,
        source="slack",
        subject="All hosts went offline after the upgrade.",
        body="All hosts went offline after the upgrade.",
        account=acme,
        received_at=at(2026, 11, 28, 22, 10),  # a Saturday
    )
    first = clock(conversation, "first_response")
    assert first.policy == handbook_policies["premium"]
    assert first.due_at == at(2026, 11, 29, 2, 10)
    # The replies happen that night (replies are stamped with the time they are made).
    monkeypatch.setattr(timezone, "now", lambda: at(2026, 11, 28, 23, 0))
    services.reply(actor=None, conversation=conversation, body="Auto ack", is_automatic=True)
    first.refresh_from_db()
    assert first.stopped_at is None
    monkeypatch.setattr(timezone, "now", lambda: at(2026, 11, 29, 1, 30))
    services.reply(actor=cse.user, conversation=conversation, body="Looking now")
    first.refresh_from_db()
    assert first.stopped_at == at(2026, 11, 29, 1, 30)
    assert first.met is True


def test_inside_hours_premium_is_one_hour(
    handbook_policies: dict[str, SlaPolicy], acme: Account
) -> None:
    conversation = services.open_conversation(
        actor=None,
        source="slack",
        subject="q",
        body="q",
        account=acme,
        received_at=at(2026, 11, 24, 10, 0),
    )
    assert clock(conversation, "first_response").due_at == at(2026, 11, 24, 11, 0)


def test_community_slack_is_24_hours(handbook_policies: dict[str, SlaPolicy]) -> None:
    conversation = services.open_conversation(
        actor=None, source="slack", subject="q", body="q", received_at=at(2026, 11, 24, 10, 0)
    )
    first = clock(conversation, "first_response")
    assert first.policy == handbook_policies["community-slack"]
    assert first.due_at == at(2026, 11, 25, 10, 0)


def test_a_customer_message_after_a_reply_starts_a_next_response_clock(
    handbook_policies: dict[str, SlaPolicy], acme: Account, cse: Person
) -> None:
    conversation = services.open_conversation(
        actor=None,
        source="slack",
        subject="q",
        body="q",
        account=acme,
        received_at=at(2026, 11, 24, 10, 0),
    )
    services.add_note(actor=cse.user, conversation=conversation, body="internal")
    assert not conversation.sla_clocks.filter(target="next_response").exists()
    services.reply(actor=cse.user, conversation=conversation, body="answer")
    services.add_inbound_message(
        conversation=conversation, body="follow-up", received_at=at(2026, 11, 24, 16, 0)
    )
    following = clock(conversation, "next_response")
    assert following.due_at == at(2026, 11, 25, 12, 0)  # 1 h Tuesday + 3 h Wednesday


def test_waiting_on_customer_pauses_and_moves_the_deadline(
    handbook_policies: dict[str, SlaPolicy], cse: Person
) -> None:
    from ceres.sla import engine

    elapsed = services.open_conversation(
        actor=None, source="slack", subject="q", body="q", received_at=at(2026, 11, 24, 10, 0)
    )
    business = services.open_conversation(
        actor=None, source="api", subject="q", body="q", received_at=at(2026, 11, 24, 10, 0)
    )
    assert clock(elapsed, "first_response").due_at == at(2026, 11, 25, 10, 0)  # 24 h
    assert clock(business, "first_response").due_at == at(2026, 11, 25, 10, 0)  # 8 business h
    for conversation in (elapsed, business):
        engine.status_changed(
            conversation, old="open", new="waiting_on_customer", at=at(2026, 11, 24, 12, 0)
        )
        conversation.refresh_from_db()
        assert conversation.next_due_at is None
        assert clock(conversation, "first_response").paused_at is not None
        engine.status_changed(
            conversation, old="waiting_on_customer", new="open", at=at(2026, 11, 25, 9, 0)
        )
    # Elapsed: 22 h left at the pause, counted from the resume.
    assert clock(elapsed, "first_response").due_at == at(2026, 11, 26, 7, 0)
    # Business: 6 business hours left (12-17 Tue, 9-10 Wed), counted from Wednesday 09:00.
    assert clock(business, "first_response").due_at == at(2026, 11, 25, 15, 0)
    business.refresh_from_db()
    assert business.next_due_at == at(2026, 11, 25, 15, 0)


def test_closing_stops_every_clock(handbook_policies: dict[str, SlaPolicy], cse: Person) -> None:
    conversation = services.open_conversation(
        actor=None, source="slack", subject="q", body="q", received_at=at(2026, 11, 24, 10, 0)
    )
    services.update_conversation(
        actor=cse.user, conversation=conversation, status="closed", closure_note="answered"
    )
    assert not conversation.sla_clocks.filter(stopped_at__isnull=True).exists()


def test_priority_change_can_select_a_stricter_policy(
    handbook_policies: dict[str, SlaPolicy], cse: Person
) -> None:
    sla_services.save_policy(
        actor=None,
        key="urgent",
        position=0,
        match={"priority": ["P0", "P1"]},
        targets={"first_response": [{"within_seconds": 900}]},
    )
    conversation = services.open_conversation(
        actor=None, source="slack", subject="q", body="q", received_at=at(2026, 11, 24, 10, 0)
    )
    services.update_conversation(actor=cse.user, conversation=conversation, priority="P0")
    first = clock(conversation, "first_response")
    assert first.policy is not None
    assert first.policy.key == "urgent"
    assert first.due_at == at(2026, 11, 24, 10, 15)


def test_sweep_warns_then_breaches_once_each(
    handbook_policies: dict[str, SlaPolicy], acme: Account, cse: Person, vp: Person
) -> None:
    conversation = services.open_conversation(
        actor=None,
        source="slack",
        subject="q",
        body="q",
        account=acme,
        received_at=at(2026, 11, 24, 10, 0),
        priority="P1",
    )
    services.update_conversation(actor=cse.user, conversation=conversation, assignee=cse)
    assert sla_services.sweep(now=at(2026, 11, 24, 10, 30)) == {"warnings": 0, "breaches": 0}
    assert sla_services.sweep(now=at(2026, 11, 24, 10, 50)) == {"warnings": 1, "breaches": 0}
    assert sla_services.sweep(now=at(2026, 11, 24, 10, 55)) == {"warnings": 0, "breaches": 0}
    assert sla_services.sweep(now=at(2026, 11, 24, 11, 1)) == {"warnings": 0, "breaches": 1}
    assert sla_services.sweep(now=at(2026, 11, 24, 11, 2)) == {"warnings": 0, "breaches": 0}
    mails = list(OutboxMessage.objects.order_by("id"))
    assert [m.payload["subject"][:20] for m in mails] == [
        "[SLA due soon] first",
        "[SLA BREACHED] first",
    ]
    assert mails[0].payload["to"] == ["lena@example.com"]
    assert mails[1].payload["to"] == ["ada@example.com", "lena@example.com"]  # P1: the VP too
    assert "Acme" not in mails[1].payload["subject"] + mails[1].payload["body"]


def test_preview_cli_and_api(handbook_policies: dict[str, SlaPolicy], cse: Person) -> None:
    out = StringIO()
    call_command(
        "sla",
        "preview",
        "--policy",
        "job-application",
        "--received",
        "2026-05-22T15:00:00-05:00",
        stdout=out,
    )
    assert out.getvalue().splitlines() == ["first_response 2026-05-26T11:00:00-05:00"]
    with pytest.raises(CommandError) as exc:
        call_command(
            "sla", "preview", "--policy", "job-application", "--received", "2026-05-22T15:00"
        )
    assert exc.value.returncode == 2
    assert "offset" in str(exc.value)
    with pytest.raises(CommandError) as exc:
        call_command("sla", "preview", "--policy", "gold", "--received", "2026-05-22T15:00:00Z")
    assert "job-application, premium, community-slack, default" in str(exc.value) or (
        "known policies" in str(exc.value)
    )
    client = Client()
    r = post(
        client,
        "/api/v1/sla/preview",
        {"policy": "premium", "received": "2026-11-28T22:10:00-06:00"},
        **bearer(cse),
    )
    assert r.status_code == 200, r.content
    assert r.json()[0] == {"target": "first_response", "due": "2026-11-29T02:10:00-06:00"}
    r = post(
        client,
        "/api/v1/sla/preview",
        {"policy": "premium", "received": "2026-11-28T22:10:00"},
        **bearer(cse),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "received"

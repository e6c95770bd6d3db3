"""The playbook's `calendars`, `sla_policies` and `saved_replies`: applied through the services,
diffed in their stored form, and previewed (`ceres sla preview --playbook`) without applying."""

from __future__ import annotations

import datetime
import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command

from ceres.accounts import services as account_services
from ceres.conversations import services as conversation_services
from ceres.conversations.models import SavedReply
from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Invalid
from ceres.playbook.errors import PlaybookError
from ceres.playbook.models import PlaybookApplication
from ceres.playbook.services import DEMO_PLAYBOOK, apply_path
from ceres.sla import services as sla_services
from ceres.sla.models import BusinessCalendar, SlaPolicy
from tests.playbook.conftest import MINIMAL, Write, line_of

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
HOUR = 3600

# A small playbook with one of each, on MINIMAL's roles and products.
SLA = (
    MINIMAL
    + """\
calendars:
  support:
    timezone: America/Chicago
    hours:
      mon: ["09:00-17:00"]
      tue: ["09:00-12:00", "13:00-17:00"]
    holidays: {country: US}
sla_policies:
  - name: premium
    match: {tier: premium}
    first_response:
      - {when: inside_hours, calendar: support, within: 1h, clock: elapsed}
      - {when: outside_hours, calendar: support, within: 4h, clock: elapsed}
  - name: default
    first_response: {within: 8h, clock: business, calendar: support}
saved_replies:
  thanks: "Thanks, {{requester_name}}!"
"""
)


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_demo_sets_up_the_handbook_sla_and_a_second_apply_changes_nothing() -> None:
    first = apply_path(DEMO_PLAYBOOK)
    assert [c for c in first.changes if c.startswith(("+ calendar", "+ sla", "+ saved"))] == [
        "+ calendar support: America/Chicago; mon-fri 09:00-17:00; holidays US; closed 2026-12-24",
        "+ calendar always: UTC; 24/7",
        "+ sla_policy job-application: position 0, match source contact_form, category "
        "job-application; first_response 4h business on support",
        "+ sla_policy premium: position 1, match tier premium|premium-mdm; first_response 1h "
        "elapsed inside support hours, 4h elapsed outside support hours; next_response 4h "
        "business on support; escalate_to vp-cs",
        "+ sla_policy community-slack: position 2, match source slack, channel_kind community; "
        "first_response 24h elapsed",
        "+ sla_policy default: position 3, match (any); first_response 8h business on support",
        "+ saved_reply after-hours-notice: After Hours Notice",
        "+ saved_reply applying-for-open-position: Applying for open position "
        "(variables position_title, requester_name)",
    ]
    assert BusinessCalendar.objects.get(key="support").spec == {
        "timezone": "America/Chicago",
        "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": {"country": "US"},
        "closed": ["2026-12-24"],
    }
    assert BusinessCalendar.objects.get(key="always").spec == {"timezone": "UTC", "hours": "all"}
    policies = list(SlaPolicy.objects.order_by("position"))
    assert [(p.key, p.position) for p in policies] == [
        ("job-application", 0),
        ("premium", 1),
        ("community-slack", 2),
        ("default", 3),
    ]
    premium = policies[1]
    assert premium.match == {"tier": ["premium", "premium-mdm"]}

    def rule(when: str, seconds: int, clock: str) -> dict[str, object]:
        return {"when": when, "calendar": "support", "within_seconds": seconds, "clock": clock}

    assert premium.targets == {
        "first_response": [
            rule("inside_hours", HOUR, "elapsed"),
            rule("outside_hours", 4 * HOUR, "elapsed"),
        ],
        "next_response": [rule("always", 4 * HOUR, "business")],
    }
    assert premium.pause_on == ["waiting_on_customer", "on_hold"]
    assert (premium.warn_at_fraction, premium.escalate_to_role) == (0.75, "vp-cs")
    assert policies[3].match == {}
    assert policies[3].targets["first_response"][0]["within_seconds"] == 8 * HOUR
    reply = SavedReply.objects.get(key="applying-for-open-position")
    assert reply.subject == "Your application for the {{position_title}} position"
    assert reply.body.startswith("Hi {{requester_name}},\n\nThank you for your interest")
    assert reply.category == "job-application"
    assert SavedReply.objects.get(key="after-hours-notice").name == "After Hours Notice"
    actions = list(
        AuditEntry.objects.filter(
            action__in=["calendar.create", "sla_policy.create", "saved_reply.create"]
        ).values_list("action", "actor_label")
    )
    assert sorted(actions) == sorted(
        [("calendar.create", "playbook")] * 2
        + [("sla_policy.create", "playbook")] * 4
        + [("saved_reply.create", "playbook")] * 2
    )

    second = apply_path(DEMO_PLAYBOOK)
    assert (second.changes, second.kept, second.warnings) == ([], [], [])
    assert second.unchanged == len(first.changes)


def test_j2_the_job_application_through_the_applied_demo() -> None:
    apply_path(DEMO_PLAYBOOK)
    out, _ = run(
        "sla", "preview", "--policy", "job-application", "--received", "2026-05-22T15:00:00-05:00"
    )
    assert out.splitlines() == ["first_response 2026-05-26T11:00:00-05:00"]

    conversation = conversation_services.open_conversation(
        actor=None,
        source="contact_form",
        category="job-application",
        subject="Application",
        body="I would like to apply.",
        requester_name="Jo Doe",
        requester_email="jo@applicant.example",
        fields={"position_title": "Solutions Architect"},
        received_at=datetime.datetime(2026, 5, 22, 15, 0, tzinfo=CHICAGO),
    )
    clock = conversation.sla_clocks.get(target="first_response")
    assert clock.policy is not None
    assert clock.policy.key == "job-application"
    assert clock.due_at == datetime.datetime(2026, 5, 26, 11, 0, tzinfo=CHICAGO)
    reply = SavedReply.objects.get(key="applying-for-open-position")
    text = conversation_services.render_saved_reply(saved_reply=reply, conversation=conversation)
    assert text.startswith("Hi Jo Doe,\n\nThank you for your interest in the Solutions Architect")
    subject = conversation_services.render_template(reply.subject, conversation=conversation)
    assert subject == "Your application for the Solutions Architect position"


def test_j1_premium_on_saturday_night_through_the_applied_demo() -> None:
    apply_path(DEMO_PLAYBOOK)
    out, _ = run("sla", "preview", "--policy", "premium", "--received", "2026-11-28T22:10:00-06:00")
    assert out.splitlines() == [
        "first_response 2026-11-29T02:10:00-06:00",  # outside hours: 4 hours of wall time
        "next_response 2026-11-30T13:00:00-06:00",  # 4 business hours from Monday 09:00
    ]
    acme = account_services.create_account(
        actor=None, legal_name="Acme Robotics", codename="Kamo`oalewa", product="premium-mdm"
    )
    conversation = conversation_services.open_conversation(
        actor=None,
        source="slack",
        subject="All hosts went offline after the upgrade.",
        body="All hosts went offline after the upgrade.",
        account=acme,
        received_at=datetime.datetime(2026, 11, 28, 22, 10, tzinfo=CHICAGO),
    )
    clock = conversation.sla_clocks.get(target="first_response")
    assert clock.policy is not None
    assert clock.policy.key == "premium"
    assert clock.due_at == datetime.datetime(2026, 11, 29, 2, 10, tzinfo=CHICAGO)


def test_the_default_policy_is_one_business_day_of_eight_hours() -> None:
    apply_path(DEMO_PLAYBOOK)
    out, _ = run("sla", "preview", "--policy", "default", "--received", "2026-12-23T13:00:00-06:00")
    # 4 hours on Wednesday 23rd, the 24th is closed, the 25th is Christmas: Monday 28th 13:00.
    assert out.splitlines() == ["first_response 2026-12-28T13:00:00-06:00"]


def test_a_calendar_written_another_way_is_unchanged(write: Write) -> None:
    apply_path(write(SLA))
    same = SLA.replace('mon: ["09:00-17:00"]', 'mon: "09:00-17:00"').replace(
        "{country: US}", "{country: us}"
    )
    result = apply_path(write(same), dry_run=True)
    assert result.changes == []
    assert result.unchanged == 5 + 4


def test_a_changed_calendar_shows_each_field(write: Write) -> None:
    apply_path(write(SLA))
    edited = SLA.replace('["09:00-12:00", "13:00-17:00"]', '["09:00-17:00"]').replace(
        "    holidays: {country: US}\n",
        "    holidays: {country: US, subdivision: CA}\n    closed: [2026-12-24, '2026-12-31']\n",
    )
    result = apply_path(write(edited))
    assert result.changes == [
        "~ calendar support: hours mon 09:00-17:00, tue 09:00-12:00 13:00-17:00 -> "
        "mon-tue 09:00-17:00; holidays US -> US-CA; closed (none) -> 2026-12-24, 2026-12-31"
    ]
    assert BusinessCalendar.objects.get(key="support").spec["closed"] == [
        "2026-12-24",
        "2026-12-31",
    ]
    assert AuditEntry.objects.filter(action="calendar.update").count() == 1


def test_the_dry_run_shows_a_changed_policy_field_by_field(write: Write, demo_text: str) -> None:
    apply_path(DEMO_PLAYBOOK)
    edited = demo_text.replace(
        "      - {when: inside_hours, calendar: support, within: 1h, clock: elapsed}",
        "      - {when: inside_hours, calendar: support, within: 30m, clock: elapsed}",
    ).replace("    escalate_to: vp-cs\n", "    escalate_to: support-manager\n    warn_at: 80%\n")
    path = write(edited)
    out, _ = run("apply", str(path), "--dry-run")
    assert out.splitlines() == [
        "~ sla_policy premium: first_response 1h elapsed inside support hours, 4h elapsed "
        "outside support hours -> 30m elapsed inside support hours, 4h elapsed outside support "
        "hours; warn_at 75% -> 80%; escalate_to vp-cs -> support-manager",
        "= 49 unchanged",
        f"{path}: dry run, 1 change not applied",
    ]
    premium = SlaPolicy.objects.get(key="premium")
    assert premium.targets["first_response"][0]["within_seconds"] == HOUR

    out, _ = run("apply", str(path))
    assert out.splitlines()[-1] == f"{path}: applied 1 change"
    premium.refresh_from_db()
    assert premium.targets["first_response"][0]["within_seconds"] == 30 * 60
    assert (premium.warn_at_fraction, premium.escalate_to_role) == (0.8, "support-manager")
    update = AuditEntry.objects.get(action="sla_policy.update")
    assert update.actor_label == "playbook"
    assert set(update.changes) == {"targets", "warn_at_fraction", "escalate_to_role"}
    assert apply_path(path).changes == []


def test_moving_a_policy_changes_the_positions(write: Write, demo_text: str) -> None:
    apply_path(DEMO_PLAYBOOK)
    community = (
        "  - name: community-slack\n"
        "    match: {source: slack, channel_kind: community}\n"
        "    first_response: {within: 24h, clock: elapsed}\n"
    )
    assert community in demo_text
    moved = demo_text.replace(community, "").replace(
        "sla_policies:\n", "sla_policies:\n" + community
    )
    result = apply_path(write(moved))
    assert result.changes == [
        "~ sla_policy community-slack: position 2 -> 0",
        "~ sla_policy job-application: position 0 -> 1",
        "~ sla_policy premium: position 1 -> 2",
    ]
    assert list(SlaPolicy.objects.values_list("key", flat=True)) == [
        "community-slack",
        "job-application",
        "premium",
        "default",
    ]


def test_a_policy_left_out_is_kept_and_still_in_force(write: Write) -> None:
    three = SLA.replace(
        "  - name: default\n",
        "  - name: community\n"
        "    match: {source: slack, channel_kind: community}\n"
        "    first_response: {within: 24h, clock: elapsed}\n"
        "  - name: default\n",
    )
    apply_path(write(three))
    path = write(SLA)
    result = apply_path(path)
    assert result.changes == ["~ sla_policy default: position 2 -> 1"]
    assert result.kept == ["  sla_policy community: not in playbook, kept"]
    assert result.warnings == [
        f"{path}:{line_of(SLA, 'sla_policies:')}: sla_policies: policy 'community' is not in "
        "the playbook but is still in force: at position 1, it is tried after 'premium' "
        "(warning)"
    ]
    assert SlaPolicy.objects.filter(key="community").exists()


def test_sections_left_out_are_not_managed(write: Write) -> None:
    apply_path(write(SLA))
    result = apply_path(write(MINIMAL))
    assert result.changes == []
    assert result.kept == [
        "  calendar support: not in playbook, kept",
        "  sla_policy premium: not in playbook, kept",
        "  sla_policy default: not in playbook, kept",
        "  saved_reply thanks: not in playbook, kept",
    ]
    assert result.warnings == []


def test_saved_replies_written_as_text_or_in_full(write: Write) -> None:
    first = apply_path(write(SLA))
    assert "+ saved_reply thanks: Thanks (variables requester_name)" in first.changes
    thanks = SavedReply.objects.get(key="thanks")
    assert (thanks.name, thanks.subject, thanks.body, thanks.category) == (
        "Thanks",
        "",
        "Thanks, {{requester_name}}!",
        "",
    )
    full = SLA.replace(
        '  thanks: "Thanks, {{requester_name}}!"\n',
        "  thanks:\n"
        "    name: Thank you\n"
        "    subject: Your {{position_title}} application\n"
        "    category: job-application\n"
        "    body: |\n"
        "      Thanks, {{requester_name}}, for applying\n"
        "      for the {{position_title}} position.\n",
    )
    result = apply_path(write(full))
    assert result.changes == [
        "~ saved_reply thanks: name Thanks -> 'Thank you'; subject (none) -> "
        "'Your {{position_title}} application'; body edited (27 -> 77 characters); category "
        "(none) -> job-application; variables requester_name -> position_title, requester_name"
    ]
    thanks.refresh_from_db()
    assert thanks.body == (
        "Thanks, {{requester_name}}, for applying\nfor the {{position_title}} position."
    )
    assert apply_path(write(full)).changes == []


def test_a_refusal_from_the_sla_service_names_the_policy_line(
    write: Write, demo_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_policy = sla_services.save_policy

    def refuse_premium(**values: object) -> SlaPolicy:
        if values["key"] == "premium":
            raise Invalid("this role cannot be paged", field="escalate_to_role")
        return save_policy(**values)  # type: ignore[arg-type]

    monkeypatch.setattr(sla_services, "save_policy", refuse_premium)
    path = write(demo_text)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert caught.value.errors == [
        f"{path}:{line_of(demo_text, 'escalate_to: vp-cs')}: sla_policies[1].escalate_to: "
        "this role cannot be paged"
    ]
    assert not BusinessCalendar.objects.exists()
    assert not SlaPolicy.objects.exists()
    assert not PlaybookApplication.objects.exists()

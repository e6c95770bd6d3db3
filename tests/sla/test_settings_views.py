"""The SLA settings pages: policies and calendars edited in the UI, with the playbook's rules."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client

from ceres.conversations import services as conversation_services
from ceres.core.audit.models import AuditEntry
from ceres.playbook.services import apply_path
from ceres.sla.models import BusinessCalendar, SlaClock, SlaPolicy
from ceres.team.models import Person
from tests.sla.conftest import HOUR

pytestmark = pytest.mark.django_db

SETTINGS = "/settings/sla/"
NEW_POLICY = "/settings/sla/policies/new/"
NEW_CALENDAR = "/settings/sla/calendars/new/"


def login(client: Client, person: Person) -> Client:
    client.force_login(person.user)
    return client


def form_errors_of(response: Any) -> Any:
    context = getattr(response, "context", None)
    return context["form"].errors if context and "form" in context else response.status_code


def policy_post(**changes: Any) -> dict[str, Any]:
    """A valid form post: a default-like policy, first response 2h elapsed."""
    data: dict[str, Any] = {
        "key": "vip",
        "position": "0",
        "warn_at": "75",
        "pause_on": ["waiting_on_customer", "on_hold"],
        "escalate_to_role": "",
        "category": "",
    }
    for target in ("first_response", "next_response", "resolution"):
        for i in range(3):
            data[f"{target}-{i}-within"] = ""
            data[f"{target}-{i}-clock"] = "elapsed"
            data[f"{target}-{i}-when"] = "always"
            data[f"{target}-{i}-calendar"] = ""
    data["first_response-0-within"] = "2h"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def calendar_post(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": "berlin",
        "timezone": "Europe/Berlin",
        "mon": "09:00-12:00 13:00-17:00",
        "tue": "09:00-17:00",
        "wed": "09:00-17:00",
        "thu": "09:00-17:00",
        "fri": "09:00-15:00",
        "sat": "",
        "sun": "",
        "holiday_country": "de",
        "holiday_subdivision": "BY",
        "closed": "2026-12-24\n2026-12-31",
        "open": "2026-12-27 10:00-14:00",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --- reading ---------------------------------------------------------------------------------


def test_the_settings_page_lists_policies_in_order_and_calendars(
    client: Client, cse: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    response = login(client, cse).get(SETTINGS)
    assert response.status_code == 200
    text = response.content.decode()
    positions = [text.index(f'data-policy="{key}"') for key in handbook_policies]
    assert positions == sorted(positions)
    assert "1h elapsed inside support hours, 4h elapsed outside support hours" in text
    assert 'data-calendar="support"' in text
    assert "America/Chicago" in text
    # A support engineer reads the targets but is offered no editing.
    assert "New policy" not in text
    assert 'name="direction"' not in text


def test_a_policy_after_a_match_all_one_is_flagged(
    client: Client, vp: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    login(client, vp).post(
        "/settings/sla/policies/default/move/", {"direction": "up"}
    )  # default (match-all) now before community-slack
    text = client.get(SETTINGS).content.decode()
    assert "Never applies" in text
    assert text.count("Never applies") == 1


def test_reading_needs_the_conversations_permission(
    client: Client, make_person: Any, handbook_policies: dict[str, SlaPolicy]
) -> None:
    outsider = make_person("engineer", name="No Access", email="none@example.com")
    assert login(client, outsider).get(SETTINGS).status_code == 403
    assert client.get("/settings/sla/policies/premium/").status_code == 403
    assert client.get("/settings/sla/calendars/support/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.get(SETTINGS)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_unknown_policy_and_calendar_are_404(client: Client, vp: Person) -> None:
    login(client, vp)
    assert client.get("/settings/sla/policies/nope/").status_code == 404
    assert client.get("/settings/sla/calendars/nope/").status_code == 404
    assert client.post("/settings/sla/policies/nope/delete/").status_code == 404


# --- policies --------------------------------------------------------------------------------


def test_creating_a_policy_saves_it_audited_and_it_runs(
    client: Client, vp: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    form = policy_post(priority=["P0", "P1"], source=["email"])
    response = login(client, vp).post(NEW_POLICY, form)
    assert response.status_code == 302, form_errors_of(response)
    policy = SlaPolicy.objects.get(key="vip")
    assert policy.match == {"source": ["email"], "priority": ["P0", "P1"]}
    assert policy.targets == {
        "first_response": [
            {"when": "always", "calendar": None, "within_seconds": 2 * HOUR, "clock": "elapsed"}
        ]
    }
    assert policy.warn_at_fraction == 0.75
    assert AuditEntry.objects.filter(action="sla_policy.create", target_label="vip").exists()
    # Position 0: tried first, so a new P1 e-mail runs on it.
    received = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
    conversation = conversation_services.open_conversation(
        actor=None,
        source="email",
        subject="Down",
        body="Everything is down",
        requester_email="ops@example.org",
        priority="P1",
        received_at=received,
    )
    clock = SlaClock.objects.get(conversation=conversation, target="first_response")
    assert clock.policy == policy
    assert clock.due_at == received + datetime.timedelta(hours=2)


def test_editing_a_policy_shows_it_and_saves_changes(
    client: Client, vp: Person, handbook_policies: dict[str, SlaPolicy], products: Any
) -> None:
    login(client, vp)
    page = client.get("/settings/sla/policies/premium/").content.decode()
    assert 'value="1h"' in page
    assert 'value="4h"' in page
    form = policy_post(
        key=None,
        position="1",
        tier=["premium"],
        **{
            "first_response-0-within": "30m",
            "first_response-0-when": "inside_hours",
            "first_response-0-calendar": "support",
            "first_response-1-within": "4h",
            "first_response-1-when": "outside_hours",
            "first_response-1-calendar": "support",
            "resolution-0-within": "40h",
            "resolution-0-clock": "business",
            "resolution-0-calendar": "support",
        },
    )
    response = client.post("/settings/sla/policies/premium/", form)
    assert response.status_code == 302, form_errors_of(response)
    policy = SlaPolicy.objects.get(key="premium")
    assert policy.match == {"tier": ["premium"]}
    assert [r["within_seconds"] for r in policy.targets["first_response"]] == [1800, 4 * HOUR]
    assert policy.targets["resolution"][0]["clock"] == "business"
    assert "next_response" not in policy.targets
    entry = AuditEntry.objects.filter(action="sla_policy.update", target_label="premium").last()
    assert entry is not None
    assert "targets" in entry.changes


def test_a_ui_edit_shows_up_in_the_next_playbook_dry_run(
    client: Client, vp: Person, tmp_path: Any
) -> None:
    from ceres.playbook.services import DEMO_PLAYBOOK

    apply_path(DEMO_PLAYBOOK)
    login(client, vp).post(
        "/settings/sla/policies/default/",
        policy_post(key=None, position="3", **{"first_response-0-within": "3h"}),
    )
    result = apply_path(DEMO_PLAYBOOK, dry_run=True)
    changed = [line for line in result.changes if "default" in line]
    assert changed, result.changes
    assert any("first_response" in line for line in changed)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"first_response-0-within": "1 hour"}, "first_response-0-within", "not a duration"),
        ({"first_response-0-within": "0m"}, "first_response-0-within", "longer than zero"),
        ({"first_response-0-within": "400d"}, "first_response-0-within", "longer than a year"),
        (
            {"first_response-0-within": "1d", "first_response-0-clock": "business"},
            "first_response-0-within",
            "business day is not 24 hours",
        ),
        (
            {"first_response-0-when": "inside_hours"},
            "first_response-0-calendar",
            "choose a calendar",
        ),
        (
            {"first_response-0-clock": "business"},
            "first_response-0-calendar",
            "choose a calendar",
        ),
        (
            {"first_response-0-calendar": "mars"},
            "first_response-0-calendar",
            "not one of the available choices",
        ),
        (
            {
                "first_response-1-within": "4h",
                "first_response-1-when": "inside_hours",
                "first_response-1-calendar": "support",
            },
            "first_response-1-within",
            "never applies",
        ),
        (
            {
                "first_response-0-when": "inside_hours",
                "first_response-0-calendar": "support",
            },
            "__all__",
            "starts a clock only for messages received inside support hours",
        ),
        ({"first_response-0-within": ""}, "first_response-0-within", "at least one target"),
        ({"warn_at": "100"}, "warn_at", "less than or equal to 99"),
        ({"warn_at": "0"}, "warn_at", "greater than or equal to 1"),
        ({"warn_at": "soon"}, "warn_at", "whole number"),
        ({"position": "-1"}, "position", "greater than or equal to 0"),
        ({"tier": ["platinum"]}, "tier", "not one of the available choices"),
        ({"priority": ["P9"]}, "priority", "not one of the available choices"),
        ({"category": "job application!"}, "category", "not a category"),
        ({"key": "Not A Key"}, "key", "lower-case letters"),
        ({"key": ""}, "key", "required"),
        ({"escalate_to_role": "king"}, "escalate_to_role", "not one of the available choices"),
        ({"pause_on": ["closed"]}, "pause_on", "not one of the available choices"),
    ],
)
def test_bad_policy_input_is_refused_naming_the_field(
    client: Client,
    vp: Person,
    handbook_policies: dict[str, SlaPolicy],
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    before = AuditEntry.objects.count()
    response = login(client, vp).post(NEW_POLICY, policy_post(**changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field]), errors[field]
    assert not SlaPolicy.objects.filter(key=changes.get("key", "vip") or "vip").exists()
    assert AuditEntry.objects.count() == before


def test_a_second_policy_of_the_same_name_is_a_conflict(
    client: Client, vp: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    response = login(client, vp).post(NEW_POLICY, policy_post(key="premium"))
    assert response.status_code == 409
    assert "exists" in " ".join(response.context["form"].errors["key"])
    assert SlaPolicy.objects.get(key="premium").targets == handbook_policies["premium"].targets


def test_changing_policies_needs_the_permissions(
    client: Client, cse: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    login(client, cse)
    assert client.get(NEW_POLICY).status_code == 403
    assert client.post(NEW_POLICY, policy_post()).status_code == 403
    edit = client.post("/settings/sla/policies/premium/", policy_post(key=None, position="9"))
    assert edit.status_code == 403
    move = client.post("/settings/sla/policies/premium/move/", {"direction": "up"})
    assert move.status_code == 403
    assert client.post("/settings/sla/policies/premium/delete/").status_code == 403
    assert SlaPolicy.objects.get(key="premium").position == handbook_policies["premium"].position
    assert SlaPolicy.objects.count() == 4


def test_moving_renumbers_the_order(
    client: Client, vp: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    login(client, vp)
    assert (
        client.post("/settings/sla/policies/premium/move/", {"direction": "up"}).status_code == 302
    )
    order = list(SlaPolicy.objects.order_by("position").values_list("key", flat=True))
    assert order == ["premium", "job-application", "community-slack", "default"]
    assert list(SlaPolicy.objects.order_by("position").values_list("position", flat=True)) == [
        0,
        1,
        2,
        3,
    ]
    # The top one cannot go higher; the order stays.
    client.post("/settings/sla/policies/premium/move/", {"direction": "up"})
    assert SlaPolicy.objects.order_by("position").values_list("key", flat=True)[0] == "premium"
    bad = client.post("/settings/sla/policies/premium/move/", {"direction": "sideways"})
    assert bad.status_code == 422
    assert "direction" in bad.content.decode()


def test_deleting_a_policy_keeps_running_clocks(
    client: Client, vp: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    conversation = conversation_services.open_conversation(
        actor=None,
        source="slack",
        subject="Question",
        body="How do I?",
        requester_name="Someone",
        slack_channel_id="C0COMMUNITY",
        slack_thread_ts="1700000000.000200",
    )
    clock = SlaClock.objects.get(conversation=conversation)
    assert clock.policy is not None
    assert clock.policy.key == "community-slack"
    response = login(client, vp).post("/settings/sla/policies/community-slack/delete/")
    assert response.status_code == 302
    assert not SlaPolicy.objects.filter(key="community-slack").exists()
    kept = SlaClock.objects.get(pk=clock.pk)
    assert kept.due_at == clock.due_at
    assert kept.stopped_at is None
    assert AuditEntry.objects.filter(action="sla_policy.delete").count() == 1


def test_the_preview_shows_due_times_in_the_viewers_zone(
    client: Client, vp: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    # Ada works in UTC in this fixture; Friday 2026-05-22 20:00 UTC is 15:00 in Chicago.
    login(client, vp)
    response = client.get(
        "/settings/sla/policies/job-application/preview/", {"received": "2026-05-22T20:00"}
    )
    assert response.status_code == 200
    text = response.content.decode()
    # 4 business hours from Friday 15:00: 2 on Friday, Monday is Memorial Day: Tuesday 11:00.
    assert 'datetime="2026-05-26T11:00:00-05:00"' in text
    bad = client.get("/settings/sla/policies/job-application/preview/", {"received": "soon"})
    assert bad.status_code == 400
    assert "date and time" in bad.content.decode()


# --- calendars -------------------------------------------------------------------------------


def test_creating_a_calendar_stores_the_spec_and_shows_the_week(client: Client, vp: Person) -> None:
    response = login(client, vp).post(NEW_CALENDAR, calendar_post())
    assert response.status_code == 302, form_errors_of(response)
    row = BusinessCalendar.objects.get(key="berlin")
    assert row.spec == {
        "timezone": "Europe/Berlin",
        "hours": {
            "mon": ["09:00-12:00", "13:00-17:00"],
            "tue": ["09:00-17:00"],
            "wed": ["09:00-17:00"],
            "thu": ["09:00-17:00"],
            "fri": ["09:00-15:00"],
        },
        "holidays": {"country": "DE", "subdivision": "BY"},
        "closed": ["2026-12-24", "2026-12-31"],
        "open": [{"date": "2026-12-27", "hours": ["10:00-14:00"]}],
    }
    assert AuditEntry.objects.filter(action="calendar.create", target_label="berlin").exists()
    page = client.get(response["Location"]).content.decode()
    assert "The week ahead" in page
    assert 'value="09:00-12:00 13:00-17:00"' in page


def test_a_24_7_calendar(client: Client, vp: Person) -> None:
    response = login(client, vp).post(
        NEW_CALENDAR,
        calendar_post(
            key="always",
            timezone="UTC",
            always_open="on",
            holiday_country="",
            holiday_subdivision="",
            closed="",
            open="",
        ),
    )
    assert response.status_code == 302, form_errors_of(response)
    assert BusinessCalendar.objects.get(key="always").spec == {"timezone": "UTC", "hours": "all"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"tue": "09:00-12:00 11:00-13:00"}, "tue", "overlaps"),
        ({"wed": "9-5"}, "wed", "is not HH:MM-HH:MM"),
        ({"thu": "17:00-09:00"}, "thu", "must end after it starts"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown IANA time zone"),
        ({"timezone": ""}, "timezone", "required"),
        ({"holiday_country": "XX"}, "holiday_country", "no holidays known"),
        ({"holiday_subdivision": "ZZ"}, "holiday_subdivision", "has no subdivision"),
        (
            {"holiday_country": "", "holiday_subdivision": "BY"},
            "holiday_country",
            "required: an ISO 3166-1 alpha-2 code",
        ),
        ({"closed": "2026-13-01"}, "closed", "is not a date"),
        ({"open": "2026-12-26"}, "open", "has no hours"),
        ({"open": "2026-12-24"}, "open", "both open and closed"),
        (
            {"mon": "", "tue": "", "wed": "", "thu": "", "fri": "", "open": ""},
            "mon",
            "never open",
        ),
        ({"key": "Berlin Office"}, "key", "lower-case letters"),
    ],
)
def test_bad_calendar_input_is_refused_naming_the_field(
    client: Client, vp: Person, changes: dict[str, Any], field: str, message: str
) -> None:
    response = login(client, vp).post(NEW_CALENDAR, calendar_post(**changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field]), errors[field]
    assert not BusinessCalendar.objects.exists()


def test_editing_a_calendar_moves_deadlines_of_new_clocks_only(
    client: Client, vp: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    login(client, vp)
    page = client.get("/settings/sla/calendars/support/").content.decode()
    assert 'value="America/Chicago"' in page
    form = calendar_post(
        key=None,
        timezone="America/Chicago",
        mon="08:00-16:00",
        tue="08:00-16:00",
        wed="08:00-16:00",
        thu="08:00-16:00",
        fri="08:00-16:00",
        holiday_country="US",
        holiday_subdivision="",
        closed="",
        open="",
    )
    response = client.post("/settings/sla/calendars/support/", form)
    assert response.status_code == 302, form_errors_of(response)
    spec = BusinessCalendar.objects.get(key="support").spec
    assert spec["hours"]["mon"] == ["08:00-16:00"]
    assert AuditEntry.objects.filter(action="calendar.update", target_label="support").exists()


def test_a_calendar_in_use_cannot_be_deleted(
    client: Client, vp: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    response = login(client, vp).post("/settings/sla/calendars/support/delete/")
    assert response.status_code == 409
    assert "job-application" in response.content.decode()
    assert BusinessCalendar.objects.filter(key="support").exists()


def test_an_unused_calendar_is_deleted(client: Client, vp: Person) -> None:
    login(client, vp).post(NEW_CALENDAR, calendar_post())
    response = client.post("/settings/sla/calendars/berlin/delete/")
    assert response.status_code == 302
    assert not BusinessCalendar.objects.filter(key="berlin").exists()
    assert AuditEntry.objects.filter(action="calendar.delete", target_label="berlin").exists()


def test_a_second_calendar_of_the_same_name_is_a_conflict(client: Client, vp: Person) -> None:
    login(client, vp).post(NEW_CALENDAR, calendar_post())
    response = client.post(NEW_CALENDAR, calendar_post(tue="10:00-11:00"))
    assert response.status_code == 409
    assert BusinessCalendar.objects.get(key="berlin").spec["hours"]["tue"] == ["09:00-17:00"]


def test_changing_calendars_needs_the_permissions(
    client: Client, cse: Person, handbook_policies: dict[str, SlaPolicy]
) -> None:
    login(client, cse)
    assert client.get("/settings/sla/calendars/support/").status_code == 200
    assert client.post(NEW_CALENDAR, calendar_post()).status_code == 403
    edit = client.post("/settings/sla/calendars/support/", calendar_post(key=None))
    assert edit.status_code == 403
    assert client.post("/settings/sla/calendars/support/delete/").status_code == 403
    assert BusinessCalendar.objects.get(key="support").spec["timezone"] == "America/Chicago"

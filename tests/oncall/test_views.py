"""The On-call page: schedules, who is on call now and next, the next 14 days with gaps marked,
overrides, and the override form (bad input answered with the message on the field, nothing
written), with its permissions."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.test import Client

from ceres.core.audit.models import AuditEntry
from ceres.oncall import services
from ceres.oncall.models import OnCallSchedule, ScheduleOverride
from ceres.team.models import Person
from tests.oncall.conftest import chicago

pytestmark = pytest.mark.django_db

PAGE = "/oncall/"
ADD = "/oncall/infrastructure-oncall/overrides/"
NOW = chicago(2026, 11, 5, 12)


@pytest.fixture
def ada(client: Client, vp: Person, clock: Callable[[datetime.datetime], None]) -> Client:
    """The VP (every permission), in Chicago, logged in, on Thursday 5 November 2026 at noon."""
    vp.timezone = "America/Chicago"
    vp.save(update_fields=["timezone"])
    clock(NOW)
    client.force_login(vp.user)
    return client


def form(person: Person | str, start: str, end: str, reason: str = "") -> dict[str, str]:
    who = str(person.pk) if isinstance(person, Person) else person
    return {"person": who, "start": start, "end": end, "reason": reason}


def test_the_page_shows_now_next_shifts_gaps_and_overrides(
    ada: Client,
    first_responder: OnCallSchedule,
    developer_on_call: OnCallSchedule,
    cse: Person,
    jonas: Person,
) -> None:
    services.add_override(
        actor=None,
        schedule=first_responder,
        person=cse,
        start=chicago(2026, 11, 10, 9),
        end=chicago(2026, 11, 11, 9),
        reason="Jonas travelling",
    )
    r = ada.get(PAGE)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="schedule-infrastructure-oncall"' in html
    assert 'id="schedule-developer-on-call"' in html
    assert "Ravi Menon" in html
    assert "Jonas Berg" in html
    assert "until <time" in html
    assert "Mon Nov 9, 09:00" in html
    assert "Jonas travelling" in html
    assert 'class="badge badge-note">override' in html
    # The business-hours schedule has a gap every night: marked, and counted in its header.
    assert "data-gap" in html
    assert "gaps in 14 days" in html
    assert "Add override" in html
    assert ">Remove</button>" in html
    assert 'href="/oncall/"' in html  # the sidebar link


def test_add_override_from_the_form(
    ada: Client, vp: Person, first_responder: OnCallSchedule, cse: Person
) -> None:
    r = ada.post(ADD, form(cse, "2026-11-10T09:00", "2026-11-11T09:00", "Jonas travelling"))
    assert r.status_code == 302
    assert r["Location"] == "/oncall/#schedule-infrastructure-oncall"
    override = ScheduleOverride.objects.get()
    assert (override.person, override.created_by) == (cse, vp)
    assert override.start == chicago(2026, 11, 10, 9)  # read in the viewer's zone
    assert AuditEntry.objects.filter(action="oncall.override.create", actor_label="ada").exists()


@pytest.mark.parametrize(
    ("values", "status", "field", "message"),
    [
        (("cse", "2026-11-10T12:00", "2026-11-12T09:00"), 422, "start", "overlaps Lena Park"),
        (("cse", "2026-11-10T09:00", "2026-11-10T09:00"), 422, "end", "must be after"),
        (("", "2026-11-10T09:00", "2026-11-11T09:00"), 422, "person", "who covers is required"),
        (("99999", "2026-11-10T09:00", "2026-11-11T09:00"), 422, "person", "no team member"),
        (("cse", "", "2026-11-11T09:00"), 422, "start", "the start is required"),
        (("cse", "2026-11-10T09:00", "tomorrow"), 400, "end", "Enter a valid date/time"),
        (("cse", "2026-03-08T02:30", "2026-03-08T05:00"), 400, "start", "2026-03-08 02:30"),
    ],
)
def test_bad_input_is_answered_on_the_field_and_nothing_is_written(
    ada: Client,
    first_responder: OnCallSchedule,
    cse: Person,
    values: tuple[str, str, str],
    status: int,
    field: str,
    message: str,
) -> None:
    services.add_override(
        actor=None,
        schedule=first_responder,
        person=cse,
        start=chicago(2026, 11, 10, 9),
        end=chicago(2026, 11, 11, 9),
    )
    who, start, end = values
    r = ada.post(ADD, form(cse if who == "cse" else who, start, end))
    assert r.status_code == status
    html = r.content.decode()
    field_block = html.split(f'data-field="{field}"', 1)[1].split("</div>", 1)[0]
    assert "field-error" in field_block
    assert message in field_block
    assert ScheduleOverride.objects.count() == 1


def test_remove_override(ada: Client, first_responder: OnCallSchedule, cse: Person) -> None:
    override = services.add_override(
        actor=None,
        schedule=first_responder,
        person=cse,
        start=chicago(2026, 11, 10, 9),
        end=chicago(2026, 11, 11, 9),
    )
    url = f"/oncall/infrastructure-oncall/overrides/{override.pk}/remove/"
    assert ada.get(url).status_code == 405
    assert ada.post(url).status_code == 302
    assert not ScheduleOverride.objects.exists()
    assert AuditEntry.objects.filter(action="oncall.override.delete").count() == 1
    assert ada.post(url).status_code == 404
    assert ada.post("/oncall/nope/overrides/1/remove/").status_code == 404


def test_permissions(
    client: Client, engineer: Person, cse: Person, first_responder: OnCallSchedule
) -> None:
    assert client.get(PAGE).status_code == 302  # to the login page
    override = services.add_override(
        actor=None,
        schedule=first_responder,
        person=cse,
        start=chicago(2026, 11, 10, 9),
        end=chicago(2026, 11, 11, 9),
    )
    client.force_login(engineer.user)
    assert client.get(PAGE).status_code == 403
    assert client.post(ADD, form(cse, "2026-12-01T09:00", "2026-12-02T09:00")).status_code == 403
    remove = f"/oncall/infrastructure-oncall/overrides/{override.pk}/remove/"
    assert client.post(remove).status_code == 403
    assert ScheduleOverride.objects.count() == 1
    assert 'href="/oncall/"' not in client.get("/team/").content.decode()

"""The on-call services and selectors against the database: schedules, layers and overrides
saved through the engine's rules (refusals naming the field, nothing half-written), audited,
and who is on call at pinned instants."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Invalid, NotFound
from ceres.oncall import selectors, services
from ceres.oncall.models import OnCallSchedule, ScheduleLayer, ScheduleOverride
from ceres.oncall.schedule import Schedule
from ceres.team import services as team_services
from ceres.team.models import Person
from tests.oncall.conftest import WEEK, chicago

pytestmark = pytest.mark.django_db


def actions() -> list[str]:
    return list(
        AuditEntry.objects.filter(action__startswith="oncall.")
        .order_by("id")
        .values_list("action", flat=True)
    )


# --- schedules -------------------------------------------------------------------------------


def test_save_schedule_creates_then_updates_and_is_audited(vp: Person) -> None:
    schedule = services.save_schedule(actor=vp.user, key="developer-on-call", name="Dev on-call")
    services.save_schedule(actor=vp.user, key="developer-on-call", name="Dev on-call")
    services.save_schedule(
        actor=vp.user, key="developer-on-call", name="Developer on-call", slack_usergroup_id="S0X1"
    )
    schedule.refresh_from_db()
    assert schedule.name == "Developer on-call"
    assert actions() == ["oncall.schedule.create", "oncall.schedule.update"]  # same: no entry
    entry = AuditEntry.objects.filter(action="oncall.schedule.update").get()
    assert entry.actor_label == "ada"
    assert entry.changes["name"] == ["Dev on-call", "Developer on-call"]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"key": "Has Spaces", "name": "x"}, "key"),
        ({"key": "", "name": "x"}, "key"),
        ({"key": "ok", "name": "  "}, "name"),
        ({"key": "ok", "name": "x", "slack_usergroup_id": "oncall"}, "slack_usergroup_id"),
    ],
)
def test_save_schedule_refuses_naming_the_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        services.save_schedule(actor=None, **values)
    assert caught.value.field == field
    assert not OnCallSchedule.objects.exists()


# --- layers ----------------------------------------------------------------------------------


def test_save_layer_stores_people_in_order_and_replaces_by_position(
    first_responder: OnCallSchedule, ravi: Person, jonas: Person
) -> None:
    layer = first_responder.layers.get()
    assert layer.people == [ravi.pk, jonas.pk]
    assert layer.start == chicago(2026, 11, 2, 9)
    services.save_layer(
        actor=None,
        schedule=first_responder,
        position=0,
        people=[jonas, ravi, jonas],
        shift_length_hours=WEEK,
        start=chicago(2026, 11, 2, 9),
        timezone="America/Chicago",
    )
    layer.refresh_from_db()
    assert layer.people == [jonas.pk, ravi.pk, jonas.pk]
    assert ScheduleLayer.objects.count() == 1
    assert actions() == ["oncall.schedule.create", "oncall.layer.create", "oncall.layer.update"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"people": []}, "people"),
        ({"shift_length_hours": 0}, "shift_length_hours"),
        ({"shift_length_hours": 24 * 400}, "shift_length_hours"),
        ({"start": datetime.datetime(2026, 11, 2, 9)}, "start"),  # naive
        ({"start": chicago(2026, 3, 8, 2, 30)}, "start"),  # the clocks skip it
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"restriction": "no-such-calendar"}, "restriction"),
        ({"position": -1}, "position"),
    ],
)
def test_save_layer_refuses_naming_the_field(
    first_responder: OnCallSchedule, ravi: Person, change: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {
        "position": 1,
        "people": [ravi],
        "shift_length_hours": 24,
        "start": chicago(2026, 11, 2, 9),
        "timezone": "America/Chicago",
    }
    values.update(change)
    with pytest.raises(Invalid) as caught:
        services.save_layer(actor=None, schedule=first_responder, **values)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert first_responder.layers.count() == 1


def test_a_person_not_on_the_team_is_refused(
    first_responder: OnCallSchedule, ravi: Person, jonas: Person
) -> None:
    team_services.update_person(actor=None, person=jonas, is_active=False)
    jonas.refresh_from_db()
    with pytest.raises(Invalid) as caught:
        services.save_layer(
            actor=None,
            schedule=first_responder,
            position=1,
            people=[ravi, jonas],
            shift_length_hours=24,
            start=chicago(2026, 11, 2, 9),
            timezone="America/Chicago",
        )
    assert caught.value.field == "people"
    with pytest.raises(Invalid) as caught:
        services.add_override(
            actor=None,
            schedule=first_responder,
            person=jonas,
            start=chicago(2026, 11, 4, 9),
            end=chicago(2026, 11, 4, 17),
        )
    assert caught.value.field == "person"


def test_delete_layer_is_audited(first_responder: OnCallSchedule) -> None:
    services.delete_layer(actor=None, layer=first_responder.layers.get())
    assert not ScheduleLayer.objects.exists()
    entry = AuditEntry.objects.filter(action="oncall.layer.delete").get()
    assert entry.target_label == "infrastructure-oncall layer 0"
    assert entry.changes["shift_length_hours"] == [WEEK, None]


# --- who is on call --------------------------------------------------------------------------


def test_engine_schedule_is_built_from_the_rows(
    first_responder: OnCallSchedule, ravi: Person, jonas: Person
) -> None:
    schedule = selectors.engine_schedule(first_responder)
    assert isinstance(schedule, Schedule)
    (layer,) = schedule.layers
    assert layer.rotation.people == (str(ravi.pk), str(jonas.pk))
    assert layer.rotation.shift_length == datetime.timedelta(weeks=1)
    assert layer.restriction is None


def test_on_call_now_at_pinned_instants_and_across_the_dst_change(
    first_responder: OnCallSchedule,
    ravi: Person,
    jonas: Person,
    clock: Callable[[datetime.datetime], None],
) -> None:
    key = first_responder.key
    assert selectors.on_call_now(key, now=chicago(2026, 11, 2, 8, 59)) is None  # not started
    assert selectors.on_call_now(key, now=chicago(2026, 11, 2, 9)) == ravi
    assert selectors.on_call_now(key, now=chicago(2026, 11, 9, 8, 59)) == ravi
    # The week of 1 November held the clock change; the handoff is still 09:00 on the clock.
    assert selectors.on_call_now(key, now=chicago(2026, 11, 9, 9)) == jonas
    clock(chicago(2026, 11, 17, 3))
    assert selectors.on_call_now(key) == ravi  # timezone.now() by default
    with pytest.raises(NotFound):
        selectors.on_call_now("nope")


def test_until_and_next(first_responder: OnCallSchedule, ravi: Person, jonas: Person) -> None:
    detail = selectors.on_call_now_detail(first_responder, now=chicago(2026, 11, 5, 12))
    assert (detail.person, detail.until, detail.next_person) == (
        ravi,
        chicago(2026, 11, 9, 9),
        jonas,
    )


def test_an_override_wins_and_the_next_is_the_rotation_again(
    first_responder: OnCallSchedule, ravi: Person, jonas: Person, cse: Person
) -> None:
    services.add_override(
        actor=cse.user,
        schedule=first_responder,
        person=cse,
        start=chicago(2026, 11, 5, 8),
        end=chicago(2026, 11, 6, 8),
        reason="Ravi at the dentist",
        created_by=cse,
    )
    assert selectors.on_call_now(first_responder.key, now=chicago(2026, 11, 5, 12)) == cse
    detail = selectors.on_call_now_detail(first_responder, now=chicago(2026, 11, 5, 12))
    assert (detail.until, detail.next_person) == (chicago(2026, 11, 6, 8), ravi)
    rows = selectors.final_schedule_rows(
        first_responder, chicago(2026, 11, 5), chicago(2026, 11, 7)
    )
    assert [(r.person, r.source) for r in rows] == [
        (ravi, "layer"),
        (cse, "override"),
        (ravi, "layer"),
    ]
    assert rows[0].layer == 0
    assert rows[1].layer is None


def test_gaps_of_a_business_hours_layer(
    developer_on_call: OnCallSchedule, clock: Callable[[datetime.datetime], None]
) -> None:
    schedule = developer_on_call
    assert selectors.on_call_now(schedule.key, now=chicago(2026, 11, 3, 20)) is None
    gaps = selectors.upcoming_gaps(schedule, days=2, now=chicago(2026, 11, 3, 12))
    assert [(g.start, g.end, g.source) for g in gaps] == [
        (chicago(2026, 11, 3, 17), chicago(2026, 11, 4, 9), "gap"),
        (chicago(2026, 11, 4, 17), chicago(2026, 11, 5, 9), "gap"),
    ]
    clock(chicago(2026, 11, 3, 12))
    assert len(selectors.upcoming_gaps(schedule, days=2)) == 2


# --- overrides -------------------------------------------------------------------------------


def test_add_and_remove_override_are_audited(first_responder: OnCallSchedule, cse: Person) -> None:
    override = services.add_override(
        actor=cse.user,
        schedule=first_responder,
        person=cse,
        start=chicago(2026, 11, 5, 8),
        end=chicago(2026, 11, 6, 8),
        reason=" covering ",
        created_by=cse,
    )
    assert override.reason == "covering"
    created = AuditEntry.objects.filter(action="oncall.override.create").get()
    assert created.actor_label == "lena"
    assert created.changes["person"] == [None, cse.pk]
    services.remove_override(actor=cse.user, override=override)
    assert not ScheduleOverride.objects.exists()
    assert AuditEntry.objects.filter(action="oncall.override.delete").count() == 1


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (chicago(2026, 11, 5, 12), chicago(2026, 11, 6, 12), "start"),  # starts inside
        (chicago(2026, 11, 4, 12), chicago(2026, 11, 5, 12), "end"),  # runs into it
        (chicago(2026, 11, 4, 12), chicago(2026, 11, 7, 12), "end"),  # covers it
        (chicago(2026, 11, 5, 10), chicago(2026, 11, 5, 11), "start"),  # inside it
    ],
)
def test_an_overlapping_override_is_refused_naming_the_field(
    first_responder: OnCallSchedule,
    cse: Person,
    jonas: Person,
    start: datetime.datetime,
    end: datetime.datetime,
    field: str,
) -> None:
    services.add_override(
        actor=None,
        schedule=first_responder,
        person=cse,
        start=chicago(2026, 11, 5, 8),
        end=chicago(2026, 11, 6, 8),
    )
    with pytest.raises(Invalid) as caught:
        services.add_override(
            actor=None, schedule=first_responder, person=jonas, start=start, end=end
        )
    assert caught.value.field == field
    assert "Lena Park" in caught.value.message
    assert ScheduleOverride.objects.count() == 1
    assert AuditEntry.objects.filter(action="oncall.override.create").count() == 1


def test_touching_overrides_and_other_schedules_are_fine(
    first_responder: OnCallSchedule, cse: Person, jonas: Person
) -> None:
    other = services.save_schedule(actor=None, key="premium-support", name="Premium")
    span = {"start": chicago(2026, 11, 5, 8), "end": chicago(2026, 11, 6, 8)}
    services.add_override(actor=None, schedule=first_responder, person=cse, **span)
    services.add_override(actor=None, schedule=other, person=cse, **span)
    services.add_override(
        actor=None,
        schedule=first_responder,
        person=jonas,
        start=chicago(2026, 11, 6, 8),
        end=chicago(2026, 11, 6, 20),
    )
    assert ScheduleOverride.objects.count() == 3


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (chicago(2026, 11, 5, 8), chicago(2026, 11, 5, 8), "end"),
        (chicago(2026, 11, 5, 8), chicago(2026, 11, 4, 8), "end"),
        (datetime.datetime(2026, 11, 5, 8), chicago(2026, 11, 6, 8), "start"),
    ],
)
def test_a_bad_span_is_refused(
    first_responder: OnCallSchedule,
    cse: Person,
    start: datetime.datetime,
    end: datetime.datetime,
    field: str,
) -> None:
    with pytest.raises(Invalid) as caught:
        services.add_override(
            actor=None, schedule=first_responder, person=cse, start=start, end=end
        )
    assert caught.value.field == field
    assert not ScheduleOverride.objects.exists()

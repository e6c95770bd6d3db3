"""The alarms pages and API: the list with the response targets, an alarm with who was paged,
Acknowledge / Resolve by the rules of the escalation (403 for someone not paged, 409 on a
resolved alarm), bad input answered 4xx naming the field, permission before lookup."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from ceres.oncall import escalation
from ceres.oncall.models import Alarm, AlarmIntegration
from ceres.team.models import Person
from tests.accounts.test_api import bearer
from tests.oncall.conftest import NIGHT, fire

pytestmark = pytest.mark.django_db

API = "/api/v1/oncall"


def grant(person: Person, *codenames: str) -> None:
    person.user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="oncall", codename__in=codenames)
    )


@pytest.fixture
def on_call(people: dict[str, Person]) -> Person:
    """Jonas, on call the night of the alarm, who may see alarms."""
    jonas = people["jonas"]
    grant(jonas, "view_alarm")
    return Person.objects.get(pk=jonas.pk)


@pytest.fixture
def alarm(integration: AlarmIntegration, clock: Callable[[datetime.datetime], None]) -> Alarm:
    clock(NIGHT + datetime.timedelta(minutes=5))
    return fire(integration, NIGHT)


def login(client: Client, person: Person) -> Client:
    client.force_login(person.user)
    return client


# --- pages ---------------------------------------------------------------------------------------


def test_the_list_shows_open_alarms_and_the_targets(
    client: Client, on_call: Person, alarm: Alarm
) -> None:
    page = login(client, on_call).get("/oncall/alarms/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-alarm="{alarm.pk}"' in html
    assert "db-cpu high" in html
    assert "unacknowledged" in html
    resolved = client.get("/oncall/alarms/?state=resolved").content.decode()
    assert f'data-alarm="{alarm.pk}"' not in resolved


def test_an_unknown_state_is_400_naming_it(client: Client, on_call: Person) -> None:
    page = login(client, on_call).get("/oncall/alarms/?state=sleeping")
    assert page.status_code == 422
    assert "state" in page.content.decode()


def test_the_alarm_page_shows_who_was_paged_and_acknowledge(
    client: Client, on_call: Person, alarm: Alarm
) -> None:
    html = login(client, on_call).get(f"/oncall/alarms/{alarm.pk}/").content.decode()
    assert "Jonas Berg" in html
    assert "slack, sms" in html
    assert "data-ack" in html
    assert "data-resolve" in html
    answer = client.post(f"/oncall/alarms/{alarm.pk}/acknowledge/")
    assert answer.status_code == 302
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.ACKNOWLEDGED
    assert alarm.acknowledged_by == on_call
    assert "data-ack" not in client.get(f"/oncall/alarms/{alarm.pk}/").content.decode()


def test_someone_not_paged_sees_no_button_and_is_refused(
    client: Client, people: dict[str, Person], alarm: Alarm
) -> None:
    ravi = people["ravi"]
    grant(ravi, "view_alarm")
    login(client, ravi)
    assert "data-ack" not in client.get(f"/oncall/alarms/{alarm.pk}/").content.decode()
    refused = client.post(f"/oncall/alarms/{alarm.pk}/acknowledge/")
    assert refused.status_code == 403
    assert "was not paged" in refused.content.decode()
    assert client.post(f"/oncall/alarms/{alarm.pk}/resolve/").status_code == 403
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.FIRING


def test_whoever_may_change_alarms_may_resolve(
    client: Client, people: dict[str, Person], alarm: Alarm
) -> None:
    ravi = people["ravi"]
    grant(ravi, "view_alarm", "change_alarm")
    assert login(client, ravi).post(f"/oncall/alarms/{alarm.pk}/resolve/").status_code == 302
    alarm.refresh_from_db()
    assert alarm.status == Alarm.Status.RESOLVED
    assert alarm.resolved_by == ravi


def test_pages_need_the_permission(client: Client, people: dict[str, Person], alarm: Alarm) -> None:
    login(client, people["ravi"])
    assert client.get("/oncall/alarms/").status_code == 403
    assert client.get(f"/oncall/alarms/{alarm.pk}/").status_code == 403
    assert client.post(f"/oncall/alarms/{alarm.pk}/acknowledge/").status_code == 403


def test_an_unknown_alarm_is_404(client: Client, on_call: Person) -> None:
    assert login(client, on_call).get("/oncall/alarms/999999/").status_code == 404
    assert client.post("/oncall/alarms/999999/acknowledge/").status_code == 404


def test_get_on_a_button_is_405(client: Client, on_call: Person, alarm: Alarm) -> None:
    assert login(client, on_call).get(f"/oncall/alarms/{alarm.pk}/acknowledge/").status_code == 405


# --- API -----------------------------------------------------------------------------------------


def test_api_lists_shows_and_acknowledges(on_call: Person, alarm: Alarm, client: Client) -> None:
    listed = client.get(f"{API}/alarms", **bearer(on_call))
    assert listed.status_code == 200, listed.content
    body = listed.json()
    assert body["count"] == 1
    assert body["items"][0]["status"] == "firing"
    assert body["items"][0]["policy"] == "infrastructure-alarm"
    one = client.get(f"{API}/alarms/{alarm.pk}", **bearer(on_call)).json()
    assert [(p["person"]["name"], p["via"]) for p in one["pages"]] == [
        ("Jonas Berg", ["slack", "sms"])
    ]
    acked = client.post(f"{API}/alarms/{alarm.pk}/acknowledge", **bearer(on_call))
    assert acked.status_code == 200, acked.content
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["next_escalation_at"] is None


def test_api_refuses_an_acknowledgement_from_someone_not_paged(
    client: Client, vp: Person, alarm: Alarm
) -> None:
    refused = client.post(f"{API}/alarms/{alarm.pk}/acknowledge", **bearer(vp))
    assert refused.status_code == 403
    assert refused.json()["field"] == "person"
    # The VP may change alarms: resolving is allowed, then acknowledging is a conflict.
    resolved = client.post(f"{API}/alarms/{alarm.pk}/resolve", **bearer(vp))
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    conflict = client.post(f"{API}/alarms/{alarm.pk}/acknowledge", **bearer(vp))
    assert conflict.status_code == 409


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=sleeping", "state"),
        ("page=0", "page"),
        ("page_size=100000", "page_size"),
    ],
)
def test_api_bad_filters_are_422_naming_the_field(
    client: Client, on_call: Person, query: str, field: str
) -> None:
    answer = client.get(f"{API}/alarms?{query}", **bearer(on_call))
    assert answer.status_code == 422
    assert field in answer.content.decode()


def test_api_unknown_alarm_is_404_and_permission_comes_first(
    client: Client, on_call: Person, people: dict[str, Person], alarm: Alarm
) -> None:
    assert client.get(f"{API}/alarms/999999", **bearer(on_call)).status_code == 404
    assert client.post(f"{API}/alarms/999999/acknowledge", **bearer(on_call)).status_code == 404
    outsider = people["ravi"]
    assert client.get(f"{API}/alarms/999999", **bearer(outsider)).status_code == 403
    assert client.get(f"{API}/alarms/{alarm.pk}", **bearer(outsider)).status_code == 403
    assert client.get(f"{API}/alarms/not-a-number", **bearer(on_call)).status_code in (404, 422)


def test_api_response_targets(
    client: Client, on_call: Person, integration: AlarmIntegration, alarm: Alarm
) -> None:
    escalation.acknowledge(
        actor=None,
        alarm_id=alarm.pk,
        person=on_call,
        now=NIGHT + datetime.timedelta(minutes=10),
    )
    start, end = (
        (NIGHT - datetime.timedelta(hours=1)).isoformat(),
        (NIGHT + datetime.timedelta(hours=1)).isoformat(),
    )
    answer = client.get(f"{API}/response-targets", {"start": start, "end": end}, **bearer(on_call))
    assert answer.status_code == 200, answer.content
    assert answer.json()["met"] == 1
    assert answer.json()["median_minutes_to_acknowledge"] == 10
    backwards = client.get(
        f"{API}/response-targets", {"start": end, "end": start}, **bearer(on_call)
    )
    assert backwards.status_code == 422
    assert backwards.json()["field"] == "end"
    naive = client.get(
        f"{API}/response-targets", {"start": "2026-11-24T00:00", "end": end}, **bearer(on_call)
    )
    assert naive.status_code == 422

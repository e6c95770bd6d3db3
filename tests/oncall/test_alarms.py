"""Alarms in: the receiver at /integrations/alerts/<token>, its formats and deduplication.

Alertmanager is tested by replaying a recorded-style notification (fixtures/): two alerts
firing, then the same two resolved."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Invalid
from ceres.oncall import alarm_formats, alarms
from ceres.oncall.models import Alarm, AlarmIntegration, OnCallSchedule
from ceres.team.tokens import hash_token

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def post(client: Client, token: str, body: bytes | dict[str, Any]) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"/integrations/alerts/{token}", data, content_type="application/json")


@pytest.fixture
def generic() -> tuple[AlarmIntegration, str]:
    return alarms.create_integration(actor=None, name="Uptime checks", kind="generic")


@pytest.fixture
def alertmanager(first_responder: OnCallSchedule) -> tuple[AlarmIntegration, str]:
    return alarms.create_integration(
        actor=None, name="Prometheus", kind="alertmanager", schedule=first_responder
    )


# --- integrations and tokens ---------------------------------------------------------------


def test_the_token_is_shown_once_and_stored_hashed(generic: tuple[AlarmIntegration, str]) -> None:
    integration, token = generic
    assert len(token) >= 40
    assert integration.token_hash == hash_token(token) != token
    assert integration.token_prefix == token[:8]
    entry = AuditEntry.objects.get(action="oncall.integration.create")
    assert token not in json.dumps(entry.changes)
    assert integration.token_hash not in json.dumps(entry.changes)


@pytest.mark.parametrize(
    ("name", "kind", "field"),
    [("", "generic", "name"), ("x" * 101, "generic", "name"), ("Nagios", "nagios", "kind")],
)
def test_create_integration_refuses_bad_input(name: str, kind: str, field: str) -> None:
    with pytest.raises(Invalid) as refused:
        alarms.create_integration(actor=None, name=name, kind=kind)
    assert refused.value.field == field
    assert not AlarmIntegration.objects.exists()


@pytest.mark.parametrize(
    "token", ["wrong-token-wrong-token-wrong-token", "short", "a" * 43, "%00" * 20]
)
def test_a_wrong_token_is_401_and_nothing_is_stored(
    client: Client, generic: tuple[AlarmIntegration, str], token: str, caplog: Any
) -> None:
    response = post(client, token, {"title": "Disk full"})
    assert response.status_code == 401
    assert response.json()["field"] == "token"
    assert not Alarm.objects.exists()
    assert "alarm refused" in caplog.text


def test_an_inactive_integration_is_401(
    client: Client, generic: tuple[AlarmIntegration, str]
) -> None:
    integration, token = generic
    AlarmIntegration.objects.filter(pk=integration.pk).update(is_active=False)
    response = post(client, token, {"title": "Disk full"})
    assert response.status_code == 401
    assert response.json()["field"] == "token"
    assert not Alarm.objects.exists()


def test_only_post_is_accepted(client: Client, generic: tuple[AlarmIntegration, str]) -> None:
    assert client.get(f"/integrations/alerts/{generic[1]}").status_code == 405


# --- the generic format --------------------------------------------------------------------


def test_a_generic_alarm_fires(client: Client, generic: tuple[AlarmIntegration, str]) -> None:
    integration, token = generic
    response = post(
        client,
        token,
        {
            "title": "checkout.example.com is down",
            "severity": "critical",
            "labels": {"region": "eu"},
        },
    )
    assert response.status_code == 202
    alarm = Alarm.objects.get()
    assert response.json() == {"alarms": [{"id": alarm.pk, "status": "firing", "count": 1}]}
    assert alarm.integration == integration
    assert alarm.dedup_key == "checkout.example.com is down"  # the title, without a key
    assert alarm.labels == {"region": "eu"}
    assert alarm.first_seen_at == alarm.last_seen_at
    assert alarm.resolved_at is None
    assert AuditEntry.objects.filter(action="oncall.alarm.create", target_id=str(alarm.pk)).exists()


def test_a_flood_of_one_alarm_is_one_alarm_with_a_count(
    client: Client, generic: tuple[AlarmIntegration, str]
) -> None:
    token = generic[1]
    body = {"dedup_key": "db-2/disk", "title": "Disk 95% full on db-2", "severity": "warning"}
    for _ in range(50):
        assert post(client, token, body).status_code == 202
    alarm = Alarm.objects.get()
    assert alarm.count == 50
    assert alarm.last_seen_at >= alarm.first_seen_at
    assert AuditEntry.objects.filter(action="oncall.alarm.create").count() == 1


def test_resolved_resolves_and_the_next_firing_opens_a_new_alarm(
    client: Client, generic: tuple[AlarmIntegration, str]
) -> None:
    token = generic[1]
    post(client, token, {"dedup_key": "api", "title": "API down"})
    post(client, token, {"dedup_key": "api", "title": "API down"})
    response = post(client, token, {"dedup_key": "api", "title": "API down", "status": "resolved"})
    assert response.status_code == 202
    alarm = Alarm.objects.get()
    assert response.json() == {"alarms": [{"id": alarm.pk, "status": "resolved", "count": 2}]}
    assert alarm.resolved_at is not None
    assert AuditEntry.objects.filter(action="oncall.alarm.resolve").count() == 1

    response = post(client, token, {"dedup_key": "api", "title": "API down"})
    assert Alarm.objects.count() == 2
    assert response.json()["alarms"][0]["count"] == 1


def test_resolved_for_nothing_open_is_accepted_and_ignored(
    client: Client, generic: tuple[AlarmIntegration, str]
) -> None:
    response = post(client, generic[1], {"title": "API down", "status": "resolved"})
    assert response.status_code == 202
    assert response.json() == {"alarms": []}
    assert not Alarm.objects.exists()


def test_keys_are_per_integration(client: Client, generic: tuple[AlarmIntegration, str]) -> None:
    _, other = alarms.create_integration(actor=None, name="Pingdom", kind="generic")
    post(client, generic[1], {"title": "API down"})
    post(client, other, {"title": "API down"})
    assert Alarm.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"severity": "critical"}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": 42}, "title"),
        ({"title": "x" * 501}, "title"),
        ({"title": "API down", "severity": "sev1"}, "severity"),
        ({"title": "API down", "severity": None}, "severity"),
        ({"title": "API down", "status": "acknowledged"}, "status"),
        ({"title": "API down", "dedup_key": ""}, "dedup_key"),
        ({"title": "API down", "dedup_key": 7}, "dedup_key"),
        ({"title": "API down", "dedup_key": "k" * 201}, "dedup_key"),
        ({"title": "API down", "labels": ["a"]}, "labels"),
        ({"title": "API down", "labels": {"region": 1}}, "labels"),
        ({"title": "API down", "labels": {"": "x"}}, "labels"),
    ],
)
def test_bad_generic_input_is_422_naming_the_field(
    client: Client, generic: tuple[AlarmIntegration, str], body: dict[str, Any], field: str
) -> None:
    response = post(client, generic[1], body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["message"]
    assert not Alarm.objects.exists()


@pytest.mark.parametrize(
    "body", [b"", b"{", b"not json", b"\xff\xfe", b"[1, 2]", b'"title"', b"null", b"[" * 100_000]
)
def test_a_body_that_is_not_a_json_object_is_400(
    client: Client, generic: tuple[AlarmIntegration, str], body: bytes
) -> None:
    response = post(client, generic[1], body)
    assert response.status_code == 400
    assert response.json()["field"] == "body"
    assert not Alarm.objects.exists()


def test_a_nul_character_is_400_not_a_database_error(
    client: Client, generic: tuple[AlarmIntegration, str]
) -> None:
    response = post(client, generic[1], {"title": "API down", "extra": {"note": "a\x00b"}})
    assert response.status_code == 400
    assert response.json()["field"] == "body"
    assert not Alarm.objects.exists()


def test_a_body_over_the_limit_is_413(
    client: Client, generic: tuple[AlarmIntegration, str]
) -> None:
    body = {"title": "API down", "padding": "x" * 1_000_001}
    response = post(client, generic[1], body)
    assert response.status_code == 413
    assert response.json()["field"] == "body"
    assert not Alarm.objects.exists()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_junk_object = st.fixed_dictionaries(
    {},
    optional={
        "title": _json,
        "dedup_key": _json,
        "severity": _json | st.sampled_from(alarm_formats.SEVERITIES),
        "status": _json | st.sampled_from(alarm_formats.STATUSES),
        "labels": _json,
        "alerts": st.lists(_json, max_size=3),
        "version": _json,
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_json | _junk_object, raw=st.binary(max_size=40))
def test_junk_is_never_a_500(
    client: Client,
    generic: tuple[AlarmIntegration, str],
    alertmanager: tuple[AlarmIntegration, str],
    body: Any,
    raw: bytes,
) -> None:
    for _, token in (generic, alertmanager):
        for data in (json.dumps(body).encode(), raw):
            response = post(client, token, data)
            assert response.status_code in (202, 400, 422), response.content
            if response.status_code != 202:
                assert response.json()["field"]


# --- Alertmanager --------------------------------------------------------------------------


def test_an_alertmanager_batch_is_one_alarm_per_alert(
    client: Client, alertmanager: tuple[AlarmIntegration, str]
) -> None:
    response = post(client, alertmanager[1], fixture("alertmanager_firing.json"))
    assert response.status_code == 202
    assert [a["status"] for a in response.json()["alarms"]] == ["firing", "firing"]
    errors = Alarm.objects.get(dedup_key="7c1d5f3a9be2c4d1")
    disk = Alarm.objects.get(dedup_key="e93a0b2f6d7c1185")
    assert errors.title == "API 5xx rate above 5% on api-1"  # annotations.summary
    assert errors.severity == "critical"
    assert disk.title == "DiskSpaceLow"  # no summary: the alertname
    assert disk.severity == "warning"
    assert disk.labels["mountpoint"] == "/var/lib/postgresql"
    assert errors.payload["alert"]["labels"]["instance"] == "api-1.prod.internal:9100"
    assert errors.payload["groupKey"] == '{}:{job="api"}'


def test_alertmanager_repeats_count_and_resolved_resolves(
    client: Client, alertmanager: tuple[AlarmIntegration, str]
) -> None:
    token = alertmanager[1]
    post(client, token, fixture("alertmanager_firing.json"))
    post(client, token, fixture("alertmanager_firing.json"))  # the repeat_interval resend
    assert sorted(Alarm.objects.values_list("count", flat=True)) == [2, 2]
    response = post(client, token, fixture("alertmanager_resolved.json"))
    assert response.status_code == 202
    assert [a["status"] for a in response.json()["alarms"]] == ["resolved", "resolved"]
    assert set(Alarm.objects.values_list("status", flat=True)) == {"resolved"}
    assert Alarm.objects.filter(resolved_at__isnull=True).count() == 0
    # A resolved notification delivered again changes nothing.
    assert post(client, token, fixture("alertmanager_resolved.json")).json() == {"alarms": []}
    assert Alarm.objects.count() == 2


def test_an_alert_without_a_fingerprint_is_keyed_by_its_labels(
    client: Client, alertmanager: tuple[AlarmIntegration, str]
) -> None:
    body = fixture("alertmanager_firing.json")
    for alert in body["alerts"]:
        del alert["fingerprint"]
    post(client, alertmanager[1], body)
    body["alerts"][0]["labels"] = dict(reversed(body["alerts"][0]["labels"].items()))
    post(client, alertmanager[1], body)
    assert sorted(Alarm.objects.values_list("count", flat=True)) == [2, 2]
    assert all(len(key) == 64 for key in Alarm.objects.values_list("dedup_key", flat=True))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body: body.pop("alerts"), "alerts"),
        (lambda body: body.update(alerts={"a": 1}), "alerts"),
        (lambda body: body.update(version="3"), "version"),
        (lambda body: body["alerts"].append("alert"), "alerts[2]"),
        (lambda body: body["alerts"][1].update(labels={"severity": 3}), "alerts[1].labels"),
        (lambda body: body["alerts"][0].update(status="pending"), "alerts[0].status"),
        (lambda body: body["alerts"][0].update(fingerprint=12), "alerts[0].fingerprint"),
        (lambda body: body["alerts"][0].update(annotations="summary"), "alerts[0].annotations"),
    ],
)
def test_a_bad_alertmanager_notification_is_422_and_stores_nothing(
    client: Client, alertmanager: tuple[AlarmIntegration, str], change: Any, field: str
) -> None:
    body = fixture("alertmanager_firing.json")
    change(body)
    response = post(client, alertmanager[1], body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not Alarm.objects.exists()


def test_a_generic_body_to_an_alertmanager_integration_is_422(
    client: Client, alertmanager: tuple[AlarmIntegration, str]
) -> None:
    response = post(client, alertmanager[1], {"title": "API down"})
    assert response.status_code == 422
    assert response.json()["field"] == "alerts"


# --- concurrency ---------------------------------------------------------------------------


def test_a_new_alarm_opened_meanwhile_is_updated_not_duplicated(
    generic: tuple[AlarmIntegration, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race, made to happen: the lookup finds nothing (another delivery has not committed
    yet), the insert then meets that delivery's row; the retry updates it."""
    integration = generic[0]
    [event] = alarm_formats.generic({"title": "API down"})
    alarms.ingest(integration=integration, events=[event])
    real = alarms._unresolved
    calls: list[str] = []

    def miss_once(integration: AlarmIntegration, dedup_key: str) -> Alarm | None:
        calls.append(dedup_key)
        return None if len(calls) == 1 else real(integration, dedup_key)

    monkeypatch.setattr(alarms, "_unresolved", miss_once)
    [alarm] = alarms.ingest(integration=integration, events=[event])
    assert len(calls) == 2
    assert alarm.count == 2
    assert Alarm.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_deliveries_of_a_new_alarm_make_one_alarm() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    integration, _ = alarms.create_integration(actor=None, name="Uptime", kind="generic")
    [event] = alarm_formats.generic({"title": "API down"})
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def deliver() -> None:
        try:
            start.wait()
            alarms.ingest(integration=integration, events=[event])
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    alarm = Alarm.objects.get()
    assert alarm.count == 8

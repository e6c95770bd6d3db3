"""Managing alarm integrations: the services (add, update, switch off and on, rotate the token),
the page at /oncall/integrations/ and the API at /api/v1/oncall/integrations.

What matters most: the URL made for an integration takes alarms; it is shown once and never on
a list; a rotation kills the old token at once; a deactivated integration answers 401 until it
is reactivated; every bad input is a 4xx naming the field with nothing written; a 403 comes
before any lookup."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Invalid
from ceres.oncall import alarms, integrations
from ceres.oncall.alarm_formats import AlarmEvent
from ceres.oncall.models import Alarm, AlarmIntegration, EscalationPolicy, OnCallSchedule
from ceres.team import services as team_services
from ceres.team.models import Person

pytestmark = pytest.mark.django_db

PAGE = "/oncall/integrations/"
API = "/api/v1/oncall/integrations"
ALARM = {"title": "checkout.example.com is down", "dedup_key": "checkout-http"}


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def policy(db: None) -> EscalationPolicy:
    return EscalationPolicy.objects.create(key="handbook", name="Escalations (in order)")


@pytest.fixture
def other_policy(db: None) -> EscalationPolicy:
    return EscalationPolicy.objects.create(key="quiet-hours", name="Quiet hours")


@pytest.fixture
def uptime() -> tuple[AlarmIntegration, str]:
    return integrations.add_integration(actor=None, name="Uptime checks", kind="generic")


@pytest.fixture
def watcher(make_person: Callable[..., Person]) -> Person:
    """Someone who may see integrations and nothing more."""
    team_services.save_role(
        actor=None,
        key="watcher",
        name="Watcher",
        permission_names=["oncall.view_alarmintegration", "oncall.view_oncallschedule"],
    )
    return make_person("watcher", name="Wes Watcher", email="wes@example.com", username="wes")


@pytest.fixture
def ada(client: Client, vp: Person) -> Client:
    """The VP (every permission), logged in."""
    client.force_login(vp.user)
    return client


def bearer(person: Person) -> dict[str, Any]:
    _, token = team_services.create_api_token(actor=None, user=person.user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client: Client, url: str, body: Any, **headers: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def patch(client: Client, url: str, body: Any, **headers: Any) -> Any:
    return client.patch(url, data=json.dumps(body), content_type="application/json", **headers)


def send_alarm(client: Client, token: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(
        f"/integrations/alerts/{token}",
        json.dumps(body or ALARM),
        content_type="application/json",
    )


def send_to_url(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    """Post an alarm to a full URL as shown (BASE_URL + path), through the test client."""
    assert url.startswith(settings.BASE_URL.rstrip("/") + "/integrations/alerts/"), url
    return client.post(
        urlsplit(url).path, json.dumps(body or ALARM), content_type="application/json"
    )


def audit_count() -> int:
    return AuditEntry.objects.count()


def snapshot_of(integration: AlarmIntegration) -> tuple[Any, ...]:
    row = AlarmIntegration.objects.get(pk=integration.pk)
    return (
        row.name,
        row.kind,
        row.token_hash,
        row.schedule_id,
        row.escalation_policy_id,
        row.is_active,
    )


# --- services --------------------------------------------------------------------------------


def test_add_integration_sets_schedule_and_policy_in_one_go(
    client: Client, first_responder: OnCallSchedule, policy: EscalationPolicy
) -> None:
    integration, token = integrations.add_integration(
        actor=None,
        name="  Prometheus  ",
        kind="alertmanager",
        schedule=first_responder,
        escalation_policy=policy,
    )
    row = AlarmIntegration.objects.get()
    assert (row.name, row.kind, row.schedule, row.escalation_policy) == (
        "Prometheus",
        "alertmanager",
        first_responder,
        policy,
    )
    assert integration.escalation_policy == policy
    assert alarms.integration_for_token(token) == row
    actions = list(
        AuditEntry.objects.filter(target_type="oncall.alarmintegration")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["oncall.integration.create", "oncall.integration.update"]
    assert AuditEntry.objects.get(action="oncall.integration.update").changes == {
        "escalation_policy": [None, policy.pk]
    }
    for entry in AuditEntry.objects.all():
        assert token not in json.dumps(entry.changes)


def test_the_url_of_a_new_integration_takes_alarms(client: Client) -> None:
    _, token = integrations.add_integration(actor=None, name="Uptime", kind="generic")
    url = integrations.alert_url(token)
    assert url == f"{settings.BASE_URL.rstrip('/')}/integrations/alerts/{token}"
    response = send_to_url(client, url)
    assert response.status_code == 202, response.content
    assert Alarm.objects.get().title == ALARM["title"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Nagios\x00"}, "name"),
        ({"name": 7}, "name"),
        ({"kind": "nagios"}, "kind"),
        ({"schedule": "infrastructure-oncall"}, "schedule"),
        ({"schedule": OnCallSchedule(key="unsaved", name="Unsaved")}, "schedule"),
        ({"escalation_policy": "handbook"}, "escalation_policy"),
        ({"escalation_policy": EscalationPolicy(key="unsaved", name="x")}, "escalation_policy"),
    ],
)
def test_add_integration_refuses_bad_input_and_writes_nothing(
    changes: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {"name": "Uptime", "kind": "generic", **changes}
    with pytest.raises(Invalid) as refused:
        integrations.add_integration(actor=None, **values)
    assert refused.value.field == field
    assert not AlarmIntegration.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="oncall.integration").exists()


def test_update_renames_and_repoints_and_audits_what_changed(
    uptime: tuple[AlarmIntegration, str],
    first_responder: OnCallSchedule,
    policy: EscalationPolicy,
    vp: Person,
) -> None:
    integration, token = uptime
    updated = integrations.update_integration(
        actor=vp.user,
        integration=integration,
        name="Uptime (production)",
        schedule=first_responder,
        escalation_policy=policy,
    )
    assert updated is integration
    assert (integration.name, integration.schedule, integration.escalation_policy) == (
        "Uptime (production)",
        first_responder,
        policy,
    )
    row = AlarmIntegration.objects.get()
    assert (row.name, row.schedule_id, row.escalation_policy_id) == (
        "Uptime (production)",
        first_responder.pk,
        policy.pk,
    )
    entry = AuditEntry.objects.get(action="oncall.integration.update")
    assert entry.actor == vp.user
    assert entry.changes == {
        "name": ["Uptime checks", "Uptime (production)"],
        "schedule": [None, first_responder.pk],
        "escalation_policy": [None, policy.pk],
    }
    # Left out: unchanged; None: cleared; the same again: nothing audited.
    integrations.update_integration(actor=None, integration=integration, schedule=None)
    row.refresh_from_db()
    assert (row.name, row.schedule_id, row.escalation_policy_id) == (
        "Uptime (production)",
        None,
        policy.pk,
    )
    entries = audit_count()
    integrations.update_integration(actor=None, integration=integration, name="Uptime (production)")
    assert audit_count() == entries
    assert alarms.integration_for_token(token) == row


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": " \t "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": None}, "name"),
        ({"schedule": "infrastructure-oncall"}, "schedule"),
        ({"schedule": OnCallSchedule(key="unsaved", name="Unsaved")}, "schedule"),
        ({"escalation_policy": 3}, "escalation_policy"),
        (
            {"name": "Fine", "escalation_policy": EscalationPolicy(key="x", name="x")},
            "escalation_policy",
        ),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(
    uptime: tuple[AlarmIntegration, str], changes: dict[str, Any], field: str
) -> None:
    integration, _ = uptime
    before = snapshot_of(integration)
    entries = audit_count()
    with pytest.raises(Invalid) as refused:
        integrations.update_integration(actor=None, integration=integration, **changes)
    assert refused.value.field == field
    assert snapshot_of(integration) == before
    assert audit_count() == entries


def test_services_refuse_an_integration_that_is_not_stored() -> None:
    unsaved = AlarmIntegration(name="Ghost", kind="generic")
    with pytest.raises(Invalid) as refused:
        integrations.update_integration(actor=None, integration=unsaved, name="Boo")
    assert refused.value.field == "integration"
    with pytest.raises(Invalid) as refused:
        integrations.set_active(actor=None, integration=unsaved, active=False)
    assert refused.value.field == "integration"
    with pytest.raises(Invalid) as refused:
        integrations.rotate_token(actor=None, integration=unsaved)
    assert refused.value.field == "integration"


def test_deactivated_answers_401_and_reactivated_works_again(
    client: Client, uptime: tuple[AlarmIntegration, str]
) -> None:
    integration, token = uptime
    integrations.set_active(actor=None, integration=integration, active=False)
    assert integration.is_active is False
    refused = send_alarm(client, token)
    assert refused.status_code == 401
    assert refused.json()["field"] == "token"
    assert not Alarm.objects.exists()

    integrations.set_active(actor=None, integration=integration, active=True)
    assert send_alarm(client, token).status_code == 202
    actions = list(
        AuditEntry.objects.filter(target_type="oncall.alarmintegration")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["oncall.integration.deactivate", "oncall.integration.activate"]
    # Setting what already is: nothing written, nothing audited.
    entries = audit_count()
    integrations.set_active(actor=None, integration=integration, active=True)
    assert audit_count() == entries


@pytest.mark.parametrize("active", ["false", 0, None, "yes"])
def test_set_active_wants_a_boolean(uptime: tuple[AlarmIntegration, str], active: Any) -> None:
    integration, _ = uptime
    with pytest.raises(Invalid) as refused:
        integrations.set_active(actor=None, integration=integration, active=active)
    assert refused.value.field == "active"
    assert AlarmIntegration.objects.get().is_active is True


def test_rotate_kills_the_old_token_at_once_and_the_new_one_works(
    client: Client, uptime: tuple[AlarmIntegration, str], vp: Person
) -> None:
    integration, old = uptime
    new = integrations.rotate_token(actor=vp.user, integration=integration)
    assert new != old
    assert integration.token_prefix == new[:8]
    assert send_alarm(client, old).status_code == 401
    assert send_alarm(client, new).status_code == 202
    entry = AuditEntry.objects.get(action="oncall.integration.rotate_token")
    assert entry.changes == {"token_prefix": [old[:8], new[:8]]}
    assert new not in json.dumps(entry.changes)
    assert integration.token_hash not in json.dumps(entry.changes)


def test_an_inactive_integration_may_be_rotated_and_stays_inactive(
    client: Client, uptime: tuple[AlarmIntegration, str]
) -> None:
    integration, _ = uptime
    integrations.set_active(actor=None, integration=integration, active=False)
    new = integrations.rotate_token(actor=None, integration=integration)
    assert send_alarm(client, new).status_code == 401
    integrations.set_active(actor=None, integration=integration, active=True)
    assert send_alarm(client, new).status_code == 202


def test_the_overview_counts_the_last_7_days_and_the_last_alarm(
    uptime: tuple[AlarmIntegration, str],
) -> None:
    integration, _ = uptime
    quiet = integrations.add_integration(actor=None, name="Quiet", kind="generic")[0]
    now = timezone.now()
    old = now - datetime.timedelta(days=8)
    alarms.ingest(
        integration=integration,
        events=[AlarmEvent(dedup_key="old", title="Old", severity="info", status="firing")],
        now=old,
    )
    for key in ("a", "b"):
        event = AlarmEvent(dedup_key=key, title=key, severity="critical", status="firing")
        alarms.ingest(integration=integration, events=[event], now=now)
    rows = {row.name: row for row in integrations.integrations_overview()}
    assert rows["Uptime checks"].recent_alarms == 2
    assert rows["Uptime checks"].last_alarm_at == now
    assert rows["Quiet"].recent_alarms == 0
    assert rows["Quiet"].last_alarm_at is None
    assert quiet.pk in {row.pk for row in rows.values()}


# --- the page --------------------------------------------------------------------------------


def test_the_page_lists_integrations_without_their_tokens(
    ada: Client,
    uptime: tuple[AlarmIntegration, str],
    first_responder: OnCallSchedule,
    policy: EscalationPolicy,
) -> None:
    integration, token = uptime
    _, prom_token = integrations.add_integration(
        actor=None,
        name="Prometheus",
        kind="alertmanager",
        schedule=first_responder,
        escalation_policy=policy,
    )
    integrations.set_active(actor=None, integration=integration, active=False)
    event = AlarmEvent(dedup_key="k", title="Disk full", severity="warning", status="firing")
    alarms.ingest(integration=integration, events=[event])
    r = ada.get(PAGE)
    assert r.status_code == 200
    html = r.content.decode()
    assert token not in html
    assert prom_token not in html
    assert f"{token[:8]}…" in html
    assert f"{prom_token[:8]}…" in html
    assert "Prometheus Alertmanager" in html
    assert "Generic JSON" in html
    assert "Infrastructure first responder" in html
    assert "Escalations (in order)" in html
    assert "inactive" in html
    row = html.split(f'data-integration="{integration.pk}"')[1].split("</tr>")[0]
    assert '<td class="num">1</td>' in row
    assert "never" not in row
    assert 'name="name"' in html  # the form to add one


def test_the_oncall_page_links_to_integrations(ada: Client) -> None:
    html = ada.get("/oncall/").content.decode()
    assert f'href="{PAGE}"' in html


def test_the_list_page_reads_in_constant_queries(
    ada: Client,
    first_responder: OnCallSchedule,
    policy: EscalationPolicy,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    for n in range(12):
        integrations.add_integration(
            actor=None,
            name=f"Source {n}",
            kind="generic",
            schedule=first_responder,
            escalation_policy=policy,
        )
    with django_assert_max_num_queries(10):
        assert ada.get(PAGE).status_code == 200


def test_adding_on_the_page_shows_the_url_once_with_a_curl_example(
    ada: Client, client: Client, first_responder: OnCallSchedule, policy: EscalationPolicy
) -> None:
    r = ada.post(
        PAGE,
        {
            "name": "Uptime checks",
            "kind": "generic",
            "schedule": first_responder.key,
            "escalation_policy": policy.key,
        },
    )
    assert r.status_code == 200, r.content
    assert r["Cache-Control"] == "no-store"
    integration = AlarmIntegration.objects.get()
    assert (integration.schedule, integration.escalation_policy) == (first_responder, policy)
    html = r.content.decode()
    start = html.index('id="integration-url"')
    url = html[start:].split(">", 1)[1].split("<", 1)[0]
    assert url.startswith(f"{settings.BASE_URL.rstrip('/')}/integrations/alerts/")
    token = url.rsplit("/", 1)[1]
    assert integration.token_prefix == token[:8]
    assert "curl -X POST" in html
    assert 'data-copy="' + url + '"' in html
    assert "webhook_configs" not in html
    # The URL works, and is never shown again.
    assert send_to_url(Client(), url).status_code == 202
    assert token not in ada.get(PAGE).content.decode()
    assert token not in ada.get(f"{PAGE}{integration.pk}/").content.decode()


def test_adding_an_alertmanager_integration_shows_its_receiver(ada: Client) -> None:
    r = ada.post(PAGE, {"name": "Prometheus", "kind": "alertmanager"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "webhook_configs:" in html
    assert "send_resolved: true" in html
    assert "curl -X POST" not in html
    assert AlarmIntegration.objects.get().kind == "alertmanager"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "", "kind": "generic"}, "name"),
        ({"name": "   ", "kind": "generic"}, "name"),
        ({"name": "x" * 101, "kind": "generic"}, "name"),
        ({"name": "a\x00b", "kind": "generic"}, "name"),
        ({"name": "Nagios", "kind": "nagios"}, "kind"),
        ({"name": "Nagios", "kind": ""}, "kind"),
        ({"name": "Uptime", "kind": "generic", "schedule": "nope"}, "schedule"),
        ({"name": "Uptime", "kind": "generic", "escalation_policy": "nope"}, "escalation_policy"),
    ],
)
def test_bad_input_on_the_page_is_shown_on_the_field_and_adds_nothing(
    ada: Client, form: dict[str, str], field: str
) -> None:
    r = ada.post(PAGE, form)
    assert r.status_code in (400, 422), r.status_code
    html = r.content.decode()
    block = html.split(f'data-field="{field}"')[1].split('<div class="field')[0]
    assert 'class="field-error"' in block, block
    assert not AlarmIntegration.objects.exists()
    assert 'id="integration-url"' not in html


def test_editing_on_the_page_renames_and_repoints(
    ada: Client,
    uptime: tuple[AlarmIntegration, str],
    first_responder: OnCallSchedule,
    policy: EscalationPolicy,
) -> None:
    integration, token = uptime
    url = f"{PAGE}{integration.pk}/"
    page = ada.get(url)
    assert page.status_code == 200
    assert token not in page.content.decode()
    r = ada.post(
        url,
        {"name": "Uptime (prod)", "schedule": first_responder.key, "escalation_policy": policy.key},
    )
    assert r.status_code == 302
    assert r["Location"] == url
    row = AlarmIntegration.objects.get()
    assert (row.name, row.schedule, row.escalation_policy) == (
        "Uptime (prod)",
        first_responder,
        policy,
    )
    # Back to none.
    ada.post(url, {"name": "Uptime (prod)", "schedule": "", "escalation_policy": ""})
    row.refresh_from_db()
    assert (row.schedule, row.escalation_policy) == (None, None)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Fine", "schedule": "nope"}, "schedule"),
        ({"name": "Fine", "escalation_policy": "nope"}, "escalation_policy"),
    ],
)
def test_bad_edits_are_shown_on_the_field_and_change_nothing(
    ada: Client, uptime: tuple[AlarmIntegration, str], form: dict[str, str], field: str
) -> None:
    integration, _ = uptime
    before = snapshot_of(integration)
    r = ada.post(f"{PAGE}{integration.pk}/", form)
    assert r.status_code == 422
    block = r.content.decode().split(f'data-field="{field}"')[1].split('<div class="field')[0]
    assert 'class="field-error"' in block
    assert snapshot_of(integration) == before


def test_deactivating_and_activating_on_the_page(
    ada: Client, client: Client, uptime: tuple[AlarmIntegration, str]
) -> None:
    integration, token = uptime
    url = f"{PAGE}{integration.pk}/active/"
    r = ada.post(url, {"active": "false", "next": "list"})
    assert r.status_code == 302
    assert r["Location"] == PAGE
    assert AlarmIntegration.objects.get().is_active is False
    assert send_alarm(Client(), token).status_code == 401
    r = ada.post(url, {"active": "true"})
    assert r.status_code == 302
    assert r["Location"] == f"{PAGE}{integration.pk}/"
    assert send_alarm(Client(), token).status_code == 202
    assert ada.post(url, {"active": "maybe"}).status_code == 422
    assert ada.get(url).status_code == 405


def test_rotating_on_the_page_shows_the_new_url_once(
    ada: Client, uptime: tuple[AlarmIntegration, str]
) -> None:
    integration, old = uptime
    r = ada.post(f"{PAGE}{integration.pk}/rotate-token/")
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store"
    html = r.content.decode()
    url = html.split('id="integration-url"')[1].split(">", 1)[1].split("<", 1)[0]
    new = url.rsplit("/", 1)[1]
    assert new != old
    assert send_alarm(Client(), old).status_code == 401
    assert send_to_url(Client(), url).status_code == 202
    assert new not in ada.get(f"{PAGE}{integration.pk}/").content.decode()
    assert new not in ada.get(PAGE).content.decode()


def test_an_unknown_integration_is_404(ada: Client) -> None:
    assert ada.get(f"{PAGE}999999/").status_code == 404
    assert ada.post(f"{PAGE}999999/rotate-token/").status_code == 404


def test_the_page_asks_for_a_login(client: Client) -> None:
    r = client.get(PAGE)
    assert r.status_code == 302
    assert "/login/" in r["Location"]


def test_without_permission_the_page_is_403_and_nothing_changes(
    client: Client, engineer: Person, uptime: tuple[AlarmIntegration, str]
) -> None:
    integration, _ = uptime
    before = snapshot_of(integration)
    client.force_login(engineer.user)
    base = f"{PAGE}{integration.pk}"
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"name": "Sneaky", "kind": "generic"}).status_code == 403
    assert client.get(f"{base}/").status_code == 403
    assert client.post(f"{base}/", {"name": "Renamed"}).status_code == 403
    assert client.post(f"{base}/active/", {"active": "false"}).status_code == 403
    assert client.post(f"{base}/rotate-token/").status_code == 403
    # Before any lookup: an integration that does not exist is a 403 too.
    assert client.post(f"{PAGE}999999/rotate-token/").status_code == 403
    assert AlarmIntegration.objects.count() == 1
    assert snapshot_of(integration) == before
    assert 'href="/oncall/integrations/"' not in client.get("/oncall/").content.decode()


def test_viewing_alone_shows_no_forms_and_may_not_change(
    client: Client, watcher: Person, uptime: tuple[AlarmIntegration, str]
) -> None:
    integration, _ = uptime
    before = snapshot_of(integration)
    client.force_login(watcher.user)
    html = client.get(PAGE).content.decode()
    assert "Uptime checks" in html
    assert "Add integration" not in html
    assert "Deactivate" not in html
    detail = client.get(f"{PAGE}{integration.pk}/").content.decode()
    assert "Rotate token" not in detail
    assert 'name="name"' not in detail
    assert client.post(PAGE, {"name": "Sneaky", "kind": "generic"}).status_code == 403
    assert client.post(f"{PAGE}{integration.pk}/", {"name": "Renamed"}).status_code == 403
    assert client.post(f"{PAGE}{integration.pk}/rotate-token/").status_code == 403
    assert AlarmIntegration.objects.count() == 1
    assert snapshot_of(integration) == before


# --- the API ---------------------------------------------------------------------------------


def test_the_api_lists_integrations_without_tokens(
    client: Client,
    vp: Person,
    uptime: tuple[AlarmIntegration, str],
    first_responder: OnCallSchedule,
    policy: EscalationPolicy,
) -> None:
    integration, token = uptime
    _, prom_token = integrations.add_integration(
        actor=None,
        name="Prometheus",
        kind="alertmanager",
        schedule=first_responder,
        escalation_policy=policy,
    )
    event = AlarmEvent(dedup_key="k", title="Disk full", severity="warning", status="firing")
    alarms.ingest(integration=integration, events=[event])
    r = client.get(API, **bearer(vp))
    assert r.status_code == 200, r.content
    assert token not in r.content.decode()
    assert prom_token not in r.content.decode()
    body = {row["name"]: row for row in r.json()}
    assert body["Prometheus"] | {"id": 0, "created_at": ""} == {
        "id": 0,
        "name": "Prometheus",
        "kind": "alertmanager",
        "token_prefix": prom_token[:8],
        "schedule": "infrastructure-oncall",
        "escalation_policy": "handbook",
        "is_active": True,
        "created_at": "",
        "alarms_last_7_days": 0,
        "last_alarm_at": None,
    }
    uptime_row = body["Uptime checks"]
    assert (uptime_row["alarms_last_7_days"], uptime_row["schedule"]) == (1, None)
    assert uptime_row["last_alarm_at"] is not None
    one = client.get(f"{API}/{integration.pk}", **bearer(vp))
    assert one.status_code == 200
    assert one.json()["name"] == "Uptime checks"
    assert token not in one.content.decode()


def test_the_api_list_reads_in_constant_queries(
    client: Client,
    vp: Person,
    first_responder: OnCallSchedule,
    policy: EscalationPolicy,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    headers = bearer(vp)
    for n in range(12):
        integrations.add_integration(
            actor=None,
            name=f"Source {n}",
            kind="generic",
            schedule=first_responder,
            escalation_policy=policy,
        )
    with django_assert_max_num_queries(5):
        r = client.get(API, **headers)
    assert len(r.json()) == 12


def test_the_api_adds_one_and_answers_its_url_once(
    client: Client, vp: Person, first_responder: OnCallSchedule, policy: EscalationPolicy
) -> None:
    r = post(
        client,
        API,
        {
            "name": "Prometheus",
            "kind": "alertmanager",
            "schedule": "infrastructure-oncall",
            "escalation_policy": "handbook",
        },
        **bearer(vp),
    )
    assert r.status_code == 201, r.content
    body = r.json()
    token = body["token"]
    assert body["url"] == f"{settings.BASE_URL.rstrip('/')}/integrations/alerts/{token}"
    assert body["token_prefix"] == token[:8]
    assert (body["schedule"], body["escalation_policy"], body["is_active"]) == (
        "infrastructure-oncall",
        "handbook",
        True,
    )
    row = AlarmIntegration.objects.get(pk=body["id"])
    assert (row.schedule, row.escalation_policy) == (first_responder, policy)
    alert = {"status": "firing", "labels": {"alertname": "DiskFull"}, "fingerprint": "f1"}
    notification = {"version": "4", "status": "firing", "alerts": [alert]}
    assert send_to_url(Client(), body["url"], notification).status_code == 202
    listed = client.get(API, **bearer(vp)).content.decode()
    assert token not in listed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"kind": "generic"}, "name"),
        ({"name": "", "kind": "generic"}, "name"),
        ({"name": "   ", "kind": "generic"}, "name"),
        ({"name": "x" * 101, "kind": "generic"}, "name"),
        ({"name": "a\u0000b", "kind": "generic"}, "name"),
        ({"name": 7, "kind": "generic"}, "name"),
        ({"name": None, "kind": "generic"}, "name"),
        ({"name": "Nagios"}, "kind"),
        ({"name": "Nagios", "kind": "nagios"}, "kind"),
        ({"name": "Nagios", "kind": None}, "kind"),
        ({"name": "Uptime", "kind": "generic", "schedule": "nope"}, "schedule"),
        ({"name": "Uptime", "kind": "generic", "schedule": "not a key!"}, "schedule"),
        ({"name": "Uptime", "kind": "generic", "schedule": 5}, "schedule"),
        ({"name": "Uptime", "kind": "generic", "escalation_policy": "nope"}, "escalation_policy"),
        ({"name": "Uptime", "kind": "generic", "escalation_policy": ""}, "escalation_policy"),
        ({"name": "Uptime", "kind": "generic", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_to_the_api_is_4xx_naming_the_field(
    client: Client,
    vp: Person,
    first_responder: OnCallSchedule,
    policy: EscalationPolicy,
    body: dict[str, Any],
    field: str,
) -> None:
    headers = bearer(vp)
    entries = audit_count()
    r = post(client, API, body, **headers)
    assert r.status_code in (400, 404, 422), r.content
    assert r.json()["field"] == field, r.json()
    assert not AlarmIntegration.objects.exists()
    assert audit_count() == entries


@pytest.mark.parametrize(
    "raw", [b"{nope", b"", b"[]", b'"text"', b"null", b"\xff\xfe", b'{"name": "\\udc00"}']
)
def test_a_body_that_is_no_json_object_is_4xx(client: Client, vp: Person, raw: bytes) -> None:
    r = client.post(API, data=raw, content_type="application/json", **bearer(vp))
    assert 400 <= r.status_code < 500, r.content
    # Not JSON, or no object: the whole body is at fault; an undecodable text names its field.
    assert r.json()["field"] in ("__all__", "name"), r.json()
    assert not AlarmIntegration.objects.exists()


def test_patch_renames_repoints_and_switches_off_and_on(
    client: Client,
    vp: Person,
    uptime: tuple[AlarmIntegration, str],
    first_responder: OnCallSchedule,
    policy: EscalationPolicy,
) -> None:
    integration, token = uptime
    headers = bearer(vp)
    url = f"{API}/{integration.pk}"
    r = patch(
        client,
        url,
        {"name": "Uptime (prod)", "schedule": first_responder.key, "escalation_policy": "handbook"},
        **headers,
    )
    assert r.status_code == 200, r.content
    assert token not in r.content.decode()
    assert (r.json()["name"], r.json()["schedule"], r.json()["escalation_policy"]) == (
        "Uptime (prod)",
        "infrastructure-oncall",
        "handbook",
    )
    r = patch(client, url, {"is_active": False}, **headers)
    assert r.status_code == 200
    assert r.json()["is_active"] is False
    assert send_alarm(Client(), token).status_code == 401
    r = patch(client, url, {"is_active": True, "schedule": None}, **headers)
    assert r.status_code == 200
    assert (r.json()["is_active"], r.json()["schedule"]) == (True, None)
    assert r.json()["escalation_policy"] == "handbook"  # left out: unchanged
    assert send_alarm(Client(), token).status_code == 202
    r = patch(client, url, {"escalation_policy": None}, **headers)
    assert r.json()["escalation_policy"] is None
    assert patch(client, url, {}, **headers).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"schedule": "nope"}, "schedule"),
        ({"schedule": ""}, "schedule"),
        ({"escalation_policy": "nope"}, "escalation_policy"),
        ({"is_active": "no"}, "is_active"),
        ({"is_active": None}, "is_active"),
        ({"is_active": 0}, "is_active"),
        ({"kind": "alertmanager"}, "kind"),
        ({"token_prefix": "abc"}, "token_prefix"),
        # Nothing half-written: a good name and a bad schedule change nothing.
        ({"name": "Renamed", "is_active": False, "schedule": "nope"}, "schedule"),
        ({"name": "   ", "is_active": False}, "name"),
    ],
)
def test_bad_patches_are_4xx_naming_the_field_and_change_nothing(
    client: Client,
    vp: Person,
    uptime: tuple[AlarmIntegration, str],
    body: dict[str, Any],
    field: str,
) -> None:
    integration, _ = uptime
    headers = bearer(vp)
    before = snapshot_of(integration)
    entries = audit_count()
    r = patch(client, f"{API}/{integration.pk}", body, **headers)
    assert r.status_code in (400, 404, 422), r.content
    assert r.json()["field"] == field, r.json()
    assert snapshot_of(integration) == before
    assert audit_count() == entries


def test_rotate_token_over_the_api(
    client: Client, vp: Person, uptime: tuple[AlarmIntegration, str]
) -> None:
    integration, old = uptime
    headers = bearer(vp)
    r = client.post(f"{API}/{integration.pk}/rotate-token", **headers)
    assert r.status_code == 200, r.content
    new = r.json()["token"]
    assert new != old
    assert r.json()["token_prefix"] == new[:8]
    assert r.json()["url"].endswith(f"/integrations/alerts/{new}")
    assert send_alarm(Client(), old).status_code == 401
    assert send_to_url(Client(), r.json()["url"]).status_code == 202
    listed = client.get(API, **headers).content.decode()
    assert new not in listed
    assert old not in listed


@pytest.mark.parametrize("integration_id", ["999999", "0", "-1", "abc", str(2**64)])
def test_an_unknown_or_malformed_id_is_4xx(client: Client, vp: Person, integration_id: str) -> None:
    headers = bearer(vp)
    for r in (
        client.get(f"{API}/{integration_id}", **headers),
        patch(client, f"{API}/{integration_id}", {"name": "x"}, **headers),
        client.post(f"{API}/{integration_id}/rotate-token", **headers),
    ):
        assert r.status_code in (404, 422), r.content
        assert r.json()["field"] in ("integration_id", "__all__")


def test_without_permission_the_api_is_403_before_any_lookup(
    client: Client, engineer: Person, watcher: Person, uptime: tuple[AlarmIntegration, str]
) -> None:
    integration, _ = uptime
    before = snapshot_of(integration)
    nobody = bearer(engineer)
    assert client.get(API, **nobody).status_code == 403
    assert client.get(f"{API}/{integration.pk}", **nobody).status_code == 403
    assert post(client, API, {"name": "X", "kind": "generic"}, **nobody).status_code == 403
    for target in (integration.pk, 999999):
        existing = patch(client, f"{API}/{target}", {"name": "Renamed"}, **nobody)
        assert existing.status_code == 403
        assert existing.json()["error"] == "permission_denied"
        assert client.post(f"{API}/{target}/rotate-token", **nobody).status_code == 403
    # Seeing is not changing.
    viewer = bearer(watcher)
    assert client.get(API, **viewer).status_code == 200
    assert post(client, API, {"name": "X", "kind": "generic"}, **viewer).status_code == 403
    assert (
        patch(client, f"{API}/{integration.pk}", {"is_active": False}, **viewer).status_code == 403
    )
    assert client.post(f"{API}/{integration.pk}/rotate-token", **viewer).status_code == 403
    # And without a token at all: 401.
    assert client.get(API).status_code == 401
    assert AlarmIntegration.objects.count() == 1
    assert snapshot_of(integration) == before


def test_the_router_sits_beside_the_oncall_router(client: Client, vp: Person) -> None:
    headers = bearer(vp)
    assert client.get("/api/v1/oncall/now", **headers).status_code == 200
    assert client.get(API, **headers).status_code == 200
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/oncall/integrations", "/api/v1/oncall/integrations/{integration_id}"} <= set(
        paths
    )
    assert "/api/v1/oncall/integrations/{integration_id}/rotate-token" in paths
    assert "/api/v1/oncall/now" in paths
    assert client.delete(API, **headers).status_code == 405

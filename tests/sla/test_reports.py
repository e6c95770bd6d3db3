from __future__ import annotations

import datetime
import zoneinfo

from django.test import Client

from ceres.accounts.models import Account
from ceres.conversations import services
from ceres.sla import reports
from ceres.sla import services as sla_services
from ceres.sla.models import SlaClock, SlaPolicy
from ceres.team.models import Person
from tests.accounts.test_api import bearer

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
DAY = datetime.date(2026, 11, 24)


def at(hour: int, minute: int = 0, day: int = 24) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=CHICAGO)


def answered(acme: Account | None, cse: Person, received: datetime.datetime, minutes: int) -> None:
    conversation = services.open_conversation(
        actor=None, source="slack", subject="q", body="q", account=acme, received_at=received
    )
    services.update_conversation(actor=cse.user, conversation=conversation, assignee=cse)
    services.reply(actor=cse.user, conversation=conversation, body="answer")
    # The reply happened "now"; place it where the scenario says it did.
    SlaClock.objects.filter(conversation=conversation, target="first_response").update(
        stopped_at=received + datetime.timedelta(minutes=minutes)
    )


def test_percentile_is_nearest_rank() -> None:
    assert reports.percentile([], 50) is None
    assert reports.percentile([5.0], 90) == 5.0
    assert reports.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert reports.percentile([float(i) for i in range(1, 11)], 90) == 9.0


def test_report_by_account_and_breaches(
    handbook_policies: dict[str, SlaPolicy], acme: Account, cse: Person, engineer: Person
) -> None:
    for minutes in (10, 20, 30, 90):  # premium inside hours: 1 h target
        answered(acme, cse, at(10), minutes)
    answered(None, cse, at(10), 60)  # community: 24 h target
    late = services.open_conversation(
        actor=None, source="slack", subject="q", body="q", account=acme, received_at=at(10)
    )
    sla_services.sweep(now=at(12))
    rows = {
        r.group: r
        for r in reports.response_report(user=cse.user, group_by="account", start=DAY, end=DAY)
    }
    acme_row = rows["Acme Robotics"]
    assert acme_row.responses == 4
    assert acme_row.p50_seconds == 20 * 60
    assert acme_row.p90_seconds == 90 * 60
    assert acme_row.within_target_percent == 75.0
    assert acme_row.breaches == 1  # the one still waiting at 12:00
    assert rows["(no account)"].within_target_percent == 100.0
    hidden = reports.response_report(user=engineer.user, group_by="account", start=DAY, end=DAY)
    assert "Acme Robotics" not in {r.group for r in hidden}
    assert "Kamo`oalewa" in {r.group for r in hidden}
    [breach] = reports.breaches(user=cse.user, start=DAY, end=DAY)
    assert breach.conversation_id == late.pk
    assert breach.responded_at is None


def test_report_api_csv_and_bad_input(
    client: Client, handbook_policies: dict[str, SlaPolicy], acme: Account, cse: Person
) -> None:
    answered(acme, cse, at(10), 15)
    headers = bearer(cse)
    query = "start=2026-11-24&end=2026-11-24"
    r = client.get(f"/api/v1/sla/report?group_by=assignee&{query}", **headers)
    assert r.status_code == 200, r.content
    assert r.json() == [
        {
            "group": "Lena Park",
            "responses": 1,
            "p50_seconds": 900.0,
            "p90_seconds": 900.0,
            "within_target_percent": 100.0,
            "breaches": 0,
        }
    ]
    csv_text = client.get(f"/api/v1/sla/report.csv?group_by=source&{query}", **headers)
    assert csv_text.content.decode().splitlines()[1].startswith("slack,1,900.0,900.0,100.0,0")
    assert client.get(f"/api/v1/sla/report?group_by=moon&{query}", **headers).json()["field"] == (
        "group_by"
    )
    assert (
        client.get("/api/v1/sla/report?start=2026-11-24&end=2026-11-01", **headers).json()["field"]
        == "end"
    )
    assert client.get("/api/v1/sla/report?target=resolution", **headers).json()["field"] == (
        "target"
    )
    assert client.get("/api/v1/sla/breaches.csv", **headers).status_code == 200

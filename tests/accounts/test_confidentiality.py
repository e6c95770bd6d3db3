"""A user without accounts.view_confidential can find no real name anywhere in the API."""

from __future__ import annotations

import json

from django.test import Client

from ceres.accounts import services
from ceres.accounts.models import Account
from ceres.core.audit.selectors import history_for
from ceres.team.models import Person
from tests.accounts.test_api import bearer, patch

SECRETS = ("Acme Robotics", "acme robotics", "Wile Coyote", "wile@acme-robotics.example")


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [s for s in SECRETS if s.lower() in lowered]


def test_api_never_shows_real_names_without_the_permission(
    client: Client, acme: Account, cse: Person, engineer: Person
) -> None:
    services.update_account(actor=cse.user, account=acme, legal_name="Acme Robotics Inc")
    headers = bearer(engineer)
    responses = [
        client.get("/api/v1/accounts", **headers),
        client.get("/api/v1/accounts?q=acme", **headers),
        client.get("/api/v1/accounts?q=Acme%20Robotics", **headers),
        client.get(f"/api/v1/accounts/{acme.pk}", **headers),
        client.get(f"/api/v1/accounts/{acme.pk}/contacts", **headers),
        client.get("/api/v1/accounts?sort=name", **headers),
        patch(client, f"/api/v1/accounts/{acme.pk}", {"legal_name": "x"}, **headers),
    ]
    for r in responses:
        assert r.status_code < 500
        assert _leaks(r.content.decode()) == [], r.content
    assert client.get("/api/v1/accounts?q=acme", **headers).json()["count"] == 0
    listed = client.get("/api/v1/accounts", **headers).json()["items"]
    assert listed[0]["name"] == "Kamo`oalewa"
    assert listed[0]["legal_name"] is None


def test_the_permission_reveals_names_and_search_by_real_name(
    client: Client, acme: Account, cse: Person
) -> None:
    body = client.get("/api/v1/accounts?q=acme", **bearer(cse)).json()
    assert body["count"] == 1
    assert body["items"][0]["legal_name"] == "Acme Robotics"


def test_audit_history_masks_confidential_fields(acme: Account, cse: Person) -> None:
    services.update_account(actor=cse.user, account=acme, legal_name="Acme Robotics Inc")
    masked = history_for(acme, can_view_confidential=False)
    text = json.dumps([(line.entry.target_label, line.changes) for line in masked])
    assert _leaks(text) == []
    assert "(confidential)" in text
    clear = history_for(acme, can_view_confidential=True)
    assert "Acme Robotics Inc" in json.dumps([line.changes for line in clear])


def test_errors_never_name_another_customer(client: Client, acme: Account, cse: Person) -> None:
    # Asking for a codename that contains a customer's name: refused without naming them.
    services.update_account(actor=cse.user, account=acme, legal_name="Vesta Holdings")
    r = client.post(
        "/api/v1/accounts",
        data=json.dumps({"legal_name": "Other Co", "codename": "Vesta"}),
        content_type="application/json",
        **bearer(cse),
    )
    assert r.status_code == 422
    assert "Holdings" not in r.content.decode()


def test_csv_export_shows_codenames_unless_permitted(
    client: Client, acme: Account, cse: Person, engineer: Person
) -> None:
    hidden = client.get("/api/v1/accounts/export.csv", **bearer(engineer))
    assert hidden.status_code == 200
    body = hidden.getvalue().decode()
    assert "Kamo`oalewa" in body
    assert _leaks(body) == []
    shown = client.get("/api/v1/accounts/export.csv", **bearer(cse))
    assert "Acme Robotics" in shown.getvalue().decode()

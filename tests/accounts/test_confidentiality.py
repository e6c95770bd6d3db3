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


def test_other_names_are_confidential_and_kept_out_of_public_texts(
    client: Client, acme: Account, cse: Person, engineer: Person
) -> None:
    import pytest

    from ceres.core.errors import ConfidentialLeak, Invalid
    from ceres.core.firewall import check_public_text

    services.update_account(actor=cse.user, account=acme, aliases="Acme, acme-robotics.example")
    acme.refresh_from_db()
    assert acme.aliases == ["Acme", "acme-robotics.example"]
    with pytest.raises(ConfidentialLeak) as caught:
        check_public_text("Acme's fleet of 4,000 hosts")
    assert "'Acme' at line 1, column 1" in caught.value.message
    check_public_text("Kamo`oalewa's fleet of 4,000 hosts")  # the codename passes
    # Shown only with the permission; changed only with it.
    seen = client.get(f"/api/v1/accounts/{acme.pk}", **bearer(engineer)).json()
    assert seen["aliases"] is None
    assert client.get(f"/api/v1/accounts/{acme.pk}", **bearer(cse)).json()["aliases"] == [
        "Acme",
        "acme-robotics.example",
    ]
    refused = patch(client, f"/api/v1/accounts/{acme.pk}", {"aliases": ["x"]}, **bearer(engineer))
    assert refused.status_code == 403
    masked = json.dumps([line.changes for line in history_for(acme, can_view_confidential=False)])
    assert "acme-robotics.example" not in masked
    clear = json.dumps([line.changes for line in history_for(acme, can_view_confidential=True)])
    assert "acme-robotics.example" in clear
    # An alias may not collide with the codename (the firewall would block the codename).
    for bad in (["Kamo`oalewa"], ["K"], [3], "x" * 201, [f"name {n}" for n in range(11)]):
        with pytest.raises(Invalid) as error:
            services.update_account(actor=cse.user, account=acme, aliases=bad)
        assert error.value.field == "aliases"

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ceres.accounts.models import Account, Codename
from ceres.core.audit.models import AuditEntry
from ceres.team import services as team_services
from ceres.team.models import Person


def bearer(person: Person) -> dict[str, str]:
    _, token = team_services.create_api_token(actor=None, user=person.user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def patch(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.patch(url, data=json.dumps(body), content_type="application/json", **headers)


def test_create_assigns_codename_and_label(client: Client, cse: Person, products: Any) -> None:
    r = post(
        client, "/api/v1/accounts", {"legal_name": "Globex", "product": "premium"}, **bearer(cse)
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["legal_name"] == "Globex"
    assert body["github_label"] == "customer-" + body["github_label"].removeprefix("customer-")
    account = Account.objects.get(pk=body["id"])
    assert account.codename.name == body["codename"]
    assert AuditEntry.objects.filter(action="account.create", target_id=str(account.pk)).exists()


def test_codename_already_used_is_409_naming_it(client: Client, acme: Account, cse: Person) -> None:
    r = post(
        client,
        "/api/v1/accounts",
        {"legal_name": "Initech", "codename": "Kamo`oalewa"},
        **bearer(cse),
    )
    assert r.status_code == 409
    assert r.json()["field"] == "codename"
    assert "Kamo`oalewa" in r.json()["message"]
    assert Account.objects.count() == 1


def test_real_name_colliding_with_codename_is_422(
    client: Client, acme: Account, cse: Person
) -> None:
    r = post(client, "/api/v1/accounts", {"legal_name": "Kamooalewa Inc"}, **bearer(cse))
    assert r.status_code == 422
    assert r.json()["field"] == "legal_name"


def test_unknown_product_is_422_naming_the_field(
    client: Client, cse: Person, products: Any
) -> None:
    r = post(client, "/api/v1/accounts", {"legal_name": "Globex", "product": "gold"}, **bearer(cse))
    assert r.status_code == 422
    assert r.json()["field"] == "product"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "legal_name"),
        ({"legal_name": "X", "host_count": "many"}, "host_count"),
        ({"legal_name": "X", "renewal_date": "next year"}, "renewal_date"),
        ({"legal_name": "X", "kind": "partner"}, "kind"),
        ({"legal_name": "   "}, "legal_name"),
    ],
)
def test_malformed_input_is_4xx_naming_the_field(
    client: Client, cse: Person, products: Any, body: dict[str, Any], field: str
) -> None:
    r = post(client, "/api/v1/accounts", body, **bearer(cse))
    assert r.status_code in (400, 422), r.content
    assert r.json()["field"] == field
    assert Account.objects.count() == 0


def test_body_that_is_not_json_is_4xx(client: Client, cse: Person) -> None:
    r = client.post(
        "/api/v1/accounts", data="{nope", content_type="application/json", **bearer(cse)
    )
    assert 400 <= r.status_code < 500


def test_wrong_token_is_401(client: Client, acme: Account) -> None:
    r = client.get("/api/v1/accounts", HTTP_AUTHORIZATION="Bearer ceres_abc_wrong")
    assert r.status_code == 401
    assert r.json()["error"] == "not_authenticated"
    assert client.get("/api/v1/accounts").status_code == 401


def test_revoked_token_is_401(client: Client, cse: Person) -> None:
    row, token = team_services.create_api_token(actor=None, user=cse.user, name="t")
    team_services.revoke_api_token(actor=None, user=cse.user, token_id=row.pk)
    assert client.get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_missing_permission_is_403_whether_or_not_the_record_exists(
    client: Client, acme: Account, engineer: Person
) -> None:
    headers = bearer(engineer)
    existing = patch(client, f"/api/v1/accounts/{acme.pk}", {"host_count": 5}, **headers)
    missing = patch(client, "/api/v1/accounts/999999", {"host_count": 5}, **headers)
    assert existing.status_code == missing.status_code == 403
    assert existing.json() == missing.json()
    deleted = client.delete(f"/api/v1/accounts/{acme.pk}", **headers)
    assert deleted.status_code == 403
    assert Account.objects.filter(pk=acme.pk).exists()


def test_session_auth_works_and_needs_csrf_for_writes(
    acme: Account, cse: Person, products: Any
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cse.user)
    assert client.get("/api/v1/accounts").status_code == 200
    r = post(client, "/api/v1/accounts", {"legal_name": "Globex"})
    assert r.status_code == 403


def test_list_filters_sorts_paginates_with_constant_queries(
    client: Client,
    cse: Person,
    products: Any,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    from ceres.accounts import services

    for i in range(30):
        services.create_account(
            actor=None,
            legal_name=f"Company {i:02d}",
            product="premium" if i % 2 else "free",
            host_count=i * 10,
            csm_owner=cse.pk,
        )
    headers = bearer(cse)
    with django_assert_max_num_queries(7):
        r = client.get("/api/v1/accounts?product=premium&page_size=10&sort=-hosts", **headers)
    body = r.json()
    assert body["count"] == 15
    assert len(body["items"]) == 10
    assert [a["host_count"] for a in body["items"]][:2] == [290, 270]
    r2 = client.get("/api/v1/accounts?product=premium&page_size=10&page=2&sort=-hosts", **headers)
    assert len(r2.json()["items"]) == 5
    assert client.get("/api/v1/accounts?page=0", **headers).json()["field"] == "page"
    assert client.get("/api/v1/accounts?product=gold", **headers).json()["field"] == "product"
    assert client.get("/api/v1/accounts?sort=bogus", **headers).json()["field"] == "sort"
    assert client.get("/api/v1/accounts?page_size=5000", **headers).status_code == 422


def test_contacts_and_dri_change_checklist(client: Client, acme: Account, cse: Person) -> None:
    headers = bearer(cse)
    r = post(
        client,
        f"/api/v1/accounts/{acme.pk}/contacts",
        {"name": "Road Runner", "role": "dri", "email": "rr@example.net"},
        **headers,
    )
    assert r.status_code == 201
    first_dri = r.json()["id"]
    r = post(
        client,
        f"/api/v1/accounts/{acme.pk}/contacts",
        {"name": "Marvin Martian", "role": "dri"},
        **headers,
    )
    assert r.status_code == 201
    contacts = {
        c["id"]: c for c in client.get(f"/api/v1/accounts/{acme.pk}/contacts", **headers).json()
    }
    assert contacts[first_dri]["is_active"] is False
    assert contacts[r.json()["id"]]["role"] == "dri"
    change = acme.dri_changes.get()
    items = list(change.items.all())
    assert [i.text for i in items][:3] == [
        "Get an introduction to the new DRI: names, roles, contact information",
        "Make sure they're in the Slack channel",
        "Invite them to the Success meetings",
    ]
    for item in items:
        r = client.put(
            f"/api/v1/accounts/checklist-items/{item.pk}",
            data=json.dumps({"done": True}),
            content_type="application/json",
            **headers,
        )
        assert r.status_code == 200
    change.refresh_from_db()
    assert change.completed_at is not None


def test_bad_contact_role_is_422(client: Client, acme: Account, cse: Person) -> None:
    r = post(
        client, f"/api/v1/accounts/{acme.pk}/contacts", {"name": "X", "role": "boss"}, **bearer(cse)
    )
    assert r.status_code == 422
    assert r.json()["field"] == "role"


def test_codename_suggestions_are_free(client: Client, acme: Account, cse: Person) -> None:
    r = client.get("/api/v1/accounts/codenames/suggestions?count=7", **bearer(cse))
    assert r.status_code == 200
    names = [c["name"] for c in r.json()]
    assert len(names) == 7
    assert Codename.objects.filter(name__in=names, assigned_at__isnull=False).count() == 0


def test_openapi_is_served(client: Client, cse: Person) -> None:
    client.force_login(cse.user)
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/docs").status_code == 200

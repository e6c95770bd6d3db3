from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ceres.accounts.models import Account, Codename, Contact
from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Invalid
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


# --- malformed input found by fuzzing (schemathesis, SQLite and PostgreSQL) ------------------


def audit_count() -> int:
    return AuditEntry.objects.count()


@pytest.mark.parametrize("field", ["name", "email", "title", "slack_user_id", "role"])
def test_null_for_a_contact_field_is_422_and_changes_nothing(
    client: Client, acme: Account, cse: Person, field: str
) -> None:
    # title, e-mail and Slack id were a NOT NULL violation (500); a null name became "None".
    contact = acme.contacts.get()
    headers = bearer(cse)
    entries = audit_count()
    url = f"/api/v1/accounts/{acme.pk}/contacts/{contact.pk}"
    r = patch(client, url, {"title": "CTO", field: None}, **headers)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    after = Contact.objects.get(pk=contact.pk)
    assert (after.name, after.email, after.title) == ("Wile Coyote", contact.email, "")
    assert audit_count() == entries


@pytest.mark.parametrize("field", ["legal_name", "kind", "deployment", "host_count", "crm_id"])
def test_null_for_a_required_account_field_is_422_and_changes_nothing(
    client: Client, acme: Account, cse: Person, field: str
) -> None:
    # A null legal name used to be saved as the text "None".
    headers = bearer(cse)
    entries = audit_count()
    r = patch(client, f"/api/v1/accounts/{acme.pk}", {"host_count": 7, field: None}, **headers)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    acme.refresh_from_db()
    assert (acme.legal_name, acme.host_count) == ("Acme Robotics", 0)
    assert audit_count() == entries


def test_null_clears_what_an_account_may_lack(client: Client, acme: Account, cse: Person) -> None:
    changes = {"product": None, "csm_owner": None, "renewal_date": None}
    r = patch(client, f"/api/v1/accounts/{acme.pk}", changes, **bearer(cse))
    assert r.status_code == 200, r.content
    acme.refresh_from_db()
    assert (acme.product, acme.csm_owner, acme.renewal_date) == (None, None, None)


@pytest.mark.parametrize("hosts", [2**31, 2**63, 2**70, -1])
def test_host_count_outside_the_column_is_422_and_creates_nothing(
    client: Client, cse: Person, products: Any, hosts: int
) -> None:
    # 2**70 overflowed SQLite's integer (500); 2**31 overflows PostgreSQL's.
    headers = bearer(cse)
    entries = audit_count()
    r = post(client, "/api/v1/accounts", {"legal_name": "Initech", "host_count": hosts}, **headers)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == "host_count"
    assert not Account.objects.exists()
    assert audit_count() == entries
    assert not Codename.objects.filter(assigned_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("field", "length"),
    [
        ("legal_name", 201),
        ("codename", 101),
        ("product_version", 51),
        ("slack_channel_id", 31),
        ("crm_id", 65),
        ("csm_owner", 255),
    ],
)
def test_account_text_longer_than_its_column_is_422(
    client: Client, cse: Person, products: Any, field: str, length: int
) -> None:
    headers = bearer(cse)
    body = {"legal_name": "Initech", field: "x" * length}
    r = post(client, "/api/v1/accounts", body, **headers)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    ("field", "length"), [("name", 201), ("title", 121), ("slack_user_id", 21), ("email", 255)]
)
def test_contact_text_longer_than_its_column_is_422_and_writes_nothing(
    client: Client, acme: Account, cse: Person, field: str, length: int
) -> None:
    # The services did not check these lengths: PostgreSQL refused the row (500).
    headers = bearer(cse)
    entries = audit_count()
    value = (
        "x" * (length - len("@example.com")) + "@example.com" if field == "email" else "x" * length
    )
    body = {"name": "Road Runner", "role": "admin", field: value}
    r = post(client, f"/api/v1/accounts/{acme.pk}/contacts", body, **headers)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    contact = acme.contacts.get()
    r = patch(
        client, f"/api/v1/accounts/{acme.pk}/contacts/{contact.pk}", {field: value}, **headers
    )
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert acme.contacts.count() == 1
    assert Contact.objects.get(pk=contact.pk).name == "Wile Coyote"
    assert audit_count() == entries


@pytest.mark.parametrize("ref", ["²", "9" * 30, "nobody", "lena\x00"])
def test_csm_owner_that_is_no_one_is_422(
    client: Client, cse: Person, products: Any, ref: str
) -> None:
    # "²" passed str.isdigit() and reached the id lookup: a ValueError (500).
    from ceres.accounts import services

    entries = audit_count()
    with pytest.raises(Invalid) as caught:
        services.create_account(actor=cse.user, legal_name="Initech", csm_owner=ref)
    assert caught.value.field == "csm_owner"
    assert not Account.objects.exists()
    assert audit_count() == entries


def test_services_store_no_null_and_no_nul(acme: Account, cse: Person) -> None:
    """The forms, the CLI and the playbook call the services without a schema in front."""
    from ceres.accounts import services

    contact = acme.contacts.get()
    services.update_contact(actor=cse.user, contact=contact, title=None, slack_user_id=None)
    contact.refresh_from_db()
    assert (contact.title, contact.slack_user_id) == ("", "")
    for changes in ({"name": None}, {"name": "Wile\x00"}, {"is_active": None}):
        with pytest.raises(Invalid) as caught:
            services.update_contact(actor=cse.user, contact=contact, **changes)
        assert caught.value.field == next(iter(changes))
    with pytest.raises(Invalid) as caught:
        services.update_account(actor=cse.user, account=acme, crm_id="00\x00")
    assert caught.value.field == "crm_id"


def test_api_choices_are_the_models(db: None) -> None:
    from typing import get_args

    from ceres.accounts import api, selectors

    assert set(get_args(api.KindIn)) == set(Account.Kind.values)
    assert set(get_args(api.DeploymentIn)) == set(Account.Deployment.values)
    assert set(get_args(api.ContactRoleIn)) == set(Contact.Role.values)
    assert set(get_args(api.AccountSort)) == set(selectors.SORTS) | set(
        selectors.CONFIDENTIAL_SORTS
    )


def test_sorting_by_name_without_the_permission_is_422(
    client: Client, acme: Account, engineer: Person
) -> None:
    r = client.get("/api/v1/accounts?sort=name", **bearer(engineer))
    assert r.status_code == 422
    assert r.json()["field"] == "sort"

"""The API's shared error layer (`core/apisupport.py`): every refusal is JSON
`{"error", "field", "message"}` naming the field, and leaves nothing written; an unexpected
exception is a logged 500 in the same shape that tells the caller nothing more.

Found by fuzzing the API with schemathesis (SQLite and PostgreSQL): each case below was a 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.test import Client

from ceres.accounts import selectors as account_selectors
from ceres.accounts.models import Account, Contact
from ceres.conversations.models import Conversation
from ceres.core.apisupport import MAX_RECORD_ID, NUL_FREE_PATTERN, SERVER_ERROR_MESSAGE
from ceres.core.audit.models import AuditEntry
from ceres.team.models import ApiToken, Person
from tests.accounts.test_api import bearer, patch, post


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert {"error", "field", "message"} <= set(body), body
    return body


def written() -> dict[str, int]:
    """Row counts of what a refused request must not have touched."""
    return {
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "people": Person.objects.count(),
        "tokens": ApiToken.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


# --- the unexpected --------------------------------------------------------------------------


def test_unexpected_exception_is_a_logged_json_500_without_details(
    cse: Person,
    acme: Account,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(account_id: int) -> Account:
        raise RuntimeError("a detail about Acme Robotics that must not leave the server")

    monkeypatch.setattr(account_selectors, "get_account", broken)
    # The handler sends got_request_exception, as Django does for error reporters; the test
    # client would re-raise the exception it carries.
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="ceres.core.apisupport"):
        r = client.get(f"/api/v1/accounts/{acme.pk}", **bearer(cse))
    body = error_of(r, 500)
    assert body == {"error": "server_error", "field": "__all__", "message": SERVER_ERROR_MESSAGE}
    assert "Acme" not in r.content.decode()
    logged = [rec for rec in caplog.records if rec.name == "ceres.core.apisupport"]
    assert len(logged) == 1
    assert f"GET /api/v1/accounts/{acme.pk}" in logged[0].getMessage()
    assert logged[0].exc_info is not None
    assert logged[0].exc_info[0] is RuntimeError


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [(Http404("gone"), 404, "not_found"), (DjangoPermissionDenied(), 403, "permission_denied")],
)
def test_django_exceptions_keep_the_error_shape(
    client: Client,
    cse: Person,
    acme: Account,
    monkeypatch: pytest.MonkeyPatch,
    raised: Exception,
    status: int,
    code: str,
) -> None:
    def raising(account_id: int) -> Account:
        raise raised

    monkeypatch.setattr(account_selectors, "get_account", raising)
    body = error_of(client.get(f"/api/v1/accounts/{acme.pk}", **bearer(cse)), status)
    assert body["error"] == code
    assert body["field"] == "__all__"


# --- bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["[null, null]", '"legal_name"', "42", "null", "true"])
def test_a_body_that_is_not_an_object_is_422_and_changes_nothing(
    client: Client, cse: Person, acme: Account, raw: str
) -> None:
    # A PATCH with a JSON list used to be read as "no fields" and answered 200.
    headers = bearer(cse)
    before = written()
    r = client.patch(
        f"/api/v1/accounts/{acme.pk}", data=raw, content_type="application/json", **headers
    )
    body = error_of(r, 422)
    assert body["field"] == "__all__"
    assert written() == before


def test_a_missing_body_is_named(client: Client, cse: Person, acme: Account) -> None:
    r = client.patch(f"/api/v1/accounts/{acme.pk}", **bearer(cse))
    body = error_of(r, 422)
    assert body["field"] == "__all__"
    assert body["message"] == "a JSON body is required"


def test_an_unknown_field_is_422_naming_it(client: Client, cse: Person, acme: Account) -> None:
    # A misspelt field used to be ignored: 200, and nothing changed.
    headers = bearer(cse)
    before = written()
    r = patch(client, f"/api/v1/accounts/{acme.pk}", {"lgeal_name": "Acme Inc"}, **headers)
    assert error_of(r, 422)["field"] == "lgeal_name"
    acme.refresh_from_db()
    assert acme.legal_name == "Acme Robotics"
    assert written() == before


@pytest.mark.parametrize(
    ("url", "method", "payload", "field"),
    [
        ("/api/v1/accounts", "post", {"legal_name": "Initech", "host_count": False}, "host_count"),
        ("/api/v1/accounts", "post", {"legal_name": "Initech", "host_count": "12"}, "host_count"),
        ("/api/v1/accounts", "post", {"legal_name": "Initech", "host_count": 1.5}, "host_count"),
        ("/api/v1/accounts", "post", {"legal_name": 42}, "legal_name"),
        ("/api/v1/accounts/{acme}", "patch", {"host_count": True}, "host_count"),
        ("/api/v1/accounts/{acme}/dri-changes", "post", {"contact_id": True}, "contact_id"),
        ("/api/v1/accounts/checklist-items/1", "put", {"done": 0}, "done"),
        ("/api/v1/accounts/checklist-items/1", "put", {"done": "yes"}, "done"),
    ],
)
def test_a_body_value_of_the_wrong_json_type_is_422(
    client: Client,
    cse: Person,
    acme: Account,
    url: str,
    method: str,
    payload: dict[str, Any],
    field: str,
) -> None:
    # `false` was taken as a host count of 0 and `0` as done=false, answered 200.
    headers = bearer(cse)
    before = written()
    r = getattr(client, method)(
        url.format(acme=acme.pk),
        data=json.dumps(payload),
        content_type="application/json",
        **headers,
    )
    assert error_of(r, 422)["field"] == field
    assert written() == before
    acme.refresh_from_db()
    assert acme.host_count == 0


def test_a_whole_number_written_as_a_float_is_an_integer(
    client: Client, cse: Person, acme: Account
) -> None:
    # JSON Schema's "integer" includes 12.0; strict validation alone refused it.
    r = patch(client, f"/api/v1/accounts/{acme.pk}", {"host_count": 12.0}, **bearer(cse))
    assert r.status_code == 200, r.content
    acme.refresh_from_db()
    assert acme.host_count == 12


# --- NUL characters (PostgreSQL cannot store or compare them: they were 500s there) ----------


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/accounts?q=ac%00me", "q"),
        ("/api/v1/accounts?csm=%00", "csm"),
        ("/api/v1/accounts?product=free%00", "product"),
        ("/api/v1/accounts/export.csv?q=%00", "q"),
        ("/api/v1/team/people?q=%00", "q"),
        ("/api/v1/team/people?role=cse%00", "role"),
    ],
)
def test_nul_in_a_query_is_422_naming_the_parameter(
    client: Client, vp: Person, acme: Account, url: str, field: str
) -> None:
    body = error_of(client.get(url, **bearer(vp)), 422)
    assert body["field"] == field
    assert body["message"] == "must not contain NUL characters"


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        ("/api/v1/accounts", {"legal_name": "Ini\x00tech"}, "legal_name"),
        ("/api/v1/accounts", {"legal_name": "Initech", "codename": "\x00"}, "codename"),
        ("/api/v1/accounts", {"legal_name": "Initech", "csm_owner": "lena\x00"}, "csm_owner"),
        ("/api/v1/team/tokens", {"name": "laptop\x00"}, "name"),
        (
            "/api/v1/team/people",
            {"name": "N", "email": "n@example.com", "role": "cse\x00"},
            "role",
        ),
        (
            "/api/v1/team/people",
            {
                "name": "N",
                "email": "n@example.com",
                "role": "cse",
                "working_hours": {"mon": ["9\x00"]},
            },
            "working_hours",
        ),
        (
            "/api/v1/team/people",
            {
                "name": "N",
                "email": "n@example.com",
                "role": "cse",
                "working_hours": {"mon\x00": ["09:00-17:00"]},
            },
            "working_hours",
        ),
    ],
)
def test_nul_in_a_body_is_422_naming_the_field_and_writes_nothing(
    client: Client, vp: Person, products: Any, url: str, payload: dict[str, Any], field: str
) -> None:
    headers = bearer(vp)
    before = written()
    body = error_of(post(client, url, payload, **headers), 422)
    assert body["field"] == field
    assert written() == before


# --- ids, pages and dates --------------------------------------------------------------------

HUGE = str(2**63)  # one past the largest id of every database


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("get", "/api/v1/accounts/{huge}", "account_id"),
        ("get", "/api/v1/accounts/0", "account_id"),
        ("get", "/api/v1/accounts/{huge}/contacts", "account_id"),
        # account_id is a foreign key in this lookup: an overflow on SQLite, a 500.
        ("patch", "/api/v1/accounts/{huge}/contacts/1", "account_id"),
        ("patch", "/api/v1/accounts/{acme}/contacts/{huge}", "contact_id"),
        ("delete", "/api/v1/accounts/{acme}/contacts/{huge}", "contact_id"),
        ("put", "/api/v1/accounts/checklist-items/{huge}", "item_id"),
        ("get", "/api/v1/team/people/{huge}", "person_id"),
        ("patch", "/api/v1/team/people/{huge}", "person_id"),
    ],
)
def test_an_absurd_id_is_422_naming_the_parameter(
    client: Client, vp: Person, acme: Account, method: str, url: str, field: str
) -> None:
    headers = bearer(vp)
    before = written()
    r = getattr(client, method)(
        url.format(huge=HUGE, acme=acme.pk),
        data=json.dumps({"done": True}) if method in ("patch", "put") else None,
        content_type="application/json",
        **headers,
    )
    assert error_of(r, 422)["field"] == field
    assert written() == before


def test_an_absurd_id_in_a_body_is_422_naming_the_field(
    client: Client, vp: Person, acme: Account
) -> None:
    headers = bearer(vp)
    before = written()
    r = post(client, f"/api/v1/accounts/{acme.pk}/dri-changes", {"contact_id": 10**30}, **headers)
    assert error_of(r, 422)["field"] == "contact_id"
    assert written() == before


@pytest.mark.parametrize(
    "url",
    [f"/api/v1/accounts?page={10**21}", f"/api/v1/team/people?page={2**64}"],
)
def test_a_page_past_the_end_is_empty_not_an_overflow(
    client: Client, vp: Person, acme: Account, url: str
) -> None:
    r = client.get(url, **bearer(vp))
    assert r.status_code == 200, r.content
    assert r.json()["items"] == []
    assert r.json()["count"] >= 1


@pytest.mark.parametrize("value", ["0", "1700000000", "2026-02-30", "next year"])
def test_a_date_is_yyyy_mm_dd_only(client: Client, cse: Person, products: Any, value: str) -> None:
    # Pydantic took "0" as a Unix timestamp: 1970-01-01, answered 200.
    headers = bearer(cse)
    r = client.get(f"/api/v1/accounts?renewal_before={value}", **headers)
    assert error_of(r, 422)["field"] == "renewal_before"
    before = written()
    r = post(
        client, "/api/v1/accounts", {"legal_name": "Initech", "renewal_date": value}, **headers
    )
    assert error_of(r, 422)["field"] == "renewal_date"
    assert written() == before


# --- unpaired surrogates (JSON "\\udc00": no database can encode it; a 500 before) -----------


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        ("/api/v1/accounts", {"legal_name": "Ini\udc00tech"}, "legal_name"),
        ("/api/v1/team/tokens", {"name": "\ud800"}, "name"),
        ("/api/v1/conversations", {"body": "Hosts \udc00 offline"}, "body"),
        ("/api/v1/conversations", {"body": "Hi", "fields": {"plan\udc00": "x"}}, "fields"),
        ("/api/v1/conversations", {"body": "Hi", "fields": {"plan": "\udfff"}}, "fields"),
    ],
)
def test_an_unpaired_surrogate_is_422_naming_the_field_and_writes_nothing(
    client: Client, vp: Person, products: Any, url: str, payload: dict[str, Any], field: str
) -> None:
    headers = bearer(vp)
    before = written()
    conversations = Conversation.objects.count()
    body = error_of(post(client, url, payload, **headers), 422)
    assert body["field"] == field
    assert "surrogate" in body["message"]
    assert written() == before
    assert Conversation.objects.count() == conversations


# --- field names -----------------------------------------------------------------------------


def test_a_field_called_body_is_named(client: Client, vp: Person) -> None:
    # The locations "body", "query" and "payload" were dropped wherever they stood, so an error
    # about a conversation's `body` field named "__all__".
    r = post(client, "/api/v1/conversations", {"subject": "Hi", "body": 42}, **bearer(vp))
    assert error_of(r, 422)["field"] == "body"
    assert not Conversation.objects.exists()


def test_a_value_no_member_of_a_union_takes_names_the_parameter_once(
    client: Client, vp: Person, acme: Account
) -> None:
    # kind is "customer" | "prospect" | "": the field was "filters.kind.literal['customer',…]",
    # and the errors listed it once per member.
    body = error_of(client.get("/api/v1/accounts?kind=bogus", **bearer(vp)), 422)
    assert body["field"] == "kind"
    assert [e["field"] for e in body["errors"]] == ["kind"]


# --- ninja's own answers: unknown methods and paths ------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("put", "/api/v1/ping", {"GET"}),
        ("delete", "/api/v1/conversations/{thread}", {"GET", "PATCH"}),
        ("post", "/api/v1/sla/report", {"GET"}),
        ("get", "/api/v1/sla/preview", {"POST"}),
        ("delete", "/api/v1/accounts/{acme}/contacts", {"GET", "POST"}),
    ],
)
def test_a_method_an_endpoint_lacks_is_a_json_405_with_allow(
    client: Client, vp: Person, acme: Account, method: str, url: str, allowed: set[str]
) -> None:
    # ninja answered these in HTML ("Method not allowed").
    headers = bearer(vp)
    thread = post(client, "/api/v1/conversations", {"body": "Hi"}, **headers).json()["id"]
    before = written()
    r = getattr(client, method)(url.format(thread=thread, acme=acme.pk), **headers)
    body = error_of(r, 405)
    assert body["error"] == "method_not_allowed"
    assert body["field"] == "__all__"
    assert {m.strip() for m in r["Allow"].split(",")} == allowed
    assert written() == before


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/"),
        ("get", "/api/v1/nope"),
        ("get", "/api/v1/conversations/1/nope"),
        ("post", "/api/v1/accounts/1/nope"),
        ("patch", "/api/v1/sla/"),
    ],
)
def test_a_path_that_is_no_endpoint_is_a_json_404(
    client: Client, vp: Person, method: str, url: str
) -> None:
    json_body = {"data": "{}", "content_type": "application/json"} if method != "get" else {}
    r = getattr(client, method)(url, **json_body, **bearer(vp))
    body = error_of(r, 404)
    assert (body["error"], body["field"]) == ("not_found", "__all__")
    assert body["message"]


def test_an_unknown_api_path_needs_no_csrf_token_to_be_a_404() -> None:
    # A logged-in browser's POST without a CSRF token was refused with Django's HTML 403 page.
    client = Client(enforce_csrf_checks=True)
    body = error_of(client.post("/api/v1/nope", data={}), 404)
    assert body["error"] == "not_found"


# --- the document ----------------------------------------------------------------------------


def _strings(schema: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "string":
            found.append((where, schema))
        for key, value in schema.items():
            found.extend(_strings(value, f"{where}/{key}"))
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found.extend(_strings(value, f"{where}/{i}"))
    return found


def test_openapi_documents_errors_limits_and_the_nul_rule(client: Client, cse: Person) -> None:
    doc = client.get("/api/v1/openapi.json", **bearer(cse)).json()
    error = doc["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "field", "message"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status in ("4XX", "500"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)
            for parameter in operation["parameters"]:
                ours = path.startswith(("/api/v1/accounts", "/api/v1/team"))
                if ours and parameter["name"].endswith("_id") and parameter["in"] == "path":
                    assert parameter["schema"]["maximum"] == MAX_RECORD_ID, (path, parameter)
    # Every free text a client sends to accounts and team says it may not hold a NUL.
    inputs = {
        name: schema
        for name, schema in doc["components"]["schemas"].items()
        if name.endswith(("In", "Patch"))
        and name.startswith(("Account", "Contact", "Person", "Token", "DriChange", "Checklist"))
    }
    assert len(inputs) == 9
    texts = _strings(inputs)
    params = doc["paths"]["/api/v1/accounts"]["get"]["parameters"]
    texts += _strings(params) + _strings(doc["paths"]["/api/v1/team/people"]["get"]["parameters"])
    free = [(w, s) for w, s in texts if not {"enum", "const", "format"} & set(s)]
    assert free
    assert [w for w, s in free if s.get("pattern") != NUL_FREE_PATTERN] == []
    assert all("maxLength" in s for _, s in free)
    hours = inputs["PersonIn"]["properties"]["working_hours"]
    assert hours["propertyNames"] == {"pattern": NUL_FREE_PATTERN}

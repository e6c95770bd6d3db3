from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from ceres.core.audit.models import AuditEntry
from ceres.team.models import ApiToken, Person
from tests.accounts.test_api import bearer, patch, post


def test_people_directory(client: Client, vp: Person, cse: Person) -> None:
    body = client.get("/api/v1/team/people?q=lena", **bearer(vp)).json()
    assert [p["username"] for p in body["items"]] == ["lena"]
    assert body["items"][0]["role_name"] == "Customer Support Engineer"


def test_unknown_role_is_422_naming_the_field(client: Client, vp: Person) -> None:
    r = post(
        client,
        "/api/v1/team/people",
        {"name": "N", "email": "n@example.com", "role": "wizard"},
        **bearer(vp),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "role"
    assert "cse" in r.json()["message"]
    assert not Person.objects.filter(email="n@example.com").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "N", "email": "not-an-email", "role": "cse"}, "email"),
        (
            {"name": "N", "email": "n@example.com", "role": "cse", "timezone": "Mars/Olympus"},
            "timezone",
        ),
        ({"name": "N", "email": "n@example.com", "role": "cse", "phone": "555"}, "phone"),
        (
            {
                "name": "N",
                "email": "n@example.com",
                "role": "cse",
                "working_hours": {"monday": ["09:00-17:00"]},
            },
            "working_hours",
        ),
        (
            {
                "name": "N",
                "email": "n@example.com",
                "role": "cse",
                "working_hours": {"mon": ["17:00-09:00"]},
            },
            "working_hours",
        ),
        ({"name": "", "email": "n@example.com", "role": "cse"}, "name"),
    ],
)
def test_bad_person_input(client: Client, vp: Person, body: dict[str, Any], field: str) -> None:
    r = post(client, "/api/v1/team/people", body, **bearer(vp))
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field


def test_duplicate_email_and_github_login_conflict(client: Client, vp: Person, cse: Person) -> None:
    team_patch = patch(
        client, f"/api/v1/team/people/{cse.pk}", {"github_login": "LPark"}, **bearer(vp)
    )
    assert team_patch.status_code == 200
    r = post(
        client,
        "/api/v1/team/people",
        {"name": "Other", "email": "LENA@example.com", "role": "cse"},
        **bearer(vp),
    )
    assert r.status_code == 409
    assert r.json()["field"] == "email"
    r = post(
        client,
        "/api/v1/team/people",
        {"name": "Other", "email": "o@example.com", "role": "cse", "github_login": "lpark"},
        **bearer(vp),
    )
    assert r.status_code == 409
    assert r.json()["field"] == "github_login"


def test_person_update_is_audited_and_role_changes_permissions(
    client: Client, vp: Person, cse: Person
) -> None:
    assert cse.user.has_perm("accounts.view_confidential")
    r = patch(
        client,
        f"/api/v1/team/people/{cse.pk}",
        {"role": "engineer", "timezone": "Europe/Paris"},
        **bearer(vp),
    )
    assert r.status_code == 200
    entry = AuditEntry.objects.filter(action="person.update").latest("id")
    assert entry.actor_label == "ada"
    assert entry.changes["timezone"] == ["UTC", "Europe/Paris"]
    cse.user.refresh_from_db()
    from django.contrib.auth import get_user_model

    fresh = get_user_model().objects.get(pk=cse.user.pk)
    assert not fresh.has_perm("accounts.view_confidential")


def test_engineer_cannot_create_people(client: Client, engineer: Person) -> None:
    r = post(
        client,
        "/api/v1/team/people",
        {"name": "N", "email": "n@example.com", "role": "cse"},
        **bearer(engineer),
    )
    assert r.status_code == 403


def test_token_is_hashed_at_rest_and_shown_once(client: Client, cse: Person) -> None:
    client.force_login(cse.user)
    r = client.post(
        "/api/v1/team/tokens", data=json.dumps({"name": "script"}), content_type="application/json"
    )
    assert r.status_code == 201
    token = r.json()["token"]
    row = ApiToken.objects.get(pk=r.json()["id"])
    assert token not in (row.token_hash, row.prefix)
    assert (
        client.get("/api/v1/team/people", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    )


def test_cli_token_create_prints_a_working_token(client: Client, cse: Person, capsys: Any) -> None:
    call_command("token", "create", "lena", "--name", "cron")
    token = capsys.readouterr().out.strip()
    assert token.startswith("ceres_")
    assert client.get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_cli_token_for_unknown_user_is_one_line_exit_2(db: None) -> None:
    with pytest.raises(CommandError) as exc:
        call_command("token", "create", "nobody")
    assert exc.value.returncode == 2
    assert "username" in str(exc.value)


def test_cli_exit_code_through_a_real_process(db: None) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ceres.cli", "token", "create"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "username" in result.stderr


def test_withheld_permission_hides_real_names_from_a_new_support_engineer(
    client: Client, vp: Person, make_person: Any, acme: Any
) -> None:
    newcomer = make_person(
        "cse",
        name="New Hire",
        email="new@example.com",
        withheld_permissions=["accounts.view_confidential"],
    )
    assert not newcomer.user.has_perm("accounts.view_confidential")
    assert newcomer.user.has_perm("accounts.add_account")
    body = client.get("/api/v1/accounts", **bearer(newcomer)).json()
    assert body["items"][0]["legal_name"] is None
    r = patch(
        client, f"/api/v1/team/people/{newcomer.pk}", {"withheld_permissions": []}, **bearer(vp)
    )
    assert r.status_code == 200
    body = client.get("/api/v1/accounts", **bearer(newcomer)).json()
    assert body["items"][0]["legal_name"] == "Acme Robotics"
    r = patch(
        client,
        f"/api/v1/team/people/{newcomer.pk}",
        {"withheld_permissions": ["nope.x"]},
        **bearer(vp),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "withheld_permissions"


# --- malformed input found by fuzzing (schemathesis, SQLite and PostgreSQL) ------------------


def _person_row(person: Person) -> tuple[Any, ...]:
    fresh = Person.objects.select_related("role", "user").get(pk=person.pk)
    return (fresh.name, fresh.email, fresh.role.key, fresh.timezone, fresh.is_active)


@pytest.mark.parametrize(
    "field",
    ["name", "email", "role", "timezone", "is_active", "working_hours", "withheld_permissions"],
)
def test_null_for_a_person_field_is_422_and_changes_nothing(
    client: Client, vp: Person, cse: Person, field: str
) -> None:
    # is_active: null was a NOT NULL violation (500); a null name was saved as "None".
    headers = bearer(vp)
    before, entries = _person_row(cse), AuditEntry.objects.count()
    r = patch(client, f"/api/v1/team/people/{cse.pk}", {"phone": "", field: None}, **headers)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert _person_row(cse) == before
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "x" * 201),
        ("username", "x" * 151),
        ("github_login", "x" * 41),
        ("slack_user_id", "U" * 21),
        ("timezone", "Europe/" + "x" * 60),
        ("email", "x" * 250 + "@example.com"),
    ],
)
def test_person_text_longer_than_its_column_is_422_and_writes_nothing(
    client: Client, vp: Person, field: str, value: str
) -> None:
    # Slack ids and usernames were not checked at all: PostgreSQL refused the row (500).
    headers = bearer(vp)
    people, entries = Person.objects.count(), AuditEntry.objects.count()
    body = {"name": "N", "email": "n@example.com", "role": "cse", field: value}
    r = post(client, "/api/v1/team/people", body, **headers)
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert (Person.objects.count(), AuditEntry.objects.count()) == (people, entries)


def test_services_check_lengths_the_schema_does_not_see(vp: Person, cse: Person) -> None:
    """A username made from a long e-mail, and callers without a schema (forms, CLI)."""
    from ceres.core.errors import Invalid
    from ceres.team import services

    with pytest.raises(Invalid) as caught:
        services.create_person(actor=None, name="N", email="n" * 151 + "@example.com", role="cse")
    assert caught.value.field == "username"
    for changes in ({"slack_user_id": "U" * 21}, {"is_active": None}, {"name": "a\x00"}):
        with pytest.raises(Invalid) as caught:
            services.update_person(actor=None, person=cse, **changes)
        assert caught.value.field == next(iter(changes))
    with pytest.raises(Invalid) as caught:
        services.create_api_token(actor=None, user=cse.user, name="laptop\x00")
    assert caught.value.field == "name"
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "token", ["ceres_\x00_x", "ceres_ÿÿÿÿ_x", "ceres_" + "a" * 17 + "_x", "ceres__x", "ceres_"]
)
def test_a_malformed_token_is_401(client: Client, vp: Person, token: str) -> None:
    # A NUL in the prefix reached the database: an error on PostgreSQL (500), not a 401.
    r = client.get("/api/v1/team/people", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 401
    assert r.json()["field"] == "Authorization"

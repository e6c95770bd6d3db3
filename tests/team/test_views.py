"""The team pages: people by role, one person with inline edit and history, my API tokens."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from ceres.core.audit.models import AuditEntry
from ceres.team import services
from ceres.team.models import ApiToken, Person

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def team(vp: Person, cse: Person, engineer: Person) -> dict[str, Person]:
    services.update_person(
        actor=None,
        person=cse,
        github_login="lenapark",
        slack_user_id="U0LENA",
        phone="+15555550100",
        timezone="America/Chicago",
        working_hours={d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    return {"vp": vp, "cse": cse, "engineer": engineer}


def test_team_page_groups_people_by_role(client: Client, team: dict[str, Person]) -> None:
    client.force_login(team["engineer"].user)
    r = client.get("/team/")
    html = r.content.decode()
    assert r.status_code == 200
    groups = re.findall(r'<tr class="group-row"><th colspan="7" scope="colgroup">([^<]+)<', html)
    assert [g.strip() for g in groups] == [
        "VP of Customer Success",
        "Customer Support Engineer",
        "Engineer",
    ]
    assert "@lenapark" in html
    assert "U0LENA" in html
    assert "+15555550100" in html
    assert "America/Chicago" in html
    assert "Mon\u2013Fri 09:00\u201317:00" in html
    assert "lena@example.com" in html


def test_team_search_and_sort(client: Client, team: dict[str, Person]) -> None:
    client.force_login(team["engineer"].user)
    partial = {**HTMX, "HTTP_HX_TARGET": "team-results"}
    html = client.get("/team/?q=lenapark", **partial).content.decode()
    assert "<html" not in html
    assert "Lena Park" in html
    assert "Ada Ortiz" not in html
    html = client.get("/team/?role=engineer").content.decode()
    assert "Sam Engel" in html
    assert "Lena Park" not in html
    by_name = client.get("/team/?sort=name", **partial).content.decode()
    assert "group-row" not in by_name
    assert re.findall(r"(Ada Ortiz|Lena Park|Sam Engel)</a>", by_name) == [
        "Ada Ortiz",
        "Lena Park",
        "Sam Engel",
    ]
    assert client.get("/team/?sort=age").status_code == 400
    assert client.get("/team/?role=astronaut").status_code == 400


def test_person_page_shows_fields_and_history(client: Client, team: dict[str, Person]) -> None:
    client.force_login(team["engineer"].user)
    cse = team["cse"]
    html = client.get(f"/team/{cse.pk}/").content.decode()
    assert "<title>Lena Park · Ceres</title>" in html
    assert "Customer Support Engineer" in html
    assert "added the person" in html
    assert "changed the person" in html
    assert "Mon\u2013Fri 09:00\u201317:00" in html
    assert "Edit</a>" not in html
    assert client.get("/team/999999/").status_code == 404


def test_edit_person_needs_the_permission(client: Client, team: dict[str, Person]) -> None:
    client.force_login(team["cse"].user)
    cse = team["cse"]
    assert client.get(f"/team/{cse.pk}/edit/", **HTMX).status_code == 403
    assert client.post("/team/999999/card/", {"name": "X"}).status_code == 403
    r = client.post(f"/team/{cse.pk}/card/", {"name": "Hacked"}, **HTMX)
    assert r.status_code == 403
    cse.refresh_from_db()
    assert cse.name == "Lena Park"


def _form(person: Person, **changes: str) -> dict[str, str]:
    data = {
        "name": person.name,
        "role": person.role.key,
        "email": person.email,
        "github_login": person.github_login,
        "slack_user_id": person.slack_user_id,
        "phone": person.phone,
        "timezone": person.timezone,
        "is_active": "on",
        "hours_mon": "09:00-12:00, 13:00-17:00",
        "hours_tue": "09:00-17:00",
    }
    data.update(changes)
    return data


def test_inline_edit_person(client: Client, team: dict[str, Person]) -> None:
    client.force_login(team["vp"].user)
    cse = team["cse"]
    form = client.get(f"/team/{cse.pk}/edit/", **HTMX).content.decode()
    assert "<html" not in form
    assert 'value="09:00-17:00"' in form
    assert '<datalist id="timezones">' in form
    r = client.post(
        f"/team/{cse.pk}/card/",
        _form(cse, name="Lena Park-Ortiz", role="engineer", timezone="Europe/Paris"),
        **HTMX,
    )
    html = r.content.decode()
    assert r.status_code == 200, html
    assert 'id="person-card"' in html
    assert 'id="history" hx-swap-oob="true"' in html
    assert "Lena Park-Ortiz" in html
    cse.refresh_from_db()
    assert cse.role.key == "engineer"
    assert cse.timezone == "Europe/Paris"
    assert cse.working_hours == {"mon": ["09:00-12:00", "13:00-17:00"], "tue": ["09:00-17:00"]}
    assert not cse.user.has_perm("accounts.view_confidential")
    # The history shows the role by name.
    role_change = r'class="before">Customer Support Engineer<.*?class="after">Engineer<'
    assert re.search(role_change, html, re.S)


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"phone": "555-0100"}, 422, "must be in E.164 form"),
        ({"timezone": "Mars/Olympus"}, 422, "unknown IANA time zone"),
        ({"hours_wed": "9 to 5"}, 422, "is not HH:MM-HH:MM"),
        ({"email": "ada@example.com"}, 409, "belongs to another person"),
        ({"email": "nope"}, 400, "Enter a valid email address."),
        ({"role": "astronaut"}, 400, "Select a valid choice."),
        ({"name": ""}, 400, "This field is required."),
    ],
)
def test_inline_edit_person_errors(
    client: Client, team: dict[str, Person], changes: dict[str, str], status: int, message: str
) -> None:
    client.force_login(team["vp"].user)
    cse = team["cse"]
    entries = AuditEntry.objects.count()
    r = client.post(f"/team/{cse.pk}/card/", _form(cse, **changes), **HTMX)
    html = r.content.decode()
    assert r.status_code == status, html
    assert message in html
    assert "<form" in html
    assert AuditEntry.objects.count() == entries
    cse.refresh_from_db()
    assert cse.phone == "+15555550100"


def test_tokens_create_show_once_and_revoke(client: Client, team: dict[str, Person]) -> None:
    cse = team["cse"]
    client.force_login(cse.user)
    assert "No tokens yet." in client.get("/team/tokens/").content.decode()
    r = client.post("/team/tokens/", {"name": "laptop scripts"}, **HTMX)
    html = r.content.decode()
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store"
    token = re.search(r'<code id="new-token" class="mono">(ceres_[\w-]+)</code>', html)
    assert token, html
    assert "shown once" in html
    row = ApiToken.objects.get()
    assert row.user == cse.user
    assert f"ceres_{row.prefix}_" in html
    # The API takes it.
    api = client.get("/api/v1/ping", HTTP_AUTHORIZATION=f"Bearer {token.group(1)}")
    assert api.status_code == 200
    # Shown once: the list afterwards has the prefix only.
    later = client.get("/team/tokens/").content.decode()
    assert token.group(1) not in later
    assert "laptop scripts" in later
    r = client.post(f"/team/tokens/{row.pk}/revoke/", **HTMX)
    assert r.status_code == 200
    assert "revoked" in r.content.decode()
    row.refresh_from_db()
    assert row.revoked_at is not None
    # Revoking again, or someone else's token, is a 404.
    assert client.post(f"/team/tokens/{row.pk}/revoke/").status_code == 404


def test_tokens_are_personal(client: Client, team: dict[str, Person]) -> None:
    services.create_api_token(actor=None, user=team["vp"].user, name="vp token")
    client.force_login(team["cse"].user)
    html = client.get("/team/tokens/").content.decode()
    assert "vp token" not in html
    vp_token = ApiToken.objects.get()
    assert client.post(f"/team/tokens/{vp_token.pk}/revoke/").status_code == 404
    vp_token.refresh_from_db()
    assert vp_token.revoked_at is None


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_token_name_is_checked(client: Client, team: dict[str, Person], name: str) -> None:
    client.force_login(team["cse"].user)
    r = client.post("/team/tokens/", {"name": name}, **HTMX)
    assert r.status_code == 400
    assert "Token name" in r.content.decode()
    assert not ApiToken.objects.exists()


def test_team_pages_need_a_login(client: Client, team: dict[str, Person]) -> None:
    for url in ("/team/", f"/team/{team['cse'].pk}/", "/team/tokens/"):
        r = client.get(url)
        assert r.status_code == 302
        assert r["Location"].startswith("/login/")


def test_login_page(client: Client, team: dict[str, Person]) -> None:
    html = client.get("/login/").content.decode()
    assert "<title>Log in · Ceres</title>" in html
    assert 'name="username"' in html
    r = client.post("/login/", {"username": "lena", "password": "wrong"})
    assert r.status_code == 200
    assert "alert-error" in r.content.decode()
    r = client.post("/login/", {"username": "lena", "password": "correct horse battery staple"})
    assert r.status_code == 302


# --- malformed form input: 4xx naming the field, nothing written, never a 500 ----------------


@pytest.mark.parametrize(
    ("changes", "label"),
    [
        ({"name": "Lena\x00"}, "Name"),
        ({"name": "x" * 201}, "Name"),
        ({"github_login": "x" * 40}, "GitHub login"),
        ({"slack_user_id": "U" * 21}, "Slack user id"),
        ({"phone": "+1" + "5" * 19}, "Phone"),
        ({"timezone": "Europe/" + "x" * 60}, "Time zone"),
        ({"timezone": "UTC\x00"}, "Time zone"),
        ({"hours_fri": "09:00-17:00\x00"}, "Fri"),
        ({"hours_fri": "x" * 201}, "Fri"),
        ({"role": ["cse", "engineer\x00"]}, "Role"),
    ],
)
def test_malformed_person_form_is_400_naming_the_field_and_writes_nothing(
    client: Client, team: dict[str, Person], changes: dict[str, object], label: str
) -> None:
    client.force_login(team["vp"].user)
    cse = team["cse"]
    entries = AuditEntry.objects.count()
    r = client.post(f"/team/{cse.pk}/card/", {**_form(cse), **changes}, **HTMX)
    html = r.content.decode()
    assert r.status_code == 400, html
    assert f"<b>{label}</b>" in html
    assert AuditEntry.objects.count() == entries
    cse.refresh_from_db()
    assert (cse.name, cse.timezone, cse.phone) == ("Lena Park", "America/Chicago", "+15555550100")


@pytest.mark.parametrize("name", ["laptop\x00", " ", "x" * 101])
def test_malformed_token_name_is_400_and_makes_no_token(
    client: Client, team: dict[str, Person], name: str
) -> None:
    client.force_login(team["cse"].user)
    r = client.post("/team/tokens/", {"name": name}, **HTMX)
    assert r.status_code == 400
    assert re.search(r'data-field="name">.*?class="field-error"', r.content.decode(), re.S)
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("query", ["?role=wizard", "?sort=%00", "?q=%00", "?q=" + "x" * 201])
def test_malformed_team_query_is_400(client: Client, team: dict[str, Person], query: str) -> None:
    client.force_login(team["vp"].user)
    assert client.get(f"/team/{query}").status_code == 400


@pytest.mark.parametrize("person_id", ["9" * 18, "9" * 19, "0"])
def test_absurd_person_ids_are_404(client: Client, team: dict[str, Person], person_id: str) -> None:
    client.force_login(team["vp"].user)
    for path in ("", "card/", "edit/"):
        assert client.get(f"/team/{person_id}/{path}").status_code == 404
    assert client.post(f"/team/tokens/{person_id}/revoke/").status_code == 404


def test_every_team_form_needs_the_csrf_token(team: dict[str, Person]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["vp"].user)
    cse = team["cse"]
    token, _ = services.create_api_token(actor=None, user=team["vp"].user, name="kept")
    entries = AuditEntry.objects.count()
    r = client.post(f"/team/{cse.pk}/card/", _form(cse, name="Lena Other"))
    assert r.status_code == 403
    assert client.post("/team/tokens/", {"name": "new"}).status_code == 403
    assert client.post(f"/team/tokens/{token.pk}/revoke/").status_code == 403
    assert AuditEntry.objects.count() == entries
    assert ApiToken.objects.get().revoked_at is None
    cse.refresh_from_db()
    assert cse.name == "Lena Park"

"""The account pages: list, new account, account page with inline edit, contacts, DRI checklist."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ceres.accounts import services
from ceres.accounts.models import Account, ChecklistItem, Codename, Contact, DriChange, Product
from ceres.core.audit.models import AuditEntry
from ceres.core.text import fold
from ceres.team import services as team_services
from ceres.team.models import Person

SECRETS = ("Acme Robotics", "Wile Coyote", "wile@acme-robotics.example")
HTMX = {"HTTP_HX_REQUEST": "true"}


def leaks(html: str) -> list[str]:
    lowered = html.lower()
    return [s for s in SECRETS if s.lower() in lowered]


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, "the page has no <title>"
    return match.group(1).strip()


def results(url: str) -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": "account-results", "HTTP_HX_CURRENT_URL": url}


def as_user(client: Client, person: Person) -> Client:
    client.force_login(person.user)
    return client


@pytest.fixture
def many_accounts(products: dict[str, Product], cse: Person) -> Callable[[int], list[Account]]:
    """N accounts made straight in the database: the list's query count is what is measured."""

    def make(count: int) -> list[Account]:
        names = list(Codename.objects.filter(assigned_at__isnull=True).order_by("id")[:count])
        Codename.objects.filter(pk__in=[c.pk for c in names]).update(assigned_at=timezone.now())
        accounts = [
            Account(
                codename=codename,
                legal_name=f"Customer {i:03d} Ltd",
                legal_name_folded=fold(f"Customer {i:03d} Ltd"),
                github_label=codename.label,
                kind="prospect" if i % 3 == 0 else "customer",
                product=products["premium" if i % 2 else "free"],
                host_count=i * 10,
                csm_owner=cse,
            )
            for i, codename in enumerate(names)
        ]
        return Account.objects.bulk_create(accounts)

    return make


@pytest.fixture
def csm_only(make_person: Callable[..., Person]) -> Person:
    """May change accounts but not see real names."""
    team_services.save_role(
        actor=None,
        key="csm-codenames",
        name="CSM without names",
        permission_names=["accounts.change_account", "accounts.add_contact"],
    )
    return make_person("csm-codenames", name="Cody Mann", email="cody@example.com")


# --- the list --------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client: Client, acme: Account) -> None:
    r = client.get("/accounts/")
    assert r.status_code == 302
    assert r["Location"].startswith("/login/?next=/accounts/")
    r = client.get(f"/accounts/{acme.pk}/", **HTMX, HTTP_HX_CURRENT_URL="http://testserver/x/")
    assert r.status_code == 200
    assert r["HX-Redirect"] == "/login/?next=%2Fx%2F"


def test_list_shows_real_names_to_the_permission(
    client: Client, cse: Person, acme: Account
) -> None:
    html = as_user(client, cse).get("/accounts/").content.decode()
    assert "Acme Robotics" in html
    assert "Kamo`oalewa" in html
    assert "customer-kamooalewa" in html
    assert "Fleet Premium" in html
    assert "Lena Park" in html  # the CSM


def test_engineer_sees_no_real_name_anywhere(
    client: Client, engineer: Person, cse: Person, acme: Account
) -> None:
    services.update_account(actor=cse.user, account=acme, legal_name="Acme Robotics Inc")
    contact = acme.contacts.get()
    services.update_contact(actor=cse.user, contact=contact, role="dri")
    as_user(client, engineer)
    pages = {
        "list": client.get("/accounts/"),
        "list sorted": client.get("/accounts/?sort=-codename"),
        "search": client.get("/accounts/?q=acme"),
        "search partial": client.get("/accounts/?q=Acme", **results("http://testserver/")),
        "account": client.get(f"/accounts/{acme.pk}/"),
        "fields card": client.get(f"/accounts/{acme.pk}/fields/", **HTMX),
        "sort by name": client.get("/accounts/?sort=name"),
    }
    for what, response in pages.items():
        html = response.content.decode()
        assert response.status_code < 500, what
        assert leaks(html) == [], (what, leaks(html))
    assert title_of(pages["account"].content.decode()) == "Kamo`oalewa · Ceres"
    assert "<h1>Kamo`oalewa" in pages["account"].content.decode()
    assert "Kamo`oalewa" in pages["list"].content.decode()
    # Searching by the real name finds nothing; the codename is found.
    assert "No accounts match" in pages["search partial"].content.decode()
    assert "No accounts match" in pages["search"].content.decode()
    found = client.get("/accounts/?q=kamoo", **results("http://testserver/")).content.decode()
    assert f'href="/accounts/{acme.pk}/"' in found
    # The history is there, masked.
    account_html = pages["account"].content.decode()
    assert "created the account" in account_html
    assert "confidential" in account_html
    # Sorting by the real name would reveal the order: refused, naming the field.
    assert pages["sort by name"].status_code == 400
    assert "Sort" in pages["sort by name"].content.decode()


def test_search_partial_is_a_fragment_that_keeps_the_sort(
    client: Client, cse: Person, acme: Account
) -> None:
    r = as_user(client, cse).get("/accounts/?q=acme&sort=-hosts", **results("http://testserver/"))
    html = r.content.decode()
    assert r.status_code == 200
    assert "<html" not in html
    assert "Acme Robotics" in html
    assert 'id="sort-input" value="-hosts" hx-swap-oob="true"' in html
    assert "HX-Request" in r["Vary"]
    full = client.get("/accounts/?q=acme").content.decode()
    assert "<html" in full
    assert 'hx-push-url="true"' in full


def test_filters(
    client: Client,
    cse: Person,
    vp: Person,
    many_accounts: Callable[[int], list[Account]],
) -> None:
    accounts = many_accounts(9)
    Account.objects.filter(pk=accounts[1].pk).update(deployment="managed_cloud", csm_owner=vp)
    as_user(client, cse)

    def names(query: str) -> set[str]:
        html = client.get(f"/accounts/{query}", **results("http://testserver/")).content.decode()
        return set(re.findall(r"Customer \d{3} Ltd", html))

    assert len(names("")) == 9
    assert names("?kind=prospect") == {"Customer 000 Ltd", "Customer 003 Ltd", "Customer 006 Ltd"}
    assert len(names("?product=premium")) == 4
    assert names("?deployment=managed_cloud") == {"Customer 001 Ltd"}
    assert names("?csm=ada") == {"Customer 001 Ltd"}
    assert names("?kind=customer&product=free") == {
        "Customer 002 Ltd",
        "Customer 004 Ltd",
        "Customer 008 Ltd",
    }
    assert names("?q=customer 00") == {f"Customer 00{i} Ltd" for i in range(9)}


def test_sorts(client: Client, cse: Person, many_accounts: Callable[[int], list[Account]]) -> None:
    many_accounts(5)
    as_user(client, cse)

    def order(sort: str) -> list[str]:
        html = client.get(f"/accounts/?sort={sort}", **results("http://x/")).content.decode()
        return re.findall(r"Customer \d{3} Ltd", html)

    assert order("-hosts")[0] == "Customer 004 Ltd"
    assert order("hosts")[0] == "Customer 000 Ltd"
    assert order("name") == sorted(order("name"))
    assert order("-name") == sorted(order("name"), reverse=True)


def test_pagination_50_per_page(
    client: Client, cse: Person, many_accounts: Callable[[int], list[Account]]
) -> None:
    many_accounts(60)
    as_user(client, cse)
    first = client.get("/accounts/?sort=hosts").content.decode()
    assert len(re.findall(r'class="row-link"', first)) == 50
    assert "Page 1 of 2" in first
    assert 'href="?sort=hosts&amp;page=2"' in first
    second = client.get("/accounts/?sort=hosts&page=2").content.decode()
    assert len(re.findall(r'class="row-link"', second)) == 10
    assert "Customer 059 Ltd" in second
    # A page past the end shows the last page; a page that is not a number is refused.
    assert "Customer 059 Ltd" in client.get("/accounts/?sort=hosts&page=9").content.decode()
    bad = client.get("/accounts/?page=abc")
    assert bad.status_code == 400
    assert "<b>Page</b>" in bad.content.decode()


@pytest.mark.parametrize(
    ("query", "label"),
    [("?kind=partner", "Kind"), ("?deployment=moon", "Deployment"), ("?product=nope", "Product")],
)
def test_malformed_filters_answer_400_naming_the_field(
    client: Client, cse: Person, acme: Account, query: str, label: str
) -> None:
    r = as_user(client, cse).get(f"/accounts/{query}")
    assert r.status_code == 400
    assert f"<b>{label}</b>" in r.content.decode()


def test_list_query_count_does_not_grow_with_rows(
    client: Client,
    cse: Person,
    many_accounts: Callable[[int], list[Account]],
    django_assert_max_num_queries: Any,
) -> None:
    many_accounts(3)
    as_user(client, cse)
    client.get("/accounts/")  # warm the session
    with django_assert_max_num_queries(10) as few:
        assert client.get("/accounts/").status_code == 200
    many_accounts(57)
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        assert client.get("/accounts/").content.decode().count('class="row-link"') == 50
    assert len(many.captured_queries) == len(few.captured_queries)


# --- a new account ---------------------------------------------------------------------------


def test_create_needs_the_permission(client: Client, engineer: Person) -> None:
    as_user(client, engineer)
    for response in (
        client.get("/accounts/new/"),
        client.post("/accounts/new/", {"legal_name": "Initech"}),
        client.get("/accounts/new/codenames/"),
    ):
        assert response.status_code == 403
        assert "accounts.add_account" in response.content.decode()
    assert not Account.objects.exists()


def test_create_form_suggests_codenames(client: Client, cse: Person, products: Any) -> None:
    html = as_user(client, cse).get("/accounts/new/").content.decode()
    assert "Leave empty to assign one automatically" in html
    assert len(re.findall(r'class="chip mono" data-fill="#id_codename"', html)) == 6
    more = client.get("/accounts/new/codenames/?legal_name=Globex", **HTMX).content.decode()
    assert "<html" not in more
    assert more.count('data-fill="#id_codename"') == 6


def test_create_assigns_a_codename_and_redirects(
    client: Client, cse: Person, products: Any
) -> None:
    r = as_user(client, cse).post(
        "/accounts/new/",
        {
            "legal_name": "Globex Corporation",
            "kind": "prospect",
            "product": "premium",
            "deployment": "managed_cloud",
            "product_version": "4.60.0",
            "host_count": "1200",
            "slack_channel_id": "C0GLOBEX",
            "crm_id": "001XYZ",
            "csm_owner": str(cse.pk),
            "renewal_date": "2027-03-31",
        },
    )
    account = Account.objects.get()
    assert r.status_code == 302
    assert r["Location"] == f"/accounts/{account.pk}/"
    assert account.legal_name == "Globex Corporation"
    assert account.host_count == 1200
    assert account.product is not None
    assert account.product.key == "premium"
    assert account.csm_owner == cse
    assert str(account.renewal_date) == "2027-03-31"
    page = client.get(r["Location"]).content.decode()
    assert account.codename.name in page
    assert "Account created with the codename" in page


def test_create_with_a_chosen_codename(client: Client, cse: Person, products: Any) -> None:
    r = as_user(client, cse).post(
        "/accounts/new/",
        {
            "legal_name": "Initech",
            "kind": "customer",
            "deployment": "self_hosted",
            "codename": "Vesta",
        },
    )
    assert r.status_code == 302
    assert Account.objects.get().codename.name == "Vesta"


@pytest.mark.parametrize(
    ("changes", "status", "field", "message"),
    [
        ({"legal_name": ""}, 400, "legal_name", "This field is required."),
        ({"legal_name": "!!!"}, 422, "legal_name", "must contain letters or digits"),
        ({"host_count": "-3"}, 400, "host_count", "greater than or equal to 0"),
        ({"host_count": "many"}, 400, "host_count", "Enter a whole number."),
        ({"renewal_date": "31/03/2027"}, 400, "renewal_date", "Enter a valid date."),
        ({"kind": "partner"}, 400, "kind", "Select a valid choice."),
        ({"product": "gold"}, 400, "product", "Select a valid choice."),
        ({"codename": "Not A Planet 123"}, 422, "codename", "is not in the minor-planet"),
        ({"codename": "Kamo`oalewa"}, 409, "codename", "is already used"),
    ],
)
def test_create_errors_are_shown_next_to_the_field_and_nothing_is_written(
    client: Client,
    cse: Person,
    acme: Account,
    changes: dict[str, str],
    status: int,
    field: str,
    message: str,
) -> None:
    data = {"legal_name": "Initech", "kind": "customer", "deployment": "self_hosted", **changes}
    before = (Account.objects.count(), AuditEntry.objects.count())
    assigned = Codename.objects.filter(assigned_at__isnull=False).count()
    r = as_user(client, cse).post("/accounts/new/", data)
    html = r.content.decode()
    assert r.status_code == status, html
    block = re.search(rf'data-field="{field}">(.*?)</div>', html, re.S)
    assert block is not None, html
    assert message in block.group(1)
    assert "field-error" in block.group(1)
    assert (Account.objects.count(), AuditEntry.objects.count()) == before
    assert Codename.objects.filter(assigned_at__isnull=False).count() == assigned


# --- one account -----------------------------------------------------------------------------


def test_account_page(client: Client, cse: Person, acme: Account) -> None:
    html = as_user(client, cse).get(f"/accounts/{acme.pk}/").content.decode()
    assert title_of(html) == "Acme Robotics · Ceres"
    assert 'data-copy="Kamo`oalewa"' in html
    assert 'data-copy="customer-kamooalewa"' in html
    assert "Wile Coyote" in html
    assert "wile@acme-robotics.example" in html
    assert "created the account" in html
    assert "lena" in html  # who made the change


def test_missing_account_is_a_styled_404(client: Client, cse: Person) -> None:
    r = as_user(client, cse).get("/accounts/999999/")
    assert r.status_code == 404
    assert "Nothing here" in r.content.decode()
    assert "/accounts/999999/" in r.content.decode()


def test_403_comes_before_the_lookup(client: Client, engineer: Person) -> None:
    """Without the permission, a missing and an existing account answer the same."""
    as_user(client, engineer)
    for url in ("/accounts/999999/fields/edit/", "/accounts/999999/contacts/"):
        method = client.get if url.endswith("edit/") else client.post
        r = method(url)
        assert r.status_code == 403
        assert "You can't do that" in r.content.decode()
    assert client.post("/accounts/999999/fields/", {"kind": "customer"}).status_code == 403
    assert client.post("/accounts/checklist/999999/", {"done": "1"}).status_code == 403


def test_history_times_are_in_the_viewers_time_zone(
    client: Client, cse: Person, acme: Account
) -> None:
    team_services.update_person(actor=None, person=cse, timezone="Asia/Tokyo")
    entry = AuditEntry.objects.filter(action="account.create").get()
    local = timezone.localtime(entry.created_at, timezone=timezone.get_fixed_timezone(9 * 60))
    html = as_user(client, cse).get(f"/accounts/{acme.pk}/").content.decode()
    assert local.strftime("%H:%M") in html
    assert "JST" in html


def test_inline_edit_round_trip(client: Client, cse: Person, acme: Account) -> None:
    as_user(client, cse)
    form = client.get(f"/accounts/{acme.pk}/fields/edit/", **HTMX)
    assert form.status_code == 200
    html = form.content.decode()
    assert "<html" not in html
    assert 'hx-post="/accounts/' in html
    assert 'name="legal_name"' in html
    assert 'value="Acme Robotics"' in html
    data = {
        "legal_name": "Acme Robotics",
        "kind": "customer",
        "product": "premium-mdm",
        "deployment": "self_hosted",
        "product_version": "4.61.0",
        "host_count": "4000",
        "csm_owner": str(cse.pk),
        "renewal_date": "",
        "slack_channel_id": "C0ACME",
        "crm_id": "",
    }
    saved = client.post(f"/accounts/{acme.pk}/fields/", data, **HTMX)
    html = saved.content.decode()
    assert saved.status_code == 200, html
    assert 'id="fields-card"' in html
    assert "Fleet Premium MDM" in html
    assert 'id="history" hx-swap-oob="true"' in html
    assert "4000" in html
    acme.refresh_from_db()
    assert acme.host_count == 4000
    assert acme.product_version == "4.61.0"
    # Cancel shows the card again; without htmx it is the page.
    assert 'id="fields-card"' in client.get(f"/accounts/{acme.pk}/fields/", **HTMX).content.decode()
    assert client.get(f"/accounts/{acme.pk}/fields/").status_code == 302
    full = client.post(f"/accounts/{acme.pk}/fields/", {**data, "host_count": "5"})
    assert full.status_code == 302


def test_inline_edit_errors_keep_the_form(client: Client, cse: Person, acme: Account) -> None:
    as_user(client, cse)
    data = {"legal_name": "", "kind": "customer", "deployment": "self_hosted", "host_count": "x"}
    r = client.post(f"/accounts/{acme.pk}/fields/", data, **HTMX)
    html = r.content.decode()
    assert r.status_code == 400
    assert "<b>Legal name</b>" in html
    assert "<b>Hosts</b>" in html
    assert "<form" in html
    acme.refresh_from_db()
    assert acme.legal_name == "Acme Robotics"


def test_inline_edit_needs_permissions(
    client: Client, engineer: Person, csm_only: Person, acme: Account
) -> None:
    as_user(client, engineer)
    assert client.get(f"/accounts/{acme.pk}/fields/edit/", **HTMX).status_code == 403
    assert "Edit</a>" not in client.get(f"/accounts/{acme.pk}/").content.decode()
    as_user(client, csm_only)
    form = client.get(f"/accounts/{acme.pk}/fields/edit/", **HTMX).content.decode()
    assert 'name="legal_name"' not in form
    assert leaks(form) == []
    base = {"kind": "prospect", "deployment": "self_hosted"}
    r = client.post(f"/accounts/{acme.pk}/fields/", {**base, "legal_name": "Renamed"}, **HTMX)
    assert r.status_code == 403
    r = client.post(f"/accounts/{acme.pk}/fields/", base, **HTMX)
    assert r.status_code == 200
    assert leaks(r.content.decode()) == []
    acme.refresh_from_db()
    assert (acme.kind, acme.legal_name) == ("prospect", "Acme Robotics")


def test_add_contact(client: Client, cse: Person, acme: Account) -> None:
    as_user(client, cse)
    r = client.post(
        f"/accounts/{acme.pk}/contacts/",
        {"name": "Road Runner", "role": "admin", "email": "rr@acme-robotics.example"},
        **HTMX,
    )
    html = r.content.decode()
    assert r.status_code == 200
    assert 'id="people"' in html
    assert "Road Runner" in html
    assert "added a contact" in html
    assert acme.contacts.filter(name="Road Runner").exists()


@pytest.mark.parametrize(
    ("data", "label"),
    [
        ({"name": "", "role": "admin"}, "Name"),
        ({"name": "X", "role": "boss"}, "Role"),
        ({"name": "X", "role": "admin", "email": "not-an-address"}, "E-mail"),
    ],
)
def test_add_contact_errors(
    client: Client, cse: Person, acme: Account, data: dict[str, str], label: str
) -> None:
    r = as_user(client, cse).post(f"/accounts/{acme.pk}/contacts/", data, **HTMX)
    assert r.status_code == 400
    html = r.content.decode()
    assert f"<b>{label}</b>" in html
    assert '<details class="add-contact" open>' in html
    assert acme.contacts.count() == 1


def test_contacts_are_confidential_without_the_permission(
    client: Client, engineer: Person, acme: Account
) -> None:
    html = as_user(client, engineer).get(f"/accounts/{acme.pk}/").content.decode()
    assert leaks(html) == []
    assert "Champion" in html
    assert "Make DRI</button>" not in html
    assert "Add contact</summary>" not in html


def test_make_dri_and_tick_the_checklist(client: Client, cse: Person, acme: Account) -> None:
    old = services.add_contact(actor=cse.user, account=acme, name="Old Dri", role="dri")
    new = acme.contacts.get(name="Wile Coyote")
    as_user(client, cse)
    r = client.post(f"/accounts/{acme.pk}/contacts/{new.pk}/make-dri/", **HTMX)
    html = r.content.decode()
    assert r.status_code == 200, html
    assert "0/8" in html
    assert 'class="depth-1' in html
    assert "started a DRI change" in html  # the history, out of band
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.is_active, new.role) == (False, Contact.Role.DRI)
    change = DriChange.objects.get()
    first, second = list(change.items.order_by("position"))[:2]

    r = client.post(f"/accounts/checklist/{first.pk}/", {"done": "1"}, **HTMX)
    assert r.status_code == 200
    assert "1/8" in r.content.decode()
    assert 'id="dri-checklist"' in r.content.decode()
    client.post(f"/accounts/checklist/{second.pk}/", {"done": "1"}, **HTMX)
    r = client.post(f"/accounts/checklist/{first.pk}/", {}, **HTMX)  # unticked: no "done"
    assert "1/8" in r.content.decode()
    assert ChecklistItem.objects.filter(done_at__isnull=False).count() == 1
    # Without htmx the same URL works and lands back on the page.
    r = client.post(f"/accounts/checklist/{first.pk}/", {"done": "on"})
    assert r.status_code == 302
    assert "3/8" not in client.get(r["Location"]).content.decode()
    assert "2/8" in client.get(f"/accounts/{acme.pk}/").content.decode()

    # Making the DRI the DRI again is refused with a message, not a 500.
    r = client.post(f"/accounts/{acme.pk}/contacts/{new.pk}/make-dri/", **HTMX)
    assert r.status_code == 409
    assert "already the DRI" in r.content.decode()


def test_checklist_needs_permission(
    client: Client, cse: Person, engineer: Person, acme: Account
) -> None:
    contact = acme.contacts.get()
    change = services.start_dri_change(actor=cse.user, account=acme, new_dri=contact)
    item = change.items.first()
    assert item is not None
    as_user(client, engineer)
    html = client.get(f"/accounts/{acme.pk}/").content.decode()
    assert "0/8" in html
    assert "disabled" in html
    assert client.post(f"/accounts/checklist/{item.pk}/", {"done": "1"}).status_code == 403
    assert client.post(f"/accounts/{acme.pk}/contacts/{contact.pk}/make-dri/").status_code == 403
    item.refresh_from_db()
    assert item.done_at is None


def test_unknown_checklist_item_is_404(client: Client, cse: Person) -> None:
    r = as_user(client, cse).post("/accounts/checklist/424242/", {"done": "1"})
    assert r.status_code == 404


def test_absurd_input_is_a_4xx_not_a_500(client: Client, cse: Person, acme: Account) -> None:
    as_user(client, cse)
    huge = "9" * 30
    assert client.get(f"/accounts/{huge}/").status_code == 404
    assert client.post(f"/accounts/checklist/{huge}/", {"done": "1"}).status_code == 404
    assert client.get("/accounts/?q=ac%00me").status_code == 400
    data = {"legal_name": "Initech", "kind": "customer", "deployment": "self_hosted"}
    r = client.post("/accounts/new/", {**data, "host_count": "9" * 12})
    assert r.status_code == 400
    assert "<b>Hosts</b>" in r.content.decode()
    r = client.post("/accounts/new/", {**data, "legal_name": "Ini\x00tech"})
    assert r.status_code == 400
    long_email = "x" * 250 + "@acme.example"
    r = client.post(
        f"/accounts/{acme.pk}/contacts/", {"name": "X", "role": "admin", "email": long_email}
    )
    assert r.status_code == 400
    assert "<b>E-mail</b>" in r.content.decode()
    assert Account.objects.count() == 1


def test_wrong_methods_are_405(client: Client, cse: Person, acme: Account) -> None:
    as_user(client, cse)
    assert client.post("/accounts/", {}).status_code == 405
    assert client.get(f"/accounts/{acme.pk}/contacts/").status_code == 405


# --- malformed form input: 4xx naming the field, nothing written, never a 500 ----------------

ACCOUNT_FORM = {"legal_name": "Initech", "kind": "customer", "deployment": "self_hosted"}


def _written() -> tuple[int, int, int, int]:
    return (
        Account.objects.count(),
        Contact.objects.count(),
        AuditEntry.objects.count(),
        Codename.objects.filter(assigned_at__isnull=False).count(),
    )


@pytest.mark.parametrize(
    ("path", "changes", "label"),
    [
        ("new/", {"legal_name": "Ini\x00tech"}, "Legal name"),
        ("new/", {"legal_name": "x" * 201}, "Legal name"),
        ("new/", {"codename": "x" * 101}, "Codename"),
        ("new/", {"kind": ["customer", "partner"]}, "Kind"),
        ("new/", {"host_count": "-1"}, "Hosts"),
        ("new/", {"host_count": "1e3"}, "Hosts"),
        ("new/", {"host_count": str(2**31)}, "Hosts"),
        ("new/", {"renewal_date": "2026-02-30"}, "Renewal date"),
        ("new/", {"renewal_date": "99999-01-01"}, "Renewal date"),
        ("new/", {"csm_owner": "9" * 30}, "CSM owner"),
        ("new/", {"product": "gold"}, "Product"),
        ("{acme}/fields/", {"slack_channel_id": "C" * 31}, "Slack channel id"),
        ("{acme}/fields/", {"crm_id": "\x00"}, "CRM id"),
        ("{acme}/fields/", {"legal_name": " "}, "Legal name"),
        ("{acme}/contacts/", {"name": "Road\x00Runner"}, "Name"),
        ("{acme}/contacts/", {"title": "x" * 121}, "Title"),
        ("{acme}/contacts/", {"slack_user_id": "U" * 21}, "Slack user id"),
        ("{acme}/contacts/", {"role": "boss"}, "Role"),
    ],
)
def test_malformed_form_input_is_400_naming_the_field_and_writes_nothing(
    client: Client, cse: Person, acme: Account, path: str, changes: dict[str, Any], label: str
) -> None:
    as_user(client, cse)
    base = {"name": "Road Runner", "role": "admin"} if "contacts" in path else ACCOUNT_FORM
    if "fields" in path:
        base = {**ACCOUNT_FORM, "legal_name": "Acme Robotics"}
    before = _written()
    r = client.post(f"/accounts/{path.format(acme=acme.pk)}", {**base, **changes}, **HTMX)
    html = r.content.decode()
    assert r.status_code == 400, html
    assert f"<b>{label}</b>" in html
    assert _written() == before
    acme.refresh_from_db()
    assert (acme.legal_name, acme.slack_channel_id, acme.crm_id) == ("Acme Robotics", "C0ACME", "")


@pytest.mark.parametrize(
    "query", ["?page=abc", "?page=0", "?sort=%00", "?csm=nobody", "?q=" + "x" * 201]
)
def test_malformed_list_query_is_400(
    client: Client, cse: Person, acme: Account, query: str
) -> None:
    assert as_user(client, cse).get(f"/accounts/{query}").status_code == 400


def test_a_page_past_the_end_shows_the_last_page(
    client: Client, cse: Person, acme: Account
) -> None:
    r = as_user(client, cse).get(f"/accounts/?page={10**30}")
    assert r.status_code == 200
    assert "Kamo`oalewa" in r.content.decode()


def test_every_account_form_needs_the_csrf_token(cse: Person, acme: Account) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cse.user)
    contact = acme.contacts.get()
    before = _written()
    for path, data in [
        ("/accounts/new/", ACCOUNT_FORM),
        (f"/accounts/{acme.pk}/fields/", {**ACCOUNT_FORM, "legal_name": "Acme Inc"}),
        (f"/accounts/{acme.pk}/contacts/", {"name": "Road Runner", "role": "admin"}),
        (f"/accounts/{acme.pk}/contacts/{contact.pk}/make-dri/", {}),
    ]:
        assert client.post(path, data).status_code == 403, path
    assert _written() == before
    acme.refresh_from_db()
    assert acme.legal_name == "Acme Robotics"

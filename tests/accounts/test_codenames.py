from __future__ import annotations

import pytest

from ceres.accounts import services
from ceres.accounts.codenames import label_for, names_collide
from ceres.accounts.models import Account, Codename
from ceres.core.errors import Conflict, Invalid
from ceres.team.models import Person


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Kamo`oalewa", "customer-kamooalewa"),
        ("Walküre", "customer-walkure"),
        ("Mr. Spock", "customer-mr-spock"),
        ("d'Arrest", "customer-darrest"),
        ("|=Kagara", "customer-kagara"),
        ("van 't Leven", "customer-van-t-leven"),
        ("Al-Ṭūsī", "customer-al-tusi"),
    ],
)
def test_label_is_lower_case_ascii(name: str, label: str) -> None:
    assert label_for(name) == label


def test_collisions_ignore_case_accents_and_punctuation() -> None:
    assert names_collide("Walküre", "WALKURE Systems")
    assert names_collide("Acme Robotics Incorporated", "acme-robotics")
    assert not names_collide("Ceres", "Acme Robotics")


def test_create_assigns_a_free_catalogue_name_and_sets_the_label(
    products: object, cse: Person
) -> None:
    account = services.create_account(actor=cse.user, legal_name="Globex Corporation")
    assert account.codename.assigned_at is not None
    assert account.github_label == label_for(account.codename.name)
    assert not names_collide(account.codename.name, "Globex Corporation")


def test_a_codename_is_never_reused_even_after_delete(acme: Account, cse: Person) -> None:
    codename = acme.codename
    services.delete_account(actor=cse.user, account=acme)
    codename.refresh_from_db()
    assert codename.assigned_at is not None
    with pytest.raises(Conflict) as exc:
        services.create_account(actor=cse.user, legal_name="Initech", codename="Kamo`oalewa")
    assert exc.value.field == "codename"
    assert "Kamo`oalewa" in exc.value.message
    suggested = {c.name for c in services.suggest_codenames(count=50, seed=1)}
    assert codename.name not in suggested


def test_requested_codename_that_contains_a_real_name_is_refused(
    acme: Account, cse: Person
) -> None:
    Codename.objects.filter(name="Acme").exists()
    with pytest.raises(Invalid) as exc:
        services.create_account(actor=cse.user, legal_name="Ceres Mining", codename="Ceres")
    assert exc.value.field == "codename"
    assert "Ceres Mining" not in exc.value.message


def test_real_name_colliding_with_a_codename_is_refused(acme: Account, cse: Person) -> None:
    with pytest.raises(Invalid) as exc:
        services.create_account(actor=cse.user, legal_name="KAMOOALEWA Labs")
    assert exc.value.field == "legal_name"
    assert Account.objects.count() == 1

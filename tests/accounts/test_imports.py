from __future__ import annotations

import datetime
import random
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceres.accounts.codenames import catalogue_rows, label_for, names_collide
from ceres.accounts.imports import AccountRow, ContactRow, import_accounts
from ceres.accounts.models import Account, Codename, Product
from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Invalid
from ceres.demo.generator import account_rows


@given(st.sampled_from(catalogue_rows()))
def test_every_catalogue_label_is_lower_case_ascii(row: tuple[int, str]) -> None:
    assert re.fullmatch(r"customer-[a-z0-9]+(-[a-z0-9]+)*", label_for(row[1]))


@given(st.text(min_size=1, max_size=40))
def test_label_of_any_text_is_clean(text: str) -> None:
    label = label_for(text)
    assert re.fullmatch(r"customer-([a-z0-9]+(-[a-z0-9]+)*)?", label)


def test_bulk_import_follows_the_codename_rules(db: None) -> None:
    # Real names chosen to collide with catalogue names, in both directions.
    names = ["Vesta Energy", "Ceres", "Juno Networks", "Pallas Bank", "Hygiea Health"]
    rows = [AccountRow(legal_name=n, contacts=[ContactRow(name="A B", role="dri")]) for n in names]
    accounts = import_accounts(actor=None, rows=rows, codename_order=lambda ids: sorted(ids))
    assert len(accounts) == 5
    for account in Account.objects.select_related("codename"):
        for other in names:
            assert not names_collide(account.codename.name, other)
        assert account.github_label == account.codename.label
        assert account.codename.assigned_at is not None
        assert account.contacts.count() == 1
    assert AuditEntry.objects.filter(action="account.create").count() == 5
    # Vesta, Ceres, Juno, Pallas, Hygiea (numbers 1-10) are skipped because they clash.
    assert not {"Ceres", "Vesta", "Juno", "Pallas", "Hygiea"} & {a.codename.name for a in accounts}


def test_bulk_import_refuses_a_name_containing_a_used_codename(db: None) -> None:
    import_accounts(actor=None, rows=[AccountRow(legal_name="Globex")])
    used = Codename.objects.filter(account__isnull=False).get()
    with pytest.raises(Invalid) as exc:
        import_accounts(actor=None, rows=[AccountRow(legal_name=f"{used.name} Corp")])
    assert exc.value.field == "legal_name"
    assert Account.objects.count() == 1


def test_demo_rows_are_reproducible(db: None) -> None:
    products = {
        k: Product.objects.create(key=k, name=k) for k in ("free", "premium", "premium-mdm")
    }
    kwargs: dict[str, Any] = {
        "count": 50,
        "products": products,
        "csms": [],
        "today": datetime.date(2026, 11, 25),
    }
    first = account_rows(seed=3, **kwargs)
    second = account_rows(seed=3, **kwargs)
    other = account_rows(seed=4, **kwargs)
    assert [r.legal_name for r in first] == [r.legal_name for r in second]
    assert [r.legal_name for r in first] != [r.legal_name for r in other]
    assert len({r.legal_name for r in first}) == 50
    rng = random.Random(3)
    ids = import_accounts(actor=None, rows=first, codename_order=lambda xs: rng.sample(xs, len(xs)))
    assert len(ids) == 50

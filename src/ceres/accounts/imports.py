"""Bulk creation of accounts (demo data, imports from a CRM export).

The same rules as `services.create_account` — a free codename that clashes with no real name,
its label, an audit entry per account — but checked in memory in one pass, so 10,000 accounts
take seconds instead of a query storm. Real names are compared as `fold_compact` strings:
"codename contains a real name" is one substring search over all names joined; "a real name
contains the codename" is a set lookup of the codename's substrings.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from ceres.accounts.models import Account, Codename, Contact, Product
from ceres.accounts.services import ACCOUNT_CONFIDENTIAL
from ceres.core.audit.models import AuditEntry
from ceres.core.audit.services import Actor, actor_label
from ceres.core.errors import Invalid
from ceres.core.text import fold, fold_compact
from ceres.team.models import Person


@dataclass
class ContactRow:
    name: str
    role: str
    email: str = ""
    slack_user_id: str = ""
    title: str = ""


@dataclass
class AccountRow:
    legal_name: str
    kind: str = Account.Kind.CUSTOMER
    product: Product | None = None
    deployment: str = Account.Deployment.SELF_HOSTED
    product_version: str = ""
    host_count: int = 0
    slack_channel_id: str = ""
    crm_id: str = ""
    csm_owner: Person | None = None
    renewal_date: datetime.date | None = None
    contacts: list[ContactRow] = field(default_factory=list)


class _NameGuard:
    """Answers "does this codename clash with any real name?" for many names at once."""

    def __init__(self, real_names: Iterable[str]) -> None:
        self.names: set[str] = set()
        self.joined = "\x00"
        self.add_all(real_names)

    def add_all(self, names: Iterable[str]) -> None:
        new = [n for n in (fold_compact(x) for x in names) if n and n not in self.names]
        self.names.update(new)
        if new:
            self.joined += "\x00".join(new) + "\x00"

    def clashes(self, codename_compact: str) -> bool:
        if codename_compact in self.joined:  # a real name contains (or equals) the codename
            return True
        c = codename_compact
        return any(c[i:j] in self.names for i in range(len(c)) for j in range(i + 1, len(c) + 1))


def import_accounts(
    *,
    actor: Actor,
    rows: Sequence[AccountRow],
    codename_order: Callable[[list[int]], list[int]] | None = None,
    also_avoid: Iterable[str] = (),
    batch_size: int = 1000,
) -> list[Account]:
    """Create accounts and contacts in bulk, in one transaction, each with a free codename.

    `also_avoid`: real names of accounts still to come (a large import done in chunks), so
    no codename picked now clashes with them later.
    """
    for i, row in enumerate(rows):
        if not fold_compact(row.legal_name):
            raise Invalid(f"row {i + 1}: must contain letters or digits", field="legal_name")
    with transaction.atomic():
        existing_real = list(Account.objects.values_list("legal_name", flat=True))
        guard = _NameGuard([*existing_real, *(r.legal_name for r in rows), *also_avoid])
        used_codenames = [
            fold_compact(n)
            for n in Codename.objects.filter(account__isnull=False).values_list("name", flat=True)
        ]
        for i, row in enumerate(rows):
            folded = fold_compact(row.legal_name)
            if any(c in folded or folded in c for c in used_codenames if c):
                raise Invalid(
                    f"row {i + 1}: the name collides with an existing codename", field="legal_name"
                )
        used_labels = set(Account.objects.values_list("github_label", flat=True))
        free = list(
            Codename.objects.filter(assigned_at__isnull=True).values_list("id", "folded", "label")
        )
        order = [f[0] for f in free]
        if codename_order is not None:
            order = codename_order(order)
        by_id = {f[0]: f for f in free}
        chosen: list[int] = []
        candidates = iter(order)
        for _row in rows:
            for cid in candidates:
                _, compact, label = by_id[cid]
                if label not in used_labels and not guard.clashes(compact):
                    chosen.append(cid)
                    used_labels.add(label)
                    break
            else:
                raise Invalid("not enough free codenames left in the catalogue", field="codename")
        now = timezone.now()
        Codename.objects.filter(id__in=chosen).update(assigned_at=now)
        codenames = Codename.objects.in_bulk(chosen)
        accounts = [
            Account(
                codename=codenames[cid],
                legal_name=" ".join(row.legal_name.split()),
                legal_name_folded=fold(" ".join(row.legal_name.split())),
                kind=row.kind,
                product=row.product,
                deployment=row.deployment,
                product_version=row.product_version,
                host_count=row.host_count,
                slack_channel_id=row.slack_channel_id,
                crm_id=row.crm_id,
                github_label=codenames[cid].label,
                csm_owner=row.csm_owner,
                renewal_date=row.renewal_date,
            )
            for row, cid in zip(rows, chosen, strict=True)
        ]
        Account.objects.bulk_create(accounts, batch_size=batch_size)
        if any(a.pk is None for a in accounts):  # backends without RETURNING ids
            ids = dict(
                Account.objects.filter(codename_id__in=chosen).values_list("codename_id", "id")
            )
            for account in accounts:
                account.pk = ids[account.codename_id]
        contacts = [
            Contact(account=account, **vars(c))
            for account, row in zip(accounts, rows, strict=True)
            for c in row.contacts
        ]
        Contact.objects.bulk_create(contacts, batch_size=batch_size)
        label = actor_label(actor)
        audit_actor = actor if actor is not None and actor.is_authenticated else None
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    actor=audit_actor,
                    actor_label=label,
                    action="account.create",
                    target_type=Account._meta.label_lower,
                    target_id=str(account.pk),
                    target_label=account.codename.name,
                    changes=_creation_changes(account),
                    confidential_fields=list(ACCOUNT_CONFIDENTIAL),
                )
                for account in accounts
            ],
            batch_size=batch_size,
        )
    return accounts


def _creation_changes(account: Account) -> dict[str, Any]:
    return {
        "codename": [None, account.codename.name],
        "legal_name": [None, account.legal_name],
        "kind": [None, account.kind],
        "product": [None, account.product_id],
        "github_label": [None, account.github_label],
        "host_count": [None, account.host_count],
    }

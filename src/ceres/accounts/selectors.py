"""Reads of accounts. Whether a viewer may see real names is decided here, once."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Prefetch, Q, QuerySet

from ceres.accounts.models import Account, ChecklistItem, Codename, Contact, DriChange, Product
from ceres.core.errors import Invalid, NotFound
from ceres.core.text import fold, fold_compact

VIEW_CONFIDENTIAL = "accounts.view_confidential"
Viewer = User | AnonymousUser

SORTS = {
    "codename": "codename__name",
    "-codename": "-codename__name",
    "renewal": "renewal_date",
    "-renewal": "-renewal_date",
    "hosts": "host_count",
    "-hosts": "-host_count",
    "created": "created_at",
    "-created": "-created_at",
}
CONFIDENTIAL_SORTS = {"name": "legal_name_folded", "-name": "-legal_name_folded"}


def can_view_confidential(user: Viewer | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_perm(VIEW_CONFIDENTIAL))


def display_name(account: Account, user: Viewer | None) -> str:
    """The name a viewer sees: the real name only with the permission, else the codename."""
    return account.legal_name if can_view_confidential(user) else account.codename.name


def confidential_names() -> list[str]:
    """Every real name the firewall must keep out of public destinations."""
    names = list(Account.objects.values_list("legal_name", flat=True))
    names += [
        alias
        for aliases in Account.objects.values_list("aliases", flat=True)
        for alias in aliases or []
    ]
    names += [n for n in Contact.objects.values_list("name", flat=True) if n]
    return names


def account_list(
    *,
    user: Viewer,
    q: str = "",
    kind: str = "",
    product: str = "",
    deployment: str = "",
    csm: str = "",
    renewal_before: datetime.date | None = None,
    sort: str = "codename",
) -> QuerySet[Account]:
    confidential = can_view_confidential(user)
    qs = Account.objects.select_related("codename", "product", "csm_owner")
    if q.strip():
        term = fold(q.strip())
        compact = fold_compact(q)
        match = Q(codename__folded__contains=compact) if compact else Q(pk__in=[])
        match |= Q(github_label__contains=term.replace(" ", "-"))
        match |= Q(crm_id__iexact=q.strip())
        if confidential:
            match |= Q(legal_name_folded__contains=term)
        qs = qs.filter(match)
    if kind:
        if kind not in Account.Kind.values:
            raise Invalid(f"must be one of {', '.join(Account.Kind.values)}", field="kind")
        qs = qs.filter(kind=kind)
    if product:
        # Resolved to an id first: the planner can then walk the (kind, product, hosts) index
        # in order and stop at the page, instead of sorting every matching account.
        product_id = Product.objects.filter(key=product).values_list("id", flat=True).first()
        if product_id is None:
            known = ", ".join(Product.objects.values_list("key", flat=True))
            raise Invalid(f"unknown product {product!r}; known: {known}", field="product")
        qs = qs.filter(product_id=product_id)
    if deployment:
        if deployment not in Account.Deployment.values:
            raise Invalid(
                f"must be one of {', '.join(Account.Deployment.values)}", field="deployment"
            )
        qs = qs.filter(deployment=deployment)
    if csm:
        qs = qs.filter(csm_owner__user__username=csm)
    if renewal_before is not None:
        qs = qs.filter(renewal_date__lte=renewal_before)
    sorts = dict(SORTS, **(CONFIDENTIAL_SORTS if confidential else {}))
    if sort not in sorts:
        raise Invalid(f"must be one of {', '.join(sorts)}", field="sort")
    return qs.order_by(sorts[sort], "id")


def get_account(account_id: int) -> Account:
    account = (
        Account.objects.select_related("codename", "product", "csm_owner")
        .filter(pk=account_id)
        .first()
    )
    if account is None:
        raise NotFound("no such account", field="account_id")
    return account


def get_account_by_codename(name: str) -> Account:
    account = (
        Account.objects.select_related("codename", "product", "csm_owner")
        .filter(Q(codename__name__iexact=name) | Q(codename__folded=fold_compact(name)))
        .first()
    )
    if account is None:
        raise NotFound("no such account", field="codename")
    return account


def contacts_of(account: Account) -> QuerySet[Contact]:
    return account.contacts.order_by("-is_active", "role", "name")


def current_dri(account: Account) -> Contact | None:
    return account.contacts.filter(role=Contact.Role.DRI, is_active=True).first()


def free_codename_count() -> int:
    return Codename.objects.filter(assigned_at__isnull=True).count()


def products() -> list[Product]:
    return list(Product.objects.order_by("position", "name"))


def get_contact(account: Account, contact_id: int) -> Contact:
    contact = account.contacts.filter(pk=contact_id).first()
    if contact is None:
        raise NotFound("no such contact", field="contact_id")
    return contact


def latest_dri_change(account: Account) -> DriChange | None:
    """The newest DRI change of an account with its checklist items (who ticked them too)."""
    return (
        DriChange.objects.filter(account=account)
        .select_related("new_dri", "previous_dri", "started_by")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=ChecklistItem.objects.select_related("done_by").order_by("position"),
            )
        )
        .order_by("-started_at", "-id")
        .first()
    )

"""HTML forms of accounts. They parse and type the input; the rules live in the services.

Choices that come from the database (products, team members) are passed in by the view,
which reads them through selectors.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django import forms

from ceres.accounts.models import MAX_HOST_COUNT, Account, Contact, Product
from ceres.core.web import set_choices
from ceres.team.models import Person

PAGE_SIZE = 50

SORT_LABELS = {
    "codename": "Codename",
    "-codename": "Codename (Z to A)",
    "renewal": "Renewal (soonest)",
    "-renewal": "Renewal (latest)",
    "hosts": "Hosts (fewest)",
    "-hosts": "Hosts (most)",
}
CONFIDENTIAL_SORT_LABELS = {"name": "Name", "-name": "Name (Z to A)"}


def product_choices(products: Sequence[Product], empty: str) -> list[tuple[str, str]]:
    return [("", empty), *((p.key, p.name) for p in products)]


class AccountFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    kind = forms.ChoiceField(required=False, label="Kind")
    product = forms.ChoiceField(required=False, label="Product")
    deployment = forms.ChoiceField(required=False, label="Deployment")
    csm = forms.ChoiceField(required=False, label="CSM")
    sort = forms.ChoiceField(required=False, label="Sort")
    page = forms.IntegerField(required=False, min_value=1, label="Page")

    def __init__(
        self,
        data: Any,
        *,
        products: Sequence[Product],
        owners: Sequence[Person],
        confidential: bool,
    ) -> None:
        super().__init__(data)
        set_choices(self.fields["kind"], [("", "Any kind"), *Account.Kind.choices])
        set_choices(self.fields["product"], product_choices(products, "Any product"))
        set_choices(
            self.fields["deployment"], [("", "Any deployment"), *Account.Deployment.choices]
        )
        set_choices(
            self.fields["csm"],
            [
                ("", "Any CSM"),
                *((p.user.username, p.name) for p in owners),
            ],
        )
        sorts = dict(SORT_LABELS, **(CONFIDENTIAL_SORT_LABELS if confidential else {}))
        set_choices(self.fields["sort"], list(sorts.items()))


class AccountFieldsForm(forms.Form):
    """The fields of an account a person may set (the codename only at creation)."""

    legal_name = forms.CharField(max_length=200, label="Legal name")
    aliases = forms.CharField(
        required=False,
        max_length=2_000,
        label="Other names",
        help_text="Short names, product or domain names, comma-separated: kept out of public "
        "texts like the legal name.",
    )
    kind = forms.ChoiceField(choices=Account.Kind.choices, label="Kind")
    product = forms.ChoiceField(required=False, label="Product")
    deployment = forms.ChoiceField(choices=Account.Deployment.choices, label="Deployment")
    product_version = forms.CharField(required=False, max_length=50, label="Version")
    host_count = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_HOST_COUNT, label="Hosts"
    )
    slack_channel_id = forms.CharField(required=False, max_length=30, label="Slack channel id")
    crm_id = forms.CharField(required=False, max_length=64, label="CRM id")
    csm_owner = forms.ChoiceField(required=False, label="CSM owner")
    renewal_date = forms.DateField(
        required=False, label="Renewal date", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self,
        data: Any = None,
        *,
        products: Sequence[Product],
        owners: Sequence[Person],
        with_legal_name: bool = True,
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        set_choices(self.fields["product"], product_choices(products, "No product"))
        set_choices(
            self.fields["csm_owner"], [("", "Nobody"), *((str(p.pk), p.name) for p in owners)]
        )
        self.fields["product_version"].widget.attrs["placeholder"] = "4.62.1"
        self.fields["slack_channel_id"].widget.attrs["placeholder"] = "C0123ABCD"
        if not with_legal_name:
            del self.fields["legal_name"]
            del self.fields["aliases"]

    def values(self) -> dict[str, Any]:
        """Keyword arguments for the services (keys as the services name them)."""
        data = dict(self.cleaned_data)
        data["host_count"] = data.get("host_count") or 0
        data["product"] = data.get("product") or None
        data["csm_owner"] = data.get("csm_owner") or None
        return data


class AccountCreateForm(AccountFieldsForm):
    codename = forms.CharField(
        required=False,
        max_length=100,
        label="Codename",
        help_text="Leave empty to assign one automatically.",
    )

    field_order = ["legal_name", "codename"]


def account_initial(account: Account) -> dict[str, Any]:
    renewal: datetime.date | None = account.renewal_date
    return {
        "legal_name": account.legal_name,
        "aliases": ", ".join(account.aliases or []),
        "kind": account.kind,
        "product": account.product.key if account.product else "",
        "deployment": account.deployment,
        "product_version": account.product_version,
        "host_count": account.host_count,
        "slack_channel_id": account.slack_channel_id,
        "crm_id": account.crm_id,
        "csm_owner": str(account.csm_owner_id or ""),
        "renewal_date": renewal.isoformat() if renewal else "",
    }


class ContactForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    role = forms.ChoiceField(choices=Contact.Role.choices, label="Role")
    title = forms.CharField(required=False, max_length=120, label="Title")
    email = forms.EmailField(required=False, max_length=254, label="E-mail")
    slack_user_id = forms.CharField(required=False, max_length=20, label="Slack user id")

    def __init__(self, data: Any = None) -> None:
        super().__init__(data, auto_id="contact_%s")

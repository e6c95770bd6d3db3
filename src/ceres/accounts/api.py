from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, Query, Router, Schema

from ceres.accounts import selectors, services
from ceres.accounts.models import MAX_HOST_COUNT, Account, Contact
from ceres.core.apisupport import (
    WHOLE_NUMBER,
    BodySchema,
    InputSchema,
    IsoDate,
    PageNumber,
    PageSize,
    RecordId,
    omittable,
    paginate,
    request_user,
)
from ceres.core.errors import NotFound, PermissionDenied

router = Router(tags=["accounts"])


class ContactOut(Schema):
    id: int
    role: str
    title: str
    is_active: bool
    # Confidential: null unless the caller has accounts.view_confidential.
    name: str | None
    email: str | None
    slack_user_id: str | None


class AccountOut(Schema):
    id: int
    name: str
    codename: str
    legal_name: str | None
    # Confidential: null unless the caller has accounts.view_confidential.
    aliases: list[str] | None
    kind: str
    product: str | None
    deployment: str
    product_version: str
    host_count: int
    slack_channel_id: str
    crm_id: str
    github_label: str
    csm_owner: str | None
    renewal_date: datetime.date | None


class AccountPage(Schema):
    items: list[AccountOut]
    count: int
    page: int
    page_size: int


# The choices of the models, spelt out so the OpenAPI document lists them (a test checks that
# they match the models).
KindIn = Literal["customer", "prospect"]
DeploymentIn = Literal["self_hosted", "managed_cloud"]
ContactRoleIn = Literal["champion", "dri", "admin", "billing"]
# The lengths are the columns': PostgreSQL refuses a longer text, SQLite would keep it.
LegalName = Annotated[str, Field(min_length=1, max_length=200)]
ProductKey = Annotated[str, Field(max_length=50)]
ProductVersion = Annotated[str, Field(max_length=50)]
HostCount = Annotated[int, Field(ge=0, le=MAX_HOST_COUNT), WHOLE_NUMBER]
SlackChannelId = Annotated[str, Field(max_length=30)]
CrmId = Annotated[str, Field(max_length=64)]
TeamMemberRef = Annotated[str, Field(max_length=254, description="a username or an e-mail")]


Aliases = Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=10)]


class AccountIn(BodySchema):
    legal_name: LegalName
    aliases: Aliases = []
    kind: KindIn = "customer"
    codename: Annotated[str, Field(max_length=100)] = ""
    product: ProductKey | None = None
    deployment: DeploymentIn = "self_hosted"
    product_version: ProductVersion = ""
    host_count: HostCount = 0
    slack_channel_id: SlackChannelId = ""
    crm_id: CrmId = ""
    csm_owner: TeamMemberRef | None = None
    renewal_date: IsoDate | None = None


class AccountPatch(BodySchema):
    """Left out: unchanged. Null only where the account may have none (product, CSM owner,
    renewal date)."""

    legal_name: LegalName = omittable()
    aliases: Aliases = omittable()
    kind: KindIn = omittable()
    product: ProductKey | None = None
    deployment: DeploymentIn = omittable()
    product_version: ProductVersion = omittable()
    host_count: HostCount = omittable()
    slack_channel_id: SlackChannelId = omittable()
    crm_id: CrmId = omittable()
    csm_owner: TeamMemberRef | None = None
    renewal_date: IsoDate | None = None


ContactName = Annotated[str, Field(min_length=1, max_length=200)]
ContactEmail = Annotated[str, Field(max_length=254)]
SlackUserId = Annotated[str, Field(max_length=20)]
ContactTitle = Annotated[str, Field(max_length=120)]


class ContactIn(BodySchema):
    name: ContactName
    role: ContactRoleIn
    email: ContactEmail = ""
    slack_user_id: SlackUserId = ""
    title: ContactTitle = ""


class ContactPatch(BodySchema):
    """Left out: unchanged; never null (an empty text clears the e-mail, Slack id or title)."""

    name: ContactName = omittable()
    role: ContactRoleIn = omittable()
    email: ContactEmail = omittable()
    slack_user_id: SlackUserId = omittable()
    title: ContactTitle = omittable()


class CodenameOut(Schema):
    name: str
    number: int
    label: str


AccountSort = Literal[
    "codename",
    "-codename",
    "renewal",
    "-renewal",
    "hosts",
    "-hosts",
    "created",
    "-created",
    "name",
    "-name",
]


class AccountFilters(InputSchema):
    """Empty means "any". Sorting by name needs accounts.view_confidential."""

    q: Annotated[str, Field(max_length=200)] = ""
    kind: KindIn | Literal[""] = ""
    product: ProductKey = ""
    deployment: DeploymentIn | Literal[""] = ""
    csm: Annotated[str, Field(max_length=150)] = ""
    renewal_before: IsoDate | None = None
    sort: AccountSort = "codename"
    page: PageNumber = 1
    page_size: PageSize = 50


class DriChangeIn(BodySchema):
    contact_id: RecordId


class ChecklistItemIn(BodySchema):
    done: bool


def account_fields(account: Account, *, confidential: bool) -> dict[str, Any]:
    """An account as the viewer may see it. Lists return these dicts as they are, so the
    response schema validates each row once (building AccountOut first would do it twice)."""
    return {
        "id": account.pk,
        "name": account.legal_name if confidential else account.codename.name,
        "codename": account.codename.name,
        "legal_name": account.legal_name if confidential else None,
        "aliases": account.aliases if confidential else None,
        "kind": account.kind,
        "product": account.product.key if account.product else None,
        "deployment": account.deployment,
        "product_version": account.product_version,
        "host_count": account.host_count,
        "slack_channel_id": account.slack_channel_id,
        "crm_id": account.crm_id,
        "github_label": account.github_label,
        "csm_owner": account.csm_owner.user.username if account.csm_owner else None,
        "renewal_date": account.renewal_date,
    }


LIST_COLUMNS = (
    "id",
    "legal_name",
    "aliases",
    "codename__name",
    "kind",
    "product__key",
    "deployment",
    "product_version",
    "host_count",
    "slack_channel_id",
    "crm_id",
    "github_label",
    "csm_owner__user__username",
    "renewal_date",
)


def row_fields(row: dict[str, Any], *, confidential: bool) -> dict[str, Any]:
    """The same shape as account_fields, from a `.values(*LIST_COLUMNS)` row: a list page
    builds no model instances at all."""
    legal_name = row.pop("legal_name")
    row["codename"] = row.pop("codename__name")
    row["name"] = legal_name if confidential else row["codename"]
    row["legal_name"] = legal_name if confidential else None
    row["aliases"] = row["aliases"] if confidential else None
    row["product"] = row.pop("product__key")
    row["csm_owner"] = row.pop("csm_owner__user__username")
    return row


def account_out(account: Account, *, confidential: bool) -> AccountOut:
    return AccountOut(**account_fields(account, confidential=confidential))


def contact_out(contact: Contact, *, confidential: bool) -> ContactOut:
    return ContactOut(
        id=contact.pk,
        role=contact.role,
        title=contact.title,
        is_active=contact.is_active,
        name=contact.name if confidential else None,
        email=contact.email if confidential else None,
        slack_user_id=contact.slack_user_id if confidential else None,
    )


def _require(request: HttpRequest, perm: str) -> None:
    """Checked before any lookup, so a 403 never tells whether the record exists."""
    if not request_user(request).has_perm(perm):
        raise PermissionDenied(f"you need the permission {perm}")


def _confidential(request: HttpRequest) -> bool:
    return selectors.can_view_confidential(request_user(request))


@router.get("", response=AccountPage, summary="Accounts, filtered and paginated")
def list_accounts(request: HttpRequest, filters: Query[AccountFilters]) -> dict[str, Any]:
    user = request_user(request)
    qs = selectors.account_list(
        user=user,
        q=filters.q,
        kind=filters.kind,
        product=filters.product,
        deployment=filters.deployment,
        csm=filters.csm,
        renewal_before=filters.renewal_before,
        sort=filters.sort,
    )
    page = paginate(
        qs.values(*LIST_COLUMNS), page=filters.page, page_size=filters.page_size, count_from=qs
    )
    confidential = selectors.can_view_confidential(user)
    return {
        "items": [row_fields(row, confidential=confidential) for row in page.items],
        "count": page.count,
        "page": page.page,
        "page_size": page.page_size,
    }


EXPORT_COLUMNS = (
    "id",
    "name",
    "codename",
    "github_label",
    "kind",
    "product",
    "deployment",
    "product_version",
    "host_count",
    "slack_channel_id",
    "crm_id",
    "csm_owner",
    "renewal_date",
)


@router.get("/export.csv", summary="The filtered list as CSV (codenames unless permitted)")
def export_accounts(request: HttpRequest, filters: Query[AccountFilters]) -> StreamingHttpResponse:
    user = request_user(request)
    confidential = selectors.can_view_confidential(user)
    qs = selectors.account_list(
        user=user,
        q=filters.q,
        kind=filters.kind,
        product=filters.product,
        deployment=filters.deployment,
        csm=filters.csm,
        renewal_before=filters.renewal_before,
        sort=filters.sort,
    ).values(*LIST_COLUMNS)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for row in qs.iterator(chunk_size=2000):
            out = row_fields(row, confidential=confidential)
            writer.writerow(["" if v is None else v for v in (out[c] for c in EXPORT_COLUMNS)])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="accounts.csv"'
    return response


@router.post("", response={201: AccountOut}, summary="Create an account (assigns a codename)")
def create_account(request: HttpRequest, payload: AccountIn) -> tuple[int, AccountOut]:
    _require(request, "accounts.add_account")
    account = services.create_account(actor=request_user(request), **payload.model_dump())
    return 201, account_out(account, confidential=_confidential(request))


@router.get("/codenames/suggestions", response=list[CodenameOut])
def codename_suggestions(
    request: HttpRequest, count: Annotated[int, Field(ge=1, le=50)] = 5
) -> list[CodenameOut]:
    _require(request, "accounts.add_account")
    return [
        CodenameOut(name=c.name, number=c.number, label=c.label)
        for c in services.suggest_codenames(count=count)
    ]


@router.get("/{account_id}", response=AccountOut)
def get_account(request: HttpRequest, account_id: RecordId) -> AccountOut:
    return account_out(selectors.get_account(account_id), confidential=_confidential(request))


@router.patch("/{account_id}", response=AccountOut)
def update_account(request: HttpRequest, account_id: RecordId, payload: AccountPatch) -> AccountOut:
    _require(request, "accounts.change_account")
    changes = payload.model_dump(exclude_unset=True)
    if ("legal_name" in changes or "aliases" in changes) and not _confidential(request):
        raise PermissionDenied("you need the permission accounts.view_confidential")
    account = services.update_account(
        actor=request_user(request), account=selectors.get_account(account_id), **changes
    )
    return account_out(account, confidential=_confidential(request))


@router.delete("/{account_id}", response={204: None})
def delete_account(request: HttpRequest, account_id: RecordId) -> tuple[int, None]:
    _require(request, "accounts.delete_account")
    services.delete_account(actor=request_user(request), account=selectors.get_account(account_id))
    return 204, None


@router.get("/{account_id}/contacts", response=list[ContactOut])
def list_contacts(request: HttpRequest, account_id: RecordId) -> list[ContactOut]:
    account = selectors.get_account(account_id)
    confidential = _confidential(request)
    return [contact_out(c, confidential=confidential) for c in selectors.contacts_of(account)]


@router.post("/{account_id}/contacts", response={201: ContactOut})
def add_contact(
    request: HttpRequest, account_id: RecordId, payload: ContactIn
) -> tuple[int, ContactOut]:
    _require(request, "accounts.add_contact")
    contact = services.add_contact(
        actor=request_user(request),
        account=selectors.get_account(account_id),
        **payload.model_dump(),
    )
    return 201, contact_out(contact, confidential=_confidential(request))


def _contact(account_id: int, contact_id: int) -> Contact:
    contact = Contact.objects.filter(pk=contact_id, account_id=account_id).first()
    if contact is None:
        raise NotFound("no such contact", field="contact_id")
    return contact


@router.patch("/{account_id}/contacts/{contact_id}", response=ContactOut)
def update_contact(
    request: HttpRequest, account_id: RecordId, contact_id: RecordId, payload: ContactPatch
) -> ContactOut:
    _require(request, "accounts.change_contact")
    contact = services.update_contact(
        actor=request_user(request),
        contact=_contact(account_id, contact_id),
        **payload.model_dump(exclude_unset=True),
    )
    return contact_out(contact, confidential=_confidential(request))


@router.delete("/{account_id}/contacts/{contact_id}", response={204: None})
def remove_contact(
    request: HttpRequest, account_id: RecordId, contact_id: RecordId
) -> tuple[int, None]:
    _require(request, "accounts.delete_contact")
    services.remove_contact(actor=request_user(request), contact=_contact(account_id, contact_id))
    return 204, None


@router.post("/{account_id}/dri-changes", response={201: dict[str, int]})
def start_dri_change(
    request: HttpRequest, account_id: RecordId, payload: DriChangeIn
) -> tuple[int, dict[str, int]]:
    _require(request, "accounts.change_contact")
    account = selectors.get_account(account_id)
    change = services.start_dri_change(
        actor=request_user(request),
        account=account,
        new_dri=_contact(account_id, payload.contact_id),
    )
    return 201, {"id": change.pk, "steps": change.items.count()}


@router.put("/checklist-items/{item_id}", response=dict[str, bool])
def set_checklist_item(
    request: HttpRequest, item_id: RecordId, payload: ChecklistItemIn
) -> dict[str, bool]:
    _require(request, "accounts.change_contact")
    item = services.set_checklist_item(
        actor=request_user(request), item_id=item_id, done=payload.done
    )
    return {"done": item.done_at is not None}

"""Every write to accounts, contacts and DRI changes: transactional, audited, keyword-only."""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email, validate_slug
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ceres.accounts import codenames
from ceres.accounts.models import (
    MAX_HOST_COUNT,
    Account,
    ChecklistItem,
    ChecklistTemplate,
    Codename,
    Contact,
    DriChange,
    Product,
)
from ceres.core.audit.services import Actor, diff, record_change, snapshot
from ceres.core.errors import Conflict, Invalid, NotFound
from ceres.core.text import clean_text, fold, fold_compact
from ceres.team.models import Person
from ceres.team.selectors import person_of

ACCOUNT_FIELDS = (
    "legal_name",
    "aliases",
    "kind",
    "product",
    "deployment",
    "product_version",
    "host_count",
    "slack_channel_id",
    "crm_id",
    "github_label",
    "csm_owner",
    "renewal_date",
)
ACCOUNT_CONFIDENTIAL = ("legal_name", "aliases")
MAX_ALIASES = 10
CONTACT_FIELDS = ("name", "email", "slack_user_id", "role", "title", "is_active")
CONTACT_CONFIDENTIAL = ("name", "email", "slack_user_id")

INVITE_NEW_DRI = "invite-new-customer-dri"
# The handbook's "Invite new customer DRI" steps; the playbook may replace them.
DEFAULT_DRI_STEPS: list[dict[str, Any]] = [
    {"text": "Get an introduction to the new DRI: names, roles, contact information"},
    {"text": "Make sure they're in the Slack channel"},
    {"text": "Invite them to the Success meetings"},
    {"text": "In the first meeting, understand their proficiency level with the product"},
    {"text": "Make sure the meeting time is still convenient for their team", "depth": 1},
    {"text": "Understand their needs and goals for visibility", "depth": 1},
    {"text": "Offer training to get them up to speed", "depth": 1},
    {"text": "Provide a white glove experience", "depth": 1},
]


# --- codenames -------------------------------------------------------------------------------


def _real_names(exclude_account: Account | None = None) -> list[str]:
    qs = Account.objects.all()
    if exclude_account is not None:
        qs = qs.exclude(pk=exclude_account.pk)
    return list(qs.values_list("legal_name", flat=True))


def suggest_codenames(
    *, count: int = 5, for_legal_name: str = "", seed: int | None = None
) -> list[Codename]:
    """Free catalogue names that clash with no real name (and not with `for_legal_name`)."""
    if not 1 <= count <= 50:
        raise Invalid("must be between 1 and 50", field="count")
    real_names = _real_names()
    if for_legal_name:
        real_names.append(for_legal_name)
    used_labels = set(Account.objects.values_list("github_label", flat=True))
    rng = random.Random(seed)
    top = Codename.objects.aggregate(top=Max("id"))["top"] or 0
    chosen: list[Codename] = []
    for _ in range(20):
        ids = rng.sample(range(1, top + 1), min(top, max(4 * count, 40)))
        for candidate in Codename.objects.filter(id__in=ids, assigned_at__isnull=True):
            if candidate.label in used_labels or candidate in chosen:
                continue
            if codenames.first_collision(candidate.name, real_names) is None:
                chosen.append(candidate)
                if len(chosen) == count:
                    return chosen
    return chosen


def _requested_codename(name: str) -> Codename:
    candidate = (
        Codename.objects.filter(name=name).first()
        or Codename.objects.filter(name__iexact=name).first()
        or Codename.objects.filter(folded=fold_compact(name)).first()
    )
    if candidate is None:
        raise Invalid(f"{name!r} is not in the minor-planet catalogue", field="codename")
    if candidate.assigned_at is not None:
        raise Conflict(f"codename {candidate.name!r} is already used", field="codename")
    if Account.objects.filter(github_label=candidate.label).exists():
        raise Conflict(f"label {candidate.label!r} is already used", field="codename")
    return candidate


def _claim(codename: Codename) -> bool:
    """Mark a codename used, atomically: False if another request got it first."""
    now = timezone.now()
    claimed = Codename.objects.filter(pk=codename.pk, assigned_at__isnull=True).update(
        assigned_at=now
    )
    codename.assigned_at = now
    return claimed == 1


def _check_legal_name(legal_name: str, *, account: Account | None = None) -> str:
    legal_name = clean_text(
        legal_name, field="legal_name", max_length=200, required=True, collapse_spaces=True
    )
    if not fold_compact(legal_name):
        raise Invalid("must contain letters or digits", field="legal_name")
    used = Codename.objects.filter(account__isnull=False)
    if account is not None:
        used = used.exclude(account=account)
    for name in used.values_list("name", flat=True):
        if codenames.names_collide(name, legal_name):
            raise Invalid(
                f"this name collides with the codename {name!r} of another account",
                field="legal_name",
            )
    if account is not None and codenames.names_collide(account.codename.name, legal_name):
        raise Invalid(
            f"this name collides with the account's own codename {account.codename.name!r}",
            field="legal_name",
        )
    return legal_name


# --- accounts --------------------------------------------------------------------------------


def _check_aliases(value: Any, *, codename: str) -> list[str]:
    """Other names of the customer: a list, or one comma-separated text (the form's). None may
    collide with the codename, or the firewall would block the codename itself."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise Invalid("a list of names", field="aliases")
    aliases: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise Invalid("a list of names", field="aliases")
        name = clean_text(item, field="aliases", max_length=200, collapse_spaces=True)
        if not name or name in aliases:
            continue
        if len(fold_compact(name)) < 2:
            raise Invalid(f"{name!r} is too short to be a name", field="aliases")
        if codenames.names_collide(codename, name):
            raise Invalid(f"{name!r} collides with the codename {codename!r}", field="aliases")
        aliases.append(name)
    if len(aliases) > MAX_ALIASES:
        raise Invalid(f"at most {MAX_ALIASES} names", field="aliases")
    return aliases


def _clean_account_fields(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(values)
    if "kind" in cleaned and cleaned["kind"] not in Account.Kind.values:
        raise Invalid(f"must be one of {', '.join(Account.Kind.values)}", field="kind")
    if "deployment" in cleaned and cleaned["deployment"] not in Account.Deployment.values:
        raise Invalid(f"must be one of {', '.join(Account.Deployment.values)}", field="deployment")
    if "product" in cleaned and not isinstance(cleaned["product"], Product | None):
        key = clean_text(cleaned["product"], field="product", max_length=50)
        product = Product.objects.filter(key=key).first() if key else None
        if key and product is None:
            known = ", ".join(Product.objects.values_list("key", flat=True))
            raise Invalid(f"unknown product {key!r}; known: {known}", field="product")
        cleaned["product"] = product
    if "csm_owner" in cleaned and not isinstance(cleaned["csm_owner"], Person | None):
        ref = cleaned["csm_owner"]
        if not isinstance(ref, int):
            ref = clean_text(ref, field="csm_owner", max_length=254)
        owner = None
        if ref != "":
            # A person's id (from the form's choices), username or e-mail (from the API).
            owner = (
                Person.objects.filter(pk=int(ref)).first()
                if isinstance(ref, int) or (ref.isascii() and ref.isdigit())
                else Person.objects.filter(user__username=ref).first()
                or Person.objects.filter(email=ref.lower()).first()
            )
            if owner is None:
                raise Invalid(f"no team member {ref!r}", field="csm_owner")
        cleaned["csm_owner"] = owner
    if "host_count" in cleaned:
        try:
            hosts = int(cleaned["host_count"] or 0)
        except (TypeError, ValueError) as exc:
            raise Invalid("must be a whole number", field="host_count") from exc
        if hosts < 0:
            raise Invalid("must not be negative", field="host_count")
        if hosts > MAX_HOST_COUNT:
            raise Invalid(f"must be at most {MAX_HOST_COUNT}", field="host_count")
        cleaned["host_count"] = hosts
    if "renewal_date" in cleaned and isinstance(cleaned["renewal_date"], str):
        text = cleaned["renewal_date"].strip()
        try:
            cleaned["renewal_date"] = datetime.date.fromisoformat(text) if text else None
        except ValueError as exc:
            raise Invalid("must be a date as YYYY-MM-DD", field="renewal_date") from exc
    for name, limit in (("product_version", 50), ("slack_channel_id", 30), ("crm_id", 64)):
        if name in cleaned:
            cleaned[name] = clean_text(cleaned[name], field=name, max_length=limit)
    return cleaned


@transaction.atomic
def create_account(
    *,
    actor: Actor,
    legal_name: str,
    kind: str = Account.Kind.CUSTOMER,
    codename: str = "",
    product: str | Product | None = None,
    deployment: str = Account.Deployment.SELF_HOSTED,
    product_version: str = "",
    host_count: int = 0,
    slack_channel_id: str = "",
    crm_id: str = "",
    csm_owner: str | int | Person | None = None,
    renewal_date: datetime.date | str | None = None,
    aliases: list[str] | str = "",
) -> Account:
    legal_name = _check_legal_name(legal_name)
    values = _clean_account_fields(
        {
            "kind": kind,
            "product": product,
            "deployment": deployment,
            "product_version": product_version,
            "host_count": host_count,
            "slack_channel_id": slack_channel_id,
            "crm_id": crm_id,
            "csm_owner": csm_owner,
            "renewal_date": renewal_date,
        }
    )
    codename = clean_text(codename, field="codename", max_length=100)
    if codename:
        chosen = _requested_codename(codename)
        clash = codenames.first_collision(chosen.name, [*_real_names(), legal_name])
        if clash is not None:
            # Never name the clashing account: its real name may be confidential to the caller.
            raise Invalid(
                f"codename {chosen.name!r} collides with a customer's real name", field="codename"
            )
        if not _claim(chosen):
            raise Conflict(f"codename {chosen.name!r} is already used", field="codename")
    else:
        chosen = _claim_any(legal_name)
    account = Account(
        codename=chosen,
        legal_name=legal_name,
        aliases=_check_aliases(aliases, codename=chosen.name),
        legal_name_folded=fold(legal_name),
        github_label=chosen.label,
        **values,
    )
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as exc:
        raise Conflict(f"codename {chosen.name!r} is already used", field="codename") from exc
    record_change(
        actor=actor,
        action="account.create",
        target=account,
        target_label=chosen.name,
        changes={"codename": [None, chosen.name], **diff({}, snapshot(account, ACCOUNT_FIELDS))},
        confidential_fields=ACCOUNT_CONFIDENTIAL,
    )
    return account


def _claim_any(legal_name: str) -> Codename:
    for _ in range(5):
        for candidate in suggest_codenames(count=10, for_legal_name=legal_name):
            if _claim(candidate):
                return candidate
    raise Conflict("no free codename is left in the catalogue", field="codename")


@transaction.atomic
def update_account(*, actor: Actor, account: Account, **changes: Any) -> Account:
    editable = set(ACCOUNT_FIELDS) - {"github_label"}
    unknown = set(changes) - editable
    if unknown:
        raise Invalid("is not an editable field of an account", field=sorted(unknown)[0])
    values = _clean_account_fields(changes)
    if "legal_name" in changes:
        values["legal_name"] = _check_legal_name(changes["legal_name"], account=account)
        values["legal_name_folded"] = fold(values["legal_name"])
    if "aliases" in changes:
        values["aliases"] = _check_aliases(changes["aliases"], codename=account.codename.name)
    before = snapshot(account, ACCOUNT_FIELDS)
    for key, value in values.items():
        setattr(account, key, value)
    account.save()
    changed = diff(before, snapshot(account, ACCOUNT_FIELDS))
    if changed:
        record_change(
            actor=actor,
            action="account.update",
            target=account,
            target_label=account.codename.name,
            changes=changed,
            confidential_fields=ACCOUNT_CONFIDENTIAL,
        )
    return account


@transaction.atomic
def delete_account(*, actor: Actor, account: Account) -> None:
    """Delete an account. Its codename stays used forever (`assigned_at` is never cleared)."""
    record_change(
        actor=actor,
        action="account.delete",
        target=account,
        target_label=account.codename.name,
        changes=diff(snapshot(account, ACCOUNT_FIELDS), {}),
        confidential_fields=ACCOUNT_CONFIDENTIAL,
    )
    account.delete()


# --- contacts and DRI changes ----------------------------------------------------------------


def _clean_contact(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(values)
    if "name" in cleaned:
        cleaned["name"] = clean_text(
            cleaned["name"], field="name", max_length=200, required=True, collapse_spaces=True
        )
    if "email" in cleaned:
        cleaned["email"] = clean_text(cleaned["email"], field="email", max_length=254).lower()
        try:
            if cleaned["email"]:
                validate_email(cleaned["email"])
        except DjangoValidationError as exc:
            raise Invalid("is not a valid e-mail address", field="email") from exc
    for name, limit in (("slack_user_id", 20), ("title", 120)):
        if name in cleaned:
            cleaned[name] = clean_text(cleaned[name], field=name, max_length=limit)
    if "is_active" in cleaned and not isinstance(cleaned["is_active"], bool):
        raise Invalid("must be true or false", field="is_active")
    if "role" in cleaned and cleaned["role"] not in Contact.Role.values:
        raise Invalid(f"must be one of {', '.join(Contact.Role.values)}", field="role")
    return cleaned


def _contact_label(account: Account, contact: Contact) -> str:
    return f"{contact.get_role_display()} contact of {account.codename.name}"


@transaction.atomic
def add_contact(
    *,
    actor: Actor,
    account: Account,
    name: str,
    role: str,
    email: str = "",
    slack_user_id: str = "",
    title: str = "",
) -> Contact:
    """Add a contact. A new DRI when one is already active starts a DRI change."""
    values = _clean_contact(
        {"name": name, "role": role, "email": email, "slack_user_id": slack_user_id, "title": title}
    )
    if values["role"] == Contact.Role.DRI:
        previous = account.contacts.filter(role=Contact.Role.DRI, is_active=True).first()
        if previous is not None:
            contact = Contact.objects.create(account=account, **{**values, "role": "champion"})
            _audit_contact(actor, account, contact, {})
            start_dri_change(actor=actor, account=account, new_dri=contact)
            contact.refresh_from_db()
            return contact
    contact = Contact.objects.create(account=account, **values)
    _audit_contact(actor, account, contact, {})
    return contact


def _audit_contact(
    actor: Actor, account: Account, contact: Contact, before: dict[str, Any], action: str = ""
) -> None:
    changes = diff(before, snapshot(contact, CONTACT_FIELDS))
    if changes:
        record_change(
            actor=actor,
            action=action or ("contact.create" if not before else "contact.update"),
            target=account,
            target_label=_contact_label(account, contact),
            changes=changes,
            confidential_fields=CONTACT_CONFIDENTIAL,
        )


@transaction.atomic
def update_contact(*, actor: Actor, contact: Contact, **changes: Any) -> Contact:
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise Invalid("is not a field of a contact", field=sorted(unknown)[0])
    values = _clean_contact(changes)
    before = snapshot(contact, CONTACT_FIELDS)
    for key, value in values.items():
        setattr(contact, key, value)
    contact.save()
    _audit_contact(actor, contact.account, contact, before)
    return contact


@transaction.atomic
def remove_contact(*, actor: Actor, contact: Contact) -> None:
    account = contact.account
    record_change(
        actor=actor,
        action="contact.delete",
        target=account,
        target_label=_contact_label(account, contact),
        changes=diff(snapshot(contact, CONTACT_FIELDS), {}),
        confidential_fields=CONTACT_CONFIDENTIAL,
    )
    contact.delete()


def dri_steps() -> list[dict[str, Any]]:
    template = ChecklistTemplate.objects.filter(key=INVITE_NEW_DRI).first()
    return list(template.steps) if template and template.steps else DEFAULT_DRI_STEPS


@transaction.atomic
def start_dri_change(*, actor: Actor, account: Account, new_dri: Contact) -> DriChange:
    """Make `new_dri` the account's DRI and open the handbook's checklist for the change."""
    if new_dri.account_id != account.pk:
        raise Invalid("this contact belongs to another account", field="contact_id")
    if not new_dri.is_active:
        raise Invalid("this contact is no longer active", field="contact_id")
    active_dris = account.contacts.filter(role=Contact.Role.DRI, is_active=True)
    previous = active_dris.exclude(pk=new_dri.pk).first()
    if previous is None and new_dri.role == Contact.Role.DRI:
        raise Conflict("this contact is already the DRI", field="contact_id")
    if previous is not None:
        before = snapshot(previous, CONTACT_FIELDS)
        previous.is_active = False
        previous.save(update_fields=["is_active"])
        _audit_contact(actor, account, previous, before, action="contact.former_dri")
    before = snapshot(new_dri, CONTACT_FIELDS)
    new_dri.role = Contact.Role.DRI
    new_dri.save(update_fields=["role"])
    _audit_contact(actor, account, new_dri, before, action="contact.new_dri")
    change = DriChange.objects.create(
        account=account, new_dri=new_dri, previous_dri=previous, started_by=person_of(actor)
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            dri_change=change,
            position=i,
            text=str(step["text"])[:300],
            depth=int(step.get("depth", 0)),
        )
        for i, step in enumerate(dri_steps())
    )
    record_change(
        actor=actor,
        action="dri_change.start",
        target=account,
        target_label=account.codename.name,
        changes={"dri_change": [None, change.pk]},
    )
    return change


@transaction.atomic
def set_checklist_item(*, actor: Actor, item_id: int, done: bool) -> ChecklistItem:
    item = (
        ChecklistItem.objects.select_related("dri_change__account__codename")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise NotFound("no such checklist item", field="item_id")
    change = item.dri_change
    before = item.done_at
    if done and item.done_at is None:
        item.done_at = timezone.now()
        item.done_by = person_of(actor)
    elif not done:
        item.done_at = None
        item.done_by = None
    item.save(update_fields=["done_at", "done_by"])
    remaining = change.items.filter(done_at__isnull=True).exists()
    change.completed_at = None if remaining else (change.completed_at or timezone.now())
    change.save(update_fields=["completed_at"])
    if (before is None) == done:
        record_change(
            actor=actor,
            action="dri_change.check" if done else "dri_change.uncheck",
            target=change.account,
            target_label=change.account.codename.name,
            changes={item.text: [before is not None, done]},
        )
    return item


# --- products and checklist templates (set by the playbook) ----------------------------------

PRODUCT_FIELDS = ("key", "name", "position")
CHECKLIST_TEMPLATE_FIELDS = ("key", "name", "steps")


def _check_key(key: str, *, max_length: int) -> None:
    try:
        validate_slug(key)
    except DjangoValidationError as exc:
        raise Invalid("must be letters, digits, dashes or underscores", field="key") from exc
    if len(key) > max_length:
        raise Invalid(f"must be at most {max_length} characters", field="key")


@transaction.atomic
def save_product(*, actor: Actor, key: str, name: str, position: int = 0) -> Product:
    """Create or update a product (tier), found by its key."""
    _check_key(key, max_length=50)
    name = " ".join(str(name).split())
    if not name or len(name) > 120:
        raise Invalid("must be 1 to 120 characters", field="name")
    if Product.objects.filter(name=name).exclude(key=key).exists():
        raise Conflict(f"another product is named {name!r}", field="name")
    product = Product.objects.filter(key=key).first()
    before = snapshot(product, PRODUCT_FIELDS) if product is not None else {}
    if product is None:
        product = Product(key=key)
    product.name = name
    product.position = position
    product.save()
    changes = diff(before, snapshot(product, PRODUCT_FIELDS))
    if changes:
        record_change(
            actor=actor,
            action="product.update" if before else "product.create",
            target=product,
            target_label=product.name,
            changes=changes,
        )
    return product


@transaction.atomic
def save_checklist_template(
    *, actor: Actor, key: str, name: str, steps: list[dict[str, Any]]
) -> ChecklistTemplate:
    """Create or update the steps of a procedure run as a checklist (e.g. INVITE_NEW_DRI).

    Checklists already started keep their own copy of the steps; the new steps apply to the
    next one.
    """
    _check_key(key, max_length=60)
    name = " ".join(str(name).split())
    if not name or len(name) > 120:
        raise Invalid("must be 1 to 120 characters", field="name")
    for step in steps:
        if not 1 <= len(str(step.get("text", "")).strip()) <= 300:
            raise Invalid("each step must have a text of 1 to 300 characters", field="steps")
    template = ChecklistTemplate.objects.filter(key=key).first()
    before = snapshot(template, CHECKLIST_TEMPLATE_FIELDS) if template is not None else {}
    if template is None:
        template = ChecklistTemplate(key=key)
    template.name = name
    template.steps = steps
    template.save()
    changes = diff(before, snapshot(template, CHECKLIST_TEMPLATE_FIELDS))
    if changes:
        record_change(
            actor=actor,
            action="checklist_template.update" if before else "checklist_template.create",
            target=template,
            target_label=template.name,
            changes=changes,
        )
    return template

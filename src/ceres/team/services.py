"""Every write to the team: roles, people, tokens. Each is one transaction, audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from ceres.core.audit.services import Actor, diff, record_change, snapshot
from ceres.core.errors import Conflict, Invalid, NotFound
from ceres.core.hours import validate_timezone, validate_weekly_hours
from ceres.core.text import clean_text
from ceres.team import permissions
from ceres.team.models import ApiToken, Person, Role
from ceres.team.tokens import new_token

PERSON_FIELDS = (
    "name",
    "role",
    "email",
    "github_login",
    "slack_user_id",
    "phone",
    "timezone",
    "working_hours",
    "withheld_permissions",
    "is_active",
)
ROLE_FIELDS = ("key", "name", "position")


def get_role(key: str, *, field: str = "role") -> Role:
    role = Role.objects.filter(key=key).first()
    if role is None:
        known = ", ".join(Role.objects.values_list("key", flat=True)) or "none defined"
        raise Invalid(f"unknown role {key!r}; known roles: {known}", field=field)
    return role


@transaction.atomic
def save_role(
    *, actor: Actor, key: str, name: str, permission_names: list[str], position: int = 0
) -> Role:
    """Create or update a role and the permissions of its group."""
    perms = permissions.resolve(permission_names)
    role = Role.objects.filter(key=key).first()
    before: dict[str, Any] = {}
    if role is None:
        group, _ = Group.objects.get_or_create(name=name)
        role = Role(key=key, group=group)
        old_perms: list[str] = []
    else:
        before = snapshot(role, ROLE_FIELDS)
        old_perms = sorted(
            f"{p.content_type.app_label}.{p.codename}"
            for p in role.group.permissions.select_related("content_type")
        )
        if role.group.name != name:
            role.group.name = name
            role.group.save(update_fields=["name"])
    role.name = name
    role.position = position
    role.save()
    role.group.permissions.set(perms)
    new_perms = sorted(f"{p.content_type.app_label}.{p.codename}" for p in perms)
    changes = diff(before, snapshot(role, ROLE_FIELDS))
    if old_perms != new_perms:
        changes["permissions"] = [old_perms, new_perms]
    if changes:
        record_change(
            actor=actor,
            action="role.create" if not before else "role.update",
            target=role,
            target_label=role.name,
            changes=changes,
        )
    return role


def _clean_person_fields(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(values)
    if "name" in cleaned:
        cleaned["name"] = clean_text(cleaned["name"], field="name", max_length=200, required=True)
    if "email" in cleaned:
        email = clean_text(cleaned["email"], field="email", max_length=254, required=True)
        cleaned["email"] = email.lower()
        try:
            validate_email(cleaned["email"])
        except DjangoValidationError as exc:
            raise Invalid("is not a valid e-mail address", field="email") from exc
    if "role" in cleaned and not isinstance(cleaned["role"], Role):
        cleaned["role"] = get_role(clean_text(cleaned["role"], field="role", max_length=50))
    if "timezone" in cleaned:
        cleaned["timezone"] = validate_timezone(
            clean_text(cleaned["timezone"], field="timezone", max_length=64, required=True)
        )
    if "working_hours" in cleaned:
        cleaned["working_hours"] = validate_weekly_hours(cleaned["working_hours"])
    if "withheld_permissions" in cleaned:
        if not isinstance(cleaned["withheld_permissions"], list | tuple | set | None):
            raise Invalid("must be a list of permission names", field="withheld_permissions")
        names = sorted(set(cleaned["withheld_permissions"] or ()))
        known = permissions.ceres_permissions()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise Invalid(f"unknown permission {unknown[0]!r}", field="withheld_permissions")
        cleaned["withheld_permissions"] = names
    if "github_login" in cleaned:
        login = str(cleaned["github_login"] or "").strip().lstrip("@")
        cleaned["github_login"] = clean_text(login, field="github_login", max_length=39)
    if "slack_user_id" in cleaned:
        cleaned["slack_user_id"] = clean_text(
            cleaned["slack_user_id"], field="slack_user_id", max_length=20
        )
    if "is_active" in cleaned and not isinstance(cleaned["is_active"], bool):
        raise Invalid("must be true or false", field="is_active")
    if "phone" in cleaned:
        phone = clean_text(cleaned["phone"], field="phone", max_length=20)
        if phone and not (phone.startswith("+") and phone[1:].isdigit() and 8 <= len(phone) <= 16):
            raise Invalid("must be in E.164 form, e.g. +15555550100", field="phone")
        cleaned["phone"] = phone
    return cleaned


def _check_unique(person: Person | None, values: dict[str, Any]) -> None:
    others = Person.objects.exclude(pk=person.pk) if person else Person.objects.all()
    if values.get("email") and others.filter(email=values["email"]).exists():
        raise Conflict(f"{values['email']} belongs to another person", field="email")
    login = values.get("github_login")
    if login and others.filter(github_login__iexact=login).exists():
        raise Conflict(f"GitHub login {login!r} belongs to another person", field="github_login")


@transaction.atomic
def create_person(
    *,
    actor: Actor,
    name: str,
    email: str,
    role: str | Role,
    username: str | None = None,
    password: str | None = None,
    github_login: str = "",
    slack_user_id: str = "",
    phone: str = "",
    timezone: str = "UTC",
    working_hours: dict[str, list[str]] | None = None,
    withheld_permissions: list[str] | None = None,
) -> Person:
    values = _clean_person_fields(
        {
            "name": name,
            "email": email,
            "role": role,
            "github_login": github_login,
            "slack_user_id": slack_user_id,
            "phone": phone,
            "timezone": timezone,
            "working_hours": working_hours or {},
            "withheld_permissions": withheld_permissions or [],
        }
    )
    _check_unique(None, values)
    user_model = get_user_model()
    username = clean_text(
        username or values["email"].split("@")[0], field="username", max_length=150, required=True
    )
    if user_model.objects.filter(username=username).exists():
        raise Conflict(f"username {username!r} is taken", field="username")
    user = user_model.objects.create_user(username=username, email=values["email"])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    person = Person.objects.create(user=user, **values)
    _sync_groups(person)
    record_change(
        actor=actor,
        action="person.create",
        target=person,
        target_label=person.name,
        changes=diff({}, snapshot(person, PERSON_FIELDS)),
    )
    return person


def _sync_groups(person: Person) -> None:
    user = person.user
    user.groups.set([person.role.group])
    if user.is_active != person.is_active:
        user.is_active = person.is_active
        user.save(update_fields=["is_active"])


@transaction.atomic
def update_person(*, actor: Actor, person: Person, **changes: Any) -> Person:
    unknown = set(changes) - set(PERSON_FIELDS)
    if unknown:
        raise Invalid("is not a field of a person", field=sorted(unknown)[0])
    values = _clean_person_fields(changes)
    _check_unique(person, values)
    before = snapshot(person, PERSON_FIELDS)
    for key, value in values.items():
        setattr(person, key, value)
    person.save()
    if "email" in values and person.user.email != person.email:
        person.user.email = person.email
        person.user.save(update_fields=["email"])
    _sync_groups(person)
    changed = diff(before, snapshot(person, PERSON_FIELDS))
    if changed:
        record_change(
            actor=actor,
            action="person.update",
            target=person,
            target_label=person.name,
            changes=changed,
        )
    return person


@transaction.atomic
def create_api_token(*, actor: Actor, user: User, name: str) -> tuple[ApiToken, str]:
    """Make a personal token. The clear token is returned once and never stored."""
    name = clean_text(name, field="name", max_length=100, required=True)
    token, prefix, token_hash = new_token()
    row = ApiToken.objects.create(user=user, name=name, prefix=prefix, token_hash=token_hash)
    record_change(
        actor=actor,
        action="token.create",
        target=row,
        target_label=f"{user.get_username()}: {name}",
        changes={"name": [None, name], "prefix": [None, prefix]},
    )
    return row, token


@transaction.atomic
def revoke_api_token(*, actor: Actor, user: User, token_id: int) -> ApiToken:
    row = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if row is None:
        raise NotFound("no such active token", field="token_id")
    row.revoked_at = timezone.now()
    row.save(update_fields=["revoked_at"])
    record_change(
        actor=actor,
        action="token.revoke",
        target=row,
        target_label=f"{user.get_username()}: {row.name}",
        changes={"revoked_at": [None, row.revoked_at]},
    )
    return row

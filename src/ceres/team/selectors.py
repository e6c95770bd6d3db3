from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from ceres.core.audit.services import Actor
from ceres.core.errors import NotFound
from ceres.team.models import ApiToken, Person, Role


def person_of(user: Actor) -> Person | None:
    """The team member a user is: None for nobody (no user, anonymous, a user who is not on
    the team)."""
    if user is None or not user.is_authenticated or user.pk is None:
        return None
    return Person.objects.filter(user_id=user.pk).first()


def people(*, q: str = "", role: str = "", active_only: bool = False) -> QuerySet[Person]:
    qs = Person.objects.select_related("role", "user")
    if q.strip():
        term = q.strip()
        qs = qs.filter(
            Q(name__icontains=term)
            | Q(email__icontains=term)
            | Q(github_login__iexact=term.lstrip("@"))
            | Q(user__username__iexact=term)
        )
    if role:
        qs = qs.filter(role__key=role)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("role__position", "name", "id")


def get_person(person_id: int) -> Person:
    person = Person.objects.select_related("role", "user").filter(pk=person_id).first()
    if person is None:
        raise NotFound("no such person", field="person_id")
    return person


def roles_with_permissions() -> list[dict[str, Any]]:
    roles = Role.objects.select_related("group").prefetch_related(
        "group__permissions__content_type"
    )
    return [
        {
            "key": r.key,
            "name": r.name,
            "permissions": sorted(
                f"{p.content_type.app_label}.{p.codename}" for p in r.group.permissions.all()
            ),
        }
        for r in roles
    ]


def tokens_of(user_id: int) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user_id).order_by("-created_at")


def team_github_logins() -> set[str]:
    """Lower-cased GitHub logins of the team (compare case-insensitively)."""
    return {
        login.lower()
        for login in Person.objects.exclude(github_login="").values_list("github_login", flat=True)
    }


def roles() -> list[Role]:
    return list(Role.objects.order_by("position", "name"))

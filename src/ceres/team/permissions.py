"""Handbook roles grant Django permissions through groups. "all" means every Ceres permission."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Permission

from ceres.core.errors import Invalid

CERES_APPS = (
    "core",
    "team",
    "accounts",
    "playbook",
    "conversations",
    "sla",
    "slack",
    "automations",
    "reviews",
    "tracker",
    "oncall",
)
ALL = "all"


def ceres_permissions() -> dict[str, Permission]:
    perms = Permission.objects.filter(content_type__app_label__in=CERES_APPS).select_related(
        "content_type"
    )
    return {f"{p.content_type.app_label}.{p.codename}": p for p in perms}


def resolve(names: Iterable[str], *, field: str = "permissions") -> list[Permission]:
    known = ceres_permissions()
    chosen: dict[str, Permission] = {}
    for name in names:
        if name == ALL:
            chosen.update(known)
        elif name in known:
            chosen[name] = known[name]
        else:
            raise Invalid(f"unknown permission {name!r}", field=field)
    return list(chosen.values())

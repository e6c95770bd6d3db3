"""Recording writes. Every service that changes data calls `record_change` in its transaction."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models

from ceres.core.audit.models import AuditEntry

Actor = User | AnonymousUser | None


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The audited fields of an instance as JSON-ready values (foreign keys as their ids)."""
    values: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        if isinstance(field, models.ForeignKey):
            values[name] = _jsonable(getattr(instance, field.attname))
        else:
            values[name] = _jsonable(getattr(instance, name))
    return values


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


_unattended_actor: ContextVar[str] = ContextVar("ceres_unattended_actor", default="system")


@contextmanager
def acting_as(label: str) -> Iterator[None]:
    """Name the writes made without a user inside the block ("playbook" rather than "system")."""
    token = _unattended_actor.set(label)
    try:
        yield
    finally:
        _unattended_actor.reset(token)


def actor_label(actor: Actor) -> str:
    if actor is None or not actor.is_authenticated:
        return _unattended_actor.get()
    return str(actor.get_username())


def record_change(
    *,
    actor: Actor,
    action: str,
    target: models.Model,
    target_label: str,
    changes: Mapping[str, list[Any]],
    confidential_fields: Iterable[str] = (),
) -> AuditEntry:
    confidential = sorted(set(confidential_fields) & set(changes))
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label(actor),
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_label=target_label,
        changes=_jsonable(dict(changes)),
        confidential_fields=confidential,
    )


def record_save(
    *,
    actor: Actor,
    action: str,
    target: models.Model,
    target_label: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> AuditEntry | None:
    """Audit a create-or-replace: `<action>.create` when there was nothing before,
    `<action>.update` when something changed, nothing at all when nothing did (applying the
    same playbook twice leaves no trace)."""
    changes = diff(before, after)
    if not changes:
        return None
    return record_change(
        actor=actor,
        action=f"{action}.update" if before else f"{action}.create",
        target=target,
        target_label=target_label,
        changes=changes,
    )


def record_delete(
    *,
    actor: Actor,
    action: str,
    target: models.Model,
    target_label: str,
    fields: Iterable[str],
) -> AuditEntry:
    """Audit a deletion, before it happens: every field's last value, so the history says
    what was there."""
    before = snapshot(target, fields)
    return record_change(
        actor=actor,
        action=action,
        target=target,
        target_label=target_label,
        changes={name: [value, None] for name, value in before.items()},
    )

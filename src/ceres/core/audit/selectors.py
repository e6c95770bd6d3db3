from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models

from ceres.core.audit.models import AuditEntry

HIDDEN = "(confidential)"


@dataclass(frozen=True)
class AuditLine:
    entry: AuditEntry
    changes: list[tuple[str, Any, Any]]


def history_for(
    target: models.Model, *, can_view_confidential: bool, limit: int = 50
) -> list[AuditLine]:
    """The history of one record, newest first, with confidential values masked as needed."""
    entries = AuditEntry.objects.filter(
        target_type=target._meta.label_lower, target_id=str(target.pk)
    ).select_related("actor")[:limit]
    return [present(entry, can_view_confidential=can_view_confidential) for entry in entries]


def present(entry: AuditEntry, *, can_view_confidential: bool) -> AuditLine:
    hidden = set() if can_view_confidential else set(entry.confidential_fields)
    rows = []
    for field, (before, after) in entry.changes.items():
        if field in hidden:
            before, after = (HIDDEN if before else before), (HIDDEN if after else after)
        rows.append((field, before, after))
    return AuditLine(entry=entry, changes=rows)

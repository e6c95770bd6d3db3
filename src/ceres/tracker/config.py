"""The tracker's stored configuration: the bug workflow and the two repositories.

The playbook writes them (`bug_workflow`, `organization.public_tracker` /
`confidential_tracker`; docs/playbook.md) through `save_workflow` and `save_trackers`, audited.
A tracker is written `github:owner/name` (an issue tracker on GitHub, mirrored and synced) or
`builtin:name` (Ceres's own); a repository the playbook leaves unset follows the server settings
(CERES_TRACKER_BACKEND, CERES_TRACKER_PUBLIC_REPO / CERES_TRACKER_CONFIDENTIAL_REPO).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction

from ceres.core.audit.services import Actor, record_save
from ceres.core.errors import Invalid
from ceres.tracker import workflow as workflow_cache
from ceres.tracker.models import TrackerRepository, TrackerSettings
from ceres.tracker.workflow import workflow_from_spec
from ceres.tracker.workflow_spec import read_workflow

__all__ = [
    "Tracker",
    "configured_tracker",
    "parse_tracker",
    "save_trackers",
    "save_workflow",
    "stored_tracker",
]

# GitHub: an owner of letters, digits and single dashes (at most 39), a repository of letters,
# digits, ".", "-", "_" (at most 100). The built-in tracker's names are of the second kind.
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_NAME = r"(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}"
_GITHUB = re.compile(rf"^{_OWNER}/{_NAME}$")
_BUILTIN = re.compile(rf"^{_NAME}$")
EXAMPLES = "github:owner/name or builtin:name"

WORKFLOW_ACTION = "tracker.workflow"
TRACKERS_ACTION = "tracker.repositories"
TRACKER_FIELDS: dict[str, str] = {
    TrackerRepository.Visibility.PUBLIC: "public_tracker",
    TrackerRepository.Visibility.CONFIDENTIAL: "confidential_tracker",
}


class Tracker(NamedTuple):
    backend: str  # TrackerRepository.Backend
    name: str  # "owner/name" on GitHub

    def __str__(self) -> str:
        return f"{self.backend}:{self.name}"


def parse_tracker(text: str, *, field: str = "tracker") -> Tracker:
    """`github:owner/name` or `builtin:name` as a backend and a repository name."""
    value = text.strip()
    backend, colon, name = value.partition(":")
    if not colon or backend not in TrackerRepository.Backend.values:
        raise Invalid(f"{value!r} is not a tracker; write {EXAMPLES}", field=field)
    if backend == TrackerRepository.Backend.GITHUB and not _GITHUB.match(name):
        raise Invalid(
            f"{name!r} is not a GitHub repository; write github:owner/name "
            "(letters, digits, '-', and '.', '_' in the name)",
            field=field,
        )
    if backend == TrackerRepository.Backend.BUILTIN and not _BUILTIN.match(name):
        raise Invalid(
            f"{name!r} is not a built-in tracker's name: letters, digits, '.', '-', '_' "
            "(at most 100), e.g. builtin:public",
            field=field,
        )
    return Tracker(backend, name)


def stored_tracker(visibility: str) -> Tracker | None:
    """The repository the playbook set for `visibility` ("public" or "confidential"), if any."""
    values = (
        TrackerSettings.objects.filter(key=TrackerSettings.SINGLETON_KEY)
        .values_list(TRACKER_FIELDS.get(visibility, "confidential_tracker"), flat=True)
        .first()
    )
    return parse_tracker(values) if values else None


def configured_tracker(visibility: str) -> Tracker:
    """The repository in force for `visibility`: the playbook's, else the server settings'."""
    stored = stored_tracker(visibility)
    if stored is not None:
        return stored
    name = (
        settings.CERES_TRACKER_PUBLIC_REPO
        if visibility == TrackerRepository.Visibility.PUBLIC
        else settings.CERES_TRACKER_CONFIDENTIAL_REPO
    )
    return Tracker(settings.CERES_TRACKER_BACKEND, name)


def _locked_row() -> TrackerSettings:
    row, _ = TrackerSettings.objects.select_for_update().get_or_create(
        key=TrackerSettings.SINGLETON_KEY
    )
    return row


@transaction.atomic
def save_workflow(*, actor: Actor, spec: Mapping[str, Any]) -> TrackerSettings:
    """Store the bug workflow `spec` describes (the playbook's shape; fields left out take the
    handbook's defaults). Raises Invalid naming the field at fault. Saving the workflow already
    in force changes nothing and leaves no audit entry."""
    workflow = workflow_from_spec(spec)
    row = _locked_row()
    before = read_workflow(row.workflow)[0].spec_fields() if row.workflow else {}
    wanted = workflow.to_spec()
    if row.workflow == wanted:
        return row
    row.workflow = wanted
    row.save(update_fields=["workflow", "updated_at"])
    workflow_cache.saving()
    record_save(
        actor=actor,
        action=WORKFLOW_ACTION,
        target=row,
        target_label="bug workflow",
        before=before,
        after=workflow.spec_fields(),
    )
    return row


@transaction.atomic
def save_trackers(
    *, actor: Actor, public: str | None = None, confidential: str | None = None
) -> TrackerSettings:
    """Set the public and/or the confidential repository (`github:owner/name`,
    `builtin:name`); None keeps the stored one, "" goes back to the server settings. The two
    must differ: the public repository shows codenames only."""
    given = {
        field: str(parse_tracker(value, field=field)) if value.strip() else ""
        for field, value in (("public_tracker", public), ("confidential_tracker", confidential))
        if value is not None
    }
    row = _locked_row()
    wanted = {
        "public_tracker": row.public_tracker,
        "confidential_tracker": row.confidential_tracker,
        **given,
    }
    public_now, confidential_now = wanted["public_tracker"], wanted["confidential_tracker"]
    if public_now and public_now.casefold() == confidential_now.casefold():
        raise Invalid(
            "the confidential tracker must not be the public one", field="confidential_tracker"
        )
    before = {name: getattr(row, name) for name in ("public_tracker", "confidential_tracker")}
    if before == wanted:
        return row
    row.public_tracker = wanted["public_tracker"]
    row.confidential_tracker = wanted["confidential_tracker"]
    row.save(update_fields=["public_tracker", "confidential_tracker", "updated_at"])
    record_save(
        actor=actor,
        action=TRACKERS_ACTION,
        target=row,
        target_label="tracker repositories",
        before={k: v for k, v in before.items() if v},
        after={k: v for k, v in wanted.items() if v},
    )
    return row

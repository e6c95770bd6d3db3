"""`ceres apply`: load a playbook, check it, diff it against the database, apply it in one go.

Every write goes through the owning app's service (so each is audited) inside one transaction:
a problem found while applying rolls back everything, and the error names the line to fix.
Nothing that the playbook no longer mentions is deleted (docs/playbook.md, "Kept, not
deleted").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction

from ceres.accounts import services as account_services
from ceres.automations import services as automation_services
from ceres.conversations import services as conversation_services
from ceres.core.audit.services import Actor, acting_as, diff, record_change, snapshot
from ceres.core.errors import CeresError
from ceres.playbook import (
    automation_plan,
    channel_plan,
    checks,
    oncall_plan,
    shape,
    sla_checks,
    state,
    tracker_plan,
)
from ceres.playbook.errors import DocPath, Locator, PlaybookError, Problem
from ceres.playbook.loader import Document, load_bytes
from ceres.playbook.models import Organization, PlaybookApplication
from ceres.playbook.plan import PLAYBOOK_FIELD, Change, Plan, make_plan
from ceres.playbook.schema import PlaybookSpec
from ceres.sla import services as sla_services
from ceres.slack import services as slack_services
from ceres.team import selectors as team_selectors
from ceres.team import services as team_services
from ceres.tracker import config as tracker_config

__all__ = ["DEMO_PLAYBOOK", "ApplyResult", "PlaybookError", "apply_path", "save_organization"]

DEMO_PLAYBOOK: Path = Path(__file__).resolve().parent / "demo.yaml"

ORGANIZATION_FIELDS = ("name", "product_name")
AUDIT_ACTOR = "playbook"  # the audit log's "who" for every write of an apply


@dataclass(frozen=True)
class ApplyResult:
    changes: list[str]  # "+ role cse: Customer Support Engineer", "~ person …: …"
    applied: bool  # False for a dry run
    unchanged: int  # things in the playbook that already match the database
    kept: list[str] = field(default_factory=list)  # "  role x: not in playbook, kept"
    warnings: list[str] = field(default_factory=list)  # "FILE:LINE: field: message"

    def report(self) -> list[str]:
        """The diff as `ceres apply` prints it."""
        return [*self.changes, *self.kept, f"= {self.unchanged} unchanged", *self.warnings]


@transaction.atomic
def save_organization(*, actor: Actor, name: str, product_name: str) -> Organization:
    organization = Organization.objects.filter(pk=Organization.SINGLETON_ID).first()
    before = snapshot(organization, ORGANIZATION_FIELDS) if organization is not None else {}
    if organization is None:
        organization = Organization(pk=Organization.SINGLETON_ID)
    organization.name = name
    organization.product_name = product_name
    organization.save()
    changes = diff(before, snapshot(organization, ORGANIZATION_FIELDS))
    if changes:
        record_change(
            actor=actor,
            action="organization.update" if before else "organization.create",
            target=organization,
            target_label=organization.name,
            changes=changes,
        )
    return organization


def _read(path: Path) -> tuple[bytes, Document]:
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise PlaybookError([f"{source}: no such file"]) from exc
    except IsADirectoryError as exc:
        raise PlaybookError([f"{source}: is a directory, not a playbook file"]) from exc
    except OSError as exc:
        raise PlaybookError([f"{source}: cannot be read: {exc.strerror}"]) from exc
    return raw, load_bytes(raw, source=source)


def _checked(document: Document) -> tuple[PlaybookSpec, state.State]:
    spec, problems = shape.parse(document.data)
    if spec is None:
        raise document.locator.error(problems)
    stored = state.read()
    problems = checks.check(spec, stored) + sla_checks.check(spec, stored)
    problems += automation_plan.check(spec, stored) + channel_plan.check(spec, stored)
    problems += tracker_plan.check(spec, stored) + oncall_plan.check(spec, stored)
    if problems:
        raise document.locator.error(problems)
    return spec, stored


def _write(change: Change) -> None:
    values: dict[str, Any] = dict(change.values)
    if change.kind == "organization":
        save_organization(actor=None, **values)
    elif change.kind == "role":
        team_services.save_role(actor=None, **values)
    elif change.kind == "person" and change.created:
        is_active = values.pop("is_active", True)
        person = team_services.create_person(actor=None, password=None, **values)
        if not is_active:
            team_services.update_person(actor=None, person=person, is_active=False)
    elif change.kind == "person":
        person = team_selectors.people().get(email=change.key)
        team_services.update_person(actor=None, person=person, **values)
    elif change.kind == "product":
        account_services.save_product(actor=None, **values)
    elif change.kind == "checklist":
        account_services.save_checklist_template(actor=None, **values)
    elif change.kind == "calendar":
        sla_services.save_calendar(actor=None, **values)
    elif change.kind == "sla_policy":
        sla_services.save_policy(actor=None, **values)
    elif change.kind == "saved_reply":
        conversation_services.save_saved_reply(actor=None, **values)
    elif change.kind == "automation":
        automation_services.save_rule(actor=None, **values)
    elif change.kind == "community_channel":
        slack_services.save_community_channel(actor=None, **values)
    elif change.kind == "tracker":
        tracker_config.save_trackers(actor=None, **values)
    elif change.kind == "bug_workflow":
        tracker_config.save_workflow(actor=None, **values)
    elif change.kind in ("rotation", "escalation_chain"):
        oncall_plan.write(change)
    else:  # pragma: no cover - the Kind literal lists every kind
        raise AssertionError(change.kind)


# A service's name of a field -> the playbook's, by kind (person fields: plan.PLAYBOOK_FIELD).
# A policy's `targets` are several fields of the playbook; their errors name the target.
SERVICE_FIELDS: dict[str, dict[str, str | None]] = {
    "person": dict(PLAYBOOK_FIELD),
    "sla_policy": {
        "warn_at_fraction": "warn_at",
        "escalate_to_role": "escalate_to",
        "targets": None,
    },
    "automation": {
        "trigger": "on",
        "conditions": "if",
        "actions": "then",
        "buttons": "on_button",
        "schedule": "every",
    },
    # A tracker's change is at its own field already.
    "tracker": {"public_tracker": None, "confidential_tracker": None},
}


def _failed(change: Change, exc: Exception, locator: Locator) -> PlaybookError:
    """A refusal from a service, pointed at the entry of the playbook that caused it."""
    path: DocPath = change.path
    if isinstance(exc, oncall_plan.AtPath):
        return locator.error([Problem((*path, *exc.path), exc.message)])
    if isinstance(exc, CeresError):
        message = exc.message
        names = SERVICE_FIELDS.get(change.kind, {})
        if exc.field != "__all__" and names.get(exc.field, exc.field) is not None:
            path = (*path, *str(names.get(exc.field, exc.field)).split("."))
    else:
        message = f"the database refused this change: {str(exc).splitlines()[0]}"
    return locator.error([Problem(path, message)])


def _apply(plan: Plan, locator: Locator) -> None:
    with acting_as(AUDIT_ACTOR):
        for change in plan.changes:
            try:
                _write(change)
            except (CeresError, DatabaseError) as exc:
                raise _failed(change, exc, locator) from exc


def _result(plan: Plan, locator: Locator, *, applied: bool) -> ApplyResult:
    return ApplyResult(
        changes=[change.describe() for change in plan.changes],
        applied=applied,
        unchanged=plan.unchanged,
        kept=plan.kept,
        warnings=[f"{locator.format(w)} (warning)" for w in plan.warnings],
    )


def apply_path(path: Path, *, dry_run: bool = False) -> ApplyResult:
    """Apply the playbook at `path` (or only report the diff). All or nothing.

    Raises PlaybookError, whose `errors` are `FILE:LINE: field.path: message` lines, when the
    file is not valid YAML, does not match the schema, refers to things that do not exist, or
    when a write is refused; then nothing has been changed.
    """
    path = Path(path)
    raw, document = _read(path)
    if dry_run:
        spec, stored = _checked(document)
        return _result(make_plan(spec, stored), document.locator, applied=False)
    with transaction.atomic():
        spec, stored = _checked(document)
        plan = make_plan(spec, stored)
        _apply(plan, document.locator)
        result = _result(plan, document.locator, applied=True)
        PlaybookApplication.objects.create(
            source=str(path.resolve())[:500],
            sha256=hashlib.sha256(raw).hexdigest(),
            version=spec.version,
            changes=result.changes,
        )
    return result

"""Managing alarm integrations: add one, re-point it, switch it off and on, rotate its token; and
the reads the integrations page and API show (docs/oncall.md, "Managing integrations").

Creating the row and its token is `alarms.create_integration`'s; `add_integration` wraps it to
set the escalation policy in the same transaction (one audit entry for the creation, one for
the policy). The token is in the URL the monitoring tool posts to, so it is a secret shown
once: at creation and at each rotation, never on a list. Only its SHA-256 and first characters
are stored, so rotating replaces both at once and the old URL answers 401 from that commit on.
Deactivating keeps the token: reactivating makes the same URL work again.

The reads live here rather than in `selectors.py` (the schedules' reads) to keep this feature
in one module; they are few and used by `integration_views` and `api_integrations` alike.
"""

from __future__ import annotations

import datetime
import enum
import secrets
from typing import TYPE_CHECKING, Final, TypedDict

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from ceres.core.audit.services import Actor, record_change, record_save, snapshot
from ceres.core.errors import Invalid, NotFound
from ceres.oncall.alarms import MAX_INTEGRATION_NAME, TOKEN_PREFIX_LENGTH, create_integration
from ceres.oncall.models import AlarmIntegration, EscalationPolicy, OnCallSchedule
from ceres.team.tokens import hash_token

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

# What `update_integration` audits (the token's hash never: it would help nobody but a thief).
INTEGRATION_FIELDS = ("name", "schedule", "escalation_policy")
# "Alarms in the last 7 days" on the page and in the API.
RECENT = datetime.timedelta(days=7)


class Unchanged(enum.Enum):
    """A keyword left out of `update_integration` (None would mean "none")."""

    UNCHANGED = enum.auto()


UNCHANGED: Final = Unchanged.UNCHANGED


def alert_url(token: str) -> str:
    """The full URL a monitoring tool posts its alarms to."""
    path = reverse("oncall_alerts:alerts", args=[token])
    return f"{settings.BASE_URL.rstrip('/')}{path}"


# --- checks ----------------------------------------------------------------------------------


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("required: a name for where the alarms come from", field="name")
    name = value.strip()
    if len(name) > MAX_INTEGRATION_NAME or "\x00" in name:
        raise Invalid(f"at most {MAX_INTEGRATION_NAME} characters, no NUL", field="name")
    return name


def _stored_integration(integration: object) -> AlarmIntegration:
    if not isinstance(integration, AlarmIntegration) or integration.pk is None:
        raise Invalid("must be a stored alarm integration", field="integration")
    return integration


def _schedule(schedule: object) -> OnCallSchedule | None:
    if schedule is not None and (not isinstance(schedule, OnCallSchedule) or schedule.pk is None):
        raise Invalid("must be a stored on-call schedule, or none", field="schedule")
    return schedule


def _policy(policy: object) -> EscalationPolicy | None:
    if policy is not None and (not isinstance(policy, EscalationPolicy) or policy.pk is None):
        raise Invalid("must be a stored escalation policy, or none", field="escalation_policy")
    return policy


def _locked(integration: AlarmIntegration) -> AlarmIntegration:
    """The row, locked until the transaction ends, so two edits are audited one after the
    other with the right "before"; its fields are copied onto the caller's instance after."""
    row = AlarmIntegration.objects.select_for_update().filter(pk=integration.pk).first()
    if row is None:
        raise NotFound(f"no alarm integration {integration.pk}", field="integration")
    return row


def _refresh(target: AlarmIntegration, row: AlarmIntegration) -> AlarmIntegration:
    for field in row._meta.concrete_fields:
        setattr(target, field.attname, getattr(row, field.attname))
    # The related objects cached on the caller's instance may be stale: reload on access.
    target._state.fields_cache = dict(row._state.fields_cache)
    return target


# --- writes ----------------------------------------------------------------------------------


@transaction.atomic
def add_integration(
    *,
    actor: Actor,
    name: str,
    kind: str,
    schedule: OnCallSchedule | None = None,
    escalation_policy: EscalationPolicy | None = None,
) -> tuple[AlarmIntegration, str]:
    """A new integration and its token (returned once, never stored): `create_integration`
    with the escalation policy set in the same transaction."""
    _policy(escalation_policy)  # before anything is written
    integration, token = create_integration(actor=actor, name=name, kind=kind, schedule=schedule)
    if escalation_policy is not None:
        update_integration(
            actor=actor, integration=integration, escalation_policy=escalation_policy
        )
    return integration, token


@transaction.atomic
def update_integration(
    *,
    actor: Actor,
    integration: AlarmIntegration,
    name: str | Unchanged = UNCHANGED,
    schedule: OnCallSchedule | Unchanged | None = UNCHANGED,
    escalation_policy: EscalationPolicy | Unchanged | None = UNCHANGED,
) -> AlarmIntegration:
    """Rename it, or change whose on-call its alarms are for and the chain that pages for them
    (alarms already open keep the chain they started with). Left out: unchanged; None: none."""
    _stored_integration(integration)
    values: dict[str, object] = {}
    if name is not UNCHANGED:
        values["name"] = _name(name)
    if schedule is not UNCHANGED:
        values["schedule"] = _schedule(schedule)
    if escalation_policy is not UNCHANGED:
        values["escalation_policy"] = _policy(escalation_policy)
    row = _locked(integration)
    before = snapshot(row, INTEGRATION_FIELDS)
    for field, value in values.items():
        setattr(row, field, value)
    after = snapshot(row, INTEGRATION_FIELDS)
    if after != before:
        row.save(update_fields=[f for f in INTEGRATION_FIELDS if before[f] != after[f]])
        record_save(
            actor=actor,
            action="oncall.integration",
            target=row,
            target_label=row.name,
            before=before,
            after=after,
        )
    return _refresh(integration, row)


@transaction.atomic
def set_active(*, actor: Actor, integration: AlarmIntegration, active: bool) -> AlarmIntegration:
    """Switch it off (its URL answers 401, nothing is stored) or back on (the same URL works
    again). Its alarms stay; setting what already is changes and audits nothing."""
    _stored_integration(integration)
    if not isinstance(active, bool):
        raise Invalid(f"must be true or false, not {active!r}", field="active")
    row = _locked(integration)
    if row.is_active != active:
        row.is_active = active
        row.save(update_fields=["is_active"])
        record_change(
            actor=actor,
            action="oncall.integration.activate" if active else "oncall.integration.deactivate",
            target=row,
            target_label=row.name,
            changes={"is_active": [not active, active]},
        )
    return _refresh(integration, row)


@transaction.atomic
def rotate_token(*, actor: Actor, integration: AlarmIntegration) -> str:
    """A new token for it, returned once; the old one stops working when this commits. An
    inactive integration may be rotated too (after a leak, before it is switched back on)."""
    _stored_integration(integration)
    row = _locked(integration)
    token = secrets.token_urlsafe(32)
    before = row.token_prefix
    row.token_hash = hash_token(token)
    row.token_prefix = token[:TOKEN_PREFIX_LENGTH]
    row.save(update_fields=["token_hash", "token_prefix"])
    record_change(
        actor=actor,
        action="oncall.integration.rotate_token",
        target=row,
        target_label=row.name,
        changes={"token_prefix": [before, row.token_prefix]},
    )
    _refresh(integration, row)
    return token


# --- reads -----------------------------------------------------------------------------------


class Overview(TypedDict):
    """What `integrations_overview` adds to each integration."""

    recent_alarms: int
    last_alarm_at: datetime.datetime | None


def integrations_overview(
    *, now: datetime.datetime | None = None
) -> QuerySet[WithAnnotations[AlarmIntegration, Overview]]:
    """Every integration with its schedule and policy, `recent_alarms` (alarms first seen in
    the last 7 days) and `last_alarm_at` (the last notification of any of its alarms), in one
    query."""
    since = (now or timezone.now()) - RECENT
    return (
        AlarmIntegration.objects.select_related("schedule", "escalation_policy")
        .annotate(
            recent_alarms=Count("alarms", filter=Q(alarms__first_seen_at__gte=since)),
            last_alarm_at=Max("alarms__last_seen_at"),
        )
        .order_by("name", "pk")
    )


def get_integration(integration_id: int, *, field: str = "id") -> AlarmIntegration:
    integration = integrations_overview().filter(pk=integration_id).first()
    if integration is None:
        raise NotFound(f"no alarm integration {integration_id}", field=field)
    return integration


def schedule_by_key(key: str, *, field: str = "schedule") -> OnCallSchedule:
    schedule = OnCallSchedule.objects.filter(key=key).first()
    if schedule is None:
        raise Invalid(f"no on-call schedule {key!r}", field=field)
    return schedule


def policy_by_key(key: str, *, field: str = "escalation_policy") -> EscalationPolicy:
    policy = EscalationPolicy.objects.filter(key=key).first()
    if policy is None:
        raise Invalid(f"no escalation policy {key!r}", field=field)
    return policy


def schedule_choices() -> list[tuple[str, str]]:
    return list(OnCallSchedule.objects.order_by("name", "key").values_list("key", "name"))


def policy_choices() -> list[tuple[str, str]]:
    return list(EscalationPolicy.objects.order_by("name", "key").values_list("key", "name"))

"""Alarm integrations over HTTP, `/api/v1/oncall/integrations`: list them, add one (its token
and URL answered once), change one, rotate its token.

Permissions are checked before any lookup (a 403 never tells whether an integration exists):
`oncall.view_alarmintegration` to read, and with it `oncall.add_alarmintegration` to add and
`oncall.change_alarmintegration` to change or rotate. Schedules and escalation policies are
named by their keys; an unknown key is a 422 naming `schedule` or `escalation_policy`. The
token never appears in any answer but the one that made it.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema

from ceres.core.apisupport import BodySchema, RecordId, Slug, omittable, request_user
from ceres.core.errors import PermissionDenied
from ceres.oncall import integrations
from ceres.oncall.alarms import MAX_INTEGRATION_NAME
from ceres.oncall.models import AlarmIntegration

router = Router(tags=["oncall"])

VIEW = "oncall.view_alarmintegration"
ADD = "oncall.add_alarmintegration"
CHANGE = "oncall.change_alarmintegration"

# The model's choices, spelt out so the OpenAPI document lists them.
KindIn = Literal["generic", "alertmanager"]
IntegrationName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_INTEGRATION_NAME, description="not blank"),
]
ScheduleKey = Annotated[Slug, Field(description="an on-call schedule's key")]
PolicyKey = Annotated[Slug, Field(description="an escalation policy's key")]


class IntegrationOut(Schema):
    id: int
    name: str
    kind: str
    # The token's first characters, to tell integrations apart; never the token.
    token_prefix: str
    # Keys; null: none.
    schedule: str | None
    escalation_policy: str | None
    is_active: bool
    created_at: datetime.datetime
    # Alarms first seen in the last 7 days.
    alarms_last_7_days: int
    # The last notification of any of its alarms; null: none yet.
    last_alarm_at: datetime.datetime | None


class IntegrationWithTokenOut(IntegrationOut):
    """Answered once, when the token is made: keep `url` (it holds the token) as a secret."""

    token: str
    url: str


class IntegrationIn(BodySchema):
    name: IntegrationName
    kind: KindIn
    schedule: ScheduleKey | None = None
    escalation_policy: PolicyKey | None = None


class IntegrationPatch(BodySchema):
    """Left out: unchanged. Null clears the schedule or the escalation policy."""

    name: IntegrationName = omittable()
    schedule: ScheduleKey | None = None
    escalation_policy: PolicyKey | None = None
    is_active: bool = omittable()


def _require(request: HttpRequest, *perms: str) -> None:
    user = request_user(request)
    for perm in perms:
        if not user.has_perm(perm):
            raise PermissionDenied(f"you need the permission {perm}")


def _out(integration: AlarmIntegration) -> dict[str, Any]:
    """An integration from `integrations_overview` (with its counts) as the API shows it."""
    return {
        "id": integration.pk,
        "name": integration.name,
        "kind": integration.kind,
        "token_prefix": integration.token_prefix,
        "schedule": integration.schedule.key if integration.schedule else None,
        "escalation_policy": (
            integration.escalation_policy.key if integration.escalation_policy else None
        ),
        "is_active": integration.is_active,
        "created_at": integration.created_at,
        "alarms_last_7_days": getattr(integration, "recent_alarms", 0),
        "last_alarm_at": getattr(integration, "last_alarm_at", None),
    }


def _with_token(integration_id: int, token: str) -> dict[str, Any]:
    fresh = integrations.get_integration(integration_id)
    return {**_out(fresh), "token": token, "url": integrations.alert_url(token)}


@router.get("", response=list[IntegrationOut], summary="Every alarm integration (no tokens)")
def list_integrations(request: HttpRequest) -> list[dict[str, Any]]:
    _require(request, VIEW)
    return [_out(integration) for integration in integrations.integrations_overview()]


@router.post(
    "",
    response={201: IntegrationWithTokenOut},
    summary="Add an alarm integration: its token and URL are answered once",
)
def create_integration(request: HttpRequest, payload: IntegrationIn) -> tuple[int, dict[str, Any]]:
    _require(request, VIEW, ADD)
    integration, token = integrations.add_integration(
        actor=request_user(request),
        name=payload.name,
        kind=payload.kind,
        schedule=integrations.schedule_by_key(payload.schedule) if payload.schedule else None,
        escalation_policy=(
            integrations.policy_by_key(payload.escalation_policy)
            if payload.escalation_policy
            else None
        ),
    )
    return 201, _with_token(integration.pk, token)


@router.get("/{integration_id}", response=IntegrationOut, summary="One alarm integration")
def get_integration(request: HttpRequest, integration_id: RecordId) -> dict[str, Any]:
    _require(request, VIEW)
    return _out(integrations.get_integration(integration_id, field="integration_id"))


@router.patch(
    "/{integration_id}",
    response=IntegrationOut,
    summary="Rename, re-point (schedule, escalation policy), deactivate or reactivate",
)
def update_integration(
    request: HttpRequest, integration_id: RecordId, payload: IntegrationPatch
) -> dict[str, Any]:
    _require(request, VIEW, CHANGE)
    integration = integrations.get_integration(integration_id, field="integration_id")
    changes = payload.model_dump(exclude_unset=True)
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = changes["name"]
    if "schedule" in changes:
        key = changes["schedule"]
        values["schedule"] = integrations.schedule_by_key(key) if key else None
    if "escalation_policy" in changes:
        key = changes["escalation_policy"]
        values["escalation_policy"] = integrations.policy_by_key(key) if key else None
    actor = request_user(request)
    with transaction.atomic():  # all of it or, when a service refuses a value, none of it
        if values:
            integrations.update_integration(actor=actor, integration=integration, **values)
        if "is_active" in changes:
            active = changes["is_active"]
            integrations.set_active(actor=actor, integration=integration, active=active)
    return _out(integrations.get_integration(integration_id, field="integration_id"))


@router.post(
    "/{integration_id}/rotate-token",
    response=IntegrationWithTokenOut,
    summary="A new token (answered once); the old one stops working at once",
)
def rotate_token(request: HttpRequest, integration_id: RecordId) -> dict[str, Any]:
    _require(request, VIEW, CHANGE)
    integration = integrations.get_integration(integration_id, field="integration_id")
    token = integrations.rotate_token(actor=request_user(request), integration=integration)
    return _with_token(integration.pk, token)

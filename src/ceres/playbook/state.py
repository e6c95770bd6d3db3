"""What the database holds today, in the same terms as the playbook, for checks and the diff.

This module reads the models of the apps the playbook manages (team, accounts, sla,
conversations, the tracker's settings through tracker_plan, on-call through oncall_plan)
directly, read-only: the diff
needs the raw stored value of exactly the fields the playbook manages, and a selector per field
in each app would only mirror the models. Every write still goes through the apps' services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from ceres.accounts.models import ChecklistTemplate, Product
from ceres.automations.models import AutomationRule
from ceres.conversations.models import SavedReply
from ceres.playbook import channel_plan, oncall_plan, tracker_plan
from ceres.playbook.automation_plan import StoredAutomation
from ceres.playbook.automation_plan import stored as stored_automation
from ceres.playbook.models import Organization
from ceres.sla.models import BusinessCalendar, SlaPolicy
from ceres.team import permissions
from ceres.team.models import Person, Role


@dataclass(frozen=True)
class StoredRole:
    key: str
    name: str
    position: int
    permissions: frozenset[str]


@dataclass(frozen=True)
class StoredPerson:
    email: str
    username: str
    # Person fields as the services name them: name, role (a key), github_login, ...
    fields: dict[str, Any]


@dataclass(frozen=True)
class StoredProduct:
    key: str
    name: str
    position: int


@dataclass(frozen=True)
class StoredChecklist:
    key: str
    name: str
    steps: list[dict[str, Any]]


@dataclass(frozen=True)
class StoredOrganization:
    name: str
    product_name: str


@dataclass(frozen=True)
class StoredPolicy:
    key: str
    position: int
    match: dict[str, list[str]]
    targets: dict[str, list[dict[str, Any]]]
    pause_on: list[str]
    warn_at_fraction: float
    escalate_to_role: str


@dataclass(frozen=True)
class StoredSavedReply:
    key: str
    name: str
    subject: str
    body: str
    category: str


@dataclass(frozen=True)
class State:
    organization: StoredOrganization | None
    roles: dict[str, StoredRole]
    people: dict[str, StoredPerson]  # by e-mail
    products: dict[str, StoredProduct]
    checklists: dict[str, StoredChecklist]
    calendars: dict[str, dict[str, Any]]  # key -> the stored spec
    sla_policies: dict[str, StoredPolicy]  # in the order they are matched
    saved_replies: dict[str, StoredSavedReply]
    permissions: frozenset[str]  # every name a role may be granted ("accounts.add_account", …)
    usernames: frozenset[str]
    automations: dict[str, StoredAutomation] = field(default_factory=dict)  # in run order
    community_channels: dict[str, str] = field(default_factory=dict)  # Slack id -> name
    tracker: tracker_plan.StoredTrackerSettings | None = None  # workflow and repositories
    # On-call schedules and escalation chains, and the people by id (oncall_stored.py).
    oncall: oncall_plan.StoredOncall = field(
        default_factory=lambda: oncall_plan.StoredOncall(schedules={}, chains={}, people=())
    )


def _permission_name(app_label: str, codename: str) -> str:
    return f"{app_label}.{codename}"


def read() -> State:
    organization = Organization.objects.filter(pk=Organization.SINGLETON_ID).first()
    roles = {
        role.key: StoredRole(
            key=role.key,
            name=role.name,
            position=role.position,
            permissions=frozenset(
                _permission_name(p.content_type.app_label, p.codename)
                for p in role.group.permissions.all()
            ),
        )
        for role in Role.objects.select_related("group").prefetch_related(
            "group__permissions__content_type"
        )
    }
    people = {
        person.email: StoredPerson(
            email=person.email,
            username=person.user.get_username(),
            fields={
                "name": person.name,
                "role": person.role.key,
                "github_login": person.github_login,
                "slack_user_id": person.slack_user_id,
                "phone": person.phone,
                "timezone": person.timezone,
                "working_hours": person.working_hours or {},
                "withheld_permissions": sorted(person.withheld_permissions or ()),
                "is_active": person.is_active,
            },
        )
        for person in Person.objects.select_related("role", "user")
    }
    return State(
        organization=(
            StoredOrganization(name=organization.name, product_name=organization.product_name)
            if organization is not None
            else None
        ),
        roles=roles,
        people=people,
        products={
            p.key: StoredProduct(key=p.key, name=p.name, position=p.position)
            for p in Product.objects.all()
        },
        checklists={
            t.key: StoredChecklist(key=t.key, name=t.name, steps=list(t.steps or []))
            for t in ChecklistTemplate.objects.all()
        },
        calendars={c.key: dict(c.spec) for c in BusinessCalendar.objects.order_by("key")},
        sla_policies={
            p.key: StoredPolicy(
                key=p.key,
                position=p.position,
                match=dict(p.match or {}),
                targets=dict(p.targets or {}),
                pause_on=list(p.pause_on or []),
                warn_at_fraction=p.warn_at_fraction,
                escalate_to_role=p.escalate_to_role,
            )
            for p in SlaPolicy.objects.order_by("position", "key")
        },
        saved_replies={
            r.key: StoredSavedReply(
                key=r.key, name=r.name, subject=r.subject, body=r.body, category=r.category
            )
            for r in SavedReply.objects.order_by("key")
        },
        permissions=frozenset(permissions.ceres_permissions()),
        usernames=frozenset(
            str(name) for name in get_user_model().objects.values_list("username", flat=True)
        ),
        automations={
            rule.key: stored_automation(rule)
            for rule in AutomationRule.objects.order_by("position", "key")
        },
        community_channels=channel_plan.stored(),
        tracker=tracker_plan.stored(),
        oncall=oncall_plan.stored(),
    )

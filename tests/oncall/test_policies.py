"""Escalation chains saved whole through `ceres.oncall.policies`: every refusal names its field
and writes nothing, the steps are replaced together, and every change (only a change) is
audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Invalid
from ceres.oncall import alarms, policies
from ceres.oncall.models import EscalationPolicy, EscalationStep, OnCallSchedule
from ceres.oncall.policies import StepSpec
from ceres.sla.models import BusinessCalendar
from ceres.team import services as team_services
from ceres.team.models import Person

pytestmark = pytest.mark.django_db


def audit() -> list[tuple[str, dict[str, Any]]]:
    rows = AuditEntry.objects.filter(action__startswith="oncall.policy").order_by("id")
    return [(row.action, row.changes) for row in rows]


def steps_of(policy: EscalationPolicy) -> list[tuple[Any, ...]]:
    return [
        (s.position, s.schedule_id, s.people, s.role, s.via, s.wait_minutes, s.open_outage_issue)
        for s in policy.steps.order_by("position")
    ]


@pytest.fixture
def handbook_chain(
    first_responder: OnCallSchedule, ravi: Person, vp: Person, support_calendar: BusinessCalendar
) -> Callable[..., EscalationPolicy]:
    """Saves the handbook's chain (with `changes` applied to the keyword arguments)."""

    def save(**changes: Any) -> EscalationPolicy:
        values: dict[str, Any] = {
            "actor": vp.user,
            "key": "infrastructure-alarm",
            "name": "Infrastructure alarms",
            "steps": [
                StepSpec(schedule=first_responder, via=("slack", "sms"), wait_minutes=15),
                StepSpec(people=[ravi], wait_minutes=15, open_outage_issue=True),
                StepSpec(role="vp-cs", wait_minutes=15),
            ],
            "repeat": 2,
            "alarm_channel": "C0HELPP1",
            "target_calendar": "support",
        }
        values.update(changes)
        return policies.save_policy(**values)

    return save


def test_a_chain_is_saved_with_its_steps_in_order_and_audited(
    handbook_chain: Callable[..., EscalationPolicy], first_responder: OnCallSchedule, ravi: Person
) -> None:
    policy = handbook_chain()
    assert (policy.key, policy.name, policy.repeat, policy.alarm_channel) == (
        "infrastructure-alarm",
        "Infrastructure alarms",
        2,
        "C0HELPP1",
    )
    assert (policy.target_calendar, policy.ack_within_inside_minutes) == ("support", 60)
    assert (policy.ack_within_outside_minutes, policy.ack_timeout_minutes) == (240, None)
    assert steps_of(policy) == [
        (0, first_responder.pk, [], "", ["slack", "sms"], 15, False),
        (1, None, [ravi.pk], "", ["slack"], 15, True),
        (2, None, [], "vp-cs", ["slack"], 15, False),
    ]
    [(action, changes)] = audit()
    assert action == "oncall.policy.create"
    entry = AuditEntry.objects.get(action="oncall.policy.create")
    assert entry.actor_label == "ada"
    assert entry.target_label == "infrastructure-alarm"
    assert changes["repeat"] == [None, 2]
    assert changes["steps"][1][0]["schedule"] == "infrastructure-oncall"
    assert changes["steps"][1][1]["people"] == [ravi.pk]


def test_saving_the_same_chain_again_changes_and_records_nothing(
    handbook_chain: Callable[..., EscalationPolicy],
) -> None:
    policy = handbook_chain()
    step_ids = list(policy.steps.order_by("position").values_list("pk", flat=True))
    handbook_chain()
    assert len(audit()) == 1
    assert list(policy.steps.order_by("position").values_list("pk", flat=True)) == step_ids


def test_the_steps_are_replaced_as_a_whole(
    handbook_chain: Callable[..., EscalationPolicy], ravi: Person, jonas: Person
) -> None:
    policy = handbook_chain()
    handbook_chain(
        steps=[StepSpec(people=[jonas.pk, ravi], via=["sms", "sms", "email"], wait_minutes=30)],
        repeat=0,
    )
    assert steps_of(policy) == [(0, None, [jonas.pk, ravi.pk], "", ["sms", "email"], 30, False)]
    assert EscalationStep.objects.count() == 1
    action, changes = audit()[-1]
    assert action == "oncall.policy.update"
    assert changes["repeat"] == [2, 0]
    before, after = changes["steps"]
    assert (len(before), len(after)) == (3, 1)
    assert set(changes) == {"repeat", "steps"}


def test_fields_besides_the_steps_are_updated_alone(
    handbook_chain: Callable[..., EscalationPolicy],
) -> None:
    policy = handbook_chain()
    step_ids = list(policy.steps.values_list("pk", flat=True))
    handbook_chain(
        ack_timeout_minutes=240, ack_within_inside_minutes=30, alarm_channel=" c0helpp2 "
    )
    policy.refresh_from_db()
    assert (policy.ack_timeout_minutes, policy.ack_within_inside_minutes) == (240, 30)
    assert policy.alarm_channel == "C0HELPP2"
    assert list(policy.steps.values_list("pk", flat=True)) == step_ids
    _, changes = audit()[-1]
    assert set(changes) == {"ack_timeout_minutes", "ack_within_inside_minutes", "alarm_channel"}


REFUSALS: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], str, str]] = [
    ("key", lambda f: {"key": "Infra Alarm"}, "key", "lower-case"),
    ("blank key", lambda f: {"key": "  "}, "key", "must not be blank"),
    ("name", lambda f: {"name": " "}, "name", "must not be blank"),
    ("no steps", lambda f: {"steps": []}, "steps", "at least one step"),
    (
        "too many steps",
        lambda f: {"steps": [StepSpec(role="vp-cs", wait_minutes=5)] * 21},
        "steps",
        "at most 20",
    ),
    ("steps not a list", lambda f: {"steps": "all"}, "steps", "a list of steps"),
    ("a step that is not one", lambda f: {"steps": [{"role": "vp-cs"}]}, "steps[0]", "StepSpec"),
    (
        "nobody",
        lambda f: {"steps": [f["ok"], StepSpec(wait_minutes=15)]},
        "steps[1]",
        "notifies nobody",
    ),
    (
        "no way",
        lambda f: {"steps": [StepSpec(role="vp-cs", via=(), wait_minutes=15)]},
        "steps[0].via",
        "at least one way",
    ),
    (
        "unknown way",
        lambda f: {"steps": [f["ok"], StepSpec(role="vp-cs", via=["pager"], wait_minutes=1)]},
        "steps[1].via",
        "unknown way 'pager'",
    ),
    (
        "way as text",
        lambda f: {"steps": [StepSpec(role="vp-cs", via="slack", wait_minutes=15)]},
        "steps[0].via",
        "a list of ways",
    ),
    (
        "no wait",
        lambda f: {"steps": [f["ok"], f["ok"], StepSpec(role="vp-cs", wait_minutes=0)]},
        "steps[2].wait_minutes",
        "1 to 1440 minutes",
    ),
    (
        "a day's wait and more",
        lambda f: {"steps": [StepSpec(role="vp-cs", wait_minutes=1441)]},
        "steps[0].wait_minutes",
        "1 to 1440 minutes",
    ),
    (
        "wait not a number",
        lambda f: {"steps": [StepSpec(role="vp-cs", wait_minutes="15m")]},  # type: ignore[arg-type]
        "steps[0].wait_minutes",
        "whole number of minutes",
    ),
    (
        "unknown role",
        lambda f: {"steps": [StepSpec(role="queen", wait_minutes=15)]},
        "steps[0].role",
        "unknown role 'queen'",
    ),
    (
        "someone who left",
        lambda f: {"steps": [StepSpec(people=[f["left"]], wait_minutes=15)]},
        "steps[0].people",
        "no longer on the team",
    ),
    (
        "no such person",
        lambda f: {"steps": [StepSpec(people=[999_999], wait_minutes=15)]},
        "steps[0].people",
        "no person 999999",
    ),
    (
        "someone twice",
        lambda f: {"steps": [StepSpec(people=[f["ravi"], f["ravi"].pk], wait_minutes=15)]},
        "steps[0].people",
        "listed twice",
    ),
    (
        "people as one person",
        lambda f: {"steps": [StepSpec(people=f["ravi"], wait_minutes=15)]},
        "steps[0].people",
        "a list of people",
    ),
    (
        "a schedule never saved",
        lambda f: {"steps": [StepSpec(schedule=OnCallSchedule(key="x"), wait_minutes=15)]},
        "steps[0].schedule",
        "a stored on-call schedule",
    ),
    ("repeat too often", lambda f: {"repeat": 11}, "repeat", "0 to 10 times"),
    ("repeat below zero", lambda f: {"repeat": -1}, "repeat", "0 to 10 times"),
    ("repeat as text", lambda f: {"repeat": "2"}, "repeat", "whole number"),
    ("channel by name", lambda f: {"alarm_channel": "#help-p1"}, "alarm_channel", "channel id"),
    ("no timeout", lambda f: {"ack_timeout_minutes": 0}, "ack_timeout_minutes", "1 to 10080"),
    ("unknown calendar", lambda f: {"target_calendar": "mars"}, "target_calendar", "'mars'"),
    (
        "target inside",
        lambda f: {"ack_within_inside_minutes": 0},
        "ack_within_inside_minutes",
        "1 to 10080",
    ),
    (
        "target outside",
        lambda f: {"ack_within_outside_minutes": 10_081},
        "ack_within_outside_minutes",
        "1 to 10080",
    ),
]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [pytest.param(change, field, message, id=name) for name, change, field, message in REFUSALS],
)
def test_each_refusal_names_its_field_and_writes_nothing(
    handbook_chain: Callable[..., EscalationPolicy],
    ravi: Person,
    make_person: Callable[..., Person],
    change: Callable[[dict[str, Any]], dict[str, Any]],
    field: str,
    message: str,
) -> None:
    left = make_person("engineer", name="Old Timer", email="old@example.com")
    team_services.update_person(actor=None, person=left, is_active=False)
    fixtures = {"ok": StepSpec(role="vp-cs", wait_minutes=15), "ravi": ravi, "left": left}
    with pytest.raises(Invalid) as caught:
        handbook_chain(**change(fixtures))
    assert caught.value.field == field
    assert message in caught.value.message
    assert not EscalationPolicy.objects.exists()
    assert not EscalationStep.objects.exists()
    assert audit() == []


def test_a_refused_change_leaves_the_chain_as_it_was(
    handbook_chain: Callable[..., EscalationPolicy],
) -> None:
    policy = handbook_chain()
    before = steps_of(policy)
    with pytest.raises(Invalid) as caught:
        handbook_chain(name="Renamed", steps=[StepSpec(role="vp-cs", wait_minutes=0)])
    assert caught.value.field == "steps[0].wait_minutes"
    policy.refresh_from_db()
    assert policy.name == "Infrastructure alarms"
    assert steps_of(policy) == before
    assert len(audit()) == 1


def test_a_deleted_chain_is_audited_with_what_it_was_and_integrations_page_nobody(
    handbook_chain: Callable[..., EscalationPolicy], vp: Person
) -> None:
    policy = handbook_chain()
    integration, _ = alarms.create_integration(actor=None, name="Prometheus", kind="generic")
    integration.escalation_policy = policy
    integration.save()
    policies.delete_policy(actor=vp.user, policy=policy)
    assert not EscalationPolicy.objects.exists()
    assert not EscalationStep.objects.exists()
    integration.refresh_from_db()
    assert integration.escalation_policy is None
    action, changes = audit()[-1]
    assert action == "oncall.policy.delete"
    assert changes["key"] == ["infrastructure-alarm", None]
    assert len(changes["steps"][0]) == 3
    assert changes["steps"][1] is None

"""The playbook's `automations` section: applied through the service, refused with file:line."""

from __future__ import annotations

import pytest

from ceres.automations.models import AutomationRule
from ceres.playbook.errors import PlaybookError
from ceres.playbook.models import PlaybookApplication
from ceres.playbook.services import DEMO_PLAYBOOK, apply_path
from tests.playbook.conftest import Write, line_of
from tests.playbook.test_sla_sections import SLA

pytestmark = pytest.mark.django_db

RULES = (
    SLA.replace(
        "saved_replies:\n",
        "saved_replies:\n  after-hours-notice: We are away; press a button for a P0 or P1.\n",
    )
    + """\
automations:
  - name: after-hours
    on: message_received
    if: {author: not_team, outside_hours: support, channel_kind: customer}
    then:
      - reply_in_thread: after-hours-notice
    on_button:
      emergency:
        options: [P0, P1]
        then:
          - text: {role: cse}
          - set_priority: from_button
"""
)


def refused(write: Write, text: str) -> list[str]:
    path = write(text)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert not PlaybookApplication.objects.exists()
    assert not AutomationRule.objects.exists()
    return [error.replace(f"{path}:", "FILE:") for error in caught.value.errors]


def test_the_demo_ships_the_handbook_after_hours_rule() -> None:
    apply_path(DEMO_PLAYBOOK)
    rule = AutomationRule.objects.get()
    assert rule.key == "after-hours-customer-slack"
    assert rule.trigger == "message_received"
    assert rule.conditions == {
        "author": "not_team",
        "outside_hours": "support",
        "channel_kind": "customer",
        "new_conversation": True,
    }
    assert rule.actions == [{"reply_in_thread": "after-hours-notice"}]
    assert rule.buttons == {
        "emergency": {
            "options": ["P0", "P1"],
            "actions": [
                {"text": {"role": "vp-cs"}},
                {"set_priority": "from_button"},
                {"page": "infrastructure-alarm"},
            ],
        }
    }
    again = apply_path(DEMO_PLAYBOOK, dry_run=True)
    assert not [c for c in again.changes if "automation" in c]


def test_a_changed_rule_is_a_change_in_the_dry_run(write: Write) -> None:
    apply_path(write(RULES))
    changed = RULES.replace("outside_hours: support", "inside_hours: support")
    result = apply_path(write(changed), dry_run=True)
    assert [c for c in result.changes if "automation" in c] == [
        '~ automation after-hours: conditions {"author": "not_team", "channel_kind": "customer", '
        '"outside_hours": "support"} -> {"author": "not_team", "channel_kind": "customer", '
        '"inside_hours": "support"}'
    ]


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        (
            "reply_in_thread: after-hours-notice",
            "reply_in_thread: after-hours",
            "reply_in_thread: after-hours\n",
            "automations[0].then[0].reply_in_thread",
            "unknown saved reply 'after-hours'",
        ),
        (
            "outside_hours: support",
            "outside_hours: mars",
            "outside_hours: mars",
            "automations[0].if.outside_hours",
            "unknown calendar 'mars'",
        ),
        (
            "author: not_team",
            "writer: not_team",
            "writer: not_team",
            "automations[0].if.writer",
            "unknown condition 'writer'",
        ),
        (
            "on: message_received",
            "on: sunrise",
            "on: sunrise",
            "automations[0].on",
            "unknown trigger 'sunrise'",
        ),
        (
            "- set_priority: from_button",
            "- page: Infrastructure On-call",
            "page: Infrastructure On-call",
            "automations[0].on_button.emergency",
            "the key of an escalation chain or an on-call rotation",
        ),
        (
            "- set_priority: from_button",
            "- page: infrastructure-alrm",
            "page: infrastructure-alrm",
            "automations[0].on_button.emergency",
            "no escalation chain or on-call rotation 'infrastructure-alrm'",
        ),
        (
            "text: {role: cse}",
            "text: {role: queen}",
            "text: {role: queen}",
            "automations[0].on_button.emergency",
            "unknown role 'queen'",
        ),
    ],
)
def test_a_rule_ceres_could_not_run_names_its_line(
    write: Write, old: str, new: str, needle: str, path: str, message: str
) -> None:
    assert old in RULES
    text = RULES.replace(old, new, 1)
    errors = refused(write, text)
    assert len(errors) == 1, errors
    line = line_of(text, needle)
    assert errors[0].startswith(f"FILE:{line}: {path}: ") or errors[0].startswith(
        f"FILE:{line_of(text, 'emergency:')}: {path}: "
    ), errors
    assert message in errors[0]


def test_a_rule_name_used_twice_is_refused(write: Write) -> None:
    rule = RULES[RULES.index("  - name: after-hours") :]
    errors = refused(write, RULES + rule)
    assert len(errors) == 1
    assert "rule name 'after-hours' is used twice" in errors[0]


SCHEDULED = (
    RULES
    + """\
  - name: nudge-waiting
    on: schedule
    every: {days: [mon, tue, wed, thu, fri], at: "09:00", timezone: America/Chicago}
    if: {status: waiting_on_customer, idle_for: 2d}
    then:
      - add_tag: nudge
"""
)


def test_a_schedule_rule_from_the_playbook(write: Write) -> None:
    apply_path(write(SCHEDULED))
    rule = AutomationRule.objects.get(key="nudge-waiting")
    assert rule.trigger == "schedule"
    assert rule.schedule["at"] == "09:00"
    assert rule.conditions == {"status": "waiting_on_customer", "idle_for": "2d"}


def test_a_bad_schedule_names_its_line(write: Write) -> None:
    text = SCHEDULED.replace('at: "09:00"', 'at: "9am"')
    errors = refused(write, text)
    assert len(errors) == 1
    assert errors[0].startswith(f"FILE:{line_of(text, 'every:')}: automations[1].every.at: ")


# --- channels --------------------------------------------------------------------------------


def test_community_channels_from_the_playbook(write: Write) -> None:
    from ceres.slack.models import CommunityChannel

    text = SLA + "channels:\n  - {slack: C0COMMUNITY, kind: community, name: '#fleet'}\n"
    apply_path(write(text))
    channel = CommunityChannel.objects.get()
    assert (channel.channel_id, channel.name) == ("C0COMMUNITY", "fleet")
    renamed = text.replace("'#fleet'", "osquery-fleet")
    result = apply_path(write(renamed), dry_run=True)
    assert [c for c in result.changes if "community_channel" in c] == [
        "~ community_channel C0COMMUNITY: name fleet -> osquery-fleet"
    ]


@pytest.mark.parametrize(
    ("entry", "path", "message"),
    [
        ("{slack: C0HELPP1, kind: alarms}", "channels[0].kind", "alarm channels are not supported"),
        ("{slack: C0HELPP1, kind: lounge}", "channels[0].kind", "unknown kind 'lounge'"),
        ("{slack: general, kind: community}", "channels[0].slack", "a Slack channel id"),
    ],
)
def test_channels_ceres_cannot_run_are_refused(
    write: Write, entry: str, path: str, message: str
) -> None:
    text = SLA + f"channels:\n  - {entry}\n"
    path_obj = write(text)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path_obj)
    errors = [e.replace(f"{path_obj}:", "FILE:") for e in caught.value.errors]
    assert len(errors) == 1
    assert errors[0].startswith(f"FILE:{line_of(text, entry)}: {path}: ")
    assert message in errors[0]

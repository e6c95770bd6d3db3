"""The playbook's `rotations:` and `escalation_chains:`: the sketch's sections applied through
the on-call services, the first handoff fixed by the anchor so a second apply changes nothing,
the dry run's diff, what is kept, and every refusal at its line."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Invalid
from ceres.oncall import services as oncall_services
from ceres.oncall.models import EscalationPolicy, OnCallSchedule, ScheduleOverride
from ceres.playbook.errors import PlaybookError
from ceres.playbook.services import apply_path
from ceres.team.models import Person
from tests.playbook.conftest import Write, line_of

pytestmark = pytest.mark.django_db

CHICAGO = ZoneInfo("America/Chicago")

BASE = """\
version: 1
roles:
  - {key: vp-cs, name: VP of Customer Success, permissions: []}
  - {key: infra, name: Infrastructure Engineer, permissions: []}
  - {key: support-manager, name: Support manager, permissions: []}
  - {key: cse, name: Customer Support Engineer, permissions: []}
  - {key: engineer, name: Engineer, permissions: []}
people:
  - {name: Ada Ortiz, role: vp-cs, email: ada@example.com}
  - {name: Ravi Menon, role: infra, email: ravi@example.com}
  - {name: Lena Park, role: cse, email: lena@example.com}
  - {name: Dario Ruiz, role: support-manager, email: dario@example.com}
  - {name: Sam Engel, role: engineer, email: sam@example.com}
  - {name: Yuki Tanaka, role: engineer, email: yuki@example.com}
calendars:
  support:
    timezone: America/Chicago
    hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"],
            thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
  always: {timezone: UTC, hours: all}
"""

# The playbook sketch's sections, as written there.
ROTATIONS = """\
rotations:
  developer-on-call: {people: [engineer], every: 1w, handoff: "mon 09:00 America/Chicago",
                      hours: support, slack_alias: oncall}
  infrastructure-first-responder: {people: [Ravi Menon, Lena Park], every: 1w,
                                   handoff: "mon 08:00 America/Chicago",
                                   slack_alias: infrastructure-oncall}
  premium-24x7: {layers: [infrastructure-first-responder], hours: always}
"""
CHAINS = """\
escalation_chains:
  infrastructure-alarm:
    - {notify: {rotation: infrastructure-first-responder}, via: [slack, sms], wait: 15m}
    - {notify: {person: Ravi Menon}, wait: 15m}           # site owner
    - {notify: {role: vp-cs}, wait: 15m}
    - {notify: {role: support-manager}, wait: 30m}
    - {repeat: 2}
  response-targets: {ack_within: {inside_hours: 1h, outside_hours: 4h, calendar: support}}
"""
SKETCH = BASE + ROTATIONS + CHAINS


def refused(write: Write, text: str) -> list[str]:
    path = write(text)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert not OnCallSchedule.objects.exists()
    assert not EscalationPolicy.objects.exists()
    return [error.replace(f"{path}:", "FILE:") for error in caught.value.errors]


def person(name: str) -> Person:
    return Person.objects.get(name=name)


def layers(key: str) -> list[tuple[int, list[str], int, datetime.datetime, str, str]]:
    schedule = OnCallSchedule.objects.get(key=key)
    names = dict(Person.objects.values_list("pk", "name"))
    return [
        (
            layer.position,
            [names[pk] for pk in layer.people],
            layer.shift_length_hours,
            layer.start.astimezone(ZoneInfo(layer.timezone)),
            layer.timezone,
            layer.restriction,
        )
        for layer in schedule.layers.order_by("position")
    ]


# --- the sketch, applied ---------------------------------------------------------------------


def test_the_sketchs_rotations_and_chain_apply_and_a_second_apply_changes_nothing(
    write: Write,
) -> None:
    path = write(SKETCH)
    first = apply_path(path)
    on_call = [c for c in first.changes if c.startswith(("+ rotation", "+ escalation_chain"))]
    assert on_call == [
        "+ rotation developer-on-call: Developer on call; Sam Engel, Yuki Tanaka every 1w, "
        "handoff mon 09:00 America/Chicago, support hours; @oncall",
        "+ rotation infrastructure-first-responder: Infrastructure first responder; Ravi Menon, "
        "Lena Park every 1w, handoff mon 08:00 America/Chicago, 24/7; @infrastructure-oncall",
        "+ rotation premium-24x7: Premium 24x7; Ravi Menon, Lena Park every 1w, handoff mon "
        "08:00 America/Chicago, 24/7",
        "+ escalation_chain infrastructure-alarm: Infrastructure alarm: rotation "
        "infrastructure-first-responder by slack+sms, wait 15m » person Ravi Menon by slack, "
        "wait 15m » role vp-cs by slack, wait 15m » role support-manager by slack, wait 30m; "
        "repeat 2; ack within 1h inside support hours, 4h outside",
    ]
    developer = OnCallSchedule.objects.get(key="developer-on-call")
    assert (developer.name, developer.slack_usergroup_handle) == ("Developer on call", "oncall")
    monday = datetime.datetime(2026, 1, 5, 9, tzinfo=CHICAGO)  # the anchor
    assert layers("developer-on-call") == [
        (0, ["Sam Engel", "Yuki Tanaka"], 168, monday, "America/Chicago", "support")
    ]
    first_responders = (["Ravi Menon", "Lena Park"], 168, monday.replace(hour=8))
    assert layers("infrastructure-first-responder") == [
        (0, *first_responders, "America/Chicago", "")
    ]
    assert layers("premium-24x7") == [(0, *first_responders, "America/Chicago", "")]

    chain = EscalationPolicy.objects.get(key="infrastructure-alarm")
    assert (chain.name, chain.repeat, chain.alarm_channel) == ("Infrastructure alarm", 2, "")
    assert (chain.target_calendar, chain.ack_within_inside_minutes) == ("support", 60)
    assert chain.ack_within_outside_minutes == 240
    steps = [
        (s.schedule.key if s.schedule else "", s.people, s.role, s.via, s.wait_minutes)
        for s in chain.steps.order_by("position").select_related("schedule")
    ]
    assert steps == [
        ("infrastructure-first-responder", [], "", ["slack", "sms"], 15),
        ("", [person("Ravi Menon").pk], "", ["slack"], 15),
        ("", [], "vp-cs", ["slack"], 15),
        ("", [], "support-manager", ["slack"], 30),
    ]
    actors = set(
        AuditEntry.objects.filter(action__startswith="oncall.").values_list("action", "actor_label")
    )
    assert actors == {
        ("oncall.schedule.create", "playbook"),
        ("oncall.layer.create", "playbook"),
        ("oncall.policy.create", "playbook"),
    }

    audit_rows = AuditEntry.objects.count()
    second = apply_path(path)
    assert (second.changes, second.kept, second.warnings) == ([], [], [])
    assert second.unchanged == len(first.changes)
    assert AuditEntry.objects.count() == audit_rows


def test_the_dry_run_shows_the_diff_and_writes_nothing(write: Write) -> None:
    apply_path(write(BASE))
    path = write(SKETCH)
    dry = apply_path(path, dry_run=True)
    assert len(dry.changes) == 4
    assert not OnCallSchedule.objects.exists()
    assert not EscalationPolicy.objects.exists()
    assert apply_path(path).changes == dry.changes


def test_the_first_handoff_is_the_anchor_or_the_weekday_before_it(write: Write) -> None:
    text = BASE + (
        "rotations:\n"
        "  fridays: {people: [Sam Engel], every: 2w, handoff: 'fri 15:00 America/Chicago'}\n"
        "  daily: {people: [sam@example.com], every: 1d, handoff: '09:00 Europe/Berlin'}\n"
        "  halves: {people: [Sam Engel, Ada Ortiz], every: 12h, handoff: '07:30 UTC'}\n"
    )
    apply_path(write(text))
    berlin = ZoneInfo("Europe/Berlin")
    assert [row[2:4] for row in layers("fridays")] == [
        (336, datetime.datetime(2026, 1, 2, 15, tzinfo=CHICAGO))
    ]
    assert [row[2:4] for row in layers("daily")] == [
        (24, datetime.datetime(2026, 1, 5, 9, tzinfo=berlin))
    ]
    assert [row[2:4] for row in layers("halves")] == [
        (12, datetime.datetime(2026, 1, 5, 7, 30, tzinfo=datetime.UTC))
    ]


def test_a_role_is_everyone_active_in_it_by_id_at_apply_time(write: Write) -> None:
    apply_path(write(SKETCH))
    text = SKETCH.replace(
        "  - {name: Sam Engel, role: engineer, email: sam@example.com}\n",
        "  - {name: Noor Haddad, role: engineer, email: noor@example.com}\n"
        "  - {name: Sam Engel, role: engineer, email: sam@example.com, active: false}\n",
    )
    result = apply_path(write(text), dry_run=True)
    assert result.changes == [
        "+ person noor@example.com: Noor Haddad (engineer)",
        "~ person sam@example.com: active yes -> no",
        "~ rotation developer-on-call: people Sam Engel, Yuki Tanaka -> Yuki Tanaka, Noor Haddad",
    ]
    apply_path(write(text))
    assert layers("developer-on-call")[0][1] == ["Yuki Tanaka", "Noor Haddad"]


def test_changes_are_shown_layer_by_layer_and_a_layer_left_out_is_deleted(
    write: Write,
) -> None:
    layered = SKETCH.replace(
        "  premium-24x7: {layers: [infrastructure-first-responder], hours: always}\n",
        "  premium-24x7:\n"
        "    name: Premium support 24/7\n"
        "    channel: C0HELPCUST1\n"
        "    layers:\n"
        "      - infrastructure-first-responder\n"
        "      - {people: [cse], every: 1w, handoff: 'mon 09:00 America/Chicago',\n"
        "         hours: support}\n",
    )
    apply_path(write(layered))
    assert [row[1] for row in layers("premium-24x7")] == [
        ["Ravi Menon", "Lena Park"],
        ["Lena Park"],
    ]
    edited = (
        SKETCH.replace('every: 1w, handoff: "mon 09:00', 'every: 2w, handoff: "tue 10:00')
        .replace("hours: support, slack_alias: oncall", "slack_alias: dev-oncall")
        .replace("[Ravi Menon, Lena Park]", "[Lena Park, Ravi Menon]")
    )
    result = apply_path(write(edited), dry_run=True)
    assert result.changes == [
        "~ rotation developer-on-call: slack_alias oncall -> dev-oncall; every 1w -> 2w; handoff "
        "mon 09:00 America/Chicago -> tue 10:00 America/Chicago; hours support hours -> 24/7",
        "~ rotation infrastructure-first-responder: people Ravi Menon, Lena Park -> Lena Park, "
        "Ravi Menon",
        "~ rotation premium-24x7: name 'Premium support 24/7' -> 'Premium 24x7'; channel "
        "C0HELPCUST1 -> (none); layer 0 people Ravi Menon, Lena Park -> Lena Park, Ravi Menon; "
        "layer 1 removed (Lena Park every 1w, handoff mon 09:00 America/Chicago, support hours)",
    ]
    apply_path(write(edited))
    assert [row[1] for row in layers("premium-24x7")] == [["Lena Park", "Ravi Menon"]]
    assert AuditEntry.objects.filter(action="oncall.layer.delete").count() == 1
    assert layers("developer-on-call")[0][2:4] == (
        336,
        datetime.datetime(2025, 12, 30, 10, tzinfo=CHICAGO),
    )


def test_a_rotation_left_out_is_kept_and_overrides_are_never_touched(write: Write) -> None:
    apply_path(write(SKETCH))
    schedule = OnCallSchedule.objects.get(key="infrastructure-first-responder")
    start = datetime.datetime(2026, 11, 26, 8, tzinfo=CHICAGO)
    oncall_services.add_override(
        actor=None,
        schedule=schedule,
        person=person("Ada Ortiz"),
        start=start,
        end=start + datetime.timedelta(days=1),
    )
    without = SKETCH.replace(
        '  developer-on-call: {people: [engineer], every: 1w, handoff: "mon 09:00 '
        'America/Chicago",\n                      hours: support, slack_alias: oncall}\n',
        "",
    ).replace("[Ravi Menon, Lena Park]", "[Lena Park]")
    result = apply_path(write(without))
    assert result.kept == ["  rotation developer-on-call: not in playbook, kept"]
    assert OnCallSchedule.objects.filter(key="developer-on-call").exists()
    assert ScheduleOverride.objects.filter(schedule=schedule).count() == 1
    assert layers("infrastructure-first-responder")[0][1] == ["Lena Park"]


def test_a_chain_as_a_mapping_with_its_own_targets_channel_and_timeout(write: Write) -> None:
    text = (
        SKETCH + "  weekend-alarm:\n"
        "    name: Weekend alarms\n"
        "    channel: c0helpp1\n"
        "    ack_timeout: 4h\n"
        "    repeat: 1\n"
        "    response_targets: {ack_within: {inside_hours: 30m, outside_hours: 2h,\n"
        "                                    calendar: always}}\n"
        "    steps:\n"
        "      - notify: {people: [Lena Park, dario@example.com], role: vp-cs}\n"
        "        via: email\n"
        "        wait: 1h30m\n"
        "        outage_issue: true\n"
    )
    apply_path(write(text))
    chain = EscalationPolicy.objects.get(key="weekend-alarm")
    assert (chain.name, chain.alarm_channel, chain.ack_timeout_minutes, chain.repeat) == (
        "Weekend alarms",
        "C0HELPP1",
        240,
        1,
    )
    assert (chain.target_calendar, chain.ack_within_inside_minutes) == ("always", 30)
    assert chain.ack_within_outside_minutes == 120
    [step] = chain.steps.all()
    assert step.people == [person("Lena Park").pk, person("Dario Ruiz").pk]
    assert (step.role, step.via, step.wait_minutes, step.open_outage_issue) == (
        "vp-cs",
        ["email"],
        90,
        True,
    )
    # The section's response-targets are for the chains without their own.
    other = EscalationPolicy.objects.get(key="infrastructure-alarm")
    assert (other.target_calendar, other.ack_within_inside_minutes) == ("support", 60)

    edited = text.replace("wait: 1h30m", "wait: 45m").replace("    repeat: 1\n", "")
    assert apply_path(write(edited), dry_run=True).changes == [
        "~ escalation_chain weekend-alarm: repeat 1 -> 0; steps[0] people Lena Park, Dario Ruiz "
        "+ role vp-cs by email, wait 1h30m, opens an outage issue -> people Lena Park, Dario Ruiz "
        "+ role vp-cs by email, wait 45m, opens an outage issue"
    ]


def test_a_layer_may_name_a_rotation_with_other_hours(write: Write) -> None:
    text = SKETCH.replace(
        "  premium-24x7: {layers: [infrastructure-first-responder], hours: always}\n",
        "  premium-24x7:\n"
        "    layers:\n"
        "      - developer-on-call\n"
        "      - {rotation: infrastructure-first-responder, hours: support}\n",
    )
    apply_path(write(text))
    assert [(row[0], row[5]) for row in layers("premium-24x7")] == [(0, "support"), (1, "support")]
    plain = text.replace("{rotation: infrastructure-first-responder, hours: support}", "infra")
    with pytest.raises(PlaybookError) as caught:
        apply_path(path := write(plain.replace("\n      - infra", "\n      - nowhere")))
    errors = [error.replace(f"{path}:", "FILE:") for error in caught.value.errors]
    assert errors == [
        f"FILE:{line_of(plain, '- infra')}: rotations.premium-24x7.layers[1]: unknown rotation "
        "'nowhere'; rotations: developer-on-call, infrastructure-first-responder"
    ]


def test_the_user_group_the_sync_found_stays_until_the_alias_changes(write: Write) -> None:
    apply_path(write(SKETCH))
    OnCallSchedule.objects.filter(key="developer-on-call").update(slack_usergroup_id="S0ONCALL1")
    renamed = SKETCH.replace("name: Engineer", "name: Engineers")
    apply_path(write(renamed.replace("Yuki Tanaka, role", "Yuki T., role")))
    assert OnCallSchedule.objects.get(key="developer-on-call").slack_usergroup_id == "S0ONCALL1"
    apply_path(write(SKETCH.replace("slack_alias: oncall", "slack_alias: '@dev-oncall'")))
    schedule = OnCallSchedule.objects.get(key="developer-on-call")
    assert (schedule.slack_usergroup_handle, schedule.slack_usergroup_id) == ("dev-oncall", "")


def test_a_refusal_met_while_applying_names_the_line_and_nothing_is_left(
    write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: object) -> None:
        raise Invalid("Lena Park is no longer on the team", field="people")

    monkeypatch.setattr(oncall_services, "save_layer", refuse)
    errors = refused(write, SKETCH)
    assert errors == [
        f"FILE:{line_of(SKETCH, '  developer-on-call:')}: rotations.developer-on-call.people: "
        "Lena Park is no longer on the team"
    ]
    assert not Person.objects.exists()


# --- refusals, each at its line --------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        (
            "{rotation: infrastructure-first-responder}",
            "{rotation: infra-first}",
            "rotation: infra-first",
            "escalation_chains.infrastructure-alarm[0].notify.rotation",
            "unknown rotation 'infra-first'; rotations: developer-on-call, "
            "infrastructure-first-responder, premium-24x7",
        ),
        (
            "{person: Ravi Menon}",
            "{person: Ravi Menen}",
            "Ravi Menen",
            "escalation_chains.infrastructure-alarm[1].notify.person",
            "unknown person 'Ravi Menen'; did you mean 'Ravi Menon'? (write a name or e-mail "
            "address from people)",
        ),
        (
            "{role: vp-cs}",
            "{role: vp}",
            "{role: vp}",
            "escalation_chains.infrastructure-alarm[2].notify.role",
            "unknown role 'vp'; known roles: vp-cs, infra, support-manager, cse, engineer",
        ),
        (
            "{notify: {role: vp-cs}, wait: 15m}",
            "{notify: {}, wait: 15m}",
            "notify: {}",
            "escalation_chains.infrastructure-alarm[2].notify",
            "names nobody",
        ),
        (
            "wait: 30m}",
            "wait: 15x}",
            "wait: 15x",
            "escalation_chains.infrastructure-alarm[3].wait",
            "'15x' is not a duration such as 15m, 4h, 1h30m or 1d",
        ),
        (
            "wait: 30m}",
            "wait: 2d}",
            "wait: 2d",
            "escalation_chains.infrastructure-alarm[3].wait",
            "'2d' is longer than 24h",
        ),
        (
            "via: [slack, sms]",
            "via: [slack, pager]",
            "pager",
            "escalation_chains.infrastructure-alarm[0].via[1]",
            "unknown way to notify 'pager'; use slack, sms, email",
        ),
        (
            "    - {repeat: 2}\n",
            "    - {repeat: 11}\n",
            "repeat: 11",
            "escalation_chains.infrastructure-alarm[4].repeat",
            "must be 0 to 10",
        ),
        (
            "    - {notify: {role: support-manager}, wait: 30m}\n    - {repeat: 2}\n",
            "    - {repeat: 2}\n    - {notify: {role: support-manager}, wait: 30m}\n",
            "repeat: 2",
            "escalation_chains.infrastructure-alarm[3]",
            "{repeat: N} goes after the last step",
        ),
        (
            "calendar: support}}",
            "calendar: mars}}",
            "response-targets",
            "escalation_chains.response-targets.ack_within.calendar",
            "unknown calendar 'mars'; known calendars: support, always",
        ),
        (
            "  infrastructure-alarm:\n",
            "  Infrastructure_Alarm:\n",
            "Infrastructure_Alarm",
            "escalation_chains.Infrastructure_Alarm",
            "'Infrastructure_Alarm' is not an escalation chain's name",
        ),
        (
            "people: [engineer]",
            "people: [enginer]",
            "enginer",
            "rotations.developer-on-call.people[0]",
            "unknown role or person 'enginer'; did you mean 'engineer'?",
        ),
        (
            "[Ravi Menon, Lena Park]",
            "[Ravi Menon, Lena Parks]",
            "Lena Parks",
            "rotations.infrastructure-first-responder.people[1]",
            "unknown role or person 'Lena Parks'; did you mean 'Lena Park'?",
        ),
        (
            'every: 1w, handoff: "mon 09:00',
            'every: 15x, handoff: "mon 09:00',
            "15x",
            "rotations.developer-on-call.every",
            "'15x' is not a shift length such as 1w, 2w, 1d or 12h",
        ),
        (
            'every: 1w, handoff: "mon 09:00',
            'every: 30m, handoff: "mon 09:00',
            "30m",
            "rotations.developer-on-call.every",
            "'30m': a shift lasts at least an hour (1h)",
        ),
        (
            '"mon 09:00 America/Chicago"',
            "funday 9",
            "funday",
            "rotations.developer-on-call.handoff",
            "'funday 9' is not a handoff such as 'mon 09:00 America/Chicago' (weekly) or "
            "'09:00 America/Chicago' (daily): 'funday' is not a weekday",
        ),
        (
            '"mon 09:00 America/Chicago"',
            '"mon 09:00 America/Chicgo"',
            "Chicgo",
            "rotations.developer-on-call.handoff",
            "unknown IANA time zone 'America/Chicgo', e.g. America/Chicago or Europe/Berlin",
        ),
        (
            '"mon 09:00 America/Chicago"',
            '"09:00 America/Chicago"',
            '"09:00 America',
            "rotations.developer-on-call.handoff",
            "a rotation every 1w hands off on a weekday: write e.g. 'mon 09:00 America/Chicago'",
        ),
        (
            'every: 1w, handoff: "mon 09:00',
            'every: 1d, handoff: "mon 09:00',
            "every: 1d",
            "rotations.developer-on-call.handoff",
            "a rotation every 1d does not hand off on a fixed weekday: write '09:00 "
            "America/Chicago'",
        ),
        (
            "hours: support, slack_alias",
            "hours: mars, slack_alias",
            "mars",
            "rotations.developer-on-call.hours",
            "unknown calendar 'mars'; write always (24/7) or a calendar: support, always",
        ),
        (
            "{layers: [infrastructure-first-responder], hours: always}",
            "{layers: [premium-24x7]}",
            "premium-24x7:",
            "rotations.premium-24x7.layers[0]",
            "a rotation cannot be a layer of itself",
        ),
        (
            "{layers: [infrastructure-first-responder], hours: always}",
            "{layers: [infrastructure-first-responder], people: [cse]}",
            "premium-24x7:",
            "rotations.premium-24x7.people",
            "a rotation with layers sets people in each layer",
        ),
        (
            "{layers: [infrastructure-first-responder], hours: always}",
            "{hours: always}",
            "premium-24x7:",
            "rotations.premium-24x7",
            "needs people (who takes turns) or layers",
        ),
        (
            "slack_alias: infrastructure-oncall}",
            "slack_alias: oncall}",
            "oncall}\n  premium",
            "rotations.infrastructure-first-responder.slack_alias",
            "@oncall is also the alias of rotation 'developer-on-call'",
        ),
        (
            "slack_alias: oncall}",
            "slack_alias: On Call}",
            "On Call",
            "rotations.developer-on-call.slack_alias",
            "'On Call' is not a Slack user group's handle",
        ),
        (
            "{layers: [infrastructure-first-responder], hours: always}",
            "{layers: [developer-on-call], channel: '#help-p1'}",
            "premium-24x7:",
            "rotations.premium-24x7.channel",
            "'#help-p1' is not a Slack channel id such as C0123ABCD",
        ),
    ],
)
def test_a_rotation_or_chain_ceres_could_not_run_names_its_line(
    write: Write, old: str, new: str, needle: str, path: str, message: str
) -> None:
    assert old in SKETCH
    text = SKETCH.replace(old, new, 1)
    errors = refused(write, text)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"FILE:{line_of(text, needle)}: {path}: "), errors
    assert message in errors[0]


def test_an_inactive_person_cannot_take_turns(write: Write) -> None:
    text = SKETCH.replace("email: lena@example.com}", "email: lena@example.com, active: false}")
    errors = refused(write, text)
    assert errors == [
        f"FILE:{line_of(text, 'Lena Park]')}: rotations.infrastructure-first-responder."
        "people[1]: Lena Park is not active (active: false), so cannot be on call"
    ]


def test_a_rotation_may_list_roles_and_people_together(write: Write) -> None:
    text = SKETCH.replace("people: [engineer]", "people: [support-manager, engineer, Ada Ortiz]")
    apply_path(write(text))
    assert layers("developer-on-call")[0][1] == [
        "Dario Ruiz",
        "Sam Engel",
        "Yuki Tanaka",
        "Ada Ortiz",
    ]  # in the order written, each role's people by id


def test_a_role_with_nobody_active_is_refused_in_a_rotation(write: Write) -> None:
    nobody = SKETCH.replace(
        "  - {name: Sam Engel, role: engineer, email: sam@example.com}\n"
        "  - {name: Yuki Tanaka, role: engineer, email: yuki@example.com}\n",
        "",
    )
    errors = refused(write, nobody)
    assert errors == [
        f"FILE:{line_of(nobody, 'people: [engineer]')}: rotations.developer-on-call.people[0]: "
        "nobody active has the role 'engineer'"
    ]


def test_a_chain_with_a_role_nobody_has_is_applied_with_a_warning(write: Write) -> None:
    dario = "  - {name: Dario Ruiz, role: support-manager, email: dario@example.com}\n"
    text = SKETCH.replace(dario, "")
    result = apply_path(write(text))
    assert result.warnings == [
        f"{write(text)}:{line_of(text, 'role: support-manager}')}: "
        "escalation_chains.infrastructure-alarm[3].notify.role: nobody active has the role "
        "'support-manager', so this step pages nobody of that role (warning)"
    ]

"""Refused calendars, SLA policies and saved replies: each problem names the file, the line of
the key at fault and the field path, and nothing is applied."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ceres.conversations.models import SavedReply
from ceres.playbook.errors import PlaybookError
from ceres.playbook.models import PlaybookApplication
from ceres.playbook.services import apply_path
from ceres.sla.models import BusinessCalendar, SlaPolicy
from tests.playbook.conftest import Write, line_of
from tests.playbook.test_sla_sections import SLA

pytestmark = pytest.mark.django_db


def refused(write: Write, text: str) -> list[str]:
    path = write(text)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert not PlaybookApplication.objects.exists()
    assert not BusinessCalendar.objects.exists()
    assert not SlaPolicy.objects.exists()
    assert not SavedReply.objects.exists()
    return [error.replace(f"{path}:", "FILE:") for error in caught.value.errors]


def edit(old: str, new: str, text: str = SLA) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# --- calendars -------------------------------------------------------------------------------


def test_overlapping_windows_name_the_weekday_line_and_exit_2(write: Write) -> None:
    text = edit('"09:00-12:00", "13:00-17:00"', '"09:00-12:00", "11:00-17:00"')
    path = write(text)
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("apply", str(path), stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 2
    assert err.getvalue().splitlines() == [
        f"{path}:{line_of(text, 'tue:')}: calendars.support.hours.tue: '11:00-17:00' overlaps "
        "the span before it"
    ]
    assert not BusinessCalendar.objects.exists()


def test_an_unknown_time_zone_names_its_line(write: Write) -> None:
    text = edit("timezone: America/Chicago", "timezone: America/Chicgo")
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'Chicgo')}: calendars.support.timezone: unknown IANA time zone "
        "'America/Chicgo', e.g. America/Chicago or Europe/Berlin"
    ]


@pytest.mark.parametrize(
    ("old", "new", "needle", "error"),
    [
        (
            "      mon: [",
            "      mnd: [",
            "mnd:",
            "calendars.support.hours.mnd: unknown weekday 'mnd'; use one of mon, tue, wed, thu, "
            "fri, sat, sun",
        ),
        (
            '    hours:\n      mon: ["09:00-17:00"]\n      tue: ["09:00-12:00", "13:00-17:00"]\n',
            "    hours: {}\n",
            "hours:",
            "calendars.support.hours: the calendar is never open: give at least one window",
        ),
        (
            "{country: US}",
            "{country: NO}",
            "country: NO",
            "calendars.support.holidays.country: required: an ISO 3166-1 alpha-2 code such as "
            "US; YAML reads yes/no/on/off and NO as true/false: put the text in quotes",
        ),
        (
            "{country: US}",
            "{country: US, region: CA}",
            "region",
            "calendars.support.holidays.region: unknown key 'region'; use country, subdivision",
        ),
        (
            "    holidays: {country: US}\n",
            "    holidays: {country: US}\n    closed:\n      - 2026-12-24\n      - 2026-13-01\n",
            "2026-13-01",
            "calendars.support.closed[1]: '2026-13-01' is not a valid date (YYYY-MM-DD)",
        ),
        (
            "    holidays: {country: US}\n",
            "    holidays: {country: US}\n    open:\n      - 2026-05-25\n      - 2026-05-25\n",
            "      - 2026-05-25\n      - ",
            "calendars.support.open[1]: 2026-05-25 is listed twice",
        ),
        (
            "    holidays: {country: US}\n",
            "    holidays: {country: US}\n    open:\n"
            "      - {date: 2026-12-26, hours: ['14:00-10:00']}\n",
            "14:00-10:00",
            "calendars.support.open[0].hours: '14:00-10:00' must end after it starts",
        ),
        (
            "    holidays: {country: US}\n",
            "    holidays: {country: US}\n    shut: []\n",
            "shut",
            "calendars.support.shut: unknown key 'shut'; use timezone, hours, holidays, closed, "
            "open",
        ),
    ],
)
def test_calendar_errors_name_the_key_at_fault(
    write: Write, old: str, new: str, needle: str, error: str
) -> None:
    text = edit(old, new)
    line = line_of(text, needle)
    if needle == "      - 2026-05-25\n      - ":
        line += 1
    assert refused(write, text) == [f"FILE:{line}: {error}"]


def test_a_calendar_key_must_be_a_key(write: Write) -> None:
    text = edit("  support:\n", "  Support Hours:\n").replace("calendar: support", "calendar: x")
    [error, *_] = refused(write, text)
    assert error.startswith(
        f"FILE:{line_of(text, 'Support Hours')}: calendars.Support Hours: 'Support Hours' is not "
        "a key"
    )


# --- SLA policies ----------------------------------------------------------------------------


def test_an_unknown_calendar_in_a_policy_names_the_line(write: Write) -> None:
    text = edit("calendar: support, within: 1h", "calendar: suport, within: 1h")
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'suport')}: sla_policies[0].first_response[0].calendar: unknown "
        "calendar 'suport'; known calendars: support"
    ]


def test_calendars_already_in_the_database_are_known(write: Write) -> None:
    from ceres.sla import services as sla_services

    sla_services.save_calendar(actor=None, key="always", spec={"timezone": "UTC", "hours": "all"})
    text = edit(
        "{within: 8h, clock: business, calendar: support}",
        "{within: 8h, clock: business, calendar: always}",
    )
    assert apply_path(write(text)).applied
    assert SlaPolicy.objects.get(key="default").targets["first_response"][0]["calendar"] == (
        "always"
    )


@pytest.mark.parametrize(
    ("within", "error"),
    [
        (
            "1.5h",
            "'1.5h' is not a duration such as 15m, 4h, 1h30m or 1d: whole numbers with d "
            "(24 hours), h or m, largest unit first, no spaces",
        ),
        ("30m4h", "'30m4h' is not a duration such as 15m, 4h, 1h30m or 1d: whole numbers"),
        ("4", "expected a duration such as 15m, 4h, 1h30m or 1d (with its unit), got the number 4"),
        ("0m", "must be longer than zero"),
        ("400d", "'400d' is longer than a year (366d)"),
        (
            "1d",
            "'1d' with clock: business would be 24 business hours a day (three 8-hour working "
            "days); write business hours, e.g. 8h for one 09:00-17:00 day",
        ),
    ],
)
def test_a_bad_duration_names_the_line(write: Write, within: str, error: str) -> None:
    text = edit("{within: 8h, clock: business", f"{{within: {within}, clock: business")
    [message] = refused(write, text)
    prefix = f"FILE:{line_of(text, f'within: {within},')}: sla_policies[1].first_response.within: "
    assert message.startswith(prefix + error)


def test_durations_parse_strictly() -> None:
    from ceres.core.durations import duration_seconds

    assert duration_seconds("15m") == 15 * 60
    assert duration_seconds("1h30m") == 90 * 60
    assert duration_seconds("1d") == 24 * 3600
    assert duration_seconds("2d4h") == 52 * 3600


def test_an_unknown_tier_lists_the_product_keys(write: Write) -> None:
    text = edit("{tier: premium}", "{tier: [premium, gold]}")
    text = edit(
        "  - {key: premium, name: Fleet Premium}\n",
        "  - {key: premium, name: Fleet Premium}\n  - {key: free, name: Free}\n",
        text,
    )
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'gold')}: sla_policies[0].match.tier[1]: unknown tier 'gold'; "
        "product keys: premium, free"
    ]


def test_match_values_come_from_the_known_sets(write: Write) -> None:
    text = edit("{tier: premium}", "{source: web, priority: [P1, P5], channel_kind: public}")
    line = line_of(text, "source: web")
    assert refused(write, text) == [
        f"FILE:{line}: sla_policies[0].match.source: unknown source 'web'; use slack, "
        "contact_form, email, api",
        f"FILE:{line}: sla_policies[0].match.priority[1]: unknown priority 'P5'; use P0, P1, "
        "P2, P3",
        f"FILE:{line}: sla_policies[0].match.channel_kind: unknown channel kind 'public'; use "
        "customer, community",
    ]


@pytest.mark.parametrize(
    ("old", "new", "needle", "error"),
    [
        (
            "{tier: premium}",
            "{tier: 3}",
            "tier: 3",
            "sla_policies[0].match.tier: expected text or a list of text, got the number 3 (put "
            "it in quotes to make it text)",
        ),
        (
            "{within: 8h, clock: business, calendar: support}",
            "8h",
            "first_response: 8h",
            "sla_policies[1].first_response: expected a rule (within, clock, calendar, when) or "
            "a list of rules, got the text '8h'",
        ),
        (
            "{within: 8h, clock: business, calendar: support}",
            "{within: 8h, clock: busines, calendar: support}",
            "busines",
            "sla_policies[1].first_response.clock: unknown clock 'busines'; use business, elapsed",
        ),
        (
            "{within: 8h, clock: business, calendar: support}",
            "{within: 8h, clock: business, calendar: support, whn: always}",
            "whn",
            "sla_policies[1].first_response.whn: unknown field 'whn'; did you mean 'when'? "
            "(fields here: within, clock, calendar, when)",
        ),
        (
            "      - {when: inside_hours, calendar: support, within: 1h, clock: elapsed}",
            "      - {when: inside_hours, calendar: support, within: 1h, clok: elapsed}",
            "clok",
            "sla_policies[0].first_response[0].clok: unknown field 'clok'; did you mean 'clock'? "
            "(fields here: within, clock, calendar, when)",
        ),
        (
            "{tier: premium}",
            "{tiers: premium}",
            "tiers",
            "sla_policies[0].match.tiers: unknown field 'tiers'; did you mean 'tier'? (fields "
            "here: source, category, tier, priority, channel_kind)",
        ),
        (
            '  thanks: "Thanks, {{requester_name}}!"',
            "  thanks: {bdy: Thanks}",
            "bdy",
            "saved_replies.thanks.bdy: unknown field 'bdy'; did you mean 'body'? (fields here: "
            "name, subject, body, category)",
        ),
        (
            "  - name: premium\n",
            "  - name: premium\n    warn_at: 0.8\n",
            "warn_at",
            "sla_policies[0].warn_at: expected a percentage such as 75%, got 0.8",
        ),
    ],
)
def test_shape_errors_name_the_field(
    write: Write, old: str, new: str, needle: str, error: str
) -> None:
    text = edit(old, new)
    errors = refused(write, text)
    assert errors[-1] == f"FILE:{line_of(text, needle)}: {error}"


def test_rules_that_need_a_calendar(write: Write) -> None:
    text = edit(
        "{within: 8h, clock: business, calendar: support}", "{within: 8h, clock: business}"
    ).replace("{when: outside_hours, calendar: support,", "{when: outside_hours,")
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'when: outside_hours')}: sla_policies[0].first_response[1]."
        "calendar: is required with when: outside_hours (whose hours?)",
        f"FILE:{line_of(text, 'within: 8h')}: sla_policies[1].first_response.calendar: is "
        "required with clock: business (whose business hours?)",
    ]


def test_a_target_that_starts_no_clock_for_part_of_the_day(write: Write) -> None:
    text = edit(
        "      - {when: outside_hours, calendar: support, within: 4h, clock: elapsed}\n", ""
    )
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'first_response:')}: sla_policies[0].first_response: starts a "
        "clock only for messages received inside support hours: add a rule for the other "
        "case, or one with when: always"
    ]


def test_a_rule_that_can_never_apply(write: Write) -> None:
    text = edit(
        "      - {when: outside_hours, calendar: support, within: 4h, clock: elapsed}\n",
        "      - {when: outside_hours, calendar: support, within: 4h, clock: elapsed}\n"
        "      - {within: 2h, clock: elapsed}\n",
    )
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'within: 2h')}: sla_policies[0].first_response[2]: never "
        "applies: the rules before it cover every message"
    ]


def test_a_policy_after_the_default_never_applies(write: Write) -> None:
    default = (
        "  - name: default\n    first_response: {within: 8h, clock: business, calendar: support}\n"
    )
    text = edit(default, "").replace("sla_policies:\n", "sla_policies:\n" + default)
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'name: premium')}: sla_policies[1]: never applies: policy "
        "'default' before it matches every conversation (the first match wins; put the default "
        f"last) (sla_policies[0], line {line_of(text, 'name: default')})"
    ]


def test_policy_names_roles_statuses_and_targets(write: Write) -> None:
    text = edit(
        "  - name: default\n    first_response: {within: 8h, clock: business, calendar: support}\n",
        "  - name: premium\n    match: {source: email}\n    escalate_to: vp\n"
        "    pause_on: [waiting_on_customer, closed]\n",
    )
    second = line_of(text, "source: email") - 1
    assert refused(write, text) == [
        f"FILE:{second}: sla_policies[1].name: policy name 'premium' is used twice "
        f"(sla_policies[0], line {line_of(text, 'name: premium')})",
        f"FILE:{second}: sla_policies[1]: needs at least one target: first_response, "
        "next_response, resolution",
        f"FILE:{line_of(text, 'escalate_to')}: sla_policies[1].escalate_to: unknown role 'vp'; "
        "known roles: cse, engineer",
        f"FILE:{line_of(text, 'pause_on')}: sla_policies[1].pause_on[1]: unknown status "
        "'closed'; a clock can pause on waiting_on_customer, on_hold",
    ]


# --- saved replies ---------------------------------------------------------------------------


def test_a_saved_reply_variable_must_be_one_the_service_fills(write: Write) -> None:
    text = edit("Thanks, {{requester_name}}!", "Thanks, {{ Requester Name }}!")
    text = edit("  thanks:", "  welcome: {body: Hi, subject: 'Hello {{name'}\n  thanks:", text)
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'welcome')}: saved_replies.welcome.subject: '{{{{name' is not "
        "closed; a variable is written {{position_title}}",
        f"FILE:{line_of(text, 'thanks:')}: saved_replies.thanks.body: '{{{{ Requester Name }}}}' "
        "is not a variable: use lower-case letters, digits and underscores, e.g. "
        "{{position_title}}",
    ]


def test_a_saved_reply_needs_a_key_and_a_body(write: Write) -> None:
    text = edit(
        '  thanks: "Thanks, {{requester_name}}!"\n',
        "  empty: {name: Empty, body: '  '}\n  Bad Key: Hello\n",
    )
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'empty:')}: saved_replies.empty.body: must not be empty",
        f"FILE:{line_of(text, 'Bad Key')}: saved_replies.Bad Key: 'Bad Key' is not a key: use "
        "lower-case letters, digits and dashes (at most 50 characters), e.g. 'premium-mdm'",
    ]

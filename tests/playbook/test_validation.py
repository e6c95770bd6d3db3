"""Playbooks that are refused: each problem names the file, the line and the field."""

from __future__ import annotations

import pytest

from ceres.playbook.errors import PlaybookError
from ceres.playbook.models import PlaybookApplication
from ceres.playbook.services import apply_path
from ceres.team import services as team_services
from ceres.team.models import Role
from tests.playbook.conftest import MINIMAL, Write, line_of

pytestmark = pytest.mark.django_db


def refused(write: Write, text: str, *, dry_run: bool = False) -> list[str]:
    path = write(text)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path, dry_run=dry_run)
    assert not PlaybookApplication.objects.exists()
    assert not Role.objects.exists()
    return [error.replace(f"{path}:", "FILE:") for error in caught.value.errors]


def test_a_typo_in_a_role_names_the_line_and_the_known_roles(write: Write) -> None:
    text = MINIMAL.replace("role: engineer,", "role: enginer,")
    line = line_of(text, "role: enginer")
    assert refused(write, text) == [
        f"FILE:{line}: people[1].role: unknown role 'enginer'; known roles: cse, engineer"
    ]


def test_roles_already_in_the_database_are_known(write: Write, roles: dict[str, Role]) -> None:
    text = MINIMAL.replace("role: engineer,", "role: vp-c,")
    path = write(text)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert caught.value.errors == [
        f"{path}:{line_of(text, 'vp-c,')}: people[1].role: unknown role 'vp-c'; "
        "known roles: cse, engineer, vp-cs"
    ]


def test_an_unknown_field_is_named_with_its_line_and_a_suggestion(write: Write) -> None:
    text = MINIMAL.replace("username: sam}", "username: sam, githb: samengel}")
    [error] = refused(write, text)
    assert error.startswith(
        f"FILE:{line_of(text, 'githb')}: people[1].githb: unknown field 'githb'; "
        "did you mean 'github'? (fields here: name, role, email, username, github,"
    )


def test_an_unknown_section_lists_the_sections(write: Write) -> None:
    text = MINIMAL + "peeple: []\n"
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'peeple')}: peeple: unknown section 'peeple'; did you mean "
        "'people'? (sections here: version, organization, roles, people, products, checklists, "
        "calendars, sla_policies, saved_replies, automations, channels, bug_workflow, rotations, "
        "escalation_chains)"
    ]


def test_sections_of_later_releases_are_refused_not_ignored(write: Write) -> None:
    text = MINIMAL + "rituals: []\nonboarding: {cse: [Read the handbook]}\n"
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'rituals')}: rituals: section 'rituals' is not supported yet by "
        "this version of Ceres; remove it (rituals will be supported by a later release)",
        f"FILE:{line_of(text, 'onboarding')}: onboarding: section 'onboarding' is not supported "
        "yet by this version of Ceres; remove it (onboarding checklists will be supported by a "
        "later release)",
    ]


def test_a_bad_time_zone(write: Write) -> None:
    text = MINIMAL.replace("timezone: UTC", "timezone: America/Chicgo")
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'Chicgo')}: people[0].timezone: unknown IANA time zone "
        "'America/Chicgo', e.g. America/Chicago or Europe/Berlin"
    ]


def test_a_duplicate_email_ignores_case(write: Write) -> None:
    text = MINIMAL.replace("email: sam@example.com", "email: Lena@Example.com")
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'Lena@Example')}: people[1].email: e-mail address "
        f"'lena@example.com' is used twice (people[0], line {line_of(text, 'lena@')})"
    ]


def test_a_duplicate_github_login_ignores_case(write: Write) -> None:
    text = MINIMAL.replace("username: lena,", "username: lena, github: RaviMenon,").replace(
        "username: sam}", "username: sam, github: ravimenon}"
    )
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'ravimenon')}: people[1].github: GitHub login 'ravimenon' is "
        f"used twice (people[0], line {line_of(text, 'RaviMenon')})"
    ]


def test_a_github_login_of_someone_outside_the_playbook(
    write: Write, roles: dict[str, Role]
) -> None:
    team_services.create_person(
        actor=None, name="Ravi", email="ravi@example.com", role="cse", github_login="RaviMenon"
    )
    text = MINIMAL.replace("username: sam}", "username: sam, github: ravimenon}")
    path = write(text)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert caught.value.errors == [
        f"{path}:{line_of(text, 'ravimenon')}: people[1].github: GitHub login 'ravimenon' "
        "belongs to ravi@example.com, who is not in the playbook"
    ]


def test_two_new_people_would_get_the_same_login(write: Write) -> None:
    text = MINIMAL.replace("email: sam@example.com, username: sam", "email: lena@example.org")
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'lena@example.org')}: people[1].email: username 'lena' would be "
        f"given twice; give this person a `username` (people[0], line {line_of(text, 'Lena')})"
    ]


def test_a_phone_written_as_a_number_asks_for_quotes(write: Write) -> None:
    text = MINIMAL.replace("username: sam}", "username: sam, phone: +15555550100}")
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'phone')}: people[1].phone: expected text, got the number "
        "15555550100 (put it in quotes to make it text)"
    ]


def test_an_unknown_permission_suggests_the_right_one(write: Write) -> None:
    text = MINIMAL.replace("[accounts.view_confidential]", "[accounts.view_confidental]")
    assert refused(write, text) == [
        "FILE:3: roles[0].permissions[0]: unknown permission 'accounts.view_confidental'; "
        "did you mean 'accounts.view_confidential'?"
    ]


def test_permissions_of_later_releases_cannot_be_granted_yet(write: Write) -> None:
    text = MINIMAL.replace("permissions: []", "permissions: [oncall.manage]")
    [error] = refused(write, text)
    assert error.startswith("FILE:4: roles[1].permissions[0]: unknown permission 'oncall.manage'")


def test_working_hours_name_the_weekday_line(write: Write) -> None:
    text = MINIMAL.replace(
        "username: sam}",
        "username: sam,\n     working_hours: {mon: [09:00-17:00],\n"
        "                     tue: [17:00-09:00]}}",
    )
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'tue:')}: people[1].working_hours.tue: '17:00-09:00' must end "
        "after it starts"
    ]


def test_keys_must_be_slugs_and_names_unique(write: Write) -> None:
    text = MINIMAL.replace("{key: premium,", "{key: Premium Tier,") + (
        "  - {key: premium-2, name: Fleet Premium}\n"
    )
    errors = refused(write, text)
    assert errors[0].startswith(
        f"FILE:{line_of(text, 'Premium Tier')}: products[0].key: 'Premium Tier' is not a key"
    )
    assert len(errors) == 1  # the duplicate name is checked once the shape is right


def test_a_duplicate_product_name(write: Write) -> None:
    text = MINIMAL + "  - {key: premium-2, name: Fleet  Premium}\n"
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'premium-2')}: products[1].name: product name 'Fleet Premium' is "
        f"used twice (products[0], line {line_of(text, 'key: premium,')})"
    ]


def test_the_version_is_checked(write: Write) -> None:
    assert refused(write, MINIMAL.replace("version: 1", "version: 2")) == [
        "FILE:1: version: this Ceres reads playbook version 1, not 2"
    ]
    assert refused(write, MINIMAL.replace("version: 1\n", "")) == [
        "FILE:1: version: is required but missing"
    ]


def test_checklist_steps_must_be_text_or_text_with_steps(write: Write) -> None:
    text = MINIMAL + (
        "checklists:\n"
        "  invite-new-customer-dri:\n"
        "    name: Invite new customer DRI\n"
        "    steps:\n"
        "      - Get an introduction: names, roles\n"
        "      - 42\n"
    )
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'Get an')}: checklists.invite-new-customer-dri.steps[0]: this "
        "step reads as 'key: value'; put text that contains ': ' in quotes",
        f"FILE:{line_of(text, '42')}: checklists.invite-new-customer-dri.steps[1]: a step is "
        "text, or a mapping with 'text' and 'steps' (put text that contains ': ' in quotes)",
    ]


def test_unknown_checklists_are_refused(write: Write) -> None:
    text = MINIMAL + "checklists:\n  onboard-cse: {name: Onboard, steps: [Read the handbook]}\n"
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'onboard-cse')}: checklists.onboard-cse: unknown checklist "
        "'onboard-cse'; Ceres runs: invite-new-customer-dri"
    ]


def test_every_problem_is_reported_at_once_in_file_order(write: Write) -> None:
    text = (
        MINIMAL.replace("timezone: UTC", "timezone: Mars/Base")
        .replace("{key: premium,", "{key: premium, tier: 2,")
        .replace("role: engineer,", "role: engineer, slack: C0CHANNEL,")
    )
    errors = refused(write, text)
    assert [error.split(": ")[1] for error in errors] == [
        "people[0].timezone",
        "people[1].slack",
        "products[0].tier",
    ]


def test_a_dry_run_checks_the_same(write: Write) -> None:
    text = MINIMAL.replace("role: engineer,", "role: enginer,")
    assert "unknown role 'enginer'" in refused(write, text, dry_run=True)[0]


def test_a_missing_file(write: Write) -> None:
    path = write(MINIMAL).with_name("nope.yaml")
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert caught.value.errors == [f"{path}: no such file"]

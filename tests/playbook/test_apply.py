"""Applying playbooks: the diff, idempotence, all-or-nothing, and what is kept."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from ceres.accounts import services as account_services
from ceres.accounts.models import ChecklistTemplate, Product
from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Conflict
from ceres.playbook import selectors
from ceres.playbook.errors import PlaybookError
from ceres.playbook.models import PlaybookApplication
from ceres.playbook.services import DEMO_PLAYBOOK, apply_path
from ceres.team import services as team_services
from ceres.team.models import Person, Role
from tests.playbook.conftest import MINIMAL, Write, line_of

pytestmark = pytest.mark.django_db

HANDBOOK_ROLES = [
    "vp-cs",
    "infra",
    "evangelist",
    "support-manager",
    "csa",
    "csm",
    "cse",
    "product-designer",
    "solutions-director",
    "head-of-people",
    "engineer",
]


def user(username: str) -> Person:
    return Person.objects.select_related("user", "role").get(user__username=username)


def test_the_demo_playbook_applies_cleanly_and_a_second_apply_changes_nothing() -> None:
    assert not selectors.is_applied()
    first = apply_path(DEMO_PLAYBOOK)
    assert first.applied
    assert first.unchanged == 0
    assert first.changes[:2] == [
        "+ organization: Example Vendor Inc. (product Fleet)",
        "+ role vp-cs: VP of Customer Success",
    ]
    assert "+ person ravi@example.com: Ravi Menon (infra)" in first.changes
    assert list(Role.objects.values_list("key", flat=True)) == HANDBOOK_ROLES
    assert Person.objects.count() >= 16
    assert set(Person.objects.values_list("role__key", flat=True)) == set(HANDBOOK_ROLES)
    assert list(Product.objects.values_list("key", "name")) == [
        ("free", "Fleet Free"),
        ("premium", "Fleet Premium"),
        ("premium-mdm", "Fleet Premium MDM"),
    ]
    organization = selectors.organization()
    assert organization is not None
    assert (organization.name, organization.product_name) == ("Example Vendor Inc.", "Fleet")
    assert selectors.is_applied()

    second = apply_path(DEMO_PLAYBOOK)
    assert second.changes == []
    assert second.kept == []
    assert second.unchanged == len(first.changes)
    assert PlaybookApplication.objects.count() == 2


def test_demo_people_and_their_permissions() -> None:
    apply_path(DEMO_PLAYBOOK)
    ada, lena, sam = user("ada"), user("lena"), user("sam")
    assert (ada.role.key, lena.role.key, sam.role.key) == ("vp-cs", "cse", "engineer")
    for person in (ada, lena, sam):
        assert not person.user.has_usable_password()
    assert ada.user.has_perm("accounts.view_confidential")
    assert ada.user.has_perm("team.change_person")
    assert lena.user.has_perm("accounts.view_confidential")
    assert lena.user.has_perm("accounts.change_contact")
    assert not lena.user.has_perm("team.change_person")
    assert not sam.user.has_perm("accounts.view_confidential")
    ravi = Person.objects.get(email="ravi@example.com")
    assert ravi.github_login == "RaviMenon"
    assert ravi.phone == "+15555550101"
    assert ravi.timezone == "America/New_York"
    assert ravi.working_hours["mon"] == ["09:00-17:00"]
    assert "sat" not in ravi.working_hours


def test_the_demo_checklist_has_the_handbook_steps_nested_once() -> None:
    apply_path(DEMO_PLAYBOOK)
    template = ChecklistTemplate.objects.get(key=account_services.INVITE_NEW_DRI)
    assert template.name == "Invite new customer DRI"
    depths = [step.get("depth", 0) for step in template.steps]
    assert depths == [0, 0, 0, 0, 1, 1, 1, 1]
    assert template.steps[1] == {"text": "Make sure they're in the Slack channel"}
    assert account_services.dri_steps() == template.steps


def test_a_dry_run_changes_nothing() -> None:
    result = apply_path(DEMO_PLAYBOOK, dry_run=True)
    assert not result.applied
    assert "+ role cse: Customer Support Engineer" in result.changes
    assert not Role.objects.exists()
    assert not Person.objects.exists()
    assert not Product.objects.exists()
    assert not AuditEntry.objects.exists()
    assert not selectors.is_applied()
    # The dry run lists exactly what the apply then does.
    assert apply_path(DEMO_PLAYBOOK).changes == result.changes


def test_changes_are_described_field_by_field(write: Write, demo_text: str) -> None:
    apply_path(DEMO_PLAYBOOK)
    edited = (
        demo_text.replace(
            "    github: lpark\n    slack: U0LENCSE1\n",
            "    github: lena-park\n    slack: U0LENCSE1\n",
        )
        .replace(
            'timezone: America/Chicago\n    working_hours:\n      mon: ["08:00',
            'timezone: UTC\n    working_hours:\n      mon: ["08:00',
        )
        .replace(
            "      - oncall.delete_scheduleoverride\n  - key: evangelist",
            "      - oncall.delete_scheduleoverride\n      - accounts.add_contact\n"
            "  - key: evangelist",
        )
        .replace("{key: premium, name: Fleet Premium}", "{key: premium, name: Fleet Premium+}")
    )
    result = apply_path(write(edited), dry_run=True)
    assert result.changes == [
        "~ role infra: permissions +accounts.add_contact",
        "~ person lena@example.com: github lpark -> lena-park; timezone America/Chicago -> UTC",
        "~ product premium: name 'Fleet Premium' -> 'Fleet Premium+'",
    ]
    assert result.unchanged == 47  # 30 of the team and products, 8 of calendars, SLAs, replies,
    # 1 automation, 1 community channel, 2 trackers, 1 bug workflow, 3 rotations, 1 chain
    applied = apply_path(write(edited))
    assert applied.changes == result.changes
    lena = Person.objects.get(email="lena@example.com")
    assert (lena.github_login, lena.timezone) == ("lena-park", "UTC")


def test_what_the_playbook_no_longer_lists_is_kept(write: Write) -> None:
    apply_path(write(MINIMAL + "  - {key: free, name: Fleet Free}\n"))
    smaller = MINIMAL.replace(
        "  - {name: Sam Engel, role: engineer, email: sam@example.com, username: sam}\n", ""
    )
    result = apply_path(write(smaller))
    assert result.changes == []
    assert result.kept == [
        "  person sam@example.com: not in playbook, kept",
        "  product free: not in playbook, kept",
    ]
    assert result.report()[-1] == "= 4 unchanged"
    assert Person.objects.filter(email="sam@example.com", is_active=True).exists()
    assert Product.objects.filter(key="free").exists()


def test_fields_left_out_are_kept_and_empty_values_clear(write: Write) -> None:
    apply_path(write(MINIMAL.replace("username: sam}", "username: sam, phone: '+15555550100'}")))
    assert apply_path(write(MINIMAL)).changes == []  # phone left out: not managed
    assert Person.objects.get(email="sam@example.com").phone == "+15555550100"
    cleared = apply_path(write(MINIMAL.replace("username: sam}", "username: sam, phone: ''}")))
    assert cleared.changes == ["~ person sam@example.com: phone +15555550100 -> (none)"]
    assert Person.objects.get(email="sam@example.com").phone == ""


def test_working_hours_are_compared_as_stored(write: Write) -> None:
    text = MINIMAL.replace(
        "username: sam}", "username: sam, working_hours: {mon: '09:00-17:00', sat: []}}"
    )
    first = apply_path(write(text))
    assert Person.objects.get(email="sam@example.com").working_hours == {
        "mon": ["09:00-17:00"],
        "sat": [],
    }
    assert apply_path(write(text)).changes == []
    changed = apply_path(write(text.replace("sat: []", "tue: ['09:00-12:00', '13:00-17:00']")))
    assert changed.changes == [
        "~ person sam@example.com: working_hours mon 09:00-17:00, sat closed -> "
        "mon 09:00-17:00, tue 09:00-12:00 13:00-17:00"
    ]
    assert "+ person sam@example.com: Sam Engel (engineer)" in first.changes


def test_a_person_can_be_deactivated_not_deleted(write: Write) -> None:
    apply_path(write(MINIMAL))
    result = apply_path(write(MINIMAL.replace("username: sam}", "username: sam, active: false}")))
    assert result.changes == ["~ person sam@example.com: active yes -> no"]
    sam = user("sam")
    assert not sam.is_active
    assert not sam.user.is_active


def test_the_playbook_updates_roles_made_elsewhere(write: Write, roles: dict[str, Role]) -> None:
    result = apply_path(write(MINIMAL), dry_run=True)
    assert result.changes[0] == (
        "~ role cse: permissions -accounts.add_account -accounts.add_contact "
        "-accounts.change_account -accounts.change_contact "
        "-conversations.add_conversation -conversations.add_message "
        "-conversations.change_conversation -conversations.view_conversation "
        "-tracker.add_trackerissue -tracker.change_trackerissue -tracker.view_trackerissue"
    )
    assert result.changes[1] == "~ role engineer: position 0 -> 1"
    assert result.kept == ["  role vp-cs: not in playbook, kept"]


def test_writes_are_audited_and_the_application_recorded(write: Write) -> None:
    path = write(MINIMAL)
    result = apply_path(path)
    actions = sorted(AuditEntry.objects.values_list("action", flat=True))
    assert actions == ["person.create"] * 2 + ["product.create"] + ["role.create"] * 2
    assert set(AuditEntry.objects.values_list("actor_label", flat=True)) == {"playbook"}
    application = PlaybookApplication.objects.get()
    assert application.source == str(Path(path).resolve())
    assert application.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert application.version == 1
    assert application.changes == result.changes


def test_a_username_is_set_only_when_the_person_is_created(write: Write) -> None:
    apply_path(write(MINIMAL))
    path = write(MINIMAL.replace("username: sam}", "username: samuel}"))
    result = apply_path(path)
    assert result.changes == []
    assert result.warnings == [
        f"{path}:{line_of(MINIMAL, 'username: sam}')}: people[1].username: kept 'sam': the "
        "playbook sets a username only when it creates the person (warning)"
    ]


def test_a_taken_username_is_refused_before_anything_is_written(
    write: Write, roles: dict[str, Role]
) -> None:
    get_user_model().objects.create_user(username="lena")
    path = write(MINIMAL)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert caught.value.errors == [
        f"{path}:{line_of(MINIMAL, 'Lena Park')}: people[0].username: username 'lena' is taken; "
        "choose another"
    ]


def test_an_error_found_while_writing_rolls_everything_back(write: Write) -> None:
    """Swapping two GitHub logins passes every check (the end state is valid) but the first
    update meets the other person's login: the apply stops and nothing stays written."""
    first = MINIMAL.replace("username: lena,", "username: lena, github: alpha,").replace(
        "username: sam}", "username: sam, github: beta}"
    )
    apply_path(write(first))
    audit_rows = AuditEntry.objects.count()
    swapped = (
        first.replace("github: alpha", "github: beta")
        .replace("github: beta}", "github: alpha}")
        .replace("permissions: []", "permissions: [accounts.view_confidential]")
        .replace(
            "{key: premium, name: Fleet Premium}",
            "{key: premium, name: Fleet Premium}\n  - {key: free, name: Fleet Free}",
        )
    )
    path = write(swapped)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert caught.value.errors == [
        f"{path}:{line_of(MINIMAL, 'Lena Park')}: people[0].github: GitHub login 'beta' "
        "belongs to another person"
    ]
    assert not Role.objects.get(key="engineer").group.permissions.exists()
    assert list(Person.objects.values_list("github_login", flat=True)) == ["alpha", "beta"]
    assert not Product.objects.filter(key="free").exists()
    assert AuditEntry.objects.count() == audit_rows
    assert PlaybookApplication.objects.count() == 1


def test_a_refusal_from_the_last_write_leaves_nothing_behind(
    write: Write, demo_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: object) -> None:
        raise Conflict("this template is locked", field="name")

    monkeypatch.setattr(account_services, "save_checklist_template", refuse)
    path = write(demo_text)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert caught.value.errors == [
        f"{path}:{line_of(demo_text, '    name: Invite new')}: "
        "checklists.invite-new-customer-dri.name: this template is locked"
    ]
    assert not Role.objects.exists()
    assert not Person.objects.exists()
    assert not get_user_model().objects.exists()
    assert not Product.objects.exists()
    assert not AuditEntry.objects.exists()
    assert not selectors.is_applied()


def test_existing_people_are_matched_by_email(write: Write, roles: dict[str, Role]) -> None:
    team_services.create_person(
        actor=None, name="Lena P.", email="lena@example.com", role="cse", username="lena"
    )
    result = apply_path(write(MINIMAL), dry_run=True)
    assert "~ person lena@example.com: name 'Lena P.' -> 'Lena Park'" in result.changes
    assert "+ person sam@example.com: Sam Engel (engineer)" in result.changes

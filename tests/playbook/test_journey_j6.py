"""J6 step 1: an operator adds a person and a rotation to the playbook, reads the dry-run diff,
applies it. A typo in the role name is refused with the file, the line and the known role
names."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ceres.oncall.models import OnCallSchedule
from ceres.playbook.services import DEMO_PLAYBOOK, apply_path
from ceres.team.models import Person
from tests.playbook.conftest import Write, line_of

pytestmark = pytest.mark.django_db

NEW_PERSON = (
    "  - {name: Noor Haddad, role: %s, email: noor@example.com, github: noorh,\n"
    "     slack: U0NOORCSE, phone: '+15555550199', timezone: Europe/Berlin}\n"
)


NEW_ROTATION = (
    "  weekend-triage:\n"
    "    name: Weekend triage\n"
    "    people: [Noor Haddad, Lena Park]\n"
    "    every: 1w\n"
    '    handoff: "sat 09:00 Europe/Berlin"\n'
)


def with_new_person(demo_text: str, role: str) -> str:
    return demo_text.replace("\npeople:\n", "\npeople:\n" + NEW_PERSON % role, 1)


def with_new_rotation(demo_text: str) -> str:
    return demo_text.replace("\nrotations:\n", "\nrotations:\n" + NEW_ROTATION, 1)


def test_adding_a_support_engineer(write: Write, demo_text: str) -> None:
    apply_path(DEMO_PLAYBOOK)

    typo = with_new_person(demo_text, "cs")
    typo_path = write(typo, "typo.yaml")
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("apply", str(typo_path), "--dry-run", stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 2
    assert err.getvalue().splitlines() == [
        f"{typo_path}:{line_of(typo, 'Noor Haddad')}: people[0].role: unknown role 'cs'; "
        "known roles: vp-cs, infra, evangelist, support-manager, csa, csm, cse, "
        "product-designer, solutions-director, head-of-people, engineer"
    ]

    path = write(with_new_rotation(with_new_person(demo_text, "cse")))
    out = StringIO()
    call_command("apply", str(path), "--dry-run", stdout=out)
    assert out.getvalue().splitlines() == [
        "+ person noor@example.com: Noor Haddad (cse)",
        # the new rotation names the new person: it is written after her
        "+ rotation weekend-triage: Weekend triage; Noor Haddad, Lena Park every 1w, handoff "
        "sat 09:00 Europe/Berlin, 24/7",
        # premium support's business-hours layer is everyone active in the role cse, by id
        "~ rotation premium-support: layer 1 people Lena Park, Ben Adler, Kofi Mensah -> "
        "Lena Park, Ben Adler, Kofi Mensah, Noor Haddad",
        "= 49 unchanged",  # 43, the bug workflow, the two trackers, 2 rotations and the chain
        f"{path}: dry run, 3 changes not applied",
    ]
    assert not Person.objects.filter(email="noor@example.com").exists()

    out = StringIO()
    call_command("apply", str(path), stdout=out)
    assert out.getvalue().splitlines()[-1] == f"{path}: applied 3 changes"
    noor = Person.objects.select_related("user", "role").get(email="noor@example.com")
    top_layer = OnCallSchedule.objects.get(key="premium-support").layers.get(position=1)
    assert top_layer.people[-1] == noor.pk
    triage = OnCallSchedule.objects.get(key="weekend-triage")
    assert triage.layers.get().people == [noor.pk, Person.objects.get(name="Lena Park").pk]
    assert noor.role.key == "cse"
    assert noor.user.get_username() == "noor"
    assert (noor.github_login, noor.timezone) == ("noorh", "Europe/Berlin")
    assert noor.user.has_perm("accounts.view_confidential")
    assert noor.user.has_perm("accounts.change_contact")
    assert not noor.user.has_perm("team.change_person")
    assert not noor.user.has_usable_password()


def test_new_support_engineer_sees_codenames_only_and_the_vp_real_names(
    write: Write, demo_text: str
) -> None:
    import json

    from django.test import Client

    from ceres.accounts.services import create_account
    from ceres.team.services import create_api_token

    apply_path(DEMO_PLAYBOOK)
    newcomer = NEW_PERSON % "cse"
    newcomer = newcomer.replace("}\n", ",\n     withhold: [accounts.view_confidential]}\n")
    path = write(demo_text.replace("\npeople:\n", "\npeople:\n" + newcomer, 1))
    out = StringIO()
    call_command("apply", str(path), stdout=out)
    create_account(actor=None, legal_name="Acme Robotics", codename="Kamo`oalewa")

    def accounts_seen_by(username: str) -> list[dict[str, object]]:
        person = Person.objects.select_related("user").get(user__username=username)
        _, token = create_api_token(actor=None, user=person.user, name="j6")
        body = Client().get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {token}")
        items: list[dict[str, object]] = json.loads(body.content)["items"]
        return items

    [seen_by_noor] = accounts_seen_by("noor")
    assert seen_by_noor["name"] == "Kamo`oalewa"
    assert seen_by_noor["legal_name"] is None
    [seen_by_vp] = accounts_seen_by("ada")
    assert seen_by_vp["name"] == "Acme Robotics"

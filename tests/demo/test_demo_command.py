from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ceres.accounts.models import Account
from ceres.conversations.models import Conversation
from ceres.team.models import Person


def test_demo_loads_playbook_accounts_and_conversations(db: None) -> None:
    call_command("demo", accounts=30, conversations=12, seed=3, no_progress=True)
    assert Account.objects.count() == 30
    assert Conversation.objects.count() == 12
    ada = Person.objects.select_related("user").get(user__username="ada")
    assert ada.user.check_password("ceres-demo")
    names = sorted(Account.objects.values_list("legal_name", flat=True))
    Account.objects.all().delete()
    call_command("demo", accounts=30, seed=3, no_progress=True)
    assert sorted(Account.objects.values_list("legal_name", flat=True)) == names


@pytest.mark.parametrize("option", ["accounts", "conversations"])
def test_out_of_range_counts_exit_2_before_writing(db: None, option: str) -> None:
    with pytest.raises(CommandError) as exc:
        call_command("demo", **{option: -1}, no_progress=True)
    assert exc.value.returncode == 2
    assert option in str(exc.value)
    assert not Person.objects.exists()

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


def test_demo_issues_cover_every_stage(db: None) -> None:
    from ceres.tracker import escalation
    from ceres.tracker.feature_requests import stage_of
    from ceres.tracker.models import FeatureRequest, TrackerIssue

    call_command("demo", accounts=30, seed=3, issues=True, no_progress=True)
    bugs = list(TrackerIssue.objects.filter(kind="bug"))
    assert len(bugs) == 6
    stages = {escalation.stage(issue) for issue in bugs}
    assert stages == {"incoming", "investigating", "product"}
    requests = list(FeatureRequest.objects.select_related("issue"))
    assert len({stage_of(r, r.issue) for r in requests}) == 3

"""J3, the customer bug (shared/JOURNEYS.md), as a whole, through the pages people use: the
applied demo playbook (its support calendar counts the stand-up board's business days), the
bug report form from Acme's conversation, duplicate search as the title is typed, the
confidentiality firewall, escalation, the stand-up board and its acknowledgement, the periodic
job that takes `~investigate` off on the second business day, QA's verdict and Acme's status
page. It runs twice: on the built-in tracker, and on GitHub (the fake, through githubkit), where
every label and comment reaches GitHub through the outbox and QA's `:product`, added on GitHub,
comes back by a signed webhook."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings

from ceres.accounts import services as account_services
from ceres.accounts.models import Account
from ceres.conversations import services as conversation_services
from ceres.core.periodic.registry import load_jobs
from ceres.core.periodic.services import run_due_jobs
from ceres.playbook.services import DEMO_PLAYBOOK, apply_path
from ceres.team.models import Person
from ceres.tracker import selectors
from ceres.tracker.config import save_trackers
from ceres.tracker.models import IssueComment, TrackerIssue
from tests.fakes.github import GitHubFake
from tests.github.test_tracker_backend import (
    OWNER,
    REPO,
    fake_labels,
    issue_payload,
    set_up_github,
    webhook,
    work,
)
from tests.tracker.conftest import FORM

pytestmark = pytest.mark.django_db

CHICAGO = datetime.timezone(datetime.timedelta(hours=-6))
MONDAY_1100 = datetime.datetime(2026, 11, 30, 11, 0, tzinfo=CHICAGO)


@pytest.fixture(params=["builtin", "github"])
def world(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> dict[str, Any]:
    apply_path(DEMO_PLAYBOOK)
    github: GitHubFake | None = None
    if request.param == "github":
        github = set_up_github(request.getfixturevalue("github_fake"), settings)
        # The playbook says where the trackers are (the demo: built-in); a real install's says
        # GitHub.
        save_trackers(
            actor=None,
            public=f"github:{OWNER}/{REPO}",
            confidential=f"github:{OWNER}/confidential",
        )
    lena = Person.objects.get(user__username="lena")
    acme = account_services.create_account(
        actor=lena.user,
        legal_name="Acme Robotics",
        aliases=["Acme"],  # what everyone calls them
        codename="Kamo`oalewa",
        product="premium",
    )
    conversation = conversation_services.open_conversation(
        actor=None,
        source="slack",
        subject="Hosts go offline after upgrading the agent",
        body="Since this morning a third of our hosts are offline.",
        account=acme,
    )
    # An older, different issue: similar words, not the same bug.
    from ceres.tracker import services

    services.open_issue(
        actor=None,
        repository=selectors.repository("public"),
        title="Hosts page is slow to load",
        body="The hosts page takes 20 seconds with 10,000 hosts.",
        kind=TrackerIssue.Kind.BUG,
        labels=["bug"],
    )
    clock = {"now": MONDAY_1100}
    monkeypatch.setattr("django.utils.timezone.now", lambda: clock["now"])
    work()
    return {
        "lena": lena,
        "acme": acme,
        "conversation": conversation,
        "clock": clock,
        "github": github,
    }


def on_github(world: dict[str, Any], number: int = 2) -> list[str]:
    """After the outbox worker ran: the labels GitHub has (the mirror's, on the built-in one)."""
    work()
    github: GitHubFake | None = world["github"]
    if github is None:
        issue = TrackerIssue.objects.get(bug_report__account=world["acme"])
        return selectors.labels_of(selectors.get_issue(issue.pk))
    return fake_labels(github, number)


def test_j3_the_customer_bug(client: Client, world: dict[str, Any]) -> None:
    lena: Person = world["lena"]
    acme: Account = world["acme"]
    conversation = world["conversation"]
    clock = world["clock"]
    github: GitHubFake | None = world["github"]
    client.force_login(lena.user)

    # 1. From Acme's conversation: the form, which refuses to file without the required fields.
    page = client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert f"/tracker/file/?conversation={conversation.pk}" in page
    form = client.get(f"/tracker/file/?conversation={conversation.pk}")
    assert form.status_code == 200
    assert "Hosts go offline after upgrading the agent" in form.content.decode()
    incomplete = client.post(
        "/tracker/file/",
        {"conversation": conversation.pk, "title": "Hosts go offline after agent upgrade"},
    )
    assert incomplete.status_code == 422
    assert incomplete.content.decode().count("Required by the handbook.") == 8

    # 2. While the title is typed, similar issues are listed; none is the same one.
    similar = client.get(
        "/tracker/similar/",
        {"title": "hosts offline", "account": acme.pk, "conversation": conversation.pk},
    ).content.decode()
    assert "Hosts page is slow to load" in similar
    assert "Same issue: add Kamo`oalewa" in similar

    # 3. The first draft names Acme: blocked, and the word is shown. Then with the codename.
    draft = {
        **FORM,
        "conversation": conversation.pk,
        "actual_behavior": "Acme's fleet of 4,000 hosts goes offline after the upgrade.",
    }
    blocked = client.post("/tracker/file/", draft)
    assert blocked.status_code == 422
    assert "&#x27;Acme&#x27; at line 1, column 1" in blocked.content.decode()
    assert TrackerIssue.objects.filter(kind="bug").count() == 1  # only the older one
    draft["actual_behavior"] = "Kamo`oalewa's fleet of 4,000 hosts goes offline after the upgrade."
    filed = client.post("/tracker/file/", draft)
    assert filed.status_code == 302
    issue = TrackerIssue.objects.get(bug_report__account=acme)
    assert issue.repository.name == ("public" if github is None else f"{OWNER}/{REPO}")
    assert selectors.labels_of(issue) == [":incoming", ":reproduce", "bug", "customer-kamooalewa"]
    assert "Acme" not in issue.body
    assert "Acme" not in issue.title
    assert on_github(world) == [":incoming", ":reproduce", "bug", "customer-kamooalewa"]
    if github is not None:
        assert "Acme" not in str(github.issue(OWNER, REPO, 2))
        # The handbook's "provide a link to that issue for the customer".
        page = client.get(f"/tracker/{issue.pk}/").content.decode()
        assert f"https://github.com/{OWNER}/{REPO}/issues/2" in page

    # 4. Next morning the engineer escalates; the board lists it; the manager acknowledges.
    clock["now"] = datetime.datetime(2026, 12, 1, 9, 30, tzinfo=CHICAGO)
    assert client.post(f"/tracker/{issue.pk}/move/escalate/").status_code == 302
    labels = selectors.labels_of(selectors.get_issue(issue.pk))
    assert labels == [":help-customers", "bug", "customer-kamooalewa", "~investigate"]
    assert on_github(world) == labels
    manager = Person.objects.get(role__key="support-manager", name="Dario Ruiz")
    client.force_login(manager.user)
    board = client.get("/tracker/standup/").content.decode()
    assert issue.title in board
    assert "day 1 of 2" in board
    assert client.post(f"/tracker/{issue.pk}/acknowledge/", {"note": ""}).status_code == 302
    ack = IssueComment.objects.get(issue=issue)
    assert ack.author == manager
    assert ack.body.startswith("Acknowledged at the :help-customers stand-up (Dec 1)")
    if github is not None:
        work()
        (posted,) = github.comments(OWNER, REPO, 2)
        assert posted["body"].startswith("Acknowledged at the :help-customers stand-up")

    # 5. Wednesday, its second business day: on the board until the day closes, then the
    # periodic job takes ~investigate off and the issue asks for fresh logs.
    clock["now"] = datetime.datetime(2026, 12, 2, 10, 0, tzinfo=CHICAGO)
    run_due_jobs(now=clock["now"], jobs=load_jobs())
    assert "day 2 of 2" in client.get("/tracker/standup/").content.decode()
    clock["now"] = datetime.datetime(2026, 12, 2, 17, 3, tzinfo=CHICAGO)
    run_due_jobs(now=clock["now"], jobs=load_jobs())
    issue = selectors.get_issue(issue.pk)
    assert "~investigate" not in selectors.labels_of(issue)
    assert issue.title not in client.get("/tracker/standup/").content.decode().split("Came off")[0]
    asks = IssueComment.objects.filter(issue=issue).order_by("id").last()
    assert asks is not None
    assert "logs, reproduction steps and details" in asks.body
    assert "~investigate" not in on_github(world)
    if github is not None:
        assert "logs, reproduction steps" in github.comments(OWNER, REPO, 2)[-1]["body"]

    # 6. QA reproduces it: :product (in Ceres, or on GitHub: the webhook brings it back).
    # Acme's status page shows the bug and its state.
    client.force_login(lena.user)
    if github is None:
        assert client.post(f"/tracker/{issue.pk}/move/reproduced/").status_code == 302
    else:
        qa = github.client()
        qa.rest.issues.add_labels(OWNER, REPO, 2, labels=[":product"])
        webhook(client, "issues", issue_payload(github, "labeled", 2, sender="qa-person"))
    assert ":product" in selectors.labels_of(selectors.get_issue(issue.pk))
    status = client.get(f"/accounts/{acme.pk}/status/").content.decode()
    assert issue.title in status
    assert "Reproduced: on the drafting board" in status

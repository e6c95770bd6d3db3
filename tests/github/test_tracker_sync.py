"""The tracker on GitHub, GitHub → Ceres: signed webhooks, the inbox, `tracker.sync`. The mirror
follows what people do on GitHub, never sends it back, ignores stale or foreign news, and keeps
Ceres's own changes still in the outbox when the two cross."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings

from ceres.core.audit.models import AuditEntry
from ceres.core.inbox.models import InboundEvent
from ceres.core.outbox.models import OutboxMessage
from ceres.tracker import escalation, selectors, services
from ceres.tracker.models import IssueComment, TrackerIssue, TrackerRepository
from tests.fakes.github import GitHubFake
from tests.github.test_tracker_backend import (
    OWNER,
    REPO,
    fake_labels,
    issue_payload,
    local_labels,
    open_bug,
    set_up_github,
    webhook,
    work,
)
from tests.github.test_webhooks import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def github(github_fake: GitHubFake, settings: Settings) -> GitHubFake:
    return set_up_github(github_fake, settings)


@pytest.fixture
def gh(github: GitHubFake) -> Any:
    """Someone working on GitHub directly (keep the client: its namespaces hold it weakly)."""
    return github.client()


@pytest.fixture
def mirrored(github: GitHubFake) -> TrackerIssue:
    """A bug Ceres filed, created on GitHub as #1."""
    issue = open_bug()
    work()
    issue.refresh_from_db()
    assert issue.number == 1
    return issue


def comment_payload(
    github: GitHubFake, action: str, comment: dict[str, Any], *, login: str = "CommunityPerson"
) -> dict[str, Any]:
    return {
        "action": action,
        "issue": github.issue(OWNER, REPO, 1),
        "comment": {**comment, "user": {"login": login}},
        "repository": {"full_name": f"{OWNER}/{REPO}"},
        "sender": {"login": login},
    }


def fresh(issue: TrackerIssue) -> TrackerIssue:
    return selectors.get_issue(issue.pk)


def test_changes_made_on_github_reach_the_mirror(
    client: Client, github: GitHubFake, gh: Any, mirrored: TrackerIssue
) -> None:
    gh.rest.issues.add_labels(OWNER, REPO, 1, labels=["P2", "~investigate"])
    webhook(client, "issues", issue_payload(github, "labeled", 1))
    assert local_labels(mirrored) == [":incoming", ":reproduce", "P2", "bug", "~investigate"]
    on_board = fresh(mirrored)
    assert on_board.on_board_since is not None
    assert on_board.board_expires_at is not None  # the stand-up board's timer runs

    gh.rest.issues.remove_label(OWNER, REPO, 1, "~investigate")
    gh.rest.issues.remove_label(OWNER, REPO, 1, ":incoming")
    webhook(client, "issues", issue_payload(github, "unlabeled", 1))
    assert local_labels(mirrored) == [":reproduce", "P2", "bug"]
    assert fresh(mirrored).board_expires_at is None

    body = github.issue(OWNER, REPO, 1)["body"] + "\n\nAlso on 4.51."
    gh.rest.issues.update(OWNER, REPO, 1, title="Hosts go offline after 4.50", body=body)
    webhook(client, "issues", issue_payload(github, "edited", 1))
    gh.rest.issues.update(OWNER, REPO, 1, assignees=["RaviMenon"])
    webhook(client, "issues", issue_payload(github, "assigned", 1))
    gh.rest.issues.update(OWNER, REPO, 1, state="closed")
    webhook(client, "issues", issue_payload(github, "closed", 1, sender="RaviMenon"))
    issue = fresh(mirrored)
    assert issue.title == "Hosts go offline after 4.50"
    assert issue.body == "Steps: upgrade to 4.50, wait an hour.\n\nAlso on 4.51."  # no marker
    assert selectors.assignees_of(issue) == ["RaviMenon"]
    assert issue.state == TrackerIssue.State.CLOSED

    posted = gh.rest.issues.create_comment(OWNER, REPO, 1, body="Same here on 4.51").json()
    webhook(client, "issue_comment", comment_payload(github, "created", posted))
    row = IssueComment.objects.get(issue=mirrored)
    assert (row.remote_id, row.author_login, row.body) == (
        posted["id"],
        "CommunityPerson",
        "Same here on 4.51",
    )

    # Nothing went back to GitHub: the mirror followed, it did not echo.
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()
    entries = AuditEntry.objects.filter(action="tracker.sync", target_id=str(mirrored.pk))
    assert entries.filter(actor_label="GitHub @RaviMenon").exists()
    assert entries.count() >= 7


def test_an_issue_opened_on_github_is_mirrored(client: Client, github: GitHubFake, gh: Any) -> None:
    gh.rest.issues.create(
        OWNER, REPO, title="Crash on start", body="Trace attached", labels=["bug", "P1"]
    )
    event = webhook(client, "issues", issue_payload(github, "opened", 1, sender="someone"))
    assert event.status == InboundEvent.Status.PROCESSED
    issue = TrackerIssue.objects.get()
    assert (issue.number, issue.title, issue.kind, issue.author_login) == (
        1,
        "Crash on start",
        TrackerIssue.Kind.BUG,
        "ceres-bot",  # the fake's author of every issue
    )
    assert local_labels(issue) == ["P1", "bug"]
    assert issue.remote_updated_at is not None
    assert not OutboxMessage.objects.exists()


def test_a_redelivery_changes_nothing(
    client: Client, github: GitHubFake, gh: Any, mirrored: TrackerIssue
) -> None:
    gh.rest.issues.add_labels(OWNER, REPO, 1, labels=["P2"])
    payload = issue_payload(github, "labeled", 1)
    webhook(client, "issues", payload)
    audited = AuditEntry.objects.count()
    # The same delivery again: the inbox has it already.
    event = InboundEvent.objects.order_by("pk").last()
    assert event is not None
    assert deliver(client, payload, event="issues", delivery=event.event_id).status_code == 200
    # The same news under another delivery id: applied again, nothing changes.
    webhook(client, "issues", payload)
    assert AuditEntry.objects.count() == audited
    assert local_labels(mirrored) == [":incoming", ":reproduce", "P2", "bug"]


def test_an_older_snapshot_is_ignored(
    client: Client, github: GitHubFake, gh: Any, mirrored: TrackerIssue
) -> None:
    gh.rest.issues.add_labels(OWNER, REPO, 1, labels=["P2"])
    webhook(client, "issues", issue_payload(github, "labeled", 1))
    stale = issue_payload(
        github, "unlabeled", 1, labels=[{"name": "bug"}], updated_at="2020-01-01T00:00:00Z"
    )
    event = webhook(client, "issues", stale)
    assert event.status == InboundEvent.Status.PROCESSED
    assert local_labels(mirrored) == [":incoming", ":reproduce", "P2", "bug"]


def test_ceres_and_github_changing_labels_at_once_both_survive(
    client: Client, github: GitHubFake, gh: Any, mirrored: TrackerIssue
) -> None:
    # Ceres escalates (:incoming and :reproduce off, ~investigate and :help-customers on)
    # and closes the issue; neither has reached GitHub yet...
    escalation.escalate(actor=None, issue=mirrored)
    services.set_state(actor=None, issue=mirrored, state="closed")
    board = fresh(mirrored).board_expires_at
    assert board is not None
    # ...when a GitHub user adds P2; GitHub's webhook still shows the old labels.
    gh.rest.issues.add_labels(OWNER, REPO, 1, labels=["P2"])
    webhook(client, "issues", issue_payload(github, "labeled", 1, sender="someone"))

    expected = [":help-customers", "P2", "bug", "~investigate"]
    assert local_labels(mirrored) == expected
    issue = fresh(mirrored)
    assert issue.state == TrackerIssue.State.CLOSED
    assert issue.board_expires_at == board  # the board's timer was not restarted

    work()
    assert fake_labels(github) == expected
    assert github.issue(OWNER, REPO, 1)["state"] == "closed"
    # GitHub's webhooks for Ceres's own changes change nothing more.
    webhook(client, "issues", issue_payload(github, "unlabeled", 1, sender="ceres-bot"))
    assert local_labels(mirrored) == expected


def test_comments_follow_and_ceres_s_own_is_never_doubled(
    client: Client, github: GitHubFake, gh: Any, mirrored: TrackerIssue
) -> None:
    # Ceres's comment reaches GitHub, but the answer is lost and the webhook comes first.
    github.fail_next("issues.create_comment", apply=True, drop=True)
    ours = services.add_comment(actor=None, issue=mirrored, body="Can you share logs?", author=None)
    work(rounds=1)
    (posted,) = github.comments(OWNER, REPO, 1)
    webhook(client, "issue_comment", comment_payload(github, "created", posted, login="ceres-bot"))
    ours.refresh_from_db()
    assert ours.remote_id == posted["id"]
    assert ours.body == "Can you share logs?"
    work()
    assert len(github.comments(OWNER, REPO, 1)) == 1
    assert IssueComment.objects.count() == 1

    theirs = gh.rest.issues.create_comment(OWNER, REPO, 1, body="Attached.").json()
    webhook(client, "issue_comment", comment_payload(github, "created", theirs))
    edited = {**theirs, "body": "Attached (debug archive)."}
    webhook(client, "issue_comment", comment_payload(github, "edited", edited))
    row = IssueComment.objects.get(remote_id=theirs["id"])
    assert row.body == "Attached (debug archive)."
    webhook(client, "issue_comment", comment_payload(github, "deleted", edited))
    row.refresh_from_db()
    assert row.deleted_at is not None
    assert [c.pk for c in escalation.comments_of(mirrored)] == [ours.pk]


def test_a_community_comment_takes_the_plus_labels_off_a_mirrored_issue(
    client: Client, github: GitHubFake, gh: Any, mirrored: TrackerIssue
) -> None:
    gh.rest.issues.add_labels(OWNER, REPO, 1, labels=["+more info please"])
    posted = gh.rest.issues.create_comment(OWNER, REPO, 1, body="Here you go").json()
    webhook(client, "issue_comment", comment_payload(github, "created", posted))
    assert "+more info please" not in local_labels(mirrored)
    message = OutboxMessage.objects.get(status=OutboxMessage.Status.PENDING)
    assert message.ordering_key == f"github-issue:{mirrored.pk}"
    assert AuditEntry.objects.filter(action="github.plus_labels_removed").count() == 1
    work()
    assert fake_labels(github) == [":incoming", ":reproduce", "bug"]


def test_an_issue_deleted_on_github_stays_in_ceres_closed(
    client: Client, github: GitHubFake, gh: Any, mirrored: TrackerIssue
) -> None:
    escalation.escalate(actor=None, issue=mirrored)
    work()
    assert fresh(mirrored).board_expires_at is not None
    payload = issue_payload(github, "deleted", 1, sender="admin")
    webhook(client, "issues", payload)
    issue = fresh(mirrored)
    assert issue.state == TrackerIssue.State.CLOSED
    assert issue.board_expires_at is None
    entry = AuditEntry.objects.filter(action="tracker.sync").latest("pk")
    assert entry.changes["deleted_on_github"] == [False, True]


def test_unknown_events_are_kept_and_ignored(client: Client, github: GitHubFake) -> None:
    event = webhook(client, "star", {"action": "created", "repository": {"full_name": "a/b"}})
    assert event.status == InboundEvent.Status.IGNORED
    event = webhook(client, "issues", {"action": "milestoned", "issue": {"number": 1}})
    assert event.status == InboundEvent.Status.IGNORED


GOOD_ISSUE = {
    "number": 7,
    "title": "Crash",
    "body": None,
    "state": "open",
    "labels": [],
    "assignees": [],
    "updated_at": "2030-01-01T00:00:00Z",
    "user": {"login": "someone"},
}


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("issues", {"action": "labeled"}),
        ("issues", {"action": "labeled", "issue": "seven", "repository": {"full_name": "a/b"}}),
        ("issues", {"action": "labeled", "issue": {**GOOD_ISSUE, "number": "7"}}),
        ("issues", {"action": "edited", "issue": {**GOOD_ISSUE, "number": True}}),
        ("issues", {"action": "closed", "issue": {**GOOD_ISSUE, "state": "merged"}}),
        ("issues", {"action": "labeled", "issue": {**GOOD_ISSUE, "labels": "bug"}}),
        ("issues", {"action": "opened", "issue": {**GOOD_ISSUE, "updated_at": "yesterday"}}),
        ("issues", {"action": "opened", "issue": {**GOOD_ISSUE, "title": None}}),
        ("issues", {"action": "opened", "issue": GOOD_ISSUE, "repository": "product"}),
        ("issues", {"action": "deleted", "issue": {"number": -1}}),
        ("issue_comment", {"action": "created", "issue": GOOD_ISSUE, "comment": [1]}),
        ("issue_comment", {"action": "edited", "issue": GOOD_ISSUE, "comment": {"id": "x"}}),
    ],
)
def test_malformed_payloads_are_kept_and_dropped_without_error(
    client: Client, github: GitHubFake, event: str, payload: dict[str, Any]
) -> None:
    selectors.repository("public")
    stored = webhook(client, event, {"repository": {"full_name": f"{OWNER}/{REPO}"}, **payload})
    assert stored.status == InboundEvent.Status.PROCESSED
    assert stored.attempts == 1
    assert not TrackerIssue.objects.exists()


def test_odd_labels_are_left_out_and_the_rest_applied(client: Client, github: GitHubFake) -> None:
    selectors.repository("public")
    labels = [{"name": "bug"}, {"name": "x" * 101}, {"colour": "red"}, "P2"]
    payload = {
        "action": "opened",
        "issue": {**GOOD_ISSUE, "labels": labels},
        "repository": {"full_name": f"{OWNER}/{REPO}"},
    }
    webhook(client, "issues", payload)
    assert local_labels(TrackerIssue.objects.get()) == ["bug"]


def test_a_repository_that_is_not_mirrored_is_ignored(
    client: Client, github: GitHubFake, settings: Settings
) -> None:
    github.add_repo(OWNER, "website")
    gh = github.client()
    gh.rest.issues.create(OWNER, "website", title="Typo", labels=["docs"])
    payload = {
        "action": "opened",
        "issue": github.issue(OWNER, "website", 1),
        "repository": {"full_name": f"{OWNER}/website"},
    }
    assert webhook(client, "issues", payload).status == InboundEvent.Status.PROCESSED
    # A repository Ceres keeps in its built-in tracker is not GitHub's to change either.
    TrackerRepository.objects.create(
        name=f"{OWNER}/website", visibility="public", backend=TrackerRepository.Backend.BUILTIN
    )
    payload["action"] = "labeled"
    assert webhook(client, "issues", payload).status == InboundEvent.Status.PROCESSED
    assert not TrackerIssue.objects.exists()
    assert not AuditEntry.objects.filter(action="tracker.sync").exists()

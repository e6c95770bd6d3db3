"""The tracker on GitHub, Ceres → GitHub: tracker services, the "github" outbox channel, githubkit
and the GitHub fake. Every change arrives once and in order, through lost answers and outages."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from ceres.core.errors import Invalid
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event
from ceres.core.outbox.channels import get_channel
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import deliver_message, enqueue
from ceres.github.outbox import validate_payload
from ceres.tracker import escalation, selectors, services
from ceres.tracker.models import IssueComment, TrackerIssue, TrackerRepository
from tests.fakes.github import GitHubFake
from tests.github.test_webhooks import SECRET, deliver

pytestmark = pytest.mark.django_db

OWNER, REPO = "example-vendor", "product"
FILED = ["bug", ":incoming", ":reproduce"]


def set_up_github(fake: GitHubFake, settings: Settings) -> GitHubFake:
    settings.CERES_GITHUB_WEBHOOK_SECRET = SECRET
    settings.CERES_GITHUB_TOKEN = fake.token
    settings.CERES_GITHUB_API_URL = fake.url
    settings.CERES_GITHUB_TIMEOUT = 5
    settings.CERES_TRACKER_BACKEND = "github"
    settings.CERES_TRACKER_PUBLIC_REPO = f"{OWNER}/{REPO}"
    settings.CERES_TRACKER_CONFIDENTIAL_REPO = f"{OWNER}/confidential"
    fake.add_repo(OWNER, REPO)
    fake.add_repo(OWNER, "confidential")
    return fake


@pytest.fixture
def github(github_fake: GitHubFake, settings: Settings) -> GitHubFake:
    return set_up_github(github_fake, settings)


def work(rounds: int = 10) -> None:
    """The outbox worker, made due now: every message that can leave, leaves (in order)."""
    for _ in range(rounds):
        pending = list(
            OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).order_by("pk")
        )
        if not pending:
            return
        for message in pending:
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
            deliver_message(message_id=message.pk)


def attempt(message: OutboxMessage) -> str:
    """One delivery attempt of one message, due now."""
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    return deliver_message(message_id=message.pk)


def open_bug(title: str = "Hosts go offline after upgrade", **kwargs: Any) -> TrackerIssue:
    return services.open_issue(
        actor=None,
        repository=selectors.repository("public"),
        title=title,
        body="Steps: upgrade to 4.50, wait an hour.",
        kind=TrackerIssue.Kind.BUG,
        labels=kwargs.pop("labels", FILED),
        **kwargs,
    )


def webhook(client: Client, event: str, payload: dict[str, Any]) -> InboundEvent:
    """A signed delivery, processed as the worker would; returns the stored event."""
    delivery = str(uuid.uuid4())
    assert deliver(client, payload, event=event, delivery=delivery).status_code == 202
    stored = InboundEvent.objects.get(event_id=delivery)
    process_event(inbound_event_id=stored.pk)
    stored.refresh_from_db()
    return stored


def issue_payload(
    github: GitHubFake, action: str, number: int, *, sender: str = "octocat", **changes: Any
) -> dict[str, Any]:
    """The `issues` webhook GitHub would send now: the issue as the fake has it."""
    issue = {**github.issue(OWNER, REPO, number), **changes}
    return {
        "action": action,
        "issue": issue,
        "repository": {"full_name": f"{OWNER}/{REPO}"},
        "sender": {"login": sender},
    }


def fake_labels(github: GitHubFake, number: int = 1) -> list[str]:
    return sorted(label["name"] for label in github.issue(OWNER, REPO, number)["labels"])


def local_labels(issue: TrackerIssue) -> list[str]:
    return selectors.labels_of(selectors.get_issue(issue.pk))


def test_an_issue_is_created_on_github_and_its_changes_follow_in_order(
    github: GitHubFake,
) -> None:
    issue = open_bug(assignees=["lena-park", "sam-engel"])
    assert issue.number is None  # until the outbox has created it
    services.change_assignees(actor=None, issue=issue, add=["RaviMenon"], remove=["Sam-Engel"])
    escalation.escalate(actor=None, issue=issue)
    comment = services.add_comment(actor=None, issue=issue, body="Looking at it.", author=None)
    services.set_state(actor=None, issue=issue, state="closed")
    messages = OutboxMessage.objects.order_by("pk")
    assert {m.ordering_key for m in messages} == {f"github-issue:{issue.pk}"}

    work()

    issue.refresh_from_db()
    assert issue.number == 1
    assert issue.remote_updated_at is not None
    assert [c.operation for c in github.calls()] == [
        "issues.create",
        "issues.add_assignees",
        "issues.remove_assignees",
        "issues.add_labels",
        "issues.remove_label",
        "issues.remove_label",
        "issues.create_comment",
        "issues.update",
    ]
    created = github.calls("issues.create")[0].body
    assert created["labels"] == FILED
    assert created["body"].endswith(f"<!-- ceres-issue:{issue.pk} -->")
    on_github = github.issue(OWNER, REPO, 1)
    assert fake_labels(github) == [":help-customers", "bug", "~investigate"]
    assert sorted(a["login"] for a in on_github["assignees"]) == ["RaviMenon", "lena-park"]
    assert on_github["state"] == "closed"
    (posted,) = github.comments(OWNER, REPO, 1)
    assert posted["body"] == f"Looking at it.\n\n<!-- ceres-comment:{comment.pk} -->"
    comment.refresh_from_db()
    assert comment.remote_id == posted["id"]
    # Ceres's rows keep the text without the markers.
    assert issue.body == "Steps: upgrade to 4.50, wait an hour."
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()


@pytest.mark.parametrize(
    "lost",
    [{"drop": True}, {"status": 502}, {"status": 500}],
    ids=["connection-dropped", "bad-gateway", "server-error"],
)
def test_a_creation_whose_answer_was_lost_is_not_made_twice(
    github: GitHubFake, lost: dict[str, Any]
) -> None:
    github.fail_next("issues.create", apply=True, **lost)
    github.fail_next("issues.create_comment", apply=True, **lost)
    issue = open_bug()
    comment = services.add_comment(actor=None, issue=issue, body="More logs.", author=None)
    first = OutboxMessage.objects.order_by("pk").first()
    assert first is not None
    assert attempt(first) == OutboxMessage.Status.PENDING  # GitHub made it; we never heard

    work()

    assert len(github.calls("issues.create")) == 1
    assert len(github.calls("issues.list_for_repo")) == 1  # the retry looked for it first
    with pytest.raises(KeyError):
        github.issue(OWNER, REPO, 2)
    issue.refresh_from_db()
    assert issue.number == 1
    assert len(github.comments(OWNER, REPO, 1)) == 1
    comment.refresh_from_db()
    assert comment.remote_id == github.comments(OWNER, REPO, 1)[0]["id"]
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count() == 2


def test_the_creation_webhook_may_arrive_before_the_answer(
    client: Client, github: GitHubFake
) -> None:
    github.fail_next("issues.create", apply=True, drop=True)
    issue = open_bug()
    creation = OutboxMessage.objects.get()
    attempt(creation)
    # GitHub's issues.opened comes back first: the row is adopted by its marker, not doubled.
    webhook(client, "issues", issue_payload(github, "opened", 1, sender="ceres-bot"))
    issue.refresh_from_db()
    assert issue.number == 1
    assert TrackerIssue.objects.count() == 1
    work()
    assert len(github.calls("issues.create")) == 1
    assert not github.calls("issues.list_for_repo")  # the number was known: nothing to look for
    creation.refresh_from_db()
    assert creation.status == OutboxMessage.Status.SENT


def test_github_down_for_a_while_then_each_change_arrives_once(github: GitHubFake) -> None:
    github.fail_next("issues.create", status=500, times=3)
    github.fail_next("issues.create", status=403, retry_after=30)  # secondary rate limit
    github.fail_next("issues.create", status=429, retry_after=7)
    github.fail_next("issues.add_labels", status=503, times=2)
    issue = open_bug()
    escalation.escalate(actor=None, issue=issue)  # made while GitHub is down: waits its turn
    creation = OutboxMessage.objects.order_by("pk").first()
    assert creation is not None

    for _ in range(3):
        assert attempt(creation) == OutboxMessage.Status.PENDING
    before = timezone.now()
    assert attempt(creation) == OutboxMessage.Status.PENDING
    creation.refresh_from_db()
    assert creation.next_attempt_at >= before + datetime.timedelta(seconds=29)
    before = timezone.now()
    assert attempt(creation) == OutboxMessage.Status.PENDING
    creation.refresh_from_db()
    assert creation.next_attempt_at >= before + datetime.timedelta(seconds=6)
    # Nothing about the issue overtook its creation.
    assert {c.operation for c in github.calls()} == {"issues.create", "issues.list_for_repo"}

    work()

    assert len(github.calls("issues.create")) == 6
    assert [c.status for c in github.calls("issues.create")][-1] == 201
    assert len(github.calls("issues.add_labels")) == 3
    assert fake_labels(github) == [":help-customers", "bug", "~investigate"]
    with pytest.raises(KeyError):
        github.issue(OWNER, REPO, 2)
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()


def test_a_failed_creation_takes_the_issue_s_other_changes_with_it(
    github: GitHubFake, settings: Settings
) -> None:
    github.fail_next("issues.create", status=422, message="Validation Failed")
    issue = open_bug()
    services.change_labels(actor=None, issue=issue, add=["P2"])
    work()
    statuses = list(OutboxMessage.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [OutboxMessage.Status.DEAD, OutboxMessage.Status.DEAD]
    assert github.calls("issues.add_labels") == []


def test_an_issue_filed_in_the_builtin_tracker_is_never_changed_on_github(
    github: GitHubFake, settings: Settings
) -> None:
    settings.CERES_TRACKER_BACKEND = "builtin"
    issue = open_bug()
    assert issue.number == 1  # the built-in tracker's number
    gh = github.client()
    gh.rest.issues.create(OWNER, REPO, title="Someone else's issue", labels=["question"])
    settings.CERES_TRACKER_BACKEND = "github"
    assert selectors.repository("public").backend == TrackerRepository.Backend.GITHUB
    services.change_labels(actor=None, issue=issue, add=["P2"])
    work()
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.DEAD
    assert fake_labels(github) == ["question"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"method": "issues.delete", "args": {"issue_id": 1}}, "payload.method"),
        ({"method": "issues.add_labels", "args": {"repo": "a/b", "number": 1}}, "issue_id"),
        ({"method": "issues.add_labels", "args": {"issue_id": 1, "labels": []}}, "labels"),
        ({"method": "issues.add_labels", "args": {"issue_id": "1", "labels": ["x"]}}, "issue_id"),
        ({"method": "issues.update", "args": {"issue_id": 1, "state": "merged"}}, "state"),
        (
            {"method": "issues.add_assignees", "args": {"issue_id": 1, "assignees": ["a"] * 11}},
            "assignees",
        ),
        ({"method": "issues.add_assignees", "args": {"issue_id": 1, "assignees": ["a b"]}}, "[0]"),
        ({"method": "issues.create", "args": {"issue_id": 1, "title": ""}}, "title"),
        ({"method": "issues.create_comment", "args": {"issue_id": 1, "body": "x"}}, "comment_id"),
        ({"method": "issues.remove_label", "args": {"repo": "nope", "number": 1}}, "repo"),
    ],
)
def test_bad_payloads_are_refused_when_enqueued(
    github: GitHubFake, payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        validate_payload(payload)
    assert field in refused.value.field
    with pytest.raises(Invalid):
        enqueue(channel="github", idempotency_key="bad", payload=payload)
    assert not OutboxMessage.objects.exists()


def test_the_plus_label_form_still_works(github: GitHubFake) -> None:
    assert validate_payload(
        {"method": "issues.remove_label", "args": {"repo": "a/b", "number": 3, "name": "+x"}}
    ) == {"method": "issues.remove_label", "args": {"repo": "a/b", "number": 3, "name": "+x"}}


# --- GitHub App authentication ------------------------------------------------------------


@pytest.fixture
def app_key() -> tuple[str, str]:
    """A fresh RSA key pair, PEM: (private, public)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.mark.parametrize("where", ["text", "one-line", "file"])
def test_changes_are_made_as_a_github_app_installation(
    github: GitHubFake,
    settings: Settings,
    app_key: tuple[str, str],
    tmp_path: Path,
    where: str,
) -> None:
    private, public = app_key
    installation = 4_000_000 + ["text", "one-line", "file"].index(where)
    github.add_app(123456, public, installation)
    settings.CERES_GITHUB_TOKEN = ""
    channel = get_channel("github")
    assert not channel.is_configured()
    settings.CERES_GITHUB_APP_ID = "123456"
    settings.CERES_GITHUB_APP_INSTALLATION_ID = str(installation)
    if where == "file":
        (tmp_path / "app.pem").write_text(private)
        settings.CERES_GITHUB_APP_PRIVATE_KEY_FILE = str(tmp_path / "app.pem")
    else:
        text = private.replace("\n", "\\n") if where == "one-line" else private
        settings.CERES_GITHUB_APP_PRIVATE_KEY = text
    assert channel.is_configured()

    issue = open_bug()
    services.change_labels(actor=None, issue=issue, add=["P2"])
    work()

    (token,) = github.installation_tokens  # one installation token, reused for both calls
    assert [c.operation for c in github.calls()] == [
        "apps.create_installation_access_token",
        "issues.create",
        "issues.add_labels",
    ]
    assert {c.token for c in github.calls()[1:]} == {token}
    assert fake_labels(github) == [":incoming", ":reproduce", "P2", "bug"]


def test_a_wrong_app_key_is_retried_not_lost(
    github: GitHubFake, settings: Settings, app_key: tuple[str, str]
) -> None:
    private, public = app_key
    github.add_app(777, public, 42)
    settings.CERES_GITHUB_TOKEN = ""
    settings.CERES_GITHUB_APP_ID = "778"  # not the App the key belongs to
    settings.CERES_GITHUB_APP_INSTALLATION_ID = "42"
    settings.CERES_GITHUB_APP_PRIVATE_KEY = private
    open_bug()
    message = OutboxMessage.objects.get()
    assert attempt(message) == OutboxMessage.Status.PENDING
    message.refresh_from_db()
    assert "401" in message.last_error
    assert not github.calls("issues.create")
    settings.CERES_GITHUB_APP_ID = "777"
    work()
    assert github.issue(OWNER, REPO, 1)["title"] == "Hosts go offline after upgrade"
    assert IssueComment.objects.count() == 0

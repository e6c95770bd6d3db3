"""J4, the community reply ("+" labels), as a whole: a signed issue_comment webhook, the inbox,
the "github" outbox channel and githubkit against the GitHub fake."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from ceres.core.audit.models import AuditEntry
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.services import process_event
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import deliver_message
from tests.fakes.github import GitHubFake
from tests.github.test_webhooks import COMMENT, deliver

pytestmark = pytest.mark.django_db

OWNER, REPO = "example-vendor", "product"


@pytest.fixture
def github(github_fake: GitHubFake, settings: Settings, make_person: Any) -> GitHubFake:
    settings.CERES_GITHUB_WEBHOOK_SECRET = "It's a Secret to Everybody"
    settings.CERES_GITHUB_TOKEN = github_fake.token
    settings.CERES_GITHUB_API_URL = github_fake.url
    settings.CERES_GITHUB_TIMEOUT = 5
    github_fake.add_repo(OWNER, REPO)
    gh = github_fake.client()
    gh.rest.issues.create(
        OWNER, REPO, title="Hosts offline", labels=["bug", "+more info please", "+repro steps"]
    )
    make_person("engineer", name="Ravi Menon", email="ravi@example.com", github_login="RaviMenon")
    return github_fake


def comment(client: Client, login: str, n: int, **issue: Any) -> None:
    payload = {
        **COMMENT,
        "issue": {
            "number": 1,
            "state": "open",
            "labels": [{"name": "bug"}, {"name": "+more info please"}, {"name": "+repro steps"}],
            **issue,
        },
        "comment": {"id": n, "body": "a comment", "user": {"login": login}},
        "repository": {"full_name": f"{OWNER}/{REPO}"},
    }
    assert deliver(client, payload, delivery=f"delivery-{n}").status_code in (200, 202)
    for event in InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED):
        process_event(inbound_event_id=event.pk)


def work() -> None:
    for _ in range(5):
        pending = list(OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING))
        if not pending:
            return
        for message in pending:
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
            deliver_message(message_id=message.pk)


def labels(github: GitHubFake) -> list[str]:
    return sorted(label["name"] for label in github.issue(OWNER, REPO, 1)["labels"])


def test_j4_a_community_comment_takes_the_plus_labels_off(
    client: Client, github: GitHubFake
) -> None:
    # A team member, whatever the case of their login, leaves them on; so does a bot.
    comment(client, "ravimenon", 1)
    comment(client, "dependabot[bot]", 2)
    work()
    assert labels(github) == ["+more info please", "+repro steps", "bug"]
    assert not OutboxMessage.objects.exists()
    # The community member's comment takes every "+" label off, once (a redelivery too).
    comment(client, "CommunityPerson", 3)
    comment(client, "CommunityPerson", 3)
    work()
    assert labels(github) == ["bug"]
    assert len(github.calls("issues.remove_label")) == 2
    assert AuditEntry.objects.filter(action="github.plus_labels_removed").count() == 1


def test_closed_issues_and_pull_requests_keep_their_labels(
    client: Client, github: GitHubFake
) -> None:
    comment(client, "CommunityPerson", 1, state="closed")
    comment(client, "CommunityPerson", 2, pull_request={"url": "https://example.invalid/pr/1"})
    work()
    assert labels(github) == ["+more info please", "+repro steps", "bug"]


def test_a_forged_webhook_changes_nothing(client: Client, github: GitHubFake) -> None:
    forged = {**COMMENT, "issue": {"number": 1, "state": "open", "labels": [{"name": "+x"}]}}
    response = deliver(client, forged, signature="sha256=" + "f" * 64)
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()
    assert labels(github) == ["+more info please", "+repro steps", "bug"]


def test_github_rate_limits_delay_the_change_without_losing_or_doubling_it(
    client: Client, github: GitHubFake
) -> None:
    github.fail_next("issues.remove_label", status=403, retry_after=30)
    comment(client, "CommunityPerson", 1)
    first = OutboxMessage.objects.order_by("pk").first()
    assert first is not None
    assert deliver_message(message_id=first.pk) == OutboxMessage.Status.PENDING
    first.refresh_from_db()
    assert first.next_attempt_at > timezone.now() + datetime.timedelta(seconds=25)
    work()
    assert labels(github) == ["bug"]
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count() == 2


def test_a_label_already_gone_counts_as_removed(client: Client, github: GitHubFake) -> None:
    gh = github.client()  # keep a reference: githubkit's namespaces hold it weakly
    gh.rest.issues.remove_label(OWNER, REPO, 1, "+repro steps")
    comment(client, "CommunityPerson", 1)  # the payload still lists it
    work()
    assert labels(github) == ["bug"]
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT).exists()

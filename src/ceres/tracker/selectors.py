"""Reads of the tracker: repositories, issues, labels, the account's open bugs."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from ceres.accounts.models import Account
from ceres.core.errors import NotFound
from ceres.tracker.config import stored_tracker
from ceres.tracker.models import IssueLabel, TrackerIssue, TrackerRepository
from ceres.tracker.workflow import current


def repository(visibility: str) -> TrackerRepository:
    """The configured public or confidential repository (its row made on first use): the
    playbook's `organization.public_tracker` / `confidential_tracker` when it set one
    (tracker.config), else the settings."""
    name = (
        settings.CERES_TRACKER_PUBLIC_REPO
        if visibility == TrackerRepository.Visibility.PUBLIC
        else settings.CERES_TRACKER_CONFIDENTIAL_REPO
    )
    backend = settings.CERES_TRACKER_BACKEND
    stored = stored_tracker(visibility)
    if stored is not None:
        backend, name = stored.backend, stored.name
    repo, created = TrackerRepository.objects.get_or_create(
        name=name, defaults={"visibility": visibility, "backend": backend}
    )
    if not created and (repo.backend != backend or repo.visibility != visibility):
        # The configuration changed (built-in → GitHub): issues already filed stay where
        # they were; new ones follow the configuration.
        TrackerRepository.objects.filter(pk=repo.pk).update(backend=backend, visibility=visibility)
        repo.backend, repo.visibility = backend, visibility
    return repo


def get_issue(issue_id: int) -> TrackerIssue:
    issue = (
        TrackerIssue.objects.select_related("repository")
        .filter(pk=issue_id)
        .prefetch_related("label_rows", "assignee_rows")
        .first()
    )
    if issue is None:
        raise NotFound("no such issue", field="issue_id")
    return issue


def labels_of(issue: TrackerIssue) -> list[str]:
    return sorted(row.name for row in issue.label_rows.all())


def assignees_of(issue: TrackerIssue) -> list[str]:
    return sorted(row.login for row in issue.assignee_rows.all())


def with_label(name: str) -> Exists:
    return Exists(IssueLabel.objects.filter(issue=OuterRef("pk"), name=name))


def with_rows(qs: QuerySet[TrackerIssue]) -> QuerySet[TrackerIssue]:
    return qs.select_related("repository").prefetch_related(
        Prefetch("label_rows", queryset=IssueLabel.objects.order_by("name")), "assignee_rows"
    )


def open_bugs_of(account: Account) -> QuerySet[TrackerIssue]:
    """Open issues carrying `bug` and the account's customer label: the handbook's search for
    status updates and meeting prep, whoever filed them and wherever they were labelled."""
    wf = current()
    return with_rows(
        TrackerIssue.objects.filter(state=TrackerIssue.State.OPEN)
        .filter(with_label(wf.bug_label))
        .filter(with_label(account.github_label))
        .order_by("-created_at", "-id")
    )


def feature_requests_of(account: Account) -> QuerySet[TrackerIssue]:
    return with_rows(
        TrackerIssue.objects.filter(kind=TrackerIssue.Kind.FEATURE_REQUEST)
        .filter(with_label(account.github_label))
        .select_related("feature_request", "feature_request__csm")
        .order_by("state", "-created_at", "-id")
    )


def accounts_labelled(labels: Iterable[str]) -> list[Account]:
    names = [name for name in labels if name.startswith(current().customer_label_prefix)]
    if not names:
        return []
    return list(Account.objects.filter(github_label__in=names).select_related("codename"))

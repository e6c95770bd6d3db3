"""Reads of the tracker: repositories, issues, labels, the account's open bugs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from ceres.accounts.models import Account
from ceres.accounts.selectors import can_view_confidential
from ceres.core.errors import NotFound
from ceres.tracker.config import stored_tracker
from ceres.tracker.models import IssueLabel, TrackerIssue, TrackerRepository
from ceres.tracker.search import SimilarIssue, similar_issues
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


# --- who may see what -------------------------------------------------------------------------
# Issues of the confidential repository hold what may not go public (real names, hostnames):
# only people with accounts.view_confidential see them. To anyone else they are not listed, not
# found by id, not offered by the duplicate search, in the API and in the pages alike.


def sees_confidential(user: Any) -> bool:
    return can_view_confidential(user)


def visible_to(user: Any, qs: QuerySet[TrackerIssue]) -> QuerySet[TrackerIssue]:
    if sees_confidential(user):
        return qs
    return qs.filter(repository__visibility=TrackerRepository.Visibility.PUBLIC)


def get_issue_for(user: Any, issue_id: int) -> TrackerIssue:
    """The issue with its labels and assignees; one the user may not see is not found."""
    issue = get_issue(issue_id)
    if not issue.repository.is_public and not sees_confidential(user):
        raise NotFound("no such issue", field="issue_id")
    return issue


def similar_for(
    user: Any, text: str, *, limit: int, kind: str | None = None, most: int = 160
) -> list[SimilarIssue]:
    """The duplicate search, without the issues the user may not see (asking for more when
    hidden ones took places, a few times at most)."""
    asked = limit
    while True:
        found = similar_issues(text, limit=asked, kind=kind)
        visible = found
        if found and not sees_confidential(user):
            public = set(
                TrackerIssue.objects.filter(
                    pk__in=[r.issue_id for r in found],
                    repository__visibility=TrackerRepository.Visibility.PUBLIC,
                ).values_list("pk", flat=True)
            )
            visible = [r for r in found if r.issue_id in public]
        if len(visible) >= limit or len(found) < asked or asked >= most:
            return visible[:limit]
        asked *= 4

"""What the tracker tells other pages about an account: its open bugs with their stage and its
feature requests with their state (the account status page, meeting prep, QBR data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser

from ceres.accounts.models import Account
from ceres.tracker import escalation, selectors
from ceres.tracker.models import TrackerIssue
from ceres.tracker.workflow import Stage

MAX_ROWS = 200
VIEW = "tracker.view_trackerissue"


@dataclass(frozen=True)
class IssueSummary:
    issue: TrackerIssue
    labels: list[str]
    state: str  # in words: the bug's stage, or the request's state


@dataclass(frozen=True)
class AccountIssues:
    visible: bool
    bugs: list[IssueSummary] = field(default_factory=list)
    requests: list[IssueSummary] = field(default_factory=list)


def request_state(issue: TrackerIssue) -> str:
    if issue.state == TrackerIssue.State.CLOSED:
        return "Closed"
    request = getattr(issue, "feature_request", None)
    if request is None:
        return "Open"
    if request.outcome:
        return str(request.get_outcome_display())
    if request.released_at:
        return "Released: waiting for the customer's feedback"
    if request.prioritized_at:
        return "Prioritized"
    return "Requested"


def for_account(account: Account, user: Any) -> AccountIssues:
    if user is None or isinstance(user, AnonymousUser) or not user.has_perm(VIEW):
        return AccountIssues(visible=False)
    bugs = [
        IssueSummary(
            issue=issue,
            labels=selectors.labels_of(issue),
            state=Stage.LABELS[escalation.stage(issue)],
        )
        for issue in selectors.visible_to(user, selectors.open_bugs_of(account))[:MAX_ROWS]
    ]
    requests = [
        IssueSummary(issue=issue, labels=selectors.labels_of(issue), state=request_state(issue))
        for issue in selectors.feature_requests_of(account)[:MAX_ROWS]
    ]
    return AccountIssues(visible=True, bugs=bugs, requests=requests)

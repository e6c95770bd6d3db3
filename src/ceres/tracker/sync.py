"""GitHub's side of the mirror, brought back into Ceres's rows.

Ceres writes its own changes to the rows first and replicates them through the outbox
(`tracker.services` → the backend). Other people change issues on GitHub, and GitHub's webhooks
bring snapshots of the issue after each change; these services apply them. They never call a
backend: what GitHub told us must not be sent back to GitHub (no echo, no loop).

Four rules make the two sides converge whatever order things happen in:

- Snapshots are whole: the issue's labels, assignees, state, title and body after the change,
  so a missed webhook is repaired by the next one. One older than the last applied
  (`remote_updated_at`) changes nothing: GitHub does not deliver in order.
- Ceres's own changes still waiting in the outbox are re-applied on top of the snapshot (the
  backend's `pending_changes`): GitHub has not seen them yet, so the snapshot cannot contain
  them. Ceres removing `:incoming` while someone adds `P2` on GitHub ends with both, here and,
  once the outbox has delivered, on GitHub: each side's last writer wins, nothing is lost.
- Ceres recognises its own issues and comments by a hidden marker in their body
  (`<!-- ceres-issue:42 -->`): a webhook for an issue Ceres created, arriving before the outbox
  stored its number, adopts the row instead of mirroring it twice.
- Only repositories configured as GitHub trackers are mirrored; anything else is ignored.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from django.db import IntegrityError, transaction
from django.utils import timezone

from ceres.core.audit.services import record_change
from ceres.tracker import selectors
from ceres.tracker.backends import backend_for
from ceres.tracker.config import configured_tracker
from ceres.tracker.models import (
    IssueAssignee,
    IssueComment,
    IssueLabel,
    TrackerIssue,
    TrackerRepository,
)
from ceres.tracker.services import MAX_BODY, MAX_TITLE, _after_labels
from ceres.tracker.workflow import current

log = logging.getLogger(__name__)

ACTION = "tracker.sync"

# --- markers: how Ceres knows its own issues and comments on GitHub ------------------------

_ISSUE_MARKER = re.compile(r"<!-- ceres-issue:([0-9]{1,18}) -->")
_COMMENT_MARKER = re.compile(r"<!-- ceres-comment:([0-9]{1,18}) -->")
_ANY_MARKER = re.compile(r"\s*<!-- ceres-(?:issue|comment):[0-9]{1,18} -->")


def issue_marker(issue_id: int) -> str:
    return f"<!-- ceres-issue:{issue_id} -->"


def comment_marker(comment_id: int) -> str:
    return f"<!-- ceres-comment:{comment_id} -->"


def with_marker(body: str, marker: str, *, limit: int = MAX_BODY) -> str:
    """The body as sent: the text, then the marker (an HTML comment, invisible on GitHub).
    A body already at GitHub's limit gives up its last characters for the marker: an issue
    that cannot be recognised could be created twice."""
    room = limit - len(marker) - 2
    text = body[:room].rstrip()
    return f"{text}\n\n{marker}" if text else marker


def marked_issue_id(body: str) -> int | None:
    found = _ISSUE_MARKER.search(body)
    return int(found.group(1)) if found else None


def marked_comment_id(body: str) -> int | None:
    found = _COMMENT_MARKER.search(body)
    return int(found.group(1)) if found else None


def strip_markers(body: str) -> str:
    """The text as people wrote it: Ceres's rows keep bodies without the markers."""
    return _ANY_MARKER.sub("", body).rstrip()


# --- what GitHub says, and what Ceres has not said yet --------------------------------------


@dataclass(frozen=True)
class RemoteIssue:
    """An issue as GitHub has it after a change (a webhook's `issue`)."""

    repository: str  # "owner/name"
    number: int
    title: str
    body: str
    state: str  # "open" or "closed"
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    updated_at: datetime.datetime
    author_login: str = ""


@dataclass(frozen=True)
class RemoteComment:
    repository: str
    issue_number: int
    comment_id: int  # GitHub's id
    body: str
    author_login: str
    created_at: datetime.datetime


@dataclass(frozen=True)
class PendingChange:
    """One change Ceres made that has not reached the tracker yet (an outbox message)."""

    labels_added: tuple[str, ...] = ()
    labels_removed: tuple[str, ...] = ()
    assignees_added: tuple[str, ...] = ()
    assignees_removed: tuple[str, ...] = ()
    state: str | None = None


@runtime_checkable
class ReplicatingBackend(Protocol):
    """A backend that replicates through a queue says what is still in it, oldest first."""

    def pending_changes(self, issue: TrackerIssue) -> Sequence[PendingChange]: ...


def mirrored_repository(name: str) -> TrackerRepository | None:
    """The GitHub tracker repository of that name. One the configuration (the playbook's
    trackers, else the settings) names as the public or confidential repository on GitHub gets
    its row now if it has none yet (a webhook may come before Ceres files anything); a row kept
    in the built-in tracker is never taken over."""
    found = list(TrackerRepository.objects.filter(name__iexact=name).order_by("pk"))
    for repo in found:
        if repo.backend == TrackerRepository.Backend.GITHUB:
            return repo
    if found:
        return None
    for visibility in TrackerRepository.Visibility.values:
        configured = configured_tracker(visibility)
        if (
            configured.backend == TrackerRepository.Backend.GITHUB
            and configured.name.casefold() == name.casefold()
        ):
            return selectors.repository(visibility)
    return None


def mirrored_issue(repository: str, number: int) -> TrackerIssue | None:
    """The mirror of GitHub's `repository#number`, if Ceres mirrors it."""
    repo = mirrored_repository(repository)
    if repo is None:
        return None
    return (
        TrackerIssue.objects.select_related("repository")
        .filter(repository=repo, number=number, remote_updated_at__isnull=False)
        .first()
    )


def _pending(issue: TrackerIssue) -> Sequence[PendingChange]:
    backend = backend_for(issue.repository)
    if isinstance(backend, ReplicatingBackend):
        return backend.pending_changes(issue)
    return ()


def _merge(
    remote: Iterable[str], pending: Iterable[tuple[Sequence[str], Sequence[str]]]
) -> list[str]:
    """GitHub's names with Ceres's pending adds and removes on top, in order. Names compare
    case-insensitively, as GitHub's labels and logins do; GitHub's spelling wins."""
    names = list(dict.fromkeys(remote))
    for added, removed in pending:
        gone = {name.casefold() for name in removed}
        names = [name for name in names if name.casefold() not in gone]
        have = {name.casefold() for name in names}
        names += [name for name in added if name.casefold() not in have]
    return names


def _locked(**lookup: Any) -> TrackerIssue | None:
    return (
        TrackerIssue.objects.select_for_update(of=("self",))
        .select_related("repository")
        .filter(**lookup)
        .first()
    )


def _find_or_create(
    repository: TrackerRepository, snapshot: RemoteIssue
) -> tuple[TrackerIssue, str]:
    """The mirror row, locked, and how it was found: "number", "marker" (Ceres created the
    issue and its number is not stored yet) or "new"."""
    issue = _locked(repository=repository, number=snapshot.number)
    if issue is not None:
        return issue, "number"
    marked = marked_issue_id(snapshot.body)
    if marked is not None:
        issue = _locked(pk=marked, repository=repository, number__isnull=True)
        if issue is not None:
            return issue, "marker"
    wf = current()
    try:
        with transaction.atomic():
            issue = TrackerIssue.objects.create(
                repository=repository,
                number=snapshot.number,
                kind=(
                    TrackerIssue.Kind.BUG
                    if wf.bug_label in snapshot.labels
                    else TrackerIssue.Kind.OTHER
                ),
                title=snapshot.title[:MAX_TITLE],
                body=strip_markers(snapshot.body),
                state=snapshot.state,
                author_login=snapshot.author_login[:39],
            )
    except IntegrityError:
        # Another worker mirrored the same new issue a moment ago (two webhooks at once).
        issue = _locked(repository=repository, number=snapshot.number)
        if issue is None:
            raise
        return issue, "number"
    return _locked(pk=issue.pk) or issue, "new"


def _diff(before: list[str], target: list[str]) -> tuple[list[str], list[str]]:
    return [n for n in target if n not in before], [n for n in before if n not in target]


def _sync_labels(issue: TrackerIssue, target: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Make the label rows `target`; returns (before, added, removed)."""
    before = sorted(IssueLabel.objects.filter(issue=issue).values_list("name", flat=True))
    added, removed = _diff(before, target)
    IssueLabel.objects.filter(issue=issue, name__in=removed).delete()
    IssueLabel.objects.bulk_create([IssueLabel(issue=issue, name=name) for name in added])
    return before, added, removed


def _sync_assignees(
    issue: TrackerIssue, target: list[str]
) -> tuple[list[str], list[str], list[str]]:
    before = sorted(IssueAssignee.objects.filter(issue=issue).values_list("login", flat=True))
    added, removed = _diff(before, target)
    IssueAssignee.objects.filter(issue=issue, login__in=removed).delete()
    IssueAssignee.objects.bulk_create([IssueAssignee(issue=issue, login=lg) for lg in added])
    return before, added, removed


@transaction.atomic
def apply_remote_issue(
    snapshot: RemoteIssue, *, now: datetime.datetime | None = None
) -> TrackerIssue | None:
    """Upsert the mirror of one GitHub issue from a snapshot; None when its repository is not
    mirrored. Sends nothing. Idempotent: the same snapshot twice changes nothing."""
    repository = mirrored_repository(snapshot.repository)
    if repository is None:
        return None
    now = now or timezone.now()
    issue, found_by = _find_or_create(repository, snapshot)
    last = issue.remote_updated_at
    if found_by == "number" and last is None:
        # Numbered but never seen on GitHub: filed in the built-in tracker before the
        # repository moved to GitHub. GitHub's issue of that number is another issue.
        log.warning("%s: kept from the built-in tracker; GitHub's is ignored", issue.reference)
        return None
    if found_by != "new" and last is not None and snapshot.updated_at < last:
        log.info(
            "%s: snapshot of %s is older than the one applied (%s): ignored",
            issue.reference,
            snapshot.updated_at.isoformat(),
            last.isoformat(),
        )
        return issue
    pending = list(_pending(issue))
    changes: dict[str, list[Any]] = {}
    if found_by == "new":
        changes["mirrored"] = [None, f"{repository.name}#{snapshot.number}"]
    elif found_by == "marker":
        changes["number"] = [None, snapshot.number]
        issue.number = snapshot.number

    state = snapshot.state
    for change in pending:
        state = change.state or state
    title, body = snapshot.title[:MAX_TITLE], strip_markers(snapshot.body)
    for field, value in (("title", title), ("body", body), ("state", state)):
        old = getattr(issue, field)
        if old != value:
            if found_by != "new":
                changes[field] = [old[:200], value[:200]]
            setattr(issue, field, value)
    if not issue.author_login and snapshot.author_login:
        issue.author_login = snapshot.author_login[:39]
        changes.setdefault("author_login", ["", issue.author_login])
    seen = max(snapshot.updated_at, last) if last else snapshot.updated_at
    if changes or seen != last:  # a redelivery of the same news writes nothing
        issue.remote_updated_at = seen
        issue.save(
            update_fields=[
                "number",
                "title",
                "body",
                "state",
                "author_login",
                "remote_updated_at",
                "updated_at",
            ]
        )

    labels = _merge(snapshot.labels, [(c.labels_added, c.labels_removed) for c in pending])
    before, added, removed = _sync_labels(issue, labels)
    if added or removed:
        changes["labels"] = [before, sorted(labels)]
        # The stand-up board follows its label whoever moved it, from when GitHub says.
        _after_labels(issue, added=added, removed=removed, now=min(snapshot.updated_at, now))
    logins = _merge(snapshot.assignees, [(c.assignees_added, c.assignees_removed) for c in pending])
    before, added, removed = _sync_assignees(issue, logins)
    if added or removed:
        changes["assignees"] = [before, sorted(logins)]

    if changes:
        record_change(
            actor=None,
            action=ACTION,
            target=issue,
            target_label=issue.reference,
            changes=changes,
        )
    return issue


@transaction.atomic
def mark_remote_deleted(*, repository: str, number: int) -> TrackerIssue | None:
    """An issue deleted on GitHub stays in Ceres, closed: its bug report, acknowledgements,
    investigation time and audit trail are Ceres's records and outlive the GitHub issue. It
    leaves the stand-up board (no timer acts on an issue that is gone)."""
    repo = mirrored_repository(repository)
    if repo is None:
        return None
    issue = _locked(repository=repo, number=number, remote_updated_at__isnull=False)
    if issue is None:
        return None
    before = issue.state
    issue.state = TrackerIssue.State.CLOSED
    issue.on_board_since = issue.board_expires_at = None
    issue.save(update_fields=["state", "on_board_since", "board_expires_at", "updated_at"])
    record_change(
        actor=None,
        action=ACTION,
        target=issue,
        target_label=issue.reference,
        changes={"state": [before, issue.state], "deleted_on_github": [False, True]},
    )
    return issue


@transaction.atomic
def apply_remote_comment(comment: RemoteComment, *, action: str) -> IssueComment | None:
    """Mirror a comment made ("created"), changed ("edited") or removed ("deleted") on GitHub;
    None when the issue is not mirrored. Ceres's own comment, coming back, is recognised by its
    marker and gets GitHub's id: never a second row. A deleted comment is kept, marked deleted,
    so a conversation's history does not silently lose a line."""
    repo = mirrored_repository(comment.repository)
    if repo is None:
        return None
    issue = _locked(repository=repo, number=comment.issue_number, remote_updated_at__isnull=False)
    if issue is None:
        return None
    body = strip_markers(comment.body)
    row = IssueComment.objects.filter(issue=issue, remote_id=comment.comment_id).first()
    changes: dict[str, list[Any]] = {}
    if row is None:
        marked = marked_comment_id(comment.body)
        if marked is not None:
            row = IssueComment.objects.filter(
                pk=marked, issue=issue, remote_id__isnull=True
            ).first()
            if row is not None:
                row.remote_id = comment.comment_id
                row.save(update_fields=["remote_id"])
                changes["comment_id"] = [None, comment.comment_id]
    if row is None:
        if action == "deleted":
            return None
        row = IssueComment.objects.create(
            issue=issue,
            remote_id=comment.comment_id,
            author_login=comment.author_login[:39],
            body=body,
            created_at=comment.created_at,
        )
        changes["comment"] = [None, body[:200]]
    elif action == "deleted":
        if row.deleted_at is None:
            row.deleted_at = timezone.now()
            row.save(update_fields=["deleted_at"])
            changes["comment_deleted"] = [row.body[:200], None]
    elif row.deleted_at is None and row.body != body:
        changes["comment"] = [row.body[:200], body[:200]]
        row.body = body
        row.save(update_fields=["body"])
    if changes:
        record_change(
            actor=None,
            action=ACTION,
            target=issue,
            target_label=issue.reference,
            changes=changes,
        )
    return row


# --- what the outbox learnt when it delivered a creation --------------------------------------


@transaction.atomic
def record_issue_created(
    *, issue_id: int, number: int, remote_updated_at: datetime.datetime
) -> None:
    """The issue exists on GitHub under `number`. A webhook may have adopted the row first
    (by its marker): then there is nothing left to record."""
    issue = _locked(pk=issue_id)
    if issue is None or issue.number is not None:
        return
    issue.number = number
    if issue.remote_updated_at is None or issue.remote_updated_at < remote_updated_at:
        issue.remote_updated_at = remote_updated_at
    issue.save(update_fields=["number", "remote_updated_at", "updated_at"])
    record_change(
        actor=None,
        action=ACTION,
        target=issue,
        target_label=issue.reference,
        changes={"number": [None, number]},
    )


@transaction.atomic
def record_comment_posted(*, comment_id: int, remote_id: int) -> None:
    updated = IssueComment.objects.filter(pk=comment_id, remote_id__isnull=True).update(
        remote_id=remote_id
    )
    if updated:
        comment = IssueComment.objects.select_related("issue__repository").get(pk=comment_id)
        record_change(
            actor=None,
            action=ACTION,
            target=comment.issue,
            target_label=comment.issue.reference,
            changes={"comment_id": [None, remote_id]},
        )

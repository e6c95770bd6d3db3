"""The tracker on GitHub: Ceres's changes to mirrored issues, replicated through the outbox.

`GitHubBackend` is what `tracker.services` call after changing the rows: each change becomes an
outbox message in the same transaction (nothing leaves if the change rolls back; nothing is lost
if GitHub is down), naming the issue by its local id. The senders here resolve the GitHub number
when the message leaves.

Exactly once. Adding or removing labels and assignees and setting the state are idempotent on
GitHub, so a retry after a lost answer changes nothing. Creating an issue or a comment is not:
a retry could make a second one. So every issue body carries a hidden marker
(`<!-- ceres-issue:42 -->`, a comment `<!-- ceres-comment:7 -->`), and every attempt after the
first (the first may have reached GitHub with its answer lost, or its worker may have died)
looks for an issue or comment carrying the marker before creating one, and adopts it if found.
The webhook of a creation may also arrive first: `tracker.sync` adopts the row by the same
marker, and the creation then finds the number stored and does nothing.

A row with a number but never seen on GitHub (no `remote_updated_at`) was filed in the built-in
tracker before the repository switched to GitHub: its number means nothing there, so changes to
it are refused rather than made to whichever GitHub issue has that number.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from ceres.core.errors import NotFound
from ceres.core.outbox.channels import PermanentFailure, RetryLater
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import enqueue
from ceres.github import outbox
from ceres.github.client import github_client, github_errors
from ceres.tracker import selectors, sync
from ceres.tracker.backends import register_backend
from ceres.tracker.models import IssueComment, TrackerIssue, TrackerRepository

log = logging.getLogger(__name__)

# GitHub's clock and ours differ a little: the search for a lost creation looks this far back.
CLOCK_SKEW = datetime.timedelta(minutes=10)
SEARCH_PAGES = 5  # of 100: a lost creation is among the repository's newest issues
NOT_CREATED_RETRY = 60.0  # seconds
WAITING = (OutboxMessage.Status.PENDING, OutboxMessage.Status.DELIVERING)


def register() -> None:
    register_backend(TrackerRepository.Backend.GITHUB, GitHubBackend())
    for method, sender in SENDERS.items():
        outbox.register_mirror_sender(method, sender)


def _derived_key(key: str, suffix: str) -> str:
    """One change may need several messages: each gets the change's key and a suffix, hashed
    when it would not fit (the same change always gives the same keys)."""
    if len(key) + len(suffix) <= 200:
        return key + suffix
    return f"{hashlib.sha256(key.encode()).hexdigest()[:40]}{suffix}"[:200]


def _chunks(names: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(names), size):
        yield list(names[start : start + size])


class GitHubBackend:
    """The tracker protocol as outbox messages, one ordering key per issue."""

    def _enqueue(self, issue: TrackerIssue, key: str, method: str, **args: Any) -> None:
        enqueue(
            channel=outbox.CHANNEL,
            idempotency_key=key,
            payload={"method": method, "args": {"issue_id": issue.pk, **args}},
            ordering_key=outbox.issue_ordering_key(issue.pk),
        )

    def issue_opened(self, issue: TrackerIssue, *, key: str) -> None:
        labels = list(issue.label_rows.order_by("pk").values_list("name", flat=True))
        logins = list(issue.assignee_rows.order_by("pk").values_list("login", flat=True))
        self._enqueue(
            issue,
            key,
            "issues.create",
            title=issue.title,
            body=issue.body,
            labels=labels,
            assignees=logins[: outbox.MAX_ASSIGNEES],
        )
        # GitHub takes at most 10 assignees in one call; the rest follow the creation.
        for i, chunk in enumerate(_chunks(logins[outbox.MAX_ASSIGNEES :], outbox.MAX_ASSIGNEES)):
            self._enqueue(
                issue, _derived_key(key, f":assign:{i}"), "issues.add_assignees", assignees=chunk
            )

    def labels_changed(
        self, issue: TrackerIssue, *, added: Sequence[str], removed: Sequence[str], key: str
    ) -> None:
        for i, chunk in enumerate(_chunks(added, outbox.MAX_LABELS)):
            self._enqueue(issue, _derived_key(key, f":add:{i}"), "issues.add_labels", labels=chunk)
        for name in removed:
            self._enqueue(
                issue, _derived_key(key, f":remove:{name}"), "issues.remove_label", name=name
            )

    def assignees_changed(
        self, issue: TrackerIssue, *, added: Sequence[str], removed: Sequence[str], key: str
    ) -> None:
        for i, chunk in enumerate(_chunks(added, outbox.MAX_ASSIGNEES)):
            self._enqueue(
                issue, _derived_key(key, f":assign:{i}"), "issues.add_assignees", assignees=chunk
            )
        for i, chunk in enumerate(_chunks(removed, outbox.MAX_ASSIGNEES)):
            self._enqueue(
                issue,
                _derived_key(key, f":unassign:{i}"),
                "issues.remove_assignees",
                assignees=chunk,
            )

    def commented(self, issue: TrackerIssue, comment: IssueComment, *, key: str) -> None:
        self._enqueue(issue, key, "issues.create_comment", comment_id=comment.pk, body=comment.body)

    def state_changed(self, issue: TrackerIssue, *, key: str) -> None:
        self._enqueue(issue, key, "issues.update", state=issue.state)

    def pending_changes(self, issue: TrackerIssue) -> list[sync.PendingChange]:
        """Ceres's changes to the issue that GitHub has not seen yet, oldest first: the
        messages still waiting (or being delivered) under the issue's ordering key."""
        payloads = (
            OutboxMessage.objects.filter(
                channel=outbox.CHANNEL,
                ordering_key=outbox.issue_ordering_key(issue.pk),
                status__in=WAITING,
            )
            .order_by("pk")
            .values_list("payload", flat=True)
        )
        return [change for payload in payloads if (change := _as_change(payload)) is not None]


def _as_change(payload: Any) -> sync.PendingChange | None:
    method = payload.get("method") if isinstance(payload, dict) else None
    args = payload.get("args") if isinstance(payload, dict) else None
    if not isinstance(args, dict):
        return None

    def names(key: str) -> tuple[str, ...]:
        value = args.get(key)
        return tuple(str(v) for v in value) if isinstance(value, list) else ()

    if method == "issues.add_labels":
        return sync.PendingChange(labels_added=names("labels"))
    if method == "issues.remove_label" and isinstance(args.get("name"), str):
        return sync.PendingChange(labels_removed=(args["name"],))
    if method == "issues.add_assignees":
        return sync.PendingChange(assignees_added=names("assignees"))
    if method == "issues.remove_assignees":
        return sync.PendingChange(assignees_removed=names("assignees"))
    if method == "issues.update" and args.get("state") in ("open", "closed"):
        return sync.PendingChange(state=args["state"])
    return None  # a creation (its content is GitHub's already when a snapshot exists), a comment


# --- sending ----------------------------------------------------------------------------------


def _mirrored(args: dict[str, Any]) -> TrackerIssue:
    try:
        return selectors.get_issue(args["issue_id"])
    except NotFound as exc:
        raise PermanentFailure(f"issue {args['issue_id']} no longer exists in Ceres") from exc


def _owner_repo(issue: TrackerIssue) -> tuple[str, str]:
    owner, _, repo = issue.repository.name.partition("/")
    if not owner or not repo:
        raise PermanentFailure(f"{issue.repository.name!r} is not an owner/name repository")
    return owner, repo


def _on_github(issue: TrackerIssue) -> tuple[str, str, int]:
    """owner, repo and number of an issue GitHub has; or why the message cannot leave yet."""
    if issue.number is None:
        creation_dead = OutboxMessage.objects.filter(
            channel=outbox.CHANNEL,
            ordering_key=outbox.issue_ordering_key(issue.pk),
            status=OutboxMessage.Status.DEAD,
            payload__method="issues.create",
        ).exists()
        if creation_dead:
            raise PermanentFailure(f"issue {issue.pk} was never created on GitHub")
        raise RetryLater(NOT_CREATED_RETRY, f"issue {issue.pk} is not on GitHub yet")
    if issue.remote_updated_at is None:
        raise PermanentFailure(f"{issue.reference} was filed in the built-in tracker")
    owner, repo = _owner_repo(issue)
    return owner, repo, issue.number


def _object(response: Any, operation: str) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise RuntimeError(f"GitHub {operation}: the answer is not an object")
    return data


def _timestamp(value: Any) -> datetime.datetime:
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
    return datetime.datetime.now(datetime.UTC)


def _find_issue(
    client: Any, owner: str, repo: str, marker: str, since: datetime.datetime
) -> dict[str, Any] | None:
    """The issue carrying `marker` among those created since `since`, newest first."""
    for page in range(1, SEARCH_PAGES + 1):
        with github_errors("issues.list_for_repo"):
            items: list[dict[str, Any]] = client.rest.issues.list_for_repo(
                owner,
                repo,
                state="all",
                sort="created",
                direction="desc",
                since=since,
                per_page=100,
                page=page,
            ).json()
        for item in items:
            if "pull_request" not in item and marker in (item.get("body") or ""):
                return item
        oldest = items[-1].get("created_at") if items else None
        if len(items) < 100 or (isinstance(oldest, str) and _timestamp(oldest) < since):
            return None
    return None


def _find_comment(
    client: Any, owner: str, repo: str, number: int, marker: str, since: datetime.datetime
) -> dict[str, Any] | None:
    for page in range(1, SEARCH_PAGES + 1):
        with github_errors("issues.list_comments"):
            items: list[dict[str, Any]] = client.rest.issues.list_comments(
                owner, repo, number, since=since, per_page=100, page=page
            ).json()
        for item in items:
            if marker in (item.get("body") or ""):
                return item
        if len(items) < 100:
            return None
    return None


def send_create_issue(message: OutboxMessage, args: dict[str, Any]) -> str:
    issue = _mirrored(args)
    owner, repo = _owner_repo(issue)
    if issue.number is not None:
        return f"{owner}/{repo}#{issue.number} (adopted by its webhook)"
    marker = sync.issue_marker(issue.pk)
    client = github_client()
    found = None
    if message.attempts > 1:  # the first attempt may have reached GitHub
        found = _find_issue(client, owner, repo, marker, issue.created_at - CLOCK_SKEW)
        if found is not None:
            number = found.get("number")
            log.info("issue %s: adopted #%s, created by an earlier attempt", issue.pk, number)
    if found is None:
        with github_errors("issues.create"):
            response = client.rest.issues.create(
                owner,
                repo,
                title=args["title"],
                body=sync.with_marker(args["body"], marker),
                labels=args["labels"],
                assignees=args["assignees"],
            )
        found = _object(response, "issues.create")
    number = found.get("number")
    if not isinstance(number, int):
        raise RuntimeError(f"GitHub issues.create: no number in the answer for issue {issue.pk}")
    sync.record_issue_created(
        issue_id=issue.pk, number=number, remote_updated_at=_timestamp(found.get("updated_at"))
    )
    return f"{owner}/{repo}#{number}"


def send_create_comment(message: OutboxMessage, args: dict[str, Any]) -> str:
    issue = _mirrored(args)
    owner, repo, number = _on_github(issue)
    comment = IssueComment.objects.filter(pk=args["comment_id"], issue=issue).first()
    if comment is None:
        raise PermanentFailure(f"comment {args['comment_id']} no longer exists in Ceres")
    if comment.remote_id is not None:
        return f"{owner}/{repo}#{number} comment {comment.remote_id} (adopted by its webhook)"
    marker = sync.comment_marker(comment.pk)
    client = github_client()
    found = None
    if message.attempts > 1:
        since = comment.created_at - CLOCK_SKEW
        found = _find_comment(client, owner, repo, number, marker, since)
    if found is None:
        with github_errors("issues.create_comment"):
            response = client.rest.issues.create_comment(
                owner, repo, number, body=sync.with_marker(args["body"], marker)
            )
        found = _object(response, "issues.create_comment")
    remote_id = found.get("id")
    if not isinstance(remote_id, int):
        raise RuntimeError(f"GitHub issues.create_comment: no id in the answer for {comment.pk}")
    sync.record_comment_posted(comment_id=comment.pk, remote_id=remote_id)
    return f"{owner}/{repo}#{number} comment {remote_id}"


def send_add_labels(message: OutboxMessage, args: dict[str, Any]) -> str:
    owner, repo, number = _on_github(_mirrored(args))
    client = github_client()
    with github_errors("issues.add_labels"):
        client.rest.issues.add_labels(owner, repo, number, labels=args["labels"])
    return f"{owner}/{repo}#{number}:+{','.join(args['labels'])}"[:200]


def send_remove_label(message: OutboxMessage, args: dict[str, Any]) -> str:
    owner, repo, number = _on_github(_mirrored(args))
    outbox.call_remove_label(github_client(), owner, repo, number, args["name"])
    return f"{owner}/{repo}#{number}:-{args['name']}"


def _change_assignees(args: dict[str, Any], *, add: bool) -> str:
    owner, repo, number = _on_github(_mirrored(args))
    client = github_client()
    method = "issues.add_assignees" if add else "issues.remove_assignees"
    call = client.rest.issues.add_assignees if add else client.rest.issues.remove_assignees
    with github_errors(method):
        call(owner, repo, number, assignees=args["assignees"])
    return f"{owner}/{repo}#{number}:@{'+' if add else '-'}{','.join(args['assignees'])}"[:200]


def send_add_assignees(message: OutboxMessage, args: dict[str, Any]) -> str:
    return _change_assignees(args, add=True)


def send_remove_assignees(message: OutboxMessage, args: dict[str, Any]) -> str:
    return _change_assignees(args, add=False)


def send_update(message: OutboxMessage, args: dict[str, Any]) -> str:
    owner, repo, number = _on_github(_mirrored(args))
    client = github_client()
    with github_errors("issues.update"):
        client.rest.issues.update(owner, repo, number, state=args["state"])
    return f"{owner}/{repo}#{number}:{args['state']}"


SENDERS: dict[str, outbox.MirrorSender] = {
    "issues.create": send_create_issue,
    "issues.add_labels": send_add_labels,
    "issues.remove_label": send_remove_label,
    "issues.create_comment": send_create_comment,
    "issues.add_assignees": send_add_assignees,
    "issues.remove_assignees": send_remove_assignees,
    "issues.update": send_update,
}

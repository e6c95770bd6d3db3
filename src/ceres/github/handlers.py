"""GitHub's webhooks, handled: the tracker's mirror kept in step, and the "+" labels.

Issue and comment events (`issues.labeled`, `issue_comment.created`, ...) carry the issue as it
is after the change; each is parsed into a snapshot and applied by `tracker.sync`, which mirrors
only repositories configured as GitHub trackers and sends nothing back. A payload that does not
have the shape GitHub documents is logged and dropped (the event is marked processed): retrying
cannot fix it, and an exception would only retry it until it is dead. An issue deleted on GitHub
stays in Ceres, closed (`tracker.sync.mark_remote_deleted` says why). Writes are audited as the
GitHub user who made the change ("GitHub @login").

"+" labels (the earlier handbook): when someone who is not on the team comments on an open
issue, every label whose name starts with "+" (the playbook's `bug_workflow.plus_labels.prefix`)
comes off, because the team was waiting for them.
Team comments leave them. "On the team" is the team directory's GitHub logins, compared
case-insensitively (GitHub logins are case-insensitive; a bot that compares them exactly misses
"RaviMenon" commenting as "ravimenon"), plus `CERES_GITHUB_BOTS` and the playbook's
`plus_labels.ignore_bots`. On a mirrored issue the labels
come off through the tracker (mirror, audit, outbox); on any other, straight through the outbox.
"""

from __future__ import annotations

import datetime
import logging
import re
from typing import Any

from django.conf import settings

from ceres.core.audit.services import acting_as, record_change
from ceres.core.errors import Invalid
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.registry import register_handler
from ceres.github.outbox import remove_label
from ceres.team.models import Person
from ceres.tracker import selectors, services, sync
from ceres.tracker.models import TrackerIssue
from ceres.tracker.workflow import current

log = logging.getLogger(__name__)

ISSUE_ACTIONS = (
    "opened",
    "edited",
    "closed",
    "reopened",
    "labeled",
    "unlabeled",
    "assigned",
    "unassigned",
)
COMMENT_ACTIONS = ("created", "edited", "deleted")
_REPO = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
MAX_NAME = 100  # the mirror's label column; GitHub allows 50
MAX_LOGIN = 39


def register() -> None:
    for action in ISSUE_ACTIONS:
        register_handler("github", f"issues.{action}", on_issue_changed)
    register_handler("github", "issues.deleted", on_issue_deleted)
    register_handler("github", "issue_comment.created", on_comment_created)
    register_handler("github", "issue_comment.edited", on_comment_changed)
    register_handler("github", "issue_comment.deleted", on_comment_changed)


# --- parsing ----------------------------------------------------------------------------------


class Malformed(ValueError):
    """The payload lacks what GitHub always sends: the event is dropped, with its reason."""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _positive(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise Malformed(f"{field}: not a positive integer")
    return value


def _text(value: Any, field: str, *, maximum: int = 70_000) -> str:
    if not isinstance(value, str) or len(value) > maximum or "\x00" in value:
        raise Malformed(f"{field}: not a text of at most {maximum} characters")
    return value


def _when(value: Any, field: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(_text(value, field, maximum=40))
    except ValueError as exc:
        raise Malformed(f"{field}: not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def _repository(payload: dict[str, Any]) -> str:
    name = _dict(payload.get("repository")).get("full_name")
    if not isinstance(name, str) or not _REPO.match(name):
        raise Malformed("repository.full_name: not owner/name")
    return name


def _names(items: Any, key: str, field: str, maximum: int) -> tuple[str, ...]:
    """Label names or logins. One GitHub could not have sent (too long, not a text) is left
    out, with a warning, rather than losing the whole event."""
    if items is None:
        return ()
    if not isinstance(items, list):
        raise Malformed(f"{field}: not a list")
    names: list[str] = []
    for item in items:
        name = _dict(item).get(key)
        if isinstance(name, str) and 0 < len(name) <= maximum and "\x00" not in name:
            names.append(name)
        else:
            log.warning("github payload: %s: left out %r", field, str(item)[:80])
    return tuple(dict.fromkeys(names))


def _login(value: Any) -> str:
    login = _dict(value).get("login")
    return login if isinstance(login, str) else ""


def parse_issue(payload: dict[str, Any]) -> sync.RemoteIssue | None:
    """The issue of an `issues` or `issue_comment` event; None for a pull request (Ceres
    tracks issues)."""
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        raise Malformed("issue: missing")
    if "pull_request" in issue:
        return None
    state = issue.get("state")
    if state not in ("open", "closed"):
        raise Malformed("issue.state: not open or closed")
    assignees = issue.get("assignees")
    if assignees is None and issue.get("assignee"):
        assignees = [issue["assignee"]]
    return sync.RemoteIssue(
        repository=_repository(payload),
        number=_positive(issue.get("number"), "issue.number"),
        title=_text(issue.get("title"), "issue.title", maximum=1024),
        body=_text(issue.get("body") or "", "issue.body"),
        state=state,
        labels=_names(issue.get("labels"), "name", "issue.labels", MAX_NAME),
        assignees=_names(assignees, "login", "issue.assignees", MAX_LOGIN),
        updated_at=_when(issue.get("updated_at"), "issue.updated_at"),
        author_login=_login(issue.get("user")),
    )


def parse_comment(payload: dict[str, Any]) -> sync.RemoteComment:
    comment = payload.get("comment")
    if not isinstance(comment, dict):
        raise Malformed("comment: missing")
    return sync.RemoteComment(
        repository=_repository(payload),
        issue_number=_positive(_dict(payload.get("issue")).get("number"), "issue.number"),
        comment_id=_positive(comment.get("id"), "comment.id"),
        body=_text(comment.get("body") or "", "comment.body"),
        author_login=_login(comment.get("user")),
        created_at=_when(comment.get("created_at"), "comment.created_at"),
    )


def _as_sender(event: InboundEvent) -> str:
    login = _login(event.payload.get("sender"))
    return f"GitHub @{login[:60]}" if login else "GitHub"


def _dropped(event: InboundEvent, error: Malformed) -> None:
    log.warning("github %s (%s): malformed payload, ignored: %s", event, event.event_type, error)


# --- the mirror -------------------------------------------------------------------------------


def on_issue_changed(event: InboundEvent) -> None:
    try:
        snapshot = parse_issue(event.payload)
    except Malformed as exc:
        _dropped(event, exc)
        return
    if snapshot is None:
        return
    with acting_as(_as_sender(event)):
        if sync.apply_remote_issue(snapshot) is None:
            log.info("github %s: %s is not a mirrored repository", event, snapshot.repository)


def on_issue_deleted(event: InboundEvent) -> None:
    try:
        repository = _repository(event.payload)
        number = _positive(_dict(event.payload.get("issue")).get("number"), "issue.number")
    except Malformed as exc:
        _dropped(event, exc)
        return
    with acting_as(_as_sender(event)):
        sync.mark_remote_deleted(repository=repository, number=number)


def _sync_comment(event: InboundEvent, action: str) -> None:
    try:
        snapshot = parse_issue(event.payload)
        comment = parse_comment(event.payload)
    except Malformed as exc:
        _dropped(event, exc)
        return
    if snapshot is None:
        return
    with acting_as(_as_sender(event)):
        # The issue first (the mirror may not have it yet, and its labels may have moved).
        if sync.apply_remote_issue(snapshot) is not None:
            sync.apply_remote_comment(comment, action=action)


def on_comment_changed(event: InboundEvent) -> None:
    action = event.event_type.rpartition(".")[2]
    if action in COMMENT_ACTIONS:
        _sync_comment(event, action)


def on_comment_created(event: InboundEvent) -> None:
    _sync_comment(event, "created")
    _remove_plus_labels(event)


# --- "+" labels -------------------------------------------------------------------------------


def on_the_team(login: str) -> bool:
    folded = login.strip().lower()
    if not folded:
        return False
    if folded in settings.CERES_GITHUB_BOTS or current().ignores_bot(folded):
        return True
    return Person.objects.filter(is_active=True, github_login__iexact=folded).exists()


def _remove_plus_labels(event: InboundEvent) -> None:
    payload = event.payload
    issue, comment = _dict(payload.get("issue")), _dict(payload.get("comment"))
    repo = _dict(payload.get("repository")).get("full_name")
    number = issue.get("number")
    login = _dict(comment.get("user")).get("login")
    if not isinstance(repo, str) or not isinstance(number, int) or not isinstance(login, str):
        return
    if "pull_request" in issue:
        return
    mirrored = sync.mirrored_issue(repo, number)
    if mirrored is not None:
        _remove_plus_labels_on_mirror(event, mirrored, login)
        return
    if issue.get("state") != "open":
        return
    labels: list[str] = [
        str(label["name"])
        for label in issue.get("labels") or []
        if isinstance(label, dict) and isinstance(label.get("name"), str)
    ]
    plus = [name for name in labels if name.startswith(current().plus_prefix)]
    if not plus or on_the_team(login):
        return
    for name in plus:
        remove_label(
            idempotency_key=f"github-{event.event_id}-remove-{name}"[:200],
            repo=repo,
            number=number,
            name=name,
        )
    record_change(
        actor=None,
        action="github.plus_labels_removed",
        target=event,
        target_label=f"{repo}#{number}",
        changes={"labels": [plus, []], "comment_by": [None, login]},
    )
    log.info("%s#%s: %s commented, removing %s", repo, number, login, ", ".join(plus))


def _remove_plus_labels_on_mirror(event: InboundEvent, issue: TrackerIssue, login: str) -> None:
    """The mirror has just taken the comment's snapshot (and Ceres's pending changes): its
    labels are the ones to look at."""
    if issue.state != TrackerIssue.State.OPEN:
        return
    plus = [name for name in selectors.labels_of(issue) if name.startswith(current().plus_prefix)]
    if not plus or on_the_team(login):
        return
    try:
        with acting_as(_as_sender(event)):
            services.change_labels(
                actor=None,
                issue=issue,
                remove=plus,
                key=f"github-{event.event_id}-plus"[:200],
                action="github.plus_labels_removed",
            )
    except Invalid as exc:  # a label name the tracker refuses (GitHub allows more): say so
        log.warning("%s: cannot remove %s: %s", issue.reference, ", ".join(plus), exc.message)
        return
    log.info("%s: %s commented, removing %s", issue.reference, login, ", ".join(plus))

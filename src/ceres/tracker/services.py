"""Every write to the tracker: issues, labels, assignees, comments, state.

Each service changes Ceres's rows and tells the repository's backend in the same transaction
(the GitHub backend writes outbox messages, so GitHub hears of it once, after commit). Every
text bound for a public repository passes the confidentiality firewall first. Every change is
audited.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone

from ceres.core.audit.services import Actor, record_change
from ceres.core.errors import Invalid
from ceres.core.firewall import check_public_text
from ceres.team.models import Person
from ceres.tracker.backends import backend_for
from ceres.tracker.models import (
    IssueAssignee,
    IssueComment,
    IssueLabel,
    TrackerIssue,
    TrackerRepository,
)
from ceres.tracker.standup import board_calendar, board_expires_at
from ceres.tracker.workflow import current

MAX_TITLE = 256  # GitHub's limit
MAX_BODY = 65_536  # GitHub's limit for an issue or comment body
MAX_LABEL = 50  # GitHub's limit for a label name
MAX_LOGIN = 39


def new_key(issue: TrackerIssue | None, what: str) -> str:
    """An idempotency key for a change made once, now (a person's click, a service call)."""
    return f"tracker-{issue.pk if issue else 'new'}-{what}-{uuid.uuid4().hex}"[:200]


def check_public(repository: TrackerRepository, texts: dict[str, str]) -> None:
    """The firewall for a text bound for a public repository: a customer's real name anywhere
    blocks it and says where (the field, the line, the column)."""
    if not repository.is_public:
        return
    for field, text in texts.items():
        check_public_text(text, field=field, destination=f"the public repository {repository}")


def clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise Invalid("an issue needs a title", field="title")
    if len(title) > MAX_TITLE:
        raise Invalid(f"at most {MAX_TITLE} characters", field="title")
    return title


def clean_body(body: str, *, field: str = "body") -> str:
    if len(body) > MAX_BODY:
        raise Invalid(f"at most {MAX_BODY} characters", field=field)
    if "\x00" in body:
        raise Invalid("may not contain NUL characters", field=field)
    return body


def clean_labels(names: Iterable[str], *, field: str = "labels") -> list[str]:
    cleaned: list[str] = []
    for name in names:
        name = name.strip()
        if not name or len(name) > MAX_LABEL or "\x00" in name or "," in name:
            raise Invalid(
                f"a label is 1 to {MAX_LABEL} characters without commas: {name[:60]!r}",
                field=field,
            )
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def clean_logins(logins: Iterable[str], *, field: str = "assignees") -> list[str]:
    cleaned: list[str] = []
    for login in logins:
        login = login.strip().lstrip("@")
        if not login or len(login) > MAX_LOGIN or not login.replace("-", "").isalnum():
            raise Invalid(f"not a GitHub login: {login[:60]!r}", field=field)
        if login not in cleaned:
            cleaned.append(login)
    return cleaned


def _lock(issue: TrackerIssue) -> TrackerIssue:
    return (
        TrackerIssue.objects.select_for_update(of=("self",))
        .select_related("repository")
        .get(pk=issue.pk)
    )


@transaction.atomic
def open_issue(
    *,
    actor: Actor,
    repository: TrackerRepository,
    title: str,
    body: str,
    kind: str = TrackerIssue.Kind.OTHER,
    labels: Sequence[str] = (),
    assignees: Sequence[str] = (),
    created_by: Person | None = None,
    key: str | None = None,
) -> TrackerIssue:
    title, body = clean_title(title), clean_body(body)
    names, logins = clean_labels(labels), clean_logins(assignees)
    check_public(repository, {"title": title, "body": body, "labels": "\n".join(names)})
    issue = TrackerIssue.objects.create(
        repository=repository,
        kind=kind,
        title=title,
        body=body,
        created_by=created_by,
        author_login=created_by.github_login if created_by else "",
    )
    IssueLabel.objects.bulk_create([IssueLabel(issue=issue, name=n) for n in names])
    IssueAssignee.objects.bulk_create([IssueAssignee(issue=issue, login=lg) for lg in logins])
    backend_for(repository).issue_opened(issue, key=key or new_key(issue, "open"))
    _after_labels(issue, added=names, removed=[], now=timezone.now())
    record_change(
        actor=actor,
        action="tracker.issue.open",
        target=issue,
        target_label=issue.reference,
        changes={"title": [None, title], "labels": [None, names], "kind": [None, kind]},
    )
    return issue


def _after_labels(
    issue: TrackerIssue, *, added: Sequence[str], removed: Sequence[str], now: datetime.datetime
) -> None:
    """The stand-up board's timers follow its label, whoever put it on or took it off."""
    wf = current()
    fields: list[str] = []
    if wf.standup_label in added:
        issue.on_board_since = now
        issue.board_expires_at = board_expires_at(
            board_calendar(wf.calendar), now, wf.remove_on_business_day
        )
        issue.needs_update_since = None
        fields += ["on_board_since", "board_expires_at", "needs_update_since"]
    elif wf.standup_label in removed:
        issue.on_board_since = issue.board_expires_at = None
        fields += ["on_board_since", "board_expires_at"]
    if any(name in added for name in wf.reproduced_add) and issue.needs_update_since:
        issue.needs_update_since = None
        fields.append("needs_update_since")
    if fields:
        issue.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def change_labels(
    *,
    actor: Actor,
    issue: TrackerIssue,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    key: str | None = None,
    action: str = "tracker.labels",
    now: datetime.datetime | None = None,
) -> tuple[list[str], list[str]]:
    """Add and remove labels; returns what actually changed (adding a label already there and
    removing one already gone change nothing, and nothing is sent for them)."""
    issue = _lock(issue)
    add, remove = clean_labels(add, field="add"), clean_labels(remove, field="remove")
    present = set(IssueLabel.objects.filter(issue=issue).values_list("name", flat=True))
    added = [n for n in add if n not in present and n not in remove]
    removed = [n for n in remove if n in present]
    if not added and not removed:
        return [], []
    check_public(issue.repository, {"add": "\n".join(added)})
    IssueLabel.objects.bulk_create([IssueLabel(issue=issue, name=n) for n in added])
    IssueLabel.objects.filter(issue=issue, name__in=removed).delete()
    key = key or new_key(issue, "labels")
    backend_for(issue.repository).labels_changed(issue, added=added, removed=removed, key=key)
    _after_labels(issue, added=added, removed=removed, now=now or timezone.now())
    record_change(
        actor=actor,
        action=action,
        target=issue,
        target_label=issue.reference,
        changes={"labels": [sorted(present), sorted((present | set(added)) - set(removed))]},
    )
    return added, removed


@transaction.atomic
def change_assignees(
    *,
    actor: Actor,
    issue: TrackerIssue,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    key: str | None = None,
) -> tuple[list[str], list[str]]:
    issue = _lock(issue)
    add, remove = clean_logins(add, field="add"), clean_logins(remove, field="remove")
    present = set(IssueAssignee.objects.filter(issue=issue).values_list("login", flat=True))
    folded = {p.lower() for p in present}
    added = [lg for lg in add if lg.lower() not in folded]
    removed = [lg for lg in present if lg.lower() in {r.lower() for r in remove}]
    if not added and not removed:
        return [], []
    IssueAssignee.objects.bulk_create([IssueAssignee(issue=issue, login=lg) for lg in added])
    IssueAssignee.objects.filter(issue=issue, login__in=removed).delete()
    key = key or new_key(issue, "assignees")
    backend_for(issue.repository).assignees_changed(issue, added=added, removed=removed, key=key)
    record_change(
        actor=actor,
        action="tracker.assignees",
        target=issue,
        target_label=issue.reference,
        changes={"assignees": [sorted(present), sorted((present | set(added)) - set(removed))]},
    )
    return added, removed


@transaction.atomic
def add_comment(
    *,
    actor: Actor,
    issue: TrackerIssue,
    body: str,
    author: Person | None,
    key: str | None = None,
) -> IssueComment:
    body = clean_body(body.strip())
    if not body:
        raise Invalid("a comment needs some text", field="body")
    check_public(issue.repository, {"body": body})
    comment = IssueComment.objects.create(
        issue=issue,
        body=body,
        author=author,
        author_login=author.github_login if author else "",
        created_at=timezone.now(),
    )
    backend_for(issue.repository).commented(issue, comment, key=key or new_key(issue, "comment"))
    record_change(
        actor=actor,
        action="tracker.comment",
        target=issue,
        target_label=issue.reference,
        changes={"comment": [None, body[:200]]},
    )
    return comment


@transaction.atomic
def set_state(
    *, actor: Actor, issue: TrackerIssue, state: str, key: str | None = None
) -> TrackerIssue:
    if state not in TrackerIssue.State.values:
        raise Invalid("must be open or closed", field="state")
    issue = _lock(issue)
    if issue.state == state:
        return issue
    before = issue.state
    issue.state = state
    issue.save(update_fields=["state", "updated_at"])
    backend_for(issue.repository).state_changed(issue, key=key or new_key(issue, state))
    record_change(
        actor=actor,
        action="tracker.state",
        target=issue,
        target_label=issue.reference,
        changes={"state": [before, state]},
    )
    return issue

"""The handbook's "Escalate a customer bug report", as a state machine over labels.

    incoming ──escalate──▶ investigating ──(2nd business day ends)──▶ needs update
        ▲                      │   │                                     │
        └───not reproduced─────┘   └──reproduced──▶ product ◀──reproduced┘

The stage is read from the labels (tracker.workflow.stage_of), so a label moved by hand on
GitHub moves the issue too; each move changes labels through tracker.services (mirrored to the
tracker, audited) and is refused, naming the stage, when it does not apply.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from ceres.core.audit.services import Actor, acting_as, record_change
from ceres.core.errors import Conflict
from ceres.team.models import Person
from ceres.tracker import selectors, services
from ceres.tracker.models import IssueComment, StandupAcknowledgement, TrackerIssue
from ceres.tracker.standup import board_calendar
from ceres.tracker.workflow import MOVES, Stage, current, stage_of

__all__ = ["MOVES", "Stage", "acknowledge", "escalate", "expire_board", "stage"]

UPDATE_REQUEST = (
    "This issue has been on the stand-up board for a second business day, so `{label}` comes "
    "off. Please update it with any available logs, reproduction steps and details."
)


def stage(issue: TrackerIssue) -> str:
    return stage_of(
        selectors.labels_of(issue),
        closed=issue.state == TrackerIssue.State.CLOSED,
        needs_update=issue.needs_update_since is not None,
    )


def _check_move(issue: TrackerIssue, move: str) -> None:
    now = stage(issue)
    if now not in MOVES[move]:
        raise Conflict(
            f"cannot {move.replace('_', ' ')} an issue that is {Stage.LABELS[now].lower()}",
            field="stage",
        )


def _fresh(issue: TrackerIssue) -> TrackerIssue:
    return selectors.get_issue(issue.pk)


@transaction.atomic
def _move(
    *, actor: Actor, issue: TrackerIssue, move: str, add: Sequence[str], remove: Sequence[str]
) -> TrackerIssue:
    """One move of the state machine: checked against the stage under the issue's lock, the
    labels changed through the tracker (mirrored, audited as `tracker.<move>`)."""
    issue = services._lock(issue)
    _check_move(_fresh(issue), move)
    services.change_labels(
        actor=actor, issue=issue, add=add, remove=remove, action=f"tracker.{move}"
    )
    if move != "escalate":  # a verdict answers the request for fresh details
        TrackerIssue.objects.filter(pk=issue.pk).update(needs_update_since=None)
    return _fresh(issue)


def escalate(*, actor: Actor, issue: TrackerIssue) -> TrackerIssue:
    """Remove :incoming and :reproduce, add ~investigate and :help-customers."""
    wf = current()
    return _move(
        actor=actor, issue=issue, move="escalate", add=wf.escalate_add, remove=wf.escalate_remove
    )


def mark_reproduced(*, actor: Actor, issue: TrackerIssue) -> TrackerIssue:
    """Reproduced: to the :product drafting board, off the stand-up board."""
    wf = current()
    remove = (wf.standup_label, *wf.not_reproduced_add)
    return _move(actor=actor, issue=issue, move="reproduced", add=wf.reproduced_add, remove=remove)


def mark_not_reproduced(*, actor: Actor, issue: TrackerIssue) -> TrackerIssue:
    """Not reproduced: :incoming and :reproduce back, so QA triages it."""
    wf = current()
    add, remove = wf.not_reproduced_add, (wf.standup_label,)
    return _move(actor=actor, issue=issue, move="not_reproduced", add=add, remove=remove)


def today_on_board(now: datetime.datetime | None = None) -> datetime.date:
    cal = board_calendar(current().calendar)
    return (now or timezone.now()).astimezone(cal.zone).date()


@transaction.atomic
def acknowledge(
    *, actor: Actor, issue: TrackerIssue, person: Person | None, note: str = ""
) -> StandupAcknowledgement:
    """The manager's acknowledgement at today's stand-up: a comment on the issue, once a day."""
    issue = services._lock(issue)
    wf = current()
    if wf.standup_label not in selectors.labels_of(_fresh(issue)):
        raise Conflict(
            f"the issue is not on the stand-up board ({wf.standup_label})", field="issue"
        )
    day = today_on_board()
    earlier = StandupAcknowledgement.objects.filter(issue=issue, day=day).first()
    if earlier is not None:
        return earlier
    who = person.name if person else "The team"
    body = f"Acknowledged at the :help-customers stand-up ({day:%b %-d}) by {who}."
    if note.strip():
        body += f"\n\n{note.strip()}"
    comment = services.add_comment(actor=actor, issue=issue, body=body, author=person)
    ack = StandupAcknowledgement.objects.create(
        issue=issue, day=day, acknowledged_by=person, comment=comment
    )
    record_change(
        actor=actor,
        action="tracker.standup_ack",
        target=issue,
        target_label=issue.reference,
        changes={"acknowledged": [None, day.isoformat()]},
    )
    return ack


def expire_board(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """The periodic sweep: every ~investigate issue whose second business day has closed
    loses the label and is flagged for fresh logs, reproduction steps and details (a comment
    asks for them). Idempotent: the timer is cleared in the same transaction."""
    now = now or timezone.now()
    due = list(
        TrackerIssue.objects.filter(board_expires_at__lte=now)
        .order_by("board_expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in due:
        with acting_as("stand-up board"), transaction.atomic():
            issue = (
                TrackerIssue.objects.select_for_update(of=("self",))
                .select_related("repository")
                .filter(pk=pk, board_expires_at__lte=now)
                .first()
            )
            if issue is None:
                continue  # another worker did it, or the label came off meanwhile
            expired_since = issue.on_board_since
            wf = current()
            services.change_labels(
                actor=None,
                issue=issue,
                remove=[wf.standup_label],
                key=f"tracker-{pk}-board-expired-{expired_since:%Y%m%dT%H%M%S%f}",
                action="tracker.standup_expired",
                now=now,
            )
            TrackerIssue.objects.filter(pk=pk).update(
                needs_update_since=now, board_expires_at=None, on_board_since=None
            )
            services.add_comment(
                actor=None,
                issue=issue,
                body=UPDATE_REQUEST.format(label=wf.standup_label),
                author=None,
                key=f"tracker-{pk}-board-expired-comment-{expired_since:%Y%m%dT%H%M%S%f}",
            )
            done += 1
    return done


def comments_of(issue: TrackerIssue) -> list[IssueComment]:
    return list(issue.comments.filter(deleted_at__isnull=True).select_related("author"))

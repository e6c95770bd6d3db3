"""The handbook's "Timebox an investigation": block time, at most one hour at a time, to dig
into an issue; a block that runs past its hour asks whether to escalate.

    start_block ─▶ running ───── stop_block ─────────────────────────────────────────────▶ stopped
                      │                                                                     ▲
                      └─ ends_at passes: the sweep ─▶ prompted ── stop_block, or 8 h later ─┘

Decisions (docs/tracker.md, "Timebox an investigation"):
- One running block per person (a partial unique constraint). Starting a second one is a
  Conflict naming the running block, never a silent stop: the person should see that the
  other block is still open (and may be past its hour) and stop it themselves.
- A block counts the time it was planned for, at most: `min(stopped_at or now, ends_at) -
  started_at`. Time past the hour is not logged; the handbook's answer to "I need more time" is
  a new block (or escalation), which the prompt offers.
- The prompt goes once per block: the sweep claims it with a conditional update of
  `escalation_prompted_at`, and the outbox key names the block, so two sweeps racing or a
  re-run send one message. It goes by Slack DM when the person has a Slack user id, by e-mail
  otherwise.
- A block left running more than ABANDONED_AFTER past its end is stopped by the sweep at its
  `ends_at` (so it logs its planned length) with a note saying so; a block already that stale when
  first swept gets no "hour is up" prompt.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ceres.core.audit.services import Actor, acting_as, record_change
from ceres.core.errors import Conflict, Invalid, NotFound
from ceres.slack import outbox as slack_outbox
from ceres.team.models import Person
from ceres.tracker.models import InvestigationBlock, TrackerIssue

log = logging.getLogger(__name__)

MAX_MINUTES = 60  # the handbook: "maximum 1 hour at a time"
MINUTE_CHOICES = (15, 30, 45, 60)
MAX_NOTE = 500  # InvestigationBlock.note
# A block still running this long after its end was forgotten: the sweep stops it.
ABANDONED_AFTER = datetime.timedelta(hours=8)
AUTO_STOP_NOTE = "Stopped by Ceres: still running 8 hours after the block ended."

NEXT_STEPS = (
    "Escalate to other CSEs or CSAs (the :help-customers stand-up).",
    "Contact the developer on-call (@oncall in #help-engineering).",
    "Request the applicable logs from the customer.",
)


# --- checks ------------------------------------------------------------------------------------


def clean_minutes(minutes: object) -> int:
    if isinstance(minutes, str):
        minutes = minutes.strip()
        if not (minutes.isascii() and minutes.isdigit()) or len(minutes) > 4:
            raise Invalid(f"must be a whole number of minutes, 1 to {MAX_MINUTES}", field="minutes")
        minutes = int(minutes)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES:
        raise Invalid(
            f"a block is 1 to {MAX_MINUTES} minutes (the handbook's maximum is one hour)",
            field="minutes",
        )
    return minutes


def clean_note(note: str) -> str:
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise Invalid(f"at most {MAX_NOTE} characters", field="note")
    if "\x00" in note:
        raise Invalid("may not contain NUL characters", field="note")
    return note


def _joined(earlier: str, later: str) -> str:
    return f"{earlier}\n{later}" if earlier and later else earlier or later


# --- reads -------------------------------------------------------------------------------------


def running_block_of(person: Person) -> InvestigationBlock | None:
    """The person's running block, on whichever issue (there is at most one)."""
    return (
        InvestigationBlock.objects.filter(person=person, stopped_at__isnull=True)
        .select_related("issue__repository", "person")
        .first()
    )


def get_block(block_id: int) -> InvestigationBlock:
    block = (
        InvestigationBlock.objects.select_related("issue__repository", "person")
        .filter(pk=block_id)
        .first()
    )
    if block is None:
        raise NotFound("no such investigation block", field="block_id")
    return block


def logged_time(block: InvestigationBlock, now: datetime.datetime) -> datetime.timedelta:
    """What a block counts: until it stopped (or now, while it runs), at most its planned
    length; never negative (a clock that stepped back)."""
    end = min(block.stopped_at or now, block.ends_at)
    return max(end - block.started_at, datetime.timedelta(0))


def duration_text(span: datetime.timedelta) -> str:
    """0m, 45m, 1h, 2h 5m: whole minutes, rounded down."""
    minutes = max(int(span.total_seconds()) // 60, 0)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes}m"
    return f"{hours}h {minutes}m" if minutes else f"{hours}h"


@dataclass(frozen=True)
class BlockLine:
    block: InvestigationBlock
    logged: datetime.timedelta
    running: bool
    overran: bool  # still running past its end

    @property
    def logged_text(self) -> str:
        return duration_text(self.logged)

    @property
    def planned_minutes(self) -> int:
        return int((self.block.ends_at - self.block.started_at).total_seconds()) // 60


@dataclass(frozen=True)
class PersonTime:
    person: Person
    logged: datetime.timedelta
    blocks: int
    running: bool

    @property
    def logged_text(self) -> str:
        return duration_text(self.logged)


@dataclass(frozen=True)
class TimeLog:
    people: list[PersonTime]  # the most time first
    blocks: list[BlockLine]  # the latest first
    total: datetime.timedelta

    @property
    def total_text(self) -> str:
        return duration_text(self.total)


def block_line(block: InvestigationBlock, now: datetime.datetime) -> BlockLine:
    running = block.stopped_at is None
    return BlockLine(
        block=block,
        logged=logged_time(block, now),
        running=running,
        overran=running and block.ends_at <= now,
    )


def time_logged(issue: TrackerIssue, *, now: datetime.datetime | None = None) -> TimeLog:
    """The investigation time of an issue, per person and block by block (one query)."""
    now = now or timezone.now()
    blocks = list(
        InvestigationBlock.objects.filter(issue=issue)
        .select_related("person")
        .order_by("-started_at", "-id")
    )
    lines = [block_line(block, now) for block in blocks]
    people: dict[int, PersonTime] = {}
    for line in lines:
        earlier = people.get(line.block.person_id)
        people[line.block.person_id] = PersonTime(
            person=line.block.person,
            logged=(earlier.logged if earlier else datetime.timedelta(0)) + line.logged,
            blocks=(earlier.blocks if earlier else 0) + 1,
            running=(earlier.running if earlier else False) or line.running,
        )
    ordered = sorted(people.values(), key=lambda p: (-p.logged, p.person.name, p.person.pk))
    return TimeLog(
        people=ordered,
        blocks=lines,
        total=sum((line.logged for line in lines), datetime.timedelta(0)),
    )


# --- writes ------------------------------------------------------------------------------------


def _running_conflict(running: InvestigationBlock, issue: TrackerIssue) -> Conflict:
    until = timezone.localtime(running.ends_at).strftime("%H:%M")
    if running.issue_id == issue.pk:
        return Conflict(
            f"{running.person.name} already has a block running on this issue (until {until})",
            field="block",
        )
    return Conflict(
        f"{running.person.name} already has a block running on {running.issue.reference} "
        f"(block {running.pk}, until {until}); stop it first",
        field="block",
    )


@transaction.atomic
def start_block(
    *,
    actor: Actor,
    issue: TrackerIssue,
    person: Person,
    minutes: int = MAX_MINUTES,
    note: str = "",
    now: datetime.datetime | None = None,
) -> InvestigationBlock:
    """Block `minutes` (1 to 60) of the person's time on the issue, starting now."""
    minutes, note = clean_minutes(minutes), clean_note(note)
    if not person.is_active:
        raise Invalid(f"{person.name} is not an active team member", field="person")
    if issue.state == TrackerIssue.State.CLOSED:
        raise Conflict(f"{issue.reference} is closed; reopen it to investigate", field="issue")
    running = running_block_of(person)
    if running is not None:
        raise _running_conflict(running, issue)
    now = now or timezone.now()
    try:
        with transaction.atomic():  # a savepoint: the constraint may refuse a racing start
            block = InvestigationBlock.objects.create(
                issue=issue,
                person=person,
                started_at=now,
                ends_at=now + datetime.timedelta(minutes=minutes),
                note=note,
            )
    except IntegrityError:
        running = running_block_of(person)
        if running is None:
            raise
        raise _running_conflict(running, issue) from None
    record_change(
        actor=actor,
        action="tracker.timebox.start",
        target=issue,
        target_label=issue.reference,
        changes={
            "block": [None, block.pk],
            "person": [None, person.name],
            "minutes": [None, minutes],
            **({"note": [None, note]} if note else {}),
        },
    )
    return block


@transaction.atomic
def stop_block(
    *,
    actor: Actor,
    block: InvestigationBlock,
    note: str = "",
    now: datetime.datetime | None = None,
) -> InvestigationBlock:
    """Stop a running block; stopping a stopped block changes nothing (and is not audited), so
    a second click or a stop racing the sweep's auto-stop is harmless."""
    note = clean_note(note)
    current = _fresh(block)
    if current.stopped_at is not None:
        return current
    joined = _joined(current.note, note)
    if len(joined) > MAX_NOTE:
        raise Invalid(
            f"the block's notes together are at most {MAX_NOTE} characters "
            f"({max(MAX_NOTE - len(current.note) - 1, 0)} left)",
            field="note",
        )
    stopped = _stop(
        actor=actor,
        block=current,
        note=note,
        joined=joined,
        stopped_at=max(now or timezone.now(), current.started_at),
        action="tracker.timebox.stop",
    )
    return stopped or _fresh(current)


def _fresh(block: InvestigationBlock) -> InvestigationBlock:
    return InvestigationBlock.objects.select_related("issue__repository", "person").get(pk=block.pk)


def _stop(
    *,
    actor: Actor,
    block: InvestigationBlock,
    note: str,
    joined: str,
    stopped_at: datetime.datetime,
    action: str,
) -> InvestigationBlock | None:
    """Stop the block unless someone else did first (then None)."""
    # The conditional update is the claim: whoever stops it first wins, once.
    claimed = InvestigationBlock.objects.filter(pk=block.pk, stopped_at__isnull=True).update(
        stopped_at=stopped_at, note=joined
    )
    if not claimed:
        return None
    block.stopped_at, block.note = stopped_at, joined
    record_change(
        actor=actor,
        action=action,
        target=block.issue,
        target_label=f"{block.issue.reference} block {block.pk}",
        changes={
            "stopped_at": [None, stopped_at],
            "logged_minutes": [None, int(logged_time(block, stopped_at).total_seconds()) // 60],
            **({"note": [None, note]} if note else {}),
        },
    )
    return block


# --- the sweep ---------------------------------------------------------------------------------


def issue_link(issue: TrackerIssue) -> str:
    # A fixed path (not reverse()): the sweep runs in a worker and needs no URLconf.
    return f"{settings.BASE_URL.rstrip('/')}/tracker/{issue.pk}/"


def prompt_text(block: InvestigationBlock) -> str:
    """The "hour is up" prompt. The issue's title only when it is in the public repository
    (so it passed the confidentiality firewall): the person may see codenames only."""
    issue = block.issue
    what = issue.reference
    if issue.repository.is_public:
        what += f" ({issue.title[:120]})"
    planned = duration_text(block.ends_at - block.started_at)
    steps = "\n".join(f"• {step}" for step in NEXT_STEPS)
    return (
        f"[Ceres] Your {planned} investigation block on {what} is up. "
        "The handbook timeboxes an investigation to one hour at a time; if it is not solved, "
        f"consider the next steps:\n{steps}\n"
        f"Escalate, stop the block or start another one: {issue_link(issue)}"
    )


def _prompt(block: InvestigationBlock) -> str:
    """Send the prompt (in the caller's transaction, through the outbox); returns the way."""
    person = block.person
    key = f"tracker-block-{block.pk}-hour-up"
    text = prompt_text(block)
    how = slack_outbox.dm_or_email(
        person,
        key=key,
        text=text,
        subject=f"Investigation block on {block.issue.reference}: time is up",
    )
    if not how:
        log.warning("investigation block %s: %s cannot be told", block.pk, person.pk)
        return "nobody (inactive, or no Slack id and no e-mail)"
    return how


class SweepResult(NamedTuple):
    prompted: int
    stopped: int


def sweep_overrun(*, now: datetime.datetime | None = None, limit: int = 500) -> SweepResult:
    """The periodic sweep (every minute): stop the blocks forgotten for ABANDONED_AFTER, then
    prompt, once each, the people whose running block has passed its end."""
    now = now or timezone.now()
    stopped = _stop_abandoned(now=now, limit=limit)
    due = list(
        InvestigationBlock.objects.filter(
            stopped_at__isnull=True, escalation_prompted_at__isnull=True, ends_at__lte=now
        )
        .order_by("ends_at")
        .values_list("pk", flat=True)[:limit]
    )
    prompted = 0
    for pk in due:
        with acting_as("investigation timebox"), transaction.atomic():
            claimed = InvestigationBlock.objects.filter(
                pk=pk, stopped_at__isnull=True, escalation_prompted_at__isnull=True
            ).update(escalation_prompted_at=now)
            if not claimed:
                continue  # stopped meanwhile, or another sweep prompted it
            block = InvestigationBlock.objects.select_related("issue__repository", "person").get(
                pk=pk
            )
            via = _prompt(block)
            record_change(
                actor=None,
                action="tracker.timebox.prompt",
                target=block.issue,
                target_label=f"{block.issue.reference} block {pk}",
                changes={"escalation_prompted": [None, via]},
            )
            prompted += 1
    return SweepResult(prompted=prompted, stopped=stopped)


def _stop_abandoned(*, now: datetime.datetime, limit: int) -> int:
    abandoned = list(
        InvestigationBlock.objects.filter(
            stopped_at__isnull=True, ends_at__lte=now - ABANDONED_AFTER
        )
        .order_by("ends_at")
        .values_list("pk", flat=True)[:limit]
    )
    stopped = 0
    for pk in abandoned:
        with acting_as("investigation timebox"), transaction.atomic():
            block = InvestigationBlock.objects.select_related("issue__repository", "person").get(
                pk=pk
            )
            if block.stopped_at is not None:
                continue
            # The person's own note is shortened if need be, to make room for Ceres's.
            kept = block.note[: MAX_NOTE - len(AUTO_STOP_NOTE) - 1]
            done = _stop(
                actor=None,
                block=block,
                note=AUTO_STOP_NOTE,
                joined=_joined(kept, AUTO_STOP_NOTE),
                stopped_at=block.ends_at,
                action="tracker.timebox.auto_stop",
            )
            if done is not None:
                stopped += 1
    return stopped

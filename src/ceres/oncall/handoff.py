"""The weekly on-call handoff summary (the handbook's "provide a summary in #help-customers");
the weekly retro is `oncall.retro`.

Decisions (docs/oncall.md, "Handoff summary and retro"):
- The week's handoff is the first handoff of an ISO week (Monday to Sunday, in the time zone of
  the schedule's lowest layer) from one person to another. A handoff to nobody (a gap begins)
  is not one; after a gap the outgoing on-call is the last person on call before it, and a
  person coming back after a gap (a business-hours schedule's morning) is no handoff at all.
  `week_start` is that week's Monday; the summary covers the seven days before the handoff
  (same wall-clock time a week earlier: 167 or 169 hours across a DST change, like the turns).
- One summary per schedule and week: the database refuses a second row, so two workers racing
  draft one, and only the one that wrote it sends the DM (in its transaction, via the outbox).
- The draft names only issues of the public repository: the confidential one's titles never
  reach a Slack channel. The summary is posted as plain text: `&`, `<` and `>` are escaped, so
  an alarm title reading `<!channel>` cannot ping the channel (bare links still unfurl).
- Posting is final: a posted summary is what the channel read, so editing or posting it again is
  a Conflict.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ceres.core.audit.services import (
    Actor,
    acting_as,
    diff,
    record_change,
    record_save,
    snapshot,
)
from ceres.core.errors import Conflict, Invalid, NotFound
from ceres.oncall import selectors
from ceres.oncall.models import Alarm, EscalationStep, HandoffSummary, OnCallSchedule
from ceres.oncall.schedule import Schedule, final_schedule, handoffs
from ceres.slack import outbox as slack_outbox
from ceres.team.models import Person
from ceres.tracker.models import IssueLabel, TrackerIssue, TrackerRepository
from ceres.tracker.selectors import with_label
from ceres.tracker.workflow import current as current_workflow

log = logging.getLogger(__name__)

MAX_BODY = 40_000  # Slack's limit for a message's text
LIST_LIMIT = 20  # lines per list of the draft, then "and N more"
TITLE_LIMIT = 150  # characters of a title in the draft, so 4 lists stay far below MAX_BODY
DRAFT_WINDOW = datetime.timedelta(hours=24)
WEEK = datetime.timedelta(days=7)
SUMMARY_FIELDS = ("body", "posted_at", "posted_by")
WATCH_PLACEHOLDER = "- _Add what the next on-call should keep an eye out for._"


# --- checks and small helpers ------------------------------------------------------------------


def clean_text(value: object, *, field: str, most: int, required: bool) -> str:
    if not isinstance(value, str):
        raise Invalid("must be text", field=field)
    if "\x00" in value:
        raise Invalid("must not contain NUL characters", field=field)
    value = value.strip()
    if required and not value:
        raise Invalid("must not be blank", field=field)
    if len(value) > most:
        raise Invalid(f"at most {most:,} characters (it has {len(value):,})", field=field)
    return value


def schedule_zone(schedule: OnCallSchedule) -> ZoneInfo:
    """The schedule's local time: its lowest layer's zone (UTC without layers)."""
    layer = schedule.layers.order_by("position").first()
    return ZoneInfo(layer.timezone if layer else "UTC")


def _local_days_later(instant: datetime.datetime, days: int, tz: ZoneInfo) -> datetime.datetime:
    local = instant.astimezone(tz)
    moved = datetime.datetime.combine(local.date() + datetime.timedelta(days=days), local.time())
    return moved.replace(tzinfo=tz).astimezone(datetime.UTC)


def monday_of(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def duration_text(span: datetime.timedelta) -> str:
    """45m, 2h 5m, 3d 4h: whole minutes, the two largest units."""
    minutes = max(int(span.total_seconds()) // 60, 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def slack_text(body: str) -> str:
    """Slack's three control characters escaped: the body is text, not Slack markup."""
    return body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def summary_link(summary: HandoffSummary) -> str:
    # A fixed path (not reverse()): the job runs in a worker and needs no URLconf.
    return f"{settings.BASE_URL.rstrip('/')}/oncall/handoffs/{summary.pk}/"


# --- reads -------------------------------------------------------------------------------------


def alarms_of(schedule: OnCallSchedule) -> QuerySet[Alarm]:
    """Alarms whose integration is the schedule's, or whose chain pages the schedule."""
    pages_it = EscalationStep.objects.filter(
        policy_id=OuterRef("integration__escalation_policy_id"), schedule=schedule
    )
    return Alarm.objects.filter(Q(integration__schedule=schedule) | Q(Exists(pages_it)))


def week_alarms(schedule: OnCallSchedule, week_start: datetime.date) -> QuerySet[Alarm]:
    """The alarms first seen in the retro's week: Monday 00:00 to the next Monday 00:00 in the
    schedule's time zone, oldest first."""
    tz = schedule_zone(schedule)
    start = datetime.datetime.combine(week_start, datetime.time(), tzinfo=tz)
    end = datetime.datetime.combine(week_start + WEEK, datetime.time(), tzinfo=tz)
    return (
        alarms_of(schedule)
        .filter(first_seen_at__gte=start, first_seen_at__lt=end)
        .select_related("acknowledged_by")
        .order_by("first_seen_at", "pk")
    )


def summaries() -> QuerySet[HandoffSummary]:
    return HandoffSummary.objects.select_related("schedule", "outgoing", "posted_by").order_by(
        "-week_start", "schedule__name", "-pk"
    )


def get_summary(summary_id: int) -> HandoffSummary:
    summary = summaries().filter(pk=summary_id).first()
    if summary is None:
        raise NotFound("no such handoff summary", field="summary_id")
    return summary


# --- the week's handoff ------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekHandoff:
    at: datetime.datetime
    week_start: datetime.date  # the Monday of the handoff, local to the schedule
    week_from: datetime.datetime  # the same wall-clock time seven days earlier
    outgoing: str  # engine person keys (Person ids as text)
    incoming: str


def _last_person(engine: Schedule, start: datetime.datetime, end: datetime.datetime) -> str | None:
    for shift in reversed(final_schedule(engine, start, end)):
        if shift.person is not None:
            return shift.person
    return None


def week_handoffs(
    schedule: OnCallSchedule, start: datetime.datetime, end: datetime.datetime
) -> Iterator[WeekHandoff]:
    """The handoffs in [start, end) from one person to another (see the module docstring)."""
    tz = schedule_zone(schedule)
    engine = selectors.engine_schedule(schedule, overrides_from=start - WEEK - WEEK)
    for handoff in handoffs(engine, start, end):
        if handoff.incoming is None:
            continue
        week_from = _local_days_later(handoff.at, -7, tz)
        outgoing = handoff.outgoing or _last_person(engine, week_from, handoff.at)
        if outgoing is None or outgoing == handoff.incoming:
            continue
        week_start = monday_of(handoff.at.astimezone(tz).date())
        yield WeekHandoff(handoff.at, week_start, week_from, outgoing, handoff.incoming)


# --- the draft ---------------------------------------------------------------------------------


def _when(instant: datetime.datetime, tz: ZoneInfo) -> str:
    return f"{instant.astimezone(tz):%a %b %-d, %H:%M}"


def _section(title: str, lines: list[str], total: int, detail: str = "") -> list[str]:
    out = [f"*{title}*{detail}: {total or 'none'}", *lines]
    if total > len(lines):
        out.append(f"- and {total - len(lines)} more")
    return [*out, ""]


def _alarm_line(alarm: Alarm, tz: ZoneInfo) -> str:
    times = f" ({alarm.count} times)" if alarm.count > 1 else ""
    head = f"- {_when(alarm.first_seen_at, tz)} [{alarm.severity}] {_short(alarm.title)}{times}"
    if alarm.status == Alarm.Status.RESOLVED and alarm.resolved_at:
        state = f"resolved after {duration_text(alarm.resolved_at - alarm.first_seen_at)}"
    else:
        state = str(alarm.status)
    acknowledged_at = alarm.first_acknowledged_at or alarm.acknowledged_at
    if acknowledged_at is None:
        ack = "not acknowledged"
    else:
        who = alarm.acknowledged_by.name if alarm.acknowledged_by else "someone"
        ack = f"acknowledged by {who} in {duration_text(acknowledged_at - alarm.first_seen_at)}"
    return f"{head}: {state}, {ack}"


def _unresolved_line(alarm: Alarm, tz: ZoneInfo) -> str:
    times = f" ({alarm.count} times)" if alarm.count > 1 else ""
    who = f", acknowledged by {alarm.acknowledged_by.name}" if alarm.acknowledged_by else ""
    since = _when(alarm.first_seen_at, tz)
    return f"- [{alarm.severity}] {_short(alarm.title)}{times}: {alarm.status} since {since}{who}"


def open_public_issues() -> tuple[QuerySet[TrackerIssue], QuerySet[TrackerIssue]]:
    """Open issues of the public repository: with end-user impact (`bug` and a customer label),
    and without (`~investigate` or `bug`, no customer label). Newest first."""
    workflow = current_workflow()
    customer = Exists(
        IssueLabel.objects.filter(
            issue=OuterRef("pk"), name__startswith=workflow.customer_label_prefix
        )
    )
    public = (
        TrackerIssue.objects.filter(
            state=TrackerIssue.State.OPEN,
            repository__visibility=TrackerRepository.Visibility.PUBLIC,
        )
        .select_related("repository")
        .prefetch_related("label_rows")
        .order_by("-created_at", "-id")
    )
    bug = with_label(workflow.bug_label)
    with_impact = public.filter(bug).filter(customer)
    without = public.filter(bug | with_label(workflow.standup_label)).exclude(customer)
    return with_impact, without


def _issue_line(issue: TrackerIssue, labels: tuple[str, ...]) -> str:
    shown = [row.name for row in issue.label_rows.all() if row.name.startswith(labels)]
    tags = f" ({', '.join(shown)})" if shown else ""
    link = issue.web_url or f"{settings.BASE_URL.rstrip('/')}/tracker/{issue.pk}/"
    return f"- {issue.reference} {_short(issue.title)}{tags} {link}"


def draft_body(
    schedule: OnCallSchedule, week: WeekHandoff, outgoing: Person, incoming: Person | None
) -> str:
    tz = schedule_zone(schedule)
    alarms = alarms_of(schedule).select_related("acknowledged_by")
    of_week = alarms.filter(first_seen_at__gte=week.week_from, first_seen_at__lt=week.at)
    # What the outgoing on-call leaves behind: later alarms are already the incoming's.
    unresolved = alarms.exclude(status=Alarm.Status.RESOLVED).filter(first_seen_at__lt=week.at)
    with_impact, without = open_public_issues()
    workflow = current_workflow()
    impact_tags = (workflow.customer_label_prefix,)
    other_tags = (workflow.bug_label, workflow.standup_label)
    span = f"{_when(week.week_from, tz)} to {_when(week.at, tz)} {week.at.astimezone(tz):%Z}"
    lines = [
        f"*{schedule.name}: on-call handoff, {week.at.astimezone(tz):%a %b %-d, %Y}*",
        f"{outgoing.name} hands over to {incoming.name if incoming else 'nobody'}.",
        "",
        *_section(
            "Alarms of the week",
            [_alarm_line(a, tz) for a in of_week.order_by("first_seen_at", "pk")[:LIST_LIMIT]],
            of_week.count(),
            f" ({span})",
        ),
        *_section(
            "Still unresolved",
            [_unresolved_line(a, tz) for a in unresolved.order_by("first_seen_at")[:LIST_LIMIT]],
            unresolved.count(),
        ),
        *_section(
            "Open issues with end-user impact",
            [_issue_line(i, impact_tags) for i in with_impact[:LIST_LIMIT]],
            with_impact.count(),
        ),
        *_section(
            "Open issues without end-user impact",
            [_issue_line(i, other_tags) for i in without[:LIST_LIMIT]],
            without.count(),
        ),
        "*Items to watch*",
        WATCH_PLACEHOLDER,
    ]
    return "\n".join(lines)[:MAX_BODY]


# --- writes: the summary -----------------------------------------------------------------------


def _already_drafted(schedule: OnCallSchedule, week_start: datetime.date) -> bool:
    return HandoffSummary.objects.filter(schedule=schedule, week_start=week_start).exists()


def _notify(summary: HandoffSummary, person: Person) -> str:
    """Tell the outgoing on-call their draft is ready (in the caller's transaction)."""
    key = f"oncall-handoff-{summary.pk}-drafted"
    text = (
        f"[Ceres] Your on-call week on {summary.schedule.name} has ended: your handoff summary "
        "is drafted (the week's alarms, open issues with and without end-user impact). Add the "
        f"items to watch, then post it: {summary_link(summary)}"
    )
    how = slack_outbox.dm_or_email(
        person,
        key=key,
        text=text,
        subject=f"Handoff summary for {summary.schedule.name}: please review and post",
    )
    if not how:
        log.warning("handoff summary %s: %s cannot be told", summary.pk, person.pk)
        return "nobody (inactive, or no Slack id and no e-mail)"
    return how


def _draft(schedule: OnCallSchedule, week: WeekHandoff, now: datetime.datetime) -> bool:
    with transaction.atomic():
        if _already_drafted(schedule, week.week_start):
            return False
        people = Person.objects.in_bulk([int(week.outgoing), int(week.incoming)])
        outgoing = people.get(int(week.outgoing))
        if outgoing is None:
            return False
        body = draft_body(schedule, week, outgoing, people.get(int(week.incoming)))
        try:
            with transaction.atomic():  # a savepoint: another worker may have drafted it
                summary = HandoffSummary.objects.create(
                    schedule=schedule,
                    week_start=week.week_start,
                    outgoing=outgoing,
                    body=body,
                    drafted_at=now,
                )
        except IntegrityError:
            return False
        via = _notify(summary, outgoing)
        record_change(
            actor=None,
            action="oncall.handoff.draft",
            target=summary,
            target_label=f"{schedule.key} {week.week_start}",
            changes={"outgoing": [None, outgoing.pk], "notified": [None, via]},
        )
    return True


def draft_summaries(*, now: datetime.datetime | None = None) -> int:
    """The periodic job: a draft for each schedule whose week's handoff happened in the last
    24 hours and has none yet. Returns how many were drafted."""
    now = now or timezone.now()
    drafted = 0
    with acting_as("handoff summary"):
        for schedule in OnCallSchedule.objects.filter(layers__isnull=False).distinct():
            try:
                weeks = list(week_handoffs(schedule, now - DRAFT_WINDOW, now))
            except Invalid as exc:  # a layer's calendar deleted since: the others go on
                log.warning("handoff summaries: %s skipped: %s", schedule.key, exc.message)
                continue
            drafted += sum(_draft(schedule, week, now) for week in weeks)
    return drafted


def _locked(summary: HandoffSummary) -> HandoffSummary:
    return (
        HandoffSummary.objects.select_for_update(of=("self",))
        .select_related("schedule")
        .get(pk=summary.pk)
    )


def _refuse_posted(summary: HandoffSummary, field: str) -> None:
    if summary.posted_at is not None:
        raise Conflict(
            f"posted on {summary.posted_at:%Y-%m-%d %H:%M} UTC: a posted summary is final",
            field=field,
        )


@transaction.atomic
def save_summary(*, actor: Actor, summary: HandoffSummary, body: str) -> HandoffSummary:
    """Replace the draft's body. Refused once posted (the channel has read it)."""
    body = clean_text(body, field="body", most=MAX_BODY, required=True)
    summary = _locked(summary)
    _refuse_posted(summary, "body")
    before = snapshot(summary, SUMMARY_FIELDS)
    summary.body = body
    summary.save(update_fields=["body"])
    record_save(
        actor=actor,
        action="oncall.handoff",
        target=summary,
        target_label=f"{summary.schedule.key} {summary.week_start}",
        before=before,
        after=snapshot(summary, SUMMARY_FIELDS),
    )
    return summary


@transaction.atomic
def post_summary(
    *,
    actor: Actor,
    summary: HandoffSummary,
    person: Person | None,
    body: str | None = None,
    now: datetime.datetime | None = None,
) -> HandoffSummary:
    """Post the summary (with `body`, when given, saved first) to the schedule's handoff
    channel, once: the Slack message leaves through the outbox after the commit."""
    text = None if body is None else clean_text(body, field="body", most=MAX_BODY, required=True)
    summary = _locked(summary)
    _refuse_posted(summary, "__all__")
    channel = summary.schedule.handoff_channel
    if not channel:
        raise Invalid(
            f"{summary.schedule.name} has no handoff channel: set the Slack channel the summary "
            "goes to (the playbook rotation's `channel`, e.g. #help-customers' id) first",
            field="handoff_channel",
        )
    before = snapshot(summary, SUMMARY_FIELDS)
    summary.body = text if text is not None else summary.body
    summary.posted_at, summary.posted_by = now or timezone.now(), person
    try:
        slack_outbox.post_in_thread(
            idempotency_key=f"oncall-handoff-{summary.pk}-post",
            channel=channel,
            thread_ts=None,
            text=slack_text(summary.body),
        )
    except Invalid as exc:
        field = "handoff_channel" if exc.field.endswith(".channel") else "body"
        raise Invalid(f"{channel}: {exc.message}", field=field) from exc
    summary.save(update_fields=["body", "posted_at", "posted_by"])
    changes = {**diff(before, snapshot(summary, SUMMARY_FIELDS)), "channel": [None, channel]}
    record_change(
        actor=actor,
        action="oncall.handoff.post",
        target=summary,
        target_label=f"{summary.schedule.key} {summary.week_start}",
        changes=changes,
    )
    return summary

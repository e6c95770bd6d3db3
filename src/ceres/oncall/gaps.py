"""Gaps ahead (nobody on call) announced once, before they start: "Gaps (nobody on call) are
shown ahead of time and alerted."

A periodic job (`oncall.gap-alerts`, every 15 minutes) looks `ahead` (a week) in each schedule's
final schedule. Each gap it has not announced yet gets a `GapAlert` row and is told about, in
one transaction: a message to the schedule's `handoff_channel`, or, without a channel, a Slack DM
(an e-mail for someone without a Slack id) to each active person of the schedule's layers.

Which gaps are alerted. A layer is *meant* to be on call 24/7 when it has no restriction, and
in its restriction's open hours otherwise. A gap is alerted when some of it falls in hours
some layer is meant to be on call; a gap entirely outside them is the schedule's design (a
business-hours schedule's nights, weekends and holidays) and is only logged, at DEBUG. So a 24/7
schedule has every gap alerted, a business-hours schedule only the gaps in business hours (a
layer that has not started yet, or, later, one that has ended), and a schedule of a 24/7 layer
under a business-hours one only what the 24/7 layer leaves open. A schedule without layers
means nobody to be on call and is never alerted.

Once. The schedule row is locked while its alerts are compared and written, so two runs at once
are one after the other; and `GapAlert` is unique per (schedule, start), so a run that slipped
past the check fails on insert (IntegrityError: already alerted), rolls back its messages too,
and is logged. A gap that overlaps an alerted one is the same gap, not a new one: a gap under
way has its start cut to "now" and its end to the end of the look-ahead, both of which move
from run to run, so the alert's end is extended as the gap is seen to go on, and it is never
announced again. A gap partly filled by an override is still the same gap.

The times are shown in the time zone of the schedule's lowest layer and in UTC, with a link to
the On-call page, where an override fills the gap.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ceres.core.audit.services import acting_as, record_change
from ceres.core.businesstime import open_intervals
from ceres.oncall import selectors
from ceres.oncall.models import GapAlert, OnCallSchedule, ScheduleLayer
from ceres.oncall.schedule import Schedule, Shift, gaps
from ceres.slack import outbox as slack_outbox
from ceres.team.models import Person

log = logging.getLogger(__name__)

ACTOR = "on-call gap alerts"
AHEAD = datetime.timedelta(days=7)
# At most this many gaps are listed in one message (all get their row); the page has the rest.
MAX_LISTED = 20


def alert_gaps(*, now: datetime.datetime | None = None, ahead: datetime.timedelta = AHEAD) -> int:
    """Announce the gaps starting within `ahead` that were not announced yet; returns how many
    gaps were newly alerted. A schedule that fails (a calendar deleted) is logged and the others
    go on."""
    now = now or timezone.now()
    alerted = 0
    for pk in OnCallSchedule.objects.order_by("pk").values_list("pk", flat=True):
        try:
            alerted += alert_schedule_gaps(schedule_id=pk, now=now, ahead=ahead)
        except IntegrityError:
            log.info(
                "on-call schedule %s: a gap was alerted by another run at the same time; "
                "nothing sent twice, the rest is alerted on the next run",
                pk,
            )
        except Exception:
            log.exception("on-call schedule %s: gaps ahead not alerted", pk)
    return alerted


def meant_to_be_covered(schedule: Schedule, gap: Shift) -> bool:
    """Whether some of the gap falls in hours a layer is meant to be on call (module
    docstring): any 24/7 layer, or a restriction open at some instant of it."""
    for layer in schedule.layers:
        if layer.restriction is None:
            return True
        if next(open_intervals(layer.restriction, gap.start, gap.end), None) is not None:
            return True
    return False


def _alert_overlapping(schedule: OnCallSchedule, gap: Shift) -> GapAlert | None:
    return (
        GapAlert.objects.filter(schedule=schedule, start__lt=gap.end, end__gt=gap.start)
        .order_by("start")
        .first()
    )


def alert_schedule_gaps(
    *, schedule_id: int, now: datetime.datetime, ahead: datetime.timedelta = AHEAD
) -> int:
    """One schedule, under its row lock: record and announce its new gaps."""
    window_end = now + ahead
    with acting_as(ACTOR), transaction.atomic():
        schedule = OnCallSchedule.objects.select_for_update().filter(pk=schedule_id).first()
        if schedule is None:
            return 0
        engine = selectors.engine_schedule(schedule, overrides_from=now)
        found = gaps(engine, now, window_end)
        meant = [gap for gap in found if meant_to_be_covered(engine, gap)]
        if len(meant) < len(found):
            log.debug(
                "on-call schedule %s: %d gap(s) ahead outside its layers' hours, by design; "
                "not alerted",
                schedule.key,
                len(found) - len(meant),
            )
        new: list[Shift] = []
        for gap in meant:
            earlier = _alert_overlapping(schedule, gap)
            if earlier is None:
                new.append(gap)
            elif gap.end > earlier.end:  # the same gap, seen to go on further
                GapAlert.objects.filter(pk=earlier.pk).update(end=gap.end)
        if not new:
            return 0
        GapAlert.objects.bulk_create(
            [
                GapAlert(schedule=schedule, start=gap.start, end=gap.end, alerted_at=now)
                for gap in new
            ]
        )
        layers = list(schedule.layers.order_by("position"))
        via = _announce(schedule, layers, new, now=now, window_end=window_end)
        record_change(
            actor=None,
            action="oncall.gap.alert",
            target=schedule,
            target_label=schedule.key,
            changes={
                "gaps_alerted": [None, [[_iso(gap.start), _iso(gap.end)] for gap in new]],
                "via": [None, via],
            },
        )
    log.info(
        "on-call schedule %s: %d gap(s) ahead alerted (%s), the first from %s",
        schedule.key,
        len(new),
        ", ".join(via) or "nobody",
        _iso(new[0].start),
    )
    return len(new)


def _iso(instant: datetime.datetime) -> str:
    return instant.astimezone(datetime.UTC).isoformat()


# --- the message -------------------------------------------------------------------------------


def _zone(layers: Sequence[ScheduleLayer]) -> ZoneInfo:
    return ZoneInfo(layers[0].timezone) if layers else ZoneInfo("UTC")


def _when(instant: datetime.datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%a %d %b %H:%M %Z}"


def _span(
    gap: Shift, zone: ZoneInfo, *, now: datetime.datetime, window_end: datetime.datetime
) -> str:
    utc = ZoneInfo("UTC")
    started = "now (under way)" if gap.start <= now else _when(gap.start, zone)
    until = "at least " if gap.end >= window_end else ""
    local = f"from {started} until {until}{_when(gap.end, zone)}"
    if zone.key == "UTC":
        return local
    return f"{local} ({_when(gap.start, utc)} to {_when(gap.end, utc)})"


def _escape(text: str) -> str:
    """Slack mrkdwn's three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def gap_message(
    *,
    schedule_name: str,
    spans: Sequence[str],
    link: str,
    slack: bool,
) -> str:
    """What is sent: the schedule, each gap (its time zone and UTC), and where to fill it."""
    name = f"*{_escape(schedule_name)}*" if slack else schedule_name
    bullet = "•" if slack else "-"
    many = len(spans) > 1
    lines = [f"{'Gaps' if many else 'Gap'} ahead: nobody will be on call for {name}"]
    lines += [f"{bullet} {span}" for span in spans[:MAX_LISTED]]
    if len(spans) > MAX_LISTED:
        lines.append(f"{bullet} and {len(spans) - MAX_LISTED} more")
    lines.append(f"Cover {'them' if many else 'it'} with an override on the On-call page: {link}")
    return "\n".join(lines)


def _announce(
    schedule: OnCallSchedule,
    layers: Sequence[ScheduleLayer],
    new: Sequence[Shift],
    *,
    now: datetime.datetime,
    window_end: datetime.datetime,
) -> list[str]:
    """Write the messages to the outbox (in the caller's transaction); returns who was told."""
    zone = _zone(layers)
    spans = [_span(gap, zone, now=now, window_end=window_end) for gap in new]
    link = settings.BASE_URL.rstrip("/") + "/oncall/"
    key = f"oncall-gap-{schedule.pk}-{new[0].start.astimezone(datetime.UTC):%Y%m%dT%H%M%S.%fZ}"
    if schedule.handoff_channel:
        slack_outbox.post_in_thread(
            idempotency_key=key,
            channel=schedule.handoff_channel,
            thread_ts=None,
            text=gap_message(schedule_name=schedule.name, spans=spans, link=link, slack=True),
        )
        return [f"slack channel {schedule.handoff_channel}"]
    ids: list[int] = list(
        dict.fromkeys(person_id for layer in layers for person_id in layer.people)
    )
    people = Person.objects.in_bulk(ids)
    told: list[str] = []
    for person_id in ids:
        person = people.get(person_id)
        if person is None:
            continue
        how = slack_outbox.dm_or_email(
            person,
            key=f"{key}-person-{person.pk}",
            text=gap_message(schedule_name=schedule.name, spans=spans, link=link, slack=True),
            subject=f"On-call gap ahead: nobody on call for {schedule.name}",
            email_text=gap_message(
                schedule_name=schedule.name, spans=spans, link=link, slack=False
            ),
        )
        if how:
            told.append(f"{'slack dm' if how == 'slack' else how} {person.pk}")
    if not told:
        log.warning(
            "on-call schedule %s: gaps ahead but no handoff channel and nobody active in its "
            "layers to tell; recorded as alerted",
            schedule.key,
        )
    return told

"""The weekly on-call retro (the earlier handbook): "What went well? What could have gone
better? What should we remember next time?", one per schedule and week, kept beside the week's
alarms (`handoff.week_alarms`) and searchable.

Search is `icontains` on each word, over the three answers: a schedule has about 52 retros a
year, so a scan is instant for decades and needs no index.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ceres.core.audit.services import Actor, record_save, snapshot
from ceres.core.errors import Conflict, Invalid, NotFound
from ceres.oncall.handoff import clean_text, monday_of, schedule_zone
from ceres.oncall.models import OnCallSchedule, Retro
from ceres.team.models import Person

MAX_ANSWER = 20_000
MAX_QUERY = 200
MAX_QUERY_WORDS = 10
RETRO_FIELDS = ("schedule", "week_start", "went_well", "could_be_better", "remember", "written_by")
ANSWERS = ("went_well", "could_be_better", "remember")


def get_retro(retro_id: int) -> Retro:
    retro = Retro.objects.select_related("schedule", "written_by").filter(pk=retro_id).first()
    if retro is None:
        raise NotFound("no such retro", field="retro_id")
    return retro


def search_retros(query: str = "", schedule: OnCallSchedule | None = None) -> QuerySet[Retro]:
    """Retros whose answers hold every word of `query` (each in any answer), newest first."""
    if len(query) > MAX_QUERY:
        raise Invalid(f"at most {MAX_QUERY} characters", field="q")
    retros = Retro.objects.select_related("schedule", "written_by")
    if schedule is not None:
        retros = retros.filter(schedule=schedule)
    for word in query.split()[:MAX_QUERY_WORDS]:
        retros = retros.filter(
            Q(went_well__icontains=word)
            | Q(could_be_better__icontains=word)
            | Q(remember__icontains=word)
        )
    return retros.order_by("-week_start", "schedule__name", "-pk")


def clean_week_start(value: object, schedule: OnCallSchedule) -> datetime.date:
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise Invalid("must be a date, YYYY-MM-DD", field="week_start") from None
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise Invalid("must be a date, YYYY-MM-DD", field="week_start")
    if value.weekday() != 0:
        raise Invalid(
            f"{value:%A %b %-d} is not a Monday: the week starts on {monday_of(value):%a %b %-d}",
            field="week_start",
        )
    today = timezone.now().astimezone(schedule_zone(schedule)).date()
    if value > today:
        raise Invalid("is in the future: a retro looks back on a week", field="week_start")
    return value


@transaction.atomic
def save_retro(
    *,
    actor: Actor,
    schedule: OnCallSchedule,
    week_start: datetime.date | str,
    went_well: str,
    could_be_better: str,
    remember: str,
    person: Person | None,
    expect_new: bool = False,
) -> Retro:
    """Write the week's retro (create, or replace its answers). With `expect_new` (the "new
    retro" form), a retro already written for the week is a Conflict, never overwritten."""
    if not isinstance(schedule, OnCallSchedule) or schedule.pk is None:
        raise Invalid("must be an on-call schedule", field="schedule")
    week = clean_week_start(week_start, schedule)
    answers = {
        name: clean_text(value, field=name, most=MAX_ANSWER, required=False)
        for name, value in zip(ANSWERS, (went_well, could_be_better, remember), strict=True)
    }
    if not any(answers.values()):
        raise Invalid("answer at least one of the three questions", field="went_well")
    OnCallSchedule.objects.select_for_update().filter(pk=schedule.pk).first()
    retro = Retro.objects.filter(schedule=schedule, week_start=week).first()
    if retro is not None and expect_new:
        raise Conflict(
            f"{schedule.name} already has a retro for the week of {week:%a %b %-d}: edit it",
            field="week_start",
        )
    before = snapshot(retro, RETRO_FIELDS) if retro else {}
    if retro is None:
        retro = Retro(schedule=schedule, week_start=week, written_by=person)
    for name, value in answers.items():
        setattr(retro, name, value)
    retro.save()
    record_save(
        actor=actor,
        action="oncall.retro",
        target=retro,
        target_label=f"{schedule.key} {week}",
        before=before,
        after=snapshot(retro, RETRO_FIELDS),
    )
    return retro

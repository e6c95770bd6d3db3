"""The demo's on-call replacement. The handbook's three schedules (developer on-call,
infrastructure first responder, premium support 24/7) come from the demo playbook's
`rotations:` (src/ceres/playbook/demo.yaml), applied before this runs; what a playbook never
holds is an override, an arrangement between people ("arrange and designate a replacement"),
so the demo makes one here, through the on-call services (checked and audited as real use
makes it). Running it again changes nothing.
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.utils import timezone

from ceres.core.audit.services import acting_as
from ceres.oncall import services
from ceres.oncall.models import OnCallSchedule
from ceres.team.models import Person

CHICAGO = "America/Chicago"
PREMIUM_SUPPORT = "premium-support"


def _monday_nine(now: datetime.datetime, weeks_back: int) -> datetime.datetime:
    """09:00 America/Chicago on the Monday `weeks_back` weeks before this week's."""
    local = now.astimezone(zoneinfo.ZoneInfo(CHICAGO)).date()
    monday = local - datetime.timedelta(days=local.weekday(), weeks=weeks_back)
    return datetime.datetime.combine(monday, datetime.time(9), tzinfo=zoneinfo.ZoneInfo(CHICAGO))


def make_oncall_override(*, now: datetime.datetime | None = None) -> int:
    """Next Wednesday's business day, the second person of premium support's top layer (the
    support engineers) covers it. How many overrides were added: 0 when the schedule has one
    already, or is not there (a playbook without it)."""
    now = now or timezone.now()
    schedule = OnCallSchedule.objects.filter(key=PREMIUM_SUPPORT).first()
    if schedule is None or schedule.overrides.exists():
        return 0
    top = schedule.layers.order_by("-position").first()
    if top is None or len(top.people) < 2:
        return 0
    person = Person.objects.filter(pk=top.people[1], is_active=True).first()
    if person is None:
        return 0
    wednesday = _monday_nine(now, weeks_back=-1) + datetime.timedelta(days=2)
    with acting_as("demo"):
        services.add_override(
            actor=None,
            schedule=schedule,
            person=person,
            start=wednesday,
            end=wednesday + datetime.timedelta(hours=8),
            reason="Covering a dentist appointment",
        )
    return 1

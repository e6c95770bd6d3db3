"""Demo on-call schedules: the handbook's developer on-call, infrastructure first responder and
24/7 premium support, with the demo playbook's people, so the On-call page and
`/api/v1/oncall/now` answer on a fresh `make run`. Made through the on-call services (checked
and audited as real use makes them); running it again changes nothing.

The playbook has no `rotations:` section yet; when it has, these move there.
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.utils import timezone

from ceres.core.audit.services import acting_as
from ceres.oncall import services
from ceres.oncall.models import OnCallSchedule
from ceres.sla.models import BusinessCalendar
from ceres.team.models import Person

CHICAGO = "America/Chicago"
WEEK_HOURS = 7 * 24
SUPPORT_CALENDAR = "support"


def _people(role: str, most: int) -> list[Person]:
    return list(Person.objects.filter(role__key=role, is_active=True).order_by("id")[:most])


def _monday_nine(now: datetime.datetime, weeks_back: int) -> datetime.datetime:
    """09:00 America/Chicago on the Monday `weeks_back` weeks before this week's."""
    local = now.astimezone(zoneinfo.ZoneInfo(CHICAGO)).date()
    monday = local - datetime.timedelta(days=local.weekday(), weeks=weeks_back)
    return datetime.datetime.combine(monday, datetime.time(9), tzinfo=zoneinfo.ZoneInfo(CHICAGO))


def make_oncall_schedules(*, now: datetime.datetime | None = None) -> int:
    """Create the demo schedules that do not exist yet; how many were created."""
    now = now or timezone.now()
    start = _monday_nine(now, weeks_back=4)
    business_hours = (
        SUPPORT_CALENDAR if BusinessCalendar.objects.filter(key=SUPPORT_CALENDAR).exists() else ""
    )
    engineers, infra, cses = _people("engineer", 4), _people("infra", 2), _people("cse", 3)
    made = 0
    with acting_as("demo"):
        if engineers and not OnCallSchedule.objects.filter(key="developer-on-call").exists():
            schedule = services.save_schedule(
                actor=None,
                key="developer-on-call",
                name="Developer on-call",
                description='Handbook, "Contact the developer on-call": an engineer each week '
                "answers the technical threads the CSEs cannot, in business hours.",
                slack_usergroup_id="S0ONCALL1",
            )
            services.save_layer(
                actor=None,
                schedule=schedule,
                position=0,
                people=engineers,
                shift_length_hours=WEEK_HOURS,
                start=start,
                timezone=CHICAGO,
                restriction=business_hours,
            )
            made += 1
        if infra and not OnCallSchedule.objects.filter(key="infrastructure-oncall").exists():
            schedule = services.save_schedule(
                actor=None,
                key="infrastructure-oncall",
                name="Infrastructure first responder",
                description='Handbook, "Maintain first responder SLA": weekly, handing off '
                "Monday 09:00 America/Chicago.",
                slack_usergroup_id="S0INFRAOC",
            )
            services.save_layer(
                actor=None,
                schedule=schedule,
                position=0,
                people=infra,
                shift_length_hours=WEEK_HOURS,
                start=start,
                timezone=CHICAGO,
            )
            made += 1
        if (infra or cses) and not OnCallSchedule.objects.filter(key="premium-support").exists():
            schedule = services.save_schedule(
                actor=None,
                key="premium-support",
                name="Premium support 24/7",
                description='Handbook, "Respond to messages and alerts": Fleet Premium gets '
                "24/7 support. CSEs answer in business hours; the infrastructure first "
                "responder covers nights, weekends and holidays.",
            )
            position = 0
            if infra:
                services.save_layer(
                    actor=None,
                    schedule=schedule,
                    position=position,
                    people=infra,
                    shift_length_hours=WEEK_HOURS,
                    start=start,
                    timezone=CHICAGO,
                )
                position += 1
            if cses:
                services.save_layer(
                    actor=None,
                    schedule=schedule,
                    position=position,
                    people=cses,
                    shift_length_hours=WEEK_HOURS,
                    start=start,
                    timezone=CHICAGO,
                    restriction=business_hours,
                )
            if len(cses) > 1:
                # "Arrange and designate a replacement": next Wednesday, the second CSE covers.
                wednesday = _monday_nine(now, weeks_back=-1) + datetime.timedelta(days=2)
                services.add_override(
                    actor=None,
                    schedule=schedule,
                    person=cses[1],
                    start=wednesday,
                    end=wednesday + datetime.timedelta(hours=8),
                    reason="Covering a dentist appointment",
                )
            made += 1
    return made

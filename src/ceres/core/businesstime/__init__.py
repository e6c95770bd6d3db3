"""Business time: when a team is at work, and how much of that lies between two instants.

SLA clocks ("4 business hours") ask these questions for every message, so the answers are
pure functions of an immutable `Calendar` and aware datetimes, exact across DST changes and
holidays, and cheap enough to call on every event. Semantics and the spec format are in
`docs/businesstime.md`.

- `calendar.py`: the `Calendar` value and its invariants;
- `spec.py`: the playbook format (`Calendar.from_spec`, `Calendar.to_spec`);
- `days.py`: local dates as real open intervals (the DST rule), cached;
- `engine.py`: `is_open`, `next_opening`, `add_business_time`, `business_time_between`,
  `open_intervals`.
"""

from __future__ import annotations

from ceres.core.businesstime.calendar import ALL_DAY, Calendar, OpenDate, Window, weekly
from ceres.core.businesstime.engine import (
    InvalidArgument,
    add_business_time,
    business_time_between,
    is_open,
    next_opening,
    open_intervals,
)

__all__ = [
    "ALL_DAY",
    "Calendar",
    "InvalidArgument",
    "OpenDate",
    "Window",
    "add_business_time",
    "business_time_between",
    "is_open",
    "next_opening",
    "open_intervals",
    "weekly",
]

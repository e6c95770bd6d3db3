"""Constants of the handbook's SLA set-up; the `handbook_policies` fixture is in tests/conftest.py
(tests of several apps use it)."""

from __future__ import annotations

HOUR = 3600
SUPPORT = {
    "timezone": "America/Chicago",
    "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "US"},
}

"""Benchmark: business time (`ceres.core.businesstime`) against naive minute stepping.

The calendar is a realistic support calendar: America/Chicago, Mon-Fri 09:00-12:00 and
13:00-17:30 (a lunch break), US holidays. Starts are random whole minutes over 2026-2027, so
they land inside, outside and at the edges of windows, on weekends and on holidays.

The baseline is the obvious implementation, written here: step one minute at a time and ask
whether the local wall clock is inside a window on a working day. It runs in the same process
on the same inputs, and every answer is checked against the engine's, so the ratio compares
two implementations that agree.

Figures: calls per second with warm caches (a running server), the first call with cold
caches, and adding 10,000 business hours. Usage: `make bench`, or
`.venv/bin/python bench/businesstime.py` (BENCH_BASELINE_CALLS sets the baseline's sample).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from ceres.core.businesstime import Calendar, add_business_time, business_time_between
from ceres.core.businesstime.days import day_schedule, holiday_dates

ZONE = ZoneInfo("America/Chicago")
SPEC = {
    "timezone": "America/Chicago",
    "hours": {day: ["09:00-12:00", "13:00-17:30"] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "US"},
}
WINDOWS = ((9 * 60, 12 * 60), (13 * 60, 17 * 60 + 30))
MINUTE = timedelta(minutes=1)
ENGINE_CALLS = 20_000
BASELINE_CALLS = int(os.environ.get("BENCH_BASELINE_CALLS", "200"))
US_HOLIDAYS = holidays.country_holidays("US", years=range(2026, 2033))


def naive_is_open(instant: datetime) -> bool:
    local = instant.astimezone(ZONE)
    day: date = local.date()
    if day.weekday() >= 5 or day in US_HOLIDAYS:
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in WINDOWS)


def naive_add(start: datetime, duration: timedelta) -> datetime:
    remaining = duration // MINUTE
    instant = start
    while remaining:
        if naive_is_open(instant):
            remaining -= 1
        instant += MINUTE
    return instant.astimezone(ZONE)


def naive_between(start: datetime, end: datetime) -> timedelta:
    total, instant = 0, start
    while instant < end:
        total += naive_is_open(instant)
        instant += MINUTE
    return total * MINUTE


def random_starts(count: int, seed: int) -> list[datetime]:
    rng = random.Random(seed)
    first = datetime(2026, 1, 1, 6, tzinfo=UTC)
    return [first + rng.randrange(2 * 365 * 1440) * MINUTE for _ in range(count)]


def rate(calls: int, function: Callable[[int], object]) -> tuple[float, list[object]]:
    start = time.perf_counter()
    results = [function(i) for i in range(calls)]
    return calls / (time.perf_counter() - start), results


def compare(
    name: str,
    engine: Callable[[int], object],
    baseline: Callable[[int], object],
) -> None:
    engine(0)  # warm the caches the first call fills (a running server has them warm)
    engine_rate, engine_results = rate(ENGINE_CALLS, engine)
    baseline_rate, baseline_results = rate(BASELINE_CALLS, baseline)
    mismatches = sum(
        1 for i in range(BASELINE_CALLS) if _utc(engine_results[i]) != _utc(baseline_results[i])
    )
    if mismatches:
        raise SystemExit(f"{name}: {mismatches} answers differ from the baseline's")
    print(
        f"[business time] {name}: {engine_rate:,.0f} calls/s "
        f"(naive minute stepping: {baseline_rate:,.1f} calls/s; "
        f"ratio {engine_rate / baseline_rate:,.0f}x; {BASELINE_CALLS} answers identical)"
    )


def _utc(value: object) -> object:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def main() -> None:
    calendar = Calendar.from_spec(SPEC)
    starts = random_starts(ENGINE_CALLS, seed=7)
    ends = [
        start + random.Random(i).randrange(10 * 1440) * MINUTE for i, start in enumerate(starts)
    ]
    four_hours = timedelta(hours=4)
    forty_hours = timedelta(hours=40)

    day_schedule.cache_clear()
    holiday_dates.cache_clear()
    start = time.perf_counter()
    add_business_time(calendar, starts[0], four_hours)
    cold = time.perf_counter() - start
    print(
        f"[business time] first call, cold caches (a year of holidays built): {cold * 1000:.2f} ms"
    )

    compare(
        "add 4 business hours",
        lambda i: add_business_time(calendar, starts[i], four_hours),
        lambda i: naive_add(starts[i], four_hours),
    )
    compare(
        "add 40 business hours",
        lambda i: add_business_time(calendar, starts[i], forty_hours),
        lambda i: naive_add(starts[i], forty_hours),
    )
    compare(
        "business time between (0-10 days apart)",
        lambda i: business_time_between(calendar, starts[i], ends[i]),
        lambda i: naive_between(starts[i], ends[i]),
    )

    long = timedelta(hours=10_000)
    origin = datetime(2026, 5, 22, 15, tzinfo=ZONE)
    day_schedule.cache_clear()
    start = time.perf_counter()
    due = add_business_time(calendar, origin, long)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    add_business_time(calendar, origin, long)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    naive_due = naive_add(origin, long)
    naive = time.perf_counter() - start
    if naive_due != due:
        raise SystemExit(f"10,000 business hours: {due} != naive {naive_due}")
    print(
        f"[business time] add 10,000 business hours (to {due.date()}): {cold * 1000:.1f} ms cold, "
        f"{warm * 1000:.2f} ms warm (naive minute stepping: {naive:.1f} s; "
        f"ratio {naive / warm:,.0f}x warm, {naive / cold:,.0f}x cold)"
    )


if __name__ == "__main__":
    main()

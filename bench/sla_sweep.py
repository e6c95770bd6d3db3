"""The SLA breach sweep with 100,000 open conversations.

Setup (bulk inserts, not the services: this measures the sweep, not the setup): 100,000 open
conversations, each with a running first-response clock; 1,000 of them fall due during a
60-second window starting now, the rest later. Then the real sweep runs every 5 seconds of
real time, as the periodic job does, until every due clock has breached.

Prints: time per sweep (p50/max), the lag from each deadline to its notification being written
to the outbox (p50/p99), and the ratio of a sweep with work to an idle sweep (nothing due)
measured on the same database in the same run.
"""

from __future__ import annotations

import datetime
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ceres.settings")
os.environ.setdefault("CERES_VAR_DIR", tempfile.mkdtemp(prefix="ceres-bench-sla-"))
os.environ.setdefault("CERES_TASKS_BACKEND", "dummy")  # deliveries are not part of this

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from ceres.conversations.models import Conversation  # noqa: E402
from ceres.core.outbox.models import OutboxMessage  # noqa: E402
from ceres.sla import services as sla  # noqa: E402
from ceres.sla.models import SlaClock  # noqa: E402

OPEN = int(os.environ.get("BENCH_OPEN", "100000"))
DUE = int(os.environ.get("BENCH_DUE", "1000"))
WINDOW = 60.0
INTERVAL = 5.0


def setup() -> None:
    call_command("migrate", verbosity=0)
    call_command("demo", accounts=0, seed=1, no_progress=True)
    policy = sla.save_policy(
        actor=None,
        key="bench",
        position=0,
        match={},
        targets={"first_response": [{"within_seconds": 3600}]},
    )
    now = timezone.now()
    batch = 5000
    for start in range(0, OPEN, batch):
        rows = [
            Conversation(
                source="api",
                subject=f"bench {i}",
                received_at=now,
                status="open",
                last_customer_message_at=now,
            )
            for i in range(start, min(OPEN, start + batch))
        ]
        Conversation.objects.bulk_create(rows)
    ids = list(Conversation.objects.order_by("id").values_list("id", flat=True))
    clocks = []
    for n, cid in enumerate(ids):
        if n < DUE:
            due = now + datetime.timedelta(seconds=WINDOW * n / DUE)
        else:
            due = now + datetime.timedelta(hours=2 + n % 48)
        clocks.append(
            SlaClock(
                conversation_id=cid,
                policy=policy,
                target="first_response",
                kind="elapsed",
                length_seconds=3600,
                started_at=now,
                due_at=due,
                warn_at=due + datetime.timedelta(days=9),
            )
        )
    SlaClock.objects.bulk_create(clocks, batch_size=batch)
    # The due window starts when the sweeping starts, not when the setup began.
    base = timezone.now()
    for n, clock_id in enumerate(
        SlaClock.objects.order_by("id").values_list("id", flat=True)[:DUE]
    ):
        SlaClock.objects.filter(pk=clock_id).update(
            due_at=base + datetime.timedelta(seconds=WINDOW * n / DUE)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    label = connection.vendor
    start = time.perf_counter()
    setup()
    print(f"[{label}] setup of {OPEN} open conversations: {time.perf_counter() - start:.1f} s")
    idle = []
    for _ in range(5):
        t = time.perf_counter()
        sla.sweep(now=timezone.now() - datetime.timedelta(minutes=5))
        idle.append(time.perf_counter() - t)
    busy = []
    deadline = time.monotonic() + WINDOW + 2 * INTERVAL
    while time.monotonic() < deadline:
        t = time.perf_counter()
        sla.sweep()
        busy.append(time.perf_counter() - t)
        time.sleep(max(0.0, INTERVAL - (time.perf_counter() - t)))
    breached = SlaClock.objects.filter(breached_at__isnull=False).count()
    lags = []
    due_of = dict(SlaClock.objects.filter(breached_at__isnull=False).values_list("id", "due_at"))
    for key, created in OutboxMessage.objects.values_list("idempotency_key", "created_at"):
        clock_id = int(key.split("-")[2])
        lags.append((created - due_of[clock_id]).total_seconds())
    lags.sort()
    print(f"[{label}] breaches notified: {breached} of {DUE} due (outbox rows: {len(lags)})")
    ratio = statistics.median(busy) / statistics.median(idle)
    print(
        f"[{label}] sweep time: idle p50 {statistics.median(idle) * 1000:.1f} ms; with work "
        f"p50 {statistics.median(busy) * 1000:.1f} ms, max {max(busy) * 1000:.1f} ms "
        f"over {len(busy)} sweeps; ratio p50 {ratio:.1f}x"
    )
    if lags:
        p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
        print(
            f"[{label}] deadline to notification: p50 {statistics.median(lags):.2f} s, "
            f"p99 {p99:.2f} s (sweep every {INTERVAL:.0f} s)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

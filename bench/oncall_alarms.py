"""On-call: a burst of alarms from ingestion to the first page, and the escalation sweep.

Setup: a scratch database (SQLite in a temporary `CERES_VAR_DIR`; with `BENCH_POSTGRES`, a
scratch PostgreSQL database created next to that one and dropped afterwards), migrated, the demo
playbook without accounts (`ceres demo --accounts 0`). Made for the benchmark (the services
where there are some): a first-responder schedule rotating the demo's two infrastructure
engineers (Ravi and Jonas, each with a Slack id and a phone) weekly; an escalation policy as
in tests/oncall/test_escalation.py: the first responder's on-call by Slack and SMS, then the site
owner (Ravi) by Slack, then the VP's role by Slack and e-mail, 15 minutes each, the chain once
more, new alarms posted to an alarm channel, response targets on the support calendar; a
generic-format integration with that policy.

Phase 1, the burst: `BENCH_POSTS` (1,000) notifications POSTed to `/integrations/alerts/<token>`
over real HTTP to gunicorn (`BENCH_WEB_WORKERS`, 2 sync workers, as `ceres run` starts it), over
`BENCH_DEDUP_KEYS` (50) dedup keys: key k fires in proportion to 1/(k+1) (a few noisy alarms and
a long tail), each at least once, in a seeded random order, so 50 alarms open (38 of them in the
first 10 seconds, as in an outage) and the rest are repeats. The POSTs are paced, open loop,
over `BENCH_BURST_SECONDS` (60: "a burst of 1,000 alarms in a minute"; 0 sends them as fast as
one client can), from one client. Each POST is followed by the baseline, the trivial
`GET /api/v1/ping` of the same server, timed the same way (from the request sent to the
response read; gunicorn's sync workers close every connection, so each request opens a
localhost connection). Meanwhile `BENCH_WORKERS` (1) worker processes deliver the outbox as
`ceres worker` does (the django-tasks-db worker loop, `--no-scheduler`, polling every
`BENCH_WORKER_INTERVAL` (1.0, the default of `--interval`) seconds when idle), with the real
payload checks but stub senders for the "slack" and "sms" channels: the Slack stub answers
with a ts of the present (a Slack ts is the time Slack took the message) after `BENCH_SEND_MS`
(0) of pretend provider time. Ingestion to the first page, per
alarm: from the moment the POST that opened it was sent to the ts of its first Slack DM, split
into the POST (to the commit that enqueues the delivery task), the task waiting in the queue,
and the delivery. Checked: one DM and one SMS per alarm, and the counts add up to the POSTs.

Phase 2, the sweep, in this process (the web app and the worker stopped): `BENCH_SWEEP_ALARMS`
(10,000) open alarms on another integration with the same policy, written in bulk, each having
paged its step 1 and due for step 2 (`next_escalation_at` a minute ago, an `AlarmPage` for
step 1). `escalation.sweep()` runs back to back (500 alarms a run; the periodic job runs one
every 30 s) until none is due, after an untimed first run of 20 that counts the SQL statements
of a move: total, alarms/s, per run, per alarm. Then the idle check: the sweep with the same
10,000 alarms open and none due (each waits for its step 3), what the periodic job costs every
30 s, and its query plan. The baseline of this phase is `GET /api/v1/ping` through Django's test
client in this process (the same request path without HTTP), interleaved with the idle sweeps.

Usage: `.venv/bin/python bench/oncall_alarms.py` (SQLite in a temporary directory);
`BENCH_POSTGRES=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/oncall_alarms.py`
(a scratch database created next to that one and dropped afterwards). About 2.5 minutes each.
Exits non-zero, naming the check, when a page is missing or doubled or a count is wrong.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

from common import (  # bench/common.py (run as python bench/x.py)
    BIN,
    ceres,
    free_port,
    percentile,
    scratch,
)

POSTS = int(os.environ.get("BENCH_POSTS", "1000"))
DEDUP_KEYS = int(os.environ.get("BENCH_DEDUP_KEYS", "50"))
BURST_SECONDS = float(os.environ.get("BENCH_BURST_SECONDS", "60"))
SWEEP_ALARMS = int(os.environ.get("BENCH_SWEEP_ALARMS", "10000"))
SEND_MS = float(os.environ.get("BENCH_SEND_MS", "0"))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
WORKER_INTERVAL = os.environ.get("BENCH_WORKER_INTERVAL", "1.0")  # `ceres worker --interval`
DRAIN_TIMEOUT = float(os.environ.get("BENCH_DRAIN_TIMEOUT", "180"))
IDLE_SWEEPS = 50
SEED = 7
ALARM_CHANNEL = "C0HELPP1"
PING_PATH = "/api/v1/ping"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def p50_p99(values: list[float]) -> str:
    return f"p50 {ms(statistics.median(values))}, p99 {ms(percentile(values, 99))}"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


# --- the worker process ----------------------------------------------------------------------


def worker_main() -> None:
    """`ceres worker --no-scheduler` with stub Slack and SMS senders (run as `--worker`)."""
    import django

    django.setup()
    from django.core.management import call_command

    from ceres.core.outbox import channels
    from ceres.core.outbox.models import OutboxMessage
    from ceres.slack import outbox as slack_outbox
    from ceres.sms import outbox as sms_outbox

    def slack(message: OutboxMessage) -> str:
        if SEND_MS:
            time.sleep(SEND_MS / 1000)
        return f"{time.time():.6f}"  # the message's ts: when Slack took it

    def sms(message: OutboxMessage) -> str:
        if SEND_MS:
            time.sleep(SEND_MS / 1000)
        return f"SM{time.time_ns():032x}"

    # The registry refuses a second sender for a channel: the real ones go first.
    for name, sender, validate in (
        ("slack", slack, slack_outbox.validate_payload),
        ("sms", sms, sms_outbox.validate_payload),
    ):
        channels._CHANNELS.pop(name, None)
        channels.register_channel(name, sender, validate=validate)
    call_command("worker", "--no-scheduler", "--no-startup-delay", "--interval", WORKER_INTERVAL)


# --- setup -----------------------------------------------------------------------------------


def setup() -> dict[str, Any]:
    """The policy and the integrations (through the services where there are some); returns
    what the phases need."""
    from ceres.oncall import integrations, paging, services
    from ceres.oncall.models import EscalationPolicy, EscalationStep
    from ceres.sla.models import BusinessCalendar
    from ceres.team.models import Person

    # The first responders: the demo's two infrastructure engineers (Ravi and Jonas), weekly
    # from Monday 09:00 Chicago, four weeks back.
    infra = list(Person.objects.filter(role__key="infra", is_active=True).order_by("id")[:2])
    if len(infra) < 2 or not all(p.slack_user_id and p.phone for p in infra):
        raise SystemExit(
            "FAILED: the demo has no two infrastructure engineers with Slack and phone"
        )
    chicago = zoneinfo.ZoneInfo("America/Chicago")
    today = datetime.datetime.now(chicago).date()
    monday = today - datetime.timedelta(days=today.weekday(), weeks=4)
    schedule = services.save_schedule(
        actor=None, key="bench-first-responder", name="First responder (benchmark)"
    )
    services.save_layer(
        actor=None,
        schedule=schedule,
        position=0,
        people=infra,
        shift_length_hours=7 * 24,
        start=datetime.datetime.combine(monday, datetime.time(9), tzinfo=chicago),
        timezone="America/Chicago",
    )
    site_owner = infra[0]  # the handbook's second step: the site owner (Ravi, in the demo)
    policy = EscalationPolicy.objects.create(
        key="bench-infrastructure-alarm",
        name="Infrastructure alarm (benchmark)",
        repeat=1,
        alarm_channel=ALARM_CHANNEL,
        target_calendar="support"
        if BusinessCalendar.objects.filter(key="support").exists()
        else "",
    )
    first = EscalationStep.objects.create(
        policy=policy, position=0, schedule=schedule, via=["slack", "sms"], wait_minutes=15
    )
    EscalationStep.objects.create(
        policy=policy, position=1, people=[site_owner.pk], via=["slack"], wait_minutes=15
    )
    EscalationStep.objects.create(
        policy=policy, position=2, role="vp-cs", via=["slack", "email"], wait_minutes=15
    )
    _, token = integrations.add_integration(
        actor=None, name="Prometheus", kind="generic", escalation_policy=policy
    )
    _, warm_token = integrations.add_integration(
        actor=None, name="Warm-up", kind="generic", escalation_policy=policy
    )
    sweep_integration, _ = integrations.add_integration(
        actor=None, name="Sweep", kind="generic", escalation_policy=policy
    )
    now = datetime.datetime.now(datetime.UTC)
    on_call = paging.step_people(first, now)
    if not on_call or not all(p.slack_user_id and p.phone for p in on_call):
        raise SystemExit("FAILED: the first responder on call has no Slack id or phone")
    return {
        "token": token,
        "warm_token": warm_token,
        "policy": policy,
        "sweep_integration": sweep_integration,
        "on_call": on_call[0],
    }


# --- phase 1: the burst ----------------------------------------------------------------------


def notifications(rng: random.Random) -> list[str]:
    """The dedup key of each POST: Zipf-like weights, every key at least once, shuffled."""
    keys = [f"svc-{k:02d}-down" for k in range(DEDUP_KEYS)]
    weights = [1 / (k + 1) for k in range(DEDUP_KEYS)]
    order = keys + rng.choices(keys, weights, k=max(0, POSTS - DEDUP_KEYS))
    rng.shuffle(order)
    return order


def post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    answer = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 202:
        raise SystemExit(f"FAILED: {path[:30]}…: HTTP {response.status}: {answer[:300]!r}")
    return elapsed, json.loads(answer)


def ping(conn: http.client.HTTPConnection) -> float:
    start = time.perf_counter()
    conn.request("GET", PING_PATH)
    response = conn.getresponse()
    answer = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise SystemExit(f"FAILED: {PING_PATH}: HTTP {response.status}: {answer[:300]!r}")
    return elapsed


def body_of(key: str, n: int) -> bytes:
    return json.dumps(
        {
            "title": f"{key}: probe failed",
            "dedup_key": key,
            "severity": "critical",
            "labels": {"service": key.rsplit("-", 1)[0], "region": "us-east-1", "probe": str(n)},
        }
    ).encode()


@dataclass
class Pages:
    """An alarm's first pages (round 1, step 1) as the outbox rows say: the Slack DM's ts and
    the SMS's sent time (None until sent), how many of each, and the DM's outbox row id."""

    dm: float | None = None
    sms: float | None = None
    dms: int = 0
    texts: int = 0
    dm_row: int = 0


def first_pages(alarm_ids: list[int]) -> dict[int, Pages]:
    from ceres.core.outbox.models import OutboxMessage
    from ceres.oncall.models import AlarmPage

    pages = AlarmPage.objects.filter(alarm_id__in=alarm_ids, round=0, step=0)
    keys = {f"oncall-page-{a}-r0-s0-p{p}": a for a, p in pages.values_list("alarm_id", "person_id")}
    found = {alarm: Pages() for alarm in alarm_ids}
    rows = OutboxMessage.objects.filter(idempotency_key__startswith="oncall-page-").values_list(
        "pk", "idempotency_key", "channel", "status", "provider_reference", "sent_at"
    )
    for pk, key, channel, status, reference, sent_at in rows:
        alarm = keys.get(key.rsplit("-", 1)[0])
        if alarm is None:
            continue
        page = found[alarm]
        sent = status == "sent"
        if channel == "slack":
            page.dms += 1
            page.dm, page.dm_row = (float(reference) if sent else None), pk
        elif channel == "sms":
            page.texts += 1
            page.sms = sent_at.timestamp() if sent and sent_at else None
    return found


def delivery_tasks(sent: dict[int, float]) -> dict[int, tuple[float, float]]:
    """(enqueued, started) of the task that delivered each outbox row (id -> sent time): the
    last one started before the row was sent (an earlier one may have found it waiting for
    the message before it to one person), enqueued when the first of its tasks was."""
    from django_tasks_db.models import DBTaskResult

    tasks: dict[int, list[tuple[float, float]]] = {}
    for args, enqueued, started in DBTaskResult.objects.filter(
        task_path__endswith="deliver_outbox_message", started_at__isnull=False
    ).values_list("args_kwargs", "enqueued_at", "started_at"):
        message = args["kwargs"].get("message_id")
        if message in sent and started is not None:  # filtered above; for the type
            tasks.setdefault(message, []).append((enqueued.timestamp(), started.timestamp()))
    return {
        m: (min(e for e, _ in ts), max(s for _, s in ts if s <= sent[m])) for m, ts in tasks.items()
    }


def wait_for_pages(
    alarm_ids: list[int], workers: list[subprocess.Popen[bytes]]
) -> dict[int, Pages]:
    start = time.perf_counter()
    while True:
        found = first_pages(alarm_ids)
        if all(p.dm is not None and p.sms is not None for p in found.values()):
            return found
        for worker in workers:
            if worker.poll() is not None:
                raise SystemExit(f"FAILED: a worker exited ({worker.returncode})")
        if time.perf_counter() - start > DRAIN_TIMEOUT:
            missing = sum(1 for p in found.values() if p.dm is None or p.sms is None)
            raise SystemExit(
                f"FAILED: {missing} alarm(s) not paged {DRAIN_TIMEOUT:.0f} s after the burst "
                "(BENCH_DRAIN_TIMEOUT)"
            )
        time.sleep(0.1)


def wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("FAILED: gunicorn did not start")


@dataclass
class Burst:
    opened_at: dict[int, float]  # alarm id -> wall time the POST that opened it was sent
    counts: dict[int, int]  # alarm id -> its count in the last answer
    new_times: list[float]
    repeat_times: list[float]
    pings: list[float]
    wall: float
    late: int
    last_post: float


def send_burst(conn: http.client.HTTPConnection, path: str) -> Burst:
    """Every POST at its time (open loop: a late one is sent at once), each followed by a ping."""
    order = notifications(random.Random(SEED))
    bodies = [body_of(key, n) for n, key in enumerate(order)]
    interval = BURST_SECONDS / len(bodies) if BURST_SECONDS > 0 else 0.0
    result = Burst({}, {}, [], [], [], 0.0, 0, 0.0)
    started = time.perf_counter()
    for n, body in enumerate(bodies):
        pause = started + n * interval - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        elif n and interval:
            result.late += 1
        sent_at = time.time()
        elapsed, answer = post(conn, path, body)
        alarm = answer["alarms"][0]
        result.counts[alarm["id"]] = alarm["count"]
        if alarm["count"] == 1:
            result.opened_at[alarm["id"]] = sent_at
            result.new_times.append(elapsed)
        else:
            result.repeat_times.append(elapsed)
        result.pings.append(ping(conn))
    result.wall = time.perf_counter() - started
    result.last_post = time.time()
    return result


def burst(env: dict[str, str], label: str, facts: dict[str, Any]) -> None:
    port = free_port()
    quiet = {**env, "CERES_LOG_LEVEL": "WARNING"}
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "ceres.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WEB_WORKERS), "--log-level", "warning"],
        env=quiet,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker"],
            env={**env, "CERES_LOG_LEVEL": "ERROR"},  # not its "shutting down gracefully"
        )
        for _ in range(WORKERS)
    ]
    try:
        wait_for_port(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        # Warm-up: both web workers, and the worker delivering (its pages arrive).
        warm_path = f"/integrations/alerts/{facts['warm_token']}"
        warm_ids = set()
        for n in range(20):
            _, answer = post(conn, warm_path, body_of(f"warm-{n % 10}", n))
            warm_ids.add(answer["alarms"][0]["id"])
            ping(conn)
        wait_for_pages(sorted(warm_ids), workers)
        result = send_burst(conn, f"/integrations/alerts/{facts['token']}")
        pace = (
            f"paced over {BURST_SECONDS:g} s, {result.late} sent late"
            if BURST_SECONDS > 0
            else "as fast as one client can"
        )
        print(
            f"[{label}] burst: {POSTS} POSTs over {DEDUP_KEYS} dedup keys in {result.wall:.1f} s "
            f"({POSTS / result.wall:.1f} POSTs/s, {pace}), each followed by a ping; {load()}",
            flush=True,
        )
        found = wait_for_pages(sorted(result.opened_at), workers)
    finally:
        for proc in (web, *workers):
            proc.terminate()
        for proc in (web, *workers):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    check_burst(result, found)
    report_burst(label, result, found)


def check_burst(result: Burst, found: dict[int, Pages]) -> None:
    from ceres.oncall.models import Alarm

    problems = []
    if len(result.opened_at) != DEDUP_KEYS:
        problems.append(f"{len(result.opened_at)} alarms opened for {DEDUP_KEYS} dedup keys")
    stored = dict(Alarm.objects.filter(pk__in=result.opened_at).values_list("pk", "count"))
    if sum(stored.values()) != POSTS or stored != result.counts:
        problems.append(f"the alarms count {sum(stored.values())} notifications of {POSTS}")
    doubled = [a for a, page in found.items() if page.dms != 1 or page.texts != 1]
    if doubled:
        problems.append(f"{len(doubled)} alarm(s) paged other than once by DM and once by SMS")
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))


def delivered(sent_at: float | None, alarm: int, what: str) -> float:
    """When the page left; a page still unsent here is a failed run, not a figure."""
    if sent_at is None:
        raise SystemExit(f"FAILED: alarm {alarm}: its {what} page was never sent")
    return sent_at


def report_burst(label: str, result: Burst, found: dict[int, Pages]) -> None:
    posts, pings = result.new_times + result.repeat_times, result.pings
    for name, values in (
        ("every POST", posts),
        ("POST opening an alarm", result.new_times),
        ("POST repeating one", result.repeat_times),
        ("trivial /api/v1/ping", pings),
    ):
        print(
            f"[{label}]   {name}: {p50_p99(values)}, max {ms(max(values))} "
            f"over {len(values)} requests",
            flush=True,
        )
    ping50, ping99 = statistics.median(pings), percentile(pings, 99)
    print(
        f"[{label}]   ratio POST/ping: p50 {statistics.median(posts) / ping50:.1f}x, p99 "
        f"{percentile(posts, 99) / ping99:.1f}x; opening an alarm p50 "
        f"{statistics.median(result.new_times) / ping50:.1f}x, repeating one p50 "
        f"{statistics.median(result.repeat_times) / ping50:.1f}x",
        flush=True,
    )
    alarms = sorted(result.opened_at)
    dm_at = {a: delivered(found[a].dm, a, "DM") for a in alarms}
    sms_at = {a: delivered(found[a].sms, a, "SMS") for a in alarms}
    dm = [dm_at[a] - result.opened_at[a] for a in alarms]
    sms = [sms_at[a] - result.opened_at[a] for a in alarms]
    print(
        f"[{label}] ingestion → first page delivered (the Slack DM), {len(alarms)} alarms: "
        f"p50 {statistics.median(dm):.3f} s, p99 {percentile(dm, 99):.3f} s (min {min(dm):.3f} s); "
        f"its SMS p50 {statistics.median(sms):.3f} s, p99 {percentile(sms, 99):.3f} s; "
        f"ratio of the DM's p50 to the ping's: {statistics.median(dm) / ping50:.0f}x",
        flush=True,
    )
    # Where the time goes: the POST, the task waiting in the queue, the delivery.
    tasks = delivery_tasks({found[a].dm_row: dm_at[a] for a in alarms})
    enqueued = [tasks[found[a].dm_row][0] - result.opened_at[a] for a in alarms]
    queued = [tasks[found[a].dm_row][1] - tasks[found[a].dm_row][0] for a in alarms]
    sending = [dm_at[a] - tasks[found[a].dm_row][1] for a in alarms]
    print(
        f"[{label}]   of which: POST sent → the DM's delivery task enqueued (at the commit) "
        f"p50 {ms(statistics.median(enqueued))}; "
        f"enqueued → started p50 {statistics.median(queued):.3f} s, p99 "
        f"{percentile(queued, 99):.3f} s (an idle worker polls every {WORKER_INTERVAL} s); "
        "started → DM "
        f"sent p50 {ms(statistics.median(sending))}, p99 {ms(percentile(sending, 99))} (stub "
        f"senders: {SEND_MS:g} ms)",
        flush=True,
    )
    print(
        f"[{label}]   checks passed: {len(alarms)} alarms counting {POSTS} notifications, one "
        "DM and one SMS each",
        flush=True,
    )


# --- phase 2: the sweep ----------------------------------------------------------------------


def make_due_alarms(facts: dict[str, Any]) -> float:
    """`SWEEP_ALARMS` open alarms that paged step 1 sixteen minutes ago and are due for step 2."""
    from django.db import connection, transaction

    from ceres.oncall.models import Alarm, AlarmPage

    started = time.perf_counter()
    now = datetime.datetime.now(datetime.UTC)
    opened = now - datetime.timedelta(minutes=16)
    integration, policy, person = facts["sweep_integration"], facts["policy"], facts["on_call"]
    batch = 2000
    with transaction.atomic():
        for first in range(0, SWEEP_ALARMS, batch):
            alarms = Alarm.objects.bulk_create(
                [
                    Alarm(
                        integration=integration,
                        dedup_key=f"sweep-{n}",
                        title=f"sweep-{n}: probe failed",
                        severity="critical",
                        status=Alarm.Status.FIRING,
                        first_seen_at=opened,
                        last_seen_at=opened,
                        labels={"service": f"sweep-{n}", "region": "us-east-1"},
                        payload={"title": f"sweep-{n}: probe failed", "dedup_key": f"sweep-{n}"},
                        policy=policy,
                        step=0,
                        round=0,
                        repeats_left=policy.repeat,
                        # Due a minute ago, each a microsecond apart (the sweep's order).
                        next_escalation_at=now
                        - datetime.timedelta(minutes=1, microseconds=SWEEP_ALARMS - n),
                        ack_due_at=opened + datetime.timedelta(hours=4),
                    )
                    for n in range(first, min(SWEEP_ALARMS, first + batch))
                ]
            )
            AlarmPage.objects.bulk_create(
                [
                    AlarmPage(
                        alarm=alarm,
                        person=person,
                        round=0,
                        step=0,
                        via=["slack", "sms"],
                        paged_at=opened,
                    )
                    for alarm in alarms
                ]
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def sweep_phase(label: str, facts: dict[str, Any]) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from ceres.core.outbox.models import OutboxMessage
    from ceres.oncall import escalation
    from ceres.oncall.models import AlarmPage

    written = make_due_alarms(facts)
    open_alarms = escalation.open_alarms().count()
    due_now = escalation.due(timezone.now()).count()
    print(
        f"[{label}] sweep setup: {SWEEP_ALARMS:,} due alarms (and their step-1 pages) written "
        f"in bulk in {written:.1f} s; {open_alarms:,} open alarms, {due_now:,} due",
        flush=True,
    )
    client = Client(HTTP_HOST="127.0.0.1")
    for _ in range(20):
        client.get(PING_PATH)
    # Untimed: a first run of 20 alarms warms up, and says how many statements a move takes.
    with CaptureQueriesContext(connection) as captured:
        sample = escalation.sweep(limit=20)
    statements = len(captured.captured_queries) / max(1, sample.moved)
    runs: list[tuple[float, int]] = [(0.0, sample.moved)]
    started = time.perf_counter()
    while True:
        t = time.perf_counter()
        result = escalation.sweep()
        runs.append((time.perf_counter() - t, result.moved))
        if result.moved == 0 and result.skipped == 0:
            break
        if result.skipped:
            raise SystemExit(f"FAILED: a sweep skipped {result.skipped} alarm(s)")
    total = time.perf_counter() - started
    working = [seconds for seconds, moved in runs[1:] if moved]
    timed = sum(n for _, n in runs[1:])
    moved = sum(n for _, n in runs)
    paged = AlarmPage.objects.filter(alarm__integration=facts["sweep_integration"], step=1).count()
    dms = OutboxMessage.objects.filter(
        channel="slack", idempotency_key__regex=r"^oncall-page-[0-9]+-r0-s1-"
    ).count()
    if moved != SWEEP_ALARMS or paged != SWEEP_ALARMS or dms != SWEEP_ALARMS:
        raise SystemExit(
            f"FAILED: the sweep moved {moved}, paged step 2 for {paged} and wrote {dms} DMs, "
            f"for {SWEEP_ALARMS} due alarms"
        )
    per_alarm = sum(working) / timed
    print(
        f"[{label}] sweep of {timed:,} due alarms (after an untimed first run of {sample.moved}): "
        f"{total:.1f} s in {len(working)} runs of up to {escalation.SWEEP_BATCH} (+ one finding "
        f"none due): {timed / total:.0f} alarms/s; per run p50 {statistics.median(working):.2f} s, "
        f"max {max(working):.2f} s; {ms(per_alarm)} per alarm (its step-2 page, a Slack DM in the "
        f"outbox and its delivery task, an audit entry: {statements:.0f} SQL statements); "
        f"{load()}",
        flush=True,
    )

    # The idle check: the same alarms open, none due (each waits 15 minutes for step 3).
    open_alarms = escalation.open_alarms().count()
    due_now = escalation.due(timezone.now()).count()
    if due_now:
        raise SystemExit(f"FAILED: {due_now} alarm(s) still due after the sweep")
    idle, pings = [], []
    for _ in range(IDLE_SWEEPS):
        t = time.perf_counter()
        result = escalation.sweep()
        idle.append(time.perf_counter() - t)
        if result.moved:
            raise SystemExit("FAILED: an idle sweep moved an alarm")
        t = time.perf_counter()
        response = client.get(PING_PATH)
        pings.append(time.perf_counter() - t)
        if response.status_code != 200:
            raise SystemExit(f"FAILED: {PING_PATH}: HTTP {response.status_code}")
    ping50, idle50 = statistics.median(pings), statistics.median(idle)
    print(
        f"[{label}] idle sweep, {open_alarms:,} open alarms and none due: p50 {ms(idle50)}, "
        f"p95 {ms(percentile(idle, 95))}, max {ms(max(idle))} over {IDLE_SWEEPS}; in-process "
        f"ping p50 {ms(ping50)}, p95 {ms(percentile(pings, 95))}: ratio p50 "
        f"{idle50 / ping50:.2f}x; the sweep with work: per alarm {per_alarm / ping50:.1f}x",
        flush=True,
    )
    query = escalation.due(timezone.now()).order_by("next_escalation_at").values_list("pk")
    plan = query[: escalation.SWEEP_BATCH].explain()
    print(f"[{label}]   its query plan ({connection.vendor}):", flush=True)
    for line in plan.splitlines():
        print(f"[{label}]     {line}", flush=True)


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    if "--worker" in sys.argv[1:]:
        worker_main()
        return
    with scratch("oncall", CERES_TASKS_BACKEND="db") as (label, env, _):
        os.environ.update(env)  # the setup and the sweep run in this process
        run(env, label)


def run(env: dict[str, str], label: str) -> None:
    started = time.perf_counter()
    ceres(env, "migrate", "-v0")
    ceres(env, "demo", "--accounts", "0", "--seed", str(SEED), "--no-progress")

    import django

    django.setup()
    facts = setup()
    print(
        f"[{label}] setup: migrate + demo + policy and integrations "
        f"{time.perf_counter() - started:.1f} s; first responder on call: "
        f"{facts['on_call'].name}",
        flush=True,
    )
    burst(env, label, facts)
    sweep_phase(label, facts)
    print(f"[{label}] whole run {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()

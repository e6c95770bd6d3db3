"""Slack events ingested end to end (verify, record, acknowledge), and a retry storm.

Setup: a scratch database (SQLite in a temporary `CERES_VAR_DIR`; with `BENCH_POSTGRES`, a
scratch PostgreSQL database created next to that one and dropped afterwards), migrated, the demo
playbook and 20 accounts (`ceres demo`); one account gets the Slack channel `C0BENCH01` and its
contacts Slack user ids, through the account services (`ceres shell -c`). Then gunicorn serves
real HTTP (sync workers, as `ceres run` starts it: `BENCH_WEB_WORKERS`, 2) with
`CERES_SLACK_SIGNING_SECRET` set, and one `ceres worker` (task queue and scheduler, as in
production) processes the inbox tasks.

Phase 1, ingestion: `BENCH_EVENTS` (2,000) signed Events API `event_callback` message events
from the account's customers (distinct `event_id` and `ts`; about 15% top level, the rest in
threads of earlier ones), POSTed to `/integrations/slack/events` from `BENCH_CLIENTS` (4) client
threads, each with its own HTTP/1.1 connection object (keep-alive on the client side; gunicorn's
sync worker answers `Connection: close`, so each request opens a new localhost connection, for
the events and the ping alike). Each acknowledgement is timed from the request sent to the
response read; events are signed just before sending, outside the timing. The baseline is
the trivial `GET /api/v1/ping` of the same server, the same number of requests from the same
clients, alternated with the events in blocks of `BENCH_BLOCK` (200) requests, so both see the
same machine noise (the worker is processing the backlog meanwhile). Printed: events/s,
p50/p99 (and p95, max), and the ratios to the ping. Then the worker drains the inbox; the lag
from storing (`InboundEvent.received_at`) to processed (`processed_at`) is read from the
database, p50/p99.

Phase 2, retry storm: `BENCH_STORM` (500) new events, each delivered three times (the two
extra with `X-Slack-Retry-Num: 1` and `2` and `X-Slack-Retry-Reason: http_timeout`): a third of
them in a burst (the three deliveries back to back, so different clients send them at the same
time), the others retried 7 to 50 events later and again 7 to 50 after that. After the worker
drains, checked from the database: exactly one stored event per storm event, all processed, and
exactly one conversation message per event (`slack:<channel>:<ts>`); phase 1 is checked the
same way. Any failure exits non-zero, after the servers are stopped and the scratch database
dropped.

The machine's load average and the CPU seconds of gunicorn, the worker, the client threads and
(PostgreSQL) the database server's backends are printed per phase: on a 2-core machine they
share the cores. Also printed: the inbox tasks enqueued and how many found nothing to do.

Usage: `.venv/bin/python bench/slack_events.py`;
`BENCH_POSTGRES=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/slack_events.py`.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import secrets
import socket
import sqlite3
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (  # bench/common.py (run as python bench/x.py)
    BIN,
    ceres,
    free_port,
    percentile,
    scratch,
)

EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
STORM = int(os.environ.get("BENCH_STORM", "500"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
BLOCK = int(os.environ.get("BENCH_BLOCK", "200"))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
DRAIN_TIMEOUT = float(os.environ.get("BENCH_DRAIN_TIMEOUT", "240"))
SEED = 7
SECRET = secrets.token_hex(16)
CHANNEL = "C0BENCH01"
ELSEWHERE = "C0ELSEWHERE"  # not designated: the warm-up events land here
CUSTOMERS = [f"U0BENCH{n:03d}" for n in range(60)]
EVENTS_PATH = "/integrations/slack/events"
PING_PATH = "/api/v1/ping"
PHASE1, STORM_PREFIX, WARM_PREFIX = "EvB", "EvS", "EvW"
TOP_LEVEL_SHARE = 0.15
QUESTIONS = (
    "After upgrading to the latest release about 300 hosts show as offline in the dashboard.",
    "Scheduled query results stopped arriving in our log destination since yesterday evening.",
    "New Macs fail MDM enrollment with a 500 from the server; the log is attached in the thread.",
    "Users are redirected back to the login page after SSO, only on the EU instance.",
    "Software vulnerability data has not refreshed for three days on any host.",
    "fleetd uses 40% CPU on some Windows hosts after the last agent update, can you help?",
    "Can we add 500 hosts to our licence before the renewal, and what would it cost?",
)
FOLLOW_UPS = (
    "Here is the output you asked for, it still fails the same way.",
    "We restarted the service and it is back for now, but I expect it to happen again.",
    "Thanks! Adding my colleague who saw it first.",
    "Any update on this? Our security team is asking.",
    "Attached the screenshot from the host details page.",
)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    event_id: str
    ts: str
    body: bytes


def make_events(prefix: str, count: int, first_second: int, rng: random.Random) -> list[Event]:
    """Message events one second apart in Slack time: some top level, most in the thread of a
    top-level message at least 40 events earlier (so the worker has usually seen the parent)."""
    events: list[Event] = []
    tops: list[tuple[int, str, str]] = []  # (index, ts, user) of top-level messages
    for i in range(count):
        second = first_second + i
        ts = f"{second}.{rng.randrange(1_000_000):06d}"
        earlier = [top for top in tops if top[0] <= i - 40]
        message: dict[str, Any] = {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "ts": ts,
            "event_ts": ts,
            "team": "T0CUSTOMER",
            "client_msg_id": f"{rng.getrandbits(128):032x}",
        }
        if not earlier or rng.random() < TOP_LEVEL_SHARE:
            user, text = rng.choice(CUSTOMERS), rng.choice(QUESTIONS)
            tops.append((i, ts, user))
        else:
            _, parent, starter = rng.choice(earlier[-60:])
            user = starter if rng.random() < 0.8 else rng.choice(CUSTOMERS)
            text = rng.choice(FOLLOW_UPS)
            message["thread_ts"] = parent
            message["parent_user_id"] = starter
        message["user"] = user
        message["text"] = text
        message["blocks"] = [
            {
                "type": "rich_text",
                "block_id": f"{rng.getrandbits(20):05x}",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ]
        event_id = f"{prefix}{i:06d}"
        payload = {
            "token": "legacy-verification-token-unused",
            "team_id": "T0CERES",
            "context_team_id": "T0CERES",
            "api_app_id": "A0CERES",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": second,
            "authorizations": [{"team_id": "T0CERES", "user_id": "U0CERESBOT", "is_bot": True}],
            "is_ext_shared_channel": True,
            "event_context": f"4-{rng.getrandbits(256):064x}",
            "event": message,
        }
        events.append(Event(event_id, ts, json.dumps(payload).encode()))
    return events


def warm_up_events(count: int) -> list[Event]:
    """Events in a channel nobody designated: stored and processed, no conversation."""
    now = int(time.time())
    events = []
    for i in range(count):
        ts = f"{now - 3600 + i}.000100"
        payload = {
            "type": "event_callback",
            "event_id": f"{WARM_PREFIX}{i:04d}",
            "event_time": now,
            "event": {"type": "message", "channel": ELSEWHERE, "user": CUSTOMERS[0],
                      "text": "warm-up", "ts": ts},
        }  # fmt: skip
        events.append(Event(f"{WARM_PREFIX}{i:04d}", ts, json.dumps(payload).encode()))
    return events


# --- HTTP ------------------------------------------------------------------------------------


@dataclass
class Ack:
    kind: str  # "event", "retry" or "ping"
    seconds: float


def signed(body: bytes, retry: int) -> dict[str, str]:
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest(),
    }
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def deliver(conn: http.client.HTTPConnection, event: Event, retry: int = 0) -> Ack:
    headers = signed(event.body, retry)  # signed just before sending, as Slack does
    start = time.perf_counter()
    conn.request("POST", EVENTS_PATH, body=event.body, headers=headers)
    response = conn.getresponse()
    answer = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"{event.event_id}: HTTP {response.status}: {answer[:300]!r}")
    return Ack("retry" if retry else "event", elapsed)


def ping(conn: http.client.HTTPConnection) -> Ack:
    start = time.perf_counter()
    conn.request("GET", PING_PATH)
    response = conn.getresponse()
    answer = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"{PING_PATH}: HTTP {response.status}: {answer[:300]!r}")
    return Ack("ping", elapsed)


Job = Callable[[http.client.HTTPConnection], Ack]


def run_block(conns: list[http.client.HTTPConnection], jobs: list[Job]) -> tuple[list[Ack], float]:
    """Every job, taken in order by whichever client is free; returns the acks and wall time."""
    lock = threading.Lock()
    pending: Iterator[Job] = iter(jobs)
    acks: list[Ack] = []
    errors: list[BaseException] = []

    def client(conn: http.client.HTTPConnection) -> None:
        while not errors:
            with lock:
                job = next(pending, None)
            if job is None:
                return
            try:
                acks.append(job(conn))
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

    threads = [threading.Thread(target=client, args=(conn,)) for conn in conns]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if errors:
        raise SystemExit(f"FAILED: a request failed: {errors[0]}")
    return acks, wall


# --- processes and CPU -----------------------------------------------------------------------


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU seconds of a process (and its direct children), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    if with_children:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry.name))
    total = 0
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


@dataclass
class Cpu:
    """CPU seconds per phase: gunicorn (master and workers), the worker, this process's
    clients and, on PostgreSQL, the server backends of the scratch database (approximate: a
    backend that closes during the phase, after CONN_MAX_AGE, takes its seconds with it)."""

    web: int
    worker: int
    db: Database
    start: dict[str, float] = field(default_factory=dict)
    backends: dict[int, float] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)

    def sample(self) -> tuple[dict[str, float], dict[int, float]]:
        backends = {pid: cpu_seconds(pid) for pid in self.db.backend_pids()}
        return {
            "wall": time.perf_counter(),
            "gunicorn": cpu_seconds(self.web, with_children=True),
            "worker": cpu_seconds(self.worker),
            "clients": time.process_time(),
        }, backends

    def begin(self) -> None:
        self.start, self.backends = self.sample()

    def end(self, phase: str) -> str:
        now, backends = self.sample()
        spent = {name: now[name] - self.start[name] for name in now}
        wall = spent.pop("wall")
        if self.db.postgres:
            spent["PostgreSQL"] = sum(
                t - self.backends.get(pid, 0.0) for pid, t in backends.items()
            )
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in spent.items())
        text = (
            f"{wall:.1f} s wall; CPU: {parts} ({sum(spent.values()) / wall:.2f} of "
            f"{os.cpu_count()} cores busy); {load()}"
        )
        self.figures[phase] = text
        return text


# --- the database, read directly -------------------------------------------------------------


class Database:
    """Reads the scratch database with sqlite3 or psycopg, outside Django and its servers."""

    def __init__(self, env: dict[str, str]) -> None:
        self.postgres = bool(env["DATABASE_URL"])
        if self.postgres:
            import psycopg

            self.conn: Any = psycopg.connect(env["DATABASE_URL"], autocommit=True)
        else:
            path = Path(env["CERES_VAR_DIR"]) / "ceres.sqlite3"
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if not self.postgres:
            sql = sql.replace("%s", "?")
        return list(self.conn.execute(sql, params).fetchall())

    def instant(self, value: Any) -> datetime.datetime:
        if isinstance(value, datetime.datetime):
            return value
        return datetime.datetime.fromisoformat(value).replace(tzinfo=datetime.UTC)

    def backend_pids(self) -> list[int]:
        """The PostgreSQL server processes serving the scratch database (not this one)."""
        if not self.postgres:
            return []
        found = self.rows(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in found]

    def close(self) -> None:
        self.conn.close()


def statuses(db: Database, prefix: str) -> Counter[str]:
    found = db.rows(
        "SELECT status, COUNT(*) FROM core_inboundevent "
        "WHERE provider = 'slack' AND event_id LIKE %s GROUP BY status",
        prefix + "%",
    )
    return Counter(dict(found))


def drain(db: Database, prefix: str, expected: int, worker: subprocess.Popen[bytes]) -> float:
    """Wait until every event of the phase is processed; seconds waited."""
    start = time.perf_counter()
    last_report = start
    while True:
        counts = statuses(db, prefix)
        waiting = counts["received"] + counts["failed"]
        if sum(counts.values()) >= expected and waiting == 0:
            return time.perf_counter() - start
        if counts["dead"]:
            raise SystemExit(f"FAILED: {counts['dead']} event(s) are dead: {dict(counts)}")
        if worker.poll() is not None:
            raise SystemExit(f"FAILED: the worker exited ({worker.returncode})")
        if time.perf_counter() - start > DRAIN_TIMEOUT:
            raise SystemExit(
                f"FAILED: not drained after {DRAIN_TIMEOUT:.0f} s (BENCH_DRAIN_TIMEOUT): "
                f"{dict(counts)}"
            )
        if time.perf_counter() - last_report > 15:
            print(f"    … worker draining: {dict(counts)}", flush=True)
            last_report = time.perf_counter()
        time.sleep(0.25)


def lags(db: Database, prefix: str) -> tuple[list[float], float]:
    """(received → processed seconds per event, span from first received to last processed)."""
    found = db.rows(
        "SELECT received_at, processed_at FROM core_inboundevent "
        "WHERE provider = 'slack' AND event_id LIKE %s",
        prefix + "%",
    )
    pairs = [(db.instant(r), db.instant(p)) for r, p in found]
    span = (max(p for _, p in pairs) - min(r for r, _ in pairs)).total_seconds()
    return [(p - r).total_seconds() for r, p in pairs], span


def check(db: Database, prefix: str, events: list[Event]) -> list[str]:
    """Exactly one stored, processed event and one conversation message per event."""
    problems = []
    stored = db.rows(
        "SELECT event_id, status FROM core_inboundevent "
        "WHERE provider = 'slack' AND event_id LIKE %s",
        prefix + "%",
    )
    ids = Counter(event_id for event_id, _ in stored)
    expected = {e.event_id for e in events}
    if len(stored) != len(events) or set(ids) != expected:
        problems.append(
            f"{prefix}: {len(stored)} stored events for {len(events)} sent "
            f"({len(expected - set(ids))} missing, {len(set(ids) - expected)} unexpected)"
        )
    not_done = Counter(status for _, status in stored if status != "processed")
    if not_done:
        problems.append(f"{prefix}: events not processed: {dict(not_done)}")
    keys = {f"slack:{CHANNEL}:{e.ts}" for e in events}
    messages = Counter(
        key
        for (key,) in db.rows(
            "SELECT external_id FROM conversations_message WHERE external_id LIKE %s",
            f"slack:{CHANNEL}:%",
        )
        if key in keys
    )
    missing = len(keys - set(messages))
    doubled = sum(1 for n in messages.values() if n > 1)
    if missing or doubled:
        problems.append(
            f"{prefix}: {missing} event(s) without a conversation message, {doubled} with "
            f"more than one (of {len(keys)})"
        )
    return problems


def overtaken(db: Database, prefix: str) -> int:
    """Stored events whose stored delivery was a retry: it overtook the first delivery."""
    found = db.rows(
        "SELECT headers FROM core_inboundevent WHERE provider = 'slack' AND event_id LIKE %s",
        prefix + "%",
    )
    headers = [value if db.postgres else json.loads(value) for (value,) in found]
    return sum(1 for h in headers if "x-slack-retry-num" in h)


def task_count(db: Database) -> str:
    """Inbox tasks enqueued against inbox events stored, by provider (one task per stored event:
    retried deliveries enqueued nothing), and the tasks that found nothing to do: the inbox
    sweep gives a new task to events received more than 10 s ago and not yet processed, which
    a backlog looks like."""
    tasks = db.rows(
        "SELECT return_value, started_at, finished_at FROM django_tasks_database_dbtaskresult "
        "WHERE task_path LIKE %s",
        "%process_inbound_event",
    )
    skipped = [
        (db.instant(end) - db.instant(start)).total_seconds()
        for value, start, end in tasks
        if (value if db.postgres else json.loads(value or "null")) == "skipped"
    ]
    stored = db.rows(
        "SELECT provider, COUNT(*) FROM core_inboundevent GROUP BY provider ORDER BY provider"
    )
    return (
        f"{len(tasks)} for {', '.join(f'{n} {provider}' for provider, n in stored)} events "
        f"stored; {len(skipped)} found nothing to do ({sum(skipped):.1f} s of task time)"
    )


# --- the run ---------------------------------------------------------------------------------


def main() -> None:
    with scratch("slack", CERES_SLACK_SIGNING_SECRET=SECRET, CERES_TASKS_BACKEND="db") as (
        label,
        env,
        workdir,
    ):
        run(env, label, workdir)


SETUP = f"""
from ceres.accounts import services
from ceres.accounts.models import Account, Contact
account = Account.objects.order_by("pk").first()
services.update_account(actor=None, account=account, slack_channel_id="{CHANNEL}")
users = {CUSTOMERS!r}
for n, contact in enumerate(Contact.objects.filter(account=account).order_by("pk")):
    services.update_contact(actor=None, contact=contact, slack_user_id=users[n])
print(account.codename.name, Contact.objects.filter(account=account).count())
"""


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(env: dict[str, str], label: str, workdir: Path) -> None:
    started = time.perf_counter()
    print(f"[{label}] {load()} at the start; {os.cpu_count()} cores", flush=True)
    ceres(env, "migrate", "-v0")
    ceres(env, "demo", "--accounts", "20", "--seed", str(SEED), "--no-progress")
    codename, contacts = ceres(env, "shell", "-v", "0", "-c", SETUP).split()[-2:]
    print(
        f"[{label}] setup: migrate + demo (20 accounts) + channel {CHANNEL} on {codename} "
        f"({contacts} contacts with Slack ids) in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    rng = random.Random(SEED)
    first_second = int(time.time()) - EVENTS - STORM - 600  # Slack time: the last hour
    events = make_events(PHASE1, EVENTS, first_second, rng)
    storm = make_events(STORM_PREFIX, STORM, first_second + EVENTS + 60, rng)

    port = free_port()
    web_log = (workdir / "gunicorn.log").open("wb")
    worker_log = (workdir / "worker.log").open("wb")
    web = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "ceres.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WEB_WORKERS),
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=web_log,
        stderr=subprocess.STDOUT,
    )
    # As `ceres run` starts it: the worker logs every task at INFO otherwise.
    worker = subprocess.Popen(
        [str(BIN / "ceres"), "worker"],
        env={**env, "CERES_LOG_LEVEL": "WARNING"},
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    db = Database(env)
    failures: list[str] = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(CLIENTS)]
        warm = warm_up_events(4 * CLIENTS)
        run_block(conns, [lambda c, e=e: deliver(c, e) for e in warm] + [ping] * 40)
        drain(db, WARM_PREFIX, len(warm), worker)
        cpu = Cpu(web.pid, worker.pid, db)

        # Phase 1: events and pings alternated in blocks, the same clients.
        print(f"[{label}] phase 1: {EVENTS} events and {EVENTS} pings, {CLIENTS} clients, "
              f"blocks of {BLOCK}, {WEB_WORKERS} gunicorn sync workers", flush=True)  # fmt: skip
        cpu.begin()
        acks: dict[str, list[float]] = {"event": [], "ping": []}
        walls = {"event": 0.0, "ping": 0.0}
        for start in range(0, EVENTS, BLOCK):
            chunk = events[start : start + BLOCK]
            blocks: list[tuple[str, list[Job]]] = [
                ("event", [lambda c, e=e: deliver(c, e) for e in chunk]),
                ("ping", [ping] * len(chunk)),
            ]
            for kind, jobs in blocks if (start // BLOCK) % 2 == 0 else blocks[::-1]:
                done, wall = run_block(conns, jobs)
                acks[kind] += [a.seconds for a in done]
                walls[kind] += wall
        ingest_cpu = cpu.end("phase 1, ingestion (events + pings)")
        print(f"[{label}]   {ingest_cpu}", flush=True)
        cpu.begin()
        waited = drain(db, PHASE1, EVENTS, worker)
        drain_cpu = cpu.end("phase 1, the rest of the drain")
        lag, span = lags(db, PHASE1)
        failures += check(db, PHASE1, events)
        print(f"[{label}]   drained {waited:.1f} s after the last ack; {drain_cpu}", flush=True)

        # Phase 2: the retry storm.
        deliveries = storm_plan(storm, rng)
        print(f"[{label}] phase 2: {STORM} events, {len(deliveries)} deliveries", flush=True)
        cpu.begin()
        storm_acks, storm_wall = run_block(
            conns, [lambda c, e=e, n=n: deliver(c, e, n) for e, n in deliveries]
        )
        storm_sent = cpu.end("phase 2, storm deliveries")
        cpu.begin()
        storm_waited = drain(db, STORM_PREFIX, STORM, worker)
        storm_drain = cpu.end("phase 2, the rest of the drain")
        storm_lag, storm_span = lags(db, STORM_PREFIX)
        failures += check(db, STORM_PREFIX, storm)
        tasks = task_count(db)
        retry_won = overtaken(db, STORM_PREFIX)
        conversations = db.rows(
            "SELECT COUNT(*) FROM conversations_conversation WHERE slack_channel_id = %s", CHANNEL
        )[0][0]
        print(f"[{label}]   sent: {storm_sent}", flush=True)
        print(f"[{label}]   drained {storm_waited:.1f} s after the last ack; {storm_drain}")
    finally:
        db.close()
        stop(worker)
        stop(web)
        web_log.close()
        worker_log.close()
    problems = [
        line
        for name in ("gunicorn.log", "worker.log")
        for line in (workdir / name).read_text(errors="replace").splitlines()
        if "ERROR" in line or "Traceback" in line
    ]
    report(
        label,
        acks=acks,
        walls=walls,
        lag=lag,
        span=span,
        waited=waited,
        storm_acks=storm_acks,
        storm_wall=storm_wall,
        storm_lag=storm_lag,
        storm_span=storm_span,
        tasks=tasks,
        retry_won=retry_won,
        conversations=conversations,
        cpu=cpu.figures,
        total=time.perf_counter() - started,
    )
    if problems:
        print(f"[{label}] {len(problems)} error line(s) in the server logs, first: {problems[0]}")
    if failures:
        for failure in failures:
            print(f"[{label}] FAILED: {failure}")
        raise SystemExit(1)
    print(f"[{label}] checks passed: one stored, processed event and one conversation message "
          f"per event ({EVENTS} + {STORM}; storm delivered 3 times each)")  # fmt: skip


def storm_plan(storm: list[Event], rng: random.Random) -> list[tuple[Event, int]]:
    """Three deliveries per event: a third in a burst (back to back, so several clients send
    them at once), the others retried 7 to 50 events later and again 7 to 50 after that."""
    keyed: list[tuple[float, int, Event]] = []
    for i, event in enumerate(storm):
        keyed.append((i, 0, event))
        if i % 3 == 0:
            keyed += [(i + 0.1, 1, event), (i + 0.2, 2, event)]
        else:
            first = i + rng.uniform(7, 50)
            keyed += [(first, 1, event), (first + rng.uniform(7, 50), 2, event)]
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [(event, retry) for _, retry, event in keyed]


def report(label: str, **r: Any) -> None:
    events, pings = r["acks"]["event"], r["acks"]["ping"]
    e50, e99 = statistics.median(events), percentile(events, 99)
    p50, p99 = statistics.median(pings), percentile(pings, 99)
    e_rate, p_rate = len(events) / r["walls"]["event"], len(pings) / r["walls"]["ping"]
    lag, storm_lag = r["lag"], r["storm_lag"]
    first = [a.seconds for a in r["storm_acks"] if a.kind == "event"]
    retry = [a.seconds for a in r["storm_acks"] if a.kind == "retry"]
    every = first + retry
    print(f"\n[{label}] results ({EVENTS} events, storm {STORM} x 3, {CLIENTS} clients, "
          f"{WEB_WORKERS} gunicorn sync workers, 1 ceres worker; whole run "
          f"{r['total']:.0f} s)\n")  # fmt: skip
    print("| figure | Slack events | ping (baseline) | ratio |\n|---|---|---|---|")
    print(f"| throughput | {e_rate:.0f} events/s | {p_rate:.0f} requests/s | "
          f"{e_rate / p_rate:.2f}x |")  # fmt: skip
    print(f"| acknowledgement p50 | {ms(e50)} | {ms(p50)} | {e50 / p50:.1f}x |")
    print(f"| acknowledgement p99 | {ms(e99)} | {ms(p99)} | {e99 / p99:.1f}x |")
    print(f"| acknowledgement p95 / max | {ms(percentile(events, 95))} / {ms(max(events))}; "
          f"{sum(1 for t in events if t > 0.1)} over 100 ms, "
          f"{sum(1 for t in events if t > 3)} over Slack's 3 s | "
          f"{ms(percentile(pings, 95))} / {ms(max(pings))} | |")  # fmt: skip
    print(f"| stored → processed p50 / p99 | {statistics.median(lag):.2f} s / "
          f"{percentile(lag, 99):.2f} s | | |")  # fmt: skip
    print(f"| worker | {EVENTS} events from first stored to last processed in "
          f"{r['span']:.1f} s ({EVENTS / r['span']:.0f} events/s); drained "
          f"{r['waited']:.1f} s after the last ack | | |")  # fmt: skip
    print(f"| storm: {len(every)} deliveries | {len(every) / r['storm_wall']:.0f}/s, p50 "
          f"{ms(statistics.median(every))}, p99 {ms(percentile(every, 99))} | | |")  # fmt: skip
    print(f"| storm: first deliveries / retries p50 | {ms(statistics.median(first))} / "
          f"{ms(statistics.median(retry))}; {r['retry_won']} events stored from a retry that "
          "overtook the first delivery | | |")  # fmt: skip
    print(f"| storm: stored → processed p50 / p99 | {statistics.median(storm_lag):.2f} s / "
          f"{percentile(storm_lag, 99):.2f} s ({STORM} in {r['storm_span']:.1f} s) "
          "| | |")  # fmt: skip
    print(f"| inbox tasks | {r['tasks']} (slack: {EVENTS} + {STORM} + {4 * CLIENTS} "
          "warm-up) | | |")  # fmt: skip
    print(f"| conversations in {CHANNEL} | {r['conversations']} | | |")
    print()
    for phase, text in r["cpu"].items():
        print(f"[{label}] {phase}: {text}")


if __name__ == "__main__":
    main()

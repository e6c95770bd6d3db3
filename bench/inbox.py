"""The inbox page and the conversations API at 1,000,000 conversations: p50/p95 server time.

Setup (not the product: rows are written directly, in bulk, in one transaction): the demo
playbook and `BENCH_ACCOUNTS` accounts (3,000) through `ceres demo`, then
`BENCH_CONVERSATIONS` conversations (1,000,000) received over three years, the way a support
inbox ages: about 97% closed (closure note, first response, closed_at), about 3% still open
(open, waiting on customer, on hold), most of them recent. Open conversations of status
"open" mostly have a running first-response clock (an `SlaClock` row and `next_due_at`, some
overdue, some due within two hours, most later); paused ones have none. Assignees are the
demo's support people (75% of open conversations, nearly all closed ones), sources,
categories and priorities vary by kind of requester (customer, community, applicant), 12% carry
one or two tags. Open conversations have their inbound message (and the reply, once answered);
closed ones have no messages (no inbox page or list reads them). `ANALYZE` afterwards.

Then gunicorn (1 sync worker, as `ceres run` in production and `bench/run.py`) serves real HTTP;
`lena` (a support engineer) logs in through the login form for the session cookie and has a
personal API token. Each case is requested `BENCH_REQUESTS` times (100), interleaved with the
baseline `GET /api/v1/ping` on the same server and connection, so both see the same machine
noise; the figures are p50/p95 of the whole request as the client sees it, and the ratio to
the ping of the same run.

Cases: the inbox page (default queue: all open, nearest deadline first) page 1 and a deep page,
the "Mine", "Breaching soon" and "Closed" tabs, a search by codename (in the open queue and in
the closed one), and the htmx fragment of the results; the API `GET /api/v1/conversations` with
the same queues and search.

Usage: `.venv/bin/python bench/inbox.py` (SQLite in a temporary directory);
`BENCH_POSTGRES=postgresql://host/db` runs it against PostgreSQL in a scratch database created
next to that one and dropped afterwards. `BENCH_CONVERSATIONS`, `BENCH_ACCOUNTS` and
`BENCH_REQUESTS` vary the sizes.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

from common import (  # bench/common.py (run as python bench/x.py)
    BIN,
    ceres,
    free_port,
    percentile,
    scratch,
    timed_get,
)

CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "1000000"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "3000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "100"))
WARMUP = 5
PAGE_SIZE = 50
YEARS = 3
SEED = 7
USER = "lena"
PASSWORD = secrets.token_urlsafe(16)  # set on the demo people by `ceres demo --password`

QUESTIONS = (
    ("Hosts offline after upgrade", "After upgrading, about 300 hosts show as offline."),
    ("Query results missing", "Scheduled query results stopped arriving since yesterday."),
    ("MDM enrollment fails", "New Macs fail MDM enrollment with a 500 from the server."),
    ("SSO login loop", "Users are redirected back to the login page after SSO."),
    ("Vulnerability data stale", "Software vulnerability data has not refreshed for days."),
    ("Agent CPU usage", "fleetd uses 40% CPU on some Windows hosts."),
    ("Licence renewal question", "Can we add 500 hosts to our licence before renewal?"),
    ("API rate limits", "What are the API rate limits for the hosts endpoint?"),
)
COMMUNITY = (
    ("osquery table for USB devices", "Is there a table that lists USB devices on Linux?"),
    ("Self-hosting with Docker", "What is the recommended Redis version for self-hosting?"),
)
POSITIONS = ("Solutions Architect", "Customer Support Engineer", "Infrastructure Engineer")
CATEGORIES = ("billing", "feature-request", "bug", "onboarding")
TAGS = (
    "bug", "mdm", "sso", "upgrade", "billing", "windows", "linux", "macos", "api", "osquery",
    "vulnerabilities", "agent", "performance", "docs", "renewal", "escalated", "regression",
    "feature-request", "onboarding", "self-hosted",
)  # fmt: skip
Row = tuple[Any, ...]
CONVERSATION_COLUMNS = (
    "id", "source", "category", "subject", "requester_name", "requester_email",
    "requester_slack_user_id", "slack_channel_id", "slack_thread_ts", "fields", "status",
    "priority", "received_at", "last_customer_message_at", "first_responded_at", "closed_at",
    "closure_note", "created_at", "updated_at", "account_id", "assignee_id", "next_due_at",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "conversation_id", "kind", "author_id", "author_name", "body", "is_automatic",
    "external_id", "created_at",
)  # fmt: skip
CLOCK_COLUMNS = (
    "conversation_id", "policy_id", "target", "kind", "length_seconds", "started_at", "due_at",
    "warn_at", "warned_at", "breached_at", "stopped_by",
)  # fmt: skip


# --- setup -----------------------------------------------------------------------------------


def generate(
    now: datetime.datetime,
    accounts: list[tuple[int, str]],
    team: list[int],
    lena: int,
    policies: dict[str, int],
) -> tuple[list[Row], list[Row], list[Row], list[tuple[int, int]]]:
    """Rows of conversations, messages, clocks and (conversation, tag index), in received order."""
    rng = random.Random(SEED)
    span = datetime.timedelta(days=365 * YEARS).total_seconds()
    start = now - datetime.timedelta(seconds=span)
    conversations, messages, clocks, tags = [], [], [], []
    # Lena is one engineer among the team, with her fair share of the load.
    assignees = [*team, lena]
    for n in range(1, CONVERSATIONS + 1):
        received = start + datetime.timedelta(seconds=span * (n - rng.random()) / CONVERSATIONS)
        age_days = (now - received).total_seconds() / 86400
        # Recent conversations are mostly open; a small tail of old ones is still on hold.
        p_open = 0.8 if age_days < 14 else 0.2 if age_days < 90 else 0.006
        kind = rng.random()
        fields = "{}"
        priority = "P3"
        category = "support"
        requester_slack = ""
        thread_ts = ""
        if kind < 0.75 and accounts:
            account_id, channel = rng.choice(accounts)
            subject, body = rng.choice(QUESTIONS)
            source = rng.choices(("slack", "email", "api"), (70, 20, 10))[0]
            priority = rng.choices(("P0", "P1", "P2", "P3"), (2, 13, 30, 55))[0]
            requester = (f"User {n % 997}", f"user{n % 997}@customer{account_id}.example")
            if rng.random() < 0.1:
                category = rng.choice(CATEGORIES)
        elif kind < 0.88:
            account_id, channel = None, "C0COMMUNITY"
            subject, body = rng.choice(COMMUNITY)
            source = "slack"
            requester = ("Community member", "")
        else:
            account_id, channel = None, ""
            position = rng.choice(POSITIONS)
            subject, body = f"Application: {position}", f"I would like to apply for {position}."
            source, category = "contact_form", "job-application"
            requester = (f"Applicant {n % 991}", f"applicant{n}@example.net")
            fields = json.dumps({"position_title": position})
        if source == "slack":
            requester_slack = f"U{n % 9973:07d}"
            thread_ts = f"{received.timestamp():.6f}"
        else:
            channel = ""
        status = "closed"
        if rng.random() < p_open:
            status = rng.choices(("open", "waiting_on_customer", "on_hold"), (65, 20, 15))[0]
        closed_at = first_response = next_due = None
        note = ""
        updated = received
        if status == "closed":
            first_response = received + datetime.timedelta(minutes=rng.randint(5, 8 * 60))
            closed_at = min(now, first_response + datetime.timedelta(hours=rng.randint(1, 240)))
            updated = closed_at
            note = "Answered in the thread; the customer confirmed it works."
            assignee = rng.choice(assignees) if rng.random() < 0.97 else None
        else:
            assignee = rng.choice(assignees) if rng.random() < 0.75 else None
            answered = status != "open" or rng.random() < 0.15
            if answered:
                first_response = min(now, received + datetime.timedelta(minutes=rng.randint(5, 90)))
            # A running clock: the first response (unanswered) or a resolution target; a
            # paused one (waiting on customer, on hold) has no deadline, so no next_due_at.
            if (status == "open" and rng.random() < 0.85) or rng.random() < 0.1:
                left = rng.random()
                if left < 0.1:  # overdue by up to three days
                    next_due = now - datetime.timedelta(seconds=rng.randint(60, 3 * 86400))
                elif left < 0.2:  # breaching soon: within two hours
                    next_due = now + datetime.timedelta(seconds=rng.randint(60, 7200))
                else:
                    next_due = now + datetime.timedelta(seconds=rng.randint(7200, 5 * 86400))
                next_due = max(next_due, received + datetime.timedelta(minutes=30))
                target = "first_response" if first_response is None else "resolution"
                length = int((next_due - received).total_seconds())
                warn = received + datetime.timedelta(seconds=0.75 * length)
                clocks.append(
                    (n, policies[target], target, "elapsed", length, received, next_due, warn,
                     warn if warn <= now else None, next_due if next_due <= now else None, "")
                )  # fmt: skip
            messages.append((n, "inbound", None, requester[0], body, False, "", received))
            if first_response is not None:
                messages.append(
                    (n, "reply", assignee, "", "Thanks, we're looking into it.", False, "",
                     first_response)
                )  # fmt: skip
        if rng.random() < 0.12:
            for tag in rng.sample(range(len(TAGS)), rng.choice((1, 1, 2))):
                tags.append((n, tag))
        conversations.append(
            (n, source, category, f"{subject} ({n})", requester[0], requester[1],
             requester_slack, channel, thread_ts, fields, status, priority, received, received,
             first_response, closed_at, note, received, updated, account_id, assignee,
             next_due)
        )  # fmt: skip
    return conversations, messages, clocks, tags


def load(now: datetime.datetime) -> dict[str, Any]:
    """Bulk-writes the conversations; returns what the cases need (the codename to search)."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.db.models import Count

    from ceres.accounts.models import Account
    from ceres.conversations.models import Conversation, Message, Tag
    from ceres.sla.models import SlaClock, SlaPolicy
    from ceres.team.models import Person

    accounts = list(
        Account.objects.filter(kind=Account.Kind.CUSTOMER)
        .order_by("id")
        .values_list("id", "slack_channel_id")
    )
    team = list(
        Person.objects.filter(role__key__in=["cse", "csa", "csm"])
        .exclude(user__username=USER)
        .order_by("id")
        .values_list("id", flat=True)
    )
    lena = Person.objects.get(user__username=USER).pk
    # The demo playbook's policies: the default's first response, the premium resolution.
    policies = {
        "first_response": SlaPolicy.objects.get(key="default").pk,
        "resolution": SlaPolicy.objects.get(key="premium").pk,
    }
    started = time.perf_counter()
    conversations, messages, clocks, tag_rows = generate(now, accounts, team, lena, policies)
    generated = time.perf_counter() - started
    postgres = connection.vendor == "postgresql"

    def sqlite_time(value: Any) -> Any:
        # Django stores SQLite datetimes as naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
        if isinstance(value, datetime.datetime):
            return str(value.astimezone(datetime.UTC).replace(tzinfo=None))
        return value

    def write(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        names = ", ".join(columns)
        with connection.cursor() as cursor:
            if postgres:
                raw = cursor.cursor  # psycopg's own cursor: COPY is the fast path
                with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
                for i in range(0, len(rows), 50_000):
                    cursor.executemany(
                        sql, [tuple(map(sqlite_time, row)) for row in rows[i : i + 50_000]]
                    )

    started = time.perf_counter()
    with transaction.atomic():
        tag_ids = [Tag.objects.get_or_create(name=name)[0].pk for name in TAGS]
        write(Conversation._meta.db_table, CONVERSATION_COLUMNS, conversations)
        write(Message._meta.db_table, MESSAGE_COLUMNS, messages)
        write(SlaClock._meta.db_table, CLOCK_COLUMNS, clocks)
        write(
            Conversation.tags.through._meta.db_table,
            ("conversation_id", "tag_id"),
            [(cid, tag_ids[t]) for cid, t in tag_rows],
        )
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Conversation]):
                cursor.execute(sql)
    written = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if postgres else "ANALYZE")
    analyzed = time.perf_counter() - started
    # Search for the codename of the busiest customer (what someone types to find its threads).
    busiest = (
        Conversation.objects.filter(account__isnull=False, status="open")
        .values("account__codename__name")
        .order_by()
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    open_count = sum(1 for row in conversations if row[10] != "closed")
    connection.close()
    return {
        "codename": busiest["account__codename__name"] if busiest else "nothing",
        "open": open_count,
        "closed": len(conversations) - open_count,
        "running": len(clocks),
        "breaching": sum(1 for c in clocks if c[6] <= now + datetime.timedelta(hours=2)),
        "mine": sum(1 for row in conversations if row[10] != "closed" and row[20] == lena),
        "messages": len(messages),
        "tags": len(tag_rows),
        "seconds": (generated, written, analyzed),
    }


# --- HTTP ------------------------------------------------------------------------------------


def cookies_of(response: http.client.HTTPResponse) -> dict[str, str]:
    jar = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def log_in(conn: http.client.HTTPConnection, password: str) -> str:
    """Logs in through the login form, as a browser does; returns the Cookie header."""
    conn.request("GET", "/login/")
    response = conn.getresponse()
    html = response.read().decode()
    jar = cookies_of(response)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not match or "csrftoken" not in jar:
        raise SystemExit("the login page has no CSRF token")
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": match.group(1), "username": USER, "password": password}
    )
    conn.request(
        "POST",
        "/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={jar['csrftoken']}",
        },
    )
    response = conn.getresponse()
    response.read()
    jar |= cookies_of(response)
    if response.status != 302 or "sessionid" not in jar:
        raise SystemExit(f"login failed: HTTP {response.status}")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def cases(facts: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(name, path, auth) where auth is "session", "htmx" or "token"."""
    q = urllib.parse.quote(facts["codename"])
    deep = max(1, facts["open"] * 4 // 5 // PAGE_SIZE)  # four fifths down the open queue
    yield "inbox: all open, page 1", "/inbox/", "session"
    yield f"inbox: all open, page {deep}", f"/inbox/?page={deep}", "session"
    yield "inbox: mine", "/inbox/?queue=mine", "session"
    yield "inbox: breaching soon", "/inbox/?queue=breaching_soon", "session"
    yield "inbox: closed", "/inbox/?queue=closed", "session"
    yield f"inbox: search {facts['codename']}", f"/inbox/?q={q}", "session"
    # Searching the history: no index serves a substring search, so this one reads closed
    # conversations newest first until a page of matches (or the end) is found.
    yield f"inbox: closed, search {facts['codename']}", f"/inbox/?queue=closed&q={q}", "session"
    yield "inbox: htmx results, all open", "/inbox/?queue=all_open", "htmx"
    api = "/api/v1/conversations"
    yield "api: all open, page 1", api, "token"
    yield f"api: all open, page {deep}", f"{api}?page={deep}", "token"
    yield "api: mine", f"{api}?queue=mine", "token"
    yield "api: breaching soon", f"{api}?queue=breaching_soon", "token"
    yield "api: closed", f"{api}?queue=closed", "token"
    yield f"api: search {facts['codename']}", f"{api}?q={q}", "token"


def measure(env: dict[str, str], label: str, facts: dict[str, Any]) -> None:
    token = ceres(env, "token", "create", USER, "--name", "bench").strip()
    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "ceres.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    results: list[tuple[str, list[float], list[float]]] = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        cookie = log_in(conn, PASSWORD)
        auth = {
            "session": {"Cookie": cookie},
            "htmx": {"Cookie": cookie, "HX-Request": "true", "HX-Target": "inbox-results"},
            "token": {"Authorization": f"Bearer {token}"},
        }
        for name, path, how in cases(facts):
            headers = auth[how]
            for _ in range(WARMUP):
                timed_get(conn, "/api/v1/ping", headers)
                timed_get(conn, path, headers)
            ping, times = [], []
            for _ in range(REQUESTS):  # interleaved so both see the same machine noise
                ping.append(timed_get(conn, "/api/v1/ping", headers))
                times.append(timed_get(conn, path, headers))
            results.append((name, times, ping))
            print(f"[{label}] {row(name, times, ping)}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    every_ping = [p for _, _, pings in results for p in pings]
    ping50, ping95 = statistics.median(every_ping), percentile(every_ping, 95)
    print(
        f"[{label}] trivial /api/v1/ping over the whole run: p50 {ping50 * 1000:.2f} ms, "
        f"p95 {ping95 * 1000:.2f} ms over {len(every_ping)} requests"
    )
    print(f"\n| case | p50 | p95 | ping p50 | ping p95 | ratio p50 | ratio p95 |\n|{'---|' * 7}")
    for name, times, ping in results:
        t50, t95 = statistics.median(times), percentile(times, 95)
        p50, p95 = statistics.median(ping), percentile(ping, 95)
        print(
            f"| {name} | {t50 * 1000:.1f} ms | {t95 * 1000:.1f} ms | {p50 * 1000:.2f} ms | "
            f"{p95 * 1000:.2f} ms | {t50 / p50:.1f}x | {t95 / p95:.1f}x |"
        )


def row(name: str, times: list[float], ping: list[float]) -> str:
    t50, t95 = statistics.median(times), percentile(times, 95)
    p50, p95 = statistics.median(ping), percentile(ping, 95)
    return (
        f"{name}: p50 {t50 * 1000:.1f} ms, p95 {t95 * 1000:.1f} ms over {len(times)} requests; "
        f"ping p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms; "
        f"ratio p50 {t50 / p50:.1f}x, p95 {t95 / p95:.1f}x"
    )


def main() -> None:
    # Nothing is delivered: the setup writes rows directly.
    with scratch("inbox", CERES_TASKS_BACKEND="dummy") as (label, env, _):
        os.environ.update(env)  # the bulk load runs in this process
        run(env, label)


def run(env: dict[str, str], label: str) -> None:
    started = time.perf_counter()
    ceres(env, "migrate", "-v0")
    ceres(env, "demo", "--accounts", str(ACCOUNTS), "--seed", str(SEED), "--no-progress",
          "--password", PASSWORD)  # fmt: skip
    demo = time.perf_counter() - started

    import django

    django.setup()
    from django.utils import timezone

    facts = load(timezone.now())
    generated, written, analyzed = facts["seconds"]
    print(
        f"[{label}] setup: migrate + demo ({ACCOUNTS} accounts) {demo:.1f} s; "
        f"{CONVERSATIONS:,} conversations generated in {generated:.1f} s, written in "
        f"{written:.1f} s, ANALYZE {analyzed:.1f} s",
        flush=True,
    )
    print(
        f"[{label}] {facts['open']:,} open ({facts['running']:,} with a running clock, "
        f"{facts['breaching']:,} breaching soon or overdue, {facts['mine']:,} assigned to "
        f"{USER}), {facts['closed']:,} closed; {facts['messages']:,} messages, "
        f"{facts['tags']:,} tag links",
        flush=True,
    )
    measure(env, label, facts)


if __name__ == "__main__":
    main()

"""The duplicate search of bug reports (`ceres.tracker.search.similar_issues`) at 1,000,000 issues.

Setup (rows written directly, in bulk, in one transaction: this measures the search, not the
setup): a scratch database, migrated, then `BENCH_ISSUES` issues (1,000,000) in one repository,
written without the search index, which the migration's own SQL then makes (timed: what the
migration costs a tracker that has a million issues). Titles and bodies are drawn from a
vocabulary of about 3,300 words with a Zipf distribution (word n about 1/(n + 10) as frequent
as the first): 320 words of the product's domain ("host", "query", "enrollment", ...) at the
head, then made-up words ("dravolin") as the long tail, with English stop words between them
as people write. Six issues in ten are bug reports whose body follows the template (Fleet
version, browser and OS, expected and actual behavior, steps to reproduce), so those words are
in most issues, as in a real tracker; the others have free text. Titles have 4 to 8 words,
bodies 15 to 80 (stop words aside). 80% of the issues are closed. Planted among them: 12 known
problems, each filed three times in different words (36 issues).

The queries (`BENCH_QUERIES`, 200, after 10 warm-up ones) are what a person types: the title of
a new report drawn from the same distribution (half of them), the same followed by the start of
a description in the template's words (a quarter), and a new wording of one of the 12 planted
problems (a quarter), which should find its three issues. Each runs through `similar_issues`
(8 results), interleaved with the baseline: `TrackerIssue` by repository and number with its
repository (`select_related`), a unique-index lookup and one row, as an issue page reads it.
Both on one connection in this process, so both see the same machine. Prints p50/p95 of each
and the ratio, how many planted duplicates came back in the 8 results, and (not timed) which
words chose the candidates and how many issues they selected.

Usage: `.venv/bin/python bench/tracker_search.py` (SQLite in a temporary directory);
`BENCH_POSTGRES=postgresql://host/db` runs it against PostgreSQL in a scratch database created
next to that one and dropped afterwards. `BENCH_ISSUES` and `BENCH_QUERIES` vary the sizes.
"""

from __future__ import annotations

import datetime
import itertools
import os
import random
import statistics
import time
from collections.abc import Iterator
from importlib import import_module
from typing import Any

from common import percentile, scratch  # bench/common.py (run as python bench/x.py)

ISSUES = int(os.environ.get("BENCH_ISSUES", "1000000"))
QUERIES = int(os.environ.get("BENCH_QUERIES", "200"))
WARMUP = 10
SEED = 11
BATCH = 20_000
DOMAIN = (
    "host", "hosts", "query", "queries", "fleet", "fleetd", "osquery", "agent", "mdm", "macos",
    "windows", "linux", "ubuntu", "policy", "policies", "software", "vulnerability",
    "vulnerabilities", "cve", "label", "labels", "team", "teams", "user", "users", "sso", "saml",
    "login", "api", "token", "script", "scripts", "profile", "profiles", "enrollment", "enroll",
    "device", "devices", "dashboard", "report", "reports", "upgrade", "version", "release", "error",
    "errors", "fails", "failed", "failing", "crash", "crashes", "timeout", "slow", "performance",
    "memory", "cpu", "disk", "encryption", "filevault", "bitlocker", "certificate", "certificates",
    "webhook", "webhooks", "integration", "jira", "zendesk", "slack", "email", "notification",
    "notifications", "settings", "config", "configuration", "yaml", "gitops", "fleetctl", "server",
    "database", "mysql", "redis", "migration", "page", "button", "filter", "search", "sort",
    "column", "table", "export", "csv", "install", "installer", "package", "packages", "pkg", "msi",
    "deb", "rpm", "update", "updates", "patch", "apple", "google", "chrome", "firefox", "browser",
    "live", "schedule", "scheduled", "results", "result", "detail", "details", "view", "list",
    "count", "missing", "wrong", "empty", "duplicate", "blank", "stuck", "offline", "online",
    "status", "sync", "activity", "activities", "audit", "log", "logs", "logging", "permission",
    "permissions", "role", "roles", "admin", "observer", "maintainer", "invite", "password",
    "reset", "mfa", "session", "expired", "redirect", "loop", "tls", "proxy", "network", "dns",
    "port", "endpoint", "endpoints", "request", "response", "json", "payload", "field", "fields",
    "value", "values", "attribute", "battery", "uptime", "hostname", "serial", "hardware", "model",
    "munki", "chocolatey", "winget", "homebrew", "app", "apps", "application", "applications",
    "bundle", "identifier", "path", "file", "files", "directory", "registry", "key", "keys",
    "secret", "secrets", "variable", "variables", "environment", "docker", "kubernetes", "helm",
    "terraform", "aws", "gcp", "azure", "s3", "bucket", "load", "balancer", "cluster", "replica",
    "replicas", "worker", "workers", "cron", "job", "jobs", "queue", "pending", "retry", "retries",
    "lock", "locked", "unlock", "wipe", "remote", "command", "commands", "bootstrap", "dep", "abm",
    "ade", "automatic", "manual", "declarative", "ddm", "escrow", "recovery", "nudge", "osupdate",
    "deadline", "minimum", "calendar", "events", "event", "stream", "streaming", "kafka",
    "firehose", "splunk", "elastic", "snowflake", "destination", "destinations", "latency", "spike",
    "spikes", "leak", "high", "usage", "random", "intermittent", "sometimes", "always", "never",
    "shows", "showing", "shown", "displayed", "display", "appears", "appear", "incorrect", "stale",
    "refresh", "refreshes", "cache", "cached", "counts", "totals", "aggregate", "aggregated",
    "chart", "graph", "widget", "summary", "modal", "dropdown", "tooltip", "link", "links", "url",
    "urls", "redirecting", "broken", "typo", "docs", "documentation", "guide", "tutorial",
    "example", "examples", "sample", "samples",
)  # fmt: skip
TEMPLATE = (
    "Fleet version: v4.{minor}.{patch}\n\nWeb browser and operating system: {browser}\n\n"
    "Expected behavior: {expected}\n\nActual behavior: {actual}\n\nSteps to reproduce: {steps}"
)
BROWSERS = ("Chrome on macOS", "Firefox on Ubuntu", "Edge on Windows 11", "Safari on macOS 14")
STOP_WORDS = ("the", "on", "after", "when", "is", "not", "for", "with", "in", "a", "to", "of")
# (the three issues as filed: title, body), the query a person types for a new report of it.
PLANTED = (
    (
        (
            (
                "Hosts go offline after upgrading fleetd to 1.20",
                "About 300 hosts stopped checking in.",
            ),
            ("fleetd 1.20 upgrade: hosts offline", "Since the upgrade hosts show as offline."),
            ("Offline hosts following agent upgrade", "fleetd upgraded to 1.20, hosts offline."),
        ),
        "hosts offline after fleetd upgrade",
    ),
    (
        (
            ("Bitlocker key escrow fails on Windows 11", "Recovery key never reaches Fleet."),
            ("Windows 11 disk encryption key not escrowed", "Bitlocker enabled, escrow fails."),
            ("Escrow of BitLocker recovery key failing", "Windows 11 hosts, encryption on."),
        ),
        "bitlocker recovery key escrow failing windows",
    ),
    (
        (
            ("SAML SSO login redirect loop with Okta", "Users bounce back to the login page."),
            ("Okta SSO loops back to login", "After SAML assertion the login page reloads."),
            ("Redirect loop on SSO sign in", "Okta SAML, endless redirect to login."),
        ),
        "okta sso redirect loop",
    ),
    (
        (
            ("Vulnerability dashboard shows stale CVE data", "CVE list not refreshed for a week."),
            ("Stale vulnerabilities on dashboard", "The CVE feed stopped refreshing."),
            ("CVE data not refreshing", "Vulnerability data on the dashboard is days old."),
        ),
        "stale cve vulnerability data dashboard",
    ),
    (
        (
            ("fleetctl gitops fails on team yaml with labels", "Error applying labels in yaml."),
            ("GitOps: labels in team YAML cause error", "fleetctl gitops exits with an error."),
            ("Team YAML labels break fleetctl gitops", "gitops run fails when labels are set."),
        ),
        "fleetctl gitops labels team yaml error",
    ),
    (
        (
            ("Live query results never arrive from Linux hosts", "Live query hangs at 0%."),
            ("Linux hosts don't return live query results", "The live query stays pending."),
            ("Live queries pending forever on Ubuntu", "No results from Linux hosts."),
        ),
        "live query no results linux hosts",
    ),
    (
        (
            ("Webhook to Jira not sent for new vulnerabilities", "Jira integration is silent."),
            ("Jira tickets not created by vulnerability webhook", "Automation enabled."),
            ("Vulnerability automation: Jira issue missing", "No Jira ticket for new CVEs."),
        ),
        "jira webhook vulnerability automation not creating tickets",
    ),
    (
        (
            ("Software inventory missing Homebrew packages", "brew packages don't show."),
            ("Homebrew apps not in software list", "Software page lacks Homebrew packages."),
            ("Missing homebrew software on macOS hosts", "Inventory has no brew packages."),
        ),
        "homebrew packages missing software inventory",
    ),
    (
        (
            ("MySQL CPU spikes when policies run", "Database CPU at 100% every hour."),
            ("Policy runs cause database CPU spike", "MySQL load spikes with policies."),
            ("High MySQL CPU during policy evaluation", "Spikes hourly when policies run."),
        ),
        "mysql cpu spike policies",
    ),
    (
        (
            ("ABM token expired breaks DEP enrollment", "New Macs can't enroll via ADE."),
            ("Automatic enrollment fails: Apple Business Manager token", "Token expired."),
            ("DEP enrollment failing after ABM token expiry", "ADE enrollment errors."),
        ),
        "abm token expired automatic enrollment fails",
    ),
    (
        (
            ("Scripts time out on Windows hosts after 5 minutes", "Long scripts are killed."),
            ("Script execution timeout on Windows", "PowerShell scripts stop at 5 minutes."),
            ("Windows script runs killed by timeout", "Timeout after five minutes."),
        ),
        "windows script execution timeout",
    ),
    (
        (
            ("Export hosts to CSV drops custom columns", "The CSV lacks selected columns."),
            ("CSV export missing columns on hosts page", "Custom columns absent in export."),
            ("Hosts CSV export ignores column selection", "All default columns only."),
        ),
        "hosts csv export missing columns",
    ),
)


# --- setup -----------------------------------------------------------------------------------


def vocabulary() -> tuple[list[str], list[float]]:
    """The words, head first, and their cumulative Zipf weights."""
    rng = random.Random(SEED)
    onsets = [*"bcdfghjklmnprstvz", "br", "dr", "gr", "kl", "pr", "st", "tr"]
    vowels = "aeiou"
    made_up: dict[str, None] = {}
    while len(made_up) < 3000:
        syllables = rng.randint(2, 4)
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables))
        word += rng.choice(["", "n", "r", "x", "s", "l"])
        if word not in DOMAIN:
            made_up[word] = None
    words = list(dict.fromkeys(DOMAIN)) + list(made_up)
    weights = itertools.accumulate(1 / (rank + 10) for rank in range(len(words)))
    return words, list(weights)


class Writer:
    """Text as people write it: Zipf-distributed words with stop words between them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words, self.cumulative = vocabulary()

    def phrase(self, low: int, high: int) -> str:
        n = self.rng.randint(low, high)
        drawn = self.rng.choices(self.words, cum_weights=self.cumulative, k=n)
        out = []
        for word in drawn:
            if self.rng.random() < 0.25:
                out.append(self.rng.choice(STOP_WORDS))
            out.append(word)
        return " ".join(out)

    def title(self) -> str:
        text = self.phrase(4, 8)
        return text[0].upper() + text[1:]

    def body(self, bug: bool) -> str:
        if not bug:
            return self.phrase(15, 80) + "."
        return TEMPLATE.format(
            minor=self.rng.randint(40, 60),
            patch=self.rng.randint(0, 3),
            browser=self.rng.choice(BROWSERS),
            expected=self.phrase(5, 15),
            actual=self.phrase(5, 20),
            steps=self.phrase(5, 25),
        )


def rows(repository_id: int, now: datetime.datetime) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of (id, repository, number, kind, title, body, state, author, created, updated)."""
    writer = Writer(SEED)
    rng = writer.rng
    planted = [issue for issues, _ in PLANTED for issue in issues]
    # The planted issues at fixed places through the history.
    places = {1 + (n * ISSUES) // len(planted): issue for n, issue in enumerate(planted)}
    span = datetime.timedelta(days=5 * 365).total_seconds()
    batch = []
    for n in range(1, ISSUES + 1):
        bug = rng.random() < 0.6
        if n in places:
            title, body = places[n]
            kind = "bug"
        else:
            title, body = writer.title(), writer.body(bug)
            kind = "bug" if bug else rng.choice(("feature_request", "other"))
        created = now - datetime.timedelta(seconds=span * (ISSUES - n + rng.random()) / ISSUES)
        state = "closed" if rng.random() < 0.8 and n < ISSUES * 0.98 else "open"
        batch.append(
            (n, repository_id, n, kind, title, body, state, f"user{n % 5000}", created, created)
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


COLUMNS = (
    "id", "repository_id", "number", "kind", "title", "body", "state", "author_login",
    "created_at", "updated_at",
)  # fmt: skip


def load() -> dict[str, float]:
    """Writes the issues; returns the seconds each step took."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from ceres.tracker.models import TrackerIssue, TrackerRepository

    search_migration = import_module("ceres.tracker.migrations.0002_search")
    postgres = connection.vendor == "postgresql"
    repository = TrackerRepository.objects.create(
        name="public", visibility="public", backend="builtin", last_number=ISSUES
    )
    table = TrackerIssue._meta.db_table
    names = ", ".join(COLUMNS)
    seconds: dict[str, float] = {}
    # The issues are written without the search index, which is then made by the migration's
    # own SQL: its cost for a tracker that already has a million issues.
    with connection.cursor() as cursor:
        for sql in search_migration.POSTGRESQL_DROP if postgres else search_migration.SQLITE_DROP:
            cursor.execute(sql)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for batch in rows(repository.pk, timezone.now()):
                    for row in batch:
                        copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
            for batch in rows(repository.pk, timezone.now()):
                cursor.executemany(sql, [(*row[:8], naive(row[8]), naive(row[9])) for row in batch])
        for sql in connection.ops.sequence_reset_sql(no_style(), [TrackerIssue]):
            cursor.execute(sql)
    seconds["written"] = time.perf_counter() - started
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in (
            search_migration.POSTGRESQL_CREATE if postgres else search_migration.SQLITE_CREATE
        ):
            cursor.execute(sql)
    seconds["index"] = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tracker_trackerissue" if postgres else "ANALYZE")
    seconds["analyzed"] = time.perf_counter() - started
    return seconds


def naive(value: datetime.datetime) -> str:
    # Django stores SQLite datetimes as naive UTC text.
    return str(value.astimezone(datetime.UTC).replace(tzinfo=None))


# --- the queries -----------------------------------------------------------------------------


def queries() -> list[tuple[str, str, int | None]]:
    """(kind of query, text, index of the planted problem it should find or None)."""
    writer = Writer(SEED + 1)  # new reports: the same language, other sentences
    rng = writer.rng
    out: list[tuple[str, str, int | None]] = []
    for n in range(WARMUP + QUERIES):
        roll = rng.random()
        if roll < 0.5:
            out.append(("new title", writer.title(), None))
        elif roll < 0.75:
            description = writer.body(True)[: rng.randint(60, 200)]
            out.append(("title and description", f"{writer.title()} {description}", None))
        else:
            problem = n % len(PLANTED)
            out.append(("known problem", PLANTED[problem][1], problem))
    return out


def measure(label: str) -> None:
    from ceres.tracker.models import TrackerIssue
    from ceres.tracker.search import similar_issues

    rng = random.Random(SEED + 2)
    planted_ids: list[set[int]] = []
    for issues, _ in PLANTED:
        titles = [title for title, _ in issues]
        planted_ids.append(
            set(TrackerIssue.objects.filter(title__in=titles).values_list("id", flat=True))
        )
    searches: dict[str, list[float]] = {}
    lookups: list[float] = []
    found = wanted = 0
    empty = 0
    all_queries = queries()
    for n, (kind, text, problem) in enumerate(all_queries):
        number = rng.randint(1, ISSUES)
        started = time.perf_counter()
        issue = TrackerIssue.objects.select_related("repository").get(
            repository__name="public", number=number
        )
        lookup = time.perf_counter() - started
        assert issue.reference == f"public#{number}"
        started = time.perf_counter()
        results = similar_issues(text)
        search = time.perf_counter() - started
        if n < WARMUP:
            continue
        lookups.append(lookup)
        searches.setdefault(kind, []).append(search)
        empty += not results
        if problem is not None:
            wanted += len(planted_ids[problem])
            found += len(planted_ids[problem] & {r.issue_id for r in results})
    every = [t for times in searches.values() for t in times]
    l50, l95 = statistics.median(lookups), percentile(lookups, 95)
    print(f"[{label}] baseline, issue by repository and number: p50 {l50 * 1000:.2f} ms, "
          f"p95 {l95 * 1000:.2f} ms over {len(lookups)}")  # fmt: skip
    for kind, times in [*searches.items(), ("all", every)]:
        t50, t95 = statistics.median(times), percentile(times, 95)
        print(
            f"[{label}] similar_issues, {kind}: p50 {t50 * 1000:.1f} ms, p95 {t95 * 1000:.1f} ms"
            f" over {len(times)}; ratio to the baseline p50 {t50 / l50:.0f}x, p95 {t95 / l95:.0f}x"
        )
    print(f"[{label}] planted duplicates found in the 8 results: {found} of {wanted}; "
          f"queries with no result: {empty}")  # fmt: skip
    describe(label, [text for _, text, _ in all_queries[WARMUP:]])


def describe(label: str, texts: list[str]) -> None:
    """What the searches had to rank (not timed): which words chose the candidates, and how
    many issues those select (the newest CANDIDATES of them are ranked)."""
    from django.db import connection, transaction

    from ceres.tracker import search

    postgres = connection.vendor == "postgresql"
    plans: dict[str, int] = {}
    selected: list[int] = []
    for text in texts:
        terms = search.search_terms(text)
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                total, frequencies = search._postgresql_frequencies(terms)
            else:
                total, frequencies = search._sqlite_frequencies(terms)
            chosen = search.choose_candidates(terms, frequencies, total, search.CANDIDATES)
            if chosen is None:
                plans["no word in any issue"] = plans.get("no word in any issue", 0) + 1
                continue
            plan = " and ".join(
                name
                for name, words in (("rare", chosen.any_of), ("common", chosen.all_of))
                if words
            )
            plans[plan] = plans.get(plan, 0) + 1
            if postgres:
                parts = [search._TSQUERY] * len(chosen.any_of)
                if chosen.all_of:
                    parts.append("(" + " && ".join([search._TSQUERY] * len(chosen.all_of)) + ")")
                cursor.execute(
                    "SELECT count(*) FROM tracker_trackerissue"  # noqa: S608
                    f" WHERE search_document @@ ({' || '.join(parts)})",
                    [*chosen.any_of, *chosen.all_of],
                )
            else:
                parts = [search._fts5(term) for term in chosen.any_of]
                if chosen.all_of:
                    parts.append("(" + " AND ".join(map(search._fts5, chosen.all_of)) + ")")
                cursor.execute(
                    "SELECT count(*) FROM tracker_issue_search WHERE tracker_issue_search MATCH %s",
                    [" OR ".join(parts)],
                )
            selected.append(cursor.fetchone()[0])
    over = sum(n > search.CANDIDATES for n in selected)
    print(
        f"[{label}] words that chose the candidates: "
        + ", ".join(f"{plan} {n}" for plan, n in sorted(plans.items()))
        + f"; issues selected p50 {statistics.median(selected):,.0f}, p95"
        f" {percentile(selected, 95):,}, max {max(selected):,}; over {search.CANDIDATES:,}"
        f" (only the newest ranked): {over} of {len(selected)}"
    )


def main() -> None:
    with scratch("tracker-search", CERES_TASKS_BACKEND="dummy") as (label, env, _):
        os.environ.update(env)  # the bulk load runs in this process
        import django

        django.setup()
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        migrated = time.perf_counter() - started
        seconds = load()
        print(
            f"[{label}] setup: migrate {migrated:.1f} s; {ISSUES:,} issues written in "
            f"{seconds['written']:.1f} s"
            + f", search index made by the migration in {seconds['index']:.1f} s"
            + f", ANALYZE {seconds['analyzed']:.1f} s",
            flush=True,
        )
        measure(label)


if __name__ == "__main__":
    main()

"""The duplicate search: ranking, what typed text may contain, and the index staying in step
with the issues (SQLite triggers, PostgreSQL's generated column)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceres.tracker import search
from ceres.tracker.models import TrackerIssue, TrackerRepository
from ceres.tracker.search import Candidates, choose_candidates, search_terms, similar_issues

MakeIssue = Callable[..., TrackerIssue]
# Unrelated issues, so that the words of the tests are rare, as they are in a real tracker
# (bm25 gives no weight to a word that more than half of the issues have).
FILLER = [
    "Dashboard widget colours wrong in dark mode",
    "Export of the audit log as CSV",
    "Translate the settings page into German",
    "Calendar invite for the quarterly review",
    "Password reset e-mail goes to spam",
    "Add a keyboard shortcut for saved replies",
    "Tooltip overlaps the sidebar on small screens",
    "Licence key approval reminder wording",
    "Slack notice for renewals lacks the amount",
    "Team page sorts people by first name",
]


@pytest.fixture
def repository(db: None) -> TrackerRepository:
    return TrackerRepository.objects.create(name="public", visibility="public", backend="builtin")


@pytest.fixture
def make_issue(repository: TrackerRepository) -> MakeIssue:
    def make(title: str, body: str = "", **fields: Any) -> TrackerIssue:
        repository.last_number += 1
        repository.save(update_fields=["last_number"])
        fields.setdefault("kind", TrackerIssue.Kind.BUG)
        return TrackerIssue.objects.create(
            repository=repository, number=repository.last_number, title=title, body=body, **fields
        )

    return make


@pytest.fixture
def filler(make_issue: MakeIssue) -> list[TrackerIssue]:
    return [make_issue(title, "Nothing in common with the others.") for title in FILLER]


def ids(text: str, **kwargs: Any) -> list[int]:
    return [result.issue_id for result in similar_issues(text, **kwargs)]


# --- what the text becomes -------------------------------------------------------------------


def test_terms_are_significant_words_once_in_order() -> None:
    assert search_terms("The hosts are OFFLINE after the upgrade; hosts, again!") == [
        "hosts",
        "offline",
        "upgrade",
    ]
    assert search_terms("a b c x1 fleet_desktop v4.2") == ["x1", "fleet", "desktop", "v4"]
    assert search_terms("Doesn't work, can't log in") == ["work", "log"]
    assert search_terms("Ça ne marche pas: l'hôte") == ["ça", "ne", "marche", "pas", "hôte"]


def test_terms_are_capped() -> None:
    words = [f"word{n}" for n in range(30)]
    assert search_terms(" ".join(words)) == words[: search.MAX_TERMS]
    assert search_terms("x" * 65 + " fine") == ["fine"]


@pytest.mark.parametrize("text", ["", "   \n\t", "the and of to", "!!! ??? -- **", "a b c 1 2"])
def test_nothing_to_search(text: str) -> None:
    assert search_terms(text) == []
    assert similar_issues(text) == []


def test_rare_words_choose_candidates_alone() -> None:
    # "offline" and "escrow" fit the budget together; "host" is in most issues.
    chosen = choose_candidates(["host", "offline", "escrow"], [900, 40, 50], total=1000, budget=100)
    assert chosen == Candidates(any_of=("offline", "escrow"), all_of=())


def test_common_words_choose_the_issues_having_all_of_them() -> None:
    # Each alone is over the budget; "offline" and "upgrade" together are estimated at
    # 1000 * 0.3 * 0.4 = 120, still over; with "host", 108.
    chosen = choose_candidates(
        ["host", "offline", "upgrade", "nowhere"], [900, 300, 400, 0], total=1000, budget=110
    )
    assert chosen == Candidates(any_of=(), all_of=("offline", "upgrade", "host"))
    assert choose_candidates(["nowhere"], [0], total=1000, budget=100) is None
    assert choose_candidates(["host"], [900], total=1000, budget=100) == Candidates(
        any_of=(), all_of=("host",)
    )


def test_common_words_do_not_drown_rare_ones() -> None:
    chosen = choose_candidates(["host", "fleet", "escrow"], [900, 800, 50], total=1000, budget=100)
    assert chosen == Candidates(any_of=("escrow",), all_of=())


# --- ranking ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_title_match_beats_a_body_match(
    make_issue: MakeIssue, filler: list[TrackerIssue]
) -> None:
    in_body = make_issue("Strange behaviour", "Since Monday hosts go offline after the upgrade.")
    in_title = make_issue("Hosts offline after upgrade", "Seen on three sites.")
    results = similar_issues("hosts offline after upgrade")
    assert [r.issue_id for r in results] == [in_title.pk, in_body.pk]
    assert results[0].score > results[1].score


@pytest.mark.django_db
def test_more_matched_words_beat_fewer(make_issue: MakeIssue, filler: list[TrackerIssue]) -> None:
    one = make_issue("Bitlocker status unknown")
    two = make_issue("Bitlocker escrow pending")
    three = make_issue("Bitlocker escrow fails on Windows")
    # "recovery" is in no issue: what matches still ranks (the words are OR-ed).
    assert ids("Windows bitlocker escrow recovery") == [three.pk, two.pk, one.pk]


@pytest.mark.django_db
def test_stemming_finds_other_forms(make_issue: MakeIssue, filler: list[TrackerIssue]) -> None:
    issue = make_issue("Upgrading fleetd breaks enrollment")
    assert ids("fleetd upgrade enrolled") == [issue.pk]


@pytest.mark.django_db
def test_open_before_closed_when_equally_similar(
    make_issue: MakeIssue, filler: list[TrackerIssue]
) -> None:
    open_issue = make_issue("Live query hangs on Linux")
    closed = make_issue("Live query hangs on Linux", state=TrackerIssue.State.CLOSED)
    results = similar_issues("live query hangs")
    assert [r.issue_id for r in results] == [open_issue.pk, closed.pk]
    assert [r.state for r in results] == ["open", "closed"]


@pytest.mark.django_db
def test_result_fields(make_issue: MakeIssue, filler: list[TrackerIssue]) -> None:
    issue = make_issue("SAML login loop with Okta")
    [result] = similar_issues("okta saml")
    assert result == search.SimilarIssue(
        issue_id=issue.pk,
        reference=f"public#{issue.number}",
        title="SAML login loop with Okta",
        state="open",
        score=result.score,
    )
    assert result.score > 0


@pytest.mark.django_db
def test_limit_exclude_and_kind(make_issue: MakeIssue, filler: list[TrackerIssue]) -> None:
    bugs = [make_issue(f"Webhook to Jira fails {n}") for n in range(4)]
    feature = make_issue("Webhook to Jira for vulnerabilities", kind="feature_request")
    assert len(ids("jira webhook", limit=2)) == 2
    assert set(ids("jira webhook")) == {*(b.pk for b in bugs), feature.pk}
    assert set(ids("jira webhook", exclude=[bugs[0].pk, feature.pk])) == {b.pk for b in bugs[1:]}
    assert ids("jira webhook", kind="feature_request") == [feature.pk]
    assert set(ids("jira webhook", kind="bug", exclude=iter([bugs[1].pk]))) == {
        bugs[0].pk,
        bugs[2].pk,
        bugs[3].pk,
    }
    assert ids("jira webhook", limit=0) == []


def analyze() -> None:
    """PostgreSQL estimates how many issues have a word from the statistics ANALYZE keeps;
    autovacuum would take its time."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tracker_trackerissue")


@pytest.mark.django_db
def test_common_words_find_the_issues_having_most_of_them(
    make_issue: MakeIssue, filler: list[TrackerIssue], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a budget of 3 candidates, "host" (in 8 issues) and "offline" (in 5) are common
    words: the candidates are the issues having both, and the newest 3 of them are ranked."""
    monkeypatch.setattr(search, "CANDIDATES", 3)
    only_host = [make_issue(f"Host detail page {n}") for n in range(3)]
    both = [make_issue(f"Host offline {n}", "The host is offline.") for n in range(5)]
    analyze()
    found = ids("host offline")
    assert found
    assert set(found) <= {issue.pk for issue in both[-3:]}
    assert not set(found) & {issue.pk for issue in only_host}
    # A rare word selects on its own, and counts for more than the common ones.
    rare = make_issue("Offline escrow")
    analyze()
    assert ids("host offline escrow")[0] == rare.pk


# --- text that is not a query ----------------------------------------------------------------

NASTY = [
    '"',
    '""',
    "'",
    '"host',
    "*",
    "host*",
    "NEAR",
    "NEAR(host offline, 2)",
    "host AND offline",
    "host OR",
    "NOT host",
    "-host",
    "title:host",
    "{title body}: host",
    "^host",
    "host + offline",
    "(host",
    "host)",
    "host & offline | !upgrade <-> x:*",
    "host:*A",
    "\x00",
    "host\x00offline",
    "e\u0301te\u0301",
    "ǅungla ﬁle Ⅻ ①②",
    "日本語のテキストでホストがオフライン",
    "hôte hors ligne après la mise à jour",
    "🔥 host 🔥",
    "\ud7ff\ufffd\uffff",
    "\ud800 host \udfff",
    "x" * 10_000,
    "host " * 5_000,
    " ".join(f"w{n}" for n in range(3_000)),
]


@pytest.mark.django_db
@pytest.mark.parametrize("text", NASTY)
def test_any_text_is_searched_without_error(
    text: str, make_issue: MakeIssue, filler: list[TrackerIssue]
) -> None:
    issue = make_issue("Host offline after upgrade")
    results = similar_issues(text)
    assert all(isinstance(r, search.SimilarIssue) for r in results)
    if "host" in search_terms(text):
        assert issue.pk in {r.issue_id for r in results}


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=200))
def test_arbitrary_text_never_raises(text: str, filler: list[TrackerIssue]) -> None:
    assert isinstance(similar_issues(text), list)


# --- the index follows the issues ------------------------------------------------------------


@pytest.mark.django_db
def test_the_index_follows_writes(make_issue: MakeIssue, filler: list[TrackerIssue]) -> None:
    issue = make_issue("Scripts time out on Windows", "PowerShell stops after five minutes.")
    assert ids("powershell timeout") == [issue.pk]

    issue.title = "Scripts killed on macOS"
    issue.body = "Zsh scripts stop after five minutes."
    issue.save()
    assert ids("powershell") == []
    assert ids("windows") == []
    assert ids("zsh macos") == [issue.pk]

    # A change that leaves the text alone (the SQLite trigger skips it) keeps it findable.
    issue.state = TrackerIssue.State.CLOSED
    issue.save()
    TrackerIssue.objects.filter(pk=issue.pk).update(kind=TrackerIssue.Kind.OTHER)
    assert ids("zsh macos") == [issue.pk]

    TrackerIssue.objects.filter(pk=issue.pk).update(body="Bash too.")
    assert ids("zsh") == []
    assert ids("bash") == [issue.pk]

    issue.delete()
    assert ids("scripts killed macos bash") == []
    assert len(ids("the quarterly review")) == 1  # the others are still indexed


@pytest.mark.django_db
def test_bulk_writes_are_indexed(repository: TrackerRepository) -> None:
    TrackerIssue.objects.bulk_create(
        TrackerIssue(repository=repository, number=n, title=f"Battery report {n}", kind="bug")
        for n in range(1, 31)
    )
    assert len(ids("battery report", limit=50)) == 30
    TrackerIssue.objects.filter(number__gt=10).delete()
    assert len(ids("battery report", limit=50)) == 10


def search_index_exists() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM information_schema.columns"
                " WHERE table_name = 'tracker_trackerissue' AND column_name = 'search_document'"
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE name LIKE 'tracker_issue_search%'"
            )
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_the_migration_reverses_and_indexes_existing_issues(make_issue: MakeIssue) -> None:
    issue = make_issue("Nudge deadline ignored on macOS")
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("tracker", "0001_initial")])
        assert not search_index_exists()
    finally:
        executor.loader.build_graph()
        executor.migrate(leaves)
    assert search_index_exists()
    assert ids("nudge deadline") == [issue.pk]

"""Similar issues, while a bug report is being typed: is this already filed?

The handbook asks for a search of the tracker before filing. Ceres runs it for the person as
they type the title and the description, so the candidates are ranked by full-text relevance
over titles and bodies: SQLite's FTS5 (bm25) or PostgreSQL's full-text search (ts_rank), over
what migration `tracker.0002_search` made. One selector; the database's vendor picks the SQL.

What is typed is text, never a query: it becomes a list of significant words (stop words and
one-letter words dropped) that are matched with OR, so an issue that shares some of the words
still ranks, below the ones that share more, and an issue whose title has them ranks above one
that mentions them in passing. No character of the text reaches either database's query
syntax: words are quoted for FTS5 and passed as parameters to PostgreSQL, so quotes, `*`,
`NEAR`, `-` or a pasted log never raise.

Ranking costs a few microseconds per matching issue, and in a big tracker the words people
type most ("host", "error", "fleet") are in half the issues: OR-ing them in would rank most of
the tracker on every keystroke. So the words are split by how many issues have them (as
Lucene's "common terms" query does): the rarer words, together in at most CANDIDATES issues,
each select candidates; the common ones select only the issues having all of the two or three
rarest of them. At most the newest CANDIDATES of those are ranked, by all the words (on SQLite
all but the commonest: `_sqlite_scoring_words`). A duplicate shares the rare words of a report,
or its rarest common ones, so it stays among the candidates; docs/performance.md has the
figures at a million issues, and what this misses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction

from ceres.tracker.models import TrackerIssue

Params = list[str | int | float]

MAX_TERMS = 12
# Longer "words" are hashes, base64 or a held-down key: nothing a duplicate shares.
MAX_TERM_LENGTH = 64
# The most issues one search ranks (10-30 ms of ranking at a million issues; see
# docs/performance.md).
CANDIDATES = 10_000
# At most this many common words select together (each costs its whole list of issues).
MAX_COMMON = 3
# The newest issues whose share having a common word estimates how many issues have it.
SAMPLE = 10_000
# How many issues' entries the lists of the words that only rank may add to a search (SQLite).
SCORING_READS = 300_000
# How many more than asked are read to put open issues before closed ones among equals.
TIES = 24
# PostgreSQL's english.stop (the Snowball list), so both databases drop the same words, and
# the pieces that contractions leave behind ("doesn't" is "doesn" and "t").
STOP_WORDS = frozenset(
    (
        "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours",
        "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself",
        "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which",
        "who", "whom", "this", "that", "these", "those", "am", "is", "are", "was", "were", "be",
        "been", "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an",
        "the", "and", "but", "if", "or", "because", "as", "until", "while", "of", "at", "by", "for",
        "with", "about", "against", "between", "into", "through", "during", "before", "after",
        "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over", "under",
        "again", "further", "then", "once", "here", "there", "when", "where", "why", "how", "all",
        "any", "both", "each", "few", "more", "most", "other", "some", "such", "no", "nor", "not",
        "only", "own", "same", "so", "than", "too", "very", "s", "t", "can", "will", "just", "don",
        "should", "now", "aren", "couldn", "didn", "doesn", "hadn", "hasn", "haven", "isn", "ll",
        "re", "ve", "wasn", "weren", "won", "wouldn", "shouldn", "im",
    )
)  # fmt: skip
# Letters and digits, in any script; "_" is a word character to `\w` but not to either tokenizer.
WORD = re.compile(r"[^\W_]+")

# Title matches weigh more than body matches: a duplicate is usually titled like the report.
SQLITE_TITLE_WEIGHT = 4.0
SQLITE_BODY_WEIGHT = 1.0
# ts_rank's weights for the labels D, C, B (bodies) and A (titles) of `search_document`.
POSTGRESQL_WEIGHTS = "{0.1, 0.2, 0.25, 1.0}"


@dataclass(frozen=True)
class SimilarIssue:
    issue_id: int
    reference: str  # "public#12"
    title: str
    state: str
    # Higher is more similar; comparable only among the results of one search.
    score: float


@dataclass(frozen=True)
class Candidates:
    """Which issues a search ranks: those with any of `any_of`, and those with all of
    `all_of` (when it has words)."""

    any_of: tuple[str, ...]
    all_of: tuple[str, ...]


def search_terms(text: str) -> list[str]:
    """The significant words of the text, lower-cased, in order, each once, at most
    MAX_TERMS: the words of a title come first, which are the ones that matter most."""
    terms: list[str] = []
    for word in WORD.findall(text.lower()):
        if len(word) < 2 or len(word) > MAX_TERM_LENGTH or word in STOP_WORDS:
            continue
        if word not in terms:
            terms.append(word)
            if len(terms) == MAX_TERMS:
                break
    return terms


def choose_candidates(
    terms: Sequence[str], frequencies: Sequence[float], total: float, budget: int
) -> Candidates | None:
    """Splits the words into rare ones (any of them selects an issue) and common ones (all of
    the rarest few select it), so the candidates stay near `budget`. `frequencies` are the
    numbers of issues having each word (exact or estimated, capped past the budget is fine);
    `total` the number of issues. None when no issue has any of the words."""
    present = sorted(
        (frequency, position, term)
        for position, (term, frequency) in enumerate(zip(terms, frequencies, strict=True))
        if frequency > 0
    )
    if not present:
        return None
    any_of: list[str] = []
    used = 0.0
    for frequency, _, term in present:
        if used + frequency > budget:
            break
        any_of.append(term)
        used += frequency
    common = present[len(any_of) :]
    all_of: list[str] = []
    # Issues having all of several words, estimated as if the words were independent. They may
    # take half the budget whatever the rare words took (an estimate of those is often high).
    room = max(budget - used, budget / 2)
    estimate = max(total, 1.0)
    for frequency, _, term in common[:MAX_COMMON]:
        all_of.append(term)
        estimate *= min(1.0, frequency / max(total, 1.0))
        if len(all_of) >= 2 and estimate <= room:
            break
    if any_of and (len(all_of) < 2 or estimate > room):
        # The common words would drown the rare ones' candidates: leave them out.
        all_of = []
    return Candidates(tuple(any_of), tuple(all_of))


def similar_issues(
    text: str, *, limit: int = 8, exclude: Iterable[int] = (), kind: str | None = None
) -> list[SimilarIssue]:
    """Issues like the text, most similar first (open before closed when equally similar).
    `exclude` leaves out issues already shown or the one being edited; `kind` keeps one kind
    (bugs, feature requests)."""
    terms = search_terms(text)
    if not terms or limit <= 0:
        return []
    excluded = sorted({int(pk) for pk in exclude})
    if connection.vendor == "sqlite":
        total, frequencies = _sqlite_frequencies(terms)
        candidates = choose_candidates(terms, frequencies, total, budget=CANDIDATES)
        if candidates is None:
            return []
        also = _sqlite_scoring_words(terms, frequencies, total, candidates)
        ranked = _sqlite(candidates, also, limit, excluded, kind)
    elif connection.vendor == "postgresql":
        # One transaction, for the settings its statements need (SET LOCAL).
        with transaction.atomic(using=connection.alias):
            total, frequencies = _postgresql_frequencies(terms)
            candidates = choose_candidates(terms, frequencies, total, budget=CANDIDATES)
            ranked = _postgresql(terms, candidates, limit, excluded, kind) if candidates else []
    else:
        return []
    issues = TrackerIssue.objects.select_related("repository").in_bulk([pk for pk, _ in ranked])
    return [
        SimilarIssue(
            issue_id=pk,
            reference=issue.reference,
            title=issue.title,
            state=issue.state,
            score=score,
        )
        for pk, score in ranked
        if (issue := issues.get(pk)) is not None  # deleted between the two queries
    ]


# --- SQLite ----------------------------------------------------------------------------------


def _fts5(term: str) -> str:
    # A quoted FTS5 string: inside quotes nothing is syntax (no NEAR, no column filter, no
    # prefix `*`); the tokenizer still stems it as it stemmed the indexed text.
    return '"' + term.replace('"', '""') + '"'


def _sqlite_frequencies(terms: Sequence[str]) -> tuple[float, list[float]]:
    """The number of issues having each word: counted exactly up to the budget (a word's list
    is read only that far: a millisecond at most), estimated past it from the share of the
    newest SAMPLE issues that have it (as far again). Counting a common word exactly would
    read all of its list: 20 ms for a word in most of a million issues."""
    exact = (
        "(SELECT count(*) FROM (SELECT 1 FROM tracker_issue_search"
        " WHERE tracker_issue_search MATCH %s LIMIT %s))"
    )
    recent = (
        "(SELECT count(*) FROM (SELECT 1 FROM tracker_issue_search"
        " WHERE tracker_issue_search MATCH %s AND rowid > %s))"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM tracker_trackerissue")
        total = int(cursor.fetchone()[0] or 0)
        params = Params()
        for term in terms:
            # An integer: FTS5 seeks to an integer rowid, but filters row by row for a float.
            params += [_fts5(term), CANDIDATES + 1, _fts5(term), total - SAMPLE]
        counts = ", ".join([f"{exact}, {recent}"] * len(terms))
        cursor.execute(f"SELECT {counts}", params)
        row = cursor.fetchone()
    frequencies = []
    for n in range(len(terms)):
        counted, in_sample = row[2 * n], row[2 * n + 1]
        if counted <= CANDIDATES or total <= SAMPLE:
            frequencies.append(float(counted))
        else:
            frequencies.append(max(float(counted), in_sample * total / SAMPLE))
    return float(total), frequencies


def _sqlite_scoring_words(
    terms: Sequence[str], frequencies: Sequence[float], total: float, candidates: Candidates
) -> list[str]:
    """Words that did not choose the candidates but count in their ranking: bm25 ranks by the
    words of the query only, and for each word it reads the whole list of issues having it
    (to weigh it by rarity). So the rarest first, up to SCORING_READS issues read in all
    (about 9 ms), and none that more than half the issues have (bm25 gives those no weight)."""
    chosen = {*candidates.any_of, *candidates.all_of}
    words, reads = [], 0.0
    for frequency, term in sorted(zip(frequencies, terms, strict=True)):
        if term in chosen or frequency <= 0:
            continue
        if frequency > total / 2 or reads + frequency > SCORING_READS:
            break
        words.append(term)
        reads += frequency
    return words


def _sqlite(
    candidates: Candidates,
    also: Sequence[str],
    limit: int,
    excluded: Sequence[int],
    kind: str | None,
) -> list[tuple[int, float]]:
    parts = [_fts5(term) for term in candidates.any_of]
    if candidates.all_of:
        parts.append("(" + " AND ".join(_fts5(term) for term in candidates.all_of) + ")")
    match = " OR ".join(parts)
    if also:
        # The same issues (C AND (C OR x) is C), but bm25 now counts x too, and the words of C
        # twice: the words that chose the candidates are the rarer ones.
        match = f"({match}) AND ({match} OR {' OR '.join(_fts5(term) for term in also)})"
    params: Params = [SQLITE_TITLE_WEIGHT, SQLITE_BODY_WEIGHT, match]
    source, where = "tracker_issue_search", ""
    if kind is not None:
        # Only for this filter is each candidate looked up in the issues table (a microsecond
        # or so a candidate, as much as ranking it). CROSS JOIN keeps the full-text index the
        # outer loop: SQLite would otherwise start from every issue of the kind.
        source += " CROSS JOIN tracker_trackerissue i ON i.id = tracker_issue_search.rowid"
        where += " AND i.kind = %s"
        params.append(kind)
    if excluded:
        where += f" AND tracker_issue_search.rowid NOT IN ({', '.join(['%s'] * len(excluded))})"
        params += excluded
    # The newest CANDIDATES matches (FTS5 reads its lists newest first without sorting), the
    # best of those by bm25 (which FTS5 negates: lower is better), and only then the issues'
    # state, for the order among equals: it takes a look-up in the issues table.
    sql = (
        "SELECT i.id, best.score FROM ("  # noqa: S608 (placeholders and fixed SQL only)
        " SELECT id, score FROM ("
        "  SELECT tracker_issue_search.rowid AS id,"
        "  -bm25(tracker_issue_search, %s, %s) AS score"
        f"  FROM {source} WHERE tracker_issue_search MATCH %s{where}"
        "  ORDER BY tracker_issue_search.rowid DESC LIMIT %s"
        " ) ORDER BY score DESC, id DESC LIMIT %s"
        ") best JOIN tracker_trackerissue i ON i.id = best.id"
        " ORDER BY best.score DESC, i.state = 'open' DESC, i.id DESC LIMIT %s"
    )
    params += [CANDIDATES, limit + TIES, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(pk), float(score)) for pk, score in cursor.fetchall()]


# --- PostgreSQL ------------------------------------------------------------------------------

# One plainto_tsquery per word: each word is a parameter, parsed and stemmed by PostgreSQL as
# the indexed text was, and nothing in it is tsquery syntax.
_TSQUERY = "plainto_tsquery('english'::regconfig, %s)"


def _postgresql_frequencies(terms: Sequence[str]) -> tuple[float, list[float]]:
    """The planner's estimates of the number of issues having each word, from the statistics
    ANALYZE keeps of `search_document` (the most common words and their frequencies), 0.2 ms
    a word; an exact count visits every issue counted (10 ms for a word in 6,000 issues).
    A word missing from those statistics is estimated at half the least common one's
    frequency, whether or not any issue has it; whether one does is cheap to ask, and a word
    that no issue has must not be taken for a rare one ("v4" of "v4.45.2", which PostgreSQL
    reads as one word)."""
    with connection.cursor() as cursor:

        def estimate(sql: str, params: Params) -> float:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            return float(plan[0]["Plan"]["Plan Rows"])

        total = estimate("SELECT 1 FROM tracker_trackerissue", [])
        match = f"SELECT 1 FROM tracker_trackerissue WHERE search_document @@ {_TSQUERY}"  # noqa: S608
        frequencies = [estimate(match, [term]) for term in terms]
        rare = [n for n, frequency in enumerate(frequencies) if frequency <= CANDIDATES]
        if rare:
            exists = ", ".join([f"EXISTS ({match})"] * len(rare))
            # Expecting a match soon, the planner would read the table from the start, and
            # read all of it for a word no issue has: the index answers in a millisecond.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"SELECT {exists}", [terms[n] for n in rare])
            for n, found in zip(rare, cursor.fetchone(), strict=True):
                if not found:
                    frequencies[n] = 0.0
            cursor.execute("SET LOCAL enable_seqscan = on")
    return total, frequencies


def _postgresql_filters(excluded: Sequence[int], kind: str | None) -> tuple[str, Params]:
    sql, params = "", Params()
    if kind is not None:
        sql += " AND i.kind = %s"
        params.append(kind)
    if excluded:
        sql += f" AND i.id NOT IN ({', '.join(['%s'] * len(excluded))})"
        params.extend(excluded)
    return sql, params


def _postgresql(
    terms: Sequence[str],
    candidates: Candidates,
    limit: int,
    excluded: Sequence[int],
    kind: str | None,
) -> list[tuple[int, float]]:
    parts = [_TSQUERY] * len(candidates.any_of)
    if candidates.all_of:
        parts.append("(" + " && ".join([_TSQUERY] * len(candidates.all_of)) + ")")
    filters, params = _postgresql_filters(excluded, kind)
    # The newest CANDIDATES matches, each ranked as it is read (its tsvector is in the row the
    # match reads anyway), then the best of those. Ranked by every word, not only the ones that
    # chose the candidates; ts_rank knows nothing of how rare a word is (bm25 does), so the rare
    # words count twice.
    every = " || ".join([_TSQUERY] * len(terms))
    rare = " || ".join([_TSQUERY] * len(candidates.any_of)) or "''::tsquery"
    sql = (
        "SELECT id, score FROM ("  # noqa: S608 (placeholders and fixed SQL only)
        " SELECT i.id, i.state, ts_rank(q.weights, i.search_document, q.every)"
        " + ts_rank(q.weights, i.search_document, q.rare) AS score"
        f" FROM tracker_trackerissue i, (SELECT %s::real[] AS weights, {every} AS every,"
        f" {rare} AS rare) q WHERE i.search_document @@ ({' || '.join(parts)}){filters}"
        " ORDER BY i.id DESC LIMIT %s"
        ") c ORDER BY score DESC, state = 'open' DESC, id DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        # Compiling the query (JIT, for plans the planner thinks are costly) takes longer than
        # running it.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            sql,
            [
                POSTGRESQL_WEIGHTS,
                *terms,
                *candidates.any_of,
                *candidates.any_of,
                *candidates.all_of,
                *params,
                CANDIDATES,
                limit,
            ],
        )
        return [(int(pk), float(score)) for pk, score in cursor.fetchall()]

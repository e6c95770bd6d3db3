"""The full-text index behind the duplicate search (`ceres.tracker.search`).

Neither database's index is a model field: Django has no portable way to say "FTS5 table" or
"tsvector column", so this migration writes the SQL for each database, and
`ceres.tracker.search` queries what it made with SQL that names the same table or column. On
any other database the migration does nothing and the search finds nothing.

SQLite: an FTS5 table with *external content* (it stores the index, not a second copy of the
titles and bodies; it reads them from tracker_trackerissue by rowid = id), kept in step by
triggers. FTS5 cannot notice changes to its content table by itself, so the triggers are the
only thing keeping it right: a future migration that makes Django remake tracker_trackerissue on
SQLite (most AlterField/RemoveField operations: copy, drop, rename) drops the triggers with the
old table and must run `create_sqlite` below again (tests/tracker/test_search.py fails if it
does not: issues written afterwards are no longer found).

PostgreSQL: a stored generated tsvector column, `search_document` (the weighted title and body),
with a GIN index on it. Generated, so PostgreSQL computes it on every write and nothing can fall
out of step; stored, because ranking reads the tsvector of every candidate: with only an index
on the expression, PostgreSQL re-parses the title and body of each candidate to rank it (60 µs
a row, measured: 8.2 s to rank the 264,000 matches of a common word in 300,000 issues, against
0.2-0.6 s from the stored column). Django does not know the column (it is not a model field);
it only ever lists its own columns, so the ORM never reads or writes it. A later change of
title's or body's type (AlterField) must drop the column first: PostgreSQL refuses to alter a
column a generated column uses, and says so. The body is indexed up to 65,536 characters
(GitHub's limit for an issue body): a tsvector holds at most 1 MB, and a longer body of pasted
logs must not make the issue impossible to save. `pg_trgm` is not used: the word index answers
"issues about the same thing"; character trigrams would add typo tolerance on titles at the
price of an extension to install.
"""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

SQLITE_CREATE = [
    # porter: "upgrading" finds "upgrade"; remove_diacritics 2: "cafe" finds "café".
    """
    CREATE VIRTUAL TABLE tracker_issue_search USING fts5(
        title, body,
        content='tracker_trackerissue', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    # The external-content pattern from the FTS5 documentation: 'delete' must be given the
    # values that were indexed, which are the old row's.
    """
    CREATE TRIGGER tracker_issue_search_insert AFTER INSERT ON tracker_trackerissue BEGIN
        INSERT INTO tracker_issue_search (rowid, title, body)
        VALUES (new.id, new.title, new.body);
    END
    """,
    """
    CREATE TRIGGER tracker_issue_search_delete AFTER DELETE ON tracker_trackerissue BEGIN
        INSERT INTO tracker_issue_search (tracker_issue_search, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END
    """,
    # Django's save() writes every column: a change of state or label leaves the text alone,
    # and the WHEN clause keeps such updates from rewriting the index.
    """
    CREATE TRIGGER tracker_issue_search_update AFTER UPDATE OF title, body
    ON tracker_trackerissue
    WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
        INSERT INTO tracker_issue_search (tracker_issue_search, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO tracker_issue_search (rowid, title, body)
        VALUES (new.id, new.title, new.body);
    END
    """,
    # Issues written before this migration.
    "INSERT INTO tracker_issue_search (tracker_issue_search) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tracker_issue_search_insert",
    "DROP TRIGGER IF EXISTS tracker_issue_search_delete",
    "DROP TRIGGER IF EXISTS tracker_issue_search_update",
    "DROP TABLE IF EXISTS tracker_issue_search",
]
POSTGRESQL_CREATE = [
    """
    ALTER TABLE tracker_trackerissue ADD COLUMN search_document tsvector
    GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(to_tsvector('english'::regconfig, left(body, 65536)), 'B')
    ) STORED
    """,
    # Not CONCURRENTLY: that cannot run inside the migration's transaction (and the ALTER
    # above rewrites the table under an exclusive lock anyway), and a failed concurrent build
    # leaves an invalid index behind. Both take seconds for a tracker's worth of issues and
    # about two minutes at a million (docs/performance.md).
    "CREATE INDEX tracker_issue_search ON tracker_trackerissue USING gin (search_document)",
]
POSTGRESQL_DROP = [
    "DROP INDEX IF EXISTS tracker_issue_search",
    "ALTER TABLE tracker_trackerissue DROP COLUMN IF EXISTS search_document",
]


def run(schema_editor: BaseDatabaseSchemaEditor, statements: dict[str, list[str]]) -> None:
    for sql in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def create_sqlite(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Also for a later migration that remakes tracker_trackerissue (see above)."""
    run(schema_editor, {"sqlite": SQLITE_DROP + SQLITE_CREATE})


def create(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    run(schema_editor, {"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE})


def drop(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    run(schema_editor, {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP})


class Migration(migrations.Migration):
    dependencies = [("tracker", "0001_initial")]
    operations = [migrations.RunPython(create, drop, elidable=False)]

"""The full-text index: its tables, how it follows the data, and how it is filled.

Three sources are indexed: messages (their subject, the new part of the text, the author's name
and address), ticket subjects, and contacts (name and address). ``Message.new_part`` rather than
``full_text``: the quoted history would make every reply match what it quotes.

**SQLite** has one FTS5 table per source with *external content* (``content='message'``): the
index holds only the inverted lists, the text stays in its own table once. Triggers on the
source tables keep the index in step in the same transaction as the write, whoever writes: the
models, or the hand-written SQL of the ingest hot path. The ``unicode61`` tokenizer (words are
runs of letters and digits; case and accents folded) matches the query parser's idea of a word.
An external-content index must be told the exact old values on delete; the triggers do that,
so nothing else may write to these tables. A future migration that rebuilds ``message``,
``ticket`` or ``contact`` (SQLite ALTERs by copying) drops their triggers and must call
:func:`install` again.

**PostgreSQL** gets a stored generated ``tsvector`` column per source with a GIN index: always
in step, filled by ``ALTER TABLE`` for existing rows. The ``simple`` configuration (lower-case,
no stemming, no stop words) because a helpdesk's mail is in many languages and operators search
for names, product codes and error numbers that stemming would mangle; punctuation is turned
into spaces first, so ``maria@acme.com`` is indexed as maria, acme, com, as on SQLite. (Accents
are kept on PostgreSQL: folding them needs the ``unaccent`` extension.)
"""

from __future__ import annotations

from peewee import Database, PostgresqlDatabase

TOKENIZER = "unicode61 remove_diacritics 2"

SOURCES: dict[str, tuple[str, ...]] = {
    "message": ("subject", "new_part", "author_name", "author_email"),
    "ticket": ("subject",),
    "contact": ("name", "email"),
}
"""Each indexed table and its indexed columns."""

PG_COLUMN = "search_vector"


def fts_table(source: str) -> str:
    return f"{source}_fts"


def is_postgres(db: Database) -> bool:
    return isinstance(db, PostgresqlDatabase)


def sqlite_statements(source: str) -> list[str]:
    """The FTS5 table and its three triggers for ``source`` (idempotent)."""
    columns = SOURCES[source]
    table = fts_table(source)
    names = ", ".join(f'"{c}"' for c in columns)
    new = ", ".join(f'new."{c}"' for c in columns)
    old = ", ".join(f'old."{c}"' for c in columns)
    delete = (
        f'INSERT INTO "{table}" ("{table}", rowid, {names}) VALUES (\'delete\', old."id", {old});'
    )
    insert = f'INSERT INTO "{table}" (rowid, {names}) VALUES (new."id", {new});'
    return [
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{table}" USING fts5({names}, '
        f"content='{source}', content_rowid='id', tokenize='{TOKENIZER}')",
        f'CREATE TRIGGER IF NOT EXISTS "{table}_insert" AFTER INSERT ON "{source}" '
        f"BEGIN {insert} END",
        f'CREATE TRIGGER IF NOT EXISTS "{table}_delete" AFTER DELETE ON "{source}" '
        f"BEGIN {delete} END",
        f'CREATE TRIGGER IF NOT EXISTS "{table}_update" AFTER UPDATE OF {names} ON "{source}" '
        f"BEGIN {delete} {insert} END",
    ]


def postgres_statements(source: str) -> list[str]:
    """The generated tsvector column and its GIN index for ``source`` (idempotent)."""
    joined = " || ' ' || ".join(f"coalesce(\"{c}\", '')" for c in SOURCES[source])
    document = f"regexp_replace({joined}, '[^[:alnum:]]+', ' ', 'g')"
    return [
        f'ALTER TABLE "{source}" ADD COLUMN IF NOT EXISTS "{PG_COLUMN}" tsvector '
        f"GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, {document})) STORED",
        f'CREATE INDEX IF NOT EXISTS "{source}_{PG_COLUMN}" ON "{source}" '
        f'USING gin ("{PG_COLUMN}")',
    ]


def install(db: Database) -> None:
    """Create the index structures and fill them from the rows already there.

    Run inside the migration's transaction: a fresh database, or the v3 step of an old one."""
    for source in SOURCES:
        if is_postgres(db):
            for statement in postgres_statements(source):
                db.execute_sql(statement)
            continue
        for statement in sqlite_statements(source):
            db.execute_sql(statement)
        table = fts_table(source)
        db.execute_sql(f'INSERT INTO "{table}" ("{table}") VALUES (\'rebuild\')')


def check(db: Database) -> list[str]:
    """The sources whose SQLite index disagrees with its table (FTS5 'integrity-check');
    empty when all is well. For tests and for an operator's repair."""
    broken = []
    if is_postgres(db):
        return broken
    for source in SOURCES:
        table = fts_table(source)
        try:
            db.execute_sql(
                f'INSERT INTO "{table}" ("{table}", rank) VALUES (\'integrity-check\', 1)'
            )
        except Exception:  # any failure here means the index is off
            broken.append(source)
    return broken


__all__ = [
    "PG_COLUMN",
    "SOURCES",
    "TOKENIZER",
    "check",
    "fts_table",
    "install",
    "is_postgres",
]

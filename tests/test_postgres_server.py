"""The PostgreSQL test server itself: it starts, hands out migrated databases, and cuts sessions."""

from __future__ import annotations

import pytest

from tuidesk.core.store import db as store
from tuidesk.core.store.migrations import SCHEMA_VERSION, current_version

pytestmark = pytest.mark.servers


def test_a_test_database_is_migrated_and_private(postgres, pg_url):
    other = postgres.new_database()
    database = store.connect(pg_url)
    try:
        assert current_version(database) == SCHEMA_VERSION
        database.execute_sql("CREATE TABLE only_here (x integer)")
    finally:
        store.close()
    tables = postgres.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_here'",
        other.rsplit("/", 1)[1],
    )
    assert tables == [(0,)]
    postgres.drop_database(other)

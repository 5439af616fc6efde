"""The store: SQLite in WAL mode with foreign keys, private file, clear errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tuidesk.core.errors import StoreError
from tuidesk.core.store import db as store
from tuidesk.core.store.migrations import SCHEMA_VERSION, current_version
from tuidesk.core.store.models import Contact, SchemaVersion, Ticket
from tuidesk.core.tickets import NewTicket, create_ticket, get_or_create_contact


def test_a_new_database_file_is_private_and_at_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite3"
    database = store.connect(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert current_version(database) == SCHEMA_VERSION


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = store.connect(str(tmp_path / "desk.sqlite3"))
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_a_sqlite_url_opens_the_same_kind_of_database(tmp_path: Path) -> None:
    store.connect(f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    assert (tmp_path / "desk.sqlite3").exists()


def test_a_database_from_a_newer_tuidesk_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "desk.sqlite3")
    store.connect(path)
    SchemaVersion.create(version=SCHEMA_VERSION + 1)
    store.close()
    with pytest.raises(StoreError, match="newer than this tuidesk"):
        store.connect(path)


def test_an_unsupported_url_scheme_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="scheme 'mysql' is not supported"):
        store.connect("mysql://u:pw@host/db")


def test_a_database_path_that_cannot_be_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("not a directory")
    with pytest.raises(StoreError, match=r"cannot be opened.*check the path"):
        store.connect(str(tmp_path / "plain-file" / "x.sqlite3"))


def test_a_database_in_a_new_directory_is_created(tmp_path: Path) -> None:
    store.connect(str(tmp_path / "new" / "dir" / "x.sqlite3"))
    assert (tmp_path / "new" / "dir" / "x.sqlite3").exists()


def test_a_password_in_a_url_is_masked_when_shown() -> None:
    shown = store.describe_url("postgresql://desk:hunter22@db.example.com/tuidesk")
    assert "hunter22" not in shown
    assert "db.example.com" in shown


def test_contacts_are_found_by_address_whatever_its_case(db) -> None:
    contact = get_or_create_contact("Alice@Example.COM", "Alice")
    assert get_or_create_contact("alice@example.com").id == contact.id
    assert Contact.select().count() == 1


def test_ticket_numbers_are_six_digits_and_unique(db) -> None:
    numbers = {create_ticket(NewTicket(subject=f"t{i}")).number for i in range(300)}
    assert len(numbers) == 300
    assert all(100000 <= n <= 999999 for n in numbers)
    assert Ticket.select().count() == 300

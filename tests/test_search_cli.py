"""`tuidesk search QUERY`, headless: a table or JSON lines of tickets, one sentence for a bad
query, on the database named by --db (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from peewee import Database

from tuidesk.core.store import db as store
from tuidesk.core.tickets import (
    NewMessage,
    NewTicket,
    add_message,
    create_ticket,
    get_or_create_contact,
)


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tuidesk", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def helpdesk(db: Database, db_target: str) -> str:
    """Two tickets with mail; the database's --db value, closed so a subprocess can use it."""
    for subject, text, address in (
        ("Printer on floor 3", "The paper tray jams.", "maria@acme.example"),
        ("VPN drops", "Every hour the tunnel drops.", "tom@northwind.example"),
    ):
        ticket = create_ticket(
            NewTicket(subject=subject, contact=get_or_create_contact(address, ""))
        )
        add_message(NewMessage(ticket=ticket, direction="in", new_part=text))
    store.close()
    return db_target


def test_search_prints_the_tickets_it_finds(helpdesk: str, cli_env: dict[str, str]) -> None:
    done = run(["--db", helpdesk, "search", "tray", "jams"], cli_env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "number",
        "status",
        "priority",
        "last",
        "activity",
        "contact",
        "subject",
    ]
    assert len(lines) == 2 and "Printer on floor 3" in lines[1]
    assert "maria@acme.example" in lines[1]


def test_search_as_json_lines(helpdesk: str, cli_env: dict[str, str]) -> None:
    done = run(["--db", helpdesk, "search", "--json", "from:northwind.example"], cli_env)
    assert done.returncode == 0, done.stderr
    [ticket] = [json.loads(line) for line in done.stdout.splitlines()]
    assert ticket["subject"] == "VPN drops"
    assert ticket["status"] == "open"


def test_a_query_starting_with_a_minus_follows_a_double_dash(
    helpdesk: str, cli_env: dict[str, str]
) -> None:
    done = run(["--db", helpdesk, "search", "--json", "--", "-tray", "drops"], cli_env)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["subject"] for line in done.stdout.splitlines()] == ["VPN drops"]


def test_nothing_found_is_an_empty_table(helpdesk: str, cli_env: dict[str, str]) -> None:
    done = run(["--db", helpdesk, "search", "zebra"], cli_env)
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == "(none)"


@pytest.mark.parametrize(
    ("query", "sentence"),
    [
        ("status:bogus", "status:bogus is not a ticket status"),
        ("%%", "has no letters or digits to look for"),
    ],
)
def test_a_bad_query_is_one_sentence_and_exit_code_2(
    helpdesk: str, cli_env: dict[str, str], query: str, sentence: str
) -> None:
    done = run(["--db", helpdesk, "search", query], cli_env)
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("tuidesk: error: ") and sentence in line


def test_the_status_choices_are_the_queues_status_filters() -> None:
    from tuidesk.cli.search_cmd import STATUS_CHOICES
    from tuidesk.core.queue import STATUS_FILTERS

    assert set(STATUS_CHOICES) == set(STATUS_FILTERS)


def test_building_the_parser_does_not_import_the_search() -> None:
    """Every command builds the parser, --poll-once included: it stays light."""
    probe = (
        "import sys; from tuidesk.cli.parser import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith(('tuidesk.core.search', "
        "'tuidesk.core.queue', 'jinja2', 'mailparser'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

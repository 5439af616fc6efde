"""A big helpdesk database for the benchmarks: N tickets, M messages, built fast and cached.

Shared by bench/tui.py (the queue, a filter, a long thread) and bench/search.py (full-text
search). Rows go in with executemany on a plain sqlite3 connection, through the real schema (the
migrations make it, and its triggers fill the full-text index as the rows arrive). Message text
is drawn from a vocabulary with a Zipf distribution, as natural language is: a few words occur
in most messages, the helpdesk's topic words (printer, vpn, invoice…) in a few percent to a few
tens of percent, and the long tail of rare words in a handful each, so searches hit common and
rare words alike.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import tempfile
import time
from bisect import bisect_left
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GENERATOR_VERSION = 2  # part of the cache name: a change to the data builds a new database
LONG_THREAD = 200
NOW = datetime(2025, 3, 14, 9, 30)
CONTACTS = 20_000
WORDS = [
    "printer",
    "vpn",
    "invoice",
    "login",
    "password",
    "outage",
    "backup",
    "laptop",
    "screen",
    "calendar",
    "licence",
    "renewal",
    "error",
    "crash",
    "update",
    "network",
    "wifi",
    "phone",
    "account",
    "access",
    "report",
    "quote",
]
"""The helpdesk's topic words: every subject is made of them."""

COMMON = [
    "the",
    "to",
    "and",
    "a",
    "of",
    "i",
    "it",
    "is",
    "you",
    "in",
    "we",
    "for",
    "this",
    "that",
    "on",
    "please",
    "have",
    "be",
    "not",
    "with",
    "can",
    "my",
    "as",
    "are",
    "but",
    "at",
    "our",
    "was",
    "will",
    "from",
    "if",
    "all",
    "me",
    "so",
    "an",
    "do",
    "thanks",
    "there",
    "again",
    "when",
    "any",
    "would",
    "one",
    "since",
    "now",
    "after",
    "also",
    "just",
    "could",
    "know",
    "what",
    "still",
    "get",
    "need",
    "about",
    "help",
    "here",
    "today",
    "they",
    "by",
    "or",
]
"""Words nearly every message has."""

WORDS_PER_MESSAGE = (20, 45)
VOCABULARY_SIZE = 5000


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """The words and their cumulative Zipf weights (rank r has weight 1/r): the common words,
    then the topic words among the most frequent, then made-up words down to the rare tail."""
    syllables = [
        "ka",
        "lo",
        "mi",
        "ne",
        "ru",
        "sa",
        "ti",
        "vo",
        "be",
        "da",
        "fe",
        "gi",
        "ho",
        "ju",
        "ma",
        "no",
        "pe",
        "qui",
        "ro",
        "se",
        "tu",
        "ve",
        "wa",
        "xe",
        "zo",
    ]
    seen = set(COMMON) | set(WORDS)
    made: list[str] = []
    while len(COMMON) + len(WORDS) + len(made) < VOCABULARY_SIZE:
        word = "".join(rng.choices(syllables, k=rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            made.append(word)
    words = COMMON[:20] + WORDS + COMMON[20:] + made
    return words, list(accumulate(1 / rank for rank in range(1, len(words) + 1)))


class TextMaker:
    """Message bodies of Zipf-distributed words (fast: one bisect per word)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words, self.cumulative = vocabulary(rng)
        self.total = self.cumulative[-1]

    def body(self) -> str:
        rng, words, cumulative, total = self.rng, self.words, self.cumulative, self.total
        count = rng.randint(*WORDS_PER_MESSAGE)
        chosen = [words[bisect_left(cumulative, rng.random() * total)] for _ in range(count)]
        cut = rng.randint(5, count - 5)
        first, second = " ".join(chosen[:cut]), " ".join(chosen[cut:])
        return f"Hello,\n\n{first.capitalize()}.\n{second.capitalize()}.\n\nRegards"


# --- the database --------------------------------------------------------------------------


def row_defaults(model: Any) -> tuple[list[str], dict[str, Any]]:
    """The column names of ``model`` and a value for each (its default, or None)."""
    names, values = [], {}
    for field in model._meta.sorted_fields:
        if field.name == "id":
            continue
        names.append(field.column_name)
        default = field.default
        values[field.column_name] = default() if callable(default) else default
    return names, values


def bulk_insert(db: sqlite3.Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    columns, defaults = row_defaults(model)
    table = model._meta.table_name
    quoted = ", ".join(f'"{column}"' for column in columns)
    marks = ", ".join("?" * len(columns))
    statement = f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})'
    db.executemany(statement, ([row.get(c, defaults[c]) for c in columns] for row in rows))


def contact_address(index: int) -> str:
    return f"person{index}@client{index % 500 + 1}.example"


def build_database(path: Path, tickets: int, messages: int) -> int:
    """Fill a fresh database at ``path``; return the id of the ticket with the long thread."""
    from tuidesk.core.store.db import connect
    from tuidesk.core.store.models import (
        Agent,
        Client,
        Contact,
        Department,
        Mailbox,
        Message,
        Ticket,
    )

    connect(str(path)).close()  # the schema, by the migrations
    rng = random.Random(6)
    text = TextMaker(random.Random(9))
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=wal")
    db.execute("PRAGMA synchronous=off")
    with db:
        bulk_insert(
            db,
            Department,
            [{"name": n} for n in ("Support", "Billing", "Sales", "Projects", "Security")],
        )
        bulk_insert(
            db,
            Agent,
            [{"name": f"Agent {i}", "email": f"agent{i}@helpdesk.example"} for i in range(1, 21)],
        )
        bulk_insert(db, Client, [{"name": f"Client {i:03d}"} for i in range(1, 501)])
        bulk_insert(
            db,
            Mailbox,
            [{"name": f"inbox-{i}", "address": f"in{i}@helpdesk.example"} for i in range(1, 4)],
        )
        bulk_insert(
            db,
            Contact,
            [
                {"email": contact_address(i), "name": f"Person {i}", "client_id": i % 500 + 1}
                for i in range(1, CONTACTS + 1)
            ],
        )
        numbers = rng.sample(range(100000, 1000000), tickets)
        ticket_rows = []
        for i in range(tickets):
            created = NOW - timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
            contact = rng.randrange(1, CONTACTS + 1)
            ticket_rows.append(
                {
                    "number": numbers[i],
                    "subject": " ".join(rng.choices(WORDS, k=5)).capitalize(),
                    "status": rng.choices(("open", "pending", "closed"), (2, 1, 7))[0],
                    "priority": rng.choices(("low", "normal", "high", "urgent"), (2, 6, 2, 1))[0],
                    "department_id": rng.randrange(1, 6),
                    "contact_id": contact,
                    "client_id": contact % 500 + 1,
                    "assignee_id": rng.choice((None, *range(1, 21))),
                    "mailbox_id": rng.randrange(1, 4),
                    "unread": rng.random() < 0.1,
                    "created_at": created,
                    "updated_at": created,
                    "last_activity_at": created,
                }
            )
        long_thread = tickets  # the last ticket: the newest, so it opens from the first page
        ticket_rows[-1].update(status="open", last_activity_at=NOW, subject="The long thread")
        bulk_insert(db, Ticket, ticket_rows)
        left = messages - LONG_THREAD
        batch: list[dict[str, Any]] = []
        for i in range(messages):
            ticket = long_thread if i >= left else i % (tickets - 1) + 1
            direction = ("in", "out", "note")[i % 3]
            contact = ticket_rows[ticket - 1]["contact_id"]
            if direction == "in":
                author = (f"Person {contact}", contact_address(contact))
            else:
                agent = ticket % 20 + 1
                author = (f"Agent {agent}", f"agent{agent}@helpdesk.example")
            body = text.body()
            batch.append(
                {
                    "ticket_id": ticket,
                    "direction": direction,
                    "author_name": author[0],
                    "author_email": author[1],
                    "subject": ticket_rows[ticket - 1]["subject"],
                    "new_part": body,
                    "full_text": f"{body}\n\nOn Monday you wrote:\n> Hello, about the "
                    f"{ticket_rows[ticket - 1]['subject'].lower()}",
                    "created_at": NOW - timedelta(minutes=messages - i),
                }
            )
            if len(batch) == 50_000:
                bulk_insert(db, Message, batch)
                batch = []
        bulk_insert(db, Message, batch)
    db.execute("INSERT INTO message_fts(message_fts) VALUES ('optimize')")
    db.execute("ANALYZE")
    db.commit()
    db.close()
    return long_thread


def cached_database(
    tickets: int, messages: int, cache: Path | None = None, purpose: str = "bench"
) -> tuple[Path, int]:
    """The database of ``tickets`` and ``messages``, built once under ``cache`` (default: the
    temp folder); its path and the id of the long thread's ticket."""
    from tuidesk.core.store.migrations import SCHEMA_VERSION

    folder = cache or Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (
        f"tuidesk-{purpose}-v{SCHEMA_VERSION}-g{GENERATOR_VERSION}-{tickets}-{messages}.sqlite3"
    )
    marker = path.with_suffix(".json")
    if path.exists() and marker.exists():
        return path, json.loads(marker.read_text())["long_thread"]
    for stale in (path, marker, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    print(f"building {path} ({tickets:,} tickets, {messages:,} messages)…", file=sys.stderr)
    started = time.perf_counter()
    long_thread = build_database(path, tickets, messages)
    marker.write_text(json.dumps({"long_thread": long_thread}))
    print(f"built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path, long_thread

"""TUI benchmark: the queue, a filter and a long thread on a big database.

    .venv/bin/python bench/tui.py [--tickets 100000] [--messages 1000000] [--runs 3]

Builds (once, cached under /tmp) a SQLite database of N tickets and M messages with fast bulk
inserts, then starts the TUI in a fresh process, headless at 80×24, and prints the time from
that process's start to a drawn queue, to an applied filter (a department, on the open tickets),
and to an opened thread of 200 messages. Targets (issue 6): queue <= 1.0 s from process start,
filter <= 0.15 s, thread <= 0.3 s. The poll worker is off: this measures the screens.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LONG_THREAD = 200
NOW = datetime(2025, 3, 14, 9, 30)
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
                {
                    "email": f"person{i}@client{i % 500 + 1}.example",
                    "name": f"Person {i}",
                    "client_id": i % 500 + 1,
                }
                for i in range(1, 20001)
            ],
        )
        numbers = rng.sample(range(100000, 1000000), tickets)
        ticket_rows = []
        for i in range(tickets):
            created = NOW - timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
            contact = rng.randrange(1, 20001)
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
        body = "Hello,\n\n" + " ".join(WORDS) + "\n\nRegards"
        quoted = body + "\n\nOn Monday you wrote:\n> " + "\n> ".join(WORDS[:8])
        left = messages - LONG_THREAD
        batch: list[dict[str, Any]] = []
        for i in range(messages):
            ticket = long_thread if i >= left else i % (tickets - 1) + 1
            direction = ("in", "out", "note")[i % 3]
            batch.append(
                {
                    "ticket_id": ticket,
                    "direction": direction,
                    "author_name": "Person",
                    "author_email": "person@client.example",
                    "new_part": body,
                    "full_text": quoted,
                    "created_at": NOW - timedelta(minutes=messages - i),
                }
            )
            if len(batch) == 50_000:
                bulk_insert(db, Message, batch)
                batch = []
        bulk_insert(db, Message, batch)
    db.execute("ANALYZE")
    db.close()
    return long_thread


def cached_database(tickets: int, messages: int) -> tuple[Path, int]:
    from tuidesk.core.store.migrations import SCHEMA_VERSION

    path = Path(tempfile.gettempdir()) / (
        f"tuidesk-bench-tui-v{SCHEMA_VERSION}-{tickets}-{messages}.sqlite3"
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


# --- one run, in its own process -----------------------------------------------------------


def child(database: str, long_thread: int, started: float) -> None:
    """Start the TUI headless and report three moments as JSON on stdout."""
    import asyncio
    import io

    from rich.console import Console
    from textual._compositor import CompositorUpdate

    from tuidesk.core.context import AppContext
    from tuidesk.core.paths import Paths
    from tuidesk.core.settings import Settings
    from tuidesk.ui.app import TuideskApp
    from tuidesk.ui.screens.queue import QueueScreen
    from tuidesk.ui.screens.thread import ThreadScreen
    from tuidesk.ui.widgets.thread_entry import ThreadEntry

    paths = Paths.resolve()
    context = AppContext(settings=Settings(), paths=paths, database=database)
    db = context.connect()
    app = TuideskApp(context, poll=False)
    marks: dict[str, float] = {}
    frames: list[float] = []
    terminal = Console(
        file=io.StringIO(), width=80, height=24, force_terminal=True, color_system="truecolor"
    )
    display = app._display

    def drawing(screen: Any, renderable: Any) -> None:
        """Headless Textual renders each frame but writes nothing: write it to a string, as a
        terminal would get it, and note when."""
        if renderable is not None and isinstance(renderable, CompositorUpdate):
            terminal.file.write("".join(renderable.render_segments(terminal)))
            frames.append(time.time())
        display(screen, renderable)

    app._display = drawing  # type: ignore[method-assign]

    async def drawn(condition: Any) -> float:
        """When the first frame after ``condition()`` became true was drawn."""
        while not condition():
            await asyncio.sleep(0.0005)
        ready = time.time()
        while not frames or frames[-1] < ready:
            await asyncio.sleep(0.0005)
        return next(frame for frame in frames if frame >= ready)

    async def run() -> None:
        async with app.run_test(size=(80, 24)):
            screen = app.screen
            assert isinstance(screen, QueueScreen)
            shown = await drawn(lambda: screen.rows and not screen._loading)
            marks["queue"] = shown - started
            before, rows = time.time(), screen.rows
            screen.apply_filter(screen.queue_filter.with_changes(status="open", department_id=2))
            shown = await drawn(lambda: screen.rows is not rows and not screen._loading)
            marks["filter"] = shown - before
            assert {r.department for r in screen.rows} == {"Billing"}, "the filter did not apply"
            await app.workers.wait_for_complete()  # the counts of the filter, read after it
            before = time.time()
            thread = ThreadScreen(long_thread)
            app.push_screen(thread)
            shown = await drawn(lambda: thread.view is not None and thread.query(ThreadEntry))
            marks["thread"] = shown - before
            marks["thread_messages"] = len(thread.view.entries) if thread.view else 0

    asyncio.run(run())
    db.close()
    print(json.dumps(marks))


def measure(database: Path, long_thread: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIDESK_")}
    home = Path(tempfile.mkdtemp(prefix="tuidesk-bench-home-"))
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[variable] = str(home / variable.lower())
    started = time.time()
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(database), str(long_thread), repr(started)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the TUI run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="report the median of this many")
    args = parser.parse_args()
    database, long_thread = cached_database(args.tickets, args.messages)
    measure(database, long_thread)  # a first run warms the page cache
    runs = [measure(database, long_thread) for _ in range(args.runs)]

    def median(key: str) -> float:
        return sorted(run[key] for run in runs)[len(runs) // 2]

    print(f"database: {args.tickets:,} tickets, {args.messages:,} messages ({database})")
    print(f"queue drawn, from process start:  {median('queue'):.3f} s  (target <= 1.0 s)")
    print(f"filter applied:                   {median('filter'):.3f} s  (target <= 0.15 s)")
    print(
        f"thread of {int(median('thread_messages'))} messages opened:     "
        f"{median('thread'):.3f} s  (target <= 0.3 s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

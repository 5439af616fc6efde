"""Search benchmark: full-text queries over a big helpdesk, as the queue and the CLI run them.

    .venv/bin/python bench/search.py [--tickets 100000] [--messages 1000000] [--runs 7]
                                     [--cache DIR] [--db postgresql://…]

Builds (once, cached under --cache, default the temp folder; bench/bigdb.py, shared with
bench/tui.py) a SQLite database of N tickets and M messages whose text follows a Zipf
distribution, then runs each query several times: the first page of 50 tickets, newest activity
first, as the queue reads it (all statuses). Prints the median and worst time of that page, the
rows on it, and the number of matching tickets with the time that count took (the queue shows
it next to the status filters after the rows, so it is not on the target's clock).
Target (issue 9): a one-word, a three-word and a phrase query <= 0.1 s each on SQLite.

With --db postgresql://…, the same queries run on that database; an empty one is first filled
from the SQLite database (COPY), which takes a few minutes for a million messages.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bigdb import TextMaker, cached_database  # noqa: E402  (bench/ is on sys.path when run)

PAGE = 50


def queries() -> list[tuple[str, str]]:
    """(what it is, the query): common, rare and mixed words, a phrase, a prefix, filters."""
    words = TextMaker(random.Random(9)).words  # the generator's vocabulary, by frequency
    rare, medium = words[4000], words[300]
    return [
        ("one word, common (~15% of messages)", "printer"),
        ("one word, in nearly every message", "the"),
        ("one word, medium", medium),
        ("one word, rare", rare),
        ("three words, common", "printer error backup"),
        ("three words, common and rare", f"printer backup {rare}"),
        ("phrase, two common words", '"printer error"'),
        ("phrase, three words", '"the printer is"'),
        ("prefix", "print*"),
        ("prefix, many words", "ka*"),
        ("exclusion", "printer -vpn"),
        ("either word", f"{rare} OR {medium}"),
        ("from: a domain", "from:client7.example"),
        ("from: and a word", "from:client7.example printer"),
        ("status: and a word", "status:pending printer"),
        ("ticket number", "#{number}"),
        ("only a filter", "status:closed"),
        ("only an exclusion", "-printer"),
        ("no match", "zzzyyyxxx"),
    ]


def measure(text: str, runs: int) -> dict[str, float]:
    from tuidesk.core.queue import QueueFilter, count_queue, fetch_queue

    queue_filter = QueueFilter(status="all", text=text)
    times, rows = [], []
    for _ in range(runs):
        started = time.perf_counter()
        rows = fetch_queue(queue_filter, 0, PAGE)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    total = count_queue(queue_filter)
    counted = time.perf_counter() - started
    return {
        "median": statistics.median(times),
        "worst": max(times),
        "rows": len(rows),
        "total": total,
        "count": counted,
    }


def fill_postgres(url: str, sqlite_path: Path) -> None:
    """Copy the benchmark's tables from the SQLite database into an empty PostgreSQL one."""
    import csv
    import io
    import sqlite3

    from tuidesk.core.store.models import (
        Agent,
        Client,
        Contact,
        Department,
        Mailbox,
        Message,
        Ticket,
        database_proxy,
    )

    if Ticket.select().exists():
        return
    print(f"filling {url} from {sqlite_path}…", file=sys.stderr)
    started = time.perf_counter()
    source = sqlite3.connect(sqlite_path)
    db = database_proxy.obj
    for model in (Department, Agent, Client, Mailbox, Contact, Ticket, Message):
        table = model._meta.table_name
        columns = [field.column_name for field in model._meta.sorted_fields]
        quoted = ", ".join(f'"{c}"' for c in columns)
        booleans = {i for i, f in enumerate(model._meta.sorted_fields) if f.field_type == "BOOL"}
        cursor = source.execute(f'SELECT {quoted} FROM "{table}" ORDER BY "id"')
        while batch := cursor.fetchmany(50_000):
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in batch:
                writer.writerow(
                    [
                        ("t" if value else "f")
                        if i in booleans and value is not None
                        else ("\\N" if value is None else value)
                        for i, value in enumerate(row)
                    ]
                )
            buffer.seek(0)
            with db.atomic():
                db.cursor().copy_expert(
                    f"COPY \"{table}\" ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                    buffer,
                )
        db.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'(SELECT max("id") FROM "{table}"))'
        )
    db.execute_sql("ANALYZE")
    print(f"filled in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query")
    parser.add_argument("--cache", type=Path, help="folder of the built database (default: /tmp)")
    parser.add_argument("--db", help="run on this postgresql:// database instead of SQLite")
    args = parser.parse_args()
    path, _long_thread = cached_database(args.tickets, args.messages, args.cache)

    from tuidesk.core.store import db as store
    from tuidesk.core.store.models import Ticket

    store.connect(args.db or str(path))
    if args.db:
        fill_postgres(args.db, path)
    number = Ticket.select(Ticket.number).order_by(Ticket.id.desc()).offset(500).scalar()
    where = store.describe_url(args.db) if args.db else str(path)
    print(f"database: {args.tickets:,} tickets, {args.messages:,} messages ({where})")
    print(f"first page of {PAGE} tickets, {args.runs} runs each; target <= 0.100 s\n")
    print(f"{'query':<36} {'median':>8} {'worst':>8} {'rows':>5} {'tickets':>8} {'count':>8}")
    for label, text in queries():
        text = text.format(number=number)
        measure(text, 1)  # warm the caches
        figures = measure(text, args.runs)
        print(
            f"{text[:36]:<36} {figures['median']:>7.3f}s {figures['worst']:>7.3f}s "
            f"{figures['rows']:>5} {figures['total']:>8,} {figures['count']:>7.3f}s  {label}"
        )
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Growth benchmark: does ingest slow down as the database fills? (issue 9)

    .venv/bin/python bench/growth.py [--sizes 10000,100000,1000000] [--count 1000] [--runs 2]

For each size N, takes a SQLite database already holding N messages (N/10 tickets; built once
by bench/tui.py's generator and cached under /tmp), gives every stored message a Message-ID
and every incoming one a ledger record, as real ingest would have, then polls the same
``--count`` mails through a real Dovecot into a fresh copy of it and prints the time per
ingested message as a table. The mails are the benchmark's usual mix (new requests, HTML,
attachments, replies within the batch) plus replies to stored messages by In-Reply-To and to
stored tickets by the [#number] tag in the subject, so the threading lookups hit the big tables.
Flat figures mean those lookups are indexed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "tests"))
sys.path.insert(0, str(ROOT))

from harness import add_mailbox, run_poll  # noqa: E402
from mailgen import mail, realistic_batch  # noqa: E402
from servers.dovecot import DovecotServer  # noqa: E402
from tui import cached_database  # noqa: E402

BENCH_DOMAIN = "bench.example"


def grown_database(messages: int) -> Path:
    """A cached database of ``messages`` messages with Message-IDs and ledger records."""
    base, _ = cached_database(max(messages // 10, 100), messages)
    path = base.with_name(base.stem + "-grown.sqlite3")
    if path.exists():
        return path
    print(f"adding Message-IDs and ledger records to {messages:,} messages…", file=sys.stderr)
    started = time.perf_counter()
    scratch = path.with_suffix(".partial")
    shutil.copyfile(base, scratch)
    db = sqlite3.connect(scratch)
    db.execute("PRAGMA synchronous=off")
    with db:
        db.execute(
            "UPDATE message SET message_id = '<m' || id || '@" + BENCH_DOMAIN + ">', "
            "inbound_id = NULL"
        )
        db.execute(
            "INSERT INTO inbound_mail (id, mailbox_id, source_key, folder, uidvalidity, uid, "
            "message_id, sha256, size, subject, from_addr, state, reason, detail, ticket_id, "
            "attempts, on_server, disposition_done, disposition_error, fetched_at, "
            "processed_at, uidl, headers_only) "
            "SELECT id, 1, 'imap:INBOX:1:' || id, 'INBOX', 1, id, message_id, "
            "lower(hex(randomblob(32))), 4000, 'stored', author_email, 'ticket_updated', "
            "'reply', '', ticket_id, 1, 0, 1, '', created_at, created_at, '', 0 "
            "FROM message WHERE direction = 'in'"
        )
        db.execute("UPDATE message SET inbound_id = id WHERE direction = 'in'")
    db.execute("ANALYZE")
    db.close()
    scratch.rename(path)
    print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def incoming_mail(database: Path, count: int, seed: int) -> list[bytes]:
    """The batch to ingest: the usual mix, with a tenth replying to stored messages by
    In-Reply-To and a tenth to stored tickets by their [#number] tag."""
    rng = random.Random(seed)
    db = sqlite3.connect(database)
    stored = db.execute("SELECT max(id) FROM message").fetchone()[0]
    tickets = db.execute(
        "SELECT t.number, c.email FROM ticket t JOIN contact c ON c.id = t.contact_id "
        "WHERE t.status != 'closed' ORDER BY random() LIMIT ?",
        (count // 10,),
    ).fetchall()
    db.close()
    batch = realistic_batch(count - count // 10 - len(tickets), seed=seed)
    for i in range(count // 10):
        parent = rng.randrange(1, stored + 1)
        batch.append(
            mail(
                sender=f"user{rng.randrange(200)}@customer.example",
                subject="Re: an old request",
                body="Still broken, see below.\n\n> earlier\n",
                message_id=f"<growth.reply.{seed}.{i}@customer.example>",
                in_reply_to=f"<m{parent}@{BENCH_DOMAIN}>",
            )
        )
    for i, (number, email) in enumerate(tickets):
        batch.append(
            mail(
                sender=email,
                subject=f"Re: [#{number}] your ticket",
                body="Any news on this?\n",
                message_id=f"<growth.tag.{seed}.{i}@customer.example>",
            )
        )
    rng.shuffle(batch)
    return batch


def one_run(server: DovecotServer, database: Path, count: int, seed: int) -> tuple[float, dict]:
    """Poll ``count`` mails into a copy of ``database``; ms per message inside the poll."""
    raws = incoming_mail(database, count, seed)
    user = server.add_user()
    server.append_many(user, raws)
    with tempfile.TemporaryDirectory(prefix="tuidesk-bench-growth-") as tmp:
        copy = Path(tmp) / "desk.sqlite3"
        shutil.copyfile(database, copy)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUIDESK_")}
        env.update(XDG_CONFIG_HOME=tmp, XDG_DATA_HOME=tmp, XDG_STATE_HOME=tmp)
        add_mailbox(str(copy), env, server, user, name="growth", batch=200)
        stored = sqlite3.connect(database).execute("SELECT max(id) FROM ticket").fetchone()[0]
        _, record, _ = run_poll(str(copy), env, "growth")
        db = sqlite3.connect(copy)
        record["old_threads"] = db.execute(
            "SELECT count(*) FROM message WHERE id > (SELECT max(id) FROM message) - ? "
            "AND ticket_id <= ?",
            (count, stored),
        ).fetchone()[0]
        db.close()
    if record["fetched"] != count or record["errors"]:
        raise SystemExit(f"the poll did not ingest every mail: {record}")
    return record["duration_ms"] / count, record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--count", type=int, default=1000, help="mails ingested per run")
    parser.add_argument("--runs", type=int, default=2, help="report the median of this many")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    databases = {size: grown_database(size) for size in sizes}
    table: list[tuple[int, float, float, dict]] = []
    with DovecotServer() as server:
        for size in sizes:
            runs = [one_run(server, databases[size], args.count, seed) for seed in range(args.runs)]
            per_message = [ms for ms, _ in runs]
            table.append((size, statistics.median(per_message), max(per_message), runs[0][1]))
    print(f"ingesting {args.count:,} mails (IMAP, move after processing) into a database of N")
    print("messages already stored; time per message inside the poll, median of", args.runs)
    print()
    print("| stored messages | ms per message | worst | created | replied | to stored tickets |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size, median, worst, record in table:
        print(
            f"| {size:,} | {median:.2f} | {worst:.2f} | {record['created']} | "
            f"{record['replied']} | {record['old_threads']} |"
        )
    first, last = table[0][1], table[-1][1]
    print(f"\n{table[-1][0]:,} vs {table[0][0]:,} stored: x{last / first:.2f} per message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

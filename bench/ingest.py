"""Ingest benchmark: N realistic messages through a real Dovecot into tickets.

    .venv/bin/python bench/ingest.py --count 2000
    .venv/bin/python bench/ingest.py --count 2000 --postgres --pollers 4
    .venv/bin/python bench/ingest.py --count 2000 --db postgresql://USER@HOST/EMPTY_DB
    .venv/bin/python bench/ingest.py --count 2000 --table

Loads the messages into a fresh Dovecot mailbox and runs `tuidesk --poll-once` in subprocesses
(move-to-folder disposition) until the mailbox is empty: one poller, or ``--pollers N`` at once
on the same mailbox (they share it by its lease, as pollers on several hosts would). Prints
messages, seconds, messages per second and the peak RSS of a poller; with one poller it also
times an idle poll (nothing new). The database is a SQLite file, ``--postgres`` (a durable
PostgreSQL started for the run from tests/servers/postgres.py, fsync on), or ``--db URL`` (a
database of your own, empty or freshly migrated). ``--table`` runs SQLite and PostgreSQL with
one poller and with four and prints one table.

Targets (issue 3, 2 cores, SQLite): >= 800 messages/s, peak RSS <= 150 MB, idle poll <= 0.3 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from mailgen import realistic_batch  # noqa: E402
from servers.dovecot import DovecotServer  # noqa: E402

TUIDESK = [sys.executable, "-m", "tuidesk"]
SKIPPED_PAUSE_S = 1.0
"""A poller that found the mailbox leased to another waits this long before trying again."""


@dataclass
class Run:
    """What the pollers of one configuration did."""

    wall: float = 0.0
    last_work: float = 0.0  # perf_counter() when the last poll that fetched mail ended
    fetched: int = 0
    created: int = 0
    replied: int = 0
    held: int = 0
    errors: int = 0
    polls: int = 0
    skipped: int = 0
    in_tuidesk_s: float = 0.0
    failures: list[str] = field(default_factory=list)


def poll_once(target: str, env: dict[str, str], mailbox: str) -> tuple[dict | None, str]:
    done = subprocess.run(
        [*TUIDESK, "--db", target, "--poll-once", "--json", "--mailbox", mailbox],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"')]
    record = next((json.loads(line) for line in lines if '"mailbox"' in line), None)
    error = "" if done.returncode == 0 else done.stderr.strip()
    return record, error


def drain(target: str, env: dict[str, str], server, user, pollers: int) -> Run:
    """``pollers`` loops of `--poll-once` at once, each until the INBOX is empty."""
    run = Run()
    lock = threading.Lock()

    def loop() -> None:
        while True:
            record, error = poll_once(target, env, "bench")
            ended = time.perf_counter()
            with lock:
                run.polls += 1
                if error:
                    run.failures.append(error)
                if record is not None:
                    if record["skipped"]:
                        run.skipped += 1
                    if record["fetched"]:
                        run.last_work = max(run.last_work, ended)
                    for key in ("fetched", "created", "replied", "held", "errors"):
                        setattr(run, key, getattr(run, key) + record[key])
                    run.in_tuidesk_s += record["duration_ms"] / 1000
            if not server.count(user, "INBOX") or len(run.failures) > 20:
                return
            if record is not None and record["skipped"]:
                time.sleep(SKIPPED_PAUSE_S)

    started = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # until the last mail was stored and processed; pollers that only found the mailbox
    # leased or empty after that do not count
    run.wall = (run.last_work or time.perf_counter()) - started
    return run


def add_mailbox(target: str, env: dict[str, str], server, user, args) -> None:
    port = server.imap_port if args.protocol == "imap" else server.pop3_port
    settings = {
        "status": "active",
        "unknown_sender": "create",
        "emails_per_fetch": str(args.batch),
        "after_fetch": "move" if args.protocol == "imap" else "delete",
        "after_fetch_folder": "Processed",
    }
    subprocess.run(
        [sys.executable, "-m", "tuidesk", "--db", target, "mailbox", "add", "bench"]
        + ["--protocol", args.protocol, "--host", server.host, "--port", str(port)]
        + ["--security", "plain", "--user", user.address, "--password-env", "BENCH_PW"]
        + [part for key, value in settings.items() for part in ("--set", f"{key}={value}")],
        env=env,
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def database(kind: str, tmp: str, url: str = ""):
    """A fresh database target for one configuration: a file path or a PostgreSQL URL."""
    if kind == "sqlite":
        yield str(Path(tempfile.mkdtemp(dir=tmp)) / "bench.sqlite3")
    elif url:
        yield url
    else:
        from servers.postgres import PostgresServer, postgres_available

        reason = postgres_available()
        if reason:
            raise SystemExit(reason)
        with PostgresServer(durable=True) as server:
            yield server.new_database()


def measure(kind: str, pollers: int, args, raws: list[bytes], url: str = "") -> tuple[Run, dict]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        DovecotServer() as server,
        database(kind, tmp, url) as target,
    ):
        user = server.add_user()
        started = time.perf_counter()
        server.append_many(user, raws)
        load_s = time.perf_counter() - started
        env = dict(os.environ, XDG_CONFIG_HOME=tmp, XDG_DATA_HOME=tmp, BENCH_PW=user.password)
        add_mailbox(target, env, server, user, args)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        run = drain(target, env, server, user, pollers)
        peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
        extra = {"load_s": load_s, "peak_kb": peak_kb, "left": server.count(user)}
        if pollers == 1:
            idle_started = time.perf_counter()
            poll_once(target, env, "bench")
            extra["idle_s"] = time.perf_counter() - idle_started
    return run, extra


def report(kind: str, pollers: int, args, raws: list[bytes], run: Run, extra: dict) -> None:
    size_mb = sum(len(r) for r in raws) / 1e6
    print(f"database         {kind}, {pollers} poller(s) at once on one mailbox")
    print(
        f"messages         {args.count} ({size_mb:.1f} MB, loaded into Dovecot in "
        f"{extra['load_s']:.1f} s)"
    )
    print(
        f"protocol         {args.protocol}, {args.batch} per fetch, "
        f"{'move' if args.protocol == 'imap' else 'delete'} after processing"
    )
    print(
        f"fetched          {run.fetched}  tickets {run.created}  replies {run.replied}  "
        f"held {run.held}  errors {run.errors}  left in INBOX {extra['left']}"
    )
    print(f"polls            {run.polls} ({run.skipped} found the mailbox leased to another)")
    if run.in_tuidesk_s:
        print(
            f"polls in tuidesk {run.in_tuidesk_s:.2f} s summed  "
            f"{run.fetched / run.in_tuidesk_s:.0f} messages/s"
        )
    print(
        f"end to end       {run.wall:.2f} s wall to the last mail (process starts included)  "
        f"{run.fetched / run.wall:.0f} messages/s"
    )
    print(f"peak RSS         {extra['peak_kb'] / 1024:.0f} MB (a poller and its parse worker)")
    if "idle_s" in extra:
        print(f"idle poll        {extra['idle_s']:.3f} s wall")
    for failure in run.failures[:3]:
        print(f"FAILED           {failure}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200, help="emails per fetch")
    parser.add_argument("--protocol", choices=["imap", "pop3"], default="imap")
    parser.add_argument("--pollers", type=int, default=1, help="pollers at once on the mailbox")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true", help="a durable PostgreSQL of its own")
    where.add_argument("--db", default="", help="a postgresql:// URL of an empty database")
    where.add_argument("--table", action="store_true", help="SQLite and PostgreSQL, 1 and 4")
    args = parser.parse_args()
    raws = realistic_batch(args.count)

    if not args.table:
        kind = "postgresql" if args.postgres or args.db else "sqlite"
        run, extra = measure(kind, args.pollers, args, raws, args.db)
        report(kind, args.pollers, args, raws, run, extra)
        return 1 if run.failures or extra["left"] else 0

    rows = []
    for kind in ("sqlite", "postgresql"):
        for pollers in (1, 4):
            run, extra = measure(kind, pollers, args, raws)
            rows.append((kind, pollers, run, extra))
            print(f"{kind} x{pollers}: {run.fetched / run.wall:.0f} messages/s", flush=True)
    print()
    print(f"{args.count} messages, {args.batch} per fetch, {args.protocol}")
    print("database     pollers  wall s  msg/s  in tuidesk msg/s  polls (leased)  left  errors")
    for kind, pollers, run, extra in rows:
        inside = run.fetched / run.in_tuidesk_s if run.in_tuidesk_s else 0
        print(
            f"{kind:<12} {pollers:>7}  {run.wall:>6.1f}  {run.fetched / run.wall:>5.0f}  "
            f"{inside:>16.0f}  {run.polls:>5} ({run.skipped:>4})  {extra['left']:>4}  "
            f"{run.errors + len(run.failures):>6}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

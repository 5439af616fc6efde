"""Ingest benchmark: N realistic messages through a real Dovecot into tickets.

    .venv/bin/python bench/ingest.py --count 2000

Loads the messages into a fresh Dovecot mailbox, runs one `tuidesk --poll-once` in a
subprocess (move-to-folder disposition), and prints messages, seconds, messages per second
and the poller's peak RSS; then times an idle poll (nothing new). Targets (issue 3, 2 cores):
>= 800 messages/s, peak RSS <= 150 MB, idle poll <= 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from mailgen import realistic_batch  # noqa: E402
from servers.dovecot import DovecotServer  # noqa: E402


def run_poll(db: Path, env: dict[str, str], mailbox: str) -> tuple[float, dict, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tuidesk",
            "--db",
            str(db),
            "--poll-once",
            "--json",
            "--mailbox",
            mailbox,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"poll failed: {done.stderr.strip()}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    record = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, record, max(peak_kb, before)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200, help="emails per fetch")
    parser.add_argument("--protocol", choices=["imap", "pop3"], default="imap")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, DovecotServer() as server:
        user = server.add_user()
        raws = realistic_batch(args.count)
        started = time.perf_counter()
        server.append_many(user, raws)
        load_s = time.perf_counter() - started
        size_mb = sum(len(r) for r in raws) / 1e6
        db = Path(tmp) / "bench.sqlite3"
        env = dict(os.environ, XDG_CONFIG_HOME=tmp, XDG_DATA_HOME=tmp)
        port = server.imap_port if args.protocol == "imap" else server.pop3_port
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tuidesk",
                "--db",
                str(db),
                "mailbox",
                "add",
                "bench",
                "--protocol",
                args.protocol,
                "--host",
                server.host,
                "--port",
                str(port),
                "--security",
                "plain",
                "--user",
                user.address,
                "--password-env",
                "BENCH_PW",
                "--set",
                "status=active",
                "--set",
                "unknown_sender=create",
                "--set",
                f"emails_per_fetch={args.batch}",
                "--set",
                "after_fetch=" + ("move" if args.protocol == "imap" else "delete"),
                "--set",
                "after_fetch_folder=Processed",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        env["BENCH_PW"] = user.password
        wall, record, peak_kb = run_poll(db, env, "bench")
        idle_wall, idle, _ = run_poll(db, env, "bench")
        left = len(server.messages(user, "INBOX"))

    tickets = record["created"]
    print(
        f"messages         {args.count} ({size_mb:.1f} MB, loaded into Dovecot in {load_s:.1f} s)"
    )
    print(
        f"protocol         {args.protocol}, {args.batch} per fetch, "
        f"{'move' if args.protocol == 'imap' else 'delete'} after processing"
    )
    print(
        f"fetched          {record['fetched']}  tickets {tickets}  replies {record['replied']}  "
        f"held {record['held']}  errors {record['errors']}  left in INBOX {left}"
    )
    print(
        f"poll (in tuidesk) {record['duration_ms'] / 1000:.2f} s  "
        f"{record['fetched'] / (record['duration_ms'] / 1000):.0f} messages/s"
    )
    print(
        f"end to end       {wall:.2f} s wall (process start included)  "
        f"{record['fetched'] / wall:.0f} messages/s"
    )
    print(f"peak RSS         {peak_kb / 1024:.0f} MB (the poller and its parse worker together)")
    print(f"idle poll        {idle_wall:.3f} s wall ({idle['fetched']} fetched)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

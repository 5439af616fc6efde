"""What the benchmarks share: a mailbox added through the CLI, a poll run in its own process."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

from servers.dovecot import DovecotServer, MailUser


def tuidesk(database: str, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    """Run ``tuidesk --db DATABASE ARGUMENTS`` in a new process; exit on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "tuidesk", "--db", database, *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"tuidesk {' '.join(arguments[:2])} failed: {done.stderr.strip()}")
    return done


def add_mailbox(
    database: str,
    env: dict[str, str],
    server: DovecotServer,
    user: MailUser,
    *,
    name: str = "bench",
    protocol: str = "imap",
    batch: int = 200,
) -> None:
    """An active mailbox for ``user`` that creates tickets for anyone and moves (IMAP) or
    deletes (POP3) what it processed; its password goes in ``env`` as BENCH_PW."""
    port = server.imap_port if protocol == "imap" else server.pop3_port
    after = "move" if protocol == "imap" else "delete"
    tuidesk(
        database,
        env,
        "mailbox", "add", name,
        "--protocol", protocol,
        "--host", server.host,
        "--port", str(port),
        "--security", "plain",
        "--user", user.address,
        "--password-env", "BENCH_PW",
        "--set", "status=active",
        "--set", "unknown_sender=create",
        "--set", f"emails_per_fetch={batch}",
        "--set", f"after_fetch={after}",
        "--set", "after_fetch_folder=Processed",
    )  # fmt: skip
    env["BENCH_PW"] = user.password


def run_poll(database: str, env: dict[str, str], mailbox: str) -> tuple[float, dict, int]:
    """One ``--poll-once`` of ``mailbox``: wall seconds, its JSON record, and the peak RSS (KB)
    of the children run so far."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = tuidesk(database, env, "--poll-once", "--json", "--mailbox", mailbox)
    wall = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    record = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, record, max(peak_kb, before)

"""The promise, proven by killing: a poller SIGKILLed at a random moment, then run again to
completion, leaves every mail stored exactly once, every ticket created once, nothing
unprocessed on the server, and no outgoing mail lost (at worst one sent twice with the same
Message-ID, when the kill falls between sending and recording it).

Runs ``CRASH_RUNS`` kills (5 by default, 50 with ``--slow``), each at a seeded random moment.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from ingest_helpers import imap_mailbox, smtp_settings
from mailgen import mail

from tuidesk.core import global_settings
from tuidesk.core.clock import utcnow
from tuidesk.core.store import db as store
from tuidesk.core.store.models import InboundMail, Outbox, Ticket

pytestmark = pytest.mark.servers
MESSAGES = 500


def crash_runs(config: pytest.Config) -> int:
    return 50 if config.getoption("--slow") else int(os.environ.get("CRASH_RUNS", "5"))


def run_poller(db_path: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tuidesk", "--db", str(db_path), "--poll-once"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_pollers_lose_and_double_nothing(
    request, dovecot, smtp_server, cli_env, tmp_path
) -> None:
    rng = random.Random(20261121)
    runs = crash_runs(request.config)
    moments: list[float] = []
    for run in range(runs):
        user = dovecot.add_user()
        dovecot.append_many(
            user,
            [
                mail(
                    sender=f"c{run}-{i}@customer.example",
                    subject=f"run {run} mail {i}",
                    message_id=f"<r{run}.{i}@customer.example>",
                )
                for i in range(MESSAGES)
            ],
        )
        db_path = tmp_path / f"run{run}.sqlite3"
        store.connect(str(db_path))
        imap_mailbox(dovecot, user, emails_per_fetch=50, **smtp_settings(smtp_server))
        global_settings.set_value("auto_mail_per_hour", "100000")
        store.close()
        moment = rng.uniform(0.2, 1.6)
        moments.append(moment)
        victim = run_poller(db_path, cli_env)
        time.sleep(moment)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        store.connect(str(db_path))
        from tuidesk.core.store.models import Mailbox

        Mailbox.update(lease_until=None, next_poll_at=None, cool_off_until=None).execute()
        store.close()
        survivor = run_poller(db_path, cli_env)
        _out, err = survivor.communicate(timeout=180)
        assert survivor.returncode == 0, f"run {run} (killed at {moment:.2f}s): {err}"

        store.connect(str(db_path))
        # a kill between "sending" and "sent" leaves the mail to be resent once the
        # stale-sending window has passed: let that time pass, as a later poll would
        stuck = (
            Outbox.update(next_attempt_at=utcnow() - timedelta(hours=1))
            .where(Outbox.state == "sending")
            .execute()
        )
        store.close()
        if stuck:
            later = subprocess.run(
                [sys.executable, "-m", "tuidesk", "--db", str(db_path), "outbox", "send"],
                env=cli_env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert later.returncode == 0, later.stderr
        store.connect(str(db_path))
        try:
            expected = sorted(f"run {run} mail {i}" for i in range(MESSAGES))
            assert sorted(t.subject for t in Ticket.select()) == expected, f"run {run}"
            assert InboundMail.select().count() == MESSAGES
            assert not InboundMail.select().where(InboundMail.state != "ticket_created").exists()
            assert dovecot.messages(user, "INBOX") == [], f"run {run}: mail left unprocessed"
            acks = list(Outbox.select().where(Outbox.kind == "new_ticket_autoresponse"))
            assert len(acks) == MESSAGES, f"run {run}: an acknowledgement was lost or doubled"
            assert {a.state for a in acks} == {"sent"}
            sent_ids = {a.message_id for a in acks}
        finally:
            store.close()
        received = {m.message["Message-ID"] for m in smtp_server.received}
        assert sent_ids <= received, f"run {run}: sent but never received"
        smtp_server.received.clear()
    print(
        f"{runs} kills at {min(moments):.2f}..{max(moments):.2f} s, {runs * MESSAGES} mails, "
        "none lost or doubled"
    )

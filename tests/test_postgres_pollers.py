"""Four pollers, as separate processes, on one mailbox and one PostgreSQL database.

The promise for a helpdesk polling from several hosts: every mail is stored once, every ticket
created once, every outgoing mail sent once, however the pollers' runs interleave. Four
`tuidesk --poll-once` loops race for one mailbox of 2,000 mails (new requests that each get an
acknowledgement by SMTP, and replies to tickets made before). The poller holding the lease is
frozen (SIGSTOP) until its short lease expires and another poller takes the mailbox over, then
thawed (SIGCONT) with whatever batch it had in hand: the ledger keys, the record claim and the
outbox claim must keep it from storing, processing or sending anything a second time.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from ingest_helpers import imap_mailbox, poll, smtp_settings
from mailgen import mail

from tuidesk.core import global_settings
from tuidesk.core.lease import LEASE_ENV
from tuidesk.core.store import db as store
from tuidesk.core.store.models import InboundMail, Mailbox, Message, Outbox, PollRun, Ticket

pytestmark = pytest.mark.servers

MAILS = 2000
EARLIER = 50  # tickets made before the race; the replies thread into them
REPLIES = 300
POLLERS = 4
LEASE_S = 3
DRAIN_TIMEOUT_S = 600
POLL_ONCE = [sys.executable, "-m", "tuidesk"]
LOST = "the connection to the database was lost during the poll"


class PollerLoop(threading.Thread):
    """Runs `tuidesk --poll-once` again and again, as cron on one host would, until told."""

    def __init__(self, url: str, env: dict[str, str], done: threading.Event, running: dict):
        super().__init__(daemon=True)
        self.url, self.env, self.done, self.running = url, env, done, running
        self.runs: list[tuple[int, int, str]] = []  # pid, exit code, stderr

    def run(self) -> None:
        while not self.done.is_set():
            process = subprocess.Popen(
                [*POLL_ONCE, "--db", self.url, "--poll-once", "--mailbox", "support"],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            self.running[process.pid] = process
            _out, err = process.communicate()
            self.running.pop(process.pid, None)
            self.runs.append((process.pid, process.returncode, err))
            time.sleep(0.05)


def lease_owner() -> str:
    return Mailbox.get(Mailbox.name == "support").lease_owner or ""


def freeze_with_a_batch_in_hand(postgres, url: str, victim: subprocess.Popen) -> list[int]:
    """SIGSTOP ``victim`` at a moment it holds stored records it has yet to process and is
    outside any transaction (fetching the next batch from IMAP), so nothing it holds blocks
    the others; the ids of those records. Freezing at a random moment mostly misses it. On a
    busy machine that moment may not come: after a while any moment with records in hand
    will do (inside a transaction, the database ends the frozen session after a lease, which
    the frozen poller then meets as a lost connection). Empty when the victim's poll ended
    before it was caught (another poller then holds the mailbox; the caller tries that one)."""
    name = url.rsplit("/", 1)[1]
    for attempt in range(2000):
        try:
            os.kill(victim.pid, signal.SIGSTOP)
        except ProcessLookupError:
            return []
        busy = postgres.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
            f"'{name}' AND state IN ('active', 'idle in transaction') "
            "AND pid <> pg_backend_pid()"
        )[0][0]
        waiting = [r.id for r in InboundMail.select().where(InboundMail.state == "new")]
        if (busy == 0 or attempt >= 300) and waiting and victim.poll() is None:
            return waiting
        try:
            os.kill(victim.pid, signal.SIGCONT)
        except ProcessLookupError:
            return []
        time.sleep(0.01)
    return []


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_four_pollers_store_create_and_send_everything_once(
    postgres, pg_url, dovecot, smtp_server, cli_env
):
    user = dovecot.add_user()
    store.connect(pg_url)
    dovecot.append_many(
        user,
        [
            mail(
                sender=f"early{i}@customer.example",
                subject=f"earlier {i}",
                message_id=f"<early.{i}@customer.example>",
            )
            for i in range(EARLIER)
        ],
    )
    mailbox = imap_mailbox(
        dovecot, user, emails_per_fetch=50, auto_response=True, **smtp_settings(smtp_server)
    )
    global_settings.set_value("auto_mail_per_hour", "100000")
    assert poll(mailbox).created == EARLIER
    requests = [
        mail(
            sender=f"c{i}@customer.example",
            subject=f"request {i}",
            message_id=f"<request.{i}@customer.example>",
        )
        for i in range(MAILS - REPLIES)
    ]
    replies = [
        mail(
            sender=f"early{i % EARLIER}@customer.example",
            subject=f"Re: earlier {i % EARLIER}",
            message_id=f"<reply.{i}@customer.example>",
            in_reply_to=f"<early.{i % EARLIER}@customer.example>",
        )
        for i in range(REPLIES)
    ]
    mixed = requests + replies
    random.Random(9).shuffle(mixed)
    dovecot.append_many(user, mixed)

    env = dict(cli_env, **{LEASE_ENV: str(LEASE_S)})
    done, running = threading.Event(), {}
    loops = [PollerLoop(pg_url, env, done, running) for _ in range(POLLERS)]
    for loop in loops:
        loop.start()
    try:
        # freeze the poller that holds the mailbox, in the middle of the mailbox
        victim: subprocess.Popen | None = None

        def holder_running() -> bool:
            nonlocal victim
            owner = lease_owner()
            pid = int(owner.split(":")[1]) if owner.count(":") == 2 else 0
            victim = running.get(pid)
            return victim is not None and InboundMail.select().count() >= EARLIER + 300

        in_hand: list[int] = []
        for _holder in range(10):  # a holder whose poll ends before it is caught: the next
            wait_for(holder_running, 120, "a poller to hold the lease with work under way")
            assert victim is not None
            frozen_owner = lease_owner()
            in_hand = freeze_with_a_batch_in_hand(postgres, pg_url, victim)
            if in_hand:
                break
        else:
            pytest.fail("no lease holder was caught between storing a batch and processing it")
        try:
            wait_for(
                lambda: (
                    lease_owner() not in ("", frozen_owner)
                    and not InboundMail.select()
                    .where(InboundMail.id.in_(in_hand) & (InboundMail.state == "new"))
                    .exists()
                ),
                120,
                "another poller to take over and process the frozen poller's batch",
            )
        finally:
            os.kill(victim.pid, signal.SIGCONT)

        def drained() -> bool:
            return (
                InboundMail.select().count() == EARLIER + MAILS
                and not InboundMail.select().where(InboundMail.state == "new").exists()
                and not Outbox.select().where(Outbox.state.in_(["queued", "sending"])).exists()
                and victim.poll() is not None
                and dovecot.count(user, "INBOX") == 0
            )

        wait_for(drained, DRAIN_TIMEOUT_S, "the mailbox and the outbox to be drained")
    finally:
        done.set()
        for loop in loops:
            loop.join(120)
        for process in list(running.values()):
            process.kill()

    runs = [run for loop in loops for run in loop.runs]
    assert not any("Traceback" in err for _pid, _code, err in runs)
    failed = [err for pid, code, err in runs if code != 0 and pid != victim.pid]
    assert failed == [], failed[:3]
    # the frozen poller either woke outside a transaction and went on (its lease renewal then
    # failed and it stopped after its batch), or inside one, whose session the database ended
    (victim_code, victim_err) = next((c, e) for p, c, e in runs if p == victim.pid)
    assert victim_code == 0 or LOST in victim_err, victim_err

    records = list(InboundMail.select())
    assert len(records) == EARLIER + MAILS
    assert len({r.source_key for r in records}) == len(records)
    assert Counter(r.state for r in records) == {
        "ticket_created": EARLIER + MAILS - REPLIES,
        "reply_added": REPLIES,
    }
    subjects = Counter(t.subject for t in Ticket.select())
    assert subjects == Counter(
        [f"earlier {i}" for i in range(EARLIER)] + [f"request {i}" for i in range(MAILS - REPLIES)]
    )
    threaded = Counter(
        (m.message_id, m.ticket.subject)
        for m in Message.select(Message, Ticket)
        .join(Ticket)
        .where(Message.message_id.startswith("<reply."))
    )
    assert threaded == Counter(
        (f"<reply.{i}@customer.example>", f"earlier {i % EARLIER}") for i in range(REPLIES)
    )

    outbox = list(Outbox.select())
    acks = [row for row in outbox if row.kind == "new_ticket_autoresponse"]
    assert len(acks) == EARLIER + MAILS - REPLIES
    assert {row.state for row in outbox} == {"sent"}
    expected = Counter(
        (row.message_id, recipient) for row in outbox for recipient in row.recipients.split("\n")
    )
    received = Counter(
        (got.message["Message-ID"], recipient.lower())
        for got in smtp_server.received
        for recipient in got.rcpt_tos
    )
    assert received == expected, "an outgoing mail was lost or sent twice"

    pollers_that_fetched = {
        run.host for run in PollRun.select().where(PollRun.fetched > 0) if run.host
    }
    assert len(pollers_that_fetched) >= 2
    print(
        f"{len(runs)} poller runs by {POLLERS} loops, {len(pollers_that_fetched)} of them "
        f"fetched; {len(records)} mails, {sum(expected.values())} outgoing, each once"
    )
    store.close()

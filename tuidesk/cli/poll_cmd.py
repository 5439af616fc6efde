"""``tuidesk --poll-once`` and ``tuidesk --poll``: headless polling for cron and systemd."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from peewee import InterfaceError, OperationalError

from tuidesk.cli.notify_cmd import print_report
from tuidesk.core.clock import utcnow
from tuidesk.core.context import AppContext
from tuidesk.core.errors import ConfigError
from tuidesk.core.notify.outbox import send_outbox
from tuidesk.core.poller import (
    PollResult,
    describe_store_failure,
    due_mailboxes,
    fetching_enabled,
    poll_mailboxes,
)
from tuidesk.core.sla import overdue_sweep
from tuidesk.core.store.models import Mailbox

IDLE_SLEEP_MAX_S = 60.0
DATABASE_AWAY_RETRY_S = 10.0


def run_poll(context: AppContext, args: argparse.Namespace) -> int:
    db = context.connect()
    stop = threading.Event()
    if args.poll:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    if Mailbox.select().count() == 0:
        print(
            "tuidesk: no mailbox is configured; add one with "
            "`tuidesk mailbox add NAME --protocol imap --host HOST --user ADDRESS`",
            file=sys.stderr,
        )
        return 0
    while True:
        try:
            results = _poll_round(db, args, stop)
            _report(results, args.json)
            overdue_sweep()
            sent = send_outbox(db)
            print_report(sent, args.json)
            failed = any(not r.ok for r in results) or bool(sent.errors)
        except (OperationalError, InterfaceError) as exc:
            # The database went away between two polls (each poll reports its own failures):
            # one sentence, and `--poll` carries on; the next round reconnects.
            print(f"tuidesk: {describe_store_failure(exc, 'this poll round')}", file=sys.stderr)
            failed = True
        if not args.poll or stop.is_set():
            break
        stop.wait(_seconds_until_next_due())
    return 1 if failed else 0


def _poll_round(db, args: argparse.Namespace, stop: threading.Event) -> list[PollResult]:
    if args.poll_mailboxes:
        chosen = []
        for name in args.poll_mailboxes:
            mailbox = Mailbox.get_or_none(Mailbox.name == name)
            if mailbox is None:
                names = ", ".join(m.name for m in Mailbox.select(Mailbox.name)) or "none"
                raise ConfigError(
                    f"there is no mailbox '{name}'", hint=f"the mailboxes are {names}"
                )
            if mailbox.status == "disabled":
                raise ConfigError(
                    f"mailbox '{name}' is disabled",
                    hint=f"enable it with `tuidesk mailbox edit {name} --set status=active`",
                )
            chosen.append(mailbox)
    else:
        if not fetching_enabled():
            print("tuidesk: fetching is switched off in the global settings", file=sys.stderr)
            return []
        chosen = due_mailboxes()
    return poll_mailboxes(db, chosen, echo=args.verbose, stop=stop)


def _report(results: list[PollResult], as_json: bool) -> None:
    for result in results:
        if as_json:
            print(json.dumps(result.as_dict(), sort_keys=True), flush=True)
        else:
            stream = sys.stdout if result.ok else sys.stderr
            print(result.line(), file=stream, flush=True)


def _seconds_until_next_due() -> float:
    now = utcnow()
    try:
        waits = [
            (m.next_poll_at - now).total_seconds()
            for m in Mailbox.select().where(Mailbox.status == "active")
            if m.next_poll_at
        ]
    except (OperationalError, InterfaceError):
        return DATABASE_AWAY_RETRY_S  # the database is away: try again soon
    return max(1.0, min([IDLE_SLEEP_MAX_S, *waits]))

"""The app's background poll worker: the same poller as ``tuidesk --poll-once``, on a schedule.

One round polls every due mailbox, one after the other, then sends the outbox. A round runs in a
thread worker that only posts messages; when it ends, the UI thread arms a one-shot timer for
the next round (never an interval), so two rounds, and so two polls of one mailbox, never
overlap. An operator action that owes a mailbox a poll (a held mail dealt with) or a reply to
send asks for a round at once; if one is running, the next one starts as soon as it ends.

Peewee keeps a connection per thread on the one database object, so the round reads and writes
through the same bound models as the screens, on its own SQLite connection (closed after each
round), and the UI keeps drawing while a poll waits on a server. The round runs on a daemon
thread that the worker waits for, so quitting never waits for a hung server's timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.timer import Timer

from tuidesk.core.clock import utcnow
from tuidesk.core.poller import Poller, fetching_enabled, why_not_due
from tuidesk.core.redact import redact
from tuidesk.core.store.models import Mailbox, database_proxy
from tuidesk.ui.data import (
    IDLE_WAIT_S,
    PollStatus,
    read_poll_status,
    seconds_until_next_poll,
    ticket_labels,
    tickets_of_outbox_since,
)
from tuidesk.ui.messages import (
    Changes,
    MailboxPolled,
    PollRoundDone,
    PollStatusRead,
    TraceHeard,
)

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

QUIT_CHECK_S = 0.1
"""How often the poll worker looks whether the app is quitting."""
FORCEABLE = {"", "not due yet"}
"""A poll asked for by an action runs early, but never for a cooling-off or draft mailbox."""


def send_due_outbox(db: Any) -> tuple[int, list[str]]:
    """Queue overdue alerts, then send what the outbox owes; (how many were sent, the errors)."""
    from tuidesk.core.actions import send_outbox
    from tuidesk.core.sla import overdue_sweep

    overdue_sweep()
    report = send_outbox(db)
    return report.sent, list(report.errors)


class PollingMixin:
    """Mixed into :class:`TuideskApp`: the poll schedule and its worker."""

    poll_status: PollStatus

    def init_polling(self, enabled: bool) -> None:
        self.polling_enabled = enabled
        self.poll_status = PollStatus(polling=enabled)
        self._poller: Poller | None = None
        self._poll_stop = threading.Event()
        self._poll_timer: Timer | None = None
        self._poll_running = False
        self._poll_again = False
        self._forced: set[int] = set()
        self._force_all = False
        self._last_round = None

    @property
    def _app(self) -> TuideskApp:
        return self  # type: ignore[return-value]

    def start_polling(self) -> None:
        """Begin the first round now (or only read the mailboxes' states when polling is off)."""
        if self.polling_enabled:
            self._poller = Poller(
                database_proxy.obj, stop=self._poll_stop, listeners=[self._trace_heard]
            )
            self._start_round()
        else:
            self.read_status()

    def stop_polling(self) -> None:
        """Ask a running poll to stop between batches; arm nothing more."""
        self._poll_stop.set()
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None

    def request_poll(self, mailbox_ids: Iterable[int] | None = None) -> None:
        """Poll ``mailbox_ids`` (every active mailbox when None) even if not due yet, and send
        the outbox, now or right after the running round. ``()`` polls only what is due (to
        send the outbox). Without the worker (polling off) only the status is read again."""
        if not self.polling_enabled or self._poll_stop.is_set():
            self.read_status()
            return
        if mailbox_ids is None:
            self._force_all = True
        else:
            self._forced.update(mailbox_ids)
        if self._poll_running:
            self._poll_again = True
            return
        self._start_round()

    def _trace_heard(self, mailbox: str, level: str, text: str) -> None:
        """A tracer line of a running poll (on the poll thread): tell the trace screen."""
        self._app.post_message(TraceHeard(mailbox, level, text, utcnow()))

    def on_trace_heard(self, message: TraceHeard) -> None:
        app = self._app
        app.trace_signal.publish((message.mailbox, message.level, message.text, message.at))

    def _start_round(self) -> None:
        if self._poll_stop.is_set():
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        forced, self._forced = frozenset(self._forced), set()
        force_all, self._force_all = self._force_all, False
        self._poll_running, self._poll_again = True, False
        self._poll_round(forced, force_all)

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def _poll_round(self, forced: frozenset[int], force_all: bool = False) -> None:
        """Run one round and post what it did. The round itself runs on a daemon thread that
        this worker waits for: quitting during a poll that waits on a hung server then leaves
        at once (the interrupted poll is finished by the next one, as after a crash) instead
        of waiting for the server's timeout."""
        done = threading.Event()

        def round_then_signal() -> None:
            try:
                self._round(forced, force_all)
            finally:
                done.set()

        threading.Thread(target=round_then_signal, name="tuidesk-poll", daemon=True).start()
        while not done.wait(QUIT_CHECK_S):
            if self._poll_stop.is_set():
                return

    def _round(self, forced: frozenset[int], force_all: bool) -> None:
        app = self._app
        db = database_proxy.obj
        sent, send_errors, sent_tickets, error = 0, [], [], ""
        next_in = IDLE_WAIT_S
        status = self.poll_status
        try:
            with db.connection_context():
                try:
                    for mailbox in self._due(forced, force_all):
                        if self._poll_stop.is_set():
                            break
                        assert self._poller is not None
                        result = self._poller.poll(mailbox)
                        new = ticket_labels(result.new_ticket_ids)
                        app.post_message(MailboxPolled(result, new, result.new_ticket_ids))
                    if not self._poll_stop.is_set():
                        started = utcnow()
                        sent, send_errors = send_due_outbox(db)
                        if sent or send_errors:
                            sent_tickets = tickets_of_outbox_since(started)
                except Exception as exc:  # the schedule must go on whatever happened
                    error = redact(f"the poll round failed: {type(exc).__name__}: {exc}")
                finally:
                    try:
                        status = read_poll_status(True, utcnow())
                        next_in = seconds_until_next_poll()
                    except Exception as exc:
                        error = error or redact(f"the mailboxes cannot be read: {exc}")
        except Exception as exc:
            error = error or redact(f"the database cannot be opened for polling: {exc}")
        app.post_message(
            PollRoundDone(status, next_in, sent, send_errors, sent_tickets, error, utcnow())
        )

    def _due(self, forced: frozenset[int], force_all: bool) -> list[Mailbox]:
        if not fetching_enabled():
            return []
        now = utcnow()
        due = []
        for mailbox in Mailbox.select().order_by(Mailbox.name):
            reason = why_not_due(mailbox, now)
            early = force_all or mailbox.id in forced
            if not reason or (early and reason in FORCEABLE):
                due.append(mailbox)
        return due

    def on_mailbox_polled(self, message: MailboxPolled) -> None:
        app = self._app
        result = message.result
        if message.new_tickets:
            names = ", ".join(f"#{number} {subject}" for number, subject in message.new_tickets[:3])
            more = len(message.new_tickets) - 3
            extra = f" and {more} more" if more > 0 else ""
            count = len(message.new_tickets)
            app.notify(
                f"{count} new ticket{'s' if count != 1 else ''} from {result.mailbox}: "
                f"{names}{extra}",
                title="New mail",
                timeout=8,
                markup=False,
            )
        if result.fetched or result.created or result.replied or result.held or result.errors:
            touched = frozenset(message.touched_ticket_ids)
            app.publish_changes(Changes(touched, review=True, any_ticket=bool(result.replied)))

    def on_poll_round_done(self, message: PollRoundDone) -> None:
        app = self._app
        self._poll_running = False
        self._last_round = message.finished_at
        self.poll_status = message.status
        app.poll_status_signal.publish(message.status)
        if message.error:
            app.notify(message.error, severity="error", timeout=10, markup=False)
        if message.sent:
            app.notify(f"{message.sent} mail{'s' if message.sent != 1 else ''} sent", timeout=4)
        if message.sent or message.send_errors:
            app.publish_changes(Changes(frozenset(message.sent_ticket_ids), queue=False))
        if self._poll_stop.is_set():
            return
        if self._poll_again:
            self._start_round()
            return
        self._poll_timer = app.set_timer(message.next_in, self._start_round, name="next-poll")

    @work(thread=True, exit_on_error=False, group="poll-status")
    def read_status(self) -> None:
        app = self._app
        try:
            with database_proxy.connection_context():
                status = read_poll_status(self.polling_enabled, self._last_round)
        except Exception:
            return
        app.post_message(PollStatusRead(status))

    def on_poll_status_read(self, message: PollStatusRead) -> None:
        self.poll_status = message.status
        self._app.poll_status_signal.publish(message.status)

"""Poller rules without a server: skip-time windows, the schedule, the trace cap; and on a
server that allows no keywords, held mail is marked \\Flagged instead."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from ingest_helpers import imap_mailbox, poll
from mailgen import mail

from tuidesk.core.clock import utcnow
from tuidesk.core.ingest.policy import in_windows, parse_window
from tuidesk.core.poller import why_not_due
from tuidesk.core.store.models import Mailbox, TraceLine
from tuidesk.core.trace import TRACE_CAP_BYTES, Tracer


@pytest.mark.parametrize(
    ("window", "now", "inside"),
    [
        ("02:00-04:00", time(3, 0), True),
        ("02:00-04:00", time(4, 0), False),
        ("02:00-04:00", time(1, 59), False),
        ("22:00-02:00", time(23, 30), True),
        ("22:00-02:00", time(1, 0), True),
        ("22:00-02:00", time(12, 0), False),
        ("00:00-24:00", time(23, 59), True),
    ],
)
def test_skip_windows_including_across_midnight(window: str, now: time, inside: bool) -> None:
    assert in_windows(now, (parse_window(window),)) is inside


@pytest.mark.parametrize("bad", ["25:00-03:00", "2-4", "02:00-04:61", "later"])
def test_a_bad_window_is_refused_with_the_reason(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_window(bad)


def test_a_mailbox_is_due_only_when_active_out_of_cool_off_and_skip_windows(db) -> None:
    mailbox = Mailbox.create(name="m", address="m@example.com", status="draft")
    now = utcnow()
    assert why_not_due(mailbox, now) == "status draft"
    mailbox.status = "active"
    assert why_not_due(mailbox, now) == ""
    mailbox.cool_off_until = now + timedelta(minutes=3)
    assert why_not_due(mailbox, now).startswith("cooling off until")
    mailbox.cool_off_until = None
    mailbox.next_poll_at = now + timedelta(minutes=1)
    assert why_not_due(mailbox, now) == "not due yet"
    mailbox.next_poll_at = None
    mailbox.skip_times = "02:00-04:00"
    assert why_not_due(mailbox, now, datetime(2026, 1, 1, 3, 0)) == "inside a skip-time window"
    assert why_not_due(mailbox, now, datetime(2026, 1, 1, 5, 0)) == ""


def test_the_trace_is_capped_at_256_kb_with_the_oldest_dropped(db) -> None:
    mailbox = Mailbox.create(name="m", address="m@example.com", debug_trace=True)
    trace = Tracer(mailbox.id, "m", keep=True)
    line = "x" * 1000
    for index in range(400):
        trace("info", f"{index:04d} {line}")
        if index % 50 == 49:
            trace.flush()
    trace.flush()
    kept = list(TraceLine.select().order_by(TraceLine.id))
    assert sum(len(t.text) for t in kept) <= TRACE_CAP_BYTES
    assert kept[-1].text.startswith("0399")
    assert not kept[0].text.startswith("0000")


@pytest.mark.servers
def test_without_keywords_held_mail_is_flagged_and_the_trace_says_so(
    db, dovecot, mail_user, monkeypatch
) -> None:
    from tuidesk.core.mail.imap import ImapSource

    real_select = ImapSource._select

    def select_without_keywords(self) -> None:
        real_select(self)
        self.keywords_allowed = False  # as on Exchange: PERMANENTFLAGS without \*

    monkeypatch.setattr(ImapSource, "_select", select_without_keywords)
    dovecot.append(mail_user, mail(sender="who@nowhere.example"))
    poll(imap_mailbox(dovecot, mail_user, unknown_sender="hold"))
    [stored] = dovecot.messages(mail_user)
    assert "\\Flagged" in stored.flags and "$TuideskHeld" not in stored.flags
    assert any("using \\Flagged" in t.text for t in TraceLine.select())

"""Mail comes off a real Dovecot over IMAP, is stored once, processed once, and dispositioned
on the server only after the database has it."""

from __future__ import annotations

import ssl
from datetime import date

import pytest
from ingest_helpers import imap_mailbox, poll
from mailgen import mail

from tuidesk.core.mail.source import HELD_KEYWORD, TOO_LARGE_KEYWORD
from tuidesk.core.store.models import (
    FolderState,
    InboundMail,
    Mailbox,
    Message,
    PollRun,
    Ticket,
)
from tuidesk.core.tickets import get_or_create_contact

pytestmark = pytest.mark.servers


def test_a_new_mail_becomes_a_ticket_and_is_moved(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail(subject="Printer on floor 3 is broken"))
    mailbox = imap_mailbox(dovecot, mail_user)
    result = poll(mailbox)
    assert result.ok, result.error
    assert (result.fetched, result.created) == (1, 1)
    ticket = Ticket.get()
    assert ticket.subject == "Printer on floor 3 is broken"
    assert ticket.contact.email == "alice@customer.example"
    assert "printer jams" in Message.get().new_part
    assert dovecot.messages(mail_user, "INBOX") == []
    assert len(dovecot.messages(mail_user, "Processed")) == 1


def test_a_reply_with_in_reply_to_threads_to_the_same_ticket(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail(message_id="<first@customer.example>"))
    mailbox = imap_mailbox(dovecot, mail_user)
    poll(mailbox)
    dovecot.append(
        mail_user,
        mail(
            subject="Re: something else entirely",
            in_reply_to="<first@customer.example>",
            body="It happened again.",
        ),
    )
    result = poll(mailbox)
    assert (result.created, result.replied) == (0, 1)
    assert Ticket.select().count() == 1
    assert [m.new_part.strip() for m in Ticket.get().messages.order_by(Message.id)][1] == (
        "It happened again."
    )


def test_fetching_does_not_mark_mail_read(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    poll(imap_mailbox(dovecot, mail_user, after_fetch="keep"))
    assert "\\Seen" not in dovecot.messages(mail_user)[0].flags


def test_mail_someone_marked_read_is_still_fetched(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail(), flags=["\\Seen"])
    result = poll(imap_mailbox(dovecot, mail_user))
    assert result.created == 1


def test_keep_mode_never_fetches_the_same_mail_twice(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    mailbox = imap_mailbox(dovecot, mail_user, after_fetch="keep")
    assert poll(mailbox).created == 1
    Mailbox.update(next_poll_at=None).execute()
    again = poll(mailbox)
    assert (again.fetched, again.created) == (0, 0)
    assert InboundMail.select().count() == 1
    assert len(dovecot.messages(mail_user)) == 1


def test_delete_removes_only_the_processed_mail(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail(subject="ours"))
    mailbox = imap_mailbox(dovecot, mail_user, after_fetch="delete")
    poll(mailbox)
    dovecot.append(mail_user, mail(subject="arrived later"))
    assert [m.subject for m in dovecot.messages(mail_user)] == ["arrived later"]


def test_mark_seen_leaves_the_mail_read_in_the_inbox(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    poll(imap_mailbox(dovecot, mail_user, after_fetch="mark_seen"))
    [stored] = dovecot.messages(mail_user)
    assert "\\Seen" in stored.flags


def test_the_move_folder_is_created_when_missing(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    poll(imap_mailbox(dovecot, mail_user, after_fetch_folder="Done/tuidesk 2026"))
    assert "Done/tuidesk 2026" in dovecot.folders(mail_user)
    assert len(dovecot.messages(mail_user, "Done/tuidesk 2026")) == 1


def test_keep_until_closed_moves_the_mail_when_its_ticket_closes(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    mailbox = imap_mailbox(dovecot, mail_user, after_fetch="keep_until_closed")
    poll(mailbox)
    assert len(dovecot.messages(mail_user)) == 1
    Ticket.update(status="closed").execute()
    poll(mailbox)
    assert dovecot.messages(mail_user) == []
    assert len(dovecot.messages(mail_user, "Processed")) == 1


def test_a_folder_with_spaces_and_non_ascii_is_read(db, dovecot, mail_user) -> None:
    folder = "Support Anfragen/Größe"
    dovecot.create_folder(mail_user, folder)
    dovecot.append(mail_user, mail(), folder=folder)
    result = poll(imap_mailbox(dovecot, mail_user, folder=folder))
    assert result.ok, result.error
    assert result.created == 1


def test_mail_is_fetched_in_batches_of_the_configured_size(db, dovecot, mail_user) -> None:
    dovecot.append_many(mail_user, [mail(subject=f"n{i}") for i in range(7)])
    mailbox = imap_mailbox(dovecot, mail_user, emails_per_fetch=3, debug_trace=True)
    result = poll(mailbox)
    assert result.created == 7
    assert FolderState.get().last_uid == max(r.uid for r in InboundMail.select(InboundMail.uid))


def test_mail_over_the_size_limit_is_rejected_with_its_headers_and_flagged(
    db, dovecot, mail_user
) -> None:
    dovecot.append(mail_user, mail(subject="huge", body="x" * 50_000))
    mailbox = imap_mailbox(dovecot, mail_user, max_email_size=10_000)
    result = poll(mailbox)
    record = InboundMail.get()
    assert (record.state, record.reason, record.headers_only) == ("rejected", "too_large", True)
    assert record.subject == "huge"
    assert result.rejected == 1 and Ticket.select().count() == 0
    assert TOO_LARGE_KEYWORD in dovecot.messages(mail_user)[0].flags


def test_too_large_mail_is_saved_whole_to_the_big_files_dir(
    db, dovecot, mail_user, tmp_path
) -> None:
    dovecot.append(mail_user, mail(subject="huge", body="y" * 50_000))
    dovecot_copy = dovecot.messages(mail_user)[0].raw
    mailbox = imap_mailbox(
        dovecot, mail_user, max_email_size=10_000, big_files_dir=str(tmp_path / "big")
    )
    poll(mailbox)
    [saved] = list((tmp_path / "big").iterdir())
    assert saved.read_bytes() == dovecot_copy

    assert dovecot.messages(mail_user) == []  # saved aside, so it leaves the inbox


def test_the_sync_start_date_ignores_older_mail(db, dovecot, mail_user) -> None:
    from datetime import UTC, datetime

    dovecot.append(mail_user, mail(subject="old"), msg_time=datetime(2020, 1, 1, tzinfo=UTC))
    dovecot.append(mail_user, mail(subject="new"))
    result = poll(imap_mailbox(dovecot, mail_user, sync_start_date=date(2024, 1, 1)))
    assert [t.subject for t in Ticket.select()] == ["new"]
    assert result.created == 1


def test_a_uidvalidity_change_fetches_nothing_twice(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail(subject="one", message_id="<one@x>"))
    mailbox = imap_mailbox(dovecot, mail_user, after_fetch="keep")
    poll(mailbox)
    dovecot.set_uidvalidity(mail_user, "INBOX")
    dovecot.append(mail_user, mail(subject="two", message_id="<two@x>"))
    result = poll(mailbox)
    assert result.ok, result.error
    assert sorted(t.subject for t in Ticket.select()) == ["one", "two"]
    assert InboundMail.select().count() == 2


def test_mail_from_an_unknown_sender_is_held_and_flagged_in_the_inbox(
    db, dovecot, mail_user
) -> None:
    dovecot.append(mail_user, mail(sender="stranger@nowhere.example"))
    result = poll(imap_mailbox(dovecot, mail_user, unknown_sender="hold"))
    assert result.held == 1
    assert InboundMail.get().state == "held_for_review"
    [stored] = dovecot.messages(mail_user)
    assert HELD_KEYWORD in stored.flags


def test_each_poll_writes_a_poll_run_record(db, dovecot, mail_user) -> None:
    get_or_create_contact("alice@customer.example", "Alice")
    dovecot.append_many(mail_user, [mail(), mail(sender="x@nowhere.example")])
    poll(imap_mailbox(dovecot, mail_user, unknown_sender="hold"))
    run = PollRun.get()
    assert (run.ok, run.fetched, run.created, run.held) == (True, 2, 1, 1)
    assert run.finished_at is not None


def test_imap_with_starttls_and_a_trusted_certificate(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    mailbox = imap_mailbox(
        dovecot, mail_user, security="starttls", tls_ca_file=str(dovecot.cert_path)
    )
    result = poll(mailbox)
    assert result.ok, result.error
    assert result.created == 1


def test_imaps_with_a_trusted_certificate(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    mailbox = imap_mailbox(
        dovecot,
        mail_user,
        security="ssl",
        port=dovecot.imaps_port,
        tls_ca_file=str(dovecot.cert_path),
    )
    assert poll(mailbox).created == 1


def test_an_untrusted_certificate_is_refused_with_the_setting_that_would_accept_it(
    db, dovecot, mail_user
) -> None:
    mailbox = imap_mailbox(dovecot, mail_user, security="ssl", port=dovecot.imaps_port)
    result = poll(mailbox)
    assert not result.ok
    assert "certificate" in result.error and "not trusted" in result.error
    assert "tls_ca_file" in result.error and "tls_accept_fingerprint" in result.error


def test_an_accepted_fingerprint_lets_a_self_signed_certificate_in(db, dovecot, mail_user) -> None:
    import hashlib

    pem = dovecot.cert_path.read_text()
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    dovecot.append(mail_user, mail())
    mailbox = imap_mailbox(
        dovecot,
        mail_user,
        security="ssl",
        port=dovecot.imaps_port,
        tls_accept_fingerprint=fingerprint,
    )
    assert poll(mailbox).created == 1


def test_a_different_fingerprint_is_refused(db, dovecot, mail_user) -> None:
    mailbox = imap_mailbox(
        dovecot,
        mail_user,
        security="ssl",
        port=dovecot.imaps_port,
        tls_accept_fingerprint="00" * 32,
    )
    result = poll(mailbox)
    assert not result.ok
    assert "fingerprint" in result.error


def test_mail_another_session_moved_first_counts_as_moved(db, dovecot, mail_user) -> None:
    """Two pollers dispose one batch (a stalled one woke after another took its lease over):
    the second MOVE meets messages the first already expunged (Dovecot answers NO
    [EXPUNGEISSUED]); it catches up and moves what is left, and the poll does not fail."""
    from tuidesk.core.mail.factory import build_source

    dovecot.append_many(mail_user, [mail(message_id=f"<twice.{i}@x>") for i in range(3)])
    lines: list[str] = []
    source = build_source(imap_mailbox(dovecot, mail_user), lambda level, text: lines.append(text))
    source.connect()
    try:
        remote = source.pending(lambda keys: set())
        assert len(remote) == 3
        with dovecot.imap(mail_user) as other:  # the other poller, quicker
            other.select_folder("INBOX")
            other.create_folder("Processed")
            other.move([remote[0].uid], "Processed")
        source.apply("move", remote, "Processed")
    finally:
        source.close()
    assert dovecot.count(mail_user, "INBOX") == 0
    assert dovecot.count(mail_user, "Processed") == 3
    assert any("another session expunged" in line for line in lines)

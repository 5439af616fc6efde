"""The message rules end to end: mail appended to a real Dovecot, fetched over IMAP by a
poll, decided, applied, and dispositioned on the server."""

from __future__ import annotations

import pytest
from ingest_helpers import imap_mailbox, poll
from mailgen import mail

from tuidesk.core.mail.source import HELD_KEYWORD
from tuidesk.core.store.models import (
    Client,
    ClientDomain,
    Contact,
    InboundMail,
    Mailbox,
    Message,
    Outbox,
    Ticket,
)
from tuidesk.core.tickets import NewMessage, add_message, get_or_create_contact

pytestmark = pytest.mark.servers

ALICE = "alice@customer.example"


def again(mailbox: Mailbox):
    Mailbox.update(next_poll_at=None).where(Mailbox.id == mailbox.id).execute()
    return poll(mailbox)


def first_ticket(dovecot, user, **settings) -> tuple[Mailbox, Ticket]:
    """A mailbox with one ticket opened by Alice (message id <first@customer.example>)."""
    get_or_create_contact(ALICE, "Alice")
    dovecot.append(user, mail(message_id="<first@customer.example>", subject="Printer jams"))
    mailbox = imap_mailbox(dovecot, user, unknown_sender="hold", **settings)
    result = poll(mailbox)
    assert result.created == 1, result.error
    return mailbox, Ticket.get()


def test_a_new_mail_becomes_a_ticket_with_its_new_part(db, dovecot, mail_user) -> None:
    _mailbox, ticket = first_ticket(dovecot, mail_user)
    assert ticket.subject == "Printer jams" and ticket.source == "email"
    assert Message.get().new_part == "Hello,\n\nthe printer jams every morning.\n\nRegards\nAlice"
    assert InboundMail.get().state == "ticket_created"


def test_a_reply_by_its_headers_goes_on_the_same_ticket_without_the_quote(
    db, dovecot, mail_user
) -> None:
    mailbox, ticket = first_ticket(dovecot, mail_user)
    body = (
        "Still broken.\n\nOn Mon, Jan 6, 2025 at 10:02 AM Alice <alice@customer.example> wrote:\n"
        "> the printer jams\n"
    )
    dovecot.append(
        mail_user, mail(subject="Re: something", in_reply_to="<first@customer.example>", body=body)
    )
    result = again(mailbox)
    assert (result.created, result.replied) == (0, 1)
    reply = Message.select().order_by(Message.id.desc()).get()
    assert (reply.ticket_id, reply.new_part) == (ticket.id, "Still broken.")
    assert "> the printer jams" in reply.full_text


def test_a_reply_by_the_subject_from_the_contact_goes_on_the_same_ticket(
    db, dovecot, mail_user
) -> None:
    mailbox, ticket = first_ticket(dovecot, mail_user)
    dovecot.append(
        mail_user, mail(subject=f"Re: [#{ticket.number:06d}] Printer jams", body="Any news?")
    )
    result = again(mailbox)
    assert result.replied == 1
    assert Ticket.select().count() == 1


def test_a_custom_subject_pattern_threads_000_style_references(db, dovecot, mail_user) -> None:
    mailbox, ticket = first_ticket(dovecot, mail_user, subject_pattern=r"\[TCK-(\d+)\]")
    dovecot.append(mail_user, mail(subject=f"Re: [TCK-{ticket.number}] Printer", body="Any news?"))
    assert again(mailbox).replied == 1


def test_a_subject_match_from_a_stranger_is_held_and_flagged(db, dovecot, mail_user) -> None:
    mailbox, ticket = first_ticket(dovecot, mail_user)
    stranger = mail(sender="eve@evil.example", subject=f"Re: [#{ticket.number:06d}] Printer jams")
    dovecot.append(mail_user, stranger)
    result = again(mailbox)
    assert (result.held, result.replied) == (1, 0)
    record = InboundMail.select().order_by(InboundMail.id.desc()).get()
    assert (record.state, record.reason) == ("held_for_review", "subject_stranger")
    [left] = dovecot.messages(mail_user)
    assert HELD_KEYWORD in left.flags


def test_mail_from_an_unknown_domain_is_held_and_flagged(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail(sender="who@nowhere.example"))
    result = poll(imap_mailbox(dovecot, mail_user, unknown_sender="hold"))
    assert result.held == 1 and Ticket.select().count() == 0
    assert InboundMail.get().reason == "unknown_sender"
    [left] = dovecot.messages(mail_user)
    assert HELD_KEYWORD in left.flags


def test_mail_from_a_client_domain_creates_a_contact_under_the_client(
    db, dovecot, mail_user
) -> None:
    acme = Client.create(name="ACME")
    ClientDomain.create(client=acme, domain="customer.example")
    dovecot.append(mail_user, mail(sender="new.person@customer.example", sender_name="New Person"))
    result = poll(imap_mailbox(dovecot, mail_user, unknown_sender="hold"))
    assert result.created == 1
    contact = Contact.get(Contact.email == "new.person@customer.example")
    assert contact.client_id == acme.id
    assert Ticket.get().client_id == acme.id


def test_an_auto_reply_creates_no_ticket(db, dovecot, mail_user) -> None:
    get_or_create_contact(ALICE)
    dovecot.append(
        mail_user,
        mail(subject="Out of Office: Printer", headers={"Auto-Submitted": "auto-replied"}),
    )
    result = poll(imap_mailbox(dovecot, mail_user))
    assert (result.created, result.rejected) == (0, 1)
    assert InboundMail.get().reason == "auto_reply"


def test_an_auto_reply_to_a_ticket_is_recorded_quietly(db, dovecot, mail_user) -> None:
    mailbox, ticket = first_ticket(dovecot, mail_user)
    Ticket.update(unread=False).execute()
    auto = mail(
        subject="Automatic reply: Printer jams",
        in_reply_to="<first@customer.example>",
        headers={"X-Autoreply": "yes"},
    )
    dovecot.append(mail_user, auto)
    assert again(mailbox).replied == 1
    entry = Message.select().order_by(Message.id.desc()).get()
    assert entry.automatic and not Ticket.get_by_id(ticket.id).unread


def test_a_bounce_of_our_mail_goes_on_the_ticket_and_marks_the_contact(
    db, dovecot, mail_user
) -> None:
    mailbox, ticket = first_ticket(dovecot, mail_user)
    ours = f"<tuidesk.{ticket.number}.k3y@example.com>"
    entry = add_message(
        NewMessage(ticket=ticket.id, direction="out", message_id=ours, to_addrs=ALICE)
    )
    Outbox.create(
        ticket=ticket,
        thread_message=entry,
        kind="reply",
        recipients=ALICE,
        message_id=ours,
        raw=b"",
        state="sent",
    )
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\n"
        f"To: {mail_user.address}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce.1@mx.customer.example>\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mailbox is full.\r\n--b\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.example\r\n\r\n"
        f"Final-Recipient: rfc822; {ALICE}\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n--b\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\nFrom: {mail_user.address}\r\nTo: {ALICE}\r\n"
        f"Message-ID: {ours}\r\nSubject: [#{ticket.number:06d}] Printer jams\r\n\r\n--b--\r\n"
    ).encode()
    dovecot.append(mail_user, bounce)
    result = again(mailbox)
    assert result.replied == 1
    record = InboundMail.select().order_by(InboundMail.id.desc()).get()
    assert (record.state, record.reason, record.ticket_id) == ("reply_added", "bounce", ticket.id)
    assert Contact.get(Contact.email == ALICE).bouncing


def test_a_bounce_of_mail_we_never_sent_is_rejected(db, dovecot, mail_user) -> None:
    dovecot.append(
        mail_user,
        b"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\n\r\nno such user\r\n",
    )
    result = poll(imap_mailbox(dovecot, mail_user, unknown_sender="create"))
    assert (result.rejected, result.created) == (1, 0)
    assert InboundMail.get().reason == "bounce"


def close(ticket: Ticket) -> None:
    Ticket.update(status="closed").where(Ticket.id == ticket.id).execute()


def reply_to_first(dovecot, user) -> None:
    dovecot.append(
        user,
        mail(
            subject="Re: Printer jams", in_reply_to="<first@customer.example>", body="It is back."
        ),
    )


def test_a_reply_to_a_closed_ticket_reopens_it_by_default(db, dovecot, mail_user) -> None:
    mailbox, ticket = first_ticket(dovecot, mail_user)
    close(ticket)
    reply_to_first(dovecot, mail_user)
    assert again(mailbox).replied == 1
    assert Ticket.get_by_id(ticket.id).status == "open"


def test_a_reply_to_a_closed_ticket_can_open_a_linked_ticket(db, dovecot, mail_user) -> None:
    mailbox, ticket = first_ticket(dovecot, mail_user, closed_ticket_policy="new_linked")
    close(ticket)
    reply_to_first(dovecot, mail_user)
    assert again(mailbox).created == 1
    new = Ticket.select().order_by(Ticket.id.desc()).get()
    assert new.linked_ticket_id == ticket.id
    assert Ticket.get_by_id(ticket.id).status == "closed"


def test_a_reply_to_a_closed_ticket_can_be_held_flagged_and_answered(
    db, dovecot, mail_user
) -> None:
    mailbox, ticket = first_ticket(
        dovecot, mail_user, closed_ticket_policy="hold", smtp_enabled=True
    )
    close(ticket)
    reply_to_first(dovecot, mail_user)
    result = again(mailbox)
    assert result.held == 1
    record = InboundMail.select().order_by(InboundMail.id.desc()).get()
    assert (record.state, record.reason) == ("held_for_review", "closed_ticket")
    assert Ticket.get_by_id(ticket.id).status == "closed"
    assert HELD_KEYWORD in dovecot.messages(mail_user)[0].flags
    assert Outbox.select().where(Outbox.kind == "closed_ticket_autoresponse").count() == 1


def test_filtered_attachments_are_explained_and_kept_ones_stored(db, dovecot, mail_user) -> None:
    get_or_create_contact(ALICE)
    files = [("report.pdf", "application/pdf", b"%PDF-1.4"), ("run.vbs", "text/plain", b"MsgBox 1")]
    dovecot.append(mail_user, mail(attachments=files))
    poll(imap_mailbox(dovecot, mail_user, debug_trace=True))
    [kept] = Message.get().attachments
    assert kept.filename == "report.pdf"

"""The rules as the pipeline applies them to a SQLite store (no mail server): what a new
ticket gets (003's data mapping, 002's mappings), who becomes a contact or a participant,
which attachments are kept, and where a bounce of our mail goes."""

from __future__ import annotations

import itertools
import struct
from email.message import EmailMessage

import pytest
from mailgen import mail

from tuidesk.core.ingest.apply import apply_decision
from tuidesk.core.ingest.decide import CREATE, Decision
from tuidesk.core.ingest.facts import Directory, is_our_mail, thread_of
from tuidesk.core.ingest.ledger import store_fetched
from tuidesk.core.ingest.parse import parse_mail
from tuidesk.core.ingest.pipeline import Outcome, process_batch
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.mail.source import FetchedMail, RemoteMail
from tuidesk.core.store.models import (
    Attachment,
    Client,
    ClientDomain,
    Contact,
    Department,
    InboundMail,
    Mailbox,
    Message,
    Outbox,
    Participant,
    Ticket,
)
from tuidesk.core.tickets import (
    NewMessage,
    NewTicket,
    add_message,
    create_ticket,
    get_or_create_contact,
)
from tuidesk.core.trace import Tracer

ALICE = "alice@customer.example"
_keys = itertools.count()


@pytest.fixture
def mailbox(db) -> Mailbox:
    return Mailbox.create(
        name="support", address="support@example.com", aliases="help@example.com", status="active"
    )


def ingest(db, mailbox: Mailbox, raw: bytes, **settings) -> Outcome:
    if settings:
        Mailbox.update(**settings).where(Mailbox.id == mailbox.id).execute()
    fresh = Mailbox.get_by_id(mailbox.id)
    with db.atomic():
        stored = store_fetched(
            fresh, [FetchedMail(RemoteMail(key=f"k{next(_keys)}", size=len(raw)), raw)]
        )
    trace = Tracer(fresh.id, fresh.name)
    [outcome] = process_batch(db, stored, fresh, MailboxPolicy.from_mailbox(fresh), trace)
    return outcome


def png(width: int, height: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", width, height) + b"\0" * 20


def outbound(ticket: Ticket, message_id: str, to: str = ALICE, automatic: bool = False) -> None:
    """A mail we sent on ``ticket``: in the outbox and as an outbound thread entry."""
    entry = add_message(
        NewMessage(
            ticket=ticket.id,
            direction="out",
            message_id=message_id,
            to_addrs=to,
            automatic=automatic,
        )
    )
    Outbox.create(
        ticket=ticket, thread_message=entry, kind="reply", automatic=automatic, recipients=to,
        message_id=message_id, raw=b"", state="sent",
    )  # fmt: skip


# --- new tickets ---------------------------------------------------------------------------------


def test_a_new_ticket_maps_the_mail_as_003_describes(db, mailbox) -> None:
    get_or_create_contact(ALICE, "Alice")
    department = Department.create(name="IT")
    outcome = ingest(
        db,
        mailbox,
        mail(subject="VPN down", headers={"Importance": "High"}),
        department=department.id,
        ticket_type="incident",
        ticket_defaults="service:Networking\nimpact:team",
    )
    ticket = Ticket.get_by_id(outcome.ticket_id)
    assert (ticket.subject, ticket.source, ticket.priority) == ("VPN down", "email", "high")
    assert (ticket.department_id, ticket.ticket_type) == (department.id, "incident")
    assert ticket.fields == "service:Networking\nimpact:team"
    assert ticket.contact.email == ALICE and ticket.unread


def test_an_empty_subject_takes_the_default_title(db, mailbox) -> None:
    get_or_create_contact(ALICE)
    outcome = ingest(db, mailbox, mail(subject=""), default_title="Mail without subject")
    assert Ticket.get_by_id(outcome.ticket_id).subject == "Mail without subject"


@pytest.mark.parametrize(
    ("headers", "listening", "priority"),
    [
        ({"Importance": "Low"}, True, "low"),
        ({"X-Priority": "1 (Highest)"}, True, "urgent"),
        ({"X-Priority": "3 (Normal)"}, True, "normal"),
        ({"Priority": "urgent"}, True, "urgent"),
        ({"Importance": "High"}, False, "normal"),
    ],
)
def test_priority_comes_from_importance_when_the_mailbox_listens(
    db, mailbox, headers, listening, priority
) -> None:
    get_or_create_contact(ALICE)
    outcome = ingest(db, mailbox, mail(headers=headers), priority_from_importance=listening)
    assert Ticket.get_by_id(outcome.ticket_id).priority == priority


def test_a_client_domain_makes_a_contact_under_that_client(db, mailbox) -> None:
    acme = Client.create(name="ACME")
    ClientDomain.create(client=acme, domain="customer.example")
    outcome = ingest(db, mailbox, mail(sender="NEW@Customer.Example", sender_name="New Person"))
    assert outcome.state == "ticket_created"
    contact = Contact.get(Contact.email == "new@customer.example")
    assert (contact.client_id, contact.name) == (acme.id, "New Person")
    assert Ticket.get_by_id(outcome.ticket_id).client_id == acme.id


def test_an_unknown_sender_gets_the_new_person_defaults(db, mailbox) -> None:
    demo = Client.create(name="Demo")
    outcome = ingest(
        db,
        mailbox,
        mail(sender="who@nowhere.example", sender_name=""),
        unknown_sender="create",
        new_contact_defaults="name:Unknown caller\norg_id:Demo\nlanguage:fr",
    )
    contact = Ticket.get_by_id(outcome.ticket_id).contact
    assert (contact.name, contact.client_id) == ("Unknown caller", demo.id)
    assert "language:fr" in contact.fields


def test_a_contact_is_found_whatever_the_case_of_the_address(db, mailbox) -> None:
    known = get_or_create_contact(ALICE)
    outcome = ingest(db, mailbox, mail(sender="Alice@CUSTOMER.example"))
    assert Ticket.get_by_id(outcome.ticket_id).contact_id == known.id


def test_cc_addresses_become_participants_but_our_own_addresses_never_do(db, mailbox) -> None:
    get_or_create_contact(ALICE)
    Mailbox.create(name="sales", address="sales@example.com")
    raw = mail(
        to="support@example.com, bob@partner.example",
        cc="help@example.com, Sales <sales@example.com>, carol@partner.example",
    )
    outcome = ingest(db, mailbox, raw)
    emails = {p.email for p in Participant.select().where(Participant.ticket == outcome.ticket_id)}
    assert emails == {"bob@partner.example", "carol@partner.example"}


def test_the_original_mail_is_attached_to_the_first_message_when_asked(db, mailbox) -> None:
    get_or_create_contact(ALICE)
    raw = mail(subject="Printer / floor 3")
    outcome = ingest(db, mailbox, raw, attach_original=True)
    [original] = Attachment.select().join(Message).where(Message.ticket == outcome.ticket_id)
    assert (original.filename, original.content_type, original.size) == (
        "Printer _ floor 3.eml",
        "message/rfc822",
        len(raw),
    )
    assert original.blob_id == InboundMail.get_by_id(outcome.record_id).raw_id


# --- attachments ---------------------------------------------------------------------------------


def with_files(*files: tuple[str, str, bytes]) -> bytes:
    return mail(attachments=list(files))


def test_attachments_are_filtered_and_each_skip_is_explained(db, mailbox) -> None:
    get_or_create_contact(ALICE)
    raw = with_files(
        ("report.pdf", "application/pdf", b"%PDF-1.4 report"),
        ("setup.exe", "application/octet-stream", b"MZ..."),
        ("logo.png", "image/png", png(80, 15)),
        ("photo.png", "image/png", png(800, 600)),
        ("../../secret.txt", "text/plain", b"hello"),
    )
    outcome = ingest(db, mailbox, raw)
    names = sorted(
        a.filename
        for a in Attachment.select().join(Message).where(Message.ticket == outcome.ticket_id)
    )
    assert names == ["photo.png", "report.pdf", "secret.txt"]


def test_apply_returns_one_note_per_skipped_attachment_for_the_trace(db, mailbox) -> None:
    get_or_create_contact(ALICE)
    raw = with_files(
        ("setup.exe", "application/octet-stream", b"MZ"), ("a.pdf", "application/pdf", b"%PDF")
    )
    parsed = parse_mail(raw)
    policy = MailboxPolicy.from_mailbox(mailbox)
    with db.atomic():
        [record] = store_fetched(
            mailbox, [FetchedMail(RemoteMail(key="notes", size=len(raw)), raw)]
        )
        decision = Decision(CREATE, "new_ticket", "a new ticket", contact="existing")
        applied = apply_decision(decision, parsed, record.id, mailbox, policy, Directory.load())
    assert applied.notes == (
        (
            "attachment 'setup.exe' (application/octet-stream, 2 bytes) not imported: '.exe' files"
            " are dangerous"
        ),
    )


def test_the_same_file_in_a_later_reply_is_not_attached_again(db, mailbox) -> None:
    get_or_create_contact(ALICE)
    logo = ("banner.png", "image/png", png(400, 100))
    first = ingest(db, mailbox, mail(message_id="<one@customer.example>", attachments=[logo]))
    ingest(
        db,
        mailbox,
        mail(
            in_reply_to="<one@customer.example>",
            attachments=[logo, ("new.pdf", "application/pdf", b"%PDF new")],
        ),
    )
    names = [
        a.filename
        for a in Attachment.select().join(Message).where(Message.ticket == first.ticket_id)
    ]
    assert sorted(names) == ["banner.png", "new.pdf"]


def test_an_inline_image_stays_inline_and_linked_to_its_message(db, mailbox) -> None:
    get_or_create_contact(ALICE)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = ALICE, "support@example.com", "see"
    message.set_content("see the picture")
    message.add_alternative('<p>see <img src="cid:shot@x"></p>', subtype="html")
    message.get_payload()[1].add_related(png(640, 480), "image", "png", cid="<shot@x>")
    outcome = ingest(db, mailbox, message.as_bytes())
    [image] = Attachment.select()
    assert (image.inline, image.content_id) == (True, "shot@x")
    assert image.message.ticket_id == outcome.ticket_id
    assert "cid:shot@x" in image.message.html


# --- threading against what we sent -------------------------------------------------------------


def test_references_find_our_outbound_mail_and_say_whether_it_was_automatic(db, mailbox) -> None:
    ticket = create_ticket(NewTicket(subject="t"))
    outbound(ticket, "<tuidesk.1.a@example.com>")
    outbound(ticket, "<tuidesk.1.b@example.com>", automatic=True)
    assert thread_of(("<tuidesk.1.a@example.com>",)).origin == "out"
    assert thread_of(("<tuidesk.1.b@example.com>",)).origin == "out_auto"
    assert thread_of(("<tuidesk.1.a@example.com>",)).recipients == (ALICE,)
    assert thread_of(("<nobody@x>",)).ticket_id is None
    assert is_our_mail("<tuidesk.1.a@example.com>") and not is_our_mail("<tuidesk.9.z@elsewhere>")


def test_the_directory_knows_every_mailbox_address_and_alias(db, mailbox) -> None:
    Mailbox.create(name="sales", address="Sales@Example.com", aliases="deals@example.com")
    own = Directory.load().own_addresses
    assert {
        "support@example.com",
        "help@example.com",
        "sales@example.com",
        "deals@example.com",
    } <= own


def test_a_reply_to_our_mail_threads_and_its_sender_becomes_a_participant(db, mailbox) -> None:
    alice = get_or_create_contact(ALICE)
    ticket = create_ticket(NewTicket(subject="Printer", contact=alice))
    outbound(ticket, "<tuidesk.1.a@example.com>")
    outcome = ingest(
        db, mailbox, mail(sender="dan@elsewhere.example", in_reply_to="<tuidesk.1.a@example.com>")
    )
    assert (outcome.state, outcome.ticket_id) == ("reply_added", ticket.id)
    assert Participant.get(Participant.ticket == ticket.id).email == "dan@elsewhere.example"


def test_a_bounce_of_our_mail_goes_on_its_ticket_and_marks_the_address(db, mailbox) -> None:
    alice = get_or_create_contact(ALICE)
    ticket = create_ticket(NewTicket(subject="Printer", contact=alice))
    outbound(ticket, "<tuidesk.1.a@example.com>")
    bounce = (
        b"From: MAILER-DAEMON@mx.customer.example\r\nTo: support@example.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nmailbox unknown\r\n--b\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; alice@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@example.com\r\n"
        b"Message-ID: <tuidesk.1.a@example.com>\r\nSubject: [#000001] Printer\r\n\r\n"
        b"hello\r\n--b--\r\n"
    )
    outcome = ingest(db, mailbox, bounce)
    assert (outcome.state, outcome.reason, outcome.ticket_id) == (
        "reply_added",
        "bounce",
        ticket.id,
    )
    assert Contact.get_by_id(alice.id).bouncing
    entry = Message.select().where(Message.inbound == outcome.record_id).get()
    assert entry.automatic and not Ticket.get_by_id(ticket.id).unread


def test_a_bounce_of_mail_we_did_not_send_is_rejected(db, mailbox) -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\n\r\nMessage-ID: <x@y>\n"
    )
    outcome = ingest(db, mailbox, raw, unknown_sender="create")
    assert (outcome.state, outcome.reason) == ("rejected", "bounce")


def test_our_own_mail_coming_back_is_rejected_as_a_loop(db, mailbox) -> None:
    ticket = create_ticket(NewTicket(subject="t"))
    outbound(ticket, "<tuidesk.1.a@example.com>")
    raw = mail(sender="support@example.com", message_id="<tuidesk.1.a@example.com>")
    assert ingest(db, mailbox, raw).reason == "loop"

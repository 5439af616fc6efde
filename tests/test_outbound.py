"""Outbound mail through a real aiosmtpd: auth and TLS modes, every template's mail, threading
round trips through Dovecot, the outbox surviving SMTP outages, loops and limits, the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ingest_helpers import imap_mailbox, poll, send_outbox, smtp_settings
from mailgen import mail
from servers.smtp import SmtpServer

from tuidesk.core import actions, global_settings
from tuidesk.core.actions import Actor
from tuidesk.core.clock import utcnow
from tuidesk.core.notify import templates
from tuidesk.core.store.models import Agent, Contact, Message, Outbox, Ticket

pytestmark = pytest.mark.servers
OLGA = Actor("Olga Operator", "olga@example.com")


def open_ticket(dovecot, mail_user, smtp_server, **settings) -> Ticket:
    """One customer mail through Dovecot into a ticket, with SMTP configured."""
    dovecot.append(mail_user, mail(subject="Printer on floor 3", message_id="<first@cust>"))
    mailbox = imap_mailbox(dovecot, mail_user, **{**smtp_settings(smtp_server), **settings})
    assert poll(mailbox).created == 1
    return Ticket.get()


def test_a_new_ticket_gets_an_acknowledgement_that_threads(db, dovecot, mail_user, smtp_server):
    ticket = open_ticket(dovecot, mail_user, smtp_server)
    report = send_outbox()
    assert report.sent == 1, report.errors
    [received] = smtp_server.received
    message = received.message
    assert received.rcpt_tos == ("alice@customer.example",)
    assert message["Subject"] == f"[#{ticket.number:06d}] Printer on floor 3"
    assert message["Message-ID"].startswith(f"<tuidesk.{ticket.number:06d}.")
    assert message["In-Reply-To"] == "<first@cust>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert f"#{ticket.number:06d}" in message.get_body(("plain",)).get_content()
    assert received.auth_user == next(iter(smtp_server.users))
    stored = Message.get((Message.ticket == ticket) & (Message.direction == "out"))
    assert stored.message_id == message["Message-ID"] and stored.automatic


def test_an_agent_reply_goes_to_the_contact_and_participants(db, dovecot, mail_user, smtp_server):
    dovecot.append(
        mail_user, mail(to=mail_user.address, cc="bob@customer.example", message_id="<q@cust>")
    )
    poll(imap_mailbox(dovecot, mail_user, auto_response=False, **smtp_settings(smtp_server)))
    ticket = Ticket.get()
    actions.reply(ticket.id, OLGA, "We sent a technician.\n\nHe arrives at ten.")
    assert Outbox.get().state == "queued"
    assert send_outbox().sent == 1
    [received] = smtp_server.received
    assert set(received.rcpt_tos) == {"alice@customer.example", "bob@customer.example"}
    body = received.message.get_body(("plain",)).get_content()
    assert "We sent a technician." in body and "Olga Operator" in body
    assert received.message["In-Reply-To"] == "<q@cust>"
    assert received.message["Auto-Submitted"] is None
    entry = Message.get((Message.ticket == ticket) & (Message.direction == "out"))
    assert entry.new_part.startswith("We sent a technician.")
    assert entry.author_name == "Olga Operator"


def test_the_customers_answer_to_a_reply_threads_back(db, dovecot, mail_user, smtp_server):
    ticket = open_ticket(dovecot, mail_user, smtp_server, auto_response=False)
    actions.reply(ticket.id, OLGA, "Which printer model is it?")
    send_outbox()
    ours = smtp_server.received[0].message["Message-ID"]
    dovecot.append(
        mail_user,
        mail(
            subject="Re: a subject the customer rewrote", in_reply_to=ours, body="An HP LaserJet."
        ),
    )
    result = poll(Ticket.get().mailbox)
    assert (result.created, result.replied) == (0, 1)
    assert Ticket.select().count() == 1
    assert ticket.messages.count() == 3


def test_reply_attachments_from_disk_are_sent_and_stored(
    db, dovecot, mail_user, smtp_server, tmp_path
):
    ticket = open_ticket(dovecot, mail_user, smtp_server, auto_response=False)
    report = tmp_path / "report.csv"
    report.write_text("a,b\n1,2\n")
    message_id = actions.reply(ticket.id, OLGA, "See the report.", attachments=[report])
    send_outbox()
    [part] = list(smtp_server.received[0].message.iter_attachments())
    assert part.get_filename() == "report.csv"
    assert part.get_content() == "a,b\n1,2\n"
    assert Message.get_by_id(message_id).attachments.get().filename == "report.csv"


def test_closing_a_ticket_sends_the_ticket_closed_mail(db, dovecot, mail_user, smtp_server):
    ticket = open_ticket(dovecot, mail_user, smtp_server, auto_response=False)
    actions.close(ticket.id, OLGA)
    send_outbox()
    [received] = smtp_server.received
    assert "is now closed" in received.message.get_body(("plain",)).get_content()
    assert Ticket.get_by_id(ticket.id).status == "closed"
    event = Message.get(Message.direction == "event")
    assert "Olga Operator changed the status from open to closed" in event.new_part


def test_staff_alerts_go_to_the_alert_recipients(db, dovecot, mail_user, smtp_server):
    global_settings.set_value("alert_recipients", "desk@example.com")
    open_ticket(dovecot, mail_user, smtp_server, auto_response=False)
    send_outbox()
    [alert] = smtp_server.received
    assert alert.rcpt_tos == ("desk@example.com",)
    assert alert.message["Subject"].endswith("New ticket: Printer on floor 3")
    assert not Message.select().where(Message.direction == "out").exists()


def test_assignment_sends_the_assignment_alert_to_the_agent(db, dovecot, mail_user, smtp_server):
    ticket = open_ticket(dovecot, mail_user, smtp_server, auto_response=False)
    dana = Agent.create(name="Dana Agent", email="dana@example.com")
    actions.assign(ticket.id, OLGA, dana.id)
    send_outbox()
    [alert] = smtp_server.received
    assert alert.rcpt_tos == ("dana@example.com",)
    assert "Olga Operator assigned" in alert.message.get_body(("plain",)).get_content()


def test_an_error_is_forwarded_with_the_original_attached(db, dovecot, mail_user, smtp_server):
    dovecot.append(mail_user, mail(subject="matches nothing"))
    mailbox = imap_mailbox(
        dovecot,
        mail_user,
        behaviour="update_only",
        error_behaviour="forward",
        error_forward_to="admin@example.com",
        **smtp_settings(smtp_server),
    )
    assert poll(mailbox).errors == 1
    send_outbox()
    [forward] = smtp_server.received
    assert forward.rcpt_tos == ("admin@example.com",)
    assert "update" in forward.message.get_body(("plain",)).get_content()
    [original] = list(forward.message.iter_attachments())
    assert original.get_content_type() == "message/rfc822"
    assert original.get_content()["Subject"] == "matches nothing"


def test_an_auto_reply_never_gets_an_auto_response(db, dovecot, mail_user, smtp_server):
    dovecot.append(
        mail_user,
        mail(subject="Out of Office: back Monday", headers={"Auto-Submitted": "auto-replied"}),
    )
    mailbox = imap_mailbox(dovecot, mail_user, **smtp_settings(smtp_server))
    poll(mailbox)
    assert send_outbox().sent == 0
    assert Outbox.select().count() == 0 and Ticket.select().count() == 0


def test_automatic_mail_per_recipient_is_limited(db, dovecot, mail_user, smtp_server):
    global_settings.set_value("auto_mail_per_hour", "2")
    dovecot.append_many(mail_user, [mail(subject=f"request {i}") for i in range(4)])
    mailbox = imap_mailbox(dovecot, mail_user, debug_trace=True, **smtp_settings(smtp_server))
    assert poll(mailbox).created == 4
    assert send_outbox().sent == 2
    from tuidesk.core.store.models import TraceLine

    assert any("already got 2 automatic mails" in t.text for t in TraceLine.select())


def test_no_automatic_mail_to_a_bouncing_contact(db, dovecot, mail_user, smtp_server):
    Contact.create(email="alice@customer.example", name="Alice", bouncing=True)
    open_ticket(dovecot, mail_user, smtp_server)
    assert send_outbox().sent == 0


def test_smtp_down_keeps_the_mail_queued_and_sends_it_later_in_order_once(
    db, dovecot, mail_user, smtp_server
):
    ticket = open_ticket(dovecot, mail_user, smtp_server, auto_response=False)
    smtp_server.stop()
    for text in ("first", "second", "third"):
        actions.reply(ticket.id, OLGA, text)
    for _ in range(3):  # several polls while the server is away
        report = send_outbox()
        assert report.sent == 0 and report.errors
        Outbox.update(next_attempt_at=utcnow() - timedelta(seconds=1)).execute()
    assert {r.state for r in Outbox.select()} == {"queued"}
    assert "refused" in Outbox.get().last_error
    smtp_server.start()
    assert send_outbox().sent == 3
    bodies = [r.message.get_body(("plain",)).get_content() for r in smtp_server.received]
    assert [b.splitlines()[0] for b in bodies] == ["first", "second", "third"]
    assert send_outbox().sent == 0


def test_a_temporary_refusal_is_retried(db, dovecot, mail_user, smtp_server):
    ticket = open_ticket(dovecot, mail_user, smtp_server, auto_response=False)
    actions.reply(ticket.id, OLGA, "hello")
    smtp_server.fail_next(1)
    report = send_outbox()
    assert (report.sent, report.deferred) == (0, 1)
    Outbox.update(next_attempt_at=utcnow()).execute()
    assert send_outbox().sent == 1


def test_a_wrong_smtp_password_is_one_sentence(db, dovecot, mail_user, smtp_server):
    ticket = open_ticket(
        dovecot, mail_user, smtp_server, auto_response=False, smtp_password="wrong-one"
    )
    actions.reply(ticket.id, OLGA, "hello")
    report = send_outbox()
    assert report.errors[0].startswith(f"SMTP login to {smtp_server.host}:{smtp_server.port}")
    assert "wrong-one" not in report.errors[0]


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_smtp_over_tls_with_a_trusted_certificate(db, dovecot, mail_user, tls):
    with SmtpServer({"agent@example.com": "pw-123456"}, tls=tls) as server:
        ticket = open_ticket(
            dovecot,
            mail_user,
            server,
            auto_response=False,
            smtp_security=tls,
            smtp_tls_ca_file=str(server.cert_path),
        )
        actions.reply(ticket.id, OLGA, "over TLS")
        assert send_outbox().sent == 1
        assert server.received[0].tls


def test_smtp_over_tls_refuses_an_untrusted_certificate(db, dovecot, mail_user):
    with SmtpServer({"agent@example.com": "pw-123456"}, tls="ssl") as server:
        ticket = open_ticket(dovecot, mail_user, server, auto_response=False, smtp_security="ssl")
        actions.reply(ticket.id, OLGA, "over TLS")
        report = send_outbox()
        assert "not trusted" in report.errors[0]
        assert server.received == []


def test_smtp_auth_same_as_the_mailbox_uses_its_credentials(db, dovecot, mail_user):
    with SmtpServer({mail_user.address: mail_user.password}) as server:
        ticket = open_ticket(dovecot, mail_user, server, auto_response=False, smtp_auth="same")
        actions.reply(ticket.id, OLGA, "hi")
        assert send_outbox().sent == 1
        assert server.received[0].auth_user == mail_user.address


def test_smtp_without_auth(db, dovecot, mail_user):
    with SmtpServer({}) as server:
        ticket = open_ticket(dovecot, mail_user, server, auto_response=False, smtp_auth="none")
        actions.reply(ticket.id, OLGA, "hi")
        assert send_outbox().sent == 1
        assert server.received[0].auth_user is None


def test_a_template_that_breaks_after_queueing_stays_queued_and_visible(
    db, dovecot, mail_user, smtp_server
):
    open_ticket(dovecot, mail_user, smtp_server)
    from tuidesk.core.store.models import Template

    Template.create(
        name="new_ticket_autoresponse",
        subject="{{ ticket.subject }}",
        body_text="{{ ticket.nosuchthing }}",
    )
    report = send_outbox()
    assert report.sent == 0
    row = Outbox.get()
    assert row.state == "queued" and "nosuchthing" in row.last_error
    templates.reset("new_ticket_autoresponse")
    Outbox.update(next_attempt_at=utcnow()).execute()
    assert send_outbox().sent == 1

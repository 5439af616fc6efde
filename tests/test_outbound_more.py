"""More outbound behaviour: the response SLA and its overdue alert, sending as an alias,
alerts for customer replies and transfers, the closed-ticket answer, department mailboxes."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from ingest_helpers import imap_mailbox, poll, send_outbox, smtp_settings
from mailgen import mail

from tuidesk.core import actions, global_settings
from tuidesk.core.actions import Actor
from tuidesk.core.clock import utcnow
from tuidesk.core.errors import TuideskError
from tuidesk.core.sla import overdue_sweep, parse_sla
from tuidesk.core.store.models import Agent, Department, DepartmentMail, Mailbox, Outbox, Ticket

pytestmark = pytest.mark.servers
OLGA = Actor("Olga Operator", "olga@example.com")


def open_ticket(dovecot, mail_user, smtp_server, raw=None, **settings) -> Ticket:
    dovecot.append(mail_user, raw or mail(subject="Printer", message_id="<p1@cust>"))
    mailbox = imap_mailbox(
        dovecot, mail_user, **{**smtp_settings(smtp_server), "auto_response": False, **settings}
    )
    assert poll(mailbox).created == 1
    return Ticket.get()


def test_a_new_ticket_is_due_within_its_prioritys_hours(db, dovecot, mail_user, smtp_server):
    ticket = open_ticket(dovecot, mail_user, smtp_server)
    assert timedelta(hours=23) < ticket.due_at - ticket.created_at <= timedelta(hours=24)


def test_an_unanswered_ticket_gets_one_overdue_alert_and_a_reply_clears_it(
    db, dovecot, mail_user, smtp_server
):
    dana = Agent.create(name="Dana", email="dana@example.com")
    ticket = open_ticket(dovecot, mail_user, smtp_server)
    Ticket.update(assignee=dana, due_at=utcnow() - timedelta(minutes=1)).execute()
    assert overdue_sweep() == 1
    assert overdue_sweep() == 0  # once
    send_outbox()
    [alert] = smtp_server.received
    assert alert.rcpt_tos == ("dana@example.com",)
    assert alert.message["Subject"].endswith("Overdue: Printer")
    actions.reply(ticket.id, OLGA, "On it.")
    fresh = Ticket.get_by_id(ticket.id)
    assert fresh.due_at is None and not fresh.overdue_alerted


def test_the_sla_setting_is_validated_and_can_be_switched_off(db) -> None:
    assert parse_sla("urgent=4, normal=24") == {"urgent": 4.0, "normal": 24.0}
    with pytest.raises(ValueError, match="normal=soon"):
        parse_sla("normal=soon")
    global_settings.set_value("sla_hours", "")
    from tuidesk.core.sla import due_for

    assert due_for("normal") is None


def test_a_reply_goes_out_from_the_alias_the_customer_wrote_to(db, dovecot, mail_user, smtp_server):
    raw = mail(to="sales@example.com", message_id="<s@cust>")
    ticket = open_ticket(
        dovecot,
        mail_user,
        smtp_server,
        raw=raw,
        aliases="sales@example.com",
        smtp_allow_spoofing=True,
    )
    actions.reply(ticket.id, OLGA, "Hello from sales.")
    send_outbox()
    [sent] = smtp_server.received
    assert "sales@example.com" in sent.message["From"]
    assert sent.mail_from == mail_user.address  # the envelope stays the mailbox's


def test_sending_as_another_address_needs_header_spoofing(db, dovecot, mail_user, smtp_server):
    ticket = open_ticket(dovecot, mail_user, smtp_server)
    with pytest.raises(TuideskError, match="smtp_allow_spoofing"):
        actions.reply(ticket.id, OLGA, "hi", from_address="ceo@example.com")
    Mailbox.update(smtp_allow_spoofing=True).execute()
    actions.reply(ticket.id, OLGA, "hi", from_address="ceo@example.com")
    send_outbox()
    assert "ceo@example.com" in smtp_server.received[0].message["From"]


def test_a_customer_reply_alerts_the_assignee(db, dovecot, mail_user, smtp_server):
    ticket = open_ticket(dovecot, mail_user, smtp_server)
    dana = Agent.create(name="Dana", email="dana@example.com")
    Ticket.update(assignee=dana).execute()
    dovecot.append(mail_user, mail(in_reply_to="<p1@cust>", body="Still broken."))
    assert poll(Ticket.get_by_id(ticket.id).mailbox).replied == 1
    send_outbox()
    [alert] = smtp_server.received
    assert alert.rcpt_tos == ("dana@example.com",)
    assert "Still broken." in alert.message.get_body(("plain",)).get_content()


def test_a_transfer_alerts_the_alert_recipients(db, dovecot, mail_user, smtp_server):
    global_settings.set_value("alert_recipients", "desk@example.com")
    ticket = open_ticket(dovecot, mail_user, smtp_server)
    send_outbox()
    smtp_server.received.clear()
    billing = Department.create(name="Billing")
    actions.set_department(ticket.id, OLGA, billing.id)
    send_outbox()
    [alert] = smtp_server.received
    assert alert.message["Subject"].endswith("Transferred to Billing: Printer")


def test_a_reply_to_a_closed_ticket_held_gets_the_closed_ticket_answer(
    db, dovecot, mail_user, smtp_server
):
    ticket = open_ticket(dovecot, mail_user, smtp_server, closed_ticket_policy="hold")
    Ticket.update(status="closed").execute()
    dovecot.append(mail_user, mail(in_reply_to="<p1@cust>", body="One more thing."))
    assert poll(Ticket.get_by_id(ticket.id).mailbox).held == 1
    send_outbox()
    [answer] = smtp_server.received
    assert answer.rcpt_tos == ("alice@customer.example",)
    assert "is closed, so your message was not added" in (
        answer.message.get_body(("plain",)).get_content()
    )


def test_a_department_mailbox_sends_its_auto_responses(
    db, dovecot, mail_user, smtp_server, cli_env, db_target
):
    sales = Department.create(name="Sales")
    other = dovecot.add_user()
    imap_mailbox(dovecot, other, name="sales-out", status="disabled", **smtp_settings(smtp_server))
    dovecot.append(mail_user, mail())
    mailbox = imap_mailbox(
        dovecot, mail_user, department=sales, auto_response=True, **smtp_settings(smtp_server)
    )
    db.close()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tuidesk",
            "--db",
            db_target,
            "department",
            "mailbox",
            "Sales",
            "auto_response",
            "sales-out",
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    db.connect(reuse_if_open=True)
    assert DepartmentMail.get().mailbox.name == "sales-out"
    poll(mailbox)
    send_outbox()
    [ack] = smtp_server.received
    assert other.address in ack.message["From"]
    assert Outbox.get().mailbox.name == "sales-out"

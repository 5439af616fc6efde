"""POP3: UIDL as the key, RETR, delete or keep without duplicates, TLS both ways."""

from __future__ import annotations

import pytest
from ingest_helpers import poll, pop3_mailbox
from mailgen import mail

from tuidesk.core.store.models import InboundMail, Mailbox, Ticket

pytestmark = pytest.mark.servers


def test_pop3_mail_becomes_tickets_and_is_deleted(db, dovecot, mail_user) -> None:
    dovecot.append_many(mail_user, [mail(subject="a"), mail(subject="b")])
    result = poll(pop3_mailbox(dovecot, mail_user))
    assert result.ok, result.error
    assert sorted(t.subject for t in Ticket.select()) == ["a", "b"]
    assert dovecot.messages(mail_user) == []


def test_pop3_keep_does_not_refetch(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    mailbox = pop3_mailbox(dovecot, mail_user, after_fetch="keep")
    assert poll(mailbox).created == 1
    Mailbox.update(next_poll_at=None).execute()
    again = poll(mailbox)
    assert (again.fetched, again.created) == (0, 0)
    assert len(dovecot.messages(mail_user)) == 1
    assert InboundMail.get().source_key.startswith("pop3:")


def test_pop3_stls_with_a_trusted_certificate(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    mailbox = pop3_mailbox(
        dovecot, mail_user, security="starttls", tls_ca_file=str(dovecot.cert_path)
    )
    assert poll(mailbox).created == 1


def test_pop3s_with_a_trusted_certificate(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    mailbox = pop3_mailbox(
        dovecot,
        mail_user,
        security="ssl",
        port=dovecot.pop3s_port,
        tls_ca_file=str(dovecot.cert_path),
    )
    assert poll(mailbox).created == 1


def test_pop3_wrong_password_is_a_clear_sentence(db, dovecot, mail_user) -> None:
    result = poll(pop3_mailbox(dovecot, mail_user, password="nope"))
    assert result.error.startswith(f"POP3 login to {dovecot.host}:{dovecot.pop3_port}")
    assert "check the user name and the password" in result.error


def test_pop3_latin1_8bit_body_does_not_abort_the_run(db, dovecot, mail_user) -> None:
    latin1 = (
        b"From: Zoe <zoe@customer.example>\r\nTo: support@example.com\r\n"
        b"Subject: caf\xe9\r\nMessage-ID: <l1@x>\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nLe caf\xe9 est froid. C:\\Users\\zoe\r\n"
    )
    dovecot.append_many(mail_user, [latin1, mail(subject="after")])
    result = poll(pop3_mailbox(dovecot, mail_user))
    assert result.ok and result.created == 2
    body = Ticket.get(Ticket.subject != "after").messages.get().full_text
    assert "Le café est froid." in body
    assert "C:\\Users\\zoe" in body  # backslashes survive (django-helpdesk mangles them)

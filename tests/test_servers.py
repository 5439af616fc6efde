"""The mail server fixtures themselves: what a test can rely on from Dovecot and SMTP.

Each test states one behaviour of `tests/servers` (the real Dovecot and the aiosmtpd server),
so a failure here points at the test infrastructure, not at tuidesk.
"""

from __future__ import annotations

import base64
import json
import poplib
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import unquote

import imapclient
import pytest
from imapclient.exceptions import LoginError
from servers.dovecot import DovecotServer, MailUser, process_group_members
from servers.fixtures import SMTP_AGENT, require_dovecot, smtp_server_class

if TYPE_CHECKING:
    from servers.smtp import SmtpServer

pytestmark = pytest.mark.servers

HELD = "$TuideskHeld"


def make_mail(
    subject: str = "Printer is broken", message_id: str = "<1@customer.example>"
) -> bytes:
    """A small RFC 5322 message with CRLF line ends."""
    return (
        "From: Customer <customer@customer.example>\r\n"
        "To: support@example.com\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: {message_id}\r\n"
        "Date: Sat, 21 Nov 2026 07:00:00 +0000\r\n"
        "\r\n"
        "It prints only blank pages.\r\n"
    ).encode()


def imaps_client(server: DovecotServer, context: ssl.SSLContext) -> imapclient.IMAPClient:
    return imapclient.IMAPClient(server.host, port=server.imaps_port, ssl=True, ssl_context=context)


# -- Dovecot: logging in -------------------------------------------------------------------


def test_imap_plain_login_works(dovecot: DovecotServer, mail_user: MailUser) -> None:
    with imapclient.IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False) as client:
        client.login(mail_user.address, mail_user.password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_imap_starttls_works_with_the_certificate_trusted(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    context = ssl.create_default_context(cafile=str(dovecot.cert_path))
    with imapclient.IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False) as client:
        client.starttls(context)
        client.login(mail_user.address, mail_user.password)
        assert client.noop()


def test_imaps_works_with_the_certificate_trusted(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    context = ssl.create_default_context(cafile=str(dovecot.cert_path))
    with imaps_client(dovecot, context) as client:
        client.login(mail_user.address, mail_user.password)
        assert client.noop()


def test_imaps_refuses_verification_when_the_certificate_is_not_trusted(
    dovecot: DovecotServer,
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        imaps_client(dovecot, ssl.create_default_context())


def test_the_server_offers_uidplus_move_and_custom_keywords(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    with dovecot.imap(mail_user) as client:
        assert {b"UIDPLUS", b"MOVE", b"MULTIAPPEND"} <= set(client.capabilities())
        assert b"\\*" in client.select_folder("INBOX")[b"PERMANENTFLAGS"]


def test_wrong_password_is_refused(dovecot: DovecotServer, mail_user: MailUser) -> None:
    with pytest.raises(LoginError):
        dovecot.imap(replace(mail_user, password="not-" + mail_user.password))


def test_unknown_user_is_refused(dovecot: DovecotServer) -> None:
    with pytest.raises(LoginError):
        dovecot.imap(MailUser("nobody-here@example.com", "secret"))


def test_user_added_while_running_can_log_in_at_once(dovecot: DovecotServer) -> None:
    # Several in the same second: Dovecot re-reads a changed passwd-file only once a second.
    for _ in range(3):
        user = dovecot.add_user()
        dovecot.imap(user).logout()


def test_add_user_takes_a_chosen_name_and_password(dovecot: DovecotServer) -> None:
    user = dovecot.add_user("helpdesk-chosen", "pa55word")
    assert user == MailUser("helpdesk-chosen@example.com", "pa55word")
    dovecot.imap(user).logout()


# -- Dovecot: POP3 -------------------------------------------------------------------------


def assert_pop3_serves(client: poplib.POP3, user: MailUser, uid: int, uidvalidity: int) -> None:
    """Log in, check UIDL (`%08Xu%08Xv`) and RETR of the one appended message, log out."""
    client.user(user.address)
    client.pass_(user.password)
    _resp, listing, _octets = client.uidl()
    # Dovecot's %X expands to lower-case hex.
    assert listing == [f"1 {uid:08x}{uidvalidity:08x}".encode()]
    _resp, lines, _octets = client.retr(1)
    assert b"Subject: Printer is broken" in lines
    client.quit()


def test_pop3_plain_login_lists_and_retrieves(dovecot: DovecotServer, mail_user: MailUser) -> None:
    uid = dovecot.append(mail_user, make_mail())
    client = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=10)
    assert_pop3_serves(client, mail_user, uid, dovecot.uidvalidity(mail_user))


def test_pop3_stls_works_with_the_certificate_trusted(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    uid = dovecot.append(mail_user, make_mail())
    client = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=10)
    client.stls(ssl.create_default_context(cafile=str(dovecot.cert_path)))
    assert_pop3_serves(client, mail_user, uid, dovecot.uidvalidity(mail_user))


def test_pop3s_works_with_the_certificate_trusted(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    uid = dovecot.append(mail_user, make_mail())
    context = ssl.create_default_context(cafile=str(dovecot.cert_path))
    client = poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, timeout=10, context=context)
    assert_pop3_serves(client, mail_user, uid, dovecot.uidvalidity(mail_user))


# -- Dovecot: mailbox helpers --------------------------------------------------------------


def test_append_then_messages_round_trips(dovecot: DovecotServer, mail_user: MailUser) -> None:
    raw = make_mail("Round trip", "<round@trip.example>")
    uid = dovecot.append(mail_user, raw, flags=["\\Flagged"])
    [stored] = dovecot.messages(mail_user)
    assert (stored.uid, stored.raw, stored.size) == (uid, raw, len(raw))
    assert (stored.subject, stored.message_id) == ("Round trip", "<round@trip.example>")
    assert stored.flags == {"\\Flagged"}


def test_messages_does_not_mark_anything_seen(dovecot: DovecotServer, mail_user: MailUser) -> None:
    dovecot.append(mail_user, make_mail())
    dovecot.messages(mail_user)
    assert dovecot.messages(mail_user)[0].flags == frozenset()


def test_append_many_stores_2000_messages_quickly_and_in_order(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    raws = [make_mail(f"n{i}", f"<{i}@bulk.example>") for i in range(2000)]
    started = time.monotonic()
    uids = dovecot.append_many(mail_user, raws)
    assert time.monotonic() - started < 5
    assert uids == list(range(1, 2001))
    stored = dovecot.messages(mail_user)
    assert [m.subject for m in stored] == [f"n{i}" for i in range(2000)]


def test_set_flags_replaces_the_flags(dovecot: DovecotServer, mail_user: MailUser) -> None:
    uid = dovecot.append(mail_user, make_mail(), flags=["\\Flagged"])
    dovecot.set_flags(mail_user, "INBOX", uid, ["\\Seen", "\\Answered"])
    assert dovecot.messages(mail_user)[0].flags == {"\\Seen", "\\Answered"}


def test_custom_keyword_can_be_stored(dovecot: DovecotServer, mail_user: MailUser) -> None:
    uid = dovecot.append(mail_user, make_mail())
    dovecot.set_flags(mail_user, "INBOX", uid, [HELD])
    assert dovecot.messages(mail_user)[0].flags == {HELD}


def test_folders_can_be_created_filled_and_deleted(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    dovecot.create_folder(mail_user, "Done/2026")
    dovecot.append(mail_user, make_mail(), folder="Done/2026")
    assert {"INBOX", "Done", "Done/2026"} <= set(dovecot.folders(mail_user))
    assert len(dovecot.messages(mail_user, "Done/2026")) == 1
    dovecot.delete_folder(mail_user, "Done/2026")
    assert "Done/2026" not in dovecot.folders(mail_user)


def test_set_uidvalidity_changes_it_and_keeps_the_mail(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    dovecot.append(mail_user, make_mail())
    before = dovecot.uidvalidity(mail_user)
    assert dovecot.set_uidvalidity(mail_user) == before + 1
    assert dovecot.uidvalidity(mail_user) == before + 1
    assert [m.subject for m in dovecot.messages(mail_user)] == ["Printer is broken"]


# -- Dovecot: outages ----------------------------------------------------------------------


def test_kick_disconnects_a_session(dovecot: DovecotServer, mail_user: MailUser) -> None:
    client = dovecot.imap(mail_user)
    client.select_folder("INBOX")
    dovecot.kick(mail_user)
    with pytest.raises((imapclient.IMAPClient.AbortError, OSError)):
        client.noop()
    client.shutdown()


def test_stop_refuses_connections_and_restart_keeps_ports_users_and_mail(
    dovecot_private: DovecotServer,
) -> None:
    user = dovecot_private.add_user()
    dovecot_private.append(user, make_mail())
    ports = dovecot_private.ports
    dovecot_private.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((dovecot_private.host, dovecot_private.imap_port), timeout=2)
    dovecot_private.start()
    assert dovecot_private.ports == ports
    assert [m.subject for m in dovecot_private.messages(user)] == ["Printer is broken"]


def test_stop_ends_every_dovecot_process(dovecot_private: DovecotServer) -> None:
    user = dovecot_private.add_user()
    client = dovecot_private.imap(user)  # a live session has an imap process of its own
    master = dovecot_private.pid
    dovecot_private.stop()
    client.shutdown()
    assert master is not None
    assert process_group_members(master) == []  # zombies awaiting init's reaping aside


# -- Dovecot: OAuth2 mode ------------------------------------------------------------------


class _TokenInfo(BaseHTTPRequestHandler):
    """A tokeninfo endpoint: 200 {"email": ...} for a known token, 401 otherwise."""

    tokens: dict[str, str] = {}

    def do_GET(self) -> None:
        token = unquote(self.path.partition("access_token=")[2])
        email = self.tokens.get(token)
        status, body = (200, {"email": email}) if email else (401, {"error": "invalid_token"})
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tokeninfo_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _TokenInfo)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/tokeninfo?access_token="
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_oauth2_mode_accepts_a_valid_token_and_refuses_others(tokeninfo_url: str) -> None:
    require_dovecot()
    with DovecotServer(oauth2_tokeninfo_url=tokeninfo_url) as server:
        user = server.add_user()
        _TokenInfo.tokens["good-token"] = user.address
        with imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False) as client:
            client.oauth2_login(user.address, "good-token")
        with (
            imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False) as client,
            pytest.raises(LoginError),
        ):
            client.oauth2_login(user.address, user.password)  # not a token: refused


# -- SMTP ----------------------------------------------------------------------------------


@pytest.fixture
def smtp_class() -> type[SmtpServer]:
    return smtp_server_class()


def test_smtp_auth_plain_is_accepted(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.ehlo()
        client.user, client.password = SMTP_AGENT, smtp_server.users[SMTP_AGENT]
        code, _ = client.auth("PLAIN", client.auth_plain)
    assert code == 235


def test_smtp_auth_login_is_accepted(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.ehlo()
        client.user, client.password = SMTP_AGENT, smtp_server.users[SMTP_AGENT]
        code, _ = client.auth("LOGIN", client.auth_login, initial_response_ok=False)
    assert code == 235


def test_smtp_wrong_password_is_refused(smtp_server: SmtpServer) -> None:
    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPAuthenticationError),
    ):
        client.login(SMTP_AGENT, "wrong")


def test_smtp_received_captures_envelope_data_and_login(smtp_server: SmtpServer) -> None:
    raw = make_mail("Re: Printer is broken")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.login(SMTP_AGENT, smtp_server.users[SMTP_AGENT])
        client.sendmail(SMTP_AGENT, ["a@customer.example", "b@customer.example"], raw)
    [mail] = smtp_server.wait_for(1)
    assert mail.mail_from == SMTP_AGENT
    assert mail.rcpt_tos == ("a@customer.example", "b@customer.example")
    assert (mail.data, mail.auth_user, mail.tls) == (raw, SMTP_AGENT, False)
    assert mail.message["Subject"] == "Re: Printer is broken"


def test_smtp_require_auth_refuses_mail_from_strangers(smtp_class: type[SmtpServer]) -> None:
    with (
        smtp_class({SMTP_AGENT: "pw"}, require_auth=True) as server,
        smtplib.SMTP(server.host, server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPSenderRefused) as refused,
    ):
        client.sendmail(SMTP_AGENT, ["a@customer.example"], make_mail())
    assert refused.value.smtp_code == 530


def test_smtp_starttls_works_with_the_certificate_trusted(smtp_class: type[SmtpServer]) -> None:
    with smtp_class({SMTP_AGENT: "pw"}, tls="starttls") as server:
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            client.starttls(context=ssl.create_default_context(cafile=str(server.cert_path)))
            client.login(SMTP_AGENT, "pw")
            client.sendmail(SMTP_AGENT, ["a@customer.example"], make_mail())
        assert server.wait_for(1)[0].tls


def test_smtp_implicit_tls_works_with_the_certificate_trusted(
    smtp_class: type[SmtpServer],
) -> None:
    with smtp_class({SMTP_AGENT: "pw"}, tls="ssl") as server:
        context = ssl.create_default_context(cafile=str(server.cert_path))
        with smtplib.SMTP_SSL(server.host, server.port, timeout=10, context=context) as client:
            client.login(SMTP_AGENT, "pw")
            client.sendmail(SMTP_AGENT, ["a@customer.example"], make_mail())
        assert server.wait_for(1)[0].tls


def test_smtp_implicit_tls_is_refused_when_the_certificate_is_not_trusted(
    smtp_class: type[SmtpServer],
) -> None:
    with smtp_class(tls="ssl") as server, pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL(server.host, server.port, timeout=10, context=ssl.create_default_context())


def test_smtp_stop_refuses_connections_and_restart_uses_the_same_port(
    smtp_server: SmtpServer,
) -> None:
    port = smtp_server.port
    smtp_server.stop()
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP(smtp_server.host, port, timeout=2)
    smtp_server.start()
    with smtplib.SMTP(smtp_server.host, port, timeout=10) as client:
        assert client.noop()[0] == 250


def test_smtp_fail_next_answers_451_to_data(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(1)
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail(SMTP_AGENT, ["a@customer.example"], make_mail())
        client.sendmail(SMTP_AGENT, ["a@customer.example"], make_mail())  # the retry passes
    assert refused.value.smtp_code == 451
    assert len(smtp_server.wait_for(1)) == 1


def test_smtp_fail_next_answers_451_to_every_recipient(smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(1, stage="RCPT")
    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.sendmail(SMTP_AGENT, ["a@customer.example", "b@customer.example"], make_mail())
    assert {code for code, _ in refused.value.recipients.values()} == {451}
    assert smtp_server.failures_left("RCPT") == 0
    assert smtp_server.received == []


def test_smtp_xoauth2_hook_checks_the_bearer_token(smtp_class: type[SmtpServer]) -> None:
    def xoauth2(token: str) -> str:
        blob = f"user={SMTP_AGENT}\x01auth=Bearer {token}\x01\x01".encode()
        return base64.b64encode(blob).decode()

    with (
        smtp_class(xoauth2_validator=lambda user, token: token == "good") as server,
        smtplib.SMTP(server.host, server.port, timeout=10) as client,
    ):
        client.ehlo()
        assert client.docmd("AUTH", "XOAUTH2 " + xoauth2("bad"))[0] == 535
        assert client.docmd("AUTH", "XOAUTH2 " + xoauth2("good"))[0] == 235

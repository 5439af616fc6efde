"""XOAUTH2 (and OAUTHBEARER) logins end to end: a real Dovecot whose oauth2 passdb asks the
local OAuth2 server's tokeninfo endpoint, a real aiosmtpd checking XOAUTH2, and tokens that
tuidesk got from that server through msal."""

from __future__ import annotations

import poplib
from collections.abc import Iterator

import imapclient
import pytest
from ingest_helpers import imap_mailbox, poll, pop3_mailbox, send_outbox, smtp_settings
from mailgen import mail
from servers.dovecot import DovecotServer
from servers.fixtures import require_dovecot, smtp_server_class
from servers.oauth_server import (  # noqa: F401
    OAuthServer,
    microsoft_settings,
    oauth_fixture,
    oauth_server_fixture,
)

from tuidesk.core.errors import MailError
from tuidesk.core.mail import oauth as oauth_mod
from tuidesk.core.mail import xoauth2
from tuidesk.core.mail.oauth import start_device_sign_in, tokens_for
from tuidesk.core.store.models import Mailbox, Outbox, PollRun, Ticket, TraceLine

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def oauth_dovecot(oauth_server: OAuthServer) -> Iterator[DovecotServer]:
    require_dovecot()
    with DovecotServer(oauth2_tokeninfo_url=oauth_server.tokeninfo_url) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_registries():
    oauth_mod._apps.clear()
    oauth_mod._stores.clear()
    yield
    oauth_mod._apps.clear()


def app_settings(server: OAuthServer, granted_to: str, **overrides) -> dict:
    client = server.register_client(secret="app-secret-9f8e7d", app_mailbox=granted_to)
    return microsoft_settings(server, client, **overrides)


# --- IMAP ----------------------------------------------------------------------------------------


def test_an_imap_xoauth2_login_polls_mail_into_tickets(db, oauth, oauth_dovecot) -> None:
    user = oauth_dovecot.add_user()
    oauth_dovecot.append(user, mail(subject="VPN is down"))
    mailbox = imap_mailbox(oauth_dovecot, user, **app_settings(oauth, user.address))
    result = poll(mailbox)
    assert result.ok, result.error
    assert (result.fetched, result.created) == (1, 1)
    assert Ticket.get().subject == "VPN is down"
    assert oauth_dovecot.messages(user) == []


def test_a_refused_imap_token_fails_the_mailbox_with_one_sentence(db, oauth, oauth_dovecot) -> None:
    user = oauth_dovecot.add_user()
    oauth_dovecot.append(user, mail())
    settings = app_settings(oauth, "someone-else@example.com")
    mailbox = imap_mailbox(oauth_dovecot, user, max_tries=1, **settings)
    result = poll(mailbox)
    assert not result.ok
    where = f"{oauth_dovecot.host}:{oauth_dovecot.imap_port}"
    assert result.error.startswith(
        f"the IMAP server {where} refused the OAuth2 token for {user.address} ("
    )
    fresh = Mailbox.get_by_id(mailbox.id)
    assert fresh.failing and fresh.last_error == result.error
    assert len(oauth_dovecot.messages(user)) == 1


def test_a_token_the_server_stops_accepting_is_replaced_at_the_next_poll(
    db, oauth, oauth_dovecot
) -> None:
    user = oauth_dovecot.add_user()
    mailbox = imap_mailbox(oauth_dovecot, user, **app_settings(oauth, user.address))
    assert poll(mailbox).ok
    oauth.revoke_access_tokens()
    oauth_dovecot.append(user, mail())
    Mailbox.update(next_poll_at=None, cool_off_until=None).execute()
    refused = poll(mailbox)
    assert not refused.ok and "refused the OAuth2 token" in refused.error
    again = poll(mailbox)
    assert again.ok, again.error
    assert again.created == 1


def test_oauthbearer_is_used_when_asked_for(db, oauth, oauth_dovecot) -> None:
    user = oauth_dovecot.add_user()
    tokens = tokens_for(Mailbox(name="b", **_box(oauth, user.address)), "imap")
    login = xoauth2.imap_authenticator(
        tokens, oauth_dovecot.host, oauth_dovecot.imap_port, prefer="OAUTHBEARER"
    )
    with imapclient.IMAPClient(oauth_dovecot.host, port=oauth_dovecot.imap_port, ssl=False) as c:
        login(c)
        assert c.select_folder("INBOX")[b"EXISTS"] == 0


def _box(server: OAuthServer, address: str) -> dict:
    return dict(address=address, protocol="imap", **app_settings(server, address))


def test_a_device_code_sign_in_then_imap_polls(db, oauth, oauth_dovecot) -> None:
    user = oauth_dovecot.add_user()
    oauth_dovecot.append(user, mail(subject="Delegated access"))
    client = oauth.register_client()
    mailbox = imap_mailbox(oauth_dovecot, user, **microsoft_settings(oauth, client))
    oauth.device_user = user.address
    assert start_device_sign_in(mailbox).wait() == user.address
    result = poll(mailbox)
    assert result.ok, result.error
    assert result.created == 1


def test_an_expired_refresh_token_fails_the_poll_with_the_sentence(db, oauth, oauth_dovecot):
    oauth.expires_in = 120
    user = oauth_dovecot.add_user()
    client = oauth.register_client()
    mailbox = imap_mailbox(
        oauth_dovecot, user, name="support", max_tries=1, **microsoft_settings(oauth, client)
    )
    oauth.device_user = user.address
    start_device_sign_in(mailbox).wait()
    oauth.expire_refresh_tokens(user.address)
    result = poll(mailbox)
    expected = (
        f"the Microsoft 365 refresh token for {user.address} expired: "
        "run `tuidesk mailbox authorize support`"
    )
    assert result.error == expected
    fresh = Mailbox.get_by_id(mailbox.id)
    assert fresh.failing and fresh.last_error == expected
    assert PollRun.get().error == expected


# --- POP3 ----------------------------------------------------------------------------------------


def test_a_pop3_xoauth2_login_polls_mail_into_tickets(db, oauth, oauth_dovecot) -> None:
    user = oauth_dovecot.add_user()
    oauth_dovecot.append(user, mail(subject="Printer again"))
    mailbox = pop3_mailbox(oauth_dovecot, user, **app_settings(oauth, user.address))
    result = poll(mailbox)
    assert result.ok, result.error
    assert result.created == 1
    assert oauth_dovecot.messages(user) == []


def test_a_refused_pop3_token_is_one_sentence(db, oauth, oauth_dovecot) -> None:
    user = oauth_dovecot.add_user()
    mailbox = pop3_mailbox(oauth_dovecot, user, **app_settings(oauth, "nobody@example.com"))
    result = poll(mailbox)
    where = f"{oauth_dovecot.host}:{oauth_dovecot.pop3_port}"
    assert result.error.startswith(
        f"the POP3 server {where} refused the OAuth2 token for {user.address} ("
    )


def test_pop3_auth_answers_a_failure_challenge_and_reads_the_refusal(oauth, oauth_dovecot):
    user = oauth_dovecot.add_user()
    tokens = tokens_for(Mailbox(name="p", **_box(oauth, "other@example.com")), "pop3")
    client = poplib.POP3(oauth_dovecot.host, oauth_dovecot.pop3_port, timeout=10)
    try:
        login = xoauth2.pop3_authenticator(tokens, oauth_dovecot.host, oauth_dovecot.pop3_port)
        tokens.user = user.address
        with pytest.raises(MailError, match=r"refused the OAuth2 token .*\(status 401"):
            login(client)
        assert "SASL" in client.capa()  # the exchange is complete: the session still answers
    finally:
        client.close()


# --- SMTP ----------------------------------------------------------------------------------------


@pytest.fixture
def xoauth2_smtp(oauth):
    server_class = smtp_server_class()
    check = lambda user, token: oauth.email_of(token) == user  # noqa: E731
    with server_class({}, xoauth2_validator=check) as server:
        yield server


def test_smtp_xoauth2_sends_the_acknowledgement(db, oauth, oauth_dovecot, xoauth2_smtp) -> None:
    user = oauth_dovecot.add_user()
    oauth_dovecot.append(user, mail(subject="Needs an answer"))
    settings = {
        **smtp_settings(xoauth2_smtp, smtp_auth="same", smtp_username="", smtp_password=""),
        **app_settings(oauth, user.address),
    }
    mailbox = imap_mailbox(oauth_dovecot, user, **settings)
    assert poll(mailbox).created == 1
    report = send_outbox()
    assert report.sent == 1, report.errors
    [received] = xoauth2_smtp.received
    assert received.auth_user == user.address
    assert "Needs an answer" in received.message["Subject"]


def test_a_refused_smtp_token_defers_the_mail_with_one_sentence(db, oauth, xoauth2_smtp) -> None:
    settings = {
        **smtp_settings(xoauth2_smtp, smtp_auth="oauth2", smtp_username="", smtp_password=""),
        **app_settings(oauth, "somebody-else@example.com"),
    }
    mailbox = Mailbox.create(name="out", address="out@example.com", **settings)
    Outbox.create(
        mailbox=mailbox,
        kind="test",
        automatic=False,
        mail_from="out@example.com",
        recipients="alice@customer.example",
        subject="hello",
        message_id="<m1@example.com>",
        raw=b"Subject: hello\r\n\r\nhi\r\n",
    )
    report = send_outbox()
    assert report.sent == 0 and report.deferred == 1
    where = f"{xoauth2_smtp.host}:{xoauth2_smtp.port}"
    assert report.errors[0].startswith(
        f"the SMTP server {where} refused the OAuth2 token for out@example.com (535"
    )
    assert Outbox.get().state == "queued"


# --- secrets -------------------------------------------------------------------------------------


def test_no_secret_or_token_reaches_a_trace_an_error_or_the_output(
    db, oauth, oauth_dovecot, xoauth2_smtp, capsys
) -> None:
    user = oauth_dovecot.add_user()
    oauth_dovecot.append(user, mail())
    good = app_settings(oauth, user.address, debug_trace=True)
    bad = app_settings(oauth, "x@example.com", debug_trace=True)
    ok_box = imap_mailbox(
        oauth_dovecot,
        user,
        name="ok",
        **{**smtp_settings(xoauth2_smtp, smtp_auth="same", smtp_username=""), **good},
    )
    bad_box = imap_mailbox(oauth_dovecot, user, name="bad", **bad)
    from tuidesk.core.poller import Poller
    from tuidesk.core.store.models import database_proxy

    poller = Poller(database_proxy.obj, echo=True)
    results = [poller.poll(Mailbox.get_by_id(m.id)) for m in (ok_box, bad_box)]
    report = send_outbox()
    out = capsys.readouterr()
    texts = [out.out, out.err, report.line(), *(r.error for r in results)]
    texts += [t.text for t in TraceLine.select()]
    texts += [r.error for r in PollRun.select()] + [m.last_error for m in Mailbox.select()]
    texts += [o.last_error for o in Outbox.select()]
    haystack = "\n".join(texts)
    assert "OAuth2 token" in haystack  # the failure is there, in words
    for secret in [good["oauth_client_secret"], bad["oauth_client_secret"], *oauth.issued]:
        assert secret not in haystack

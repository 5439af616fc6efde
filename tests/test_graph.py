"""Microsoft Graph as a mail source and a sender, through the normal poller and outbox, against
a local Graph server (Microsoft's request and response shapes) whose tokens come from the local
OAuth2 server through msal."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from ingest_helpers import poll, send_outbox
from mailgen import mail
from servers.graph_server import GraphServer
from servers.oauth_server import (  # noqa: F401
    OAuthServer,
    microsoft_settings,
    oauth_fixture,
    oauth_server_fixture,
)

from tuidesk.core import mailbox_ops
from tuidesk.core.mail import oauth as oauth_mod
from tuidesk.core.mail.graph import with_bcc
from tuidesk.core.store.models import InboundMail, Mailbox, Outbox, Ticket

GRAPH_SCOPE = "graph.microsoft.com"


@pytest.fixture
def graph(oauth: OAuthServer) -> Iterator[GraphServer]:
    with GraphServer(lambda token: oauth.email_of(token, GRAPH_SCOPE)) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_registries():
    oauth_mod._apps.clear()
    oauth_mod._stores.clear()
    yield


def graph_mailbox(oauth, graph, address="support@example.com", granted_to=None, **settings):
    client = oauth.register_client(secret="graph-secret-4242", app_mailbox=granted_to or address)
    values = dict(
        name="m365",
        address=address,
        status="active",
        protocol="graph",
        host=graph.base_url,
        timeout_ms=10_000,
        unknown_sender="create",
        after_fetch="move",
        after_fetch_folder="Processed",
        auto_response=False,
        **microsoft_settings(oauth, client),
    )
    values.update(settings)
    return Mailbox.create(**values)


def again(mailbox):
    Mailbox.update(next_poll_at=None, cool_off_until=None).execute()
    return poll(mailbox)


# --- fetching ------------------------------------------------------------------------------------


def test_graph_mail_becomes_tickets_and_is_moved_to_a_created_folder(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail(subject="Laptop will not boot"))
    mailbox = graph_mailbox(oauth, graph)
    result = poll(mailbox)
    assert result.ok, result.error
    assert (result.fetched, result.created) == (1, 1)
    assert Ticket.get().subject == "Laptop will not boot"
    assert graph.messages("support@example.com", "inbox") == []
    assert len(graph.messages("support@example.com", "Processed")) == 1


def test_every_page_is_read_oldest_first(db, oauth, graph) -> None:
    for n in range(25):
        graph.deliver("support@example.com", mail(subject=f"Request {n:02d}"))
    mailbox = graph_mailbox(oauth, graph, emails_per_fetch=10, after_fetch="keep")
    result = poll(mailbox)
    assert result.created == 25, result.error
    subjects = [t.subject for t in Ticket.select().order_by(Ticket.id)]
    assert subjects == [f"Request {n:02d}" for n in range(25)]
    listing = [p for m, p in graph.requests if m == "GET" and p.endswith("/messages")]
    assert len(listing) == 3  # 10 + 10 + 5 with @odata.nextLink


def test_nothing_is_fetched_twice_even_when_mail_is_moved_back(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail(subject="Only once"))
    mailbox = graph_mailbox(oauth, graph)
    assert poll(mailbox).created == 1
    [moved] = graph.messages("support@example.com", "Processed")
    moved.folder = graph.folder_id("support@example.com", "inbox")  # someone drags it back
    second = again(mailbox)
    assert (second.fetched, second.created) == (0, 0), second.error
    assert InboundMail.select().count() == 1
    assert all('IdType="ImmutableId"' in p for p in graph.prefer_headers)


def test_keep_mode_lists_the_mail_but_never_fetches_it_again(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail())
    mailbox = graph_mailbox(oauth, graph, after_fetch="keep")
    assert poll(mailbox).created == 1
    assert (again(mailbox).fetched, InboundMail.select().count()) == (0, 1)
    assert len(graph.messages("support@example.com")) == 1


def test_mark_seen_marks_the_mail_read(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail())
    poll(graph_mailbox(oauth, graph, after_fetch="mark_seen"))
    [message] = graph.messages("support@example.com")
    assert message.is_read


def test_delete_sends_the_mail_to_deleted_items(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail())
    poll(graph_mailbox(oauth, graph, after_fetch="delete"))
    assert graph.messages("support@example.com") == []
    assert len(graph.messages("support@example.com", "deleteditems")) == 1


def test_a_nested_folder_is_created_level_by_level(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail())
    poll(graph_mailbox(oauth, graph, after_fetch_folder="tuidesk/processed"))
    assert len(graph.messages("support@example.com", "tuidesk/processed")) == 1


def test_held_mail_stays_in_the_inbox_with_a_category(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail(sender="stranger@unknown.example"))
    mailbox = graph_mailbox(oauth, graph, unknown_sender="hold")
    assert poll(mailbox).held == 1
    [message] = graph.messages("support@example.com")
    assert message.categories == ["TuideskHeld"]
    [row] = mailbox_ops.content_rows(Mailbox.get_by_id(mailbox.id))
    assert row.state == "held"


def test_too_large_mail_is_recorded_from_its_header_only(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail(body="x" * 5000, subject="Huge"))
    mailbox = graph_mailbox(oauth, graph, max_email_size=1000, after_fetch="keep")
    result = poll(mailbox)
    assert result.rejected == 1, result.error
    record = InboundMail.get()
    assert record.headers_only and record.subject == "Huge" and record.reason == "too_large"
    assert not any(p.endswith("/$value") for _m, p in graph.requests)


def test_throttling_is_waited_out(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail())
    mailbox = graph_mailbox(oauth, graph)
    graph.throttle_next(1, retry_after="0")
    result = poll(mailbox)
    assert result.ok and result.created == 1, result.error


def test_a_token_for_another_mailbox_is_one_sentence(db, oauth, graph) -> None:
    mailbox = graph_mailbox(oauth, graph, granted_to="other@example.com", max_tries=1)
    result = poll(mailbox)
    assert result.error == (
        "Microsoft Graph denied access to the mailbox support@example.com (ErrorAccessDenied: "
        "Access is denied. Check credentials and try again.): grant the app Mail.ReadWrite and "
        "Mail.Send with admin consent, and check any application access policy"
    )
    assert Mailbox.get_by_id(mailbox.id).failing


def test_a_missing_folder_is_one_sentence(db, oauth, graph) -> None:
    result = poll(graph_mailbox(oauth, graph, folder="Support Queue"))
    assert result.error.startswith("the mailbox support@example.com has no folder 'Support Queue'")


def test_plain_http_is_refused_off_the_loopback(db, oauth, graph) -> None:
    result = poll(graph_mailbox(oauth, graph, host="http://graph.example.com/v1.0"))
    assert "would send its Microsoft Graph token unencrypted" in result.error


def test_mailbox_test_reports_each_step(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail())
    report = mailbox_ops.test_mailbox(graph_mailbox(oauth, graph))
    assert report.ok, report.error
    steps = dict(report.steps)
    assert steps["select"] == "'INBOX': 1 messages"
    assert "Inbox" in steps["folders"]


# --- sending -------------------------------------------------------------------------------------


def test_the_acknowledgement_is_sent_through_graph_as_mime(db, oauth, graph) -> None:
    graph.deliver("support@example.com", mail(subject="Please confirm"))
    mailbox = graph_mailbox(oauth, graph, auto_response=True, smtp_enabled=True, send_via="graph")
    assert poll(mailbox).created == 1
    report = send_outbox()
    assert report.sent == 1, report.errors
    [sent] = graph.sent
    assert sent.user == "support@example.com"
    assert sent.raw == bytes(Outbox.get().raw)
    assert b"Please confirm" in sent.raw


def test_a_refused_send_stays_queued_with_one_sentence(db, oauth, graph) -> None:
    mailbox = graph_mailbox(
        oauth, graph, granted_to="other@example.com", smtp_enabled=True, send_via="graph"
    )
    Outbox.create(
        mailbox=mailbox,
        kind="test",
        automatic=False,
        mail_from="support@example.com",
        recipients="alice@customer.example",
        subject="hi",
        message_id="<g1@example.com>",
        raw=b"To: alice@customer.example\r\nSubject: hi\r\n\r\nhi\r\n",
    )
    report = send_outbox()
    assert (report.sent, report.deferred) == (0, 1)
    assert report.errors[0].startswith("Microsoft Graph denied access to the mailbox")
    assert Outbox.get().state == "queued"


def test_envelope_only_recipients_become_bcc() -> None:
    raw = b"To: Alice <alice@customer.example>\r\nSubject: x\r\n\r\nbody\r\n"
    assert with_bcc(raw, ["alice@customer.example"]) == raw
    added = with_bcc(raw, ["ALICE@customer.example", "boss@customer.example"])
    assert added.startswith(b"Bcc: boss@customer.example\r\n")
    assert base64.b64decode(base64.b64encode(added)) == added


def test_no_token_or_secret_reaches_a_trace_an_error_or_the_output(db, oauth, graph, capsys):
    from tuidesk.core.poller import Poller
    from tuidesk.core.store.models import PollRun, TraceLine, database_proxy

    graph.deliver("support@example.com", mail())
    good = graph_mailbox(
        oauth, graph, debug_trace=True, auto_response=True, smtp_enabled=True, send_via="graph"
    )
    bad = graph_mailbox(oauth, graph, name="bad", granted_to="x@example.com", debug_trace=True)
    poller = Poller(database_proxy.obj, echo=True)
    results = [poller.poll(Mailbox.get_by_id(m.id)) for m in (good, bad)]
    report = send_outbox()
    out = capsys.readouterr()
    texts = [out.out, out.err, report.line(), *(r.error for r in results)]
    texts += [t.text for t in TraceLine.select()] + [r.error for r in PollRun.select()]
    texts += [m.last_error for m in Mailbox.select()] + [o.last_error for o in Outbox.select()]
    haystack = "\n".join(texts)
    assert report.sent == 1 and "Microsoft Graph denied access" in haystack
    for secret in ["graph-secret-4242", *oauth.issued]:
        assert secret not in haystack

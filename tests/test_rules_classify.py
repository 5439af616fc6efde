"""Automatic mail is told apart from mail people wrote: auto-replies by their headers (004)
and subjects (003), bounces by their structure and sender, mailing lists as a hint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mailgen import mail

from tuidesk.core.ingest.classify import classify
from tuidesk.core.ingest.parse import ParsedMail, parse_mail
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.store.models import Mailbox

BOUNCES = Path(__file__).parents[2] / "shared" / "corpus" / "bounces"


def policy(**settings) -> MailboxPolicy:
    return MailboxPolicy.from_mailbox(
        Mailbox(name="support", address="support@example.com", **settings)
    )


def kind_of(raw: bytes, **settings):
    return classify(parse_mail(raw), policy(**settings))


AUTO_REPLY_HEADERS = [
    {"Auto-Submitted": "auto-replied"},
    {"Auto-Submitted": "auto-generated"},
    {"X-Autoreply": "yes"},
    {"X-Autorespond": "Out of office"},
    {"X-Auto-Response-Suppress": "All"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "list"},
    {"Precedence": "auto_reply"},
]


@pytest.mark.parametrize("headers", AUTO_REPLY_HEADERS, ids=lambda h: next(iter(h.items()))[1])
def test_auto_reply_headers_mark_an_auto_reply(headers: dict[str, str]) -> None:
    kind = kind_of(mail(subject="Re: Printer", headers=headers))
    assert kind.auto_reply and not kind.bounce
    assert kind.no_autoresponse


def test_auto_submitted_no_is_a_person_writing() -> None:
    kind = kind_of(mail(headers={"Auto-Submitted": "no"}))
    assert not kind.automatic and not kind.no_autoresponse


AUTO_REPLY_SUBJECTS = [
    "Out of Office: Printer",
    "Automatic reply: [#123456] Printer",
    "Automatic answer",
    "AutoReply: Printer",
    "Auto-Reply: your mail",
    "Réponse automatique : Imprimante",
    "Abwesenheitsnotiz: Drucker",
    "Respuesta automática: Impresora",
    "Risposta automatica: Stampante",
    "Automatisch antwoord: Printer",
    "Resposta automática: Impressora",
]


@pytest.mark.parametrize("subject", AUTO_REPLY_SUBJECTS)
def test_auto_reply_subjects_mark_an_auto_reply(subject: str) -> None:
    assert kind_of(mail(subject=subject)).auto_reply


def test_a_customer_subject_that_starts_like_a_bounce_is_not_automatic() -> None:
    assert not kind_of(mail(subject="Undeliverable parcel for order 42")).automatic


def test_the_subject_patterns_are_a_mailbox_setting() -> None:
    raw = mail(subject="[vacation] back on Monday")
    assert not kind_of(raw).auto_reply
    assert kind_of(raw, autoreply_subject_patterns="/^\\[vacation\\]/i").auto_reply
    assert not kind_of(
        mail(subject="Out of office"), autoreply_subject_patterns="^nothing$"
    ).auto_reply


def test_a_read_receipt_is_an_auto_reply_not_a_bounce() -> None:
    raw = (
        b"From: alice@customer.example\r\nSubject: Read: Printer\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n--b\r\n"
        b"Content-Type: message/disposition-notification\r\n\r\nDisposition: manual-action/"
        b"MDN-sent-manually; displayed\r\n--b--\r\n"
    )
    kind = kind_of(raw)
    assert kind.auto_reply == "a read receipt" and not kind.bounce


def test_mailing_list_mail_is_processed_but_never_answered() -> None:
    kind = kind_of(mail(headers={"List-Id": "<users.lists.example.org>"}))
    assert not kind.automatic
    assert kind.no_autoresponse == "mailing-list mail"


@pytest.mark.parametrize(
    "sender", ["noreply@shop.example", "no-reply@x.example", "do-not-reply@x.example"]
)
def test_no_reply_senders_are_never_answered(sender: str) -> None:
    assert "does not take replies" in kind_of(mail(sender=sender)).no_autoresponse


# --- bounces -------------------------------------------------------------------------------------

DSN = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\nTo: support@example.com\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
    b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n"
    b"\r\nFinal-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    b"\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@example.com\r\n"
    b"Message-ID: <tuidesk.123456.abc@example.com>\r\nSubject: [#123456] Printer\r\n\r\n--b--\r\n"
)


def test_a_delivery_status_report_is_a_bounce_that_names_what_came_back() -> None:
    parsed = parse_mail(DSN)
    assert classify(parsed, policy()).bounce == "a delivery-status report"
    assert parsed.report.returned_ids == ("<tuidesk.123456.abc@example.com>",)
    assert parsed.report.failed == ("gone@customer.example",)
    assert not parsed.report.delayed_only


def test_a_delay_notice_is_a_bounce_that_fails_nobody() -> None:
    parsed = parse_mail(DSN.replace(b"Action: failed", b"Action: delayed"))
    assert classify(parsed, policy()).bounce
    assert parsed.report.delayed_only


BOUNCE_HEADERS = [
    (
        "X-Failed-Recipients",
        (
            "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\r\n"
            "X-Failed-Recipients: gone@customer.example\r\nSubject: Mail delivery failed"
        ),
    ),
    ("mailer-daemon sender", "From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice"),
    ("MAILER-DAEMON <> sender", "From: MAILER-DAEMON <>\r\nSubject: Returned mail"),
    (
        "postmaster and a failure subject",
        "From: postmaster@example.org\r\nSubject: Undeliverable: Printer",
    ),
    (
        "empty Return-Path and a failure subject",
        (
            "Return-Path: <>\r\nFrom: gateway@example.org\r\n"
            "Subject: Delivery Status Notification (Failure)"
        ),
    ),
    (
        "no sender and a failure subject",
        "Subject: Mail delivery failed: returning message to sender",
    ),
]


@pytest.mark.parametrize(("name", "head"), BOUNCE_HEADERS, ids=[n for n, _ in BOUNCE_HEADERS])
def test_bounce_senders_and_headers_mark_a_bounce(name: str, head: str) -> None:
    assert kind_of(f"{head}\r\n\r\nThe mail could not be delivered.\r\n".encode()).bounce


NOT_BOUNCES = [
    ("a postmaster writing", "From: postmaster@example.org\r\nSubject: About your listing"),
    (
        "an empty Return-Path alone",
        "Return-Path: <>\r\nFrom: bot@example.org\r\nSubject: Weekly report",
    ),
    (
        "a customer mentioning delivery",
        "From: alice@customer.example\r\nSubject: Undeliverable parcel",
    ),
]


@pytest.mark.parametrize(("name", "head"), NOT_BOUNCES, ids=[n for n, _ in NOT_BOUNCES])
def test_weak_evidence_alone_is_not_a_bounce(name: str, head: str) -> None:
    assert not kind_of(f"{head}\r\n\r\nHello.\r\n".encode()).bounce


def test_a_bounce_returned_inline_as_text_names_the_returned_message_id() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\n\r\n"
        b"Sorry, I wasn't able to deliver your message.\r\n\r\n--- Below this line is a copy.\r\n"
        b"\r\nReturn-Path: <support@example.com>\r\nMessage-ID: <tuidesk.123456.x@example.com>\r\n"
    )
    assert parse_mail(raw).report.returned_ids == ("<tuidesk.123456.x@example.com>",)


def bounce_corpus() -> list[Path]:
    if not BOUNCES.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the corpus is missing at {BOUNCES} (required when CI=true)")
        pytest.skip(f"no corpus at {BOUNCES}")
    return sorted(BOUNCES.glob("*.eml"))


def test_at_least_95_percent_of_the_bounce_corpus_is_recognised() -> None:
    files = [p for p in bounce_corpus() if not p.name.startswith("not-bounce")]
    missed = [p.name for p in files if not classify(parse_mail(p.read_bytes()), policy()).bounce]
    rate = 1 - len(missed) / len(files)
    assert rate >= 0.95, f"{rate:.1%} recognised; missed: {missed}"
    print(
        f"bounces recognised: {len(files) - len(missed)}/{len(files)} ({rate:.1%}); missed {missed}"
    )


def test_no_not_bounce_file_of_the_corpus_is_taken_for_a_bounce() -> None:
    files = [p for p in bounce_corpus() if p.name.startswith("not-bounce")]
    assert files
    wrong = [p.name for p in files if classify(parse_mail(p.read_bytes()), policy()).bounce]
    assert wrong == []


def test_a_hand_built_mail_has_no_report() -> None:
    assert not classify(ParsedMail(from_addr="a@example.com"), policy()).automatic

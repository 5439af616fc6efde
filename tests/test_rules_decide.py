"""One mail, one decision, with its reason: threading (004, 003), senders (000, 003, 002),
what is dropped (004, 003, 002) and replies to closed tickets (000, 001)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tuidesk.core.errors import ConfigError
from tuidesk.core.ingest.bounce import DeliveryReport
from tuidesk.core.ingest.classify import Classification
from tuidesk.core.ingest.decide import (
    CREATE,
    ERROR,
    HOLD,
    REJECT,
    REPLY,
    Facts,
    TicketFacts,
    decide,
)
from tuidesk.core.ingest.parse import ParsedMail
from tuidesk.core.ingest.policy import MailboxPolicy, setting_problem
from tuidesk.core.store.models import Mailbox

ALICE = "alice@customer.example"
TICKET = TicketFacts(
    id=7,
    number=123456,
    status="open",
    contact_email=ALICE,
    participants=frozenset({"bob@partner.example"}),
    client_domains=frozenset({"customer.example"}),
)
CLOSED = replace(TICKET, status="closed")
PERSON = Classification()
AUTO = Classification(auto_reply="Auto-Submitted: auto-replied", no_autoresponse="auto")
BOUNCE = Classification(bounce="a delivery-status report", no_autoresponse="bounce")


def policy(**settings) -> MailboxPolicy:
    values = {"name": "support", "address": "support@example.com", **settings}
    return MailboxPolicy.from_mailbox(Mailbox(**values))


def mail(sender: str = ALICE, subject: str = "Printer", **fields) -> ParsedMail:
    return ParsedMail(from_addr=sender, subject=subject, **fields)


KNOWN = Facts(contact_id=1)

CASES = [
    # (name, mail, settings, facts, classification, action, reason)
    ("a known contact opens a ticket", mail(), {}, KNOWN, PERSON, CREATE, "new_ticket"),
    (
        "a reply threads by its headers",
        mail(),
        {},
        Facts(header_ticket=TICKET, contact_id=1),
        PERSON,
        REPLY,
        "threaded_by_header",
    ),
    (
        "anyone may reply by the headers",
        mail("carol@elsewhere.example"),
        {},
        Facts(header_ticket=TICKET),
        PERSON,
        REPLY,
        "threaded_by_header",
    ),
    (
        "the contact replies by the subject",
        mail(subject="Re: [#123456] Printer"),
        {},
        Facts(subject_ticket=TICKET, contact_id=1),
        PERSON,
        REPLY,
        "threaded_by_subject",
    ),
    (
        "a participant replies by the subject",
        mail("bob@partner.example"),
        {},
        Facts(subject_ticket=TICKET),
        PERSON,
        REPLY,
        "threaded_by_subject",
    ),
    (
        "a colleague of the client replies by the subject",
        mail("dan@customer.example"),
        {},
        Facts(subject_ticket=TICKET),
        PERSON,
        REPLY,
        "threaded_by_subject",
    ),
    (
        "a stranger using the number is held",
        mail("eve@evil.example"),
        {},
        Facts(subject_ticket=TICKET),
        PERSON,
        HOLD,
        "subject_stranger",
    ),
    (
        "create-only ignores threading",
        mail(),
        {"behaviour": "create_only"},
        Facts(header_ticket=TICKET, contact_id=1),
        PERSON,
        CREATE,
        "new_ticket",
    ),
    (
        "update-only updates",
        mail(),
        {"behaviour": "update_only"},
        Facts(header_ticket=TICKET, contact_id=1),
        PERSON,
        REPLY,
        "threaded_by_header",
    ),
    (
        "update-only with no match is an error",
        mail(),
        {"behaviour": "update_only"},
        KNOWN,
        PERSON,
        ERROR,
        "update_only_no_match",
    ),
    (
        "a closed ticket is reopened by default",
        mail(),
        {},
        Facts(header_ticket=CLOSED, contact_id=1),
        PERSON,
        REPLY,
        "threaded_by_header",
    ),
    (
        "a closed ticket gets a new linked ticket",
        mail(),
        {"closed_ticket_policy": "new_linked"},
        Facts(header_ticket=CLOSED, contact_id=1),
        PERSON,
        CREATE,
        "closed_ticket_new",
    ),
    (
        "a reply to a closed ticket is held",
        mail(),
        {"closed_ticket_policy": "hold"},
        Facts(header_ticket=CLOSED, contact_id=1),
        PERSON,
        HOLD,
        "closed_ticket",
    ),
    (
        "an unknown sender is held by default",
        mail("who@nowhere.example"),
        {},
        Facts(),
        PERSON,
        HOLD,
        "unknown_sender",
    ),
    (
        "an unknown sender becomes a contact",
        mail("who@nowhere.example"),
        {"unknown_sender": "create"},
        Facts(),
        PERSON,
        CREATE,
        "new_ticket",
    ),
    (
        "an unknown sender is rejected",
        mail("who@nowhere.example"),
        {"unknown_sender": "reject"},
        Facts(),
        PERSON,
        REJECT,
        "unknown_sender",
    ),
    (
        "a client's domain makes a contact",
        mail("new@customer.example"),
        {},
        Facts(domain_client_id=3),
        PERSON,
        CREATE,
        "new_ticket",
    ),
    (
        "another domain is held",
        mail(),
        {"allowed_domains": "partner.example"},
        KNOWN,
        PERSON,
        HOLD,
        "domain_not_allowed",
    ),
    (
        "another domain is rejected",
        mail(),
        {"allowed_domains": "partner.example", "disallowed_domain_action": "reject"},
        KNOWN,
        PERSON,
        REJECT,
        "domain_not_allowed",
    ),
    (
        "an allowed domain passes",
        mail(),
        {"allowed_domains": "@Customer.example, partner.example"},
        KNOWN,
        PERSON,
        CREATE,
        "new_ticket",
    ),
    (
        "a blocked sender is rejected",
        mail(),
        {},
        Facts(contact_id=1, sender_blocked=True),
        PERSON,
        REJECT,
        "blocked_sender",
    ),
    (
        "a blocked contact is rejected",
        mail(),
        {},
        Facts(contact_id=1, contact_blocked=True),
        PERSON,
        REJECT,
        "blocked_sender",
    ),
    (
        "an excluded sender is rejected",
        mail(),
        {"excluded_senders": ALICE},
        KNOWN,
        PERSON,
        REJECT,
        "excluded_sender",
    ),
    (
        "an excluded domain is rejected",
        mail(),
        {"excluded_senders": "@customer.example"},
        KNOWN,
        PERSON,
        REJECT,
        "excluded_sender",
    ),
    (
        "an excluded keyword is rejected",
        mail(subject="WIN a PRIZE"),
        {"excluded_keywords": "prize"},
        KNOWN,
        PERSON,
        REJECT,
        "excluded_keyword",
    ),
    ("no sender is held", mail(""), {}, Facts(), PERSON, HOLD, "no_sender"),
    (
        "our own address is held",
        mail("support@example.com"),
        {},
        Facts(own_sender=True),
        PERSON,
        HOLD,
        "own_address",
    ),
    (
        "an auto-reply never creates a ticket",
        mail(),
        {"unknown_sender": "create"},
        KNOWN,
        AUTO,
        REJECT,
        "auto_reply",
    ),
    (
        "an auto-reply to a ticket is recorded",
        mail(),
        {},
        Facts(header_ticket=TICKET, own_message=True),
        AUTO,
        REPLY,
        "auto_reply",
    ),
    (
        "an auto-reply to our automatic mail is a loop",
        mail(),
        {},
        Facts(header_ticket=TICKET, own_message=True, answers_automatic=True),
        AUTO,
        REJECT,
        "loop",
    ),
    (
        "a stranger's auto-reply by subject is dropped",
        mail("eve@evil.example"),
        {},
        Facts(subject_ticket=TICKET),
        AUTO,
        REJECT,
        "auto_reply",
    ),
    (
        "our own mail coming back is a loop",
        mail(),
        {},
        Facts(our_mail=True, contact_id=1),
        PERSON,
        REJECT,
        "loop",
    ),
    (
        "a bounce of our mail goes on its ticket",
        mail("mailer-daemon@mx.example.com"),
        {},
        Facts(returned_ticket=TICKET),
        BOUNCE,
        REPLY,
        "bounce",
    ),
    (
        "a bounce threading to our mail goes on its ticket",
        mail(""),
        {},
        Facts(header_ticket=TICKET, own_message=True),
        BOUNCE,
        REPLY,
        "bounce",
    ),
    (
        "any other bounce is rejected",
        mail("mailer-daemon@mx.example.com"),
        {"unknown_sender": "create"},
        Facts(),
        BOUNCE,
        REJECT,
        "bounce",
    ),
]


@pytest.mark.parametrize(
    ("name", "mail_", "settings", "facts", "kind", "action", "reason"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_each_rule_decides_with_its_reason(
    name, mail_, settings, facts, kind, action, reason
) -> None:
    decision = decide(mail_, policy(**settings), facts, kind)
    assert (decision.action, decision.reason) == (action, reason), decision.detail
    assert decision.detail


def test_a_new_ticket_is_answered_unless_the_mail_must_not_be() -> None:
    assert decide(mail(), policy(), KNOWN, PERSON).autorespond
    quiet = Classification(no_autoresponse="mailing-list mail")
    assert not decide(mail(), policy(), KNOWN, quiet).autorespond


def test_contacts_are_planned_by_what_is_known() -> None:
    assert decide(mail(), policy(), KNOWN, PERSON).contact == "existing"
    assert (
        decide(mail(), policy(), Facts(domain_client_id=3), PERSON).contact == "create_for_client"
    )
    created = decide(mail(), policy(unknown_sender="create"), Facts(), PERSON)
    assert created.contact == "create_unknown"


def test_a_reopen_and_a_linked_ticket_say_which_ticket() -> None:
    reopened = decide(mail(), policy(), Facts(header_ticket=CLOSED, contact_id=1), PERSON)
    assert (reopened.ticket_id, reopened.reopen) == (7, True)
    linked = decide(
        mail(), policy(closed_ticket_policy="new_linked"), Facts(header_ticket=CLOSED), PERSON
    )
    assert linked.link_to == 7


def test_a_held_closed_ticket_reply_asks_for_the_closed_ticket_answer() -> None:
    held = decide(mail(), policy(closed_ticket_policy="hold"), Facts(header_ticket=CLOSED), PERSON)
    assert held.autorespond and held.ticket_id == 7


def test_auto_replies_and_bounces_are_recorded_quietly_without_reopening() -> None:
    auto = decide(mail(), policy(), Facts(header_ticket=CLOSED, own_message=True), AUTO)
    assert (auto.automatic, auto.reopen, auto.autorespond) == (True, False, False)
    bounce = decide(mail(""), policy(), Facts(returned_ticket=TICKET), BOUNCE)
    assert (bounce.automatic, bounce.bounce, bounce.autorespond) == (True, True, False)


def test_a_bounce_marks_the_failed_recipients_else_who_our_mail_went_to() -> None:
    report = DeliveryReport(has_status=True, failed=("gone@customer.example",))
    reported = decide(
        mail("", report=report),
        policy(),
        Facts(returned_ticket=TICKET, returned_to=(ALICE,)),
        BOUNCE,
    )
    assert (reported.bounced, reported.bounced_fallback) == (("gone@customer.example",), (ALICE,))
    unreported = decide(mail(""), policy(), Facts(returned_ticket=TICKET), BOUNCE)
    assert unreported.bounced == (ALICE,)  # the ticket's contact


def test_a_delay_notice_marks_nobody() -> None:
    report = DeliveryReport(has_status=True, failed=(), delayed_only=True)
    decision = decide(mail("", report=report), policy(), Facts(returned_ticket=TICKET), BOUNCE)
    assert decision.action == REPLY and decision.bounced == ()
    assert decision.detail.startswith("a delay notice")


# --- the subject pattern (003's title pattern, 000's [TCK-091]) ----------------------------------

NUMBERS = [
    (r"\[#(\d{6})\]", "Re: [#004711] Printer", 4711),
    (r"\[#(\d{6})\]", "Re: Printer", None),
    (r"\[TCK-(\d+)\]", "Re: [TCK-091] VPN", 91),
    (r"\[(TCK-\d+)\]", "Re: [TCK-091] VPN", 91),
    (r"(?P<number>\d+)-(\d+)", "ref 12-34", 12),
    (r"/R-([0-9]{6})/", "R-123456 broken", 123456),
    (r"/ticket (\d+)/i", "TICKET 42", 42),
    (r"\[(TCK)\]", "[TCK]", None),
    (r"\[#(\d{6})\]", "[#111111] and [#222222]", 111111),
]


@pytest.mark.parametrize(("pattern", "subject", "number"), NUMBERS)
def test_the_subject_pattern_maps_its_group_to_a_ticket_number(pattern, subject, number) -> None:
    assert policy(subject_pattern=pattern).ticket_number_in(subject) == number


BAD_SETTINGS = [
    ("subject_pattern", "[#(unclosed"),
    ("intro_patterns", "/(broken/i"),
    ("delimiter_patterns", "\\"),
    ("autoreply_subject_patterns", "(x"),
    ("body_parts_order", "text/html,application/pdf"),
    ("image_min_size", "big"),
    ("new_contact_defaults", "just a name"),
    ("ticket_defaults", ":no field"),
]


@pytest.mark.parametrize(("setting", "value"), BAD_SETTINGS, ids=[s for s, _ in BAD_SETTINGS])
def test_a_setting_that_cannot_be_used_names_the_mailbox_and_the_setting(setting, value) -> None:
    with pytest.raises(ConfigError) as raised:
        policy(**{setting: value})
    assert "mailbox 'support'" in str(raised.value.sentence)
    assert setting in str(raised.value.sentence)


def test_reply_patterns_may_extend_the_shipped_ones() -> None:
    assert policy().reply_patterns is None  # the shipped defaults
    custom = policy(intro_patterns="@defaults\n/^Quoting .+:$/")
    assert custom.reply_patterns is not None
    assert len(custom.reply_patterns.intro) == 6


SETTING_PROBLEMS = [
    ("subject_pattern", r"\[#\d{6}\]", "the pattern needs one group"),
    ("subject_pattern", r"/R-([0-9]{6})/", ""),
    ("intro_patterns", "/^on .+ wrote:$/i\n/(broken/", "is not a valid regular expression"),
    ("delimiter_patterns", r"/\RFrom: .+\RSent: .+\R/m", ""),
    ("autoreply_subject_patterns", "/^Out Of Office/i\n(x", "is not a valid regular expression"),
    ("body_parts_order", "text/plain, text/html", ""),
    ("body_parts_order", "text/rtf", "'text/rtf' is not text/html or text/plain"),
    ("image_min_size", "64x64", ""),
    ("image_min_size", "tiny", "is not a size like 100x20"),
    ("new_contact_defaults", "first_name:Unknown\nname:Caller\norg_id:Demo", ""),
    ("ticket_defaults", "service_id", "is not field:value"),
    ("exclude_attachment_types", "application/zip, image/*", ""),
    ("exclude_attachment_types", "zip", "is not a MIME type"),
    ("dangerous_extensions", "exe, .js, *.docm", ""),
    ("dangerous_extensions", "e x e", "is not a file extension"),
    ("port", "not for us", ""),
]


@pytest.mark.parametrize(("setting", "value", "problem"), SETTING_PROBLEMS)
def test_settings_are_checked_the_way_the_poll_reads_them(setting, value, problem) -> None:
    found = setting_problem(setting, value)
    assert (problem in found) if problem else found == ""

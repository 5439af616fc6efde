"""The "new part" of a reply (003): what the sender wrote, without the quoted mail and the
signature, for the mail clients and languages people write from."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuidesk.core.ingest.reply_patterns import (
    DEFAULT_DELIMITER_PATTERNS,
    DEFAULT_INTRO_PATTERNS,
    compile_reply_pattern,
    pattern_problem,
    pcre_to_python,
)
from tuidesk.core.ingest.reply_text import (
    ReplyPatterns,
    new_part,
    normalise_newlines,
    strip_signature,
)

CORPUS = Path(__file__).parents[2] / "shared" / "corpus" / "reply-parser"

NEW = "Thanks, the printer works again.\n\nBest regards\nAlice"

# (client, the quoted part it adds under the new text)
QUOTED_BY_CLIENT = [
    (
        "Gmail EN",
        "On Mon, Jan 6, 2025 at 10:02 AM Support <support@example.com> wrote:\n\n> Did it help?\n",
    ),
    (
        "Gmail EN, wrapped",
        (
            "On Mon, Jan 6, 2025 at 10:02 AM Support Team <\nsupport@example.com> wrote:\n\n"
            "> Did it help?\n"
        ),
    ),
    (
        "Gmail FR",
        (
            "Le lun. 6 janv. 2025 à 10:02, Support <support@example.com> a écrit :\n\n"
            "> Est-ce réglé ?\n"
        ),
    ),
    (
        "Gmail DE",
        (
            "Am Mo., 6. Jan. 2025 um 10:02 Uhr schrieb Support <support@example.com>:\n\n"
            "> Hat es geholfen?\n"
        ),
    ),
    (
        "Gmail ES",
        (
            "El lun, 6 ene 2025 a las 10:02, Support (<support@example.com>) escribió:\n\n"
            "> ¿Funcionó?\n"
        ),
    ),
    (
        "Gmail IT",
        (
            "Il giorno lun 6 gen 2025 alle ore 10:02 Support <support@example.com> ha scritto:\n\n"
            "> Ha funzionato?\n"
        ),
    ),
    (
        "Gmail NL",
        "Op ma 6 jan 2025 om 10:02 schreef Support <support@example.com>:\n\n> Werkt het?\n",
    ),
    (
        "Gmail PT",
        (
            "Em seg., 6 de jan. de 2025 às 10:02, Support <support@example.com> escreveu:\n\n"
            "> Funcionou?\n"
        ),
    ),
    (
        "Apple Mail EN",
        "On 6 Jan 2025, at 10:02, Support <support@example.com> wrote:\n\n> Did it help?\n",
    ),
    (
        "Apple Mail FR",
        "Le 6 janv. 2025 à 10:02, Support <support@example.com> a écrit :\n\n> Est-ce réglé ?\n",
    ),
    (
        "Apple Mail NL",
        (
            "Op 6 jan. 2025 om 10:02 heeft Support <support@example.com> het volgende geschreven:\n"
            "\n> Werkt het?\n"
        ),
    ),
    ("Thunderbird EN", "On 06/01/2025 10:02, Support wrote:\n> Did it help?\n"),
    ("Thunderbird DE", "Am 06.01.25 um 10:02 schrieb Support:\n> Hat es geholfen?\n"),
    ("Thunderbird IT", "Il 06/01/25 10:02, Support ha scritto:\n> Ha funzionato?\n"),
    (
        "Outlook desktop EN",
        (
            "From: Support <support@example.com>\nSent: Monday, January 6, 2025 10:02 AM\n"
            "To: Alice <alice@customer.example>\nSubject: RE: [#123456] Printer\n\nDid it help?\n"
        ),
    ),
    (
        "Outlook desktop FR",
        (
            "De : Support <support@example.com>\nEnvoyé : lundi 6 janvier 2025 10:02\nÀ : Alice\n"
            "Objet : RE: Imprimante\n\nEst-ce réglé ?\n"
        ),
    ),
    (
        "Outlook desktop DE",
        (
            "Von: Support <support@example.com>\nGesendet: Montag, 6. Januar 2025 10:02\n"
            "An: Alice\nBetreff: AW: Drucker\n\nHat es geholfen?\n"
        ),
    ),
    (
        "Outlook desktop ES",
        (
            "De: Support <support@example.com>\nEnviado el: lunes, 6 de enero de 2025 10:02\n"
            "Para: Alice\nAsunto: RE: Impresora\n"
        ),
    ),
    (
        "Outlook desktop IT",
        (
            "Da: Support <support@example.com>\nInviato: lunedì 6 gennaio 2025 10:02\nA: Alice\n"
            "Oggetto: R: Stampante\n"
        ),
    ),
    (
        "Outlook desktop NL",
        (
            "Van: Support <support@example.com>\nVerzonden: maandag 6 januari 2025 10:02\n"
            "Aan: Alice\nOnderwerp: RE: Printer\n"
        ),
    ),
    (
        "Outlook desktop PT",
        (
            "De: Support <support@example.com>\n"
            "Enviada em: segunda-feira, 6 de janeiro de 2025 10:02\nPara: Alice\n"
            "Assunto: RE: Impressora\n"
        ),
    ),
    (
        "Outlook web",
        (
            "________________________________\nFrom: Support <support@example.com>\n"
            "Sent: Monday, January 6, 2025 10:02\nTo: Alice\n"
        ),
    ),
    (
        "Outlook mobile",
        (
            "Get Outlook for iOS<https://aka.ms/o0ukef>\n________________________________\n"
            "From: Support <support@example.com>\nSent: Monday, January 6, 2025 10:02:11 AM\n"
        ),
    ),
    (
        "Outlook for Mac",
        (
            "From: Support <support@example.com>\nDate: Monday, 6 January 2025 at 10:02\n"
            "To: Alice <alice@customer.example>\n"
        ),
    ),
    ("Outlook Original Message", "-----Original Message-----\nFrom: Support\nDid it help?\n"),
    ("Outlook Ursprüngliche Nachricht", "-----Ursprüngliche Nachricht-----\nVon: Support\n"),
    ("Outlook Mensaje original", "-----Mensaje original-----\nDe: Support\n"),
    ("Thunderbird Original Message", "-------- Original Message --------\nSubject: Printer\n"),
    ("003 Message d'origine", "-----Message d'origine-----\nDe : Support\n"),
    (
        "Gmail rendering of Outlook",
        (
            " ------------------------------\n\n*From:* Support [mailto:support@example.com]\n"
            "*Sent:* Monday, January 6, 2025\n"
        ),
    ),
    ("Lotus Notes", "TO: Alice\nCC: Bob\nSubject: Printer\n"),
    ("Gmail zh", "2025年1月6日 10:02 Support <support@example.com>:\n\n> Did it help?\n"),
    ("003 yyyy/mm/dd", "2025/01/06 Support <support@example.com>:\n> Did it help?\n"),
]


@pytest.mark.parametrize(
    ("client", "quoted"), QUOTED_BY_CLIENT, ids=[c for c, _ in QUOTED_BY_CLIENT]
)
def test_the_quoted_part_of_each_client_is_cut(client: str, quoted: str) -> None:
    assert new_part(f"{NEW}\n\n{quoted}") == NEW


SIGNATURES = [
    ("RFC 3676 '-- '", "-- \nAlice Doe\nACME"),
    ("'--' without the space", "--\nAlice Doe"),
    ("iPhone", "Sent from my iPhone"),
    ("Verizon BlackBerry", "Sent from my Verizon Wireless BlackBerry"),
    ("Samsung", "Sent from my Samsung Galaxy smartphone."),
    ("French iPhone", "Envoyé de mon iPhone"),
    ("German iPhone", "Von meinem iPhone gesendet"),
    ("Spanish iPhone", "Enviado desde mi iPhone"),
    ("Italian iPhone", "Inviato da iPhone"),
    ("Dutch iPhone", "Verzonden vanaf mijn iPhone"),
    ("Portuguese iPhone", "Enviado do meu iPhone"),
    ("Outlook for Android", "Get Outlook for Android"),
    ("a dash glued to a name", "-Alice"),
]


@pytest.mark.parametrize(("name", "signature"), SIGNATURES, ids=[n for n, _ in SIGNATURES])
def test_signatures_are_dropped(name: str, signature: str) -> None:
    assert new_part(f"The VPN drops every hour.\n\n{signature}\n") == "The VPN drops every hour."


KEPT = [
    (
        "a sentence starting 'Sent from my'",
        "Sent from my desk, is much easier then my mobile phone.",
    ),
    ("'--' inside a line", "And here is a fix -- this is not a signature."),
    ("a list item", "- check the cable"),
    ("'On' without 'wrote'", "On your remote host you can run:\n\n    telnet 127.0.0.1 52698"),
    ("a line of dashes alone", "Results\n----------\nall green"),
]


@pytest.mark.parametrize(("name", "text"), KEPT, ids=[n for n, _ in KEPT])
def test_text_that_only_looks_like_a_quote_or_signature_is_kept(name: str, text: str) -> None:
    body = f"Hello,\n\n{text}"
    assert new_part(body) == body


def test_answers_written_between_quoted_lines_are_kept() -> None:
    text = (
        "On Tue, Apr 29, 2014 at 4:22 PM, Dev <dev@example.com> wrote:\n"
        "> Can you reply under this?\n\nYes, here.\n\n> And under this?\n\nAnd here.\n"
        "\n--\nSignature\n"
    )
    assert new_part(text) == "Yes, here.\n\nAnd here."


def test_a_greeting_above_inline_answers_is_kept_with_them() -> None:
    text = "Hi,\nOn Tue, 1 Mar 2011, Ann wrote:\n> question?\n\nThe answer.\n"
    assert new_part(text) == "Hi,\n\nThe answer."


def test_a_trailing_quote_with_an_unknown_attribution_line_is_cut() -> None:
    text = "Fixed now.\n\nJan Novák <jan@example.cz> napsal 6. 1. 2025:\n> Is it fixed?\n"
    assert new_part(text) == "Fixed now."


def test_a_mail_that_is_only_a_quote_has_an_empty_new_part() -> None:
    assert new_part("-----Original Message-----\nFrom: x\n\nold") == ""


def test_line_ends_and_list_indentation_survive() -> None:
    text = "Steps:\r\n   - one\r\n   - two\r\n\r\nOn Mon, X <x@example.com> wrote:\r\n> old\r\n"
    assert new_part(text) == "Steps:\n   - one\n   - two"


def test_the_earliest_marker_wins_over_a_later_one() -> None:
    text = (
        f"{NEW}\n\nOn Mon, A <a@x.io> wrote:\n> From: B\n> Sent: Sunday\n\n"
        "-----Original Message-----\n"
    )
    assert new_part(text) == NEW


def test_strip_signature_keeps_a_mail_that_is_only_a_name() -> None:
    assert strip_signature("-Alice") == "-Alice"


# --- configurable patterns (003) --------------------------------------------------------------


def test_003_patterns_are_read_with_their_delimiters_flags_and_line_breaks() -> None:
    assert pcre_to_python(r"/^on .+ wrote:$/i") == (r"^on .+ wrote:$", 2)
    assert pcre_to_python(r"|^[0-9]{4}/.+:$|") == (r"^[0-9]{4}/.+:$", 0)
    assert pcre_to_python(r"/\RFrom: .+\RSent: .+\R/m")[0] == r"\nFrom: .+\nSent: .+\n"
    assert pcre_to_python(r"plain \\R stays")[0] == r"plain \\R stays"


def test_a_mailbox_pattern_replaces_the_defaults() -> None:
    patterns = ReplyPatterns.compile((r"/^--- reply above ---$/",), ())
    text = "Done.\n--- reply above ---\nOn Mon, A wrote:\n> x"
    assert new_part(text, patterns) == "Done."
    outlook = "Done.\n\nFrom: A\nSent: Monday\n\nold text"
    assert new_part(outlook, patterns) == outlook  # the shipped delimiters are not used


def test_every_shipped_pattern_compiles_and_every_broken_one_is_named() -> None:
    for pattern in DEFAULT_INTRO_PATTERNS + DEFAULT_DELIMITER_PATTERNS:
        assert pattern_problem(pattern) == ""
        compile_reply_pattern(pattern, line_start=True)
    assert "is not a valid regular expression" in pattern_problem("/(unclosed/i")
    assert pattern_problem("@defaults") == ""


# --- the reply-parser corpus (github/email_reply_parser) ---------------------------------------


def corpus_expectations() -> list[tuple[str, dict]]:
    path = CORPUS / "expected.json"
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the corpus is missing at {CORPUS} (required when CI=true)")
        return []
    expected = json.loads(path.read_text())
    return [(name, rules) for name, rules in expected.items() if not name.startswith("_")]


@pytest.mark.parametrize(("name", "rules"), corpus_expectations())
def test_reply_parser_corpus_bodies_show_their_expected_text(name: str, rules: dict) -> None:
    text = (CORPUS / name).read_bytes().decode("utf-8")
    started = time.perf_counter()
    visible = new_part(text).strip()
    assert time.perf_counter() - started < 0.5, "new-part extraction must stay linear"
    if "equals" in rules:
        assert visible == rules["equals"]
    if "starts_with" in rules:
        assert visible.startswith(rules["starts_with"])
    if "contains" in rules:
        assert rules["contains"] in visible
    if "not_contains" in rules:
        assert rules["not_contains"] not in visible
    if name == "email_sig_delimiter_in_middle_of_line.txt":
        assert visible == text.strip()


def test_the_corpus_is_there_in_ci() -> None:
    if not CORPUS.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the corpus is missing at {CORPUS} (required when CI=true)")
        pytest.skip(f"no corpus at {CORPUS}")
    assert corpus_expectations()


LINES = st.sampled_from(
    [
        "Hello,",
        "",
        "> quoted",
        "On Mon, A <a@x.io> wrote:",
        "-- ",
        "Sent from my iPhone",
        "From: A",
        "Sent: Monday",
        "____",
        "-Alice",
        "   - item",
        "text with -- inside",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES | st.text(max_size=40), max_size=30))
def test_the_new_part_only_ever_removes_lines(lines: list[str]) -> None:
    text = "\n".join(lines)
    source = {line.rstrip() for line in normalise_newlines(text).split("\n")}
    assert all(line in source for line in new_part(text).split("\n") if line)

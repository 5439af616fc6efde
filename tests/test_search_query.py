"""The search language, parsed without a database: what each piece an operator types means."""

from __future__ import annotations

import pytest

from tuidesk.core.search.match import fts5_expression, tsquery_expression
from tuidesk.core.search.query import (
    MAX_TERMS,
    SearchQuery,
    SearchQueryError,
    Sender,
    Term,
    parse_query,
    words_of,
)


def clauses(text: str) -> list[list[str]]:
    return [[str(term) for term in clause] for clause in parse_query(text).clauses]


def test_several_words_must_all_match() -> None:
    assert clauses("printer jams") == [["printer"], ["jams"]]


def test_words_are_lower_cased_runs_of_letters_and_digits() -> None:
    assert words_of("Élan VPN-2 under_score") == ("élan", "vpn", "2", "under", "score")


def test_a_quoted_phrase_is_one_term() -> None:
    assert parse_query('"paper jam" tray').clauses == (
        (Term(("paper", "jam")),),
        (Term(("tray",)),),
    )


def test_an_unclosed_quote_runs_to_the_end() -> None:
    assert parse_query('"paper jam').clauses == ((Term(("paper", "jam")),),)


def test_a_word_with_punctuation_inside_is_a_phrase_of_its_parts() -> None:
    assert parse_query("e-mail").clauses == ((Term(("e", "mail")),),)
    assert parse_query("maria@acme.com").clauses == ((Term(("maria", "acme", "com")),),)


def test_a_star_at_the_end_makes_a_prefix() -> None:
    assert parse_query("print*").clauses == ((Term(("print",), prefix=True),),)
    assert parse_query('"paper ja"*').clauses == ((Term(("paper", "ja"), prefix=True),),)


def test_or_joins_the_terms_beside_it() -> None:
    assert clauses("vpn OR wifi drops") == [["vpn", "wifi"], ["drops"]]
    assert clauses("a OR b OR c") == [["a", "b", "c"]]


@pytest.mark.parametrize("text", ["OR", "vpn OR", "OR vpn", "vpn or wifi"])
def test_an_or_with_nothing_to_join_is_a_word(text: str) -> None:
    assert "or" in [word for clause in clauses(text) for word in clause]


def test_a_minus_excludes_a_term() -> None:
    query = parse_query('printer -toner -"paper jam"')
    assert query.clauses == ((Term(("printer",)),),)
    assert query.excluded == (Term(("toner",)), Term(("paper", "jam")))


def test_a_minus_inside_a_word_is_no_exclusion() -> None:
    assert parse_query("wi-fi").excluded == ()


@pytest.mark.parametrize("written", ["#123456", "[#123456]", "#42"])
def test_a_hash_number_is_a_ticket_number(written: str) -> None:
    query = parse_query(written)
    assert query.numbers == (int(written.strip("[]#")),)
    assert query.clauses == ()


def test_a_bare_number_alone_is_a_ticket_number_or_a_word() -> None:
    query = parse_query(" 123456 ")
    assert query.number_or_text
    assert query.clauses == ((Term(("123456",)),),)
    assert not parse_query("error 404").number_or_text


@pytest.mark.parametrize(
    ("text", "statuses"),
    [
        ("status:open", ("open",)),
        ("STATUS:Closed", ("closed",)),
        ("status:active", ("open", "pending")),
        ("status:open status:pending", ("open", "pending")),
        ("status:all", ("open", "pending", "closed")),
    ],
)
def test_status_filters(text: str, statuses: tuple[str, ...]) -> None:
    assert parse_query(text).statuses == statuses


@pytest.mark.parametrize(
    ("text", "sender"),
    [
        ("from:maria@acme.com", Sender("address", "maria@acme.com", ("maria", "acme", "com"))),
        ("from:<Maria@Acme.com>", Sender("address", "maria@acme.com", ("maria", "acme", "com"))),
        ("from:acme.com", Sender("domain", "acme.com", ("acme", "com"))),
        ("from:@acme.com", Sender("domain", "acme.com", ("acme", "com"))),
        ("from:Maria", Sender("name", "maria", ("maria",))),
        ('from:"Maria Lopez"', Sender("name", "maria lopez", ("maria", "lopez"))),
    ],
)
def test_from_takes_an_address_a_domain_or_a_name(text: str, sender: Sender) -> None:
    assert parse_query(text).senders == (sender,)


def test_subject_takes_a_word_a_phrase_or_a_prefix() -> None:
    assert parse_query('subject:invoice subject:"paper jam" subject:print*').subject == (
        Term(("invoice",)),
        Term(("paper", "jam")),
        Term(("print",), prefix=True),
    )


def test_an_unknown_field_is_taken_literally() -> None:
    assert parse_query("error:404").clauses == ((Term(("error", "404")),),)
    assert parse_query("https://acme.com/x").clauses == ((Term(("https", "acme", "com", "x")),),)


def test_everything_combines() -> None:
    query = parse_query('from:acme.com status:open printer -toner #123456 subject:"floor 3"')
    assert query == SearchQuery(
        clauses=((Term(("printer",)),),),
        excluded=(Term(("toner",)),),
        subject=(Term(("floor", "3")),),
        senders=(Sender("domain", "acme.com", ("acme", "com")),),
        statuses=("open",),
        numbers=(123456,),
    )


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_an_empty_search_asks_for_nothing(text: str) -> None:
    assert parse_query(text).empty


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("%", "has no letters or digits to look for"),
        ("* -", "has no letters or digits to look for"),
        ("status:bogus", "status:bogus is not a ticket status: use status:open"),
        ("from:@", "from:@ names no sender"),
        ("subject:!!", "has no word to look for in the subject"),
        ("-status:open", "-status: cannot exclude a filter"),
        (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), "more than the 32 it can combine"),
    ],
)
def test_real_mistakes_are_one_sentence(text: str, sentence: str) -> None:
    with pytest.raises(SearchQueryError, match=sentence.replace("*", r"\*")) as caught:
        parse_query(text)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


HOSTILE = [
    '"',
    '""',
    "'",
    "a AND",
    "NEAR(a b)",
    "a NOT b",
    "col:value",
    "'; DROP TABLE ticket; --",
    '") OR 1=1 --',
    "\\",
    "a\x00b",
    "((a",
    "^a",
    "a:*",
    "\u202eevil",
    "𝔭𝔯𝔦𝔫𝔱𝔢𝔯",
    "x" * 3000,
]


def only_quoted_words(expression: str, quote: str, operators: str) -> bool:
    """Every quoted part holds only words (letters, digits, spaces); the rest only operators."""
    parts = expression.split(quote)
    quoted, outside = parts[1::2], parts[0::2]
    return (
        len(parts) % 2 == 1
        and all(p.replace(" ", "").isalnum() for p in quoted)
        and all(set(p) <= set(operators) for p in outside)
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_whatever_is_typed_the_index_expressions_hold_only_quoted_words(text: str) -> None:
    try:
        query = parse_query(text)
    except SearchQueryError:
        return  # refused with its sentence: nothing reaches the index
    assert only_quoted_words(fts5_expression(query.clauses), '"', " ()*ANDOR")
    assert only_quoted_words(tsquery_expression(query.clauses), "'", " ()<->:*|&")


def test_the_index_expressions() -> None:
    query = parse_query('vpn OR wifi "paper jam" print*')
    assert fts5_expression(query.clauses) == '("vpn" OR "wifi") AND "paper jam" AND "print"*'
    assert tsquery_expression(query.clauses) == "('vpn' | 'wifi') & ('paper' <-> 'jam') & 'print':*"

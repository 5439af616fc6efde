"""The search language an operator types, parsed into a :class:`SearchQuery` (pure, no database).

    printer jams            every word must occur (in one message, the subject or the contact)
    "paper jam"             a phrase: these words, next to each other, in this order
    print*                  a prefix: printer, printing, prints…
    vpn OR wifi             either (between two plain terms only)
    -toner                  no message, subject or contact of the ticket mentions toner
    from:acme.com           the ticket's contact is at acme.com (or a subdomain of it);
    from:maria@acme.com     …is this address; from:maria: its name, address or client has maria
    subject:invoice         the ticket's subject has this word (or "phrase", or prefix*)
    status:open             open, pending, closed, active (open or pending) or all
    #123456  [#123456]      this ticket number (a query of only a number also finds the number)

Words are compared as the full-text index stores them: runs of letters and digits, case and
(on SQLite) accents folded; everything else separates words, so ``e-mail`` is the phrase
"e mail" and ``maria@acme.com`` the phrase "maria acme com". Because every term is reduced to
such runs before it reaches FTS5 or ``to_tsquery``, no input can produce a syntax error or
reach the SQL: an unknown ``field:value`` is taken literally, an unclosed quote ends at the end
of the text, and the few real mistakes (``status:bogus``, ``from:`` with nothing after it, a
search of punctuation only) raise :class:`SearchQueryError` with one sentence to show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tuidesk.core.errors import TuideskError

MAX_TERMS = 32
"""More terms than an operator types; a pasted page of text is refused instead of run."""

STATUS_VALUES: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "pending": ("pending",),
    "closed": ("closed",),
    "active": ("open", "pending"),
    "all": ("open", "pending", "closed"),
}

FIELDS = ("from", "subject", "status")

_WORD = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"\[?#(\d{1,12})\]?")


class SearchQueryError(TuideskError, ValueError):
    """The search text cannot be run; the sentence says what to change (exit code 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Term:
    """Words that must occur next to each other, in order; with ``prefix`` the last one may
    continue (``print*``). A single word is a phrase of one."""

    words: tuple[str, ...]
    prefix: bool = False

    def __str__(self) -> str:
        text = " ".join(self.words)
        quoted = f'"{text}"' if len(self.words) > 1 else text
        return f"{quoted}*" if self.prefix else quoted


@dataclass(frozen=True)
class Sender:
    """A ``from:`` value: a whole address, a domain, or words of a name (or address, client)."""

    kind: str  # address, domain or name
    value: str  # the lower-cased address or domain; for names, the words joined by spaces
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """What a search asks for. Each ``clauses`` entry is a group of alternatives (``OR``) that
    must match; every ``excluded`` term must match nowhere in the ticket."""

    clauses: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    subject: tuple[Term, ...] = ()
    senders: tuple[Sender, ...] = ()
    statuses: tuple[str, ...] = ()
    numbers: tuple[int, ...] = ()
    number_or_text: bool = False  # the whole query was one bare number: match it either way
    text: str = field(default="", compare=False)

    @property
    def empty(self) -> bool:
        """True when nothing at all is asked (an empty search box)."""
        return not (
            self.clauses
            or self.excluded
            or self.subject
            or self.senders
            or self.statuses
            or self.numbers
        )


# --- scanning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    """One whitespace-separated piece of the text, with what was written around it."""

    text: str
    negated: bool = False
    quoted: bool = False
    prefix: bool = False
    field: str = ""


def _scan(text: str) -> list[_Piece]:
    pieces: list[_Piece] = []
    position, length = 0, len(text)
    while position < length:
        if text[position].isspace():
            position += 1
            continue
        negated = False
        if text[position] == "-" and position + 1 < length and not text[position + 1].isspace():
            negated, position = True, position + 1
        name = ""
        colon = re.match(r"([A-Za-z]+):(?=\S)", text[position:])
        if colon and colon.group(1).lower() in FIELDS:
            name, position = colon.group(1).lower(), position + colon.end()
        if text[position] == '"':
            end = text.find('"', position + 1)
            end = length if end < 0 else end
            body = text[position + 1 : end]
            position = min(end + 1, length)
            prefix = position < length and text[position] == "*"
            position += 1 if prefix else 0
            # what sticks to the closing quote (`"a b"c`) belongs to the same piece
            while position < length and not text[position].isspace():
                position += 1
            pieces.append(_Piece(body, negated, True, prefix, name))
            continue
        end = position
        while end < length and not text[end].isspace():
            end += 1
        body = text[position:end]
        position = end
        prefix = body.endswith("*")
        pieces.append(_Piece(body.rstrip("*"), negated, False, prefix, name))
    return pieces


def words_of(text: str) -> tuple[str, ...]:
    """The words of ``text`` as the index stores them: runs of letters and digits, lower-case."""
    return tuple(word.casefold() for word in _WORD.findall(text))


# --- parsing -------------------------------------------------------------------------------


def parse_query(text: str) -> SearchQuery:
    """Parse what an operator typed; raise :class:`SearchQueryError` for the few real mistakes."""
    pieces = _scan(text)
    clauses: list[list[Term]] = []
    excluded: list[Term] = []
    subject: list[Term] = []
    senders: list[Sender] = []
    statuses: list[str] = []
    numbers: list[int] = []
    join_next = False  # the previous piece was OR: the next term joins the last clause
    ignored = 0
    for index, piece in enumerate(pieces):
        if piece.field:
            _field(piece, subject, senders, statuses)
            join_next = False
            continue
        if _is_or(piece) and clauses and _joinable(pieces, index + 1):
            join_next = True
            continue
        number = None if piece.quoted else _NUMBER.fullmatch(piece.text)
        if number and not piece.negated and not piece.prefix:
            numbers.append(int(number.group(1)))
            join_next = False
            continue
        words = words_of(piece.text)
        if not words:
            ignored += 1
            continue
        term = Term(words, piece.prefix)
        if piece.negated:
            excluded.append(term)
        elif join_next and clauses:
            clauses[-1].append(term)
        else:
            clauses.append([term])
        join_next = False
    terms = sum(len(c) for c in clauses) + len(excluded) + len(subject)
    if terms > MAX_TERMS:
        raise SearchQueryError(
            f"the search has {terms} terms, more than the {MAX_TERMS} it can combine",
            hint="search for fewer, more telling words",
        )
    number_or_text = False
    if len(pieces) == 1 and clauses and len(clauses[0]) == 1:
        only = clauses[0][0]
        if len(only.words) == 1 and only.words[0].isdigit() and len(only.words[0]) <= 12:
            number_or_text = True  # someone pasted a ticket number without its #
    query = SearchQuery(
        clauses=tuple(tuple(c) for c in clauses),
        excluded=tuple(excluded),
        subject=tuple(subject),
        senders=tuple(senders),
        statuses=tuple(dict.fromkeys(statuses)),
        numbers=tuple(dict.fromkeys(numbers)),
        number_or_text=number_or_text,
        text=text,
    )
    if query.empty and ignored:
        raise SearchQueryError(
            f"the search {text.strip()[:60]!r} has no letters or digits to look for",
            hint="type a word, a ticket number (#123456) or a filter such as status:open",
        )
    return query


def _is_or(piece: _Piece) -> bool:
    return piece.text == "OR" and not (piece.quoted or piece.negated or piece.prefix)


def _joinable(pieces: list[_Piece], index: int) -> bool:
    """Whether the piece at ``index`` can be the right side of an OR (a plain text term)."""
    if index >= len(pieces):
        return False
    piece = pieces[index]
    return not (piece.field or piece.negated or _is_or(piece)) and bool(words_of(piece.text))


def _field(piece: _Piece, subject: list[Term], senders: list[Sender], statuses: list[str]) -> None:
    value = piece.text.strip()
    if piece.negated:
        raise SearchQueryError(
            f"-{piece.field}: cannot exclude a filter",
            hint=f"write {piece.field}:VALUE to keep only the matching tickets",
        )
    if piece.field == "status":
        names = STATUS_VALUES.get(value.lower())
        if names is None:
            raise SearchQueryError(
                f"status:{value[:40]} is not a ticket status",
                hint="use status:open, status:pending, status:closed, status:active or status:all",
            )
        statuses.extend(names)
        return
    if piece.field == "subject":
        words = words_of(value)
        if not words:
            raise SearchQueryError(
                f"subject:{value[:40]} has no word to look for in the subject",
                hint='write subject:WORD or subject:"some words"',
            )
        subject.append(Term(words, piece.prefix))
        return
    senders.append(_sender(value))


def _sender(value: str) -> Sender:
    address = value.strip("<>").lower()
    words = words_of(address)
    if not words:
        raise SearchQueryError(
            f"from:{value[:40]} names no sender",
            hint="write from:ADDRESS, from:DOMAIN (acme.com) or from:NAME",
        )
    if "@" in address and not address.startswith("@"):
        return Sender("address", address, words)
    domain = address.lstrip("@")
    if "." in domain and "@" not in domain:
        return Sender("domain", domain, words)
    return Sender("name", " ".join(words), words)


__all__ = [
    "FIELDS",
    "MAX_TERMS",
    "STATUS_VALUES",
    "SearchQuery",
    "SearchQueryError",
    "Sender",
    "Term",
    "parse_query",
    "words_of",
]

"""A :class:`SearchQuery` as conditions on the ticket table, for the queue's one SQL statement.

A ticket matches a text term when one of its messages, its subject or its contact matches it
(all the words of the query in the same one of those). Which shape of SQL is fast depends on how
many messages match, so SQLite first reads up to :data:`SELECTIVE_LIMIT` + 1 matching ids from
the index (well under a millisecond for a plain word):

- gather (at most SELECTIVE_LIMIT matches, a rare word or a narrow phrase): those ids go into
  the page's query as one JSON parameter; their tickets are collected and sorted. The cost
  follows the number of matches, and the index is read once.
- probe (plain words matching more than PROBE_FROM messages, such as a word in a third of all
  mail): the queue walks its usual order (newest activity first, on the ``last_activity_at``
  index) and asks the index, per ticket, whether one of its messages matches. Most tickets do,
  so a page is found after a few dozen; the cost does not grow with the number of matches.
- member (everything in between, phrases and prefixes, which FTS5 would merge anew on every
  probe, and every count): the set of matching ids is built once per statement and the walk
  tests each ticket's messages against it.

At 1,000,000 messages these keep a page of any one-word, three-word or phrase query under
0.1 s (bench/search.py); counting every match of a very common word takes about half a second,
which the queue does after drawing the rows.

PostgreSQL makes the same first read (on the GIN index) and gathers the same way; above
SELECTIVE_LIMIT it probes per ticket, testing the stored ``tsvector`` of the ticket's rows found
by their keys, which costs the same for words, phrases and prefixes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from peewee import SQL, Database, Expression, NodeList, fn

from tuidesk.core.search.query import SearchQuery, Sender, Term
from tuidesk.core.search.schema import PG_COLUMN, fts_table, is_postgres
from tuidesk.core.store.models import Client, Contact, Message, Ticket, database_proxy

SELECTIVE_LIMIT = 4000
"""Up to this many matching messages, a search gathers its tickets from the index; above, it
walks the queue's order and checks each ticket."""

PROBE_FROM = 50_000
"""Above this many matching messages (plain words only), a walk asks the index per ticket rather
than building the set of matches once (at 1,000,000 messages, a word in 300,000 of them: about
40 ms to build the set, 1 ms to find a page by probing)."""


@dataclass(frozen=True)
class SearchPlan:
    """The conditions a search adds to the queue's query, and whether they are selective
    (few matches: let the database gather and sort) or not (walk the queue's order)."""

    conditions: tuple[Expression, ...]
    selective: bool


# --- the index's own syntax ----------------------------------------------------------------


def fts5_term(term: Term) -> str:
    """A term in FTS5 syntax: always a quoted phrase, whose words hold only letters and digits
    (see query.words_of), so nothing in it can be an FTS5 operator or a quote."""
    phrase = '"' + " ".join(term.words) + '"'
    return f"{phrase}*" if term.prefix else phrase


def fts5_expression(clauses: tuple[tuple[Term, ...], ...]) -> str:
    parts = []
    for alternatives in clauses:
        joined = " OR ".join(fts5_term(term) for term in alternatives)
        parts.append(f"({joined})" if len(alternatives) > 1 else joined)
    return " AND ".join(parts)


def tsquery_term(term: Term) -> str:
    """A term in PostgreSQL tsquery syntax: quoted lexemes joined by <-> (followed by)."""
    lexemes = [f"'{word}'" for word in term.words]
    if term.prefix:
        lexemes[-1] += ":*"
    joined = " <-> ".join(lexemes)
    return f"({joined})" if len(lexemes) > 1 else joined


def tsquery_expression(clauses: tuple[tuple[Term, ...], ...]) -> str:
    parts = []
    for alternatives in clauses:
        joined = " | ".join(tsquery_term(term) for term in alternatives)
        parts.append(f"({joined})" if len(alternatives) > 1 else joined)
    return " & ".join(parts)


# --- the conditions ------------------------------------------------------------------------


GATHER, MEMBER, PROBE = "gather", "member", "probe"  # see the module docstring


class _Sources:
    """The SQL that finds the tickets with a message, a subject or a contact matching a
    full-text expression, in one of the three shapes."""

    def __init__(self, db: Database) -> None:
        self.postgres = is_postgres(db)

    def expression(self, clauses: tuple[tuple[Term, ...], ...]) -> str:
        return tsquery_expression(clauses) if self.postgres else fts5_expression(clauses)

    def ids(self, source: str, expression: str) -> SQL:
        """``(SELECT id …)`` of the rows of ``source`` matching ``expression``."""
        if self.postgres:
            return SQL(
                f'(SELECT "id" FROM "{source}" '
                f"WHERE \"{PG_COLUMN}\" @@ to_tsquery('simple'::regconfig, %s))",
                [expression],
            )
        table = fts_table(source)
        return SQL(f'(SELECT rowid FROM "{table}" WHERE "{table}" MATCH ?)', [expression])

    def text_match(self, expression: str, shape: str, found: list[int] | None = None) -> Expression:
        """Tickets with a message, a subject or a contact matching ``expression``; ``found``,
        when known, are all the ids of the matching messages (so the index is not read again)."""
        if shape == GATHER:
            matching = self.ids("message", expression)
            if found is not None:  # one parameter, not thousands for peewee to bind one by one
                matching = (
                    SQL("(SELECT unnest(%s::integer[]))", [found])
                    if self.postgres
                    else SQL("(SELECT value FROM json_each(?))", [json.dumps(found)])
                )
            messages = Ticket.id.in_(Message.select(Message.ticket).where(Message.id.in_(matching)))
            return (
                messages
                | Ticket.id.in_(self.ids("ticket", expression))
                | Ticket.contact.in_(self.ids("contact", expression))
            )
        if self.postgres:
            return self._postgres_probe(expression)
        if shape == MEMBER:
            # the unary + keeps SQLite from looping over every matching id for each ticket
            # (the IN list as an index key): it is a membership test on the ticket's messages
            messages = NodeList(
                (
                    SQL(
                        'EXISTS (SELECT 1 FROM "message" AS "search_message" '
                        'WHERE "search_message"."ticket_id" ='
                    ),
                    Ticket.id,
                    SQL(
                        'AND +"search_message"."id" IN '
                        '(SELECT rowid FROM "message_fts" WHERE "message_fts" MATCH ?))',
                        [expression],
                    ),
                )
            )
            return (
                Ticket.id.in_(self.ids("ticket", expression))
                | Ticket.contact.in_(self.ids("contact", expression))
                | messages
            )
        return (
            _probe("ticket_fts", "rowid =", Ticket.id, expression)
            | _probe("contact_fts", "rowid =", Ticket.contact, expression)
            | NodeList(
                (
                    SQL(
                        'EXISTS (SELECT 1 FROM "message" AS "search_message" '
                        'JOIN "message_fts" ON "message_fts".rowid = "search_message"."id" '
                        'WHERE "message_fts" MATCH ? AND "search_message"."ticket_id" =',
                        [expression],
                    ),
                    Ticket.id,
                    SQL(")"),
                )
            )
        )

    def _postgres_probe(self, expression: str) -> Expression:
        """Per ticket: does its subject, its contact or one of its messages match? Each test
        reads the stored tsvector of a row found by its key (no index merge, phrases and
        prefixes cost the same), so a walk of the queue's order finds a page of a common word
        at once; an IN over hundreds of thousands of matches would not fit PostgreSQL's
        work_mem as a hash and be run again per ticket."""
        test = f"\"{PG_COLUMN}\" @@ to_tsquery('simple'::regconfig, %s)"
        parts = [
            ('"ticket" AS "search_ticket" WHERE "search_ticket"."id" =', Ticket.id),
            ('"contact" AS "search_contact" WHERE "search_contact"."id" =', Ticket.contact),
            ('"message" AS "search_message" WHERE "search_message"."ticket_id" =', Ticket.id),
        ]
        found: Expression | None = None
        for source, column in parts:
            exists = NodeList(
                (
                    SQL(f"EXISTS (SELECT 1 FROM {source}"),
                    column,
                    SQL(f"AND {test})", [expression]),
                )
            )
            found = exists if found is None else found | exists
        assert found is not None
        return found


def _probe(table: str, test: str, column: Expression, expression: str) -> NodeList:
    """``EXISTS`` of a row of the FTS5 ``table`` matching ``expression`` whose rowid is the
    current ticket's ``column``: one seek in the index per ticket."""
    return NodeList(
        (
            SQL(
                f'EXISTS (SELECT 1 FROM "{table}" WHERE "{table}" MATCH ? AND {test}', [expression]
            ),
            column,
            SQL(")"),
        )
    )


def matching_messages(expression: str, limit: int) -> list[int]:
    """The ids of the messages matching ``expression`` (FTS5 or tsquery), at most ``limit``."""
    db = database_proxy.obj
    if is_postgres(db):
        statement = (
            f'SELECT "id" FROM "message" WHERE "{PG_COLUMN}" @@ '
            "to_tsquery('simple'::regconfig, %s) LIMIT %s"
        )
    else:
        statement = 'SELECT rowid FROM "message_fts" WHERE "message_fts" MATCH ? LIMIT ?'
    return [row[0] for row in db.execute_sql(statement, (expression, limit)).fetchall()]


def _probe_cheap(query: SearchQuery) -> bool:
    """Whether asking the index per ticket is cheap: plain words only. A prefix stands for many
    words and a phrase needs word positions, which FTS5 merges anew on every probe."""
    return all(
        len(term.words) == 1 and not term.prefix for clause in query.clauses for term in clause
    )


def _common(expression: str) -> bool:
    """More than PROBE_FROM messages match: most tickets do, a walk finds a page at once."""
    db = database_proxy.obj
    cursor = db.execute_sql(
        'SELECT count(*) FROM (SELECT 1 FROM "message_fts" WHERE "message_fts" MATCH ? LIMIT ?)',
        (expression, PROBE_FROM + 1),
    )
    return int(cursor.fetchone()[0]) > PROBE_FROM


def plan_search(query: SearchQuery, counting: bool = False) -> SearchPlan:
    """The conditions that select the tickets ``query`` asks for, on the bound database.
    ``counting``: for counting every match rather than reading a page (a walk then never
    stops early, so per-ticket probes would cost more than building the set once)."""
    db = database_proxy.obj
    sources = _Sources(db)
    conditions: list[Expression] = []
    shape = GATHER
    if query.clauses:
        expression = sources.expression(query.clauses)
        found: list[int] | None = matching_messages(expression, SELECTIVE_LIMIT + 1)
        if len(found) > SELECTIVE_LIMIT:
            found = None
            shape = MEMBER  # on PostgreSQL, every shape but gather is its probe
            if not counting and not sources.postgres and _probe_cheap(query):
                shape = PROBE if _common(expression) else MEMBER
        match = sources.text_match(expression, shape, found)
        if query.number_or_text:
            match = match | (Ticket.number == int(query.clauses[0][0].words[0]))
        conditions.append(match)
    for term in query.subject:
        conditions.append(Ticket.id.in_(sources.ids("ticket", sources.expression(((term,),)))))
    for term in query.excluded:
        excluded = sources.text_match(sources.expression(((term,),)), MEMBER if counting else PROBE)
        conditions.append(~excluded)
    if query.senders:
        conditions.append(_from_any(query.senders, sources))
    if query.statuses:
        conditions.append(Ticket.status.in_(query.statuses))
    if query.numbers:
        conditions.append(Ticket.number.in_(query.numbers))
    # a few tickets to gather and sort; otherwise (a common word, or only filters such as
    # status:closed or -toner) walking the queue's order finds a page first
    selective = bool(query.senders or query.numbers) or (bool(query.clauses) and shape == GATHER)
    return SearchPlan(tuple(conditions), selective)


def _from_any(senders: tuple[Sender, ...], sources: _Sources) -> Expression:
    """Tickets whose contact is one of ``senders`` (an address, at a domain, or by name), or
    whose client is named so."""
    contacts: Expression | None = None
    clients: Expression | None = None
    for sender in senders:
        if sender.kind == "address":
            found = Contact.email == sender.value
        elif sender.kind == "domain":
            found = fn.LOWER(Contact.email).endswith(f"@{sender.value}") | fn.LOWER(
                Contact.email
            ).endswith(f".{sender.value}")
        else:
            term = Term(sender.words, prefix=False)
            found = Contact.id.in_(sources.ids("contact", sources.expression(((term,),))))
            named = fn.LOWER(Client.name).contains(sender.value)
            clients = named if clients is None else clients | named
        contacts = found if contacts is None else contacts | found
    condition = Ticket.contact.in_(Contact.select(Contact.id).where(contacts))
    if clients is not None:
        condition = condition | Ticket.client.in_(Client.select(Client.id).where(clients))
    return condition


__all__ = [
    "SELECTIVE_LIMIT",
    "SearchPlan",
    "fts5_expression",
    "matching_messages",
    "plan_search",
    "tsquery_expression",
]

"""Full-text search over tickets: the query language (query), the index (schema) and the
conditions a search adds to the queue's query (match). Headless: never imports Textual.

The queue runs a search as its ``QueueFilter.text``; :func:`search_tickets` is the same query
for the command line.
"""

from __future__ import annotations

from tuidesk.core.search.query import SearchQuery, SearchQueryError, parse_query


def search_tickets(text: str, *, status: str = "all", offset: int = 0, limit: int = 50):
    """The tickets ``text`` finds (newest activity first), as queue rows; raises
    SearchQueryError for a search that cannot be run."""
    from tuidesk.core.queue import QueueFilter, fetch_queue

    if parse_query(text).empty:
        raise SearchQueryError(
            "the search is empty", hint="type a word, a ticket number (#123456) or a filter"
        )
    return fetch_queue(QueueFilter(status=status, text=text), offset, limit)


__all__ = ["SearchQuery", "SearchQueryError", "parse_query", "search_tickets"]

"""``tuidesk search QUERY``: the tickets a full-text search finds, newest activity first.

The same query as the queue's search box (core.search); a search that cannot be run is one
sentence on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json

from tuidesk.cli.output import table
from tuidesk.core.context import AppContext

STATUS_CHOICES = ("active", "open", "pending", "closed", "all")
"""core.queue.STATUS_FILTERS' names, written out: importing the queue (and the search with it)
to build the parser would cost every command, --poll-once included, 10 ms (a test keeps the
two lists equal)."""

EPILOG = """\
query syntax:
  printer jams        every word (in one message, the subject or the contact)
  "paper jam"         a phrase            print*            a prefix
  vpn OR wifi         either word         -toner            not mentioned anywhere
  from:acme.com       the contact's domain, address (from:maria@acme.com) or name
  subject:invoice     in the subject      status:open       open, pending, closed, active
  #123456             a ticket number

Put the query in quotes, and write `--` before it when it starts with a minus:
  tuidesk search -- -toner printer
"""


def add_search_command(commands) -> None:
    search = commands.add_parser(
        "search",
        help="find tickets by the words of their mail, subject or contact",
        description="Full-text search over ticket subjects, message text and contacts.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    search.add_argument("query", nargs="+", help="words, phrases and filters (see below)")
    search.add_argument(
        "--status",
        choices=STATUS_CHOICES,
        default="all",
        help="which tickets to search (default: all)",
    )
    search.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    search.add_argument("--offset", type=int, default=0, help="skip this many first")
    search.add_argument("--json", action="store_true", help="one JSON object per ticket")


def run_search(context: AppContext, args: argparse.Namespace) -> int:
    from tuidesk.core.search import parse_query, search_tickets

    text = " ".join(args.query)
    parse_query(text)  # a mistake in the query is reported before the database is opened
    context.connect()
    rows = search_tickets(
        text, status=args.status, offset=max(args.offset, 0), limit=max(args.limit, 0)
    )
    if args.json:
        for row in rows:
            print(
                json.dumps(
                    {
                        "number": row.number,
                        "status": row.status,
                        "priority": row.priority,
                        "subject": row.subject,
                        "contact": row.contact,
                        "client": row.client,
                        "department": row.department,
                        "assignee": row.assignee,
                        "last_activity": row.last_activity.isoformat(timespec="seconds"),
                        "unread": row.unread,
                    },
                    ensure_ascii=False,
                )
            )
        return 0
    print(
        table(
            ["number", "status", "priority", "last activity", "contact", "subject"],
            [
                [
                    row.number,
                    row.status,
                    row.priority,
                    f"{row.last_activity:%Y-%m-%d %H:%M}",
                    row.contact,
                    row.subject,
                ]
                for row in rows
            ],
        )
    )
    if rows and len(rows) == args.limit:
        print(f"(the first {len(rows)}; more with --offset {args.offset + len(rows)})")
    return 0

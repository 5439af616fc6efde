"""The argument parser: every option described, the resolved paths in ``--help``."""

from __future__ import annotations

import argparse

from tuidesk import __version__
from tuidesk.core.paths import CONFIG_ENV, DB_ENV, Paths

DESCRIPTION = """\
A helpdesk that lives in the terminal. Without a command, tuidesk opens the ticket queue.
It polls IMAP, POP3 and Microsoft 365 mailboxes, turns mail into tickets and replies into
thread entries, and holds the mail it cannot place for an operator to review."""


def _epilog() -> str:
    paths = Paths.resolve()
    rows = "\n".join(f"  {label:<13} {path}" for label, path in paths.describe())
    return f"""\
paths (resolved on this machine; --config, {CONFIG_ENV}, --db and {DB_ENV} override):
{rows}

exit codes: 0 success, 1 a mailbox or command failed, 2 usage or configuration error,
            75 (ingest only) the store is unavailable, so the MTA should retry.

examples:
  tuidesk --demo                      open the TUI on a demo database
  tuidesk mailbox add support --protocol imap --host mail.example.com --user support@example.com
  tuidesk --poll-once                 poll every due mailbox once (for cron)
  tuidesk --poll                      poll in a loop (for a systemd service)
  tuidesk ingest --mailbox support < message.eml
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuidesk",
        description=DESCRIPTION,
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tuidesk {__version__}")
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="database file, sqlite:///PATH or postgresql://USER@HOST/DB "
        f"(default: settings file, then {DB_ENV}, then the user data dir)",
    )
    parser.add_argument(
        "--config", metavar="PATH", help=f"settings file (default: {CONFIG_ENV} or the config dir)"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks for errors (secrets stay masked)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="create (or reuse) a demo database with sample tickets and open the TUI on it",
    )
    poll = parser.add_argument_group("polling (headless, for cron and systemd)")
    mode = poll.add_mutually_exclusive_group()
    mode.add_argument(
        "--poll-once",
        action="store_true",
        help="poll every due active mailbox once, send the outbox, print one line per mailbox",
    )
    mode.add_argument(
        "--poll", action="store_true", help="poll in a loop until SIGTERM or SIGINT (systemd)"
    )
    poll.add_argument(
        "--mailbox",
        metavar="NAME",
        action="append",
        dest="poll_mailboxes",
        help="with --poll-once or --poll: only this mailbox, due or not (repeatable)",
    )
    poll.add_argument("--verbose", action="store_true", help="stream every trace line to stderr")
    poll.add_argument(
        "--json", action="store_true", help="print the poll-run records as JSON lines"
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_mailbox_commands(commands)
    _add_ingest_commands(commands)
    from tuidesk.cli.notify_cmd import add_notify_commands

    add_notify_commands(commands)
    from tuidesk.cli.department_cmd import add_department_commands

    add_department_commands(commands)
    from tuidesk.cli.search_cmd import add_search_command

    add_search_command(commands)
    return parser


def _add_mailbox_commands(commands) -> None:
    mailbox = commands.add_parser(
        "mailbox",
        help="add, edit, test and inspect mailboxes",
        description="Headless mailbox management; `tuidesk mailbox fields` lists every setting.",
    )
    sub = mailbox.add_subparsers(dest="mailbox_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="every mailbox with its status and last fetch")
    sub.add_parser("fields", help="every mailbox setting with its default and meaning")
    add = sub.add_parser("add", help="create a mailbox (status draft unless --set status=active)")
    add.add_argument("name")
    add.add_argument("--address", help="the mailbox's e-mail address (default: --user)")
    add.add_argument("--protocol", choices=["imap", "pop3", "maildir", "pipe", "graph"])
    add.add_argument("--host")
    add.add_argument("--port", type=int)
    add.add_argument("--security", choices=["ssl", "starttls", "plain"])
    add.add_argument("--user", dest="username")
    add.add_argument("--password-env", help="name of an environment variable holding the password")
    add.add_argument("--password-command", help="a command that prints the password")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (stored in the database, mode 0600)",
    )
    add.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="any other setting"
    )
    edit = sub.add_parser("edit", help="change settings of a mailbox")
    edit.add_argument("name")
    edit.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="a setting to change"
    )
    edit.add_argument("--password-stdin", action="store_true", help="replace the password")
    remove = sub.add_parser("remove", help="delete a mailbox and its ledger")
    remove.add_argument("name")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    test = sub.add_parser("test", help="connect, log in, list folders and count messages")
    test.add_argument("name")
    export = sub.add_parser("export", help="write mailboxes as TOML (secrets by reference only)")
    export.add_argument("names", nargs="*")
    export.add_argument("--output", "-o", metavar="FILE")
    imp = sub.add_parser("import", help="create or update mailboxes from a TOML file")
    imp.add_argument("file")
    content = sub.add_parser("content", help="the messages on the server with their ledger state")
    content.add_argument("name")
    authorize = sub.add_parser(
        "authorize",
        help="sign an OAuth2 mailbox in (device code, or a pasted code), or check its app access",
        description="Microsoft 365: shows a device code to enter on any device. Google and "
        "other providers: prints an address to open and reads the address the browser is sent "
        "back to. Client-credentials mailboxes: checks that the credentials are accepted.",
    )
    authorize.add_argument("name")
    authorize.add_argument(
        "--paste-code",
        action="store_true",
        help="Microsoft 365 too: sign in in a browser and paste the code instead of a device code",
    )


def _add_ingest_commands(commands) -> None:
    ingest = commands.add_parser(
        "ingest",
        help="store and process one message from standard input (MTA pipe mode)",
        description="Pipe mode for an MTA alias or procmail: exit 0 when the mail is stored, "
        "75 (EX_TEMPFAIL) when the store is unavailable so the MTA retries.",
    )
    ingest.add_argument("--mailbox", required=True, metavar="NAME")
    retry = commands.add_parser("retry", help="process error records again")
    retry.add_argument("ids", nargs="*", type=int, metavar="RECORD")
    retry.add_argument("--mailbox", metavar="NAME", help="every error record of this mailbox")
    reset = commands.add_parser(
        "reset", help="make processed or error records new again (003's Reset Status)"
    )
    reset.add_argument("ids", nargs="+", type=int, metavar="RECORD")
    records = commands.add_parser("records", help="list ledger records (held, errors, …)")
    records.add_argument("--mailbox", metavar="NAME")
    records.add_argument("--state", metavar="STATE")
    records.add_argument("--limit", type=int, default=50)

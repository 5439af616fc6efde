"""Turn parsed arguments into an AppContext and run the command they name."""

from __future__ import annotations

import argparse
import os

from tuidesk.core.context import AppContext
from tuidesk.core.errors import ConfigError
from tuidesk.core.paths import DB_ENV, Paths
from tuidesk.core.settings import load_settings


def build_context(args: argparse.Namespace) -> AppContext:
    paths = Paths.resolve(args.config)
    if args.config and not paths.config_file.exists():
        raise ConfigError(
            f"the settings file {paths.config_file} given with --config does not exist",
            hint="check the path, or leave out --config to use the default",
        )
    settings = load_settings(paths.config_file)
    demo = bool(getattr(args, "demo", False))
    database = args.db or os.environ.get(DB_ENV) or settings.database
    if not database:
        paths.data_dir.mkdir(parents=True, exist_ok=True)
        database = str(paths.data_dir / "demo.sqlite3") if demo else str(paths.database)
    return AppContext(
        settings=settings, paths=paths, database=database, debug=args.debug, demo=demo
    )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command and (args.poll_once or args.poll or args.demo):
        parser.error("--poll-once, --poll and --demo cannot be combined with a command")
    if args.poll_mailboxes and not (args.poll_once or args.poll):
        parser.error("--mailbox goes with --poll-once or --poll (commands take their own)")
    context = build_context(args)
    if args.poll_once or args.poll:
        from tuidesk.cli.poll_cmd import run_poll

        return run_poll(context, args)
    if args.command == "mailbox" and args.mailbox_command == "authorize":
        from tuidesk.cli.authorize_cmd import run_authorize

        return run_authorize(context, args)
    if args.command == "mailbox":
        from tuidesk.cli.mailbox_cmd import run_mailbox

        return run_mailbox(context, args)
    if args.command == "department":
        from tuidesk.cli.department_cmd import run_department

        return run_department(context, args)
    if args.command == "search":
        from tuidesk.cli.search_cmd import run_search

        return run_search(context, args)
    if args.command in {"template", "outbox", "setting"}:
        from tuidesk.cli.notify_cmd import run_notify

        return run_notify(context, args)
    if args.command in {"ingest", "retry", "reset", "records"}:
        from tuidesk.cli.records_cmd import run_records_command

        return run_records_command(context, args)
    return _run_tui(context)


def _run_tui(context: AppContext) -> int:
    if context.demo:
        from tuidesk.core.demo import ensure_demo_database

        ensure_demo_database(context.database)
    from tuidesk.ui.app import run_tui  # the only place Textual is imported

    return run_tui(context)

"""``tuidesk mailbox list|fields|add|edit|remove|test|export|import|content``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tuidesk.cli.output import table
from tuidesk.core.context import AppContext
from tuidesk.core.errors import ConfigError, TuideskError
from tuidesk.core.mailbox_config import (
    FIELDS,
    apply_settings,
    coerce,
    default_port,
    editable_fields,
    export_toml,
    import_toml,
    parse_assignments,
)
from tuidesk.core.mailbox_ops import content_rows, test_mailbox
from tuidesk.core.redact import mask
from tuidesk.core.store.models import Mailbox


def run_mailbox(context: AppContext, args: argparse.Namespace) -> int:
    context.connect()
    action = args.mailbox_command
    handler = {
        "list": _list,
        "fields": _fields,
        "add": _add,
        "edit": _edit,
        "remove": _remove,
        "test": _test,
        "export": _export,
        "import": _import,
        "content": _content,
    }[action]
    return handler(args)


def find_mailbox(name: str) -> Mailbox:
    mailbox = Mailbox.get_or_none(Mailbox.name == name)
    if mailbox is None:
        names = ", ".join(m.name for m in Mailbox.select(Mailbox.name).order_by(Mailbox.name))
        raise ConfigError(
            f"there is no mailbox '{name}'",
            hint=f"the mailboxes are: {names}" if names else "add one with `tuidesk mailbox add`",
        )
    return mailbox


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "never"


def _list(args: argparse.Namespace) -> int:
    rows = []
    for m in Mailbox.select().order_by(Mailbox.name):
        state = "FAILING" if m.failing else ("error" if m.last_error else "ok")
        rows.append(
            [
                m.name,
                m.address,
                m.protocol,
                m.status,
                _when(m.last_fetch_at),
                _when(m.last_success_at),
                state,
            ]
        )
    print(
        table(
            ["name", "address", "protocol", "status", "last fetch", "last success", "state"], rows
        )
    )
    for m in Mailbox.select().where(Mailbox.last_error != ""):
        print(f"{m.name}: {m.last_error}", file=sys.stderr)
    return 0


def _fields(args: argparse.Namespace) -> int:
    rows = []
    for info in editable_fields():
        default = "" if info.default is None else str(info.default).replace("\n", "\\n")
        meaning = info.help or (", ".join(info.choices) if info.choices else "")
        rows.append([info.name, info.kind + (" (secret)" if info.secret else ""), default, meaning])
    print(table(["setting", "type", "default", "meaning"], rows))
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


def _add(args: argparse.Namespace) -> int:
    if Mailbox.get_or_none(Mailbox.name == args.name):
        raise ConfigError(
            f"a mailbox named '{args.name}' exists already",
            hint=f"change it with `tuidesk mailbox edit {args.name}`",
        )
    values: dict[str, object] = {}
    given = {
        "address": args.address or args.username,
        "protocol": args.protocol,
        "host": args.host,
        "security": args.security,
        "username": args.username,
        "password_env": args.password_env,
        "password_command": args.password_command,
    }
    for name, text in given.items():
        if text is not None:
            values[name] = coerce(name, str(text))
    if args.port is not None:
        values["port"] = coerce("port", str(args.port))
    values.update(parse_assignments(args.set))
    if not values.get("address"):
        raise ConfigError("a mailbox needs an address", hint="give --address or --user")
    if "port" not in values:
        port = default_port(str(values.get("protocol", "imap")), str(values.get("security", "ssl")))
        if port:
            values["port"] = port
    if args.password_stdin:
        values["password"] = _read_password()
    mailbox = Mailbox(name=args.name, address=str(values["address"]))
    apply_settings(mailbox, values)
    mailbox.save()
    print(f"mailbox '{args.name}' added ({mailbox.protocol}, status {mailbox.status})")
    if mailbox.status == "draft":
        print(
            f"test it with `tuidesk mailbox test {args.name}`, then activate it with "
            f"`tuidesk mailbox edit {args.name} --set status=active`"
        )
    return 0


def _edit(args: argparse.Namespace) -> int:
    mailbox = find_mailbox(args.name)
    values = parse_assignments(args.set)
    if args.password_stdin:
        values["password"] = _read_password()
    if not values:
        raise ConfigError("nothing to change", hint="give --set FIELD=VALUE or --password-stdin")
    apply_settings(mailbox, values)
    mailbox.save()
    shown = ", ".join(f"{k}={mask(str(v)) if FIELDS[k].secret else v}" for k, v in values.items())
    print(f"mailbox '{args.name}' changed: {shown}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    mailbox = find_mailbox(args.name)
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigError("removing a mailbox needs confirmation", hint="add --yes")
        answer = input(f"remove mailbox '{args.name}' and its ledger? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("nothing removed")
            return 0
    mailbox.delete_instance(recursive=False)
    print(f"mailbox '{args.name}' removed")
    return 0


def _test(args: argparse.Namespace) -> int:
    mailbox = find_mailbox(args.name)
    report = test_mailbox(mailbox, on_step=lambda step, detail: print(f"{step:>12}: {detail}"))
    if report.ok:
        print(f"mailbox '{args.name}' works")
        return 0
    print(f"tuidesk: error: {report.failed_step} failed: {report.error}", file=sys.stderr)
    return 1


def _export(args: argparse.Namespace) -> int:
    query = Mailbox.select().order_by(Mailbox.name)
    if args.names:
        query = query.where(Mailbox.name.in_(args.names))
    text = export_toml(list(query))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{query.count()} mailbox(es) written to {args.output}")
    else:
        print(text, end="")
    return 0


def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        text = sys.stdin.read() if args.file == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{args.file} cannot be read ({exc.strerror})") from None
    for name, created in import_toml(text, args.file):
        print(f"mailbox '{name}' {'created' if created else 'updated'}")
    return 0


def _content(args: argparse.Namespace) -> int:
    mailbox = find_mailbox(args.name)
    try:
        rows = content_rows(mailbox)
    except TuideskError:
        raise
    print(
        table(
            ["key", "size", "date", "ledger", "record", "subject"],
            [
                [r.key, str(r.size), _when(r.date), r.state, str(r.record_id or ""), r.subject]
                for r in rows
            ],
        )
    )
    return 0

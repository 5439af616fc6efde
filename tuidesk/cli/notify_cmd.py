"""``tuidesk template …``, ``tuidesk outbox …`` and ``tuidesk setting …``."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from tuidesk.cli.output import table
from tuidesk.core import global_settings
from tuidesk.core.context import AppContext
from tuidesk.core.errors import ConfigError
from tuidesk.core.notify import outbox, templates
from tuidesk.core.notify.defaults import DEFAULTS
from tuidesk.core.store.models import Outbox

_TEXT_MARK, _HTML_MARK = "--- text ---", "--- html ---"


def run_notify(context: AppContext, args: argparse.Namespace) -> int:
    db = context.connect()
    if args.command == "template":
        return _template(args)
    if args.command == "outbox":
        return _outbox(db, args)
    return _setting(args)


def _template(args: argparse.Namespace) -> int:
    action = args.template_command
    if action == "list":
        rows = []
        for name in templates.template_names():
            _t, overridden = templates.current(name)
            state = "on" if templates.enabled(name) else "off"
            rows.append(
                [name, "edited" if overridden else "shipped", state, DEFAULTS[name].description]
            )
        print(table(["template", "version", "state", "sent"], rows, max_width=70))
        return 0
    template, overridden = templates.current(args.name)
    if action == "show":
        print(_as_document(template.subject, template.text, template.html), end="")
        return 0
    if action == "reset":
        templates.reset(args.name)
        print(f"template '{args.name}' is the shipped one again")
        return 0
    if action in {"enable", "disable"}:
        templates.save(
            args.name, template.subject, template.text, template.html, enabled=action == "enable"
        )
        print(f"template '{args.name}' switched {'on' if action == 'enable' else 'off'}")
        return 0
    subject = args.subject if args.subject is not None else template.subject
    text = Path(args.text_file).read_text(encoding="utf-8") if args.text_file else template.text
    html = Path(args.html_file).read_text(encoding="utf-8") if args.html_file else template.html
    if not (args.subject or args.text_file or args.html_file):
        subject, text, html = _edit_in_editor(subject, text, html)
    templates.save(args.name, subject, text, html, enabled=templates.enabled(args.name))
    print(f"template '{args.name}' saved")
    return 0


def _as_document(subject: str, text: str, html: str) -> str:
    document = f"Subject: {subject}\n{_TEXT_MARK}\n{text}"
    if not document.endswith("\n"):
        document += "\n"
    return document + f"{_HTML_MARK}\n{html}"


def _parse_document(document: str) -> tuple[str, str, str]:
    head, sep, rest = document.partition(f"\n{_TEXT_MARK}\n")
    if not sep or not head.startswith("Subject:"):
        raise ConfigError(
            f"the edited template must start with 'Subject: …' then a line '{_TEXT_MARK}'"
        )
    text, _sep, html = rest.partition(f"{_HTML_MARK}\n")
    return head[len("Subject:") :].strip(), text, html.strip("\n")


def _edit_in_editor(subject: str, text: str, html: str) -> tuple[str, str, str]:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w+", suffix=".tuidesk-template", delete=False) as handle:
        handle.write(_as_document(subject, text, html))
        path = handle.name
    try:
        subprocess.run([*shlex.split(editor), path], check=False)
        return _parse_document(Path(path).read_text(encoding="utf-8"))
    finally:
        os.unlink(path)


def _outbox(db, args: argparse.Namespace) -> int:
    action = args.outbox_command
    if action == "list":
        query = Outbox.select().order_by(Outbox.id.desc()).limit(args.limit)
        if args.state:
            query = query.where(Outbox.state == args.state)
        rows = [
            [
                str(r.id),
                r.state,
                r.kind,
                r.recipients.replace("\n", ", "),
                r.subject,
                str(r.attempts),
                r.last_error,
            ]
            for r in query
        ]
        print(table(["id", "state", "kind", "to", "subject", "tries", "last error"], rows))
        return 0
    if action == "send":
        report = outbox.send_outbox(db)
        print(report.line())
        return 1 if report.errors else 0
    changed = (outbox.retry if action == "retry" else outbox.discard)(list(args.ids))
    print(f"{changed} mail(s) {'queued again' if action == 'retry' else 'discarded'}")
    return 0 if changed else 1


def _setting(args: argparse.Namespace) -> int:
    if args.setting_command == "list":
        rows = [
            [key, global_settings.get(key), spec.help]
            for key, spec in global_settings.SETTINGS.items()
        ]
        print(table(["setting", "value", "meaning"], rows, max_width=70))
        return 0
    global_settings.set_value(args.key, args.value)
    print(f"{args.key} = {global_settings.get(args.key)}")
    return 0


def add_notify_commands(commands) -> None:
    template = commands.add_parser("template", help="list, show, edit and reset mail templates")
    sub = template.add_subparsers(dest="template_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="every template, shipped or edited, on or off")
    for name, text in (
        ("show", "print a template"),
        ("reset", "back to the shipped one"),
        ("enable", "send this mail"),
        ("disable", "never send this mail"),
    ):
        sub.add_parser(name, help=text).add_argument("name")
    edit = sub.add_parser(
        "edit",
        help="edit in $EDITOR, or set parts from files; refused "
        "with the line and reason when it does not render",
    )
    edit.add_argument("name")
    edit.add_argument("--subject")
    edit.add_argument("--text-file", metavar="FILE")
    edit.add_argument("--html-file", metavar="FILE")

    box = commands.add_parser("outbox", help="outgoing mail: list, send, retry, discard")
    sub = box.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the newest outgoing mail")
    listing.add_argument("--state", choices=["queued", "sending", "sent", "failed", "discarded"])
    listing.add_argument("--limit", type=int, default=50)
    sub.add_parser("send", help="send what is due now")
    for name, text in (("retry", "queue failed mail again"), ("discard", "never send it")):
        sub.add_parser(name, help=text).add_argument("ids", nargs="+", type=int, metavar="ID")

    setting = commands.add_parser("setting", help="helpdesk-wide settings in the database")
    sub = setting.add_subparsers(dest="setting_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="every setting with its value")
    change = sub.add_parser("set", help="change a setting")
    change.add_argument("key")
    change.add_argument("value")


def print_report(report, as_json: bool) -> None:
    if not (report.sent or report.failed or report.deferred):
        return
    if as_json:
        import json

        print(
            json.dumps(
                {
                    "outbox": {
                        "sent": report.sent,
                        "deferred": report.deferred,
                        "failed": report.failed,
                        "errors": report.errors,
                    }
                }
            )
        )
    else:
        print(report.line(), file=sys.stderr if report.errors else sys.stdout)

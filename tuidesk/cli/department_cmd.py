"""``tuidesk department list|add|mailbox``: departments and the mailboxes that send for them
(004's account table: outgoing, auto-response and alert mail per department)."""

from __future__ import annotations

import argparse

from tuidesk.cli.output import table
from tuidesk.core.context import AppContext
from tuidesk.core.errors import ConfigError
from tuidesk.core.store.models import Department, DepartmentMail, Mailbox

ROLES = ("outgoing", "auto_response", "alert")


def add_department_commands(commands) -> None:
    department = commands.add_parser("department", help="departments and who sends their mail")
    sub = department.add_subparsers(dest="department_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="every department with its sending mailboxes")
    sub.add_parser("add", help="create a department").add_argument("name")
    role = sub.add_parser(
        "mailbox", help="which mailbox sends a department's outgoing, auto_response or alert mail"
    )
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.add_argument("mailbox", help="a mailbox name, or 'none' to fall back to the default")


def run_department(context: AppContext, args: argparse.Namespace) -> int:
    context.connect()
    action = args.department_command
    if action == "list":
        rows = []
        for department in Department.select().order_by(Department.name):
            roles = {r.role: r.mailbox.name for r in department.mail_roles}
            rows.append([department.name, *(roles.get(role, "(default)") for role in ROLES)])
        print(table(["department", *ROLES], rows))
        return 0
    if action == "add":
        _, created = Department.get_or_create(name=args.name)
        print(f"department '{args.name}' {'created' if created else 'exists already'}")
        return 0
    department = Department.get_or_none(Department.name == args.name)
    if department is None:
        raise ConfigError(
            f"there is no department '{args.name}'",
            hint=f"create it with `tuidesk department add {args.name}`",
        )
    DepartmentMail.delete().where(
        (DepartmentMail.department == department) & (DepartmentMail.role == args.role)
    ).execute()
    if args.mailbox == "none":
        print(f"{args.name}: {args.role} mail comes from the default mailbox")
        return 0
    mailbox = Mailbox.get_or_none(Mailbox.name == args.mailbox)
    if mailbox is None:
        raise ConfigError(f"there is no mailbox '{args.mailbox}'")
    DepartmentMail.create(department=department, role=args.role, mailbox=mailbox)
    print(f"{args.name}: {args.role} mail comes from {mailbox.name} ({mailbox.address})")
    return 0

"""The command palette's tuidesk commands (ctrl+p): modes, themes, and what the screen on show
can do (the queue's filters and sorts, a ticket's actions, held mail's actions)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tuidesk.core.store.models import PRIORITIES
from tuidesk.ui import data

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp
    from tuidesk.ui.screens.queue import QueueScreen
    from tuidesk.ui.screens.review import ReviewScreen
    from tuidesk.ui.screens.thread import ThreadScreen

Command = tuple[str, Callable[[], object], str]  # (name, callback, help)


class TuideskCommands(Provider):
    """Commands that depend on what is on screen: queue commands only on the queue."""

    def commands(self) -> list[Command]:
        from tuidesk.ui.app import MODE_LABELS
        from tuidesk.ui.screens.queue import QueueScreen
        from tuidesk.ui.screens.review import ReviewScreen
        from tuidesk.ui.screens.thread import ThreadScreen

        app: TuideskApp = self.app  # type: ignore[assignment]
        found: list[Command] = [
            (f"Go to {label}", partial(app.go_to, mode), f"show the {mode}")
            for mode, label in MODE_LABELS.items()
        ]
        found += [
            (
                f"Switch theme: {name}",
                partial(app.switch_theme, name),
                "use this theme from now on (saved in the settings)",
            )
            for name in sorted(app.available_themes)
        ]
        found.append(("Poll the mailboxes now", app.request_poll, "and send the outbox"))
        screen = self.screen
        if isinstance(screen, QueueScreen):
            found += queue_commands(screen)
        elif isinstance(screen, ThreadScreen):
            found += thread_commands(screen)
        elif isinstance(screen, ReviewScreen):
            found += review_commands(screen)
        else:
            found += admin_commands(screen)
        return found

    async def discover(self) -> Hits:
        for name, callback, help_text in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


def queue_commands(screen: QueueScreen) -> list[Command]:
    from tuidesk.ui.screens.queue import STATUS_LABELS
    from tuidesk.ui.widgets.ticket_table import COLUMNS, SORT_LABELS

    found: list[Command] = [
        (
            f"Queue: {label.lower()} tickets",
            partial(screen.action_status, status),
            f"show the {label.lower()} tickets",
        )
        for status, label in STATUS_LABELS.items()
    ]
    found += [
        (
            f"Queue: sort by {SORT_LABELS[key]}",
            partial(screen.sort_by, key),
            "order the queue by this column",
        )
        for key, _header, _width in COLUMNS
    ]
    found += [
        (
            f"Queue: department {name}",
            partial(screen.filter_by, "department", i, name),
            "only this department's tickets",
        )
        for i, name in data.departments()
    ]
    found += [
        (
            f"Queue: agent {name}",
            partial(screen.filter_by, "assignee", i, name),
            "only the tickets assigned to this agent",
        )
        for i, name, _email in data.agents()
    ]
    found += [
        (
            f"Queue: mailbox {name}",
            partial(screen.filter_by, "mailbox", i, name),
            "only the tickets that came in by this mailbox",
        )
        for i, name in data.mailboxes()
    ]
    found += [
        (
            f"Queue: priority {p}",
            partial(screen.filter_by, "priority", p, p),
            f"only the {p} tickets",
        )
        for p in PRIORITIES
    ]
    found += [
        ("Queue: reverse the order", screen.action_reverse_sort, "flip the sort direction"),
        ("Queue: search", screen.action_focus_search, 'words, "phrases", from:, #number'),
        ("Queue: clear the search", screen.action_clear_search, "show every ticket again"),
        ("Queue: clear all filters", screen.action_clear_filters, "department, agent…"),
        ("Queue: only my tickets (toggle)", screen.action_toggle_mine, "assigned to you"),
        ("Queue: refresh", screen.action_refresh, "read the queue again"),
        ("Ticket: assign to me", screen.action_assign_to_me, "the ticket under the cursor"),
        ("Ticket: close", screen.action_close_ticket, "the ticket under the cursor"),
        ("Ticket: change the priority", screen.action_change_priority, "low … urgent"),
        ("Ticket: change the status", screen.action_change_status, "open, pending, closed"),
    ]
    return found


def thread_commands(screen: ThreadScreen) -> list[Command]:
    return [
        ("Ticket: reply", screen.action_reply, "write to the customer"),
        ("Ticket: internal note", screen.action_note, "seen by agents only"),
        ("Ticket: assign to me", screen.action_assign_to_me, "you take it"),
        ("Ticket: assign to an agent", screen.action_change_assignee, "choose the agent"),
        ("Ticket: change the department", screen.action_change_department, "transfer it"),
        ("Ticket: change the priority", screen.action_change_priority, "low … urgent"),
        ("Ticket: change the status", screen.action_change_status, "open, pending, closed"),
        ("Ticket: close", screen.action_close_ticket, "the customer is told"),
        ("Ticket: save the attachments", screen.action_save_attachments, "to a folder"),
        ("Ticket: show or fold the quoted text", screen.action_toggle_quotes, "every message"),
    ]


def review_commands(screen: ReviewScreen) -> list[Command]:
    return [
        ("Held mail: create a ticket", screen.action_create_ticket, "for the selected mail"),
        ("Held mail: append to a ticket", screen.action_append, "by ticket number"),
        ("Held mail: reject", screen.action_reject, "drop it (the server copy is dispositioned)"),
        ("Held mail: block the sender", screen.action_block, "and reject the mail"),
        ("Held mail: block the sender's domain", screen.action_block_domain, "and reject"),
        ("Held mail: retry", screen.action_retry, "process an error again"),
        ("Held mail: select all (toggle)", screen.action_mark_all, "act on every mail"),
    ]


def admin_commands(screen: object) -> list[Command]:
    """The administrator's commands for the screen on show (mailboxes, trace, templates,
    settings)."""
    from tuidesk.ui.screens.mailbox_form import MailboxFormScreen
    from tuidesk.ui.screens.mailboxes import MailboxesScreen
    from tuidesk.ui.screens.settings import SettingsScreen
    from tuidesk.ui.screens.templates import TemplatesScreen
    from tuidesk.ui.screens.trace import TraceScreen

    if isinstance(screen, MailboxesScreen):
        return [
            ("Mailbox: add", screen.action_add, "a new mailbox, every setting in a form"),
            ("Mailbox: edit", screen.action_edit, "the mailbox under the cursor"),
            ("Mailbox: duplicate", screen.action_duplicate, "a copy as a new draft"),
            ("Mailbox: enable or disable", screen.action_toggle_status, "active ↔ disabled"),
            ("Mailbox: poll now", screen.action_poll, "even if not due yet"),
            ("Mailbox: test the connection", screen.action_test, "step by step"),
            ("Mailbox: content on the server", screen.action_content, "with ledger state"),
            ("Mailbox: debug trace", screen.action_trace, "and the poll runs"),
            ("Mailbox: OAuth2 sign-in", screen.action_authorize, "device code, or check"),
        ]
    if isinstance(screen, MailboxFormScreen):
        return [
            ("Mailbox form: save", screen.action_save, "refused while a field is invalid"),
            ("Mailbox form: test the connection", screen.action_test, "before saving"),
        ]
    if isinstance(screen, TemplatesScreen):
        return [
            ("Template: save", screen.action_save, "refused if it does not compile"),
            ("Template: use the shipped text", screen.action_reset, "throw the edits away"),
            ("Template: preview with a ticket", screen.action_focus_ticket, "by its number"),
        ]
    if isinstance(screen, SettingsScreen):
        return [("Settings: save", screen.action_save, "the helpdesk's and yours")]
    if isinstance(screen, TraceScreen):
        return [
            ("Trace: filter by text", screen.action_focus_filter, "only matching lines"),
            ("Trace: export to a file", screen.action_export, "the lines shown"),
            ("Trace: refresh", screen.action_refresh, "read the poll runs again"),
        ]
    return []

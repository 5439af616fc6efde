"""The queue's filters other than the status: department, agent ("mine" too), mailbox and
priority, chosen from a menu (``f``) or the command palette, and said in the summary line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Input

from tuidesk.core.queue import QueueFilter
from tuidesk.core.store.models import PRIORITIES
from tuidesk.ui import data
from tuidesk.ui.screens.pickers import ChoiceScreen

if TYPE_CHECKING:
    from textual.app import App

FILTER_FIELDS = {
    "department": "department_id",
    "assignee": "assignee_id",
    "mailbox": "mailbox_id",
    "priority": "priority",
}


class QueueFilters:
    """Mixed into the queue screen, which provides ``queue_filter`` and ``apply_filter``."""

    queue_filter: QueueFilter
    filter_names: dict[str, str]
    app: App[object]

    def apply_filter(self, queue_filter: QueueFilter) -> None:  # pragma: no cover
        raise NotImplementedError

    def filter_descriptions(self) -> list[str]:
        """The filters other than the status, in words: "mine", "Billing", "urgent"…"""
        queue_filter, names = self.queue_filter, self.filter_names
        found = []
        if queue_filter.mine:
            found.append("mine")
        elif queue_filter.assignee_id is not None:
            found.append(names.get("assignee", "one agent"))
        if queue_filter.department_id is not None:
            found.append(names.get("department", "one department"))
        if queue_filter.mailbox_id is not None:
            found.append(names.get("mailbox", "one mailbox"))
        if queue_filter.priority is not None:
            found.append(queue_filter.priority)
        return found

    def action_toggle_mine(self) -> None:
        if not self.queue_filter.agent_email:
            self.notify(
                "Set your address as [operator] email in the settings to see your tickets.",
                severity="warning",
                markup=False,
            )
            return
        self.apply_filter(self.queue_filter.with_changes(mine=not self.queue_filter.mine))

    def filter_by(self, kind: str, value: int | str | None, name: str = "") -> None:
        """Keep the tickets of one department, agent (assignee), mailbox or priority;
        ``None`` drops that filter."""
        field = FILTER_FIELDS[kind]
        if name:
            self.filter_names[kind] = name
        changes: dict[str, object] = {field: value}
        if kind == "assignee":
            changes["mine"] = False
        self.apply_filter(self.queue_filter.with_changes(**changes))

    def action_clear_filters(self) -> None:
        self.query_one("#queue-search", Input).value = ""
        self.apply_filter(
            self.queue_filter.with_changes(
                department_id=None,
                assignee_id=None,
                mine=False,
                mailbox_id=None,
                priority=None,
                text="",
            )
        )

    def filter_choices(self, kind: str) -> list[tuple[str, int | str | None]]:
        """What a filter can be set to, "any" first."""
        if kind == "department":
            return [("Any department", None), *((n, i) for i, n in data.departments())]
        if kind == "assignee":
            return [("Anyone", None), *((n, i) for i, n, _e in data.agents())]
        if kind == "mailbox":
            return [("Any mailbox", None), *((n, i) for i, n in data.mailboxes())]
        return [("Any priority", None), *((p, p) for p in PRIORITIES)]

    def action_filter_menu(self) -> None:
        menu = [
            ("Department…", "department"),
            ("Agent…", "assignee"),
            ("Mailbox…", "mailbox"),
            ("Priority…", "priority"),
            ("Only mine (toggle)", "mine"),
            ("Clear all filters", "clear"),
        ]

        def chosen(kind: str | None) -> None:
            if kind == "mine":
                self.action_toggle_mine()
            elif kind == "clear":
                self.action_clear_filters()
            elif kind:
                self.pick_filter(kind)

        self.app.push_screen(ChoiceScreen("Filter the queue by", menu), chosen)

    def pick_filter(self, kind: str) -> None:
        choices = self.filter_choices(kind)
        field = "priority" if kind == "priority" else f"{kind}_id"
        values = [value for _label, value in choices]
        current = values.index(getattr(self.queue_filter, field, None))

        def chosen(index: int | None) -> None:
            if index is not None and index != current:
                label, value = choices[index]
                self.filter_by(kind, value, label)

        title = {"assignee": "agent"}.get(kind, kind)
        options = [(label, index) for index, (label, _value) in enumerate(choices)]
        screen = ChoiceScreen(f"Show the tickets of one {title}", options, current)
        self.app.push_screen(screen, chosen)

"""Open a ticket for held mail: for which contact, under which client, and whether the
sender's domain should join that client so the next mail from it goes straight through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Select, Static

from tuidesk.core.text import safe_line
from tuidesk.ui import data

NEW_CONTACT = 0
NO_CLIENT = 0


@dataclass(frozen=True)
class TicketFor:
    contact_id: int | None  # None: a contact made for the sender
    client_id: int | None
    add_domain: bool


class CreateTicketScreen(ModalScreen[TicketFor | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="create.cancel"),
        Binding("ctrl+s", "create", "Create", id="create.confirm", priority=True),
    ]

    def __init__(self, senders: Sequence[str]) -> None:
        super().__init__(classes="dialog-screen")
        self.senders = [safe_line(s) for s in senders]
        one = self.senders[0] if len(self.senders) == 1 else ""
        self.address = one.rpartition("<")[2].rstrip(">").strip() if one else ""
        self.contacts, self.clients = data.contacts_and_clients(self.address or "@")
        if not self.address:
            self.contacts = []

    def compose(self) -> ComposeResult:
        count = len(self.senders)
        who = self.senders[0] if count == 1 else f"{count} mails (a contact for each sender)"
        domain = self.address.rpartition("@")[2] if self.address else "each sender's domain"
        with Vertical(classes="dialog"):
            yield Static(
                Text(f"New ticket from {who}", no_wrap=True, overflow="ellipsis"),
                classes="dialog-title",
            )
            yield Static(Text("Contact"), classes="dialog-label")
            contact_options = [(Text("New contact for the sender"), NEW_CONTACT)]
            contact_options += [(Text(safe_line(label)), cid) for cid, label in self.contacts]
            yield Select(
                contact_options,
                allow_blank=False,
                value=NEW_CONTACT,
                id="create-contact",
                compact=True,
            )
            yield Static(Text("Client"), classes="dialog-label")
            client_options = [(Text("No client"), NO_CLIENT)]
            client_options += [(Text(safe_line(name)), cid) for cid, name in self.clients]
            yield Select(
                client_options, allow_blank=False, value=NO_CLIENT, id="create-client", compact=True
            )
            yield Checkbox(Text(f"Add {domain} to the client"), id="create-domain", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create", id="create-confirm", variant="primary", compact=True)
                yield Button("Cancel", id="create-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#create-contact", Select).focus()

    @on(Button.Pressed, "#create-confirm")
    def action_create(self) -> None:
        contact = self.query_one("#create-contact", Select).value
        client = self.query_one("#create-client", Select).value
        add_domain = self.query_one("#create-domain", Checkbox).value
        client_id = client if isinstance(client, int) and client != NO_CLIENT else None
        if add_domain and client_id is None:
            self.notify(
                "Choose the client the domain belongs to.", severity="warning", markup=False
            )
            return
        contact_id = contact if isinstance(contact, int) and contact != NEW_CONTACT else None
        self.dismiss(TicketFor(contact_id, client_id, add_domain))

    @on(Button.Pressed, "#create-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

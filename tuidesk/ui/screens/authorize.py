"""Sign an OAuth2 mailbox in from the TUI (like ``tuidesk mailbox authorize``): Microsoft 365
shows a device code and the address where to enter it, on any device, so it works over SSH;
client-credentials mailboxes need no person, and only have their credentials checked."""

from __future__ import annotations

import threading
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tuidesk.core.errors import TuideskError
from tuidesk.core.redact import redact
from tuidesk.core.store.models import Mailbox, database_proxy
from tuidesk.core.text import safe_line
from tuidesk.ui.messages import SignInEnded, SignInStarted


class AuthorizeScreen(ModalScreen[bool | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="authorize.close"),
    ]

    def __init__(self, mailbox_id: int, name: str) -> None:
        super().__init__(classes="dialog-screen")
        self.mailbox_id = mailbox_id
        self.mailbox_name = name
        self.stop = threading.Event()
        self.outcome: SignInEnded | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -authorize", id="authorize-dialog"):
            yield Static(
                Text(f"Signing in mailbox {safe_line(self.mailbox_name)}"),
                classes="dialog-title",
            )
            yield Static(id="authorize-uri")
            yield Static(id="authorize-code")
            yield Static(Text("… asking for a sign-in code", "dim"), id="authorize-status")
            yield Static(Text("escape: cancel"), id="authorize-help", classes="dialog-help")
        # the address and the code are hidden until they arrive

    def on_mount(self) -> None:
        self.query_one("#authorize-uri").display = False
        self.query_one("#authorize-code").display = False
        self._sign_in()

    @work(thread=True, exclusive=True, exit_on_error=False, group="authorize")
    def _sign_in(self) -> None:
        from tuidesk.core.mail.oauth import (
            OAuthSettings,
            check_client_credentials,
            start_device_sign_in,
        )

        name = self.mailbox_name
        try:
            with database_proxy.connection_context():
                mailbox = Mailbox.get_by_id(self.mailbox_id)
            settings = OAuthSettings.of(mailbox, mailbox.protocol)
            if settings.flow == "client_credentials":
                check_client_credentials(mailbox)
                self.post_message(
                    SignInEnded(
                        True,
                        f"{settings.provider_name} accepted the client credentials of mailbox "
                        f"'{name}': app-only access needs no sign-in.",
                    )
                )
                return
            if settings.provider != "microsoft":
                self.post_message(
                    SignInEnded(
                        False,
                        f"mailbox '{name}' signs in with {settings.provider_name} by a pasted "
                        f"code: run `tuidesk mailbox authorize {name}` in a terminal.",
                    )
                )
                return
            sign_in = start_device_sign_in(mailbox)
            self.post_message(
                SignInStarted(sign_in.verification_uri, sign_in.user_code, sign_in.message)
            )
            username = sign_in.wait(self.stop)
        except TuideskError as exc:
            self.post_message(SignInEnded(False, redact(exc.sentence)))
            return
        except Exception as exc:
            self.post_message(SignInEnded(False, redact(f"{type(exc).__name__}: {exc}")))
            return
        who = username or "the signed-in account"
        text = f"Mailbox '{name}' is authorized as {who}; its tokens renew by themselves."
        if username and username.lower() != mailbox.address.lower():
            text += f" Note: {username} needs access to {mailbox.address}."
        self.post_message(SignInEnded(True, text))

    def on_sign_in_started(self, message: SignInStarted) -> None:
        uri = self.query_one("#authorize-uri", Static)
        uri.update(Text(f"Open {safe_line(message.uri)} and enter the code:"))
        code = self.query_one("#authorize-code", Static)
        code.update(Text(safe_line(message.code)))
        uri.display = code.display = True
        self.query_one("#authorize-status", Static).update(
            Text("… waiting for the sign-in (escape cancels)", "dim")
        )

    def on_sign_in_ended(self, message: SignInEnded) -> None:
        if self.stop.is_set():
            return
        self.outcome = message
        status = self.query_one("#authorize-status", Static)
        text = Text("✓ " if message.ok else "✗ ", "bold")
        text.append(safe_line(message.text))
        status.update(text)
        self.set_class(message.ok, "-done")
        self.set_class(not message.ok, "-failed")
        self.query_one("#authorize-help", Static).update(Text("escape: close"))

    def action_close(self) -> None:
        self.stop.set()
        self.dismiss(self.outcome.ok if self.outcome else None)

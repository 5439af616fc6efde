"""Test a mailbox's connection (002, 003): each step shows as it happens — resolve, connect,
TLS with the certificate's facts, login, the folder's message count, capabilities, folders —
and a failure names the step that failed and what to do about it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tuidesk.core.redact import redact
from tuidesk.core.store.models import Mailbox, database_proxy
from tuidesk.core.text import safe_line
from tuidesk.ui.messages import ConnectionStep, ConnectionTested

STEP_LABELS = {
    "resolve": "Resolve",
    "connect": "Connect",
    "tls": "TLS",
    "login": "Login",
    "select": "Messages",
    "capabilities": "Capabilities",
    "folders": "Folders",
}
FIXES = {
    "resolve": "check the host name (Connection tab)",
    "connect": "check the host, the port and the firewall; is the server up?",
    "tls": "check the security mode and port, or trust the certificate (tls_ca_file, "
    "tls_accept_fingerprint)",
    "login": "check the user name and the password (Authentication tab)",
    "select": "check the folder name (Connection tab)",
    "capabilities": "the server answered oddly: look at the trace",
    "folders": "the server answered oddly: look at the trace",
}
PROTOCOL_FIXES = {
    ("maildir", "connect"): "check maildir_path (Connection tab)",
    ("graph", "connect"): "check the host (empty for graph.microsoft.com) and the network",
    ("graph", "login"): "check the OAuth2 settings (Authentication tab)",
}


def fix_for(protocol: str, step: str) -> str:
    """What to do when ``step`` failed, in words."""
    return PROTOCOL_FIXES.get((protocol, step)) or FIXES.get(step, "")


class ConnectionTestScreen(ModalScreen[bool | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="mailbox_test.close"),
        Binding("r", "run", "Run again", id="mailbox_test.again"),
    ]

    def __init__(
        self, mailbox_id: int | None, name: str, texts: dict[str, str] | None = None
    ) -> None:
        """Test the stored mailbox ``mailbox_id``, or, with ``texts``, the form's settings
        before they are saved (an empty secret is the stored one)."""
        super().__init__(classes="dialog-screen")
        self.mailbox_id = mailbox_id
        self.texts = texts
        self.mailbox_name = name
        self.steps: list[tuple[str, str]] = []
        self.outcome: ConnectionTested | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -test", id="test-dialog"):
            yield Static(
                Text(f"Testing the connection of {safe_line(self.mailbox_name)}"),
                classes="dialog-title",
            )
            with VerticalScroll(id="test-steps-scroll"):
                yield Static(id="test-steps")
            yield Static(Text("r: run again · escape: close"), classes="dialog-help")

    def on_mount(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        self.steps, self.outcome = [], None
        self._show()
        self._test()

    @work(thread=True, exclusive=True, exit_on_error=False, group="mailbox-test")
    def _test(self) -> None:
        from tuidesk.core.mailbox_ops import test_mailbox

        try:
            with database_proxy.connection_context():
                mailbox = self._mailbox()
                report = test_mailbox(
                    mailbox,
                    on_step=lambda step, detail: self.post_message(ConnectionStep(step, detail)),
                )
        except Exception as exc:
            error = redact(f"{type(exc).__name__}: {exc}")
            self.post_message(ConnectionTested(False, "connect", error))
            return
        self.post_message(
            ConnectionTested(report.ok, report.failed_step, report.error, mailbox.protocol)
        )

    def _mailbox(self) -> Mailbox:
        from tuidesk.ui.screens.mailbox_form import unsaved_mailbox

        if self.texts is None:
            return Mailbox.get_by_id(self.mailbox_id)
        return unsaved_mailbox(self.mailbox_id, self.texts)

    def on_connection_step(self, message: ConnectionStep) -> None:
        self.steps.append((message.step, message.detail))
        self._show()

    def on_connection_tested(self, message: ConnectionTested) -> None:
        self.outcome = message
        self._show()

    def _show(self) -> None:
        text = Text()
        for step, detail in self.steps:
            text.append("✓ ", "bold")
            text.append(f"{STEP_LABELS.get(step, step):<13}", "bold")
            text.append(safe_line(detail))
            text.append("\n")
        outcome = self.outcome
        if outcome is None:
            text.append("… working", "dim")
        elif outcome.ok:
            text.append("The connection works.", "bold")
        else:
            step = STEP_LABELS.get(outcome.failed_step, outcome.failed_step)
            text.append(f"✗ {step} failed: ", "bold reverse")
            text.append(f" {safe_line(outcome.error)}\n")
            fix = fix_for(outcome.protocol, outcome.failed_step)
            if fix:
                text.append(f"Fix: {fix}", "italic")
        self.query_one("#test-steps", Static).update(text)
        self.set_class(outcome is not None and not outcome.ok, "-failed")

    def action_close(self) -> None:
        self.dismiss(self.outcome.ok if self.outcome else None)

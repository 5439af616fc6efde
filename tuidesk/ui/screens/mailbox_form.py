"""The mailbox form: every setting of a mailbox, in tabs, each validated as it is typed.

A field's problem shows under it at once (``mailbox_config.validate``); saving is refused while
any field has one. Secrets are masked and never shown again once stored: an empty secret field
keeps what is stored, anything typed replaces it. The screen is dismissed with the mailbox id
(None when cancelled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select, Static, TabbedContent, TabPane, TextArea

from tuidesk.core import mailbox_config
from tuidesk.core.mailbox_config import FieldInfo, editable_fields
from tuidesk.core.redact import redact
from tuidesk.core.store.models import Mailbox, database_proxy
from tuidesk.core.text import safe_text
from tuidesk.ui.admin_data import MailboxForm, mailbox_form, port_for
from tuidesk.ui.messages import MailboxFormLoaded
from tuidesk.ui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

TABS: dict[str, tuple[str, ...]] = {
    "Connection": (
        "name",
        "address",
        "display_name",
        "protocol",
        "host",
        "port",
        "security",
        "tls_verify",
        "tls_ca_file",
        "tls_accept_fingerprint",
        "folder",
        "maildir_path",
        "timeout_ms",
    ),
    "Authentication": (
        "auth_method",
        "username",
        "password",
        "password_command",
        "password_env",
        "oauth_flow",
        "oauth_tenant_id",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_client_secret_env",
        "oauth_scope",
        "oauth_token_endpoint",
        "oauth_authority",
        "oauth_redirect_url",
        "oauth_refresh_token",
    ),
    "Fetching": (
        "status",
        "fetch_frequency_minutes",
        "emails_per_fetch",
        "after_fetch",
        "after_fetch_folder",
        "max_tries",
        "cool_off_minutes",
        "skip_times",
        "sync_start_date",
        "max_email_size",
        "big_files_dir",
    ),
    "Processing": (),  # every setting not named elsewhere
    "Tickets": (
        "department",
        "default_priority",
        "ticket_type",
        "ticket_defaults",
        "auto_response",
        "priority_from_importance",
        "subject_tag_format",
        "default_title",
    ),
    "Outgoing": (
        "smtp_enabled",
        "send_via",
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "smtp_tls_verify",
        "smtp_tls_ca_file",
        "smtp_auth",
        "smtp_username",
        "smtp_password",
        "smtp_password_command",
        "smtp_password_env",
        "smtp_allow_spoofing",
        "reply_to",
    ),
}
MULTILINE = {
    "intro_patterns",
    "delimiter_patterns",
    "new_contact_defaults",
    "ticket_defaults",
    "autoreply_subject_patterns",
    "excluded_keywords",
    "excluded_senders",
}
REQUIRED = {"name": "a mailbox needs a name", "address": "a mailbox needs its address"}


def tab_of(name: str) -> str:
    for tab, names in TABS.items():
        if name in names:
            return tab
    return "Processing"


def field_problem(info: FieldInfo, text: str, stored_secret: bool = False) -> str:
    """Why the form refuses ``text`` for ``info`` ("" when it is fine)."""
    if info.name in REQUIRED and not text.strip():
        return REQUIRED[info.name]
    if info.secret and not text:
        return ""  # empty: keep what is stored (or none)
    if info.kind == "str" and not info.choices and not text.strip():
        return ""
    return mailbox_config.validate(info.name, text)


def form_values(texts: dict[str, str], skip: frozenset[str] = frozenset()) -> dict[str, object]:
    """The form's texts as setting values; an empty secret is left out (kept), and ``skip``."""
    values: dict[str, object] = {}
    for info in editable_fields():
        if info.name in skip:
            continue
        text = texts.get(info.name, "")
        if info.secret and not text:
            continue
        if info.kind == "str" and not info.choices and not text.strip() and not info.secret:
            values[info.name] = ""
            continue
        values[info.name] = mailbox_config.coerce(info.name, text)
    return values


def unsaved_mailbox(mailbox_id: int | None, texts: dict[str, str]) -> Mailbox:
    """A mailbox with the form's settings, not saved (to test them): the stored one's
    secrets are kept where the form leaves them empty."""
    stored = Mailbox.get_by_id(mailbox_id) if mailbox_id is not None else None
    mailbox = Mailbox(**{f: getattr(stored, f) for f in mailbox_config.SECRET_FIELDS if stored})
    values = form_values(texts, skip=frozenset({"department"}))  # no department is created
    return mailbox_config.apply_settings(mailbox, values)


def save_mailbox(mailbox_id: int | None, texts: dict[str, str]) -> int:
    """Store the form's texts (empty secrets kept); the mailbox id. Runs in a worker."""
    values = form_values(texts)
    with database_proxy.atomic():
        same_name = Mailbox.select().where(
            (Mailbox.name == values["name"]) & (Mailbox.id != (mailbox_id or 0))
        )
        if same_name.exists():
            raise ValueError(f"there is already a mailbox named {values['name']}")
        if mailbox_id is None:
            mailbox = Mailbox(name=values["name"], address=values["address"])
        else:
            mailbox = Mailbox.get_by_id(mailbox_id)
        mailbox_config.apply_settings(mailbox, values)
        mailbox.save()
    return int(mailbox.id)


class MailboxFormScreen(Screen[int | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="mailbox_form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="mailbox_form.cancel"),
        Binding("ctrl+t", "test", "Test", id="mailbox_form.test"),
    ]

    def __init__(self, mailbox_id: int | None, *, duplicate: bool = False) -> None:
        super().__init__()
        self.mailbox_id = mailbox_id
        self.duplicate = duplicate
        self.fields = {info.name: info for info in editable_fields()}
        self.stored_secrets: frozenset[str] = frozenset()
        self.problems: dict[str, str] = {}
        self.loaded = False
        self._port_defaults: dict[str, int] = {}  # the usual port each port field was given for

    @property
    def tuidesk(self) -> TuideskApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        title = "New mailbox" if self.mailbox_id is None or self.duplicate else "Edit mailbox"
        yield Static(Text(title), id="form-title")
        with TabbedContent(id="form-tabs"):
            for tab in TABS:
                with TabPane(tab, id=f"tab-{tab.lower()}"), VerticalScroll(classes="form-fields"):
                    for info in self.fields.values():
                        if tab_of(info.name) == tab:
                            yield from self._field(info)
        yield Static(id="form-status")
        yield KeysFooter(show_command_palette=False)

    def _field(self, info: FieldInfo) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Static(Text(info.name), classes="form-label")
            with Vertical(classes="form-value"):
                yield self._editor(info)
                if info.help:
                    yield Static(Text(info.help), classes="form-help")
                yield Static(classes="form-problem", id=f"problem-{info.name}")

    def _editor(self, info: FieldInfo) -> Widget:
        widget_id = f"field-{info.name}"
        if info.choices:
            return Select(
                [(choice, choice) for choice in info.choices],
                allow_blank=False,
                value=str(info.default) if info.default in info.choices else info.choices[0],
                id=widget_id,
                compact=True,
            )
        if info.kind == "bool":
            return Checkbox("", bool(info.default), id=widget_id, compact=True)
        if info.name in MULTILINE:
            return TextArea(id=widget_id, classes="form-text", soft_wrap=True)
        return Input(password=info.secret, id=widget_id, compact=True)

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exit_on_error=False, group="mailbox-form")
    def _load(self) -> None:
        try:
            with database_proxy.connection_context():
                form = mailbox_form(self.mailbox_id, self.duplicate)
        except Exception as exc:
            self.post_message(MailboxFormLoaded(None, redact(str(exc))))
            return
        self.post_message(MailboxFormLoaded(form))

    def on_mailbox_form_loaded(self, message: MailboxFormLoaded) -> None:
        if message.error or message.form is None:
            self.notify(
                f"the mailbox cannot be read: {message.error}", severity="error", markup=False
            )
            self.dismiss(None)
            return
        form: MailboxForm = message.form
        self.mailbox_id = form.mailbox_id
        self.stored_secrets = form.stored_secrets
        with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed, TextArea.Changed):
            for name, text in form.texts.items():
                self._set_text(name, text)
        self.loaded = True
        self._port_defaults = {field: self._usual_port(field) for field in ("port", "smtp_port")}
        for name in self.fields:
            self._check(name)
        self.query_one("#field-name").focus()

    def _set_text(self, name: str, text: str) -> None:
        """Show ``text`` in the field ``name``, without what a terminal would act on (a mailbox
        imported from TOML or made by the CLI may hold anything)."""
        info = self.fields[name]
        text = safe_text(text)
        widget = self.query_one(f"#field-{name}")
        if isinstance(widget, Select):
            if text in info.choices:
                widget.value = text
        elif isinstance(widget, Checkbox):
            widget.value = text == "true"
        elif isinstance(widget, TextArea):
            widget.load_text(text)
        elif isinstance(widget, Input):
            widget.value = text
            if info.secret and name in self.stored_secrets:
                widget.placeholder = "•••••• stored; type to replace"

    def text_of(self, name: str) -> str:
        widget = self.query_one(f"#field-{name}")
        if isinstance(widget, Select):
            return str(widget.value) if widget.value != Select.NULL else ""
        if isinstance(widget, Checkbox):
            return "true" if widget.value else "false"
        if isinstance(widget, TextArea):
            return widget.text
        assert isinstance(widget, Input)
        return widget.value

    def texts(self) -> dict[str, str]:
        return {name: self.text_of(name) for name in self.fields}

    # --- validating as it is typed --------------------------------------------------------------

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(TextArea.Changed)
    def _changed(self, event: Input.Changed) -> None:
        widget_id = event.control.id or "" if event.control else ""
        if self.loaded and widget_id.startswith("field-"):
            name = widget_id.removeprefix("field-")
            self._check(name)
            if name in {"protocol", "security", "smtp_security"}:
                self._follow_port_defaults()

    def _usual_port(self, field: str) -> int:
        security = self.text_of("smtp_security" if field == "smtp_port" else "security")
        return port_for(field, self.text_of("protocol"), security)

    def _follow_port_defaults(self) -> None:
        """A port that still holds the usual port of the previous protocol and security takes
        the usual port of the new ones; a port the user typed is left alone."""
        for field in ("port", "smtp_port"):
            previous, usual = self._port_defaults.get(field, 0), self._usual_port(field)
            if not usual or usual == previous:
                continue  # no usual port (Graph, Maildir): the last one is remembered
            self._port_defaults[field] = usual
            if self.text_of(field).strip() in {"", str(previous)}:
                self.query_one(f"#field-{field}", Input).value = str(usual)

    def _check(self, name: str) -> None:
        info = self.fields[name]
        problem = field_problem(info, self.text_of(name), name in self.stored_secrets)
        if problem:
            self.problems[name] = problem
        else:
            self.problems.pop(name, None)
        shown = self.query_one(f"#problem-{name}", Static)
        shown.update(Text(f"✗ {problem}" if problem else ""))
        shown.set_class(bool(problem), "-shown")
        self.query_one(f"#field-{name}").set_class(bool(problem), "-invalid")
        self._show_status()

    def _show_status(self) -> None:
        status = Text(no_wrap=True, overflow="ellipsis")
        if self.problems:
            first = next(iter(self.problems))
            count = len(self.problems)
            status.append(f" {count} field{'s' if count != 1 else ''} to fix ", "reverse bold")
            status.append(f" {first} ({tab_of(first)}): {self.problems[first]}")
        else:
            status.append(" ctrl+s saves · ctrl+t tests the connection · escape cancels", "dim")
        self.query_one("#form-status", Static).update(status)
        self.set_class(bool(self.problems), "-invalid")

    # --- saving -----------------------------------------------------------------------------

    def action_save(self) -> None:
        if not self.loaded:
            return
        if self.problems:
            first = next(iter(self.problems))
            self.query_one(TabbedContent).active = f"tab-{tab_of(first).lower()}"
            self.query_one(f"#field-{first}").focus()
            self.notify(
                f"Not saved: {first}: {self.problems[first]}",
                severity="error",
                timeout=8,
                markup=False,
            )
            return
        texts = self.texts()
        mailbox_id = self.mailbox_id
        self.tuidesk.perform(
            f"save the mailbox {texts['name']}",
            lambda: save_mailbox(mailbox_id, texts),
            notice=f"Mailbox {texts['name']} saved",
            queue=False,
            on_success=self.dismiss,
        )

    def action_test(self) -> None:
        """Test the connection with the settings as typed, before saving them."""
        from tuidesk.ui.screens.mailbox_test import ConnectionTestScreen

        if not self.loaded:
            return
        if self.problems:
            first = next(iter(self.problems))
            self.notify(
                f"Fix {first} first: {self.problems[first]}", severity="error", markup=False
            )
            return
        texts = self.texts()
        self.app.push_screen(ConnectionTestScreen(self.mailbox_id, texts["name"], texts))

    def action_cancel(self) -> None:
        self.dismiss(None)

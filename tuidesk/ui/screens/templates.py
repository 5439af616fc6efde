"""Templates (004): the outbound templates in an editor, with a preview rendered as it is
typed — against a chosen ticket, or sample data — and a save that is refused, naming the part
and the line, when the template does not compile or render.

Every part is edited here: the subject on its line, the text and the HTML parts in two tabs.
The preview follows the tab on show; the HTML part is previewed as the text a terminal can
show (``html_to_text``, the rendering ingest uses for HTML mail)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Select, Static, TabbedContent, TabPane, TextArea

from tuidesk.core.redact import redact
from tuidesk.core.store.models import database_proxy
from tuidesk.core.text import safe_line, safe_text
from tuidesk.ui.messages import TemplatePreviewed
from tuidesk.ui.screens.pickers import ChoiceScreen
from tuidesk.ui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

PREVIEW_DELAY_S = 0.3


def preview_context(ticket_text: str) -> tuple[dict[str, Any], str]:
    """The data to render with: the sample data, with the ticket ``ticket_text`` (a number)
    on top when one is named; and a note saying what was used."""
    from tuidesk.core.notify.compose import ticket_context
    from tuidesk.core.notify.templates import sample_context
    from tuidesk.core.queue import parse_ticket_number
    from tuidesk.core.store.models import Ticket

    context = sample_context()
    if not ticket_text.strip():
        return context, "sample data"
    number = parse_ticket_number(ticket_text)
    ticket = Ticket.get_or_none(Ticket.number == number) if number is not None else None
    if ticket is None:
        return context, f"no ticket {ticket_text.strip()}: sample data"
    context.update(ticket_context(ticket))
    return context, f"ticket #{ticket.number:06d}"


def loaded_template(name: str) -> tuple[str, str, str, str, bool]:
    """(subject, text, HTML, description, overridden) of the template ``name``."""
    from tuidesk.core.notify.templates import current

    template, overridden = current(name)
    return template.subject, template.text, template.html, template.description, overridden


class TemplatesScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="templates.save", priority=True),
        Binding("ctrl+d", "reset", "Shipped", id="templates.reset", tooltip="Use the shipped text"),
        Binding(
            "ctrl+t", "focus_ticket", "Ticket", id="templates.ticket", tooltip="Preview ticket"
        ),
        Binding("ctrl+o", "switch_part", "Text/HTML", id="templates.part", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.name_shown = ""
        self.audience = "customer"
        self._preview_timer: Timer | None = None
        self._generation = 0

    @property
    def tuidesk(self) -> TuideskApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        from tuidesk.core.notify.templates import template_names

        names = template_names()
        with Horizontal(id="template-controls"):
            yield Select(
                [(name, name) for name in names],
                value=names[0],
                allow_blank=False,
                id="template-name",
                compact=True,
            )
            yield Input(
                placeholder="preview with ticket # (empty: sample data)",
                id="template-ticket",
                compact=True,
            )
        yield Static(id="template-info")
        yield Input(id="template-subject", compact=True)
        with TabbedContent(id="template-parts"):
            with TabPane("Text part", id="part-text"):
                yield TextArea(id="template-text", soft_wrap=True, show_line_numbers=True)
            with TabPane("HTML part", id="part-html"):
                yield TextArea(id="template-html", soft_wrap=True, show_line_numbers=True)
        yield Static(id="template-problem")
        yield Static(id="template-preview")
        yield KeysFooter(show_command_palette=False)

    def on_mount(self) -> None:
        self.load(str(self.query_one("#template-name", Select).value))

    # --- loading ------------------------------------------------------------------------------

    @on(Select.Changed, "#template-name")
    def _name_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.name_shown:
            self.load(event.value)

    def load(self, name: str) -> None:
        """Show the template ``name`` (read in a worker)."""
        self.tuidesk.perform(
            f"read the template {name}",
            lambda: loaded_template(name),
            queue=False,
            on_success=lambda found: self._show(name, *found),
        )

    def _show(
        self, name: str, subject: str, text: str, html: str, description: str, overridden: bool
    ) -> None:
        self.name_shown = name
        info = Text(no_wrap=True, overflow="ellipsis")
        info.append(f" {name} ", "reverse bold")
        info.append(" edited here" if overridden else " as shipped", "bold")
        if not html:
            info.append(" · text only", "dim")
        if description:
            info.append(f" · {safe_line(description)}", "dim")
        self.query_one("#template-info", Static).update(info)
        with self.prevent(Input.Changed, TextArea.Changed):
            self.query_one("#template-subject", Input).value = safe_line(subject)
            self.query_one("#template-text", TextArea).load_text(safe_text(text))
            self.query_one("#template-html", TextArea).load_text(safe_text(html))
        self._problem("")
        self._schedule_preview()

    # --- the preview --------------------------------------------------------------------------

    @on(Input.Changed, "#template-subject")
    @on(Input.Changed, "#template-ticket")
    @on(TextArea.Changed, "#template-text")
    @on(TextArea.Changed, "#template-html")
    @on(TabbedContent.TabActivated, "#template-parts")
    def _edited(self) -> None:
        self._schedule_preview()

    def _schedule_preview(self) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(PREVIEW_DELAY_S, self._preview)

    def _preview(self) -> None:
        if not self.name_shown:
            return
        self._generation += 1
        self._render_preview(
            self._generation,
            self.name_shown,
            self.query_one("#template-subject", Input).value,
            self.query_one("#template-text", TextArea).text,
            self.query_one("#template-html", TextArea).text,
            self.query_one("#template-ticket", Input).value,
        )

    @property
    def part_shown(self) -> str:
        """ "text" or "html": the part whose tab is on show."""
        return "html" if self.query_one(TabbedContent).active == "part-html" else "text"

    @work(thread=True, exclusive=True, exit_on_error=False, group="template-preview")
    def _render_preview(
        self, generation: int, name: str, subject: str, text: str, html: str, ticket: str
    ) -> None:
        from tuidesk.core.errors import TuideskError
        from tuidesk.core.ingest.html_text import html_to_text
        from tuidesk.core.notify.defaults import TemplateText
        from tuidesk.core.notify.templates import render_text

        try:
            with database_proxy.connection_context():
                context, used = preview_context(ticket)
            mail = render_text(name, TemplateText(subject, text, html), context)
        except TuideskError as exc:
            self.post_message(TemplatePreviewed(generation, error=redact(exc.sentence)))
            return
        except Exception as exc:
            error = redact(f"{type(exc).__name__}: {exc}")
            self.post_message(TemplatePreviewed(generation, error=error))
            return
        html_text = html_to_text(mail.html) if mail.html else ""
        self.post_message(TemplatePreviewed(generation, used, mail.subject, mail.text, html_text))

    def on_template_previewed(self, message: TemplatePreviewed) -> None:
        if message.generation != self._generation:
            return
        preview = self.query_one("#template-preview", Static)
        if message.error:
            preview.update(Text(f"Cannot be rendered: {safe_line(message.error)}", "bold"))
            self.set_class(True, "-broken")
            return
        self.set_class(False, "-broken")
        html = self.part_shown == "html"
        text = Text()
        text.append(f"Preview with {message.used}", "dim")
        text.append(" · HTML part shown as text\n" if html else "\n", "dim")
        text.append("Subject: ", "dim")
        text.append(safe_line(message.subject) + "\n", "bold")
        if html and not message.html_text.strip():
            text.append("(no HTML part: the mail is sent as text only)", "dim italic")
        else:
            text.append(safe_text(message.html_text if html else message.text))
        preview.update(text)

    # --- saving -------------------------------------------------------------------------------

    def _problem(self, error: str) -> None:
        shown = self.query_one("#template-problem", Static)
        shown.update(Text(f"✗ Not saved: {error}" if error else ""))
        shown.set_class(bool(error), "-shown")

    def action_save(self) -> None:
        from tuidesk.core.notify.templates import save

        name = self.name_shown
        if not name:
            return
        subject = self.query_one("#template-subject", Input).value
        text = self.query_one("#template-text", TextArea).text
        html = self.query_one("#template-html", TextArea).text
        self.tuidesk.perform(
            f"save the template {name}",
            lambda: save(name, subject, text, html),
            notice=f"Template {name} saved",
            queue=False,
            on_success=lambda _result: self.load(name),
            on_failure=self._problem,
        )

    def action_reset(self) -> None:
        from tuidesk.core.notify.templates import reset

        name = self.name_shown
        if not name:
            return

        def chosen(yes: bool | None) -> None:
            if yes:
                self.tuidesk.perform(
                    f"put back the shipped template {name}",
                    lambda: reset(name),
                    notice=f"Template {name} is the shipped one again",
                    queue=False,
                    on_success=lambda _result: self.load(name),
                )

        question = f"Throw away the edits of {name} and use the shipped text?"
        self.app.push_screen(ChoiceScreen(question, [("No", False), ("Yes", True)]), chosen)

    def action_switch_part(self) -> None:
        """Show the other part (text or HTML) in the editor and the preview."""
        part = "text" if self.part_shown == "html" else "html"
        self.query_one(TabbedContent).active = f"part-{part}"
        self.query_one(f"#template-{part}", TextArea).focus()

    def action_focus_ticket(self) -> None:
        self.query_one("#template-ticket", Input).focus()

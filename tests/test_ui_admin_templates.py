"""Templates and settings: the outbound templates edited with a live preview (against a real
ticket when one is named), refused on save with the line when they do not compile; the
helpdesk's settings and the operator's own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Static, TextArea
from ui_helpers import shown, wait_until

from tuidesk.core import global_settings
from tuidesk.core.notify.templates import current
from tuidesk.core.settings import load_settings
from tuidesk.core.store.models import Template, Ticket
from tuidesk.ui.app import TuideskApp
from tuidesk.ui.screens.settings import SettingsScreen
from tuidesk.ui.screens.templates import TemplatesScreen

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
MakeApp = Callable[..., TuideskApp]


async def open_templates(pilot: Pilot[Any]) -> TemplatesScreen:
    await pilot.press("f6")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, TemplatesScreen))
    screen = pilot.app.screen
    assert isinstance(screen, TemplatesScreen)
    await wait_until(pilot, lambda: "Preview with" in preview(screen))
    return screen


def preview(screen: TemplatesScreen) -> str:
    return shown(screen.query_one("#template-preview", Static))


async def test_a_template_with_a_syntax_error_is_refused_with_its_line(
    database: Path, make_app: MakeApp
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_templates(pilot)
        name = screen.name_shown
        editor = screen.query_one("#template-text", TextArea)
        editor.load_text("Hello,\n\nyour ticket {{ ticket.number }\nis open.\n")
        await pilot.press("ctrl+s")
        problem = screen.query_one("#template-problem", Static)
        await wait_until(pilot, lambda: "Not saved" in shown(problem))
        assert "line 3" in shown(problem)
        assert Template.get_or_none(Template.name == name) is None
        await wait_until(pilot, lambda: "Cannot be rendered" in preview(screen))


async def test_a_template_that_compiles_is_saved_and_previewed(
    database: Path, make_app: MakeApp
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_templates(pilot)
        name = screen.name_shown
        screen.query_one("#template-text", TextArea).load_text("Ticket {{ ticket.number }} open.")
        await wait_until(pilot, lambda: "Ticket 123456 open." in preview(screen))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: Template.get_or_none(Template.name == name) is not None)
        assert current(name)[0].text == "Ticket {{ ticket.number }} open."


async def test_the_preview_is_rendered_against_a_chosen_ticket(
    demo_database: Path, make_app: MakeApp
) -> None:
    ticket = Ticket.select().order_by(Ticket.id).first()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_templates(pilot)
        screen.query_one("#template-text", TextArea).load_text("About: {{ ticket.subject }}")
        await pilot.press("ctrl+t", *ticket.display_number)
        await wait_until(pilot, lambda: f"ticket #{ticket.display_number}" in preview(screen))
        assert f"About: {ticket.subject}" in preview(screen)


async def test_the_helpdesk_and_operator_settings_are_saved(
    database: Path, make_app: MakeApp
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        await wait_until(pilot, lambda: screen.ready)
        screen.query_one("#setting-fetching_enabled", Checkbox).value = False
        screen.query_one("#setting-helpdesk_name", Input).value = "ACME IT"
        screen.query_one("#setting-operator_name", Input).value = "Robin Admin"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: global_settings.get("helpdesk_name") == "ACME IT")
        assert not global_settings.get_bool("fetching_enabled")
        await wait_until(pilot, lambda: app.context.settings.operator_name == "Robin Admin")
    assert load_settings(app.context.paths.config_file).operator_name == "Robin Admin"


async def test_a_setting_that_is_not_an_address_is_refused(
    database: Path, make_app: MakeApp
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        await wait_until(pilot, lambda: screen.ready)
        screen.query_one("#setting-alert_recipients", Input).focus()
        await pilot.press(*"ops@example.com, not-an-address")
        await pilot.pause()
        problem = shown(screen.query_one("#problem-alert_recipients", Static))
        assert "'not-an-address' is not an e-mail address" in problem
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert global_settings.get("alert_recipients") == ""


async def test_an_html_part_with_a_syntax_error_is_refused_with_its_line(
    database: Path, make_app: MakeApp
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_templates(pilot)
        name = screen.name_shown
        await pilot.press("ctrl+o")
        screen.query_one("#template-html", TextArea).load_text("<p>Hi</p>\n<p>{% if %}</p>\n")
        await pilot.press("ctrl+s")
        problem = screen.query_one("#template-problem", Static)
        await wait_until(pilot, lambda: "Not saved" in shown(problem))
        assert "HTML, line 2" in shown(problem)
        assert Template.get_or_none(Template.name == name) is None


async def test_a_subject_that_does_not_compile_is_refused(
    database: Path, make_app: MakeApp
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_templates(pilot)
        screen.query_one("#template-subject", Input).value = "Ticket {{ ticket.number"
        await pilot.press("ctrl+s")
        problem = screen.query_one("#template-problem", Static)
        await wait_until(pilot, lambda: "Not saved" in shown(problem))
        assert "subject, line 1" in shown(problem)
        assert Template.get_or_none(Template.name == screen.name_shown) is None


async def test_the_html_part_is_previewed_as_text_and_saved(
    demo_database: Path, make_app: MakeApp
) -> None:
    ticket = Ticket.select().order_by(Ticket.id).first()
    html = "<p>About <b>{{ ticket.subject }}</b></p><ul><li>one</li><li>two</li></ul>"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_templates(pilot)
        name = screen.name_shown
        await pilot.press("ctrl+t", *ticket.display_number)
        await pilot.press("ctrl+o")
        assert screen.part_shown == "html"
        screen.query_one("#template-html", TextArea).load_text(html)
        await wait_until(pilot, lambda: f"About {ticket.subject}" in preview(screen))
        assert "HTML part shown as text" in preview(screen)
        assert f"ticket #{ticket.display_number}" in preview(screen)
        assert "- one\n- two" in preview(screen)
        assert "<b>" not in preview(screen)
        await pilot.press("ctrl+o")  # back to the text part, previewed as text
        await wait_until(pilot, lambda: "HTML part shown as text" not in preview(screen))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: Template.get_or_none(Template.name == name) is not None)
    saved, _overridden = current(name)
    assert saved.html == html

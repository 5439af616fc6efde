"""The administrator's mailboxes: the list, the form (every field validated as it is typed),
the connection test step by step, and a mailbox added through the form that then brings
tickets into the queue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import imap_mailbox
from mailgen import mail
from textual.pilot import Pilot
from textual.widgets import DataTable, Select, Static, TabbedContent
from ui_helpers import shown, wait_until

from tuidesk.core.store.models import Mailbox
from tuidesk.ui.app import TuideskApp
from tuidesk.ui.screens.mailbox_form import MailboxFormScreen, tab_of
from tuidesk.ui.screens.mailbox_test import ConnectionTestScreen
from tuidesk.ui.screens.mailboxes import MailboxesScreen

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
MakeApp = Callable[..., TuideskApp]


async def open_form(pilot: Pilot[Any], key: str = "a") -> MailboxFormScreen:
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, MailboxesScreen))
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, MailboxFormScreen))
    screen = pilot.app.screen
    assert isinstance(screen, MailboxFormScreen)
    await wait_until(pilot, lambda: screen.loaded)
    return screen


async def type_into(pilot: Pilot[Any], name: str, text: str) -> None:
    """Show the field's tab, empty the field and type ``text`` as a person would."""
    screen = pilot.app.screen
    screen.query_one(TabbedContent).active = f"tab-{tab_of(name).lower()}"
    await pilot.pause()
    field = screen.query_one(f"#field-{name}")
    field.focus()
    field.value = ""  # type: ignore[attr-defined]
    await pilot.pause()
    if text:
        await pilot.press(*text)
    await pilot.pause()


def choose(pilot: Pilot[Any], name: str, value: str) -> None:
    pilot.app.screen.query_one(f"#field-{name}", Select).value = value


def problem(pilot: Pilot[Any], name: str) -> str:
    return shown(pilot.app.screen.query_one(f"#problem-{name}", Static))


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("port", "70000", "70000 is out of range (1 to 65535)"),
        ("subject_pattern", r"\[#(\d{6}\]", "is not a valid regular expression"),
        ("skip_times", "25:00-03:00", "25:00"),
        ("address", "helpdesk.example.com", "'helpdesk.example.com' is not an e-mail address"),
        ("name", "", "a mailbox needs a name"),
    ],
)
async def test_a_field_shows_why_it_is_refused_as_it_is_typed(
    database: Path, make_app: MakeApp, name: str, text: str, reason: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await type_into(pilot, name, text)
        assert reason in problem(pilot, name)


async def test_a_field_put_right_loses_its_reason(database: Path, make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await type_into(pilot, "port", "0")
        assert "out of range" in problem(pilot, "port")
        await type_into(pilot, "port", "993")
        assert problem(pilot, "port") == ""


async def test_saving_is_refused_while_a_field_is_invalid(
    database: Path, make_app: MakeApp
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot)
        await type_into(pilot, "name", "sales")
        await type_into(pilot, "address", "sales@example.com")
        await type_into(pilot, "port", "99999")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert app.screen is screen
        assert Mailbox.select().count() == 0
        assert any("port" in n.message for n in app._notifications)


async def test_a_stored_password_is_never_shown_and_an_empty_field_keeps_it(
    database: Path, make_app: MakeApp, settle: Any
) -> None:
    Mailbox.create(name="sales", address="sales@example.com", password="s3cret-pass")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_form(pilot, "e")
        field = screen.query_one("#field-password")
        assert field.value == ""  # type: ignore[attr-defined]
        assert field.password  # type: ignore[attr-defined]
        assert "stored" in field.placeholder  # type: ignore[attr-defined]
        await type_into(pilot, "host", "mail.example.com")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, MailboxesScreen))
    stored = Mailbox.get(Mailbox.name == "sales")
    assert stored.password == "s3cret-pass"
    assert stored.host == "mail.example.com"


async def test_a_mailbox_added_through_the_form_is_tested_polled_and_its_mail_queued(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any
) -> None:
    dovecot.append(mail_user, mail(subject="Projector in room 3 is dead"))
    app = make_app(poll=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await type_into(pilot, "name", "support")
        await type_into(pilot, "address", mail_user.address)
        await type_into(pilot, "host", dovecot.host)
        await type_into(pilot, "port", str(dovecot.imap_port))
        choose(pilot, "security", "plain")
        await type_into(pilot, "username", mail_user.address)
        await type_into(pilot, "password", mail_user.password)
        choose(pilot, "unknown_sender", "create")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, MailboxesScreen))
        mailbox = Mailbox.get(Mailbox.name == "support")
        assert mailbox.status == "draft" and mailbox.password == mail_user.password

        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectionTestScreen))
        test = app.screen
        assert isinstance(test, ConnectionTestScreen)
        await wait_until(pilot, lambda: test.outcome is not None)
        assert test.outcome is not None and test.outcome.ok, test.outcome
        steps = [step for step, _detail in test.steps]
        assert steps[:2] == ["resolve", "connect"] and "login" in steps
        assert "The connection works." in shown(test.query_one("#test-steps", Static))
        await pilot.press("escape")

        await pilot.press("s")  # draft → active
        await wait_until(pilot, lambda: Mailbox.get_by_id(mailbox.id).status == "active")
        await pilot.press("p")
        await wait_until(pilot, lambda: Mailbox.get_by_id(mailbox.id).last_success_at is not None)
        await pilot.press("f2")
        await wait_until(
            pilot,
            lambda: (
                "Projector in room 3 is dead"
                in [
                    app.screen.query_one("#queue-table", DataTable).get_row_at(row)[3].plain
                    for row in range(app.screen.query_one("#queue-table", DataTable).row_count)
                ]
            ),
        )


async def test_a_wrong_password_names_the_step_that_failed_and_the_fix(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any, settle: Any
) -> None:
    imap_mailbox(dovecot, mail_user, password="wrong", status="draft")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectionTestScreen))
        test = app.screen
        assert isinstance(test, ConnectionTestScreen)
        await wait_until(pilot, lambda: test.outcome is not None)
        assert test.outcome is not None and not test.outcome.ok
        assert test.outcome.failed_step == "login"
        text = shown(test.query_one("#test-steps", Static))
        assert "✗ Login failed" in text
        assert "Fix: check the user name and the password" in text
        assert "✓ Connect" in text


async def test_the_list_shows_every_mailbox_with_its_state(
    database: Path, make_app: MakeApp, settle: Any, now: Any
) -> None:
    Mailbox.create(name="billing", address="billing@example.com", status="active")
    Mailbox.create(name="sales", address="sales@example.com", status="disabled")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        table = app.screen.query_one("#mailboxes-table", DataTable)
        names = [table.get_row_at(row)[0].plain for row in range(table.row_count)]
        assert names == ["billing", "sales"]
        assert table.get_row_at(1)[3].plain == "disabled"


async def test_a_second_mailbox_of_the_same_name_is_refused(
    database: Path, make_app: MakeApp, settle: Any
) -> None:
    Mailbox.create(name="sales", address="sales@example.com")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_form(pilot, "d")  # a duplicate is named sales-copy
        await type_into(pilot, "name", "sales")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: any("already" in n.message for n in app._notifications))
        assert app.screen is screen
    assert Mailbox.select().count() == 1


async def test_the_settings_typed_in_the_form_are_tested_before_they_are_saved(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any, settle: Any
) -> None:
    imap_mailbox(dovecot, mail_user, password=mail_user.password, port=1)  # a wrong port
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_form(pilot, "e")
        await type_into(pilot, "port", str(dovecot.imap_port))
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConnectionTestScreen))
        test = app.screen
        assert isinstance(test, ConnectionTestScreen)
        await wait_until(pilot, lambda: test.outcome is not None)
        assert test.outcome is not None and test.outcome.ok, test.outcome  # stored password
    assert Mailbox.get().port == 1  # nothing was saved


async def test_the_mailboxes_are_reached_from_the_command_palette(
    database: Path, make_app: MakeApp, settle: Any
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"Go to Mailboxes")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MailboxesScreen))
        assert app.current_mode == "mailboxes"


async def choose_and_wait(pilot: Pilot[Any], name: str, value: str) -> None:
    choose(pilot, name, value)
    await pilot.pause()


@pytest.mark.parametrize(
    ("protocol", "security", "port"),
    [
        ("imap", "ssl", "993"),
        ("imap", "starttls", "143"),
        ("imap", "plain", "143"),
        ("pop3", "ssl", "995"),
        ("pop3", "starttls", "110"),
        ("pop3", "plain", "110"),
    ],
)
async def test_the_port_follows_the_protocol_and_the_security(
    database: Path, make_app: MakeApp, protocol: str, security: str, port: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot)
        for other in ("pop3", "imap") if protocol == "imap" else ("imap", "pop3"):
            await choose_and_wait(pilot, "protocol", other)
        for other in ("plain", "starttls", "ssl", security):
            await choose_and_wait(pilot, "security", other)
        assert screen.text_of("port") == port


@pytest.mark.parametrize(
    ("security", "port"), [("ssl", "465"), ("starttls", "587"), ("plain", "25")]
)
async def test_the_smtp_port_follows_the_smtp_security(
    database: Path, make_app: MakeApp, security: str, port: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot)
        for other in ("plain", "ssl", "starttls", security):
            await choose_and_wait(pilot, "smtp_security", other)
        assert screen.text_of("smtp_port") == port


async def test_a_port_the_user_typed_is_left_alone(database: Path, make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot)
        await type_into(pilot, "port", "10993")
        await type_into(pilot, "smtp_port", "2525")
        await choose_and_wait(pilot, "security", "starttls")
        await choose_and_wait(pilot, "protocol", "pop3")
        await choose_and_wait(pilot, "smtp_security", "ssl")
        assert (screen.text_of("port"), screen.text_of("smtp_port")) == ("10993", "2525")


async def test_a_port_follows_again_across_a_protocol_without_one(
    database: Path, make_app: MakeApp
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot)
        await choose_and_wait(pilot, "protocol", "imap")
        await choose_and_wait(pilot, "security", "ssl")
        await choose_and_wait(pilot, "protocol", "maildir")  # no port: the field is kept
        assert screen.text_of("port") == "993"
        await choose_and_wait(pilot, "security", "starttls")
        await choose_and_wait(pilot, "protocol", "imap")
        assert screen.text_of("port") == "143"

"""Terminal injection (issue 10): text written by strangers — subjects, names, bodies, file
names, server errors, trace lines — shows inert on every screen.

Each test puts ANSI and OSC escape sequences, bidi overrides and C0/C1 controls where a screen
shows them, opens the screen and reads what the terminal would be sent (the screen's rendered
lines): no control character, no escape sequence and none of their payload reaches it, while
the harmless letters of the same text do. Take ``safe_text`` away from any screen and its test
fails. (The queue, thread and review screens are also checked by their own modules.)
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mailgen import mail
from servers.oauth_server import (  # noqa: F401
    OAuthServer,
    microsoft_settings,
    oauth_fixture,
    oauth_server_fixture,
)
from textual.pilot import Pilot
from ui_helpers import wait_until

from tuidesk.core import global_settings
from tuidesk.core.notify.templates import template_names
from tuidesk.core.poller import Poller
from tuidesk.core.store.models import (
    InboundMail,
    Mailbox,
    PollRun,
    Template,
    Ticket,
    TraceLine,
    database_proxy,
)
from tuidesk.core.text import safe_line
from tuidesk.core.tickets import NewMessage, add_attachment, add_message
from tuidesk.ui.app import TuideskApp
from tuidesk.ui.screens.attachments import SaveAttachmentsScreen
from tuidesk.ui.screens.authorize import AuthorizeScreen
from tuidesk.ui.screens.compose import ComposeScreen, PreviewScreen
from tuidesk.ui.screens.create_ticket import CreateTicketScreen
from tuidesk.ui.screens.mailbox_content import MailboxContentScreen, RawMailScreen
from tuidesk.ui.screens.mailbox_form import MailboxFormScreen
from tuidesk.ui.screens.mailbox_test import ConnectionTestScreen
from tuidesk.ui.screens.mailboxes import MailboxesScreen
from tuidesk.ui.screens.review import ReviewScreen
from tuidesk.ui.screens.settings import SettingsScreen
from tuidesk.ui.screens.templates import TemplatesScreen
from tuidesk.ui.screens.thread import ThreadScreen
from tuidesk.ui.screens.trace import TraceScreen

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
MakeApp = Callable[..., TuideskApp]
Settle = Callable[[Pilot[Any]], Awaitable[None]]
OpenThread = Callable[[Pilot[Any], str], Awaitable[Ticket]]

HOSTILE = (
    "\x1b[31mEvil\x1b[0m"  # CSI colour
    "\x1b]0;owned\x07"  # OSC: set the window title
    "\x1b]8;;http://trap.example\x1b\\Co\x1b]8;;\x1b\\"  # OSC 8 hyperlink
    "\u202e\u2066Name\u2069"  # bidi override and isolate
    "\x9b2J\x00\x01\x08\x7f\x85"  # 8-bit CSI (clear screen), C0, DEL, C1
)
SHOWN = "EvilCoName"
"""What is left of HOSTILE once made safe: its letters, and nothing a terminal acts on."""

CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
PAYLOADS = ("owned", "trap.example", "[31m", "[0m", "]8;;", "2J")
"""What a screen shows when an escape sequence reaches it unfiltered (its ESC alone may be
dropped on the way, but never its parameters)."""


def test_the_hostile_text_is_made_of_escapes_and_letters() -> None:
    assert safe_line(HOSTILE) == SHOWN
    assert all(payload in HOSTILE for payload in PAYLOADS)


def rendered(app: TuideskApp) -> list[str]:
    """The lines of the screen on show as the terminal gets them (toasts included)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def assert_inert(app: TuideskApp, *shown: str) -> None:
    """Nothing of HOSTILE but its letters is on the screen, and the ``shown`` texts are."""
    lines = rendered(app)
    screen = "\n".join(lines)
    for line in lines:
        assert not CONTROLS.search(line), f"a control character reaches the terminal: {line!r}"
    for payload in PAYLOADS:
        assert payload not in screen, f"{payload!r} reaches the terminal:\n{screen}"
    for text in shown:
        assert text in screen, f"{text!r} is not on the screen:\n{screen}"


async def shows(pilot: Pilot[Any], screen_type: type, settle: Settle) -> None:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, screen_type))
    await settle(pilot)
    await pilot.pause(0.3)  # debounced previews and rows that arrive from workers
    await settle(pilot)


def hostile_mailbox(tmp_path: Path) -> Mailbox:
    """A Maildir mailbox with a hostile name, address and last error, that holds one mail
    whose body carries the escapes; polled once, so the mail waits for review."""
    root = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True)
    body = f"Look:\n{HOSTILE}\n".encode()
    (root / "new" / "1.host").write_bytes(
        mail(subject="Held one", sender="stranger@nowhere.example").replace(
            b"the printer jams", body
        )
    )
    mailbox = Mailbox.create(
        name=HOSTILE,
        address=f"{HOSTILE}@helpdesk.example",
        display_name=HOSTILE,
        status="active",
        protocol="maildir",
        maildir_path=str(root),
        unknown_sender="hold",
    )
    assert Poller(database_proxy.obj).poll(mailbox).held == 1
    InboundMail.update(subject=HOSTILE, from_addr=f"{HOSTILE}@evil.example").execute()
    Mailbox.update(last_error=HOSTILE, consecutive_failures=3).where(
        Mailbox.id == mailbox.id
    ).execute()
    return Mailbox.get_by_id(mailbox.id)


def hostile_ticket() -> Ticket:
    """A ticket whose subject, last message's author, body and attachment name are hostile."""
    ticket = Ticket.select().order_by(Ticket.id).first()
    Ticket.update(subject=f"Hi {HOSTILE}").where(Ticket.id == ticket.id).execute()
    message_id = add_message(
        NewMessage(
            ticket=ticket.id,
            direction="in",
            author_name=HOSTILE,
            author_email="m@evil.example",
            new_part=f"Body {HOSTILE}",
        )
    )
    add_attachment(message_id, b"x", f"{HOSTILE}.pdf")
    return Ticket.get_by_id(ticket.id)


# --- the administrator's screens ------------------------------------------------------------


async def test_the_mailboxes_their_form_and_their_test_show_hostile_names_inert(
    demo_database: Path, make_app: MakeApp, settle: Settle, tmp_path: Path
) -> None:
    Mailbox.delete().execute()
    hostile_mailbox(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert_inert(app)  # the status bar names the failing mailbox
        await pilot.press("f4")
        await shows(pilot, MailboxesScreen, settle)
        assert_inert(app, SHOWN)  # name, address and last error
        await pilot.press("s")  # a toast names the mailbox
        await wait_until(pilot, lambda: f"{SHOWN} is" in "\n".join(rendered(app)))
        assert_inert(app, f"{SHOWN} is")
        await pilot.press("t")
        await shows(pilot, ConnectionTestScreen, settle)
        assert_inert(app, SHOWN)
        await pilot.press("escape")
        await pilot.press("e")
        await shows(pilot, MailboxFormScreen, settle)
        assert_inert(app, SHOWN)


async def test_the_mailbox_content_and_the_raw_mail_show_held_mail_inert(
    demo_database: Path, make_app: MakeApp, settle: Settle, tmp_path: Path
) -> None:
    Mailbox.delete().execute()
    hostile_mailbox(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await shows(pilot, MailboxesScreen, settle)
        await pilot.press("c")
        await shows(pilot, MailboxContentScreen, settle)
        assert_inert(app, SHOWN, f"From {SHOWN}@evil.example")  # subject and sender
        await pilot.press("v")
        await shows(pilot, RawMailScreen, settle)
        assert_inert(app, SHOWN)  # the body as stored


async def test_the_review_and_its_ticket_dialog_show_held_mail_inert(
    demo_database: Path, make_app: MakeApp, settle: Settle, tmp_path: Path
) -> None:
    Mailbox.delete().execute()
    hostile_mailbox(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await shows(pilot, ReviewScreen, settle)
        assert_inert(app, SHOWN)
        await pilot.press("c")  # a ticket from the held mail: its sender is offered
        await shows(pilot, CreateTicketScreen, settle)
        assert_inert(app, f"{SHOWN}@evil.example")


async def test_the_new_ticket_dialog_shows_a_hostile_sender_inert(
    database: Path, make_app: MakeApp, settle: Settle
) -> None:
    """The review hands the dialog senders made safe already; the dialog does not count on it."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(CreateTicketScreen([f"{HOSTILE} <m@evil.example>"]))
        await shows(pilot, CreateTicketScreen, settle)
        assert_inert(app, f"New ticket from {SHOWN} <m@evil.example>")


@pytest.mark.servers
async def test_the_sign_in_dialog_shows_a_hostile_mailbox_name_inert(
    database: Path, make_app: MakeApp, settle: Settle, oauth: OAuthServer
) -> None:
    client = oauth.register_client()
    oauth.device_user = "support@example.com"
    oauth.pending_polls = 1
    Mailbox.create(
        name=HOSTILE,
        address="support@example.com",
        protocol="imap",
        host="127.0.0.1",
        port=1,
        security="plain",
        username="support@example.com",
        **microsoft_settings(oauth, client),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await shows(pilot, MailboxesScreen, settle)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, AuthorizeScreen))
        dialog = app.screen
        assert isinstance(dialog, AuthorizeScreen)
        await wait_until(pilot, lambda: dialog.outcome is not None)
        await pilot.pause(0.2)
        assert_inert(app, f"Signing in mailbox {SHOWN}", f"Mailbox '{SHOWN}' is authorized")


async def test_the_trace_shows_hostile_lines_and_runs_inert(
    demo_database: Path, make_app: MakeApp, settle: Settle, now: Any
) -> None:
    mailbox = Mailbox.get()
    Mailbox.update(name=HOSTILE).where(Mailbox.id == mailbox.id).execute()
    TraceLine.create(mailbox=mailbox, at=now, level="error", text=f"S: {HOSTILE}")
    PollRun.create(mailbox=mailbox, started_at=now, ok=False, error=f"refused {HOSTILE}")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await shows(pilot, TraceScreen, settle)
        assert_inert(app, f"S: {SHOWN}", f"refused {SHOWN}", f"Poll runs of {SHOWN}")


async def test_the_template_editor_and_its_previews_show_hostile_text_inert(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    ticket = hostile_ticket()
    name = template_names()[0]
    Template.create(
        name=name,
        subject=f"S {HOSTILE}",
        body_text=f"T {HOSTILE}\nAbout: {{{{ ticket.subject }}}}\n",
        body_html=f"<p>H {HOSTILE}</p><p>On: {{{{ ticket.subject }}}}</p>",
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await shows(pilot, TemplatesScreen, settle)
        screen = app.screen
        assert isinstance(screen, TemplatesScreen)
        await pilot.press("ctrl+t", *ticket.display_number)
        await wait_until(pilot, lambda: f"#{ticket.display_number}" in "\n".join(rendered(app)))
        assert_inert(app, f"S {SHOWN}", f"T {SHOWN}", f"About: Hi {SHOWN}")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: "HTML part shown as text" in "\n".join(rendered(app)))
        assert_inert(app, f"H {SHOWN}", f"On: Hi {SHOWN}")


async def test_the_settings_show_hostile_values_and_mailbox_names_inert(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    Mailbox.update(name=HOSTILE).execute()
    global_settings.set_value("helpdesk_name", f"Desk {HOSTILE}")
    global_settings.set_value("default_outgoing_mailbox", HOSTILE)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await shows(pilot, SettingsScreen, settle)
        assert_inert(app, f"Desk {SHOWN}", SHOWN)


# --- the agent's screens --------------------------------------------------------------------


async def test_the_queue_and_the_thread_show_a_hostile_ticket_inert(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: OpenThread
) -> None:
    ticket = hostile_ticket()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "slash", *ticket.display_number, "enter")
        await settle(pilot)
        assert_inert(app, f"Hi {SHOWN}")
        await pilot.press("enter")
        await shows(pilot, ThreadScreen, settle)
        await pilot.press("end")
        await settle(pilot)
        assert_inert(app, f"Hi {SHOWN}", f"Body {SHOWN}", f"{SHOWN}.pdf")


async def test_the_attachments_dialog_shows_hostile_file_names_inert(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: OpenThread
) -> None:
    ticket = hostile_ticket()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, ticket.subject)
        await pilot.press("s")
        await shows(pilot, SaveAttachmentsScreen, settle)
        assert_inert(app, f"{SHOWN}.pdf")


async def test_the_composer_and_its_preview_show_a_hostile_subject_inert(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: OpenThread
) -> None:
    ticket = hostile_ticket()
    app = make_app(operator_name=f"Olga {HOSTILE}", operator_email="olga@helpdesk.example")
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, ticket.subject)
        await pilot.press("r")
        await shows(pilot, ComposeScreen, settle)
        assert_inert(app, f"Hi {SHOWN}")
        await pilot.press(*"Done.", "ctrl+r")
        await shows(pilot, PreviewScreen, settle)
        assert_inert(app, f"Hi {SHOWN}")

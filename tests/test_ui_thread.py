"""A ticket's thread in the TUI: what it shows, and what an agent does from it (reply, note,
status, priority, department, agent, close, save attachments), driven at 80×24."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ingest_helpers import smtp_settings
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Button, Collapsible, Input, Static, TextArea

from tuidesk.core.store.models import Agent, Department, Mailbox, Message, Outbox, Ticket
from tuidesk.core.tickets import NewMessage, add_message
from tuidesk.ui.app import TuideskApp
from tuidesk.ui.screens.compose import ComposeScreen, PreviewScreen
from tuidesk.ui.screens.queue import QueueScreen
from tuidesk.ui.screens.thread import EARLIER_BATCH, SHOWN_AT_FIRST, ThreadScreen
from tuidesk.ui.widgets.thread_entry import ThreadEntry

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
Settle = Callable[[Pilot[Any]], Awaitable[None]]
MakeApp = Callable[..., TuideskApp]
OpenThread = Callable[[Pilot[Any], str], Awaitable[Ticket]]
Choose = Callable[[Pilot[Any], str], Awaitable[None]]
OPERATOR = {"operator_name": "Olga Operator", "operator_email": "olga@helpdesk.example"}


def plain(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def entries(app: TuideskApp) -> list[ThreadEntry]:
    return list(app.screen.query(ThreadEntry))


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not become true in time"
        await pilot.pause(0.05)


# --- what the thread shows -----------------------------------------------------------------


async def test_the_header_names_number_status_priority_contact_client_department_agent_mailbox(
    demo_database: Path, make_app: MakeApp, open_thread: OpenThread
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        ticket = await open_thread(pilot, "VPN drops every 10 minutes since Monday")
        title = plain(app.screen.query_one("#thread-title", Static))
        meta = plain(app.screen.query_one("#thread-meta", Static))
    assert title == f"#{ticket.display_number}  VPN drops every 10 minutes since Monday"
    assert meta == (
        "open · high priority · Maria Lopez <maria.lopez@acme-logistics.example> · "
        "Acme Logistics · Support · agent Dana Whitfield · via Demo support"
    )


async def test_messages_come_in_order_with_their_direction_author_and_date(
    demo_database: Path, make_app: MakeApp, open_thread: OpenThread
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "VPN drops every 10 minutes since Monday")
        shown = [
            plain(entry.query_one(".entry-header", Static)).split(" · ")[:3:2]
            for entry in entries(app)
        ]
    assert shown == [
        ["Customer", "Maria Lopez <maria.lopez@acme-logistics.example>"],
        ["Automatic", "Helpdesk Support <support@helpdesk.example>"],
        ["Agent reply", "Dana Whitfield <dana@helpdesk.example>"],
        ["Customer", "Maria Lopez <maria.lopez@acme-logistics.example>"],
        ["Internal note", "Dana Whitfield <dana@helpdesk.example>"],
    ]


async def test_the_quoted_part_is_folded_and_opens_with_a_click(
    demo_database: Path, make_app: MakeApp, open_thread: OpenThread
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "VPN drops every 10 minutes since Monday")
        reply = entries(app)[3]
        assert plain(reply.query_one(".entry-body", Static)).startswith("Here is the log")
        quoted = reply.query_one(Collapsible)
        assert quoted.collapsed and "Quoted text" in str(quoted.title)
        reply.scroll_visible(animate=False, immediate=True)
        await pilot.pause()
        await pilot.click(quoted.query_one("CollapsibleTitle"))
        await pilot.pause()
        assert not quoted.collapsed
        assert "Could you send us the VPN client log" in plain(
            quoted.query_one(".entry-quoted-text", Static)
        )


async def test_z_opens_and_folds_every_quoted_part(
    demo_database: Path, make_app: MakeApp, open_thread: OpenThread
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "VPN drops every 10 minutes since Monday")
        await pilot.press("z")
        assert not any(c.collapsed for c in app.screen.query(Collapsible))
        await pilot.press("z")
        assert all(c.collapsed for c in app.screen.query(Collapsible))


async def test_html_only_mail_is_shown_as_text(
    demo_database: Path, make_app: MakeApp, open_thread: OpenThread
) -> None:
    ticket = Ticket.get(Ticket.subject == "Monitor flickering")
    add_message(
        NewMessage(
            ticket=ticket.id,
            direction="in",
            author_email="leo@harborfinch.example",
            html="<html><style>p {color: red}</style><p>Now it <b>also</b> beeps</p>"
            "<p>Leo &amp; team</p></html>",
        )
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "Monitor flickering")
        body = plain(entries(app)[-1].query_one(".entry-body", Static))
    assert body == "Now it also beeps\n\nLeo & team" or body == "Now it also beeps\nLeo & team"


async def test_attachments_are_listed_with_size_and_type(
    demo_database: Path, make_app: MakeApp, open_thread: OpenThread
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "VPN drops every 10 minutes since Monday")
        bodies = [plain(s) for s in app.screen.query(".entry-body").results(Static)]
    assert bodies[3].splitlines()[-1] == "▪ vpn-client.log (214 B, text/plain)"


async def test_opening_an_unread_ticket_marks_it_read(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: OpenThread
) -> None:
    assert Ticket.get(Ticket.subject == "Printer on 2nd floor shows offline").unread
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        ticket = await open_thread(pilot, "Printer on 2nd floor shows offline")
        await settle(pilot)
        assert not Ticket.get_by_id(ticket.id).unread
        await pilot.press("escape")
        await settle(pilot)
        number_cell = app.screen.query_one("#queue-table").get_row_at(0)[0]
        assert number_cell.plain == f"  {ticket.display_number}"  # no unread marker any more


async def test_a_long_thread_opens_with_its_latest_messages_and_shows_the_rest_on_demand(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: OpenThread
) -> None:
    ticket = Ticket.get(Ticket.subject == "Receipt for March")
    for number in range(EARLIER_BATCH + SHOWN_AT_FIRST + 5):
        add_message(NewMessage(ticket=ticket.id, direction="note", new_part=f"note {number}"))
    total = ticket.messages.count()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "Receipt for March")
        assert len(entries(app)) == SHOWN_AT_FIRST
        assert plain(entries(app)[-1].query_one(".entry-body", Static)) == (
            f"note {EARLIER_BATCH + SHOWN_AT_FIRST + 4}"
        )
        earlier = total - SHOWN_AT_FIRST
        button = app.screen.query_one("#thread-earlier", Button)
        assert str(button.label) == f"Show {EARLIER_BATCH} earlier messages (of {earlier})"
        for _ in range(2):
            app.screen.query_one("#thread-messages").scroll_home(animate=False, immediate=True)
            await pilot.pause()
            await pilot.click("#thread-earlier")
            await settle(pilot)
        shown = [entry.entry.message_id for entry in entries(app)]
        assert shown == [m.id for m in ticket.messages.order_by(Message.created_at, Message.id)]
        assert not app.screen.query(Button)


# --- acting from the thread ----------------------------------------------------------------


async def test_a_reply_is_shown_at_once_as_queued(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: OpenThread
) -> None:
    Mailbox.update(smtp_enabled=True, smtp_host="127.0.0.1", smtp_port=9).execute()
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        ticket = await open_thread(pilot, "Printer on 2nd floor shows offline")
        await pilot.press("r")
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press(*"HP one?", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        last = entries(app)[-1]
        header = plain(last.query_one(".entry-header", Static))
    assert header.startswith("Agent reply")
    assert "queued, not sent yet" in header and "Olga Operator" in header
    assert Outbox.get(Outbox.ticket == ticket.id, Outbox.kind == "reply").state == "queued"


async def test_a_reply_reaches_the_customer_through_smtp_and_then_shows_as_sent(
    demo_database: Path,
    make_app: MakeApp,
    settle: Settle,
    open_thread: OpenThread,
    smtp_server: Any,
) -> None:
    Mailbox.update(**smtp_settings(smtp_server)).execute()
    app = make_app(poll=True, **OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        ticket = await open_thread(pilot, "Printer on 2nd floor shows offline")
        await pilot.press("r", *"Check the cable.", "ctrl+s")
        [received] = smtp_server.wait_for(1, timeout=10)
        await wait_for(
            pilot, lambda: "· sent ·" in plain(entries(app)[-1].query_one(".entry-header", Static))
        )
    message = received.message
    assert received.rcpt_tos == ("t.becker@acmefreight.example",)
    assert f"[#{ticket.display_number}]" in message["Subject"]
    assert "Check the cable." in message.get_body(("plain",)).get_content()


async def test_the_preview_shows_the_reply_as_the_customer_gets_it(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: OpenThread
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "Printer on 2nd floor shows offline")
        await pilot.press("r", *"Off and on.", "ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, PreviewScreen)
        text = plain(app.screen.query_one("#preview-body Static", Static))
        assert "Off and on." in text
        await pilot.press("escape")
        assert isinstance(app.screen, ComposeScreen)


async def test_a_reply_carries_files_from_disk(
    demo_database: Path,
    make_app: MakeApp,
    settle: Settle,
    open_thread: OpenThread,
    tmp_path: Path,
) -> None:
    Mailbox.update(smtp_enabled=True, smtp_host="127.0.0.1", smtp_port=9).execute()
    report = tmp_path / "steps.txt"
    report.write_text("1. unplug\n2. plug\n")
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "Printer on 2nd floor shows offline")
        await pilot.press("r", *"Steps.")
        app.screen.query_one("#compose-files", Input).value = str(report)
        await pilot.press("ctrl+s")
        await settle(pilot)
        body = plain(entries(app)[-1].query_one(".entry-body", Static))
    assert body.splitlines()[-1].startswith("▪ steps.txt (18 B, text/plain")


async def test_an_internal_note_is_added_and_nothing_is_sent(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: OpenThread
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        ticket = await open_thread(pilot, "Printer on 2nd floor shows offline")
        await pilot.press("n", *"The switch?", "ctrl+s")
        await settle(pilot)
        last = entries(app)[-1]
        assert plain(last.query_one(".entry-header", Static)).startswith("Internal note")
    assert Message.get(Message.ticket == ticket.id, Message.direction == "note")
    assert Outbox.select().where(Outbox.ticket == ticket.id).count() == 0


async def test_an_empty_reply_is_refused_and_the_composer_stays(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: OpenThread
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "Printer on 2nd floor shows offline")
        await pilot.press("r", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)


async def test_escape_asks_before_throwing_a_draft_away(
    demo_database: Path,
    make_app: MakeApp,
    settle: Settle,
    open_thread: OpenThread,
    choose: Choose,
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "Printer on 2nd floor shows offline")
        await pilot.press("r", *"half", "escape")
        await choose(pilot, "Keep writing")
        assert app.screen.query_one(TextArea).text == "half"
        await pilot.press("escape")
        await choose(pilot, "Discard the draft")
        assert isinstance(app.screen, ThreadScreen)


async def test_status_priority_department_and_agent_change_from_the_thread(
    demo_database: Path,
    make_app: MakeApp,
    settle: Settle,
    open_thread: OpenThread,
    choose: Choose,
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        ticket = await open_thread(pilot, "Printer on 2nd floor shows offline")
        await pilot.press("t")
        await choose(pilot, "pending")
        await pilot.press("p")
        await choose(pilot, "urgent")
        await pilot.press("d")
        await choose(pilot, "Billing")
        await pilot.press("g")
        await choose(pilot, "Lena Novak")
        await settle(pilot)
        meta = plain(app.screen.query_one("#thread-meta", Static))
    changed = Ticket.get_by_id(ticket.id)
    assert (changed.status, changed.priority) == ("pending", "urgent")
    assert changed.department == Department.get(Department.name == "Billing")
    assert changed.assignee == Agent.get(Agent.name == "Lena Novak")
    assert meta.startswith("pending · urgent priority ·")
    assert "Billing · agent Lena Novak" in meta


async def test_close_closes_the_ticket_and_queues_the_customers_notice(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: OpenThread
) -> None:
    Mailbox.update(smtp_enabled=True, smtp_host="127.0.0.1", smtp_port=9).execute()
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        ticket = await open_thread(pilot, "Printer on 2nd floor shows offline")
        await pilot.press("x")
        await settle(pilot)
        assert plain(app.screen.query_one("#thread-meta", Static)).startswith("closed")
        events = [plain(s) for s in app.screen.query(".entry-event").results(Static)]
        assert any("changed the status from open to closed" in line for line in events)
    assert Ticket.get_by_id(ticket.id).status == "closed"
    assert Outbox.select().where(Outbox.ticket == ticket.id).count() == 1


async def test_attachments_are_saved_to_the_chosen_folder_without_overwriting(
    demo_database: Path,
    make_app: MakeApp,
    settle: Settle,
    open_thread: OpenThread,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "vpn-client.log").write_text("mine, keep me")
    app = make_app(attachments_dir=str(tmp_path / "default"))
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "VPN drops every 10 minutes since Monday")
        await pilot.press("s")
        field = app.screen.query_one("#attachments-folder", Input)
        assert field.value == str(tmp_path / "default")
        field.value = str(folder)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
    assert (folder / "vpn-client.log").read_text() == "mine, keep me"
    assert (folder / "vpn-client (1).log").read_bytes().startswith(b"09:02:11 connected")
    assert any("vpn-client (1).log" in n.message for n in app._notifications)


async def test_escape_goes_back_to_the_queue_where_it_was(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.query_one("#queue-table").cursor_row == 2


async def test_escapes_and_markup_in_a_message_are_shown_inert(
    demo_database: Path, make_app: MakeApp, open_thread: OpenThread
) -> None:
    from tuidesk.core.tickets import add_attachment

    ticket = Ticket.get(Ticket.subject == "Monitor flickering")
    message_id = add_message(
        NewMessage(
            ticket=ticket.id,
            direction="in",
            author_name="[red]Mallory\x1b[2J[/red]",
            author_email="m@evil.example",
            new_part="\x1b]0;pwned\x07Click [link=http://x]here[/link]\x1b[5m now",
        )
    )
    add_attachment(message_id, b"x", "\x1b[31minvoice\u202efdp.exe")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_thread(pilot, "Monitor flickering")
        last = entries(app)[-1]
        header = last.query_one(".entry-header", Static).content
        body = last.query_one(".entry-body", Static).content
    assert isinstance(header, Text) and isinstance(body, Text)
    assert "[red]Mallory[/red] <m@evil.example>" in header.plain
    assert body.plain.splitlines()[0] == "Click [link=http://x]here[/link] now"
    assert body.plain.splitlines()[1].startswith("▪ invoicefdp.exe (1 B")
    assert "\x1b" not in header.plain + body.plain

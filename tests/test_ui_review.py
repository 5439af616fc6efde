"""The Review mode: held and error mail, and what an operator does with it, down to the mail
on the server (Dovecot) getting its mailbox's disposition and losing its held flag."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ingest_helpers import imap_mailbox, poll
from mailgen import mail
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tuidesk.core.mail.source import HELD_KEYWORD
from tuidesk.core.store.models import (
    Client,
    ClientDomain,
    Contact,
    InboundMail,
    Mailbox,
    SenderBlock,
    Ticket,
)
from tuidesk.ui.app import TuideskApp
from tuidesk.ui.screens.create_ticket import CreateTicketScreen
from tuidesk.ui.screens.review import ReviewScreen

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
Settle = Callable[[Pilot[Any]], Awaitable[None]]
MakeApp = Callable[..., TuideskApp]
OPERATOR = {"operator_name": "Olga Operator", "operator_email": "olga@helpdesk.example"}


def column(app: TuideskApp, key: str) -> list[str]:
    table = app.screen.query_one("#review-table", DataTable)
    index = table.get_column_index(key)
    return [table.get_row_at(row)[index].plain for row in range(table.row_count)]


def plain(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def states() -> dict[str, str]:
    return {r.subject: r.state for r in InboundMail.select()}


async def open_review(pilot: Pilot[Any], settle: Settle) -> ReviewScreen:
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen)
    return screen


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not become true in time"
        await pilot.pause(0.05)


# --- the list ------------------------------------------------------------------------------


async def test_held_mail_is_listed_newest_first_with_the_reason_and_a_preview(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        assert column(app, "subject") == [
            "Partnership proposal",
            "Re: [#999999] my old ticket",
            "Can you quote 40 licences?",
        ]
        assert set(column(app, "reason")) == {"unknown sender"}
        preview = plain(app.screen.query_one("#review-preview", Static))
        assert "From bd@agency.example" in preview
        assert "We help helpdesks grow. Call us!" in preview
        await pilot.press("down")
        assert "Any news on this one?" in plain(app.screen.query_one("#review-preview", Static))


async def test_f2_and_f3_switch_between_the_queue_and_review(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        assert app.current_mode == "review"
        await pilot.press("f2")
        await settle(pilot)
        assert app.current_mode == "queue"


async def test_no_held_mail_says_so(demo_database: Path, make_app: MakeApp, settle: Settle) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        assert app.screen.query_one("#review-empty").display


# --- acting --------------------------------------------------------------------------------


async def test_several_marked_mails_are_rejected_at_once(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        await pilot.press("space", "space")  # marks the first two (the cursor moves down)
        assert column(app, "mark") == ["✓", "✓", " "]
        await pilot.press("x")
        await settle(pilot)
        assert column(app, "subject") == ["Can you quote 40 licences?"]
    assert states() == {
        "Partnership proposal": "rejected",
        "Re: [#999999] my old ticket": "rejected",
        "Can you quote 40 licences?": "held_for_review",
    }


async def test_append_adds_the_mail_to_a_ticket_by_its_number(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    ticket = Ticket.get(Ticket.subject == "Monitor flickering")
    before = ticket.messages.count()
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        await pilot.press("down", "a", *f"#{ticket.display_number}", "enter")
        await settle(pilot)
    assert states()["Re: [#999999] my old ticket"] == "reply_added"
    assert ticket.messages.count() == before + 1


async def test_block_sender_rejects_the_mail_and_blocks_the_address(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        await pilot.press("b")
        await settle(pilot)
    assert [b.pattern for b in SenderBlock.select()] == ["bd@agency.example"]
    assert states()["Partnership proposal"] == "rejected"


async def test_shift_b_blocks_the_senders_whole_domain_once_confirmed(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle, choose: Any
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        await pilot.press("B")
        await choose(pilot, "No")
        assert SenderBlock.select().count() == 0
        await pilot.press("B")
        await choose(pilot, "Yes")
        await settle(pilot)
    assert [b.pattern for b in SenderBlock.select()] == ["@agency.example"]


async def test_retry_processes_an_error_again(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    InboundMail.update(state="error", reason="processing_failed", detail="boom").where(
        InboundMail.subject == "Partnership proposal"
    ).execute()
    Mailbox.update(unknown_sender="create").where(Mailbox.id == held_mailbox.id).execute()
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        assert column(app, "reason")[0] == "error"
        await pilot.press("r")
        await settle(pilot)
        assert "Partnership proposal" not in column(app, "subject")
    assert states()["Partnership proposal"] == "ticket_created"


async def test_create_ticket_for_a_new_contact_of_a_client_and_adopt_the_domain(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        await pilot.press("down", "down", "c")  # "Can you quote 40 licences?"
        await settle(pilot)
        assert isinstance(app.screen, CreateTicketScreen)
        await pilot.press("tab", "enter")  # the client list opens
        await pilot.press("down", "enter")  # the first client, after "No client"
        await pilot.press("tab", "space", "ctrl+s")  # add the domain, create
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
    ticket = Ticket.get(Ticket.subject == "Can you quote 40 licences?")
    first_client = Client.select().order_by(Client.name).first()
    assert ticket.contact == Contact.get(Contact.email == "buyer@newcorp.example")
    assert ticket.client == first_client
    assert ClientDomain.get(ClientDomain.domain == "newcorp.example").client == first_client


async def test_create_ticket_for_an_existing_contact(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    known = Contact.create(email="procurement@newcorp.example", name="Newcorp Procurement")
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        await pilot.press("down", "down", "c")
        await settle(pilot)
        await pilot.press("enter", "down", "enter", "ctrl+s")  # the contact of the same domain
        await settle(pilot)
    assert Ticket.get(Ticket.subject == "Can you quote 40 licences?").contact == known


async def test_adding_a_domain_without_a_client_is_refused_in_the_dialog(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        await pilot.press("c", "tab", "tab", "space", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CreateTicketScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ReviewScreen)
    assert states()["Partnership proposal"] == "held_for_review"


# --- on the server -------------------------------------------------------------------------


async def test_rejected_mail_leaves_the_inbox_on_the_server_and_loses_its_flag(
    demo_database: Path, make_app: MakeApp, settle: Settle, dovecot: Any, mail_user: Any
) -> None:
    dovecot.append(mail_user, mail(sender="spam@nowhere.example", subject="Cheap pills"))
    mailbox = imap_mailbox(dovecot, mail_user, unknown_sender="hold")
    assert poll(mailbox).held == 1
    [inbox] = dovecot.messages(mail_user)
    assert HELD_KEYWORD in inbox.flags
    app = make_app(poll=True, **OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        await pilot.press("x")
        await wait_for(pilot, lambda: not dovecot.messages(mail_user))
    [moved] = dovecot.messages(mail_user, "Processed")
    assert moved.subject == "Cheap pills"
    assert HELD_KEYWORD not in moved.flags
    assert InboundMail.get().disposition_done


async def test_a_ticket_made_from_held_mail_takes_the_mail_off_the_server_inbox(
    demo_database: Path, make_app: MakeApp, settle: Settle, dovecot: Any, mail_user: Any
) -> None:
    dovecot.append(mail_user, mail(sender="new@prospect.example", subject="Demo please"))
    mailbox = imap_mailbox(dovecot, mail_user, unknown_sender="hold")
    assert poll(mailbox).held == 1
    app = make_app(poll=True, **OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        await pilot.press("c", "ctrl+s")
        await wait_for(pilot, lambda: not dovecot.messages(mail_user))
        await pilot.press("f2")
        await wait_for(pilot, lambda: any(row.subject == "Demo please" for row in app.screen.rows))
    [moved] = dovecot.messages(mail_user, "Processed")
    assert HELD_KEYWORD not in moved.flags
    assert Ticket.get(Ticket.subject == "Demo please").contact.email == "new@prospect.example"


async def test_the_status_bar_counts_the_held_mail(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "3 held" in plain(app.screen.query_one("#status-bar", Static))


async def test_append_to_something_that_is_not_a_ticket_number_is_refused(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(**OPERATOR)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        await pilot.press("a", *"soon", "enter")
        await settle(pilot)
        assert any("not a ticket number" in n.message for n in app._notifications)
    assert states()["Partnership proposal"] == "held_for_review"


async def test_escapes_in_held_mail_are_shown_inert(
    demo_database: Path, held_mailbox: Mailbox, make_app: MakeApp, settle: Settle
) -> None:
    InboundMail.update(
        subject="\x1b[31mURGENT\x1b[0m [b]pay[/b]", from_addr="x\x1b]0;t\x07@y"
    ).where(InboundMail.subject == "Partnership proposal").execute()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot, settle)
        assert column(app, "subject")[0] == "URGENT [b]pay[/b]"
        assert column(app, "sender")[0] == "x@y"
        assert "URGENT [b]pay[/b]" in plain(app.screen.query_one("#review-preview", Static))

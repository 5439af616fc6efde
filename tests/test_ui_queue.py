"""The TUI's queue, thread view, keys and themes, driven like a person would at 80×24."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from tuidesk.core.settings import load_settings
from tuidesk.core.store.models import Department, Mailbox, Ticket
from tuidesk.ui.app import TuideskApp, binding_ids
from tuidesk.ui.screens.queue import QueueScreen, short_count
from tuidesk.ui.screens.thread import ThreadEntry, ThreadScreen
from tuidesk.ui.widgets.ticket_table import age, column_widths

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
Settle = Callable[[Pilot[Any]], Awaitable[None]]
MakeApp = Callable[..., TuideskApp]
Choose = Callable[[Pilot[Any], str], Awaitable[None]]


def table_of(app: TuideskApp) -> DataTable[Text]:
    return app.screen.query_one("#queue-table", DataTable)


def column(app: TuideskApp, key: str) -> list[str]:
    """The plain text of one column, top to bottom, as shown."""
    table = table_of(app)
    index = table.get_column_index(key)
    return [table.get_row_at(row)[index].plain for row in range(table.row_count)]


def summary(app: TuideskApp) -> str:
    content = app.screen.query_one("#queue-summary", Static).content
    return content.plain if isinstance(content, Text) else str(content)


# --- the queue -----------------------------------------------------------------------------


async def test_the_queue_lists_the_active_demo_tickets_newest_first(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        expected = (
            Ticket.select()
            .where(Ticket.status != "closed")
            .order_by(Ticket.last_activity_at.desc())
        )
        assert column(app, "number") == [
            ("● " if t.unread else "  ") + t.display_number for t in expected
        ]


async def test_the_header_line_shows_the_counts_and_the_active_filter(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        line = summary(app)
        for status in ("open", "pending", "closed"):
            count = Ticket.select().where(Ticket.status == status).count()
            assert f"{status.title()} {count}" in line
        assert "by activity" in line


async def test_number_keys_switch_the_status_filter(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown: dict[str, set[str]] = {}
        for key, name in [("2", "open"), ("3", "pending"), ("4", "closed"), ("5", "all")]:
            await pilot.press(key)
            await settle(pilot)
            shown[name] = set(column(app, "status"))
        await pilot.press("1")
        await settle(pilot)
        shown["active"] = set(column(app, "status"))
    assert shown == {
        "open": {"open"},
        "pending": {"pending"},
        "closed": {"closed"},
        "all": {"open", "pending", "closed"},
        "active": {"open", "pending"},
    }


async def test_search_by_a_word_of_the_subject(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"printer", "enter")
        await settle(pilot)
        assert column(app, "subject") == ["Printer on 2nd floor shows offline"]
        assert app.focused is table_of(app)


async def test_search_by_ticket_number(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    wanted = Ticket.get(Ticket.subject == "Teams calls drop audio")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *f"#{wanted.display_number}", "enter")
        await settle(pilot)
        assert column(app, "number") == [f"  {wanted.display_number}"]


async def test_escape_clears_the_search(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"printer", "enter")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert table_of(app).row_count == Ticket.select().where(Ticket.status != "closed").count()
        assert app.screen.query_one("#queue-search", Input).value == ""


async def test_a_search_without_results_says_so(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"no such thing", "enter")
        await settle(pilot)
        assert table_of(app).row_count == 0
        assert app.screen.query_one("#queue-empty").display


async def test_search_finds_words_of_the_messages_and_phrases(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"keepalive", "enter")  # only in an agent's note
        await settle(pilot)
        assert column(app, "subject") == ["VPN drops every 10 minutes since Monday"]
        search = app.screen.query_one("#queue-search", Input)
        search.value = '"duplicate capture"'
        await pilot.press("slash", "enter")
        await settle(pilot)
        assert column(app, "subject") == ["Invoice INV-2291 charged twice"]


async def test_a_search_that_cannot_run_says_why_and_leaves_the_queue_as_it_was(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = column(app, "number")
        await pilot.press("slash", *"status:bogus", "enter")
        await settle(pilot)
        assert column(app, "number") == before
        search = app.screen.query_one("#queue-search", Input)
        assert search.value == "status:bogus" and app.focused is search
        [notice] = app._notifications
        assert "status:bogus is not a ticket status" in notice.message
        assert notice.severity == "error"


async def test_the_status_keys_and_the_counts_apply_to_the_search(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"contacting", "enter")  # every auto-response has it
        await settle(pilot)
        active = Ticket.select().where(Ticket.status != "closed").count()
        assert table_of(app).row_count == active
        assert f"All {Ticket.select().count()}" in summary(app)
        await pilot.press("4")
        await settle(pilot)
        assert set(column(app, "status")) == {"closed"}
        await pilot.press("slash", *" status:open", "enter")  # the query's status wins
        await settle(pilot)
        assert app.screen.queue_filter.status == "all"
        opened = Ticket.select().where(Ticket.status == "open").count()
        assert set(column(app, "status")) == {"open"}
        assert table_of(app).row_count == opened


async def test_search_results_are_read_a_page_at_a_time(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(page_size=10)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("slash", *"contacting", "enter")
        await settle(pilot)
        assert table_of(app).row_count == 10
        await pilot.press("ctrl+end")
        await settle(pilot)
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert table_of(app).row_count == Ticket.select().count() == 25
        assert len(set(column(app, "number"))) == 25


async def test_s_changes_the_sort_column_and_r_reverses_it(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")  # activity -> number
        await settle(pilot)
        numbers = column(app, "number")
        assert numbers == sorted(numbers, key=lambda n: n[2:])
        await pilot.press("r")
        await settle(pilot)
        assert column(app, "number") == sorted(numbers, key=lambda n: n[2:], reverse=True)
        assert "by number" in summary(app)


async def test_m_shows_only_the_operators_tickets(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(operator_email="ravi@helpdesk.example")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        rows = column(app, "number")
        assert rows
        for number in rows:
            assert Ticket.get(Ticket.number == int(number[2:])).assignee.name == "Ravi Patel"
        assert "mine" in summary(app)


async def test_rows_are_read_a_page_at_a_time_as_the_cursor_moves_down(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(page_size=10)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        assert table_of(app).row_count == 10
        for _ in range(8):
            await pilot.press("down")
        await settle(pilot)
        assert table_of(app).row_count == 20
        await pilot.press("ctrl+end")
        await settle(pilot)
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert table_of(app).row_count == Ticket.select().count() == 25


# --- filters and actions on the ticket under the cursor ----------------------------------


async def test_f_filters_the_queue_by_department(
    demo_database: Path, make_app: MakeApp, settle: Settle, choose: Choose
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "f")
        await choose(pilot, "Department…")
        await choose(pilot, "Billing")
        assert set(column(app, "department")) == {"Billing"}
        assert table_of(app).row_count == (
            Ticket.select().join(Department).where(Department.name == "Billing").count()
        )
        assert "Billing ·" in summary(app)


async def test_f_filters_the_queue_by_agent(
    demo_database: Path, make_app: MakeApp, settle: Settle, choose: Choose
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "f")
        await choose(pilot, "Agent…")
        await choose(pilot, "Lena Novak")
        assert set(column(app, "assignee")) == {"Lena Novak"}


async def test_f_filters_the_queue_by_priority_and_shift_f_clears_every_filter(
    demo_database: Path, make_app: MakeApp, settle: Settle, choose: Choose
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await choose(pilot, "Priority…")
        await choose(pilot, "urgent")
        assert set(column(app, "priority")) == {"urgent"}
        await pilot.press("F")
        await settle(pilot)
        assert table_of(app).row_count == Ticket.select().where(Ticket.status != "closed").count()
        assert "urgent" not in summary(app)


async def test_the_palette_filters_the_queue_by_mailbox(
    demo_database: Path, make_app: MakeApp, settle: Settle, add_ticket: Callable[..., Ticket]
) -> None:
    other = Mailbox.create(name="sales-inbox", address="sales@helpdesk.example")
    elsewhere = add_ticket("Came in by the sales address")
    Ticket.update(mailbox=other).where(Ticket.id == elsewhere.id).execute()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"mailbox sales-inbox")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert column(app, "subject") == ["Came in by the sales address"]
        assert "sales-inbox" in summary(app)


async def test_a_assigns_the_ticket_under_the_cursor_to_the_operator(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(operator_name="Olga Operator", operator_email="olga@helpdesk.example")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "a")
        await settle(pilot)
        ticket_id = app.screen.rows[1].ticket_id
        assert column(app, "assignee")[1] == "Olga Operator"
        assert table_of(app).cursor_row == 1
    assert Ticket.get_by_id(ticket_id).assignee.email == "olga@helpdesk.example"


async def test_without_an_operator_address_assigning_to_me_says_what_to_set(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert any("[operator] email" in n.message for n in app._notifications)


async def test_x_closes_the_ticket_under_the_cursor(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(operator_name="Olga Operator", operator_email="olga@helpdesk.example")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ticket_id = app.screen.rows[0].ticket_id
        await pilot.press("x")
        await settle(pilot)
        assert ticket_id not in [row.ticket_id for row in app.screen.rows]  # active: gone
    assert Ticket.get_by_id(ticket_id).status == "closed"


async def test_p_and_t_change_priority_and_status(
    demo_database: Path, make_app: MakeApp, settle: Settle, choose: Choose
) -> None:
    app = make_app(operator_name="Olga Operator", operator_email="olga@helpdesk.example")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "slash", *"Printer", "enter")
        await settle(pilot)
        await pilot.press("p")
        await choose(pilot, "low")
        await pilot.press("t")
        await choose(pilot, "pending")
        assert (column(app, "priority"), column(app, "status")) == (["low"], ["pending"])
    ticket = Ticket.get(Ticket.subject == "Printer on 2nd floor shows offline")
    assert (ticket.priority, ticket.status) == ("low", "pending")


# --- the thread ----------------------------------------------------------------------------


async def test_enter_opens_the_thread_and_escape_returns_to_the_queue(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = table_of(app).get_row_at(0)[0].plain[2:]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ThreadScreen)
        ticket = Ticket.get(Ticket.number == int(first))
        title = app.screen.query_one("#thread-title", Static).content
        assert str(title).startswith(f"#{first}  {ticket.subject}")
        entries = list(app.screen.query(ThreadEntry))
        assert len(entries) == ticket.messages.count() >= 3
        assert entries[0].entry.kind == "in"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)


async def test_the_thread_lists_attachments(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"VPN drops", "enter")
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause()
        texts = [str(s.content) for s in app.screen.query(".entry-body").results(Static)]
        assert any("vpn-client.log" in text for text in texts)


async def test_mail_text_with_escapes_and_markup_is_shown_inert(
    demo_database: Path, make_app: MakeApp, settle: Settle, add_ticket: Callable[..., Ticket]
) -> None:
    hostile = "\x1b[31mAlarm\x1b[0m [bold]now[/bold] \x1b]0;owned\x07\u202egpj.exe"
    ticket = add_ticket(hostile, address="x@evil.example", unread=True)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        cell = table_of(app).get_row_at(0)[table_of(app).get_column_index("subject")]
        assert cell.plain == "Alarm [bold]now[/bold] gpj.exe"
        assert cell.spans == []  # nothing was parsed as markup
        await pilot.press("enter")
        await pilot.pause()
        title = app.screen.query_one("#thread-title", Static).content
        assert str(title) == f"#{ticket.display_number}  Alarm [bold]now[/bold] gpj.exe"


# --- keys, help and themes -----------------------------------------------------------------


async def test_a_key_remapped_in_the_settings_keymap_works(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(keymap={"queue.filter.closed": "c"})  # c is free on the queue
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert set(column(app, "status")) == {"closed"}


async def test_a_thread_key_remapped_in_the_keymap_works(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(keymap={"thread.reply": "e"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert type(app.screen).__name__ == "ComposeScreen"


async def test_a_click_on_a_ticket_opens_its_thread(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        second = app.screen.rows[1].ticket_id
        await pilot.click("#queue-table", offset=(20, 2))  # the header is row 0
        await settle(pilot)
        if not isinstance(app.screen, ThreadScreen):  # the first click moved the cursor there
            await pilot.click("#queue-table", offset=(20, 2))
            await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert app.screen.ticket_id == second


async def test_the_palette_switches_to_review(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"Go to Review")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "review"


async def test_an_unknown_binding_id_in_the_keymap_is_reported(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(keymap={"queue.no-such-thing": "x"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert any("queue.no-such-thing" in n.message for n in app._notifications)


def test_every_binding_of_every_screen_has_an_id() -> None:
    from tuidesk.ui.app import binding_owners

    missing = [
        f"{owner.__name__}: {binding.key}"
        for owner in binding_owners()
        for binding in owner.BINDINGS
        if not isinstance(binding, Binding) or not binding.id
    ]
    assert missing == []


def test_the_binding_ids_name_the_main_actions() -> None:
    assert {"app.quit", "app.help", "queue.open", "queue.search", "thread.back"} <= binding_ids()
    assert {f"queue.filter.{s}" for s in ("active", "open", "pending", "closed", "all")} <= (
        binding_ids()
    )


async def test_question_mark_shows_and_hides_the_keys(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        await pilot.press("question_mark")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")


async def test_the_theme_from_the_settings_is_applied(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(theme="tuidesk-light")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "tuidesk-light"


async def test_an_unknown_theme_falls_back_to_the_default_with_a_notice(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app(theme="no-such-theme")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "tuidesk-dark"
        assert any("no-such-theme" in n.message for n in app._notifications)


async def test_a_theme_file_in_the_users_themes_folder_can_be_used(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    probe = make_app()
    probe.context.paths.user_themes.mkdir(parents=True)
    (probe.context.paths.user_themes / "mine.toml").write_text(
        'name = "my-theme"\nprimary = "#884488"\ndark = true\n', encoding="utf-8"
    )
    app = make_app(theme="my-theme")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "my-theme"


async def test_switching_theme_in_the_palette_applies_and_saves_it(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"Switch theme: tuidesk-light")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert app.theme == "tuidesk-light"
    assert load_settings(app.context.paths.config_file).theme == "tuidesk-light"


async def test_the_palette_offers_the_queue_filters(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"Queue: pending tickets")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert set(column(app, "status")) == {"pending"}


async def test_a_wider_terminal_gives_the_subject_more_room(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        subject = table_of(app).columns["subject"]
        narrow = subject.width
        await pilot.resize_terminal(140, 30)
        await settle(pilot)
        assert table_of(app).columns["subject"].width > narrow
        assert table_of(app).row_count > 0


def test_run_tui_reports_a_database_it_cannot_open(
    make_context: Callable[..., Any], tmp_path: Path, capsys: Any
) -> None:
    from dataclasses import replace

    from tuidesk.ui.app import run_tui

    context = replace(make_context(), database=str(tmp_path))  # a folder, not a file
    assert run_tui(context) == 1
    assert "cannot be opened" in capsys.readouterr().err


async def test_the_queue_fits_80_columns_with_the_main_columns_visible(
    demo_database: Path, make_app: MakeApp, settle: Settle
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        visible = table.scrollable_content_region.width
        widths = column_widths(80)
        first_six = ["number", "status", "priority", "subject", "contact", "last_activity"]
        assert sum(widths[key] + 2 for key in first_six) <= visible


def test_counts_in_the_header_stay_short() -> None:
    assert [short_count(n) for n in (7, 9876, 40201, 100000, 1234567)] == [
        "7",
        "9876",
        "40.2k",
        "100k",
        "1.2M",
    ]


def test_age_is_short_and_relative(now: datetime) -> None:
    from datetime import timedelta

    cases = {0: "now", 5: "5m ago", 180: "3h ago", 3 * 1440: "3d ago", 21 * 1440: "3w ago"}
    assert {m: age(now - timedelta(minutes=m), now) for m in cases} == cases
    assert all(len(age(now - timedelta(days=d), now)) <= 9 for d in range(0, 4000, 7))


def test_the_queue_at_80x24_with_the_demo_data(
    demo_database: Path, make_app: MakeApp, settle: Settle, snap_compare: Any
) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=settle)

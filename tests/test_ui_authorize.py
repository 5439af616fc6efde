"""Signing an OAuth2 mailbox in from the Mailboxes mode: the Microsoft 365 device code and its
address shown in the TUI, against the local HTTPS token endpoint (like `tuidesk mailbox
authorize`), a refused sign-in in one sentence, escape cancelling, client credentials checked,
and a password mailbox told so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rich.text import Text
from servers.oauth_server import (  # noqa: F401
    OAuthServer,
    microsoft_settings,
    oauth_fixture,
    oauth_server_fixture,
)
from textual.pilot import Pilot
from textual.widgets import Static
from ui_helpers import wait_until

from tuidesk.core.store.models import Mailbox
from tuidesk.ui.app import TuideskApp
from tuidesk.ui.screens.authorize import AuthorizeScreen
from tuidesk.ui.screens.mailboxes import MailboxesScreen

pytest_plugins = ["ui_fixtures"]
pytestmark = pytest.mark.servers

SIZE = (100, 30)
ADDRESS = "support@example.com"
MakeApp = Callable[..., TuideskApp]


def shown(screen: Any, selector: str) -> str:
    content = screen.query_one(selector, Static).content
    return content.plain if isinstance(content, Text) else str(content)


def add_mailbox(**settings: Any) -> Mailbox:
    values: dict[str, Any] = dict(
        name="support",
        address=ADDRESS,
        protocol="imap",
        host="127.0.0.1",
        port=1,
        security="plain",
        username=ADDRESS,
        timeout_ms=10_000,
    )
    values.update(settings)
    return Mailbox.create(**values)


async def open_sign_in(pilot: Pilot[Any]) -> AuthorizeScreen:
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, MailboxesScreen))
    screen = pilot.app.screen
    assert isinstance(screen, MailboxesScreen)
    await wait_until(pilot, lambda: bool(screen.rows))
    await pilot.press("o")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, AuthorizeScreen))
    dialog = pilot.app.screen
    assert isinstance(dialog, AuthorizeScreen)
    return dialog


async def test_the_device_code_and_address_show_and_the_sign_in_completes(
    make_app: MakeApp, oauth: OAuthServer
) -> None:
    client = oauth.register_client()
    oauth.device_user = ADDRESS
    oauth.pending_polls = 2
    add_mailbox(**microsoft_settings(oauth, client))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_sign_in(pilot)
        await wait_until(pilot, lambda: dialog.query_one("#authorize-code").display)
        code = shown(dialog, "#authorize-code")
        assert len(code) == 8
        assert f"{oauth.base_url}/devicelogin" in shown(dialog, "#authorize-uri")
        assert "waiting for the sign-in" in shown(dialog, "#authorize-status")
        await wait_until(pilot, lambda: dialog.outcome is not None)
        assert dialog.outcome is not None and dialog.outcome.ok
        assert f"Mailbox 'support' is authorized as {ADDRESS}" in shown(dialog, "#authorize-status")
        assert dialog.has_class("-done")
        for token in oauth.issued:
            assert token not in shown(dialog, "#authorize-status")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MailboxesScreen))


async def test_a_declined_sign_in_shows_one_sentence(make_app: MakeApp, oauth: OAuthServer) -> None:
    client = oauth.register_client()
    oauth.device_outcome = "decline"
    add_mailbox(**microsoft_settings(oauth, client))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_sign_in(pilot)
        await wait_until(pilot, lambda: dialog.outcome is not None)
        assert dialog.outcome is not None and not dialog.outcome.ok
        status = shown(dialog, "#authorize-status")
        assert status == "✗ the sign-in for mailbox 'support' was declined"
        assert dialog.has_class("-failed")


async def test_an_expired_device_code_shows_one_sentence(
    make_app: MakeApp, oauth: OAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = oauth.register_client()
    add_mailbox(**microsoft_settings(oauth, client))
    original = oauth.device_code

    def forgotten(form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        status, body = original(form)
        body["device_code"] = "forgotten-" + body["device_code"]  # answered: expired_token
        return status, body

    monkeypatch.setattr(oauth, "device_code", forgotten)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_sign_in(pilot)
        await wait_until(pilot, lambda: dialog.outcome is not None)
        assert dialog.outcome is not None and not dialog.outcome.ok
        assert shown(dialog, "#authorize-status") == (
            "✗ nobody signed in for mailbox 'support' before the code expired: "
            "run `tuidesk mailbox authorize support` again"
        )


async def test_escape_cancels_the_wait(make_app: MakeApp, oauth: OAuthServer) -> None:
    client = oauth.register_client()
    oauth.pending_polls = 10**6
    add_mailbox(**microsoft_settings(oauth, client))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_sign_in(pilot)
        await wait_until(pilot, lambda: dialog.query_one("#authorize-code").display)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MailboxesScreen))
        assert dialog.stop.is_set()
        await wait_until(pilot, lambda: not any(w.is_running for w in app.workers))
        assert dialog.outcome is None


async def test_client_credentials_are_checked(make_app: MakeApp, oauth: OAuthServer) -> None:
    client = oauth.register_client(secret="ui-secret-19cd", app_mailbox=ADDRESS)
    add_mailbox(**microsoft_settings(oauth, client))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_sign_in(pilot)
        await wait_until(pilot, lambda: dialog.outcome is not None)
        assert dialog.outcome is not None and dialog.outcome.ok
        status = shown(dialog, "#authorize-status")
        assert "Microsoft 365 accepted the client credentials of mailbox 'support'" in status
        assert "ui-secret-19cd" not in status


async def test_a_password_mailbox_is_told_so(make_app: MakeApp) -> None:
    add_mailbox(password="pw")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MailboxesScreen))
        screen = pilot.app.screen
        await wait_until(pilot, lambda: bool(screen.rows))  # type: ignore[attr-defined]
        await pilot.press("o")
        await wait_until(pilot, lambda: bool(app._notifications))
        texts = [n.message for n in app._notifications]
        assert any("signs in with a password" in t for t in texts)
        assert isinstance(pilot.app.screen, MailboxesScreen)

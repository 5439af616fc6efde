"""``tuidesk mailbox authorize NAME``: sign an OAuth2 mailbox in from a terminal.

Nothing here opens a browser, so it works over SSH: Microsoft 365 shows a device code to enter
on any device; Google and other providers give an address to open, and the address the browser
is sent back to (or just its code) is pasted here. Client-credentials mailboxes need no person:
the command only checks that the credentials are accepted.
"""

from __future__ import annotations

import argparse
import sys

from tuidesk.cli.mailbox_cmd import find_mailbox
from tuidesk.core.clock import utcnow
from tuidesk.core.context import AppContext
from tuidesk.core.errors import ConfigError, MailError
from tuidesk.core.mail.oauth import (
    OAuthSettings,
    begin_authorization,
    check_client_credentials,
    finish_authorization,
    is_oauth,
    start_device_sign_in,
)
from tuidesk.core.store.models import Mailbox


def run_authorize(context: AppContext, args: argparse.Namespace) -> int:
    context.connect()
    mailbox = find_mailbox(args.name)
    if not is_oauth(mailbox):
        raise ConfigError(
            f"mailbox '{mailbox.name}' signs in with a password, not OAuth2",
            hint=f"set `tuidesk mailbox edit {mailbox.name} --set auth_method=oauth2_microsoft` "
            "(or oauth2_google, oauth2_other) and the oauth_* settings first",
        )
    settings = OAuthSettings.of(mailbox, mailbox.protocol)
    if settings.flow == "client_credentials":
        check_client_credentials(mailbox)
        print(
            f"{settings.provider_name} accepted the client credentials of mailbox "
            f"'{mailbox.name}': app-only access needs no sign-in (tokens are fetched when "
            f"needed; `tuidesk mailbox test {mailbox.name}` tries the server too)"
        )
        return 0
    if settings.provider == "microsoft" and not args.paste_code:
        return _device_code(context, mailbox)
    return _pasted_code(mailbox, settings)


def _device_code(context: AppContext, mailbox: Mailbox) -> int:
    sign_in = start_device_sign_in(mailbox)
    print(sign_in.message or f"open {sign_in.verification_uri} and enter {sign_in.user_code}")
    print("waiting for the sign-in (Ctrl+C gives up)…", flush=True)
    username = sign_in.wait()
    print(
        f"mailbox '{mailbox.name}' is authorized as {username or 'the signed-in account'}; "
        f"its tokens are kept in {context.paths.token_cache} (mode 0600) and renewed by "
        "themselves"
    )
    if username and username.lower() != mailbox.address.lower():
        print(
            f"note: {username} signed in for {mailbox.address}; that account needs access "
            "to this mailbox (delegated or shared)"
        )
    return 0


def _pasted_code(mailbox: Mailbox, settings: OAuthSettings) -> int:
    request = begin_authorization(mailbox)
    print("open this address in a browser, sign in and allow access:")
    print()
    print(f"  {request.url}")
    print()
    print(
        f"the browser is then sent to {request.redirect_url} (an error page there is expected): "
        "paste that whole address, or only its code, and press Enter:",
        flush=True,
    )
    pasted = sys.stdin.readline()
    if not pasted.strip():
        raise MailError(
            "nothing was pasted", hint=f"run `tuidesk mailbox authorize {mailbox.name}`"
        )
    refresh = finish_authorization(mailbox, request, pasted)
    Mailbox.update(oauth_refresh_token=refresh, oauth_flow="refresh", updated_at=utcnow()).where(
        Mailbox.id == mailbox.id
    ).execute()
    print(
        f"mailbox '{mailbox.name}' is authorized with {settings.provider_name}; its refresh "
        "token is stored in the database"
    )
    return 0

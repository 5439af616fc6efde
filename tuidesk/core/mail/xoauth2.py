"""SASL XOAUTH2 and OAUTHBEARER (RFC 7628) logins for IMAP, POP3 and SMTP.

XOAUTH2 is what Microsoft 365 and Google document; OAUTHBEARER is used when the server offers
only it (or when asked for). A refused token is dropped from the cache, so the next poll asks
for a fresh one, and the refusal is one sentence that says where to look.
"""

from __future__ import annotations

import base64
import binascii
import json
import poplib
import smtplib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from tuidesk.core.errors import MailError
from tuidesk.core.redact import redact

if TYPE_CHECKING:
    from imapclient import IMAPClient

MECHANISMS = ("XOAUTH2", "OAUTHBEARER")


class TokenSource(Protocol):
    user: str

    def access_token(self) -> str: ...

    def forget(self, token: str) -> None: ...


def xoauth2_payload(user: str, token: str) -> bytes:
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def oauthbearer_payload(user: str, token: str, host: str, port: int) -> bytes:
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()


def payload(mechanism: str, user: str, token: str, host: str, port: int) -> bytes:
    if mechanism == "OAUTHBEARER":
        return oauthbearer_payload(user, token, host, port)
    return xoauth2_payload(user, token)


def choose_mechanism(offered: Iterable[str], prefer: str | None = None) -> str | None:
    """XOAUTH2 unless only OAUTHBEARER is offered (or preferred and offered); with nothing
    advertised at all, XOAUTH2 is tried anyway. None: the server offers SASL, but no OAuth2."""
    names = {m.upper() for m in offered}
    if prefer and prefer.upper() in names:
        return prefer.upper()
    for mechanism in MECHANISMS:
        if mechanism in names:
            return mechanism
    return None if names else "XOAUTH2"


def server_error(challenge: bytes | str) -> str:
    """The JSON error a server sends in the failure challenge, in words ("status 401")."""
    raw = challenge.encode() if isinstance(challenge, str) else challenge
    raw = raw.strip()
    try:
        data = json.loads(raw)
    except ValueError:
        try:
            data = json.loads(base64.b64decode(raw, validate=True))
        except (ValueError, binascii.Error):
            return ""
    if not isinstance(data, dict):
        return ""
    return ", ".join(f"{k} {v}" for k, v in data.items() if k in {"status", "error", "scope"})


# Microsoft 365 permissions per protocol: (app-only, delegated)
PERMISSIONS = {
    "IMAP": ("IMAP.AccessAsApp", "IMAP.AccessAsUser.All"),
    "POP3": ("POP.AccessAsApp", "POP.AccessAsUser.All"),
    "SMTP": ("SMTP.SendAsApp", "SMTP.Send"),
}


def refused(protocol: str, where: str, user: str, detail: str) -> MailError:
    app, delegated = PERMISSIONS[protocol]
    return MailError(
        redact(f"the {protocol} server {where} refused the OAuth2 token for {user} ({detail})"),
        hint=f"check that the app or the signed-in account may use this mailbox (Microsoft "
        f"365: {app} and mailbox access for the app, or {delegated}) and oauth_scope",
    )


def _no_oauth(protocol: str, where: str, offered: Iterable[str]) -> MailError:
    return MailError(
        f"the {protocol} server {where} offers no OAuth2 login (only {', '.join(offered)})",
        hint="use auth_method=password for this server, or check host and port",
    )


# --- IMAP ----------------------------------------------------------------------------------


def imap_authenticator(
    tokens: TokenSource, host: str, port: int, prefer: str | None = None
) -> Callable[[IMAPClient], None]:
    def authenticate(client: IMAPClient) -> None:
        offered = [
            c.decode().split("=", 1)[1]
            for c in client.capabilities()
            if c.upper().startswith(b"AUTH=")
        ]
        mechanism = choose_mechanism(offered, prefer)
        if mechanism is None:
            raise _no_oauth("IMAP", f"{host}:{port}", offered)
        token = tokens.access_token()
        data = payload(mechanism, tokens.user, token, host, port)
        errors: list[bytes] = []

        def answer(challenge: bytes) -> bytes:
            if not errors and not challenge:
                errors.append(b"")
                return data
            errors.append(challenge)
            return b""  # after a failure challenge the client answers empty

        imap = client._imap
        try:
            imap.authenticate(mechanism, answer)
        except imap.error as exc:
            tokens.forget(token)
            text = exc.args[0] if exc.args else str(exc)
            text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
            detail = ", ".join(filter(None, [server_error(e) for e in errors[1:]]))
            detail = detail or text.removeprefix("AUTHENTICATE command error: ")
            raise refused("IMAP", f"{host}:{port}", tokens.user, detail.strip()) from None

    return authenticate


# --- POP3 ----------------------------------------------------------------------------------


def pop3_authenticator(
    tokens: TokenSource, host: str, port: int, prefer: str | None = None
) -> Callable[[poplib.POP3], None]:
    """poplib has no AUTH: send it by hand. A refusal may come as a "+ " continuation with a
    JSON error, which ``_shortcmd`` does not raise on: only "+OK" is success."""

    def authenticate(client: poplib.POP3) -> None:
        try:
            offered = client.capa().get("SASL", [])
        except poplib.error_proto:
            offered = []
        mechanism = choose_mechanism(offered, prefer)
        if mechanism is None:
            raise _no_oauth("POP3", f"{host}:{port}", offered)
        token = tokens.access_token()
        encoded = base64.b64encode(payload(mechanism, tokens.user, token, host, port)).decode()
        try:
            client._shortcmd(f"AUTH {mechanism}")
            response = client._shortcmd(encoded)
            if response.startswith(b"+OK"):
                return
            detail = server_error(response[1:])
            try:
                response = client._shortcmd("")
            except poplib.error_proto as exc:
                response = exc.args[0] if exc.args else b""
        except poplib.error_proto as exc:
            response, detail = (exc.args[0] if exc.args else b""), ""
        tokens.forget(token)
        text = response.decode(errors="replace") if isinstance(response, bytes) else str(response)
        detail = detail or text.removeprefix("-ERR").strip()
        raise refused("POP3", f"{host}:{port}", tokens.user, detail)

    return authenticate


# --- SMTP ----------------------------------------------------------------------------------


def smtp_authenticate(
    client: smtplib.SMTP, tokens: TokenSource, host: str, port: int, prefer: str | None = None
) -> None:
    client.ehlo_or_helo_if_needed()
    if not client.has_extn("auth"):
        raise MailError(
            f"the SMTP server {host}:{port} offers no AUTH",
            hint="check smtp_security (AUTH is often offered only after STARTTLS) and smtp_port",
        )
    offered = client.esmtp_features.get("auth", "").split()
    mechanism = choose_mechanism(offered, prefer)
    if mechanism is None:
        raise _no_oauth("SMTP", f"{host}:{port}", offered)
    token = tokens.access_token()
    text = payload(mechanism, tokens.user, token, host, port).decode()

    def answer(challenge: bytes | None = None) -> str:
        return text if challenge is None else ""

    try:
        client.auth(mechanism, answer, initial_response_ok=True)
    except smtplib.SMTPAuthenticationError as exc:
        tokens.forget(token)
        reply = exc.smtp_error
        reply = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        raise refused("SMTP", f"{host}:{port}", tokens.user, f"{exc.smtp_code} {reply}") from None


__all__ = [
    "choose_mechanism",
    "imap_authenticator",
    "oauthbearer_payload",
    "pop3_authenticator",
    "server_error",
    "smtp_authenticate",
    "xoauth2_payload",
]

"""Signing a mailbox in (``tuidesk mailbox authorize`` and the TUI): the Microsoft 365 device code
flow, the authorization code flow with PKCE for a person who pastes the redirect back (Google,
other providers, or Microsoft), and the check of client credentials.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tuidesk.core.errors import ConfigError, MailError
from tuidesk.core.mail.oauth_http import describe_http_error, http_session
from tuidesk.core.mail.oauth_settings import DELEGATED_SCOPES, OAuthSettings, smtp_uses_oauth
from tuidesk.core.mail.oauth_tokens import MailboxTokens, tokens_for
from tuidesk.core.redact import register_secret
from tuidesk.core.store.models import Mailbox


def sign_in_scopes(mailbox: Mailbox) -> tuple[str, ...]:
    """The delegated scopes every OAuth2 use of ``mailbox`` needs, from one resource."""
    purposes = [mailbox.protocol] if mailbox.protocol in DELEGATED_SCOPES else []
    if smtp_uses_oauth(mailbox) and mailbox.send_via != "graph":
        purposes.append("smtp")
    if mailbox.send_via == "graph":
        purposes.append("graph")
    purposes = purposes or ["imap"]
    scopes: list[str] = []
    for purpose in purposes:
        for scope in OAuthSettings.of(mailbox, purpose).scopes:
            same_resource = not scopes or scope.rsplit("/", 1)[0] == scopes[0].rsplit("/", 1)[0]
            if same_resource and scope not in scopes:
                scopes.append(scope)
    return tuple(scopes)


@dataclass
class DeviceSignIn:
    """A Microsoft 365 device code sign-in: show ``message`` (URL and code), then ``wait``."""

    tokens: MailboxTokens
    message: str
    verification_uri: str
    user_code: str
    expires_at: float
    _flow: dict = field(repr=False)
    _app: Any = field(repr=False)
    _cache: Any = field(repr=False)

    def wait(self, stop: threading.Event | None = None) -> str:
        """Block until someone signed in (or the code expired); return who signed in."""

        def give_up(flow: dict) -> bool:
            return flow.get("expires_at", 0) < time.time() or bool(stop and stop.is_set())

        s = self.tokens.settings
        try:
            result = self._app.acquire_token_by_device_flow(self._flow, exit_condition=give_up)
        except OSError as exc:
            raise describe_http_error(exc, s.authority, "Microsoft 365 sign-in server") from None
        if "access_token" not in result:
            error = result.get("error", "")
            if stop is not None and stop.is_set():
                raise MailError(f"the sign-in for mailbox '{s.mailbox}' was cancelled")
            if error in {"authorization_pending", "expired_token", "slow_down"}:
                raise MailError(
                    f"nobody signed in for mailbox '{s.mailbox}' before the code expired",
                    hint=f"run `tuidesk mailbox authorize {s.mailbox}` again",
                )
            if error in {"authorization_declined", "access_denied"}:
                raise MailError(f"the sign-in for mailbox '{s.mailbox}' was declined")
            raise self.tokens.refusal(result, "sign-in")
        register_secret(result["access_token"])
        register_secret(result.get("refresh_token"))
        claims = result.get("id_token_claims") or {}
        username = claims.get("preferred_username") or claims.get("email") or ""
        with self.tokens.store.locked() as store:
            store.merge(self._cache.serialize())
            for account in self._app.get_accounts(username=username or None)[:1]:
                store.put(
                    "accounts",
                    s.mailbox,
                    {"home_account_id": account["home_account_id"], "username": username},
                )
        return username


def start_device_sign_in(mailbox: Mailbox, store_path: Path | None = None) -> DeviceSignIn:
    """Ask Microsoft 365 for a device code for ``mailbox`` (delegated access)."""
    import msal

    tokens = tokens_for(mailbox, mailbox.protocol, store_path)
    s = tokens.settings
    if s.provider != "microsoft":
        raise ConfigError(f"mailbox '{s.mailbox}' does not sign in to Microsoft 365")
    cache = msal.SerializableTokenCache()  # merged into the shared cache after the sign-in
    try:
        app = msal.PublicClientApplication(
            s.client_id,
            authority=s.authority,
            token_cache=cache,
            http_client=http_session(s.ca_file or True, s.timeout_s),
            instance_discovery=False,
        )
        flow = app.initiate_device_flow(scopes=list(sign_in_scopes(mailbox)))
    except ValueError:
        raise MailError(
            f"the Microsoft 365 authority {s.authority} cannot be used",
            hint="check oauth_tenant_id or oauth_authority",
        ) from None
    except OSError as exc:
        raise describe_http_error(exc, s.authority, "Microsoft 365 sign-in server") from None
    if "user_code" not in flow:
        raise tokens.refusal(flow, "sign-in")
    return DeviceSignIn(
        tokens=tokens,
        message=flow.get("message", ""),
        verification_uri=flow.get("verification_uri", flow.get("verification_url", "")),
        user_code=flow["user_code"],
        expires_at=flow["expires_at"],
        _flow=flow,
        _app=app,
        _cache=cache,
    )


def check_client_credentials(mailbox: Mailbox, store_path: Path | None = None) -> None:
    """Get an app-only token now (MailError says why not)."""
    tokens_for(mailbox, mailbox.protocol, store_path).access_token()


@dataclass(frozen=True)
class AuthorizationRequest:
    """The authorization code flow with PKCE, for a person who pastes the redirect back."""

    url: str
    state: str
    verifier: str = field(repr=False)
    redirect_url: str = ""


def begin_authorization(mailbox: Mailbox) -> AuthorizationRequest:
    import base64
    import secrets
    from urllib.parse import urlencode

    s = OAuthSettings.of(mailbox, mailbox.protocol)
    if s.provider == "microsoft":
        endpoint = f"{s.authority}/oauth2/v2.0/authorize"
    else:
        endpoint = s.authorization_endpoint
    if not endpoint:
        raise ConfigError(
            f"mailbox '{s.mailbox}' names no authorization endpoint",
            hint=f"set it with `tuidesk mailbox edit {s.mailbox} --set oauth_authority=https://…`",
        )
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(16)
    scopes = list(s.scopes) + (["offline_access"] if s.provider == "microsoft" else [])
    query = {
        "response_type": "code",
        "client_id": s.client_id,
        "redirect_uri": s.redirect_url,
        "scope": " ".join(scopes),
        "state": state,
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
        "access_type": "offline",  # Google: give a refresh token
        "prompt": "consent",  # Google: give it again on a second authorization
    }
    separator = "&" if "?" in endpoint else "?"
    return AuthorizationRequest(
        url=endpoint + separator + urlencode(query),
        state=state,
        verifier=verifier,
        redirect_url=s.redirect_url,
    )


def finish_authorization(
    mailbox: Mailbox, request: AuthorizationRequest, pasted: str, store_path: Path | None = None
) -> str:
    """Redeem the pasted code (or the whole redirect URL); return the new refresh token."""
    from urllib.parse import parse_qs

    tokens = tokens_for(mailbox, mailbox.protocol, store_path)
    s = tokens.settings
    pasted = pasted.strip()
    query = parse_qs(urlsplit(pasted).query) if "?" in pasted or "://" in pasted else {}
    if "error" in query:
        raise MailError(
            f"the sign-in for mailbox '{s.mailbox}' was refused ({query['error'][0]})",
            hint=" ".join(query.get("error_description", [""])) or None,
        )
    if query and query.get("state", [request.state])[0] != request.state:
        raise MailError("the pasted address belongs to another sign-in (its state differs)")
    code = query["code"][0] if "code" in query else pasted
    if not code or "://" in code:
        raise MailError("no authorization code was pasted", hint="paste the whole address")
    register_secret(code)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.redirect_url,
        "client_id": s.client_id,
        "code_verifier": request.verifier,
    }
    if s.client_secret:
        data["client_secret"] = s.client_secret
    if s.provider == "microsoft":
        s = OAuthSettings(**{**s.__dict__, "token_endpoint": f"{s.authority}/oauth2/v2.0/token"})
        tokens = MailboxTokens(s, tokens.user, tokens.store)
    result = tokens.token_request(data, "sign-in")
    refresh = result.get("refresh_token", "")
    if not refresh:
        raise MailError(
            f"{s.provider_name} gave no refresh token for mailbox '{s.mailbox}'",
            hint="the consent screen must ask for offline access; authorize again",
        )
    settled = OAuthSettings(**{**s.__dict__, "refresh_token": refresh, "flow": "refresh"})
    with tokens.store.locked():
        keeper = MailboxTokens(settled, tokens.user, tokens.store)
        keeper.keep(keeper._generic_key(), result, refresh)
    return refresh

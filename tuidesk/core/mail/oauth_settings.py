"""OAuth2 settings of a mailbox: which provider and flow it uses, its client, authority or token
endpoint and scopes, read from the ``Mailbox`` row (``OAuthSettings.of``) without any network call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tuidesk.core.errors import ConfigError
from tuidesk.core.mail.credentials import resolve_secret
from tuidesk.core.redact import register_secret
from tuidesk.core.store.models import Mailbox

CA_ENV = "TUIDESK_OAUTH_CA_FILE"
PROVIDERS = {"oauth2_microsoft": "microsoft", "oauth2_google": "google", "oauth2_other": "other"}
PROVIDER_NAMES = {"microsoft": "Microsoft 365", "google": "Google", "other": "OAuth2"}
FLOWS = ("client_credentials", "device_code", "refresh")
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
GOOGLE_AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
RESERVED_SCOPES = {"openid", "profile", "offline_access"}  # msal adds them and refuses them
EXPIRY_MARGIN_S = 300
_OUTLOOK, _GRAPH = "https://outlook.office.com/", "https://graph.microsoft.com/"
APP_SCOPES = {
    "imap": ("https://outlook.office365.com/.default",),
    "pop3": ("https://outlook.office365.com/.default",),
    "smtp": ("https://outlook.office365.com/.default",),
    "graph": ("https://graph.microsoft.com/.default",),
}
DELEGATED_SCOPES = {
    "imap": (_OUTLOOK + "IMAP.AccessAsUser.All",),
    "pop3": (_OUTLOOK + "POP.AccessAsUser.All",),
    "smtp": (_OUTLOOK + "SMTP.Send",),
    "graph": (_GRAPH + "Mail.ReadWrite", _GRAPH + "Mail.Send"),
}


def is_oauth(mailbox: Mailbox) -> bool:
    return mailbox.auth_method in PROVIDERS


def smtp_uses_oauth(mailbox: Mailbox) -> bool:
    return mailbox.smtp_auth == "oauth2" or (mailbox.smtp_auth == "same" and is_oauth(mailbox))


def split_scopes(text: str) -> tuple[str, ...]:
    return tuple(s for s in text.replace(",", " ").split() if s)


@dataclass(frozen=True)
class OAuthSettings:
    """What one mailbox needs to get a token for one purpose (imap, pop3, smtp, graph)."""

    mailbox: str
    address: str
    provider: str  # microsoft, google, other
    flow: str
    client_id: str
    authority: str = ""  # Microsoft
    token_endpoint: str = ""  # Google and others
    authorization_endpoint: str = ""
    scopes: tuple[str, ...] = ()
    redirect_url: str = ""
    timeout_s: float = 30.0
    client_secret: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)

    @property
    def provider_name(self) -> str:
        return PROVIDER_NAMES[self.provider]

    @property
    def ca_file(self) -> str:
        return os.environ.get(CA_ENV, "")

    @classmethod
    def of(cls, mailbox: Mailbox, purpose: str) -> OAuthSettings:
        provider = PROVIDERS.get(mailbox.auth_method, "microsoft")
        edit = f"`tuidesk mailbox edit {mailbox.name} --set"
        if not mailbox.oauth_client_id:
            raise ConfigError(
                f"mailbox '{mailbox.name}' uses OAuth2 but has no oauth_client_id",
                hint=f"set the application (client) ID with {edit} oauth_client_id=…`",
            )
        secret = resolve_secret(
            name="OAuth2 client secret",
            stored=mailbox.oauth_client_secret,
            env=mailbox.oauth_client_secret_env,
            command="",
            owner=mailbox.name,
        )
        flow = mailbox.oauth_flow or (
            ("client_credentials" if secret else "device_code")
            if provider == "microsoft"
            else "refresh"
        )
        if flow not in FLOWS:
            raise ConfigError(f"mailbox '{mailbox.name}' has an unknown oauth_flow '{flow}'")
        if flow == "client_credentials" and not secret:
            raise ConfigError(
                f"mailbox '{mailbox.name}' signs in with client credentials but has no client "
                "secret",
                hint=f"set oauth_client_secret_env, or store one with {edit} "
                "oauth_client_secret=…`",
            )
        scopes = split_scopes(mailbox.oauth_scope)
        values: dict[str, Any] = {}
        if provider == "microsoft":
            values["authority"] = microsoft_authority(mailbox)
            if not scopes:
                table = APP_SCOPES if flow == "client_credentials" else DELEGATED_SCOPES
                scopes = table.get(purpose, table["imap"])
            scopes = tuple(s for s in scopes if s.lower() not in RESERVED_SCOPES)
        else:
            if flow == "device_code":
                raise ConfigError(
                    f"mailbox '{mailbox.name}': device code sign-in is only for Microsoft 365",
                    hint=f"use {edit} oauth_flow=refresh` and `tuidesk mailbox authorize "
                    f"{mailbox.name}`",
                )
            google = provider == "google"
            values["token_endpoint"] = mailbox.oauth_token_endpoint or (
                GOOGLE_TOKEN if google else ""
            )
            values["authorization_endpoint"] = mailbox.oauth_authority or (
                GOOGLE_AUTHORIZE if google else ""
            )
            if not values["token_endpoint"]:
                raise ConfigError(
                    f"mailbox '{mailbox.name}' uses OAuth2 but names no token endpoint",
                    hint=f"set it with {edit} oauth_token_endpoint=https://…`",
                )
            scopes = scopes or (("https://mail.google.com/",) if google else ())
        return cls(
            mailbox=mailbox.name,
            address=mailbox.address,
            provider=provider,
            flow=flow,
            client_id=mailbox.oauth_client_id,
            scopes=scopes,
            redirect_url=mailbox.oauth_redirect_url or "http://localhost",
            timeout_s=max(mailbox.timeout_ms, 1000) / 1000,
            client_secret=secret,
            refresh_token=register_secret(mailbox.oauth_refresh_token) or "",
            **values,
        )


def microsoft_authority(mailbox: Mailbox) -> str:
    """oauth_authority, else the one a v1/v2 token endpoint names, else the tenant's."""
    if mailbox.oauth_authority:
        return mailbox.oauth_authority.rstrip("/")
    if mailbox.oauth_token_endpoint:
        parts = urlsplit(mailbox.oauth_token_endpoint)
        tenant = parts.path.strip("/").split("/")[0]
        if tenant:
            return f"{parts.scheme}://{parts.netloc}/{tenant}"
    if not mailbox.oauth_tenant_id:
        raise ConfigError(
            f"mailbox '{mailbox.name}' signs in to Microsoft 365 but has no oauth_tenant_id",
            hint=f"set the directory (tenant) ID with `tuidesk mailbox edit {mailbox.name} "
            "--set oauth_tenant_id=…`",
        )
    return f"{MICROSOFT_LOGIN}/{mailbox.oauth_tenant_id}"

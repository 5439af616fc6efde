"""OAuth2 access tokens for mailboxes: Microsoft 365 through msal (client credentials, device
code, refresh), Google and other providers through their token endpoint.

This is the public entry point; the rest of tuidesk imports from here. The work is done in:

- ``oauth_settings``: a mailbox's provider, flow, client, endpoints and scopes;
- ``oauth_http``: the requests session and one-sentence errors for token servers;
- ``oauth_cache``: the 0600 token cache file, its sidecar and their lock;
- ``oauth_microsoft``: msal client credentials and silent refresh;
- ``oauth_provider``: the refresh-token exchange at a Google or other token endpoint;
- ``oauth_tokens``: ``MailboxTokens`` and ``tokens_for``;
- ``oauth_signin``: the device code and PKCE authorization code sign-ins.

Nothing here imports msal or requests, or makes a network call, until a token is asked for:
``tokens_for`` only reads settings. msal's ``SerializableTokenCache`` lives in a 0600 file
(``Paths.token_cache``), locked while it is used and written only when it changed; a sidecar
file next to it (same mode) keeps the other providers' tokens and which Microsoft account
signed in for which mailbox. Every token and secret is registered with ``redact``.

A private CA for the token endpoint (an on-premises identity provider, a test server) is given
with ``TUIDESK_OAUTH_CA_FILE``; it wins over ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

from tuidesk.core.mail.oauth_cache import TokenStore, token_store
from tuidesk.core.mail.oauth_cache import _stores as _stores  # cleared by tests
from tuidesk.core.mail.oauth_http import describe_http_error, http_session
from tuidesk.core.mail.oauth_microsoft import _apps as _apps  # cleared by tests
from tuidesk.core.mail.oauth_settings import (
    APP_SCOPES,
    CA_ENV,
    DELEGATED_SCOPES,
    EXPIRY_MARGIN_S,
    FLOWS,
    GOOGLE_AUTHORIZE,
    GOOGLE_TOKEN,
    MICROSOFT_LOGIN,
    PROVIDER_NAMES,
    PROVIDERS,
    RESERVED_SCOPES,
    OAuthSettings,
    is_oauth,
    microsoft_authority,
    smtp_uses_oauth,
    split_scopes,
)
from tuidesk.core.mail.oauth_signin import (
    AuthorizationRequest,
    DeviceSignIn,
    begin_authorization,
    check_client_credentials,
    finish_authorization,
    sign_in_scopes,
    start_device_sign_in,
)
from tuidesk.core.mail.oauth_tokens import MailboxTokens, tokens_for

__all__ = [
    "APP_SCOPES",
    "CA_ENV",
    "DELEGATED_SCOPES",
    "EXPIRY_MARGIN_S",
    "FLOWS",
    "GOOGLE_AUTHORIZE",
    "GOOGLE_TOKEN",
    "MICROSOFT_LOGIN",
    "PROVIDERS",
    "PROVIDER_NAMES",
    "RESERVED_SCOPES",
    "AuthorizationRequest",
    "DeviceSignIn",
    "MailboxTokens",
    "OAuthSettings",
    "TokenStore",
    "begin_authorization",
    "check_client_credentials",
    "describe_http_error",
    "finish_authorization",
    "http_session",
    "is_oauth",
    "microsoft_authority",
    "sign_in_scopes",
    "smtp_uses_oauth",
    "split_scopes",
    "start_device_sign_in",
    "token_store",
    "tokens_for",
]

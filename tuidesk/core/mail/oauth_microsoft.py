"""Microsoft 365 access tokens through msal: client credentials (app-only), and delegated tokens
taken silently from the cache or refreshed with a stored refresh token after a device code or
pasted-code sign-in. The msal applications are shared per client, authority and cache file.

msal is imported only when a token is first asked for (``tuidesk --poll-once`` with password
mailboxes never loads it).
"""

from __future__ import annotations

import hashlib
from typing import Any

from tuidesk.core.errors import MailError
from tuidesk.core.mail.oauth_cache import TokenStore, _registry_lock
from tuidesk.core.mail.oauth_http import describe_http_error, http_session, token_refusal
from tuidesk.core.mail.oauth_settings import OAuthSettings
from tuidesk.core.redact import register_secret

_apps: dict[tuple, Any] = {}


class MicrosoftTokens:
    """The msal half of ``MailboxTokens`` (which provides ``settings`` and ``store``)."""

    settings: OAuthSettings
    store: TokenStore

    def app(self, public: bool):
        s = self.settings
        digest = hashlib.sha256(s.client_secret.encode()).hexdigest()
        key = (public, s.client_id, s.authority, digest, str(self.store.path), s.ca_file)
        with _registry_lock:
            app = _apps.get(key)
        if app is not None:
            return app
        import msal

        options = dict(
            authority=s.authority,
            token_cache=self.store.cache,
            http_client=http_session(s.ca_file or True, s.timeout_s),
            instance_discovery=False,
        )
        try:
            if public:
                app = msal.PublicClientApplication(s.client_id, **options)
            else:
                app = msal.ConfidentialClientApplication(
                    s.client_id, client_credential=s.client_secret, **options
                )
        except ValueError:
            raise MailError(
                f"the Microsoft 365 authority {s.authority} of mailbox '{s.mailbox}' cannot be "
                "used (its OpenID configuration is missing)",
                hint="check oauth_tenant_id or oauth_authority",
            ) from None
        except OSError as exc:
            raise describe_http_error(exc, s.authority, "Microsoft 365 sign-in server") from None
        with _registry_lock:
            return _apps.setdefault(key, app)

    def _microsoft(self) -> str:
        s = self.settings
        scopes = list(s.scopes)
        try:
            if s.flow == "client_credentials":
                result = self.app(public=False).acquire_token_for_client(scopes)
                return self._check(result, "client")
            app = self.app(public=s.flow == "device_code" or not s.client_secret)
            account = self.account(app)
            failure = None
            if account is not None:
                failure = app.acquire_token_silent_with_error(scopes, account)
                if failure is not None and "access_token" in failure:
                    return self._check(failure, "refresh")
            if s.refresh_token:  # a stored one (002's field, or a pasted sign-in) seeds the cache
                result = app.acquire_token_by_refresh_token(s.refresh_token, scopes)
                if "access_token" in result or failure is None:
                    token = self._check(result, "refresh")
                    self._remember(app, result)
                    return token
            if failure is not None:
                raise token_refusal(self.settings, failure, "refresh")
        except OSError as exc:
            raise describe_http_error(exc, s.authority, "Microsoft 365 sign-in server") from None
        raise MailError(
            f"mailbox '{s.mailbox}' has not been authorized with Microsoft 365 yet",
            hint=f"run `tuidesk mailbox authorize {s.mailbox}`",
        )

    def account(self, app) -> dict | None:
        known = self.store.get("accounts", self.settings.mailbox) or {}
        accounts = app.get_accounts()
        for wanted, field_name in (
            (known.get("home_account_id"), "home_account_id"),
            (self.settings.address.lower(), "username"),
        ):
            for account in accounts:
                if wanted and str(account.get(field_name, "")).lower() == wanted.lower():
                    return account
        return None

    def _remember(self, app, result: dict) -> None:
        claims = result.get("id_token_claims") or {}
        username = claims.get("preferred_username") or claims.get("email") or ""
        for account in app.get_accounts(username=username or None):
            self.store.put(
                "accounts",
                self.settings.mailbox,
                {"home_account_id": account["home_account_id"], "username": account["username"]},
            )
            return

    def _check(self, result: dict, kind: str) -> str:
        if result and "access_token" in result:
            register_secret(result.get("refresh_token"))
            return result["access_token"]
        raise token_refusal(self.settings, result or {}, kind)

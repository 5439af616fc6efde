"""Google and other OAuth2 providers: access tokens from the provider's token endpoint, by the
refresh-token grant (or client credentials), kept with the rotated refresh token in the sidecar
of the token cache.
"""

from __future__ import annotations

import hashlib
import time

from tuidesk.core.errors import MailError
from tuidesk.core.mail.oauth_cache import TokenStore
from tuidesk.core.mail.oauth_http import describe_http_error, http_session, token_refusal
from tuidesk.core.mail.oauth_settings import EXPIRY_MARGIN_S, OAuthSettings
from tuidesk.core.redact import register_secret


class ProviderTokens:
    """The token-endpoint half of ``MailboxTokens`` (which provides ``settings`` and ``store``)."""

    settings: OAuthSettings
    store: TokenStore

    def _generic_key(self) -> str:
        s = self.settings
        seed = s.refresh_token if s.flow == "refresh" else s.flow
        fingerprint = hashlib.sha256(seed.encode()).hexdigest()[:16]
        return f"{s.mailbox}|{s.client_id}|{fingerprint}|{' '.join(s.scopes)}"

    def _generic(self) -> str:
        s = self.settings
        key = self._generic_key()
        entry = self.store.get("tokens", key) or {}
        if entry.get("access_token") and entry.get("expires_at", 0) - EXPIRY_MARGIN_S > time.time():
            return entry["access_token"]
        data = {"client_id": s.client_id}
        if s.client_secret:
            data["client_secret"] = s.client_secret
        if s.scopes:
            data["scope"] = " ".join(s.scopes)
        if s.flow == "client_credentials":
            data["grant_type"] = "client_credentials"
        else:
            refresh = entry.get("refresh_token") or s.refresh_token
            if not refresh:
                raise MailError(
                    f"mailbox '{s.mailbox}' has no {s.provider_name} refresh token yet",
                    hint=f"run `tuidesk mailbox authorize {s.mailbox}`",
                )
            data.update(grant_type="refresh_token", refresh_token=refresh)
        result = self.token_request(data, "refresh")
        self.keep(key, result, data.get("refresh_token", ""))
        return result["access_token"]

    def token_request(self, data: dict[str, str], kind: str) -> dict:
        s = self.settings
        session = http_session(s.ca_file or True, s.timeout_s)
        try:
            response = session.post(
                s.token_endpoint, data=data, headers={"Accept": "application/json"}
            )
        except OSError as exc:
            raise describe_http_error(exc, s.token_endpoint, "OAuth2 token endpoint") from None
        finally:
            session.close()
        try:
            result = response.json()
        except ValueError:
            result = {"error": f"HTTP {response.status_code}"}
        if not isinstance(result, dict) or "access_token" not in result:
            raise token_refusal(self.settings, result if isinstance(result, dict) else {}, kind)
        register_secret(result["access_token"])
        register_secret(result.get("refresh_token"))
        return result

    def keep(self, key: str, result: dict, refresh: str) -> None:
        self.store.put(
            "tokens",
            key,
            {
                "access_token": result["access_token"],
                "expires_at": int(time.time() + int(result.get("expires_in", 3600))),
                "refresh_token": result.get("refresh_token") or refresh,
            },
        )

"""``MailboxTokens``, the access-token source of one mailbox and purpose, and ``tokens_for``,
which builds one from the mailbox's settings without any network call.
"""

from __future__ import annotations

from pathlib import Path

from tuidesk.core.errors import MailError
from tuidesk.core.mail.oauth_cache import TokenStore, token_store
from tuidesk.core.mail.oauth_http import token_refusal
from tuidesk.core.mail.oauth_microsoft import MicrosoftTokens
from tuidesk.core.mail.oauth_provider import ProviderTokens
from tuidesk.core.mail.oauth_settings import OAuthSettings
from tuidesk.core.redact import register_secret
from tuidesk.core.store.models import Mailbox


class MailboxTokens(MicrosoftTokens, ProviderTokens):
    """Access tokens for one mailbox and purpose; ``user`` is the SASL identity."""

    def __init__(self, settings: OAuthSettings, user: str, store: TokenStore) -> None:
        self.settings = settings
        self.user = user
        self.store = store

    def access_token(self) -> str:
        with self.store.locked():
            token = self._microsoft() if self.settings.provider == "microsoft" else self._generic()
        return register_secret(token) or token

    def forget(self, token: str) -> None:
        """The server refused ``token``: drop it so the next attempt gets a fresh one."""
        with self.store.locked():
            if self.settings.provider == "microsoft":
                cache = self.store.cache
                kind = cache.CredentialType.ACCESS_TOKEN
                for entry in list(cache.search(kind, query={"secret": token})):
                    cache.remove_at(entry)
            else:
                entry = self.store.get("tokens", self._generic_key())
                if entry and entry.get("access_token") == token:
                    self.store.put("tokens", self._generic_key(), {**entry, "expires_at": 0})

    def refusal(self, result: dict, kind: str) -> MailError:
        return token_refusal(self.settings, result, kind)


def tokens_for(mailbox: Mailbox, purpose: str, store_path: Path | None = None) -> MailboxTokens:
    """The token source of ``mailbox`` for ``purpose`` (imap, pop3, smtp, graph); cheap."""
    settings = OAuthSettings.of(mailbox, purpose)
    if purpose == "smtp":
        user = mailbox.smtp_username or mailbox.username or mailbox.address
    else:
        user = mailbox.username or mailbox.address
    return MailboxTokens(settings, user, token_store(store_path))

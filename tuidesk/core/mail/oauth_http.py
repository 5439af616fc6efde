"""Talking to OAuth2 servers: a requests session that honours ``TUIDESK_OAUTH_CA_FILE``, and the
one-sentence ``MailError`` for a network failure or for a token endpoint's refusal.

requests is imported only when a session is first made or an error described.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tuidesk.core.errors import MailError
from tuidesk.core.mail.oauth_settings import CA_ENV, OAuthSettings
from tuidesk.core.redact import redact

# AADSTS codes of a refresh token that can no longer be used
_EXPIRED_CODES = {700082, 70008, 700084, 50132}
_REVOKED_CODES = {50173, 50133, 50078, 50076, 65001, 50079}

_session_class: type | None = None


def http_session(verify: bool | str, timeout_s: float):
    """A requests session whose CA file (when given) wins over REQUESTS_CA_BUNDLE."""
    global _session_class
    if _session_class is None:
        import requests

        class _Session(requests.Session):
            tuidesk_verify: bool | str = True
            tuidesk_timeout: float = 30.0

            def request(self, method, url, **kwargs):  # type: ignore[override]
                kwargs.setdefault("timeout", self.tuidesk_timeout)
                if self.tuidesk_verify is not True:
                    kwargs["verify"] = self.tuidesk_verify
                return super().request(method, url, **kwargs)

        _session_class = _Session
    session = _session_class()
    session.tuidesk_verify = verify
    session.tuidesk_timeout = timeout_s
    return session


def describe_http_error(exc: Exception, url: str, what: str) -> MailError:
    """One sentence for a requests exception while talking to ``what`` at ``url``."""
    import requests

    where = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    if isinstance(exc, requests.exceptions.SSLError):
        graph = what.startswith("Microsoft Graph")
        return MailError(
            f"the TLS certificate of the {what} {where} is not trusted",
            hint="give its CA certificate with the mailbox's tls_ca_file"
            if graph
            else f"give its CA certificate with {CA_ENV}=PATH",
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return MailError(f"the {what} {where} did not answer in time")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return MailError(
            f"the {what} {where} cannot be reached",
            hint="check the URL and the network; the next poll tries again",
        )
    return MailError(redact(f"the request to the {what} {where} failed ({exc})"))


def token_refusal(s: OAuthSettings, result: dict, kind: str) -> MailError:
    """One sentence for a token response without an access token (``kind``: client, refresh,
    sign-in)."""
    error = str(result.get("error", "error"))
    description = str(result.get("error_description", "")).splitlines()[0:1]
    detail = redact(description[0][:200]) if description else error
    codes = set(result.get("error_codes") or [])
    authorize = f"run `tuidesk mailbox authorize {s.mailbox}`"
    who = s.address or s.mailbox
    if kind == "refresh" and error in {"invalid_grant", "interaction_required"}:
        if codes & _REVOKED_CODES:
            what = "was revoked or needs a new consent"
        elif codes & _EXPIRED_CODES or (not codes and s.provider == "microsoft"):
            what = "expired"
        elif not codes:
            what = "expired or was revoked"
        else:
            what = f"is no longer accepted ({detail})"
        return MailError(f"the {s.provider_name} refresh token for {who} {what}", hint=authorize)
    if error in {"invalid_client", "unauthorized_client"}:
        return MailError(
            f"{s.provider_name} refused the client credentials of mailbox '{s.mailbox}' ({detail})",
            hint="check oauth_client_id and the client secret (it may have expired)",
        )
    if error == "invalid_scope":
        return MailError(
            f"{s.provider_name} refused the scope {' '.join(s.scopes)} for mailbox "
            f"'{s.mailbox}' ({detail})",
            hint="check oauth_scope and the app's API permissions",
        )
    return MailError(
        f"{s.provider_name} gave no token for mailbox '{s.mailbox}' ({error}: {detail})"
    )

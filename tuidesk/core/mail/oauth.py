"""OAuth2 access tokens for mailboxes: Microsoft 365 through msal (client credentials, device
code, refresh), Google and other providers through their token endpoint.

Nothing here imports msal or requests, or makes a network call, until a token is asked for:
``tokens_for`` only reads settings. msal's ``SerializableTokenCache`` lives in a 0600 file
(``Paths.token_cache``), locked while it is used and written only when it changed; a sidecar
file next to it (same mode) keeps the other providers' tokens and which Microsoft account
signed in for which mailbox. Every token and secret is registered with ``redact``.

A private CA for the token endpoint (an on-premises identity provider, a test server) is given
with ``TUIDESK_OAUTH_CA_FILE``; it wins over ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tuidesk.core.errors import ConfigError, MailError
from tuidesk.core.mail.credentials import resolve_secret
from tuidesk.core.paths import Paths, write_private_file
from tuidesk.core.redact import redact, register_secret
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
# AADSTS codes of a refresh token that can no longer be used
_EXPIRED_CODES = {700082, 70008, 700084, 50132}
_REVOKED_CODES = {50173, 50133, 50078, 50076, 65001, 50079}


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


# --- HTTP ----------------------------------------------------------------------------------

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


# --- the token cache file ------------------------------------------------------------------


class TokenStore:
    """msal's cache file and tuidesk's sidecar; ``locked()`` reloads what another process
    wrote, and saves on exit only what changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sidecar = path.with_name(path.stem + "-tuidesk.json")
        self.lock_path = path.with_name(path.name + ".lock")
        self._lock = threading.RLock()
        self._depth = 0
        self._cache: Any = None
        self._stamp: tuple[int, int] | None = None
        self._state: dict[str, dict[str, Any]] = {}
        self._state_stamp: tuple[int, int] | None = None
        self._state_changed = False

    @contextlib.contextmanager
    def locked(self) -> Iterator[TokenStore]:
        """Hold the file lock (other processes) and the thread lock; re-entrant."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_CREAT | os.O_RDWR, 0o600)
            self._depth = 1
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._reload()
                try:
                    yield self
                finally:
                    self._save()
            finally:
                self._depth = 0
                os.close(fd)  # closing releases the lock

    @property
    def cache(self):
        if self._cache is None:
            import msal

            self._cache = msal.SerializableTokenCache()
            self._reload()
        return self._cache

    def _reload(self) -> None:
        """Read what changed on disk; a damaged file counts as empty (sign in again)."""
        stamp = _stamp(self.path)
        if self._cache is not None and stamp != self._stamp:
            data = _read_json(self.path) if stamp else {}
            self._cache.deserialize(json.dumps(data))
            self._stamp = stamp
            for kind in ("AccessToken", "RefreshToken"):
                for entry in (data.get(kind) or {}).values():
                    register_secret(entry.get("secret"))
        stamp = _stamp(self.sidecar)
        if stamp != self._state_stamp:
            self._state = _read_json(self.sidecar) if stamp else {}
            self._state_stamp = stamp
            for entry in self._state.get("tokens", {}).values():
                register_secret(entry.get("access_token"))
                register_secret(entry.get("refresh_token"))

    def _save(self) -> None:
        if self._cache is not None and self._cache.has_state_changed:
            write_private_file(self.path, self._cache.serialize().encode())
            self._stamp = _stamp(self.path)
        if self._state_changed:
            write_private_file(self.sidecar, json.dumps(self._state, indent=1).encode())
            self._state_stamp = _stamp(self.sidecar)
            self._state_changed = False

    def get(self, section: str, key: str) -> dict[str, Any] | None:
        return self._state.get(section, {}).get(key)

    def put(self, section: str, key: str, value: dict[str, Any] | None) -> None:
        entries = self._state.setdefault(section, {})
        if value is None:
            if entries.pop(key, None) is not None:
                self._state_changed = True
        elif entries.get(key) != value:
            entries[key] = value
            self._state_changed = True

    def merge(self, serialized: str) -> None:
        """Add the entries of another msal cache (a sign-in made outside the lock)."""
        mine = json.loads(self.cache.serialize())
        for kind, entries in json.loads(serialized).items():
            mine.setdefault(kind, {}).update(entries)
        self.cache.deserialize(json.dumps(mine))
        self.cache.has_state_changed = True


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_size)


_stores: dict[Path, TokenStore] = {}
_apps: dict[tuple, Any] = {}
_registry_lock = threading.Lock()


def token_store(path: Path | None = None) -> TokenStore:
    path = Path(path or Paths.resolve().token_cache)
    with _registry_lock:
        return _stores.setdefault(path, TokenStore(path))


# --- tokens --------------------------------------------------------------------------------


class MailboxTokens:
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

    # Microsoft 365 through msal ---------------------------------------------------------------

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
                raise self.refusal(failure, "refresh")
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
        raise self.refusal(result or {}, kind)

    def refusal(self, result: dict, kind: str) -> MailError:
        s = self.settings
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
            return MailError(
                f"the {s.provider_name} refresh token for {who} {what}", hint=authorize
            )
        if error in {"invalid_client", "unauthorized_client"}:
            return MailError(
                f"{s.provider_name} refused the client credentials of mailbox '{s.mailbox}' "
                f"({detail})",
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

    # Google and other providers ------------------------------------------------------------------

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
            raise self.refusal(result if isinstance(result, dict) else {}, kind)
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


# --- signing in (``tuidesk mailbox authorize`` and the TUI) --------------------------------------


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


def tokens_for(mailbox: Mailbox, purpose: str, store_path: Path | None = None) -> MailboxTokens:
    """The token source of ``mailbox`` for ``purpose`` (imap, pop3, smtp, graph); cheap."""
    settings = OAuthSettings.of(mailbox, purpose)
    if purpose == "smtp":
        user = mailbox.smtp_username or mailbox.username or mailbox.address
    else:
        user = mailbox.username or mailbox.address
    return MailboxTokens(settings, user, token_store(store_path))


__all__ = [
    "CA_ENV",
    "MailboxTokens",
    "OAuthSettings",
    "TokenStore",
    "http_session",
    "is_oauth",
    "smtp_uses_oauth",
    "token_store",
    "tokens_for",
]

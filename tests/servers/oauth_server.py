"""A local OAuth2 / OpenID Connect server for tests: what msal and Dovecot talk to.

`OAuthServer` serves, over HTTPS with a freshly generated self-signed certificate, the parts of
the Microsoft identity platform that tuidesk uses, with Microsoft's request and response shapes:

- ``GET  /{tenant}/v2.0/.well-known/openid-configuration`` (msal's tenant discovery);
- ``POST /{tenant}/oauth2/v2.0/devicecode`` (device code flow, RFC 8628);
- ``POST /{tenant}/oauth2/v2.0/token`` for ``client_credentials``, the device code grant
  (``authorization_pending`` for the first polls, then tokens), ``refresh_token`` (and an
  ``invalid_grant`` refusal with AADSTS700082 once a refresh token is expired) and
  ``authorization_code`` with PKCE;
- ``POST /oauth2/token``: the same grants at a generic (Google-like) token endpoint;
- ``GET  /tokeninfo?access_token=T``: 200 ``{"email": ...}`` for a valid token, 401 otherwise.
  Dovecot's ``oauth2`` passdb calls it over plain HTTP (`tokeninfo_url`), on a second listener.

Who a token belongs to: an app's client-credentials tokens act for the mailbox given to
`register_client(app_mailbox=...)` (as an Exchange app with access to one mailbox); delegated
tokens for the user who "signed in" (`device_user`, or the user an authorization code or a
refresh token was issued for).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from .dovecot import make_self_signed_cert

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
RESERVED = {"openid", "profile", "offline_access"}


@dataclass
class Client:
    client_id: str
    secret: str | None  # None: a public client (device code, refresh without secret)
    app_mailbox: str = ""  # whose mailbox the app's client-credentials tokens may open


@dataclass
class Grant:
    """What a token stands for."""

    email: str
    client_id: str
    scope: str
    expires_at: float = 0.0
    expired: bool = False  # refresh tokens: refused with invalid_grant


@dataclass
class AuthCode:
    grant: Grant
    redirect_uri: str
    challenge: str


@dataclass
class Recorded:
    path: str
    form: dict[str, str] = field(repr=False)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class OAuthServer:
    """Run it as a context manager; `authority` and `ca_file` are what a client needs."""

    host = "127.0.0.1"

    def __init__(self, tenant: str = "tenant-1", *, expires_in: int = 3600) -> None:
        self.tenant = tenant
        self.expires_in = expires_in
        self.pending_polls = 1  # authorization_pending answers before a device code succeeds
        self.device_user = ""  # who signs in at the device login page
        self.device_outcome = "approve"  # or "decline"
        self.rotate_refresh_tokens = False
        self.clients: dict[str, Client] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.requests: list[Recorded] = []
        self.issued: list[str] = []  # every token ever handed out, for secret greps
        self._codes: dict[str, AuthCode] = {}
        self._devices: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._directory = Path(tempfile.mkdtemp(prefix="tuidesk-oauth-"))
        self.cert_path, self.key_path = make_self_signed_cert(self._directory, "oauth")
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self.port = 0
        self.http_port = 0

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        handler = _handler_for(self)
        https = ThreadingHTTPServer((self.host, 0), handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        https.socket = context.wrap_socket(https.socket, server_side=True)
        plain = ThreadingHTTPServer((self.host, 0), handler)
        self.port, self.http_port = https.server_port, plain.server_port
        for server in (https, plain):
            thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()
        self._servers.clear()
        self._threads.clear()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- addresses -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.tenant}"

    @property
    def token_endpoint(self) -> str:
        """The Microsoft v2.0 token endpoint of the tenant."""
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def generic_token_endpoint(self) -> str:
        return f"{self.base_url}/oauth2/token"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.base_url}/oauth2/authorize"

    @property
    def tokeninfo_url(self) -> str:
        """For Dovecot's oauth2 passdb: plain HTTP, the token is appended."""
        return f"http://{self.host}:{self.http_port}/tokeninfo?access_token="

    @property
    def ca_file(self) -> str:
        return str(self.cert_path)

    # -- test controls -------------------------------------------------------------------

    def register_client(
        self, client_id: str | None = None, secret: str | None = None, app_mailbox: str = ""
    ) -> Client:
        client = Client(client_id or f"app-{secrets.token_hex(4)}", secret, app_mailbox)
        with self._lock:
            self.clients[client.client_id] = client
        return client

    def issue_refresh_token(self, email: str, client_id: str, scope: str = "") -> str:
        token = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            self.refresh_tokens[token] = Grant(email, client_id, scope)
            self.issued.append(token)
        return token

    def expire_refresh_tokens(self, email: str | None = None) -> None:
        with self._lock:
            for grant in self.refresh_tokens.values():
                if email is None or grant.email == email:
                    grant.expired = True

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far stops working (tokeninfo answers 401)."""
        with self._lock:
            self.access_tokens.clear()

    def grant_code(self, client_id: str, redirect_uri: str, challenge: str, email: str) -> str:
        """What the authorization page does when ``email`` consents: a code to redeem."""
        code = "code-" + secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = AuthCode(Grant(email, client_id, ""), redirect_uri, challenge)
        return code

    def email_of(self, token: str, scope_part: str = "") -> str | None:
        """Whose token this is (None when unknown or expired); ``scope_part`` must be in its
        scope when given (an IMAP token is not a Graph token)."""
        with self._lock:
            grant = self.access_tokens.get(token)
        if grant is None or grant.expires_at < time.time():
            return None
        if scope_part and scope_part not in grant.scope:
            return None
        return grant.email

    def grant_types(self) -> list[str]:
        return [r.form.get("grant_type", "") for r in self.requests if r.path.endswith("token")]

    # -- the token endpoint --------------------------------------------------------------

    def _tokens(self, grant: Grant, delegated: bool) -> dict[str, Any]:
        access = "at-" + secrets.token_urlsafe(24)
        issued = Grant(grant.email, grant.client_id, grant.scope, time.time() + self.expires_in)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": grant.scope,
            "expires_in": self.expires_in,
            "ext_expires_in": self.expires_in,
            "access_token": access,
        }
        with self._lock:
            self.access_tokens[access] = issued
            self.issued.append(access)
        if delegated:
            body["refresh_token"] = self.issue_refresh_token(
                grant.email, grant.client_id, grant.scope
            )
            uid, utid = hashlib.md5(grant.email.encode()).hexdigest(), self.tenant
            body["client_info"] = _b64url(json.dumps({"uid": uid, "utid": utid}).encode())
            claims = {
                "aud": grant.client_id,
                "iss": f"{self.authority}/v2.0",
                "iat": int(time.time()),
                "exp": int(time.time()) + 3600,
                "oid": uid,
                "sub": uid,
                "tid": utid,
                "preferred_username": grant.email,
                "name": grant.email.split("@")[0],
            }
            header = _b64url(b'{"alg":"none","typ":"JWT"}')
            body["id_token"] = f"{header}.{_b64url(json.dumps(claims).encode())}."
        return body

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant_type = form.get("grant_type", "")
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            return _error(400, "unauthorized_client", 700016, "Application not found")
        secret = form.get("client_secret")
        if client.secret is not None and secret is not None and secret != client.secret:
            return _error(401, "invalid_client", 7000215, "Invalid client secret provided")
        scope = " ".join(s for s in form.get("scope", "").split() if s not in RESERVED)
        if grant_type == "client_credentials":
            if client.secret is None or secret is None:
                return _error(401, "invalid_client", 7000218, "client_secret is missing")
            return 200, self._tokens(Grant(client.app_mailbox, client.client_id, scope), False)
        if grant_type == DEVICE_GRANT:
            return self._device_token(form, client)
        if grant_type == "refresh_token":
            with self._lock:
                grant = self.refresh_tokens.get(form.get("refresh_token", ""))
                if grant is not None and self.rotate_refresh_tokens:
                    del self.refresh_tokens[form["refresh_token"]]
            if grant is None or grant.client_id != client.client_id:
                return _error(400, "invalid_grant", 9002313, "Invalid refresh token")
            if grant.expired:
                return _error(
                    400,
                    "invalid_grant",
                    700082,
                    "The refresh token has expired due to inactivity.",
                )
            return 200, self._tokens(Grant(grant.email, client.client_id, scope), True)
        if grant_type == "authorization_code":
            with self._lock:
                code = self._codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            expected = _b64url(hashlib.sha256(verifier.encode()).digest())
            if (
                code is None
                or code.redirect_uri != form.get("redirect_uri")
                or code.challenge != expected
            ):
                return _error(400, "invalid_grant", 70000, "The provided code is invalid")
            return 200, self._tokens(Grant(code.grant.email, client.client_id, scope), True)
        return _error(400, "unsupported_grant_type", 70003, f"unsupported {grant_type}")

    def device_code(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id", "") not in self.clients:
            return _error(400, "unauthorized_client", 700016, "Application not found")
        device, user = secrets.token_urlsafe(24), secrets.token_hex(4).upper()
        scope = " ".join(s for s in form.get("scope", "").split() if s not in RESERVED)
        with self._lock:
            self._devices[device] = {"polls": 0, "scope": scope}
        url = f"{self.base_url}/devicelogin"
        return 200, {
            "device_code": device,
            "user_code": user,
            "verification_uri": url,
            "expires_in": 900,
            "interval": 1,
            "message": f"To sign in, use a web browser to open the page {url} and enter the "
            f"code {user} to authenticate.",
        }

    def _device_token(self, form: dict[str, str], client: Client) -> tuple[int, dict[str, Any]]:
        with self._lock:
            device = self._devices.get(form.get("device_code", ""))
            if device is not None:
                device["polls"] += 1
        if device is None:
            return _error(400, "expired_token", 70020, "The device code expired")
        if device["polls"] <= self.pending_polls:
            return _error(400, "authorization_pending", 70016, "Waiting for the user")
        if self.device_outcome == "decline":
            return _error(400, "authorization_declined", 70019, "The user declined")
        return 200, self._tokens(Grant(self.device_user, client.client_id, device["scope"]), True)

    def openid_configuration(self) -> dict[str, Any]:
        return {
            "issuer": f"{self.authority}/v2.0",
            "authorization_endpoint": f"{self.authority}/oauth2/v2.0/authorize",
            "token_endpoint": self.token_endpoint,
            "device_authorization_endpoint": f"{self.authority}/oauth2/v2.0/devicecode",
            "response_types_supported": ["code", "id_token", "code id_token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
        }


def _error(status: int, error: str, code: int, text: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "error": error,
        "error_description": f"AADSTS{code}: {text}. Trace ID: {secrets.token_hex(8)}",
        "error_codes": [code],
    }


def _handler_for(server: OAuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/tokeninfo":
                token = unquote(parts.query.partition("access_token=")[2])
                email = server.email_of(token)
                if email:
                    self._json(200, {"email": email})
                else:
                    self._json(401, {"error": "invalid_token"})
            elif parts.path == f"/{server.tenant}/v2.0/.well-known/openid-configuration":
                self._json(200, server.openid_configuration())
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            path = urlsplit(self.path).path
            server.requests.append(Recorded(path, form))
            if path.endswith("/devicecode"):
                self._json(*server.device_code(form))
            elif path.endswith("/token"):
                self._json(*server.token(form))
            else:
                self._json(404, {"error": "not_found"})

        def _json(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


# -- fixtures: import both into a test module, then ask for ``oauth`` ------------------------


@pytest.fixture(scope="module", name="oauth_server")
def oauth_server_fixture() -> Iterator[OAuthServer]:
    """One OAuth2 server per test module; tests register their own clients and users."""
    with OAuthServer() as server:
        yield server


@pytest.fixture(name="oauth")
def oauth_fixture(oauth_server: OAuthServer, monkeypatch: pytest.MonkeyPatch) -> OAuthServer:
    """The module's OAuth2 server, trusted by tuidesk (and by nothing else on the machine):
    REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE would override the CA given to requests."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("TUIDESK_OAUTH_CA_FILE", oauth_server.ca_file)
    oauth_server.expires_in = 3600
    oauth_server.pending_polls = 1
    oauth_server.device_outcome = "approve"
    oauth_server.rotate_refresh_tokens = False
    return oauth_server


def microsoft_settings(server: OAuthServer, client: Client, **overrides: Any) -> dict[str, Any]:
    """Mailbox columns for a Microsoft 365 mailbox signing in at ``server``."""
    values: dict[str, Any] = dict(
        auth_method="oauth2_microsoft",
        oauth_authority=server.authority,
        oauth_client_id=client.client_id,
        oauth_client_secret=client.secret or "",
        oauth_flow="client_credentials" if client.secret else "device_code",
        password="",
    )
    values.update(overrides)
    return values

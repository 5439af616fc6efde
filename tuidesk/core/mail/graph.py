"""Microsoft Graph as a mail source (004: fetch through Graph instead of IMAP) and a sender
(``sendMail`` with MIME content), sharing the mailbox's OAuth2 tokens.

The source lists a folder oldest first (paging with ``@odata.nextLink``), downloads each mail
as MIME (``/messages/{id}/$value``) and runs the same dispositions as IMAP: move (the folder is
created if missing), delete, mark read, and the held/error markers as Outlook categories.
Every request asks for immutable ids (``Prefer: IdType="ImmutableId"``), so a message keeps its
ledger key ``graph:{id}`` when it is moved: nothing is fetched twice.

The Graph root is https://graph.microsoft.com/v1.0, or the mailbox's ``host`` when it is a URL
(national clouds, a test server; plain http only on the loopback).
"""

from __future__ import annotations

import base64
import email.utils
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any
from urllib.parse import quote, urlsplit

from tuidesk.core.clock import as_naive_utc
from tuidesk.core.errors import ConfigError, MailError
from tuidesk.core.mail.oauth import describe_http_error, http_session, is_oauth, tokens_for
from tuidesk.core.mail.smtp import SendError
from tuidesk.core.mail.source import FetchedMail, RemoteMail, SourceFacts, Trace
from tuidesk.core.redact import redact
from tuidesk.core.store.models import Mailbox

GRAPH_URL = "https://graph.microsoft.com/v1.0"
IMMUTABLE_IDS = 'IdType="ImmutableId"'
SIZE_PROPERTY = "Integer 0x0E08"  # PidTagMessageSize
WELL_KNOWN_FOLDERS = {
    "archive",
    "clutter",
    "conversationhistory",
    "deleteditems",
    "drafts",
    "inbox",
    "junkemail",
    "msgfolderroot",
    "outbox",
    "sentitems",
}
MAX_WAIT_S = 30.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def graph_base_url(mailbox: Mailbox) -> str:
    host = mailbox.host.strip()
    if not host:
        return GRAPH_URL
    if not host.startswith(("http://", "https://")):
        return f"https://{host}/v1.0"
    parts = urlsplit(host)
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ConfigError(
            f"mailbox '{mailbox.name}' would send its Microsoft Graph token unencrypted to {host}",
            hint="use an https:// address",
        )
    return host.rstrip("/")


class GraphError(MailError):
    def __init__(self, message: str, *, hint: str | None = None, status: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.temporary = status in {0, 401, 403, 408, 429} or status >= 500


class GraphClient:
    """Authenticated requests to one mailbox's part of Graph, with retries on throttling."""

    def __init__(self, mailbox: Mailbox, trace: Trace) -> None:
        if not is_oauth(mailbox):
            raise ConfigError(
                f"mailbox '{mailbox.name}' uses Microsoft Graph, which signs in with OAuth2",
                hint=f"set it with `tuidesk mailbox edit {mailbox.name} --set "
                "auth_method=oauth2_microsoft` and the oauth_* settings",
            )
        self.name = mailbox.name
        self.base = graph_base_url(mailbox)
        self.tokens = tokens_for(mailbox, "graph")
        self.user = self.tokens.user
        self.verify: bool | str = mailbox.tls_ca_file or bool(mailbox.tls_verify)
        self.timeout_s = max(mailbox.timeout_ms, 1000) / 1000
        self.trace = trace
        self.session: Any = None
        self._token = ""

    def connect(self) -> None:
        self._token = self.tokens.access_token()
        self.session = http_session(self.verify, self.timeout_s)

    def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()

    def url(self, path: str) -> str:
        return f"{self.base}/users/{quote(self.user, safe='@')}{path}"

    def call(
        self,
        method: str,
        url: str,
        what: str,
        *,
        ok: Sequence[int] = (200,),
        missing_ok: bool = False,
        **kwargs: Any,
    ):
        """The response (status in ``ok``), None for a 404 when ``missing_ok``, or GraphError."""
        assert self.session is not None
        extra = kwargs.pop("headers", {})
        for attempt in range(3):
            headers = {"Authorization": f"Bearer {self._token}", "Prefer": IMMUTABLE_IDS, **extra}
            try:
                response = self.session.request(method, url, headers=headers, **kwargs)
            except OSError as exc:
                raise describe_http_error(exc, url, "Microsoft Graph server") from None
            status = response.status_code
            if status in ok:
                return response
            if status == 404 and missing_ok:
                return None
            if status == 401 and attempt == 0:  # a stale token: drop it and ask once more
                self.tokens.forget(self._token)
                self._token = self.tokens.access_token()
                continue
            if status in {429, 503, 504} and attempt < 2:
                wait = _retry_after(response.headers.get("Retry-After"))
                self.trace("warn", f"Microsoft Graph answered {status}: waiting {wait:.0f} s")
                time.sleep(wait)
                continue
            raise self.error(response, what)
        raise self.error(response, what)

    def error(self, response, what: str) -> GraphError:
        status = response.status_code
        try:
            body = response.json().get("error", {})
        except (ValueError, AttributeError):
            body = {}
        code = str(body.get("code", "") or f"HTTP {status}")
        message = redact(str(body.get("message", "")).strip()[:200])
        detail = f"{code}: {message}" if message else code
        if status == 401:
            return GraphError(
                f"Microsoft Graph refused the token of mailbox '{self.name}' ({detail})",
                hint="check oauth_scope (https://graph.microsoft.com/.default for app-only "
                "access) and the app registration",
                status=status,
            )
        if status == 403:
            return GraphError(
                f"Microsoft Graph denied access to the mailbox {self.user} ({detail})",
                hint="grant the app Mail.ReadWrite and Mail.Send with admin consent, and check "
                "any application access policy",
                status=status,
            )
        if status == 404 and code in {"ErrorInvalidUser", "MailboxNotEnabledForRESTAPI"}:
            return GraphError(
                f"Microsoft Graph has no mailbox {self.user} ({detail})",
                hint=f"check the address or username of mailbox '{self.name}'",
                status=status,
            )
        if status == 429:
            return GraphError(
                f"Microsoft Graph keeps throttling mailbox '{self.name}' ({detail})",
                hint="the next poll tries again",
                status=status,
            )
        return GraphError(
            f"Microsoft Graph answered {status} to {what} for {self.user} ({detail})",
            status=status,
        )


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.0), MAX_WAIT_S)
    except ValueError:
        return 1.0


class GraphSource:
    """The MailSource protocol over Microsoft Graph."""

    def __init__(self, mailbox: Mailbox, trace: Trace) -> None:
        self.client = GraphClient(mailbox, trace)
        self.trace = trace
        self.folder = mailbox.folder or "INBOX"
        self.since = mailbox.sync_start_date
        self.page_size = min(1000, max(10, mailbox.emails_per_fetch))
        self.facts = SourceFacts()
        self._folder_ids: dict[str, str] = {}
        self.folder_id = ""

    def connect(self) -> None:
        c = self.client
        self.facts.add("connect", f"Microsoft Graph at {c.base}")
        try:
            c.connect()
        except MailError as exc:
            exc.step = "login"
            raise
        self.facts.add("login", f"token for {c.user} ({c.tokens.settings.flow})")
        try:
            self.folder_id = self._folder(self.folder, create=False) or ""
            if not self.folder_id:
                raise MailError(
                    f"the mailbox {c.user} has no folder '{self.folder}'",
                    hint=f"check the folder with `tuidesk mailbox test {c.name}`",
                )
            info = c.call("GET", c.url(f"/mailFolders/{self.folder_id}"), "reading the folder")
        except MailError as exc:
            exc.step = "select"
            self.close()
            raise
        count = info.json().get("totalItemCount", "?")
        self.facts.add("select", f"'{self.folder}': {count} messages")
        self.trace("info", f"Microsoft Graph {c.base}: opened '{self.folder}' of {c.user}")

    def close(self) -> None:
        self.client.close()

    def folders(self) -> list[str]:
        c = self.client
        response = c.call("GET", c.url("/mailFolders"), "listing folders", params={"$top": "250"})
        return [f.get("displayName", "") for f in response.json().get("value", [])]

    def _folder(self, path: str, create: bool) -> str | None:
        """The id of folder ``path`` ("a/b" for a child folder); created when ``create``."""
        if path.upper() == "INBOX" or path.lower() in WELL_KNOWN_FOLDERS:
            return path.lower()
        if path in self._folder_ids:
            return self._folder_ids[path]
        c, parent = self.client, ""
        for part in filter(None, path.split("/")):
            url = c.url(f"/mailFolders/{parent}/childFolders" if parent else "/mailFolders")
            escaped = part.replace("'", "''")
            found = c.call(
                "GET",
                url,
                "looking up a folder",
                params={"$filter": f"displayName eq '{escaped}'", "$select": "id,displayName"},
            ).json()["value"]
            if found:
                parent = found[0]["id"]
                continue
            if not create:
                return None
            created = c.call(
                "POST", url, "creating a folder", ok=(201,), json={"displayName": part}
            )
            parent = created.json()["id"]
            self.trace("info", f"created folder '{part}' in {c.user}")
        self._folder_ids[path] = parent
        return parent

    # --- listing and fetching ---------------------------------------------------------------

    def _list(self) -> list[RemoteMail]:
        c = self.client
        params: dict[str, str] | None = {
            "$select": "id,receivedDateTime,isRead,categories",
            "$top": str(self.page_size),
            "$orderby": "receivedDateTime asc",
            "$expand": f"singleValueExtendedProperties($filter=id eq '{SIZE_PROPERTY}')",
        }
        if self.since and params is not None:
            params["$filter"] = f"receivedDateTime ge {self.since.isoformat()}T00:00:00Z"
        url: str | None = c.url(f"/mailFolders/{self.folder_id}/messages")
        remotes: list[RemoteMail] = []
        while url:
            page = c.call("GET", url, "listing messages", params=params).json()
            remotes.extend(self._remote(item) for item in page.get("value", []))
            url, params = page.get("@odata.nextLink"), None  # the link carries the query
        return remotes

    def _remote(self, item: dict) -> RemoteMail:
        size = 0
        for prop in item.get("singleValueExtendedProperties") or []:
            if str(prop.get("id", "")).lower() in {"integer 0xe08", SIZE_PROPERTY.lower()}:
                size = int(prop.get("value") or 0)
        flags = {"\\Seen"} if item.get("isRead") else set()
        flags |= {"$" + c for c in item.get("categories") or [] if c.startswith("Tuidesk")}
        return RemoteMail(
            key=f"graph:{item['id']}",
            size=size,
            folder=self.folder,
            uidl=item["id"],
            internal_date=_when(item.get("receivedDateTime")),
            flags=frozenset(flags),
        )

    def pending(self, is_known: Callable[[Sequence[str]], set[str]]) -> list[RemoteMail]:
        remotes = self._list()
        known = is_known([r.key for r in remotes])
        return [r for r in remotes if r.key not in known]

    def list_all(self) -> list[RemoteMail]:
        return self._list()

    def fetch(
        self, batch: Sequence[RemoteMail], max_size: int, keep_big: bool
    ) -> list[FetchedMail]:
        out: list[FetchedMail] = []
        for remote in batch:
            if max_size and remote.size > max_size and not keep_big:
                header = self._header(remote)
                if header is not None:
                    out.append(FetchedMail(remote, header, headers_only=True))
                continue
            raw = self._mime(remote)
            if raw is None:
                continue  # deleted on the server meanwhile
            if max_size and len(raw) > max_size:
                end = raw.find(b"\r\n\r\n")
                header = raw[: end + 4] if end >= 0 else raw[:65536]
                out.append(FetchedMail(remote, header, True, full=raw if keep_big else None))
            else:
                out.append(FetchedMail(remote, raw))
        return out

    def _mime(self, remote: RemoteMail) -> bytes | None:
        c = self.client
        url = c.url(f"/messages/{_id(remote)}/$value")
        response = c.call("GET", url, "downloading a message", missing_ok=True)
        return None if response is None else response.content

    def _header(self, remote: RemoteMail) -> bytes | None:
        """The header of a too-large mail, rebuilt from internetMessageHeaders."""
        c = self.client
        response = c.call(
            "GET",
            c.url(f"/messages/{_id(remote)}"),
            "reading a message header",
            missing_ok=True,
            params={"$select": "internetMessageHeaders"},
        )
        if response is None:
            return None
        lines = [
            f"{h.get('name', '')}: {h.get('value', '')}\r\n"
            for h in response.json().get("internetMessageHeaders") or []
        ]
        return ("".join(lines) + "\r\n").encode("utf-8", "replace")

    def fetch_one(self, remote: RemoteMail) -> bytes:
        return self._mime(remote) or b""

    # --- dispositions ---------------------------------------------------------------------

    def apply(self, action: str, mails: Sequence[RemoteMail], argument: str = "") -> None:
        c = self.client
        ids = [_id(m) for m in mails if m.key.startswith("graph:")]
        if not ids:
            return
        if action == "move":
            if not argument:
                raise MailError(
                    f"mailbox '{c.name}' moves processed mail but names no folder",
                    hint="set after_fetch_folder, or choose another after_fetch action",
                )
            target = self._folder(argument, create=True)
        for message_id in ids:
            url = c.url(f"/messages/{message_id}")
            if action == "move":
                c.call(
                    "POST",
                    url + "/move",
                    "moving a message",
                    ok=(200, 201),
                    missing_ok=True,
                    json={"destinationId": target},
                )
            elif action == "delete":
                c.call("DELETE", url, "deleting a message", ok=(204,), missing_ok=True)
            elif action == "mark_seen":
                c.call(
                    "PATCH", url, "marking a message read", missing_ok=True, json={"isRead": True}
                )
            elif action in {"flag", "unflag"}:
                self._categorize(url, argument.lstrip("$"), action == "flag")
            else:
                raise ValueError(f"unknown disposition {action}")

    def _categorize(self, url: str, category: str, add: bool) -> None:
        c = self.client
        current = c.call(
            "GET", url, "reading categories", missing_ok=True, params={"$select": "categories"}
        )
        if current is None:
            return
        categories = list(current.json().get("categories") or [])
        wanted = [*categories, category] if add and category not in categories else categories
        if not add:
            wanted = [x for x in categories if x != category]
        if wanted != categories:
            c.call("PATCH", url, "setting categories", missing_ok=True, json={"categories": wanted})


def _id(remote: RemoteMail) -> str:
    return remote.uidl or remote.key.removeprefix("graph:")


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return as_naive_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


# --- sending --------------------------------------------------------------------------------


class GraphSender:
    """Send through ``/users/{id}/sendMail`` with MIME content; the same interface as
    SmtpSender (connect, send, close), the same SendError with ``temporary``."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.client = GraphClient(mailbox, trace=lambda level, text: None)

    def __enter__(self) -> GraphSender:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        self.client.connect()

    def send(self, raw: bytes, mail_from: str, recipients: Sequence[str]) -> None:
        c = self.client
        body = base64.b64encode(with_bcc(raw, recipients))
        try:
            c.call(
                "POST",
                c.url("/sendMail"),
                "sendMail",
                ok=(202,),
                data=body,
                headers={"Content-Type": "text/plain"},
            )
        except GraphError as exc:
            raise SendError(exc.message, hint=exc.hint, temporary=exc.temporary) from None

    def close(self) -> None:
        self.client.close()


def with_bcc(raw: bytes, recipients: Sequence[str]) -> bytes:
    """Graph takes the recipients from the MIME header: envelope recipients that are not in
    To, Cc or Bcc are added as a Bcc header."""
    head = BytesHeaderParser(policy=compat32).parsebytes(raw)
    listed = {
        address.lower()
        for _name, address in email.utils.getaddresses(
            [str(v) for name in ("to", "cc", "bcc") for v in head.get_all(name, [])]
        )
    }
    missing = [r for r in recipients if r and r.lower() not in listed]
    if not missing:
        return raw
    return f"Bcc: {', '.join(missing)}\r\n".encode() + raw


__all__ = ["GraphClient", "GraphError", "GraphSender", "GraphSource", "graph_base_url"]

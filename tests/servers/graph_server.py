"""A local Microsoft Graph mail server for tests (plain HTTP on 127.0.0.1).

It implements the endpoints tuidesk uses with the request and response shapes of Microsoft's
Graph v1.0 documentation, under ``/v1.0/users/{id | userPrincipalName}``:

- ``GET  /mailFolders`` and ``/mailFolders/{id}/childFolders`` (``$filter=displayName eq 'X'``,
  ``$top``), ``GET /mailFolders/{id}`` (well-known names such as ``inbox`` work as ids),
  ``POST /mailFolders`` and ``/mailFolders/{id}/childFolders`` (201, 409 ErrorFolderExists);
- ``GET  /mailFolders/{id}/messages`` with ``$top``, ``$select``, ``$orderby=receivedDateTime
  asc``, ``$filter=receivedDateTime ge …``, ``$expand=singleValueExtendedProperties(…)`` for the
  size (``Integer 0x0E08``) and ``@odata.nextLink`` paging;
- ``GET /messages/{id}`` (``$select``), ``GET /messages/{id}/$value`` (the MIME),
  ``PATCH /messages/{id}`` (isRead, categories), ``POST /messages/{id}/move`` (201, a new id
  unless the request says ``Prefer: IdType="ImmutableId"``), ``DELETE /messages/{id}`` (204,
  to Deleted Items);
- ``POST /sendMail`` with ``Content-Type: text/plain`` and the base64 MIME (202; 400 for bad
  base64), or JSON.

Requests need ``Authorization: Bearer T``; ``authorize(T)`` names the mailbox the token may
open (401 InvalidAuthenticationToken when it names none, 403 ErrorAccessDenied for another).
`throttle_next()` answers 429 with Retry-After.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

WELL_KNOWN = ("inbox", "archive", "deleteditems", "drafts", "junkemail", "sentitems", "outbox")
SIZE_ID = "Integer 0xe08"
Authorizer = Callable[[str], str | None]  # bearer token -> the mailbox it may open, or None


@dataclass
class GraphMessage:
    id: str
    folder: str  # folder id
    raw: bytes
    received: datetime
    is_read: bool = False
    categories: list[str] = field(default_factory=list)

    def resource(self, select: set[str] | None, size: bool) -> dict[str, Any]:
        head = self.raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        headers = []
        for line in head.replace("\r\n ", " ").replace("\r\n\t", " ").split("\r\n"):
            name, _, value = line.partition(":")
            headers.append({"name": name.strip(), "value": value.strip()})
        subject = next((h["value"] for h in headers if h["name"].lower() == "subject"), "")
        full = {
            "@odata.etag": f'W/"{secrets.token_hex(6)}"',
            "id": self.id,
            "receivedDateTime": self.received.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "subject": subject,
            "isRead": self.is_read,
            "categories": list(self.categories),
            "parentFolderId": self.folder,
            "internetMessageHeaders": headers,
        }
        body = {k: v for k, v in full.items() if select is None or k in select or k == "id"}
        if size:
            body["singleValueExtendedProperties"] = [{"id": SIZE_ID, "value": str(len(self.raw))}]
        return body


@dataclass
class GraphFolder:
    id: str
    display_name: str
    parent: str  # "" for a top-level folder


@dataclass
class UserMailbox:
    folders: dict[str, GraphFolder] = field(default_factory=dict)
    messages: dict[str, GraphMessage] = field(default_factory=dict)


@dataclass(frozen=True)
class SentMail:
    user: str
    raw: bytes


class GraphServer:
    host = "127.0.0.1"

    def __init__(self, authorize: Authorizer) -> None:
        self.authorize = authorize
        self.users: dict[str, UserMailbox] = {}
        self.sent: list[SentMail] = []
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.prefer_headers: list[str] = []
        self._throttle = 0
        self._retry_after = "1"
        self._lock = threading.RLock()
        self._clock = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._server = ThreadingHTTPServer((self.host, 0), _handler_for(self))
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1.0"

    # -- test controls -------------------------------------------------------------------

    def mailbox(self, user: str) -> UserMailbox:
        with self._lock:
            box = self.users.get(user.lower())
            if box is None:
                box = UserMailbox()
                for name in WELL_KNOWN:
                    folder_id = _new_id("fld")
                    box.folders[folder_id] = GraphFolder(folder_id, _display(name), "")
                self.users[user.lower()] = box
            return box

    def deliver(self, user: str, raw: bytes, folder: str = "inbox", is_read: bool = False) -> str:
        """Put a message in a folder (a well-known name or a display name); returns its id."""
        box = self.mailbox(user)
        with self._lock:
            folder_id = self.folder_id(user, folder)
            assert folder_id, f"no folder {folder}"
            message_id = _new_id("msg")
            received = datetime.fromtimestamp(1_800_000_000 + next(self._clock), UTC)
            box.messages[message_id] = GraphMessage(
                message_id,
                folder_id,
                raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
                received,
                is_read,
            )
            return message_id

    def folder_id(self, user: str, name: str) -> str | None:
        """The id of a folder by well-known name, display name or "parent/child" path."""
        box = self.mailbox(user)
        parent = ""
        for part in name.split("/"):
            wanted = _display(part.lower()) if not parent and part.lower() in WELL_KNOWN else part
            found = [
                f for f in box.folders.values() if f.parent == parent and f.display_name == wanted
            ]
            if not found:
                return None
            parent = found[0].id
        return parent

    def messages(self, user: str, folder: str = "inbox") -> list[GraphMessage]:
        folder_id = self.folder_id(user, folder)
        box = self.mailbox(user)
        with self._lock:
            return sorted(
                (m for m in box.messages.values() if m.folder == folder_id),
                key=lambda m: m.received,
            )

    def throttle_next(self, count: int = 1, retry_after: str = "1") -> None:
        with self._lock:
            self._throttle, self._retry_after = count, retry_after

    # -- request handling ----------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.requests.append((method, path))
            self.prefer_headers.append(headers.get("Prefer", ""))
            if self._throttle > 0:
                self._throttle -= 1
                return (
                    429,
                    _err(
                        "ApplicationThrottled", "Application is over its MailboxConcurrency limit."
                    ),
                    {"Retry-After": self._retry_after},
                )
        parts = [unquote(p) for p in path.split("/") if p]
        if len(parts) < 3 or parts[0] != "v1.0" or parts[1] != "users":
            return 400, _err("BadRequest", "Unsupported segment"), {}
        user, rest = parts[2], parts[3:]
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        allowed = self.authorize(token) if token else None
        if allowed is None:
            return 401, _err("InvalidAuthenticationToken", "Access token validation failure."), {}
        if allowed.lower() != user.lower():
            return (
                403,
                _err("ErrorAccessDenied", "Access is denied. Check credentials and try again."),
                {},
            )
        immutable = 'IdType="ImmutableId"' in headers.get("Prefer", "")
        with self._lock:
            return self._route(method, user, rest, query, headers, body, immutable)

    def _route(self, method, user, rest, query, headers, body, immutable):
        box = self.mailbox(user)
        if rest == ["sendMail"] and method == "POST":
            return self._send(user, headers, body)
        if rest and rest[0] == "mailFolders":
            return self._folders(method, user, box, rest[1:], query, body)
        if len(rest) >= 2 and rest[0] == "messages":
            message = box.messages.get(rest[1])
            if message is None:
                return (
                    404,
                    _err("ErrorItemNotFound", "The specified object was not found in the store."),
                    {},
                )
            return self._message(method, user, box, message, rest[2:], query, body, immutable)
        return 400, _err("BadRequest", f"Unsupported request {method} {'/'.join(rest)}"), {}

    def _folder_resource(self, box: UserMailbox, folder: GraphFolder) -> dict[str, Any]:
        inside = [m for m in box.messages.values() if m.folder == folder.id]
        return {
            "id": folder.id,
            "displayName": folder.display_name,
            "parentFolderId": folder.parent or "root",
            "childFolderCount": sum(f.parent == folder.id for f in box.folders.values()),
            "unreadItemCount": sum(not m.is_read for m in inside),
            "totalItemCount": len(inside),
            "isHidden": False,
        }

    def _resolve(self, box: UserMailbox, key: str) -> GraphFolder | None:
        if key.lower() in WELL_KNOWN:
            key = next(
                f.id
                for f in box.folders.values()
                if f.display_name == _display(key.lower()) and not f.parent
            )
        return box.folders.get(key)

    def _folders(self, method, user, box, rest, query, body):
        parent = ""
        if rest:
            folder = self._resolve(box, rest[0])
            if folder is None:
                return (
                    404,
                    _err(
                        "ErrorItemNotFound", "The specified folder could not be found in the store."
                    ),
                    {},
                )
            if len(rest) == 1 and method == "GET":
                return 200, self._folder_resource(box, folder), {}
            if len(rest) >= 2 and rest[1] == "messages":
                return self._list(user, box, folder, query)
            if len(rest) >= 2 and rest[1] == "childFolders":
                parent = folder.id
            else:
                return 400, _err("BadRequest", "Unsupported folder request"), {}
        children = [f for f in box.folders.values() if f.parent == parent]
        if method == "POST":
            name = json.loads(body or b"{}").get("displayName", "")
            if any(f.display_name == name for f in children):
                return (
                    409,
                    _err("ErrorFolderExists", "A folder with the specified name already exists."),
                    {},
                )
            folder = GraphFolder(_new_id("fld"), name, parent)
            box.folders[folder.id] = folder
            return 201, self._folder_resource(box, folder), {}
        wanted = _filter_equals(query.get("$filter", ""), "displayName")
        if wanted is not None:
            children = [f for f in children if f.display_name == wanted]
        top = int(query.get("$top", "10"))
        return 200, {"value": [self._folder_resource(box, f) for f in children[:top]]}, {}

    def _list(self, user, box, folder, query):
        messages = sorted(
            (m for m in box.messages.values() if m.folder == folder.id), key=lambda m: m.received
        )
        if query.get("$orderby", "").lower().endswith("desc"):
            messages.reverse()
        since = _filter_ge(query.get("$filter", ""), "receivedDateTime")
        if since is not None:
            messages = [m for m in messages if m.received >= since]
        top, skip = int(query.get("$top", "10")), int(query.get("$skip", "0"))
        select = set(query["$select"].split(",")) if "$select" in query else None
        size = "0x0E08" in query.get("$expand", "")
        page = [m.resource(select, size) for m in messages[skip : skip + top]]
        body: dict[str, Any] = {
            "@odata.context": f"{self.base_url}/$metadata#users('{user}')"
            f"/mailFolders('{folder.id}')/messages",
            "value": page,
        }
        if skip + top < len(messages):
            rest = {**query, "$skip": str(skip + top)}
            link = "&".join(f"{quote(k)}={quote(v)}" for k, v in rest.items())
            body["@odata.nextLink"] = (
                f"{self.base_url}/users/{quote(user)}/mailFolders/{folder.id}/messages?{link}"
            )
        return 200, body, {}

    def _message(self, method, user, box, message, rest, query, body, immutable):
        if rest == ["$value"] and method == "GET":
            return 200, message.raw, {"Content-Type": "text/plain"}
        if rest == ["move"] and method == "POST":
            target = self._resolve(box, json.loads(body or b"{}").get("destinationId", ""))
            if target is None:
                return 400, _err("ErrorInvalidIdMalformed", "Id is malformed."), {}
            del box.messages[message.id]
            if not immutable:  # a move makes a new item with a new id
                message.id = _new_id("msg")
            message.folder = target.id
            box.messages[message.id] = message
            return 201, message.resource(None, False), {}
        if not rest and method == "DELETE":
            deleted = self._resolve(box, "deleteditems")
            if deleted is not None and message.folder != deleted.id:
                message.folder = deleted.id
            else:
                del box.messages[message.id]
            return 204, None, {}
        if not rest and method == "PATCH":
            changes = json.loads(body or b"{}")
            if "isRead" in changes:
                message.is_read = bool(changes["isRead"])
            if "categories" in changes:
                message.categories = list(changes["categories"])
            return 200, message.resource(None, False), {}
        if not rest and method == "GET":
            select = set(query["$select"].split(",")) if "$select" in query else None
            return 200, message.resource(select, False), {}
        return 400, _err("BadRequest", "Unsupported message request"), {}

    def _send(self, user, headers, body):
        kind = headers.get("Content-Type", "")
        if kind.startswith("text/plain"):
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if not raw:
                return (
                    400,
                    _err(
                        "ErrorMimeContentInvalidBase64String",
                        "Invalid base64 string for MIME content.",
                    ),
                    {},
                )
            self.sent.append(SentMail(user, raw))
            return 202, None, {}
        if kind.startswith("application/json"):
            self.sent.append(SentMail(user, body))
            return 202, None, {}
        return 415, _err("UnsupportedMediaType", "Unsupported Content-Type"), {}


def _new_id(prefix: str) -> str:
    return f"AAMk{prefix}{secrets.token_urlsafe(12)}="


def _display(well_known: str) -> str:
    return {
        "inbox": "Inbox",
        "archive": "Archive",
        "deleteditems": "Deleted Items",
        "drafts": "Drafts",
        "junkemail": "Junk Email",
        "sentitems": "Sent Items",
        "outbox": "Outbox",
    }[well_known]


def _err(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": "2026-01-01T00:00:00", "request-id": secrets.token_hex(8)},
        }
    }


def _filter_equals(expression: str, name: str) -> str | None:
    prefix = f"{name} eq '"
    if not expression.startswith(prefix) or not expression.endswith("'"):
        return None
    return expression[len(prefix) : -1].replace("''", "'")


def _filter_ge(expression: str, name: str) -> datetime | None:
    prefix = f"{name} ge "
    if not expression.startswith(prefix):
        return None
    return datetime.fromisoformat(expression[len(prefix) :].replace("Z", "+00:00"))


def _handler_for(server: GraphServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload, extra = server.handle(
                self.command, parts.path, query, self.headers, body
            )
            if isinstance(payload, bytes):
                data, kind = payload, extra.pop("Content-Type", "application/octet-stream")
            elif payload is None:
                data, kind = b"", ""
            else:
                data, kind = json.dumps(payload).encode(), "application/json"
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler

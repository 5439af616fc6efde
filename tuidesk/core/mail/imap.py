"""IMAP source on imapclient: UID watermark per folder, UIDVALIDITY resync, size cap,
BODY.PEEK[] (fetching never marks mail read), MOVE or COPY + UID EXPUNGE."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import date, datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from tuidesk.core.clock import as_naive_utc
from tuidesk.core.errors import MailError
from tuidesk.core.mail.failures import Endpoint, describe_failure
from tuidesk.core.mail.source import FetchedMail, RemoteMail, SourceFacts, Trace
from tuidesk.core.mail.tls import TlsPolicy, describe_peer

FETCH_META = ["RFC822.SIZE", "INTERNALDATE", "FLAGS"]
_META_CHUNK = 2000


class ImapSource:
    def __init__(
        self,
        *,
        endpoint: Endpoint,
        security: str,
        tls: TlsPolicy,
        timeout_s: float,
        password: str,
        folder: str,
        batch_size: int,
        watermark: tuple[int, int] | None,
        since: date | None,
        trace: Trace,
        authenticate: Callable[[IMAPClient], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.security = security
        self.tls = tls
        self.timeout_s = timeout_s
        self._password = password
        self.folder = folder or "INBOX"
        self.batch_size = max(1, batch_size)
        self.watermark = watermark  # (uidvalidity, last_uid) from the store
        self.since = since
        self.trace = trace
        self._authenticate = authenticate
        self.client: IMAPClient | None = None
        self.uidvalidity: int = 0
        self.uidvalidity_changed = False
        self.keywords_allowed = True
        self.facts = SourceFacts()

    # --- connection -----------------------------------------------------------------------

    def connect(self) -> None:
        ep = self.endpoint
        step = "connect"
        try:
            self.client = IMAPClient(
                ep.host,
                port=ep.port,
                ssl=self.security == "ssl",
                ssl_context=self.tls.context() if self.security != "plain" else None,
                timeout=self.timeout_s,
            )
            self.facts.add("connect", f"connected to {ep.where}")
            if self.security == "starttls":
                step = "tls"
                self.client.starttls(self.tls.context())
            if self.security != "plain":
                sock = self.client._imap.sock
                self.tls.check_peer(sock, ep.where)
                peer = describe_peer(sock)
                self.facts.add("tls", ", ".join(f"{k} {v}" for k, v in peer.items()))
            step = "login"
            if self._authenticate is not None:
                self._authenticate(self.client)
            else:
                self.client.login(ep.user, self._password)
            self.facts.add("login", f"logged in as {ep.user}")
            step = "select"
            self._select()
        except Exception as exc:
            self.close()
            raise describe_failure(exc, ep, step) from None
        self.trace(
            "info", f"IMAP {ep.where}: selected '{self.folder}', UIDVALIDITY {self.uidvalidity}"
        )

    def _select(self) -> None:
        assert self.client is not None
        try:
            info = self.client.select_folder(self.folder)
        except IMAPClientError as exc:
            raise MailError(
                f"the IMAP folder '{self.folder}' cannot be opened on {self.endpoint.where} "
                f"({exc})",
                hint=f"check the folder name with `tuidesk mailbox test {self.endpoint.mailbox}`",
            ) from None
        self.uidvalidity = int(info[b"UIDVALIDITY"])
        permanent = info.get(b"PERMANENTFLAGS", ())
        self.keywords_allowed = b"\\*" in permanent
        exists = info.get(b"EXISTS", 0)
        self.facts.add("select", f"'{self.folder}': {exists} messages")
        if self.watermark and self.watermark[0] != self.uidvalidity:
            self.uidvalidity_changed = True

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the connection may already be gone; nothing to save here
            with contextlib.suppress(Exception):
                client.shutdown()

    def capabilities(self) -> list[str]:
        assert self.client is not None
        return sorted(c.decode() for c in self.client.capabilities())

    def folders(self) -> list[str]:
        assert self.client is not None
        return [name for _flags, _delim, name in self.client.list_folders()]

    # --- listing and fetching ---------------------------------------------------------------

    def key(self, uid: int) -> str:
        return f"imap:{self.folder}:{self.uidvalidity}:{uid}"

    def pending(self, is_known: Callable[[Sequence[str]], set[str]]) -> list[RemoteMail]:
        assert self.client is not None
        last = 0
        if self.watermark and not self.uidvalidity_changed:
            last = self.watermark[1]
        criteria: list = ["UID", f"{last + 1}:*"] if last else ["ALL"]
        if self.since:
            criteria += ["SINCE", self.since]
        try:
            uids = sorted(u for u in self.client.search(criteria) if u > last)
        except Exception as exc:
            raise describe_failure(exc, self.endpoint, "search") from None
        if not uids:
            return []
        remotes = self._meta(uids)
        known = is_known([r.key for r in remotes])
        return [r for r in remotes if r.key not in known]

    def _meta(self, uids: Sequence[int]) -> list[RemoteMail]:
        assert self.client is not None
        remotes: list[RemoteMail] = []
        for start in range(0, len(uids), _META_CHUNK):
            chunk = list(uids[start : start + _META_CHUNK])
            try:
                answer = self.client.fetch(chunk, FETCH_META)
            except Exception as exc:
                raise describe_failure(exc, self.endpoint, "fetch") from None
            for uid in chunk:
                data = answer.get(uid)
                if data is None:  # expunged meanwhile
                    continue
                remotes.append(
                    RemoteMail(
                        key=self.key(uid),
                        size=int(data.get(b"RFC822.SIZE", 0)),
                        folder=self.folder,
                        uidvalidity=self.uidvalidity,
                        uid=uid,
                        internal_date=_naive(data.get(b"INTERNALDATE")),
                        flags=frozenset(_flag(f) for f in data.get(b"FLAGS", ())),
                    )
                )
        return remotes

    def fetch(
        self, batch: Sequence[RemoteMail], max_size: int, keep_big: bool
    ) -> list[FetchedMail]:
        assert self.client is not None
        small = [r for r in batch if not max_size or r.size <= max_size]
        big = [r for r in batch if max_size and r.size > max_size]
        fetched: dict[int, FetchedMail] = {}
        try:
            if small:
                answer = self.client.fetch([r.uid for r in small], ["BODY.PEEK[]"])
                for r in small:
                    data = answer.get(r.uid)
                    if data and b"BODY[]" in data:
                        fetched[r.uid] = FetchedMail(remote=r, raw=data[b"BODY[]"])
            for r in big:
                answer = self.client.fetch([r.uid], ["BODY.PEEK[HEADER]"])
                header = answer.get(r.uid, {}).get(b"BODY[HEADER]", b"")
                full = None
                if keep_big:
                    full = self.client.fetch([r.uid], ["BODY.PEEK[]"]).get(r.uid, {}).get(b"BODY[]")
                fetched[r.uid] = FetchedMail(remote=r, raw=header, headers_only=True, full=full)
        except Exception as exc:
            raise describe_failure(exc, self.endpoint, "fetch") from None
        return [fetched[r.uid] for r in batch if r.uid in fetched]

    def list_all(self) -> list[RemoteMail]:
        assert self.client is not None
        try:
            uids = sorted(self.client.search(["ALL"]))
        except Exception as exc:
            raise describe_failure(exc, self.endpoint, "search") from None
        return self._meta(uids) if uids else []

    def fetch_one(self, remote: RemoteMail) -> bytes:
        assert self.client is not None
        answer = self.client.fetch([remote.uid], ["BODY.PEEK[]"])
        return answer.get(remote.uid, {}).get(b"BODY[]", b"")

    def message_ids(self, uids: Sequence[int]) -> dict[int, str]:
        """The Message-ID header of each UID, for the UIDVALIDITY resync."""
        assert self.client is not None
        field = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
        out: dict[int, str] = {}
        for start in range(0, len(uids), _META_CHUNK):
            chunk = list(uids[start : start + _META_CHUNK])
            for uid, data in self.client.fetch(chunk, [field]).items():
                raw = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
                value = raw.decode("ascii", "replace").partition(":")[2].strip()
                out[uid] = " ".join(value.split())
        return out

    # --- dispositions ---------------------------------------------------------------------

    def apply(self, action: str, mails: Sequence[RemoteMail], argument: str = "") -> None:
        assert self.client is not None
        uids = [m.uid for m in mails if m.uid is not None and m.uidvalidity == self.uidvalidity]
        if not uids:
            return
        try:
            self._apply(action, uids, argument)
        except IMAPClientError as exc:
            if "EXPUNGEISSUED" not in str(exc).upper():
                raise describe_failure(exc, self.endpoint, action) from None
            # Another session (a poller that took over this mailbox's lease) expunged some of
            # these messages since this one looked: catch up with NOOP, then act on what is
            # left; a moved or deleted mail is where it should be already (RFC 9051 7.1).
            self.trace("info", f"{action}: another session expunged some of this batch first")
            try:
                self.client.noop()
                self._apply(action, uids, argument)
            except MailError:
                raise
            except Exception as again:
                raise describe_failure(again, self.endpoint, action) from None

    def _apply(self, action: str, uids: list[int], argument: str) -> None:
        assert self.client is not None
        try:
            if action == "move":
                self._move(uids, argument)
            elif action == "delete":
                self.client.delete_messages(uids)
                self._expunge(uids)
            elif action == "mark_seen":
                self.client.add_flags(uids, [b"\\Seen"])
            elif action in {"flag", "unflag"}:
                flag = self._keyword(argument)
                if action == "flag":
                    self.client.add_flags(uids, [flag])
                else:
                    self.client.remove_flags(uids, [flag])
            else:
                raise ValueError(f"unknown disposition {action}")
        except (MailError, IMAPClientError):
            raise
        except Exception as exc:
            raise describe_failure(exc, self.endpoint, action) from None

    def _keyword(self, keyword: str) -> bytes:
        if self.keywords_allowed:
            return keyword.encode()
        self.trace("warn", f"the server does not allow keywords; using \\Flagged for {keyword}")
        return b"\\Flagged"

    def _move(self, uids: list[int], folder: str) -> None:
        assert self.client is not None
        self.ensure_folder(folder)
        if self.client.has_capability("MOVE"):
            self.client.move(uids, folder)
            return
        self.client.copy(uids, folder)
        self.client.delete_messages(uids)
        self._expunge(uids)

    def _expunge(self, uids: list[int]) -> None:
        assert self.client is not None
        if self.client.has_capability("UIDPLUS"):
            self.client.uid_expunge(uids)
        else:  # plain EXPUNGE would remove every \Deleted message, not only ours
            self.trace("warn", "no UIDPLUS: messages are marked deleted, not expunged")

    def ensure_folder(self, folder: str) -> None:
        assert self.client is not None
        if not folder:
            raise MailError(
                f"mailbox '{self.endpoint.mailbox}' moves processed mail but names no folder",
                hint="set after_fetch_folder, or choose another after_fetch action",
            )
        if not self.client.folder_exists(folder):
            self.client.create_folder(folder)
            self.trace("info", f"created folder '{folder}'")


def _flag(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _naive(value: datetime | None) -> datetime | None:
    return as_naive_utc(value) if isinstance(value, datetime) else None


__all__ = ["ImapSource"]

"""POP3 source on poplib: UIDL as the ledger key, RETR, DELE committed by QUIT.

POP3 cannot move, flag or mark mail read: "keep" relies on the ledger never fetching a known
UIDL twice (001's "Do Nothing", without its duplicates).
"""

from __future__ import annotations

import contextlib
import poplib
from collections.abc import Callable, Sequence

from tuidesk.core.mail.failures import Endpoint, describe_failure
from tuidesk.core.mail.source import FetchedMail, RemoteMail, SourceFacts, Trace
from tuidesk.core.mail.tls import TlsPolicy, describe_peer

poplib._MAXLINE = 1 << 20  # long header lines in real mail exceed poplib's 2048-byte default


class Pop3Source:
    def __init__(
        self,
        *,
        endpoint: Endpoint,
        security: str,
        tls: TlsPolicy,
        timeout_s: float,
        password: str,
        trace: Trace,
        authenticate: Callable[[poplib.POP3], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.security = security
        self.tls = tls
        self.timeout_s = timeout_s
        self._password = password
        self.trace = trace
        self._authenticate = authenticate
        self.client: poplib.POP3 | None = None
        self._numbers: dict[str, int] = {}  # uidl -> message number in this session
        self._to_delete: set[int] = set()
        self.facts = SourceFacts()

    def connect(self) -> None:
        ep = self.endpoint
        step = "connect"
        try:
            if self.security == "ssl":
                self.client = poplib.POP3_SSL(
                    ep.host, ep.port, timeout=self.timeout_s, context=self.tls.context()
                )
            else:
                self.client = poplib.POP3(ep.host, ep.port, timeout=self.timeout_s)
            self.facts.add("connect", f"connected to {ep.where}")
            if self.security == "starttls":
                step = "tls"
                self.client.stls(context=self.tls.context())
            if self.security != "plain":
                self.tls.check_peer(self.client.sock, ep.where)
                peer = describe_peer(self.client.sock)
                self.facts.add("tls", ", ".join(f"{k} {v}" for k, v in peer.items()))
            step = "login"
            if self._authenticate is not None:
                self._authenticate(self.client)
            else:
                self.client.user(ep.user)
                self.client.pass_(self._password)
            self.facts.add("login", f"logged in as {ep.user}")
            step = "list"
            self._numbers = self._uidl()
            self.facts.add("list", f"{len(self._numbers)} messages")
        except Exception as exc:
            self.close(commit=False)
            raise describe_failure(exc, ep, step) from None

    def _uidl(self) -> dict[str, int]:
        assert self.client is not None
        numbers: dict[str, int] = {}
        _resp, lines, _octets = self.client.uidl()
        for line in lines:
            number, _, uidl = line.decode("ascii", "replace").partition(" ")
            numbers[uidl.strip()] = int(number)
        return numbers

    def close(self, commit: bool = True) -> None:
        """QUIT commits the deletions; without ``commit`` the session is just dropped."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if commit:
                client.quit()
            else:
                client.close()
        except Exception:
            with contextlib.suppress(Exception):
                client.close()

    @staticmethod
    def key(uidl: str) -> str:
        return f"pop3:{uidl}"

    def _sizes(self) -> dict[int, int]:
        assert self.client is not None
        _resp, lines, _octets = self.client.list()
        sizes: dict[int, int] = {}
        for line in lines:
            number, _, size = line.decode("ascii", "replace").partition(" ")
            sizes[int(number)] = int(size.split()[0]) if size.strip() else 0
        return sizes

    def _remotes(self) -> list[RemoteMail]:
        try:
            sizes = self._sizes()
        except Exception as exc:
            raise describe_failure(exc, self.endpoint, "list") from None
        ordered = sorted(self._numbers.items(), key=lambda item: item[1])
        return [
            RemoteMail(key=self.key(uidl), size=sizes.get(num, 0), uidl=uidl)
            for uidl, num in ordered
        ]

    def pending(self, is_known: Callable[[Sequence[str]], set[str]]) -> list[RemoteMail]:
        remotes = self._remotes()
        known = is_known([r.key for r in remotes])
        return [r for r in remotes if r.key not in known]

    def list_all(self) -> list[RemoteMail]:
        return self._remotes()

    def fetch(
        self, batch: Sequence[RemoteMail], max_size: int, keep_big: bool
    ) -> list[FetchedMail]:
        assert self.client is not None
        out: list[FetchedMail] = []
        try:
            for remote in batch:
                number = self._numbers[remote.uidl]
                if max_size and remote.size > max_size:
                    _resp, lines, _octets = self.client.top(number, 0)
                    full = self._retr(number) if keep_big else None
                    out.append(FetchedMail(remote, b"\r\n".join(lines) + b"\r\n", True, full=full))
                else:
                    out.append(FetchedMail(remote, self._retr(number)))
        except Exception as exc:
            raise describe_failure(exc, self.endpoint, "fetch") from None
        return out

    def _retr(self, number: int) -> bytes:
        assert self.client is not None
        _resp, lines, _octets = self.client.retr(number)
        return b"\r\n".join(lines) + b"\r\n"

    def fetch_one(self, remote: RemoteMail) -> bytes:
        return self._retr(self._numbers[remote.uidl])

    def apply(self, action: str, mails: Sequence[RemoteMail], argument: str = "") -> None:
        assert self.client is not None
        if action != "delete":
            self.trace("debug", f"POP3 cannot {action}: the mail stays on the server as it is")
            return
        try:
            for mail in mails:
                number = self._numbers.get(mail.uidl)
                if number is not None and number not in self._to_delete:
                    self.client.dele(number)
                    self._to_delete.add(number)
        except Exception as exc:
            raise describe_failure(exc, self.endpoint, "delete") from None

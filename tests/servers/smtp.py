"""A real SMTP server for tests: aiosmtpd's threaded `Controller` on 127.0.0.1.

`SmtpServer` accepts AUTH PLAIN and LOGIN against a dict of users (on plain connections too),
optionally XOAUTH2 through a token-checking callable, speaks plain SMTP, STARTTLS or implicit
TLS with a self-signed certificate, records every accepted mail in `received`, and can be told
to answer the next messages with a temporary failure (451) so outbox retries can be tested.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import email
import email.message
import email.policy
import functools
import logging
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .dovecot import free_port, make_self_signed_cert

TlsMode = Literal["none", "starttls", "ssl"]
FailureStage = Literal["RCPT", "DATA"]
TokenValidator = Callable[[str, str], bool]
"""Checks an XOAUTH2 login: (user, bearer token) -> accepted."""

_REFUSAL_MARK = "tuidesk_test_refusal"


@dataclass(frozen=True)
class ReceivedMail:
    """One mail the server accepted: the SMTP envelope, the raw data and who sent it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    auth_user: str | None
    tls: bool = False

    @property
    def message(self) -> email.message.EmailMessage:
        """The data parsed with the modern email policy."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed


@functools.cache
def shared_certificate() -> tuple[Path, Path]:
    """A self-signed (cert, key) pair for 127.0.0.1/localhost, made once per test process."""
    directory = Path(tempfile.mkdtemp(prefix="tuidesk-smtp-cert-"))
    atexit.register(shutil.rmtree, directory, True)
    return make_self_signed_cert(directory, "smtp")


def _is_tls(server: SMTP) -> bool:
    """Whether the current connection is encrypted (implicit TLS or after STARTTLS)."""
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


def _parse_xoauth2(blob: bytes) -> tuple[str, str] | None:
    """(user, token) from `user=U^Aauth=Bearer T^A^A`, or None when malformed."""
    fields = dict(
        part.split("=", 1) for part in blob.decode(errors="replace").split("\x01") if "=" in part
    )
    scheme, _, token = fields.get("auth", "").partition(" ")
    if "user" not in fields or scheme.lower() != "bearer" or not token:
        return None
    return fields["user"], token


class _DropLoginDataWarning(logging.Filter):
    """Hide aiosmtpd's "Session.login_data is deprecated" line, logged by its own AUTH code."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_DropLoginDataWarning())


class _Handler:
    """aiosmtpd hooks: temporary failures on demand, capture of accepted mail, XOAUTH2."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.owner._take_failure("RCPT", envelope)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self.owner._take_failure("DATA", envelope)
        if refusal is not None:
            return refusal
        content = envelope.original_content or b""
        auth_user = session.auth_data if isinstance(session.auth_data, str) else None
        self.owner._record(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=bytes(content),
                auth_user=auth_user,
                tls=_is_tls(server),
            )
        )
        return "250 Message accepted for delivery"

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        # Checked here rather than with aiosmtpd's auth_required, which warns on every
        # connection when TLS is not required too.
        if self.owner.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """SASL XOAUTH2: the initial response or one empty challenge, checked by the owner.

        A refused token gets a plain 535 (Gmail first sends a 334 JSON error instead).
        """
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, handled=False, message="501 5.5.2 Bad base64")
        else:
            answer = await server.challenge_auth("")
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=True)  # challenge_auth replied
            blob = answer
        parsed = _parse_xoauth2(blob)
        validator = self.owner.xoauth2_validator
        if parsed is None or validator is None or not validator(*parsed):
            # handled=False: aiosmtpd then answers 535 (AuthResult defaults to handled=True,
            # which sends no reply at all and leaves the client hanging).
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=parsed[0])


class SmtpServer:
    """An SMTP server on 127.0.0.1 and a fixed free port, run in a background thread.

    `stop()` and `start()` (or `restart()`) reuse the same port, so a client configured once
    sees the server go down and come back.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        *,
        tls: TlsMode = "none",
        require_auth: bool = False,
        cert_path: Path | None = None,
        key_path: Path | None = None,
        xoauth2_validator: TokenValidator | None = None,
        port: int | None = None,
    ) -> None:
        if tls not in ("none", "starttls", "ssl"):
            raise ValueError(f"tls must be 'none', 'starttls' or 'ssl', not {tls!r}")
        if (cert_path is None) != (key_path is None):
            raise ValueError("give both cert_path and key_path, or neither")
        self.users: dict[str, str] = dict(users or {})
        self.tls: TlsMode = tls
        self.require_auth = require_auth
        self.xoauth2_validator = xoauth2_validator
        if cert_path is None and tls != "none":
            cert_path, key_path = shared_certificate()
        self.cert_path = cert_path
        self.key_path = key_path
        self.port = port or free_port(self.host)
        self._may_change_port = port is None
        self.received: list[ReceivedMail] = []
        self._changed = threading.Condition()
        self._failures: dict[FailureStage, tuple[int, str]] = {}
        self._controller: Controller | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._controller is not None

    def start(self) -> None:
        """Listen on the port; returns once aiosmtpd has answered its own readiness probe.

        A self-chosen port lost to another process before the first start is replaced.
        """
        if self._controller is not None:
            raise RuntimeError("SMTP server is already running")
        attempts = 3 if self._may_change_port else 1
        for attempt in range(attempts):
            controller = self._controller_for_port()
            try:
                controller.start()
            except OSError:
                if attempt == attempts - 1:
                    raise
                self.port = free_port(self.host)
            else:
                self._controller = controller
                self._may_change_port = False
                return

    def stop(self) -> None:
        """Stop listening and join the server thread; the port is free again afterwards."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def restart(self) -> None:
        """Stop and start again on the same port (received mail is kept)."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server (the certificate may be shared and is left alone)."""
        self.stop()

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

    # -- test controls ---------------------------------------------------------------------

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Wait until at least count mails were received; returns them, or raises TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(
                    f"expected {count} mail(s) within {timeout}s, got {len(self.received)}"
                )
            return list(self.received)

    def fail_next(
        self,
        count: int = 1,
        *,
        stage: FailureStage = "DATA",
        reply: str = "451 4.3.0 Temporary failure, try again later",
    ) -> None:
        """Refuse the next count messages at RCPT or DATA with reply (a temporary 451).

        At RCPT every recipient of a refused message is refused; a message counts once.
        """
        if stage not in ("RCPT", "DATA"):
            raise ValueError(f"stage must be 'RCPT' or 'DATA', not {stage!r}")
        with self._changed:
            self._failures[stage] = (count, reply)

    def failures_left(self, stage: FailureStage = "DATA") -> int:
        """How many messages fail_next() will still refuse at stage."""
        with self._changed:
            return self._failures.get(stage, (0, ""))[0]

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed certificate."""
        if self.cert_path is None:
            raise RuntimeError("this SMTP server has no certificate (tls='none')")
        return ssl.create_default_context(cafile=str(self.cert_path))

    # -- internals -------------------------------------------------------------------------

    def _controller_for_port(self) -> Controller:
        """An aiosmtpd controller for the current settings (not started yet)."""
        return Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            ready_timeout=5.0,
            ssl_context=self._server_context() if self.tls == "ssl" else None,
            tls_context=self._server_context() if self.tls == "starttls" else None,
            require_starttls=False,
            authenticator=self._authenticate,
            # AUTH on plain connections too; aiosmtpd offers it only over TLS by default.
            auth_require_tls=False,
            auth_exclude_mechanism=[] if self.xoauth2_validator else ["XOAUTH2"],
        )

    def _server_context(self) -> ssl.SSLContext:
        assert self.cert_path is not None and self.key_path is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """Check PLAIN/LOGIN credentials against `users`; the login becomes `auth_user`."""
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode(errors="replace")
        password = auth_data.password.decode(errors="replace")
        if login in self.users and self.users[login] == password:
            return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def _take_failure(self, stage: FailureStage, envelope: Envelope) -> str | None:
        """The reply to refuse this message with at stage, or None to let it through.

        A message refused at RCPT is marked on its envelope (which aiosmtpd replaces after
        RSET or DATA), so its further recipients are refused without using up the count.
        """
        earlier = getattr(envelope, _REFUSAL_MARK, None)
        if stage == "RCPT" and earlier is not None:
            return str(earlier)
        with self._changed:
            count, reply = self._failures.get(stage, (0, ""))
            if count <= 0:
                return None
            self._failures[stage] = (count - 1, reply)
        if stage == "RCPT":
            setattr(envelope, _REFUSAL_MARK, reply)
        return reply

    def _record(self, mail: ReceivedMail) -> None:
        with self._changed:
            self.received.append(mail)
            self._changed.notify_all()

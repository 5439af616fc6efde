"""Turn low-level exceptions into one sentence that says what failed, where, and the fix."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from tuidesk.core.errors import MailError
from tuidesk.core.redact import redact


@dataclass(frozen=True)
class Endpoint:
    protocol: str  # "IMAP", "POP3", "SMTP"
    host: str
    port: int
    user: str = ""
    mailbox: str = ""

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def describe_failure(exc: BaseException, endpoint: Endpoint, step: str) -> MailError:
    """``step`` is what was being done: connect, tls, login, select, fetch, store, move…;
    the returned error carries it as ``.step`` (for `mailbox test`)."""
    if isinstance(exc, MailError):
        if not hasattr(exc, "step"):
            exc.step = step
        return exc
    error = _describe(exc, endpoint, step)
    error.step = step
    return error


def _describe(exc: BaseException, endpoint: Endpoint, step: str) -> MailError:
    p, where = endpoint.protocol, endpoint.where
    edit = f"tuidesk mailbox edit {endpoint.mailbox or 'NAME'}"
    if isinstance(exc, socket.gaierror):
        return MailError(
            f"the {p} host name '{endpoint.host}' cannot be resolved",
            hint=f"check the host with `{edit} --set host=…`",
        )
    if isinstance(exc, ConnectionRefusedError):
        return MailError(
            f"the {p} connection to {where} was refused",
            hint="check the host and port, and that the server is running",
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailError(
            f"the TLS certificate of {where} is not trusted ({exc.verify_message})",
            hint=f"give its CA with `{edit} --set tls_ca_file=PATH`, or accept this certificate "
            f"with `{edit} --set tls_accept_fingerprint=SHA256` (see `tuidesk mailbox test`)",
        )
    if isinstance(exc, ssl.SSLError):
        return MailError(
            f"the TLS handshake with {where} failed ({exc.reason or exc})",
            hint="check the security setting (ssl, starttls or plain) matches the port",
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return MailError(
            f"the {p} server {where} did not answer in time during {step}",
            hint=f"check the server, or raise the timeout with `{edit} --set timeout_ms=…`",
        )
    if isinstance(exc, ConnectionError | EOFError | BrokenPipeError) or _is_abort(exc):
        return MailError(
            f"the {p} server {where} closed the connection during {step}",
            hint="the next poll will try again; nothing was lost",
        )
    if step == "login":
        who = f" as {endpoint.user}" if endpoint.user else ""
        return MailError(
            f"{p} login to {where}{who} was refused ({_server_text(exc)})",
            hint="check the user name and the password",
        )
    if isinstance(exc, OSError):
        return MailError(f"the {p} connection to {where} failed during {step} ({exc.strerror})")
    return MailError(f"the {p} server {where} answered an error during {step}: {_server_text(exc)}")


def _is_abort(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in {"abort", "IMAPClientAbortError"} or "socket error" in str(exc).lower()


def _server_text(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    if len(text) > 3 and text[:2] in {"b'", 'b"'} and text[-1] == text[1]:
        text = text[2:-1]  # imaplib hands over the server's bytes as their repr
    return redact(str(text).strip())[:300] or type(exc).__name__

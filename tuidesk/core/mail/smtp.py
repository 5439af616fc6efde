"""Send mail by SMTP: SSL on connect, STARTTLS or plain; auth same-as-mailbox, basic, none or
OAuth2 (XOAUTH2, also for "same" when the mailbox itself signs in with OAuth2).

Failures become one sentence (as for fetching) and say whether trying again later can help:
``SendError.temporary`` is False for a refusal that will not change (a 5xx for a recipient).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence

from tuidesk.core.errors import ConfigError, MailError
from tuidesk.core.mail.credentials import register_mailbox_secrets, resolve_secret
from tuidesk.core.mail.failures import Endpoint, describe_failure
from tuidesk.core.mail.oauth import smtp_uses_oauth, tokens_for
from tuidesk.core.mail.tls import TlsPolicy
from tuidesk.core.mail.xoauth2 import smtp_authenticate
from tuidesk.core.redact import redact
from tuidesk.core.store.models import Mailbox


class SendError(MailError):
    def __init__(self, message: str, *, hint: str | None = None, temporary: bool = True) -> None:
        super().__init__(message, hint=hint)
        self.temporary = temporary


def smtp_endpoint(mailbox: Mailbox) -> Endpoint:
    user = mailbox.smtp_username or mailbox.username or mailbox.address
    return Endpoint("SMTP", mailbox.smtp_host, mailbox.smtp_port, user, mailbox.name)


def smtp_credentials(mailbox: Mailbox) -> tuple[str, str] | None:
    """(user, password) for AUTH, or None when the server takes mail without it (or when it
    logs in with OAuth2: see ``smtp_uses_oauth``)."""
    register_mailbox_secrets(mailbox)
    mode = mailbox.smtp_auth
    if mode == "none" or smtp_uses_oauth(mailbox):
        return None
    if mode == "same":
        password = resolve_secret(
            name="password",
            stored=mailbox.password,
            env=mailbox.password_env,
            command=mailbox.password_command,
            owner=mailbox.name,
        )
        return (mailbox.username or mailbox.address, password)
    if mode == "basic":
        password = resolve_secret(
            name="SMTP password",
            stored=mailbox.smtp_password,
            env=mailbox.smtp_password_env,
            command=mailbox.smtp_password_command,
            owner=mailbox.name,
        )
        return (mailbox.smtp_username or mailbox.address, password)
    raise ConfigError(
        f"mailbox '{mailbox.name}' sends with an unknown SMTP auth '{mode}'",
        hint="use smtp_auth=same, basic, oauth2 or none",
    )


class SmtpSender:
    """One SMTP session for one mailbox; use as a context manager."""

    def __init__(self, mailbox: Mailbox) -> None:
        if not mailbox.smtp_enabled or not mailbox.smtp_host:
            raise ConfigError(
                f"mailbox '{mailbox.name}' has no outgoing SMTP server",
                hint=f"set it with `tuidesk mailbox edit {mailbox.name} --set smtp_enabled=true "
                "--set smtp_host=… --set smtp_port=…`",
            )
        self.mailbox = mailbox
        self.endpoint = smtp_endpoint(mailbox)
        self.tls = TlsPolicy(
            verify=mailbox.smtp_tls_verify,
            ca_file=mailbox.smtp_tls_ca_file,
            fingerprint="",
        )
        self.timeout_s = max(mailbox.timeout_ms, 100) / 1000
        self.client: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        ep, security = self.endpoint, self.mailbox.smtp_security
        step = "connect"
        try:
            if security == "ssl":
                self.client = smtplib.SMTP_SSL(
                    ep.host, ep.port, timeout=self.timeout_s, context=self.tls.context()
                )
            else:
                self.client = smtplib.SMTP(ep.host, ep.port, timeout=self.timeout_s)
            self.client.ehlo()
            if security == "starttls":
                step = "tls"
                self.client.starttls(context=self.tls.context())
                self.client.ehlo()
            credentials = smtp_credentials(self.mailbox)
            if smtp_uses_oauth(self.mailbox):
                step = "login"
                tokens = tokens_for(self.mailbox, "smtp")
                smtp_authenticate(self.client, tokens, ep.host, ep.port)
            elif credentials is not None:
                step = "login"
                self.client.login(*credentials)
        except (ConfigError, MailError):
            self.close()
            raise
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise SendError(
                f"SMTP login to {ep.where} as {ep.user} was refused ({_reply(exc)})",
                hint="check the SMTP user name and password (smtp_auth, smtp_username)",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            self.close()
            raise SendError(
                f"the SMTP server {ep.where} does not support {step} ({exc})",
                hint="check smtp_security and smtp_auth",
            ) from None
        except Exception as exc:
            self.close()
            raise describe_failure(exc, ep, step) from None

    def send(self, raw: bytes, mail_from: str, recipients: Sequence[str]) -> None:
        assert self.client is not None
        ep = self.endpoint
        try:
            refused = self.client.sendmail(mail_from, list(recipients), raw)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            raise SendError(
                f"the SMTP server {ep.where} refused every recipient "
                f"({', '.join(f'{r}: {c}' for r, (c, _m) in exc.recipients.items())})",
                temporary=all(400 <= c < 500 for c in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(
                f"the SMTP server {ep.where} refused the mail ({_reply(exc)})",
                temporary=400 <= exc.smtp_code < 500,
            ) from None
        except smtplib.SMTPServerDisconnected:
            raise SendError(f"the SMTP server {ep.where} closed the connection") from None
        except (OSError, ssl.SSLError) as exc:
            raise describe_failure(exc, ep, "send") from None
        if refused:
            raise SendError(
                "the SMTP server refused some recipients: "
                + ", ".join(f"{r} ({c})" for r, (c, _m) in refused.items()),
                temporary=False,
            )

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit()
        except Exception:
            client.close()


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = (
        exc.smtp_error.decode("utf-8", "replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return redact(f"{exc.smtp_code} {text}".strip())

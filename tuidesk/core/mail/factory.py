"""Build the right MailSource for a mailbox from its settings."""

from __future__ import annotations

from tuidesk.core.errors import ConfigError, MailError
from tuidesk.core.mail.credentials import mailbox_password, register_mailbox_secrets
from tuidesk.core.mail.failures import Endpoint
from tuidesk.core.mail.oauth import is_oauth
from tuidesk.core.mail.source import MailSource, Trace
from tuidesk.core.mail.tls import TlsPolicy
from tuidesk.core.store.models import Mailbox


def endpoint_of(mailbox: Mailbox) -> Endpoint:
    names = {"imap": "IMAP", "pop3": "POP3", "graph": "Microsoft Graph"}
    protocol = names.get(mailbox.protocol, mailbox.protocol.upper())
    return Endpoint(
        protocol=protocol,
        host=mailbox.host,
        port=mailbox.port,
        user=mailbox.username or mailbox.address,
        mailbox=mailbox.name,
    )


def tls_policy(mailbox: Mailbox) -> TlsPolicy:
    return TlsPolicy(
        verify=mailbox.tls_verify,
        ca_file=mailbox.tls_ca_file,
        fingerprint=mailbox.tls_accept_fingerprint,
    )


def build_source(mailbox: Mailbox, trace: Trace, *, watermark=None) -> MailSource:
    register_mailbox_secrets(mailbox)
    protocol = mailbox.protocol
    if protocol in {"imap", "pop3"} and not mailbox.host:
        raise ConfigError(
            f"mailbox '{mailbox.name}' has no host",
            hint=f"set it with `tuidesk mailbox edit {mailbox.name} --set host=…`",
        )
    timeout_s = max(mailbox.timeout_ms, 100) / 1000
    if protocol == "imap":
        from tuidesk.core.mail.imap import ImapSource

        return ImapSource(
            endpoint=endpoint_of(mailbox),
            security=mailbox.security,
            tls=tls_policy(mailbox),
            timeout_s=timeout_s,
            password=_password(mailbox),
            folder=mailbox.folder,
            batch_size=mailbox.emails_per_fetch,
            watermark=watermark,
            since=mailbox.sync_start_date,
            trace=trace,
            authenticate=_oauth_login(mailbox, "imap"),
        )
    if protocol == "pop3":
        from tuidesk.core.mail.pop3 import Pop3Source

        return Pop3Source(
            endpoint=endpoint_of(mailbox),
            security=mailbox.security,
            tls=tls_policy(mailbox),
            timeout_s=timeout_s,
            password=_password(mailbox),
            trace=trace,
            authenticate=_oauth_login(mailbox, "pop3"),
        )
    if protocol == "graph":
        from tuidesk.core.mail.graph import GraphSource

        return GraphSource(mailbox, trace=trace)
    if protocol == "maildir":
        from tuidesk.core.mail.maildir import MaildirSource

        if not mailbox.maildir_path:
            raise ConfigError(
                f"mailbox '{mailbox.name}' reads a Maildir but names no maildir_path",
                hint=f"set it with `tuidesk mailbox edit {mailbox.name} --set maildir_path=…`",
            )
        return MaildirSource(path=mailbox.maildir_path, mailbox=mailbox.name, trace=trace)
    if protocol == "pipe":
        raise ConfigError(
            f"mailbox '{mailbox.name}' receives mail by pipe (`tuidesk ingest`); it is not polled"
        )
    raise ConfigError(
        f"mailbox '{mailbox.name}' uses protocol '{protocol}', which this tuidesk cannot fetch yet",
        hint="use imap, pop3, graph or maildir",
    )


def _password(mailbox: Mailbox) -> str:
    return "" if is_oauth(mailbox) else mailbox_password(mailbox)


def _oauth_login(mailbox: Mailbox, protocol: str):
    """The XOAUTH2/OAUTHBEARER login hook for an OAuth2 mailbox, None for a password one
    (so only OAuth2 mailboxes import msal and requests). The token is asked for now; the hook
    finds it in the cache."""
    if not is_oauth(mailbox):
        return None
    from tuidesk.core.mail import xoauth2
    from tuidesk.core.mail.oauth import tokens_for

    tokens = tokens_for(mailbox, protocol)
    try:  # before connecting: a sign-in that expired is the news, not the server
        tokens.access_token()
    except MailError as exc:
        exc.step = "login"
        raise
    login = xoauth2.imap_authenticator if protocol == "imap" else xoauth2.pop3_authenticator
    return login(tokens, mailbox.host, mailbox.port)

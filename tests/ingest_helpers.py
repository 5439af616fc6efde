"""Shared helpers for the ingest tests: a mailbox row pointing at the Dovecot fixture."""

from __future__ import annotations

from tuidesk.core.poller import Poller, PollResult
from tuidesk.core.store.models import Mailbox, database_proxy


def imap_mailbox(dovecot, user, name: str = "support", **settings) -> Mailbox:
    values = dict(
        name=name,
        address=user.address,
        status="active",
        protocol="imap",
        host=dovecot.host,
        port=dovecot.imap_port,
        security="plain",
        username=user.address,
        password=user.password,
        timeout_ms=5000,
        unknown_sender="create",
        after_fetch="move",
        after_fetch_folder="Processed",
    )
    values.update(settings)
    return Mailbox.create(**values)


def pop3_mailbox(dovecot, user, name: str = "pop", **settings) -> Mailbox:
    values = dict(
        protocol="pop3", port=dovecot.pop3_port, after_fetch="delete", after_fetch_folder=""
    )
    values.update(settings)
    return imap_mailbox(dovecot, user, name=name, **values)


def poll(mailbox: Mailbox) -> PollResult:
    fresh = Mailbox.get_by_id(mailbox.id)
    return Poller(database_proxy.obj).poll(fresh)


def smtp_settings(smtp_server, **overrides) -> dict:
    """Mailbox settings that send through the aiosmtpd fixture with AUTH."""
    user, password = next(iter(smtp_server.users.items()), ("", ""))
    values = dict(
        smtp_enabled=True,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="plain",
        smtp_auth="basic",
        smtp_username=user,
        smtp_password=password,
    )
    values.update(overrides)
    return values


def send_outbox():
    from tuidesk.core.notify.outbox import send_outbox as send

    return send(database_proxy.obj)

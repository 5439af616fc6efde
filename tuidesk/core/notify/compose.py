"""Build outgoing mail: template context, headers that thread back, the MIME message.

Message-IDs carry the ticket number (``<tuidesk.123456.TOKEN@domain>``) so a reply finds its
ticket even when only the ID survives; replies set In-Reply-To and References; subjects carry
the mailbox's tag (``[#123456]``); automatic mail says so in Auto-Submitted and
X-Auto-Response-Suppress, so well-behaved responders do not answer it.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

from tuidesk.core import global_settings
from tuidesk.core.notify.templates import RenderedMail
from tuidesk.core.store.models import Contact, Mailbox, Message, Ticket


def new_message_id(ticket_number: int | None, domain: str) -> str:
    token = secrets.token_hex(8)
    number = f"{ticket_number:06d}" if ticket_number is not None else "0"
    return f"<tuidesk.{number}.{token}@{domain or 'tuidesk.invalid'}>"


def tag_subject(subject: str, number: int, tag_format: str = "[#{number}]") -> str:
    tag = tag_format.format(number=f"{number:06d}")
    return subject if tag in subject else f"{tag} {subject}".strip()


def ticket_url(number: int) -> str:
    pattern = global_settings.get("ticket_url")
    return pattern.format(number=f"{number:06d}") if pattern else ""


def ticket_context(ticket: Ticket, **extra: Any) -> dict[str, Any]:
    contact = Contact.get_or_none(Contact.id == ticket.contact_id) if ticket.contact_id else None
    last = (
        Message.select(Message.new_part)
        .where((Message.ticket == ticket.id) & (Message.direction == "in"))
        .order_by(Message.id.desc())
        .first()
    )
    number = f"{ticket.number:06d}"
    url = ticket_url(ticket.number)
    context: dict[str, Any] = {
        "ticket": {
            "number": number,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "dept": ticket.department.name if ticket.department_id else "",
            "staff": ticket.assignee.name if ticket.assignee_id else "",
            "create_date": f"{ticket.created_at:%Y-%m-%d %H:%M}",
            "createDate": f"{ticket.created_at:%Y-%m-%d %H:%M}",
            "last_message": last.new_part if last else "",
            "lastMessage": last.new_part if last else "",
            "contact": formataddr((contact.name, contact.email)) if contact else "",
            "client": ticket.client.name if ticket.client_id else "",
            "url": url,
        },
        "recipient": {
            "name": contact.name if contact else "",
            "email": contact.email if contact else "",
        },
        "helpdesk": {"name": global_settings.get("helpdesk_name"), "address": ""},
        "url": url,
    }
    context.update(extra)
    return context


@dataclass(frozen=True)
class Outgoing:
    """A composed mail, ready for the outbox."""

    message: EmailMessage
    message_id: str
    mail_from: str  # envelope sender
    recipients: tuple[str, ...]
    subject: str
    attachments: tuple[tuple[str, str, bytes], ...] = field(default=())

    def wire_bytes(self) -> bytes:
        """The message as SMTP carries it: CRLF line ends (smtplib does not convert bytes)."""
        return self.message.as_bytes(policy=self.message.policy.clone(linesep="\r\n"))


def compose(
    *,
    mailbox: Mailbox | None,
    ticket: Ticket | None,
    rendered: RenderedMail,
    to: Sequence[str],
    cc: Sequence[str] = (),
    automatic: bool,
    in_reply_to: str = "",
    references: Sequence[str] = (),
    attachments: Sequence[tuple[str, str, bytes]] = (),
    forward: bytes | None = None,
    from_name: str = "",
    from_address: str = "",
) -> Outgoing:
    envelope = mailbox.address if mailbox else ""
    address = from_address or envelope  # another From than the mailbox's: header spoofing
    domain = address.rpartition("@")[2]
    message_id = new_message_id(ticket.number if ticket else None, domain)
    subject = rendered.subject
    if ticket is not None:
        subject = tag_subject(
            subject, ticket.number, mailbox.subject_tag_format if mailbox else "[#{number}]"
        )
    msg = EmailMessage()
    display = (
        from_name
        or (mailbox.display_name if mailbox else "")
        or global_settings.get("helpdesk_name")
    )
    msg["From"] = formataddr((display, address)) if address else display
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if mailbox and mailbox.reply_to:
        msg["Reply-To"] = mailbox.reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    if automatic:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
        msg["Precedence"] = "auto_reply"
    if ticket is not None:
        msg["X-Tuidesk-Ticket"] = f"{ticket.number:06d}"
    msg.set_content(rendered.text)
    if rendered.html:
        msg.add_alternative(rendered.html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=filename,
        )
    if forward is not None:
        attach_original(msg, forward)
    return Outgoing(msg, message_id, envelope, tuple(to) + tuple(cc), subject, tuple(attachments))


def read_attachments(paths: Sequence[Path]) -> list[tuple[str, str, bytes]]:
    out = []
    for path in paths:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        out.append((path.name, content_type, path.read_bytes()))
    return out


def attach_original(msg: EmailMessage, raw: bytes) -> None:
    """Attach a received mail unchanged: message/rfc822 when it is 7-bit clean, otherwise as
    an .eml file (message/rfc822 may not be transfer-encoded, and 8-bit may not survive)."""
    if raw.isascii():
        msg.add_attachment(
            raw, maintype="message", subtype="rfc822", cte="7bit", filename="original.eml"
        )
    else:
        msg.add_attachment(
            raw, maintype="application", subtype="octet-stream", filename="original.eml"
        )

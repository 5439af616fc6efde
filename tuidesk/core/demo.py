"""Demo data: a small, believable helpdesk to explore tuidesk without a mail server.

:func:`populate_demo` fills an empty database with clients and their mail domains, contacts,
departments, agents, a draft mailbox (never polled) and 25 tickets with threads: customer mail
with real Message-ID/In-Reply-To/References chains, agent replies, internal notes, automatic
messages and a few small attachments. Everything is derived from a seeded ``random.Random`` and
from ``now``, so the same ``now`` gives the same database (the UI snapshots depend on it).
"""

from __future__ import annotations

import os
import random
import struct
import zlib
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import NamedTuple

from tuidesk.core.clock import utcnow
from tuidesk.core.store.db import connect
from tuidesk.core.store.models import (
    Agent,
    Client,
    ClientDomain,
    Contact,
    Department,
    Mailbox,
    Message,
    Ticket,
    database_proxy,
)
from tuidesk.core.tickets import (
    NewTicket,
    add_attachment,
    add_participants,
    create_ticket,
    get_or_create_contact,
)

SEED = 7
HELPDESK_DOMAIN = "helpdesk.example"
SUPPORT_ADDRESS = f"support@{HELPDESK_DOMAIN}"

CLIENTS: dict[str, tuple[str, ...]] = {
    "Acme Logistics": ("acme-logistics.example", "acmefreight.example"),
    "Northwind Traders": ("northwind.example",),
    "Bluebird Dental": ("bluebird-dental.example",),
    "Harbor & Finch Architects": ("harborfinch.example",),
}
# key: (name, address, client name or "" for a contact without a client)
CONTACTS: dict[str, tuple[str, str, str]] = {
    "maria": ("Maria Lopez", "maria.lopez@acme-logistics.example", "Acme Logistics"),
    "tom": ("Tom Becker", "t.becker@acmefreight.example", "Acme Logistics"),
    "priya": ("Priya Raman", "priya@northwind.example", "Northwind Traders"),
    "jonas": ("Jonas Berg", "jonas.berg@northwind.example", "Northwind Traders"),
    "grace": ("Dr. Grace Holm", "grace.holm@bluebird-dental.example", "Bluebird Dental"),
    "frontdesk": ("", "frontdesk@bluebird-dental.example", "Bluebird Dental"),
    "leo": ("Leo Marchetti", "leo@harborfinch.example", "Harbor & Finch Architects"),
    "sam": ("Sam Okafor", "sam.okafor@mailbox.example", ""),
}
DEPARTMENTS = ("Support", "Billing", "Sales")
AGENTS: dict[str, tuple[str, str]] = {
    "dana": ("Dana Whitfield", f"dana@{HELPDESK_DOMAIN}"),
    "ravi": ("Ravi Patel", f"ravi@{HELPDESK_DOMAIN}"),
    "lena": ("Lena Novak", f"lena@{HELPDESK_DOMAIN}"),
}

ACK = (
    "Hello {first},\n\nthank you for contacting us. Your request has been received as ticket "
    "[#{number}] and an agent will get back to you soon. Reply to this mail to add details.\n\n"
    "Helpdesk Support"
)
OUT_OF_OFFICE = "I am out of the office until Monday with limited access to mail."
THANKS = (
    "Thanks, that fixed it!",
    "Perfect, thank you for the quick help.",
    "All good now, you can close this.",
)


class Step(NamedTuple):
    kind: str  # in, out, note, ack (automatic acknowledgement), ooo (automatic reply received)
    body: str = ""  # empty: a stock text (the acknowledgement, out-of-office, thanks)
    attachment: str = ""  # a key of _ATTACHMENTS


class Spec(NamedTuple):
    subject: str
    contact: str  # a key of CONTACTS
    department: str
    priority: str
    status: str
    assignee: str  # a key of AGENTS, or "" for unassigned
    days_ago: float  # when the first mail came in
    unread: bool
    steps: tuple[Step, ...]
    cc: tuple[str, str] | None  # (name, address) of a participant in copy


# Each ticket: "# subject|contact|department|priority|status|assignee|days ago|unread", then
# its thread, a line per entry: "kind[attachment]: body" ("cc: Name <address>" adds a participant).
# The automatic acknowledgement ("ack") follows the first mail of every ticket.
TICKET_SCRIPT = """
# VPN drops every 10 minutes since Monday|maria|Support|high|open|dana|0.3|unread
cc: Acme IT <it@acme-logistics.example>
in: Since Monday the VPN disconnects about every ten minutes for the dispatch team.
out: Could you send us the VPN client log from one of the affected laptops?
in[vpn]: Here is the log from my laptop, it happened again at 09:14.
note: Keepalive timeouts in the log: likely the new firewall's UDP idle timeout. Asked network.
# Invoice INV-2291 charged twice|priya|Billing|urgent|pending|ravi|0.6|read
in[csv]: Our card was charged twice for invoice INV-2291, see the statement export attached.
note: Payment provider confirms a duplicate capture on the 3rd.
out: You are right, it was a duplicate. We refunded it: can you confirm when it arrives?
# Printer on 2nd floor shows offline|tom|Support|normal|open||1.1|unread
in: The printer next to the kitchen shows offline for everyone. Power cycling did not help.
# Quote for 15 additional seats|jonas|Sales|normal|pending|lena|2.2|read
in: We need 15 more seats from next month. Could you send a quote, with the annual discount?
out: Happy to help! Should the new seats be on the Business plan like the existing ones?
# Cannot log in after password reset|grace|Support|urgent|open|dana|0.15|unread
in: I reset my password this morning and now I cannot log in. The clinic opens in an hour.
out: We have unlocked your account. Please try again with the new password.
in[png]: Still fails, screenshot attached.
# Appointment reminders not sending|frontdesk|Support|high|pending|dana|3.2|read
in: Patients have not received SMS reminders since Friday.
out: The SMS gateway rejects the messages. Is the sender name in your settings still BLUEBIRD?
# Change billing address|leo|Billing|low|closed|ravi|12.4|read
in: We moved: please send invoices to Via Roma 12, 20121 Milano from now on.
out: Done, the next invoice will go to the new address.
in
# Question about your data retention policy|sam|Sales|normal|open||1.6|unread
in: Before we sign up: how long do you keep mail and attachments, and can we ask for deletion?
# Outlook keeps asking for password|maria|Support|normal|closed|dana|20.2|read
in: Outlook asks for my password every few minutes.
out: We removed an old saved credential from your profile. Please restart Outlook.
in
# New starter: laptop and accounts for Ana Silva|tom|Support|normal|pending|lena|4.3|read
cc: Acme HR <hr@acmefreight.example>
in: Ana Silva starts on the 1st in accounting: she needs a laptop, mail and the finance share.
note: Laptop reserved from stock (LT-0457).
out: Everything is prepared. Who should receive the initial password?
# [URGENT] Website down|jonas|Support|urgent|closed|dana|9.1|read
cc: Northwind Ops <ops@northwind.example>
in: Our shop at northwind.example returns an error 502 for all visitors!
out: We are on it: the web server ran out of disk space. Cleaning up now.
ooo
note: Rotated logs, added a disk space alarm at 85%.
out: The site is back, and an alarm now warns us before the disk fills up again.
in
# Renewal of support contract 2025|grace|Sales|normal|open|lena|6.3|read
in: Our support contract ends next month. What are the options to renew?
out: We can renew on the same terms or move you to the yearly plan with 10% off. Send both?
in: Yes please, both.
# Export of patient list to CSV fails|frontdesk|Support|high|open||0.8|unread
in[log]: The export stops with an error after a few seconds. Log attached.
# Request: add Leo to the admin group|leo|Support|low|closed|dana|25.0|read
in: Could you give me admin rights on the project server?
out: Done: you are now in the admin group; log out and in again to apply it.
in
# Wrong VAT rate on last invoice|priya|Billing|high|pending|ravi|5.2|read
in: The last invoice shows 19% VAT but we are VAT-registered in Sweden.
out: Could you send us your VAT number so we can issue a corrected invoice?
# Langsamer Dateizugriff im Büro Hamburg|tom|Support|normal|open|dana|2.6|unread
in: Seit gestern dauert das Öffnen von Dateien auf dem Share sehr lange.
out: Danke! Betrifft es alle Dateien oder nur große Excel-Dateien?
in: Vor allem die großen Excel-Dateien, kleinere gehen normal.
# Cancel my trial|sam|Sales|low|closed|lena|30.0|read
in: Please cancel my trial, we went with another tool for now.
out: Your trial is cancelled and no charge will be made. Thanks for trying us!
in
# Backup job failed last night|maria|Support|high|closed|dana|16.3|read
in[backup]: The nightly backup report says FAILED, log attached.
note: Target NAS was full; pruned snapshots older than 90 days.
out: The backup target was full. We freed space and re-ran the job: it completed.
in
# Can we pay by bank transfer?|leo|Billing|normal|closed|ravi|18.2|read
in: Is it possible to pay invoices by bank transfer instead of card?
out: Yes: the bank details are on every invoice. Use the invoice number as the reference.
in
# Teams calls drop audio|jonas|Support|normal|pending|lena|7.1|read
in: In Teams calls the audio drops for a few seconds every few minutes.
out: Does it happen on cable too, or only on Wi-Fi?
# Shared calendar not visible for reception|grace|Support|low|open||3.6|unread
in: Reception cannot see the shared 'Surgery' calendar.
# Upgrade to the Business plan|priya|Sales|normal|closed|lena|22.4|read
in: We would like to upgrade to the Business plan from the next cycle.
out: Done: the upgrade takes effect on the 1st; the invoice will follow.
in
# Phishing mail received – is this legit?|tom|Support|high|closed|dana|11.2|read
in: I got a mail asking me to confirm my mailbox password. Is this real?
out: No, this is phishing: please delete it. We blocked the sender for everyone.
in
# Monitor flickering|leo|Support|low|open|dana|8.3|read
in: My second monitor flickers when the laptop is docked.
out: Could you try the other DisplayPort cable from the meeting room?
in: Same with the other cable.
# Receipt for March|sam|Billing|low|pending|ravi|10.4|read
in: Could you send me a receipt for the March payment?
out: Sure: is the receipt for you personally or for a company (name and address)?
"""


def parse_script(script: str) -> tuple[Spec, ...]:
    """The tickets written in ``script`` (the format of :data:`TICKET_SCRIPT`)."""
    specs: list[Spec] = []
    for block in script.strip().removeprefix("# ").split("\n# "):
        header, *lines = block.splitlines()
        subject, contact, department, priority, status, assignee, days, unread = header.split("|")
        steps: list[Step] = []
        cc: tuple[str, str] | None = None
        for line in lines:
            head, _, body = line.partition(":")
            kind, _, attachment = head.rstrip("]").partition("[")
            if kind == "cc":
                cc = parseaddr(body)
            else:
                steps.append(Step(kind, body.strip(), attachment))
        steps.insert(1, Step("ack"))
        specs.append(
            Spec(subject, contact, department, priority, status, assignee, float(days),
                 unread == "unread", tuple(steps), cc)
        )  # fmt: skip
    return tuple(specs)


TICKETS = parse_script(TICKET_SCRIPT)


def _png(width: int = 8, height: int = 8) -> bytes:
    """A small valid PNG (an 8-bit RGB checkerboard), made by hand: no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    light, dark = b"\xe8\xf0\xf8", b"\x1f\x6f\xb4"
    rows = b"".join(
        b"\x00" + b"".join(light if (x + y) % 2 else dark for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# fmt: off
_ATTACHMENTS: dict[str, tuple[str, str, bytes]] = {
    "vpn": ("vpn-client.log", "text/plain", (
        b"09:02:11 connected to vpn.acme-logistics.example (udp/1194)\n"
        b"09:12:40 keepalive timeout, no reply from peer in 60s\n"
        b"09:12:41 connection reset, reconnecting\n"
        b"09:14:03 connected to vpn.acme-logistics.example (udp/1194)\n")),
    "csv": ("statement.csv", "text/csv", (
        b"date,description,amount,currency\n"
        b"2025-03-03,INV-2291 helpdesk subscription,490.00,EUR\n"
        b"2025-03-03,INV-2291 helpdesk subscription,490.00,EUR\n")),
    "png": ("screenshot.png", "image/png", _png()),
    "log": ("export-error.log", "text/plain", (
        b"export started: 1843 records\n"
        b"error: field 'birth_date' has invalid value '31.02.1987' in record 1177\n")),
    "backup": ("backup.log", "text/plain", (
        b"job nightly-full started 01:00\n"
        b"error: target //nas01/backup: no space left on device (0 B free)\n"
        b"job nightly-full FAILED after 00:42:10\n")),
}
# fmt: on


class _Directory(NamedTuple):
    contacts: dict[str, Contact]
    departments: dict[str, Department]
    agents: dict[str, Agent]
    mailbox: Mailbox


def populate_demo(now: datetime | None = None) -> None:
    """Fill the bound database with the demo helpdesk, unless it already has tickets."""
    if Ticket.select().exists():
        return
    now = now or utcnow()
    rng = random.Random(SEED)
    with database_proxy.atomic():
        directory = _directory(now)
        numbers = rng.sample(range(100000, 1000000), len(TICKETS))
        for spec, number in zip(TICKETS, numbers, strict=True):
            _demo_ticket(spec, number, rng, now, directory)


def ensure_demo_database(path: str | os.PathLike[str]) -> None:
    """Open (creating if needed) the SQLite database at ``path`` and fill it with the demo;
    the models stay bound to it."""
    connect(os.fspath(path))
    populate_demo()


def _directory(now: datetime) -> _Directory:
    clients: dict[str, Client] = {}
    for name, domains in CLIENTS.items():
        clients[name] = Client.get_or_create(name=name, defaults={"created_at": now})[0]
        for domain in domains:
            ClientDomain.get_or_create(domain=domain, defaults={"client": clients[name]})
    departments = {
        name: Department.get_or_create(name=name, defaults={"created_at": now})[0]
        for name in DEPARTMENTS
    }
    mailbox_fields = {
        "address": SUPPORT_ADDRESS,
        "display_name": "Helpdesk Support",
        "status": "draft",  # a draft mailbox is never polled
        "protocol": "imap",
        "host": "imap.example.com",
        "username": SUPPORT_ADDRESS,
        "department": departments["Support"],
    }
    return _Directory(
        contacts={
            key: get_or_create_contact(address, name, clients.get(client))
            for key, (name, address, client) in CONTACTS.items()
        },
        departments=departments,
        agents={
            key: Agent.get_or_create(email=email, defaults={"name": name, "created_at": now})[0]
            for key, (name, email) in AGENTS.items()
        },
        mailbox=Mailbox.get_or_create(name="Demo support", defaults=mailbox_fields)[0],
    )


def _demo_ticket(
    spec: Spec, number: int, rng: random.Random, now: datetime, directory: _Directory
) -> None:
    contact = directory.contacts[spec.contact]
    assignee = directory.agents.get(spec.assignee)
    agent = assignee or directory.agents["dana"]  # who answers an unassigned ticket
    when = now - timedelta(days=spec.days_ago, minutes=rng.randint(0, 50))
    ticket = create_ticket(
        NewTicket(
            subject=spec.subject,
            contact=contact,
            department=directory.departments[spec.department],
            mailbox=directory.mailbox,
            priority=spec.priority,
            assignee=assignee,
            created_at=when,
            number=number,  # chosen, not drawn, so the demo is reproducible
        )
    )
    if spec.cc:
        add_participants(ticket, [spec.cc])
    chain: list[str] = []  # the Message-IDs so far, for In-Reply-To and References
    previous: Message | None = None
    for index, step in enumerate(spec.steps):
        if index:
            gap = timedelta(minutes=1 if step.kind == "ack" else rng.randint(15, 18 * 60))
            when = min(when + gap, when + (now - when) / 2)  # never in the future
        inbound, note = step.kind in ("in", "ooo"), step.kind == "note"
        body = step.body or _stock_body(step.kind, contact, number, rng)
        author_name, author_email, message_id, subject = _envelope(
            step.kind, index, spec, contact, agent, number, rng
        )
        if step.kind == "out":
            body = f"{body}\n\n{agent.name.split()[0]}, Helpdesk Support"
        message = Message.create(
            ticket=ticket,
            direction="in" if inbound else ("note" if note else "out"),
            automatic=step.kind in ("ack", "ooo"),
            author_name=author_name,
            author_email=author_email,
            agent=agent if step.kind in ("out", "note") else None,
            message_id=message_id,
            in_reply_to=chain[-1] if chain and message_id else "",
            references=" ".join(chain) if message_id else "",
            to_addrs="" if note else (SUPPORT_ADDRESS if inbound else contact.email),
            cc_addrs=spec.cc[1] if spec.cc and index == 0 else "",
            subject=subject,
            date=when,
            new_part=body,
            full_text=_quoted(body, previous) if step.kind in ("in", "out") else body,
            created_at=when,
        )
        if step.attachment:
            filename, content_type, data = _ATTACHMENTS[step.attachment]
            add_attachment(message, data, filename, content_type)
        if not note:
            chain.append(message_id)
            previous = message
    Ticket.update(
        status=spec.status,
        unread=spec.unread,
        last_activity_at=when,
        updated_at=when,
        closed_at=when if spec.status == "closed" else None,
        due_at=None,  # demo threads start answered: no overdue alerts out of the box
    ).where(Ticket.id == ticket.id).execute()


def _envelope(
    kind: str, index: int, spec: Spec, contact: Contact, agent: Agent, number: int,
    rng: random.Random,
) -> tuple[str, str, str, str]:  # fmt: skip
    """Who wrote a thread entry, its Message-ID (ours carry the ticket number) and subject."""
    tag = f"[#{number:06d}]"
    if kind == "note":
        return agent.name, agent.email, "", ""
    if kind in ("in", "ooo"):
        domain = contact.email.rpartition("@")[2]
        message_id = f"<{rng.getrandbits(64):016x}.{index}@mail.{domain}>"
        subject = spec.subject if index == 0 else f"Re: {spec.subject} {tag}"
        subject = f"Automatic reply: {subject}" if kind == "ooo" else subject
        return contact.name, contact.email, message_id, subject
    message_id = f"<tuidesk.{number:06d}.{rng.getrandbits(32):08x}@{HELPDESK_DOMAIN}>"
    if kind == "ack":
        subject = f"{tag} We received your request: {spec.subject}"
        return "Helpdesk Support", SUPPORT_ADDRESS, message_id, subject
    return agent.name, agent.email, message_id, f"Re: {spec.subject} {tag}"


def _stock_body(kind: str, contact: Contact, number: int, rng: random.Random) -> str:
    if kind == "ack":
        words = contact.name.split()
        first = f"{words[0]} {words[-1]}" if words[:1] == ["Dr."] else (words or ["there"])[0]
        return ACK.format(first=first, number=f"{number:06d}")
    if kind == "ooo":
        return OUT_OF_OFFICE
    return rng.choice(THANKS)


def _quoted(body: str, previous: Message | None) -> str:
    """The whole text of a reply: the new part, then the previous message quoted."""
    if previous is None:
        return body
    stamp = previous.date.strftime("%d %b %Y %H:%M") if previous.date else "earlier"
    quoted = "\n".join(f"> {line}" for line in previous.new_part.splitlines())
    return f"{body}\n\nOn {stamp}, {previous.author_name or previous.author_email} wrote:\n{quoted}"

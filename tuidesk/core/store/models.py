"""Peewee models for the whole domain.

Naming: tables are plural snake case; every timestamp is naive UTC; lists that a person edits
(domains, aliases, patterns) are newline-separated text so they round-trip through forms and
TOML unchanged. ``SCHEMA_VERSION`` and ``migrations.py`` move an existing database forward.
"""

from __future__ import annotations

from peewee import (
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from tuidesk.core.clock import utcnow

database_proxy = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


# --- choices (stored as short strings; the UI shows them as they are) -----------------------

TICKET_STATUSES = ("open", "pending", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
MAILBOX_STATUSES = ("draft", "active", "disabled")
PROTOCOLS = ("imap", "pop3", "graph", "maildir", "pipe")
SECURITY_MODES = ("ssl", "starttls", "plain")
AUTH_METHODS = ("password", "oauth2_microsoft", "oauth2_google", "oauth2_other")
AFTER_FETCH = ("move", "delete", "mark_seen", "keep", "keep_until_closed")
BEHAVIOURS = ("create_or_update", "create_only", "update_only")
UNKNOWN_SENDER = ("hold", "create", "reject")
CLOSED_TICKET_POLICY = ("reopen", "new_linked", "hold")
ERROR_BEHAVIOUR = ("keep", "delete", "forward")
SMTP_AUTH = ("same", "basic", "none", "oauth2")
INBOUND_STATES = (
    "new",
    "ticket_created",
    "reply_added",
    "held_for_review",
    "rejected",
    "error",
)
FINAL_INBOUND_STATES = INBOUND_STATES[1:]
OUTBOX_STATES = ("queued", "sending", "sent", "failed", "discarded")
MESSAGE_DIRECTIONS = ("in", "out", "note", "event")  # event: who changed what


class Setting(BaseModel):
    """Global settings kept in the database (fetching enabled, default outgoing mailbox…)."""

    key = CharField(primary_key=True, max_length=100)
    value = TextField()


class SchemaVersion(BaseModel):
    version = IntegerField()
    applied_at = DateTimeField(default=utcnow)


class Client(BaseModel):
    name = CharField(max_length=200, unique=True)
    notes = TextField(default="")
    created_at = DateTimeField(default=utcnow)


class ClientDomain(BaseModel):
    """000's domain tracker: mail from this domain belongs to this client."""

    client = ForeignKeyField(Client, backref="domains", on_delete="CASCADE")
    domain = CharField(max_length=253, unique=True)


class Agent(BaseModel):
    name = CharField(max_length=200)
    email = CharField(max_length=320, unique=True)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class Department(BaseModel):
    name = CharField(max_length=200, unique=True)
    # The mailboxes that send this department's mail; set after Mailbox exists (see below).
    created_at = DateTimeField(default=utcnow)


class Contact(BaseModel):
    email = CharField(max_length=320, unique=True)  # stored lower-cased
    name = CharField(max_length=200, default="")
    client = ForeignKeyField(Client, null=True, backref="contacts", on_delete="SET NULL")
    bouncing = BooleanField(default=False)
    bounced_at = DateTimeField(null=True)
    blocked = BooleanField(default=False)
    fields = TextField(default="")  # "field:value" lines from 003's new person's defaults
    created_at = DateTimeField(default=utcnow)


class SenderBlock(BaseModel):
    """An address or a whole domain (``@example.com``) blocked from the review queue."""

    pattern = CharField(max_length=320, unique=True)
    reason = TextField(default="")
    created_at = DateTimeField(default=utcnow)


class Mailbox(BaseModel):
    """One mail account: how to fetch, what to do with what comes in, and how to send."""

    # identity
    name = CharField(max_length=100, unique=True)
    address = CharField(max_length=320)
    display_name = CharField(max_length=200, default="")
    status = CharField(max_length=10, default="draft")
    # connection (001, 002, 003)
    protocol = CharField(max_length=10, default="imap")
    host = CharField(max_length=253, default="")
    port = IntegerField(default=993)
    security = CharField(max_length=10, default="ssl")
    tls_verify = BooleanField(default=True)
    tls_ca_file = TextField(default="")
    tls_accept_fingerprint = CharField(max_length=100, default="")  # sha256 of a self-signed cert
    timeout_ms = IntegerField(default=30000)
    folder = TextField(default="INBOX")
    maildir_path = TextField(default="")
    # authentication (001, 002)
    auth_method = CharField(max_length=20, default="password")
    username = CharField(max_length=320, default="")
    password = TextField(default="")  # secret
    password_command = TextField(default="")
    password_env = CharField(max_length=200, default="")
    oauth_tenant_id = CharField(max_length=200, default="")
    oauth_client_id = CharField(max_length=200, default="")
    oauth_client_secret = TextField(default="")  # secret
    oauth_client_secret_env = CharField(max_length=200, default="")
    oauth_scope = TextField(default="")
    oauth_token_endpoint = TextField(default="")
    oauth_authority = TextField(default="")
    oauth_redirect_url = TextField(default="")
    oauth_flow = CharField(max_length=30, default="")  # client_credentials, device_code, refresh
    oauth_refresh_token = TextField(default="")  # secret
    # fetching (001, 002, 003)
    fetch_frequency_minutes = IntegerField(default=5)
    emails_per_fetch = IntegerField(default=100)
    after_fetch = CharField(max_length=20, default="move")
    after_fetch_folder = TextField(default="tuidesk/processed")
    max_tries = IntegerField(default=3)
    cool_off_minutes = IntegerField(default=5)
    skip_times = TextField(default="")  # "02:00-04:00" per line
    sync_start_date = DateField(null=True)
    max_email_size = BigIntegerField(default=10 * 1024 * 1024)
    big_files_dir = TextField(default="")
    # processing (003, 002, 004)
    behaviour = CharField(max_length=20, default="create_or_update")
    subject_pattern = TextField(default=r"\[#(\d{6})\]")
    subject_tag_format = CharField(max_length=100, default="[#{number}]")
    default_title = CharField(max_length=200, default="(no subject)")
    unknown_sender = CharField(max_length=10, default="hold")
    new_contact_defaults = TextField(default="")
    allowed_domains = TextField(default="")
    disallowed_domain_action = CharField(max_length=10, default="hold")
    aliases = TextField(default="")
    excluded_senders = TextField(default="")
    excluded_keywords = TextField(default="")
    autoreply_subject_patterns = TextField(default="")  # empty: the shipped defaults
    intro_patterns = TextField(default="")
    delimiter_patterns = TextField(default="")
    body_parts_order = CharField(max_length=100, default="text/html,text/plain")
    exclude_attachment_types = TextField(default="")
    dangerous_extensions = TextField(default="")  # empty: the shipped defaults
    max_attachment_size = BigIntegerField(default=25 * 1024 * 1024)
    image_min_size = CharField(max_length=20, default="100x20")
    attach_original = BooleanField(default=False)
    closed_ticket_policy = CharField(max_length=20, default="reopen")
    priority_from_importance = BooleanField(default=True)
    error_behaviour = CharField(max_length=10, default="keep")
    error_forward_to = CharField(max_length=320, default="")
    error_forward_from = CharField(max_length=320, default="")
    debug_trace = BooleanField(default=False)
    # new tickets (001, 003, 004)
    department = ForeignKeyField(Department, null=True, on_delete="SET NULL")
    default_priority = CharField(max_length=10, default="normal")
    ticket_type = CharField(max_length=50, default="request")
    ticket_defaults = TextField(default="")
    auto_response = BooleanField(default=True)
    # outgoing (001, 002)
    smtp_enabled = BooleanField(default=False)
    smtp_host = CharField(max_length=253, default="")
    smtp_port = IntegerField(default=587)
    smtp_security = CharField(max_length=10, default="starttls")
    smtp_tls_verify = BooleanField(default=True)
    smtp_tls_ca_file = TextField(default="")
    smtp_auth = CharField(max_length=10, default="same")
    smtp_username = CharField(max_length=320, default="")
    smtp_password = TextField(default="")  # secret
    smtp_password_command = TextField(default="")
    smtp_password_env = CharField(max_length=200, default="")
    smtp_allow_spoofing = BooleanField(default=False)
    reply_to = CharField(max_length=320, default="")
    send_via = CharField(max_length=10, default="smtp")  # smtp or graph
    # poller state (shown, never edited)
    last_fetch_at = DateTimeField(null=True)
    last_success_at = DateTimeField(null=True)
    last_error = TextField(default="")
    consecutive_failures = IntegerField(default=0)
    failing = BooleanField(default=False)
    cool_off_until = DateTimeField(null=True)
    next_poll_at = DateTimeField(null=True)
    lease_owner = CharField(max_length=200, default="")
    lease_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class DepartmentMail(BaseModel):
    """Which mailbox sends a department's mail, by role (004's account table)."""

    department = ForeignKeyField(Department, backref="mail_roles", on_delete="CASCADE")
    role = CharField(max_length=20)  # outgoing, auto_response, alert
    mailbox = ForeignKeyField(Mailbox, on_delete="CASCADE")

    class Meta:
        indexes = ((("department", "role"), True),)


class FolderState(BaseModel):
    """IMAP UIDVALIDITY and the UID watermark of one folder of one mailbox."""

    mailbox = ForeignKeyField(Mailbox, backref="folder_states", on_delete="CASCADE")
    folder = TextField()
    uidvalidity = BigIntegerField()
    last_uid = BigIntegerField(default=0)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("mailbox", "folder"), True),)


class Ticket(BaseModel):
    number = IntegerField(unique=True)  # the display number, [#NNNNNN]
    subject = TextField()
    status = CharField(max_length=10, default="open", index=True)
    priority = CharField(max_length=10, default="normal", index=True)
    ticket_type = CharField(max_length=50, default="request")
    department = ForeignKeyField(Department, null=True, on_delete="SET NULL", index=True)
    contact = ForeignKeyField(Contact, null=True, backref="tickets", on_delete="SET NULL")
    client = ForeignKeyField(Client, null=True, backref="tickets", on_delete="SET NULL")
    assignee = ForeignKeyField(Agent, null=True, backref="tickets", on_delete="SET NULL")
    mailbox = ForeignKeyField(Mailbox, null=True, backref="tickets", on_delete="SET NULL")
    source = CharField(max_length=20, default="email")
    fields = TextField(default="")  # "field:value" lines (003's ticket default values)
    linked_ticket = ForeignKeyField("self", null=True, on_delete="SET NULL")
    unread = BooleanField(default=False)  # a customer wrote since an agent last looked
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    last_activity_at = DateTimeField(default=utcnow, index=True)
    closed_at = DateTimeField(null=True)
    due_at = DateTimeField(null=True, index=True)  # an answer is due by then (core.sla)
    overdue_alerted = BooleanField(default=False)

    class Meta:
        indexes = (
            (("status", "last_activity_at"), False),
            (("department", "status"), False),
        )

    @property
    def display_number(self) -> str:
        return f"{self.number:06d}"


class Participant(BaseModel):
    """An address seen in To/Cc of a ticket's mail: it may reply to the ticket."""

    ticket = ForeignKeyField(Ticket, backref="participants", on_delete="CASCADE")
    email = CharField(max_length=320)
    name = CharField(max_length=200, default="")

    class Meta:
        indexes = ((("ticket", "email"), True),)


class Blob(BaseModel):
    """Content-addressed bytes: identical attachments and identical raw mail are stored once."""

    sha256 = CharField(max_length=64, primary_key=True)
    size = BigIntegerField()
    data = BlobField()
    created_at = DateTimeField(default=utcnow)


class InboundMail(BaseModel):
    """The ledger: every mail fetched, stored before anything else happens (DESIGN.md)."""

    mailbox = ForeignKeyField(Mailbox, backref="inbound", on_delete="CASCADE")
    source_key = CharField(max_length=400)  # imap:FOLDER:UIDVALIDITY:UID, pop3:UIDL, …
    folder = TextField(default="")
    uidvalidity = BigIntegerField(null=True)
    uid = BigIntegerField(null=True)
    uidl = CharField(max_length=200, default="")
    message_id = CharField(max_length=998, default="", index=True)
    sha256 = CharField(max_length=64, index=True)
    size = BigIntegerField(default=0)
    raw = ForeignKeyField(Blob, null=True, on_delete="RESTRICT")
    headers_only = BooleanField(default=False)  # too large: only the headers were kept
    subject = TextField(default="")
    from_addr = CharField(max_length=320, default="")
    state = CharField(max_length=20, default="new", index=True)
    reason = CharField(max_length=50, default="")  # auto_reply, bounce, unknown_sender, …
    detail = TextField(default="")
    ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
    attempts = IntegerField(default=0)
    on_server = BooleanField(default=True)
    disposition_done = BooleanField(default=False)
    disposition_error = TextField(default="")
    fetched_at = DateTimeField(default=utcnow)
    processed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("mailbox", "source_key"), True),)


class Message(BaseModel):
    ticket = ForeignKeyField(Ticket, backref="messages", on_delete="CASCADE")
    direction = CharField(max_length=8)  # in, out, note, event
    automatic = BooleanField(default=False)  # auto-reply received, or notification sent
    author_name = CharField(max_length=200, default="")
    author_email = CharField(max_length=320, default="")
    agent = ForeignKeyField(Agent, null=True, on_delete="SET NULL")
    message_id = CharField(max_length=998, default="", index=True)
    in_reply_to = TextField(default="")
    references = TextField(default="")
    to_addrs = TextField(default="")
    cc_addrs = TextField(default="")
    subject = TextField(default="")
    date = DateTimeField(null=True)
    new_part = TextField(default="")
    full_text = TextField(default="")
    html = TextField(default="")
    inbound = ForeignKeyField(InboundMail, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("ticket", "created_at"), False),)


class Attachment(BaseModel):
    message = ForeignKeyField(Message, backref="attachments", on_delete="CASCADE")
    blob = ForeignKeyField(Blob, on_delete="RESTRICT")
    filename = TextField()  # decoded and sanitized
    content_type = CharField(max_length=200, default="application/octet-stream")
    size = BigIntegerField(default=0)
    content_id = CharField(max_length=998, default="")
    inline = BooleanField(default=False)


class Outbox(BaseModel):
    """Every outgoing mail, queued in the transaction of the event that caused it."""

    mailbox = ForeignKeyField(Mailbox, null=True, on_delete="SET NULL")
    ticket = ForeignKeyField(Ticket, null=True, backref="outbox", on_delete="SET NULL")
    thread_message = ForeignKeyField(Message, null=True, on_delete="SET NULL")
    kind = CharField(max_length=50)  # template name, or "reply"
    automatic = BooleanField(default=False)
    mail_from = CharField(max_length=320, default="")
    recipients = TextField(default="")  # one address per line
    subject = TextField(default="")
    message_id = CharField(max_length=998, index=True)
    raw = BlobField()  # empty until an event (payload) is rendered at send time
    payload = TextField(default="")  # JSON of a templated event, rendered when sent
    state = CharField(max_length=10, default="queued", index=True)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    last_error = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

    class Meta:
        # the per-recipient limit on automatic mail counts recent rows by recipient
        indexes = ((("recipients", "created_at"), False),)


class Template(BaseModel):
    """An override of a shipped template; absent means the shipped default is used."""

    name = CharField(max_length=50, unique=True)
    subject = TextField()
    body_text = TextField()
    body_html = TextField(default="")
    enabled = BooleanField(default=True)
    updated_at = DateTimeField(default=utcnow)


class PollRun(BaseModel):
    mailbox = ForeignKeyField(Mailbox, backref="poll_runs", on_delete="CASCADE")
    started_at = DateTimeField(default=utcnow, index=True)
    finished_at = DateTimeField(null=True)
    duration_ms = IntegerField(default=0)
    fetched = IntegerField(default=0)
    created = IntegerField(default=0)
    replied = IntegerField(default=0)
    held = IntegerField(default=0)
    rejected = IntegerField(default=0)
    errors = IntegerField(default=0)
    sent = IntegerField(default=0)
    ok = BooleanField(default=False)
    error = TextField(default="")
    host = CharField(max_length=200, default="")


class TraceLine(BaseModel):
    """003's debug trace, per mailbox, capped at 256 KB with the oldest dropped."""

    mailbox = ForeignKeyField(Mailbox, backref="trace", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    level = CharField(max_length=8, default="info")
    text = TextField()

    class Meta:
        indexes = ((("mailbox", "id"), False),)


ALL_MODELS: list[type[BaseModel]] = [
    SchemaVersion,
    Setting,
    Client,
    ClientDomain,
    Agent,
    Department,
    Contact,
    SenderBlock,
    Mailbox,
    DepartmentMail,
    FolderState,
    Ticket,
    Participant,
    Blob,
    InboundMail,
    Message,
    Attachment,
    Outbox,
    Template,
    PollRun,
    TraceLine,
]

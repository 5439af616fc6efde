"""Mailbox settings as data: every editable field, its type, its choices and its validation.

One catalogue serves ``tuidesk mailbox add/edit``, TOML export/import and the TUI form, so a
setting is validated the same way wherever it is changed. ``validate`` returns the reason a
value is refused, in words a person can act on.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from peewee import BigIntegerField, BooleanField, DateField, Field, IntegerField

from tuidesk.core.clock import utcnow
from tuidesk.core.errors import ConfigError
from tuidesk.core.ingest.policy import parse_window, setting_problem, split_list
from tuidesk.core.store import models
from tuidesk.core.store.models import Department, Mailbox

SECRET_FIELDS = {"password", "smtp_password", "oauth_client_secret", "oauth_refresh_token"}
STATE_FIELDS = {
    "id",
    "last_fetch_at",
    "last_success_at",
    "last_error",
    "consecutive_failures",
    "failing",
    "cool_off_until",
    "next_poll_at",
    "lease_owner",
    "lease_until",
    "created_at",
    "updated_at",
}
CHOICES: dict[str, tuple[str, ...]] = {
    "status": models.MAILBOX_STATUSES,
    "protocol": models.PROTOCOLS,
    "security": models.SECURITY_MODES,
    "smtp_security": models.SECURITY_MODES,
    "auth_method": models.AUTH_METHODS,
    "after_fetch": models.AFTER_FETCH,
    "behaviour": models.BEHAVIOURS,
    "unknown_sender": models.UNKNOWN_SENDER,
    "disallowed_domain_action": ("hold", "reject"),
    "closed_ticket_policy": models.CLOSED_TICKET_POLICY,
    "error_behaviour": models.ERROR_BEHAVIOUR,
    "smtp_auth": models.SMTP_AUTH,
    "default_priority": models.PRIORITIES,
    "send_via": ("smtp", "graph"),
}
RANGES: dict[str, tuple[int, int]] = {
    "port": (1, 65535),
    "smtp_port": (1, 65535),
    "timeout_ms": (100, 600_000),
    "fetch_frequency_minutes": (0, 10_080),
    "emails_per_fetch": (1, 10_000),
    "max_tries": (1, 1000),
    "cool_off_minutes": (0, 10_080),
    "max_email_size": (0, 2**40),
    "max_attachment_size": (0, 2**40),
}
ADDRESS_FIELDS = {"address", "reply_to", "error_forward_to", "error_forward_from"}
ADDRESS_LIST_FIELDS = {"aliases"}
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)b?\s*$", re.I)

HELP: dict[str, str] = {
    "status": "draft (not polled), active, or disabled",
    "protocol": "imap, pop3, maildir, pipe (fed by `tuidesk ingest`) or graph",
    "security": "ssl (TLS on connect), starttls, or plain (only when chosen on purpose)",
    "tls_verify": "verify the server certificate (default true)",
    "tls_ca_file": "a PEM file with the CA that signed the server certificate",
    "tls_accept_fingerprint": "accept exactly this self-signed certificate (SHA-256)",
    "folder": "the IMAP folder to read (default INBOX)",
    "password_command": "a command that prints the password (like mutt's)",
    "password_env": "an environment variable holding the password",
    "emails_per_fetch": "messages fetched and committed together",
    "after_fetch": "move, delete, mark_seen, keep, or keep_until_closed",
    "after_fetch_folder": "the folder processed mail is moved to (created if missing)",
    "skip_times": "windows without polling, like 02:00-04:00 (comma-separated)",
    "sync_start_date": "ignore mail older than this date (YYYY-MM-DD)",
    "max_email_size": "bigger mail is rejected as too large (bytes, or 10M, 500K)",
    "big_files_dir": "where too-large mail is saved whole",
    "subject_pattern": "regex with one group finding the ticket number in a subject",
    "unknown_sender": "hold for review, create a contact, or reject",
    "allowed_domains": "only mail from these domains (comma-separated; empty: any)",
    "aliases": "other addresses delivered to this mailbox",
    "closed_ticket_policy": "reopen, new_linked, or hold a reply to a closed ticket",
    "error_behaviour": "keep (flagged), delete, or forward to error_forward_to",
    "intro_patterns": "lines that introduce a quoted mail (On … wrote:), one regex per line, "
    "003's /…/i form allowed; empty: shipped defaults; @defaults adds them",
    "delimiter_patterns": "where the quoted mail starts, multi-line (\\R = line break); "
    "empty: shipped defaults",
    "body_parts_order": "text/html,text/plain or text/plain,text/html",
    "exclude_attachment_types": "MIME types never imported, like application/zip or video/*",
    "dangerous_extensions": "extensions never imported; empty: executables and scripts; "
    "none: accept all",
    "max_attachment_size": "bigger attachments are skipped (10M; 0: no limit)",
    "image_min_size": "smaller images are skipped, like 100x20",
    "attach_original": "attach the original .eml to a new ticket",
    "new_contact_defaults": "field:value lines (name:, client:)",
    "ticket_defaults": "field:value lines (priority:, ticket_type:, any field)",
    "host": "the server; for protocol graph empty (graph.microsoft.com) or a Graph root URL",
    "auth_method": "password, or OAuth2: oauth2_microsoft, oauth2_google, oauth2_other",
    "oauth_tenant_id": "Microsoft 365: the directory (tenant) ID or domain",
    "oauth_client_id": "the application (client) ID of the app registration",
    "oauth_client_secret": "the client secret (or oauth_client_secret_env)",
    "oauth_client_secret_env": "an environment variable holding the client secret",
    "oauth_scope": "scopes, space-separated (empty: the right ones for the protocol)",
    "oauth_token_endpoint": "Google/others: the token endpoint URL",
    "oauth_authority": "Microsoft: the authority URL; others: the authorization endpoint URL",
    "oauth_redirect_url": "where the provider sends the browser back (default http://localhost)",
    "oauth_flow": "client_credentials (app-only), device_code (delegated), or refresh",
    "oauth_refresh_token": "a refresh token (set by `tuidesk mailbox authorize`)",
    "smtp_auth": "same (as fetching), basic, oauth2 (XOAUTH2), or none",
    "send_via": "smtp, or graph (Microsoft 365 sendMail; smtp_enabled turns sending on)",
}
OAUTH_FLOWS = ("client_credentials", "device_code", "refresh")
URL_FIELDS = {"oauth_token_endpoint", "oauth_authority", "oauth_redirect_url"}
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


@dataclass(frozen=True)
class FieldInfo:
    name: str
    kind: str  # str, int, bool, date, text
    default: object
    choices: tuple[str, ...] = ()
    secret: bool = False
    help: str = ""


def _kind(field: Field) -> str:
    if isinstance(field, BooleanField):
        return "bool"
    if isinstance(field, IntegerField | BigIntegerField):
        return "int"
    if isinstance(field, DateField):
        return "date"
    if field.name == "department":
        return "department"
    return "str"


def editable_fields() -> list[FieldInfo]:
    out = []
    for field in Mailbox._meta.sorted_fields:
        if field.name in STATE_FIELDS:
            continue
        default = field.default() if callable(field.default) else field.default
        out.append(
            FieldInfo(
                name=field.name,
                kind=_kind(field),
                default=default,
                choices=CHOICES.get(field.name, ()),
                secret=field.name in SECRET_FIELDS,
                help=HELP.get(field.name, ""),
            )
        )
    return out


FIELDS: dict[str, FieldInfo] = {f.name: f for f in editable_fields()}


def coerce(name: str, text: str) -> object:
    """Turn the text a person typed into the field's value; ConfigError says why not."""
    info = FIELDS.get(name)
    if info is None:
        raise ConfigError(
            f"there is no mailbox setting '{name}'",
            hint="`tuidesk mailbox fields` lists every setting",
        )
    problem = validate(name, text)
    if problem:
        raise ConfigError(f"{name}: {problem}")
    text = text.strip() if info.kind != "str" or name not in SECRET_FIELDS else text
    if info.kind == "bool":
        return text.lower() in {"1", "true", "yes", "on"}
    if info.kind == "int":
        return parse_size(text) if name.endswith("_size") else int(text)
    if info.kind == "date":
        return date.fromisoformat(text) if text else None
    if info.kind == "department":
        if not text:
            return None
        department, _ = Department.get_or_create(name=text)
        return department.id
    if name in {
        "aliases",
        "allowed_domains",
        "excluded_senders",
        "excluded_keywords",
        "skip_times",
    }:
        return "\n".join(split_list(text))
    return text


def parse_size(text: str) -> int:
    match = _SIZE.match(text)
    if not match:
        raise ValueError(text)
    number, unit = int(match.group(1)), match.group(2).lower()
    return number * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def validate(name: str, text: str) -> str:
    """Why ``text`` is not a valid value for setting ``name`` ("" when it is)."""
    info = FIELDS.get(name)
    if info is None:
        return f"there is no setting '{name}'"
    value = text.strip()
    if info.choices and value not in info.choices:
        return f"'{value}' is not one of {', '.join(info.choices)}"
    if info.kind == "bool" and value.lower() not in {
        "1",
        "0",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
    }:
        return f"'{value}' is not true or false"
    if info.kind == "int":
        try:
            number = parse_size(value) if name.endswith("_size") else int(value)
        except ValueError:
            return f"'{value}' is not a whole number"
        low, high = RANGES.get(name, (0, 2**62))
        if not low <= number <= high:
            return f"{number} is out of range ({low} to {high})"
    if info.kind == "date" and value:
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"'{value}' is not a date like 2026-01-31"
    if name in ADDRESS_FIELDS and value and not _ADDRESS.match(value):
        return f"'{value}' is not an e-mail address"
    if name in ADDRESS_LIST_FIELDS:
        bad = [a for a in split_list(value) if not _ADDRESS.match(a)]
        if bad:
            return f"'{bad[0]}' is not an e-mail address"
    oauth_problem = _oauth_problem(name, value)
    if oauth_problem:
        return oauth_problem
    if name == "skip_times":
        for window in split_list(value):
            try:
                parse_window(window)
            except ValueError as exc:
                return str(exc)
    return setting_problem(name, value)  # message rules: read as a poll reads them


def _oauth_problem(name: str, value: str) -> str:
    """Why an OAuth2 setting is refused ("" when it is fine or empty)."""
    if not value:
        return ""
    if name == "oauth_flow" and value not in OAUTH_FLOWS:
        return f"'{value}' is not one of {', '.join(OAUTH_FLOWS)}"
    if name in URL_FIELDS:
        parts = urlsplit(value)
        if parts.scheme not in {"https", "http"} or not parts.netloc:
            return f"'{value}' is not an http(s):// address"
        plain = parts.scheme == "http" and (parts.hostname or "") not in _LOOPBACK
        if plain and name != "oauth_redirect_url":
            return f"'{value}' would carry secrets unencrypted: use https://"
    if name == "oauth_tenant_id" and not _TENANT.match(value):
        return f"'{value}' is not a tenant ID or domain (like contoso.onmicrosoft.com)"
    if name == "oauth_client_id" and any(c.isspace() for c in value):
        return "a client ID has no spaces"
    env_fields = {"oauth_client_secret_env", "password_env", "smtp_password_env"}
    if name in env_fields and not _ENV_NAME.match(value):
        return f"'{value}' is not an environment variable name"
    if name == "oauth_scope" and any(c in value for c in "\"'<>"):
        return "scopes are URLs or names separated by spaces"
    return ""


def apply_settings(mailbox: Mailbox, values: dict[str, object]) -> Mailbox:
    for name, value in values.items():
        if name == "department":
            mailbox.department = value
        else:
            setattr(mailbox, name, value)
    mailbox.updated_at = utcnow()
    return mailbox


def parse_assignments(assignments: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"'{item}' is not FIELD=VALUE", hint="for example --set port=993")
        values[name.strip()] = coerce(name.strip(), text)
    return values


def default_port(protocol: str, security: str) -> int:
    table = {
        ("imap", "ssl"): 993,
        ("pop3", "ssl"): 995,
        ("pop3", "starttls"): 110,
        ("pop3", "plain"): 110,
    }
    return table.get((protocol, security), 143 if protocol == "imap" else 0)


# --- configuration as code -------------------------------------------------------------------


def export_toml(mailboxes: list[Mailbox]) -> str:
    """Mailboxes as TOML; secrets only by reference (env var or command), never in clear."""
    lines = ["# tuidesk mailboxes; import with `tuidesk mailbox import FILE`", ""]
    for mailbox in mailboxes:
        lines.append("[[mailbox]]")
        for info in editable_fields():
            if info.secret:
                continue
            value = getattr(mailbox, info.name)
            if info.kind == "department":
                value = mailbox.department.name if mailbox.department_id else ""
            if value == info.default or value is None:
                continue
            lines.append(f"{info.name} = {_toml(value)}")
        stored = [f for f in sorted(SECRET_FIELDS) if getattr(mailbox, f)]
        if stored:
            lines.append(
                f"# not exported: {', '.join(stored)} (stored secrets; use password_env or "
                "password_command to keep them out of the database)"
            )
        lines.append("")
    return "\n".join(lines)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if "\n" in text:
        escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
        return f'"""\n{escaped}"""'
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def import_toml(text: str, source: str) -> list[tuple[str, bool]]:
    """Create or update mailboxes from TOML; return (name, created) pairs. All or nothing."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML ({exc})") from None
    entries = data.get("mailbox", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: write each mailbox as a [[mailbox]] table")
    done: list[tuple[str, bool]] = []
    with Mailbox._meta.database.atomic():
        for index, entry in enumerate(entries, start=1):
            name = entry.get("name")
            if not name:
                raise ConfigError(f"{source}: mailbox number {index} has no name")
            values: dict[str, object] = {}
            for key, value in entry.items():
                if key in SECRET_FIELDS:
                    raise ConfigError(
                        f"{source}: mailbox '{name}' has {key} in clear",
                        hint="use password_env or password_command instead",
                    )
                text = value.isoformat() if isinstance(value, date) else str(value)
                if isinstance(value, bool):
                    text = "true" if value else "false"
                try:
                    values[key] = coerce(key, text)
                except ConfigError as exc:
                    raise ConfigError(f"{source}: mailbox '{name}': {exc.sentence}") from None
            mailbox = Mailbox.get_or_none(Mailbox.name == name)
            created = mailbox is None
            if created:
                mailbox = Mailbox(name=name, address=str(values.get("address", "")))
            apply_settings(mailbox, values)
            mailbox.save()
            done.append((name, created))
    return done

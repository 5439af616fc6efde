"""A mailbox's processing settings as frozen plain data, validated once per poll.

Lists a person edits (aliases, domains, patterns) are newline- or comma-separated text in the
store; here they become tuples and compiled patterns, once per poll, so nothing on the
per-message path compiles or splits anything. A setting that cannot be used is a clear error
naming the mailbox, the setting and the value.

Patterns may be written as in 003's configuration (``/^Out Of Office/i``, ``\\R`` for a line
break) or as plain Python regular expressions; see ``reply_patterns``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from tuidesk.core.errors import ConfigError
from tuidesk.core.ingest.attachments import (
    DEFAULT_DANGEROUS_EXTENSIONS,
    AttachmentRules,
    parse_dimensions,
)
from tuidesk.core.ingest.reply_patterns import (
    DEFAULT_DELIMITER_PATTERNS,
    DEFAULT_INTRO_PATTERNS,
    expand,
    pattern_problem,
    pcre_to_python,
)
from tuidesk.core.ingest.reply_text import ReplyPatterns
from tuidesk.core.store.models import Mailbox

DEFAULT_SUBJECT_PATTERN = r"\[#(\d{6})\]"
DEFAULT_BODY_PARTS_ORDER = ("text/html", "text/plain")
BODY_PARTS = frozenset(DEFAULT_BODY_PARTS_ORDER)
NO_DANGEROUS_EXTENSIONS = "none"
DEFAULT_ATTACHMENT_RULES = AttachmentRules()

DEFAULT_AUTOREPLY_SUBJECTS = (
    # 003's undesired-subject-patterns and 004's list, then the same in FR, DE, ES, IT, NL, PT
    r"^(auto(matic|matische)?[ -]?(reply|response|answer|antwort)|autoreply)\b",
    r"^out of (the )?office\b",
    r"^(undeliverable:|undelivered mail returned|delivery status notification)",
    r"^mail delivery failed",
    r"^returned mail\b",
    r"^(réponse automatique|absence du bureau|message d'absence)",
    r"^(abwesenheitsnotiz|automatische antwort|abwesend)",
    r"^(respuesta automática|fuera de la oficina)",
    r"^(risposta automatica|fuori sede)",
    r"^(automatisch antwoord|afwezig)",
    r"^(resposta automática|ausência temporária)",
)


def split_list(value: str) -> tuple[str, ...]:
    """Entries of a newline- or comma-separated setting, stripped, blanks dropped."""
    parts = re.split(r"[\n,]", value or "")
    return tuple(p.strip() for p in parts if p.strip())


def split_lines(value: str) -> tuple[str, ...]:
    """Entries of a newline-separated setting (patterns may contain commas)."""
    return tuple(line.strip() for line in (value or "").splitlines() if line.strip())


def _invalid(mailbox: str, setting: str, value: str, why: str) -> ConfigError:
    return ConfigError(
        f"mailbox '{mailbox}': {setting} '{value}' {why}",
        hint=f"fix it with `tuidesk mailbox edit {mailbox} --set {setting}=…`",
    )


def compile_pattern(mailbox: str, setting: str, pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a configured pattern (003's ``/…/i`` form or plain Python)."""
    source, extra = pcre_to_python(pattern)
    try:
        return re.compile(source, flags | extra)
    except re.error as exc:
        raise _invalid(
            mailbox,
            setting,
            pattern,
            f"is not a valid regular expression ({exc.msg} at position {exc.pos})",
        ) from None


def parse_defaults(text: str) -> tuple[tuple[str, str], ...]:
    """003's default values: one ``field:value`` per line -> ((field, value), …).

    Raises ValueError naming the first line that is not ``field:value``.
    """
    pairs = []
    for line in split_lines(text):
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise ValueError(f"'{line}' is not field:value")
        pairs.append((key.strip().lower(), value.strip()))
    return tuple(pairs)


def parse_window(text: str) -> tuple[time, time]:
    """'02:00-04:00' -> (02:00, 04:00); windows may cross midnight ('22:00-02:00')."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise ValueError(f"'{text}' is not a time window like 02:00-04:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"'{text}' has an hour or minute out of range")
    end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    return time(h1, m1), end


def in_windows(now: time, windows: tuple[tuple[time, time], ...]) -> bool:
    for start, end in windows:
        if start <= end:
            if start <= now < end:
                return True
        elif now >= start or now < end:  # across midnight
            return True
    return False


def body_parts(text: str) -> tuple[str, ...]:
    """003's body_parts_order -> ('text/html', 'text/plain'); ValueError when unknown."""
    parts = tuple(p.lower() for p in split_list(text)) or DEFAULT_BODY_PARTS_ORDER
    unknown = [p for p in parts if p not in BODY_PARTS]
    if unknown:
        raise ValueError(f"'{unknown[0]}' is not text/html or text/plain")
    return parts


def dangerous_extensions(text: str) -> frozenset[str]:
    """Empty: the shipped list; ``none``: nothing is refused as dangerous."""
    entries = [e.lower().lstrip("*.") for e in split_list(text)]
    if entries == [NO_DANGEROUS_EXTENSIONS]:
        return frozenset()
    return frozenset(entries or DEFAULT_DANGEROUS_EXTENSIONS)


def setting_problem(name: str, value: str) -> str:
    """Why ``value`` cannot be used for the message-rule setting ``name`` ("" when it can, or
    when ``name`` is not one of them): the same reading ``from_mailbox`` does, for
    ``mailbox_config.validate`` to refuse a value before it is stored."""
    try:
        if name == "subject_pattern":
            source, flags = pcre_to_python(value or DEFAULT_SUBJECT_PATTERN)
            if re.compile(source, flags).groups < 1:
                return "the pattern needs one group around the ticket number, like \\[#(\\d{6})\\]"
        elif name == "autoreply_subject_patterns":
            for line in split_lines(value):
                re.compile(*pcre_to_python(line))
        elif name in ("intro_patterns", "delimiter_patterns"):
            return next(filter(None, map(pattern_problem, split_lines(value))), "")
        elif name == "body_parts_order":
            body_parts(value)
        elif name == "image_min_size":
            parse_dimensions(value)
        elif name in ("new_contact_defaults", "ticket_defaults"):
            parse_defaults(value)
        elif name == "exclude_attachment_types":
            bad = [t for t in split_list(value) if not _MIME_TYPE.fullmatch(t)]
            if bad:
                return f"'{bad[0]}' is not a MIME type like application/zip or image/*"
        elif name == "dangerous_extensions":
            bad = [e for e in split_list(value) if not _EXTENSION.fullmatch(e)]
            if bad:
                return f"'{bad[0]}' is not a file extension like exe (or 'none')"
    except re.error as exc:
        return f"'{exc.pattern}' is not a valid regular expression ({exc.msg})"
    except ValueError as exc:
        return str(exc)
    return ""


_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/(\*|[a-z0-9][a-z0-9.+-]*)", re.I)
_EXTENSION = re.compile(r"\*?\.?[a-z0-9][a-z0-9_+-]*", re.I)


@dataclass(frozen=True)
class MailboxPolicy:
    name: str
    own_addresses: frozenset[str]  # the address and its aliases, lower-case
    behaviour: str
    subject_pattern: re.Pattern[str]
    default_title: str
    unknown_sender: str
    new_contact_defaults: str
    allowed_domains: frozenset[str]
    disallowed_domain_action: str
    excluded_senders: tuple[str, ...]
    excluded_keywords: tuple[str, ...]
    autoreply_subjects: tuple[re.Pattern[str], ...]
    closed_ticket_policy: str
    priority_from_importance: bool
    default_priority: str
    ticket_type: str
    ticket_defaults: str
    department_id: int | None
    skip_windows: tuple[tuple[time, time], ...]
    body_parts_order: tuple[str, ...] = DEFAULT_BODY_PARTS_ORDER
    reply_patterns: ReplyPatterns | None = None  # None: the shipped defaults
    attachment_rules: AttachmentRules = DEFAULT_ATTACHMENT_RULES
    attach_original: bool = False
    contact_defaults: tuple[tuple[str, str], ...] = ()  # parsed new_contact_defaults
    field_defaults: tuple[tuple[str, str], ...] = ()  # parsed ticket_defaults

    @classmethod
    def from_mailbox(cls, mailbox: Mailbox) -> MailboxPolicy:
        name = mailbox.name
        own = {mailbox.address.lower()} | {a.lower() for a in split_list(mailbox.aliases)}
        subjects = split_lines(mailbox.autoreply_subject_patterns) or DEFAULT_AUTOREPLY_SUBJECTS
        windows = []
        for window in split_list(mailbox.skip_times):
            try:
                windows.append(parse_window(window))
            except ValueError as exc:
                raise ConfigError(
                    f"mailbox '{name}': skip_times {exc}",
                    hint=f"fix it with `tuidesk mailbox edit {name} --set skip_times=02:00-04:00`",
                ) from None
        return cls(
            name=name,
            own_addresses=frozenset(a for a in own if a),
            behaviour=mailbox.behaviour,
            subject_pattern=compile_pattern(
                name, "subject_pattern", mailbox.subject_pattern or DEFAULT_SUBJECT_PATTERN
            ),
            default_title=mailbox.default_title or "(no subject)",
            unknown_sender=mailbox.unknown_sender,
            new_contact_defaults=mailbox.new_contact_defaults,
            allowed_domains=frozenset(
                d.lower().lstrip("@") for d in split_list(mailbox.allowed_domains)
            ),
            disallowed_domain_action=mailbox.disallowed_domain_action,
            excluded_senders=tuple(s.lower() for s in split_list(mailbox.excluded_senders)),
            excluded_keywords=tuple(k.lower() for k in split_list(mailbox.excluded_keywords)),
            autoreply_subjects=tuple(
                compile_pattern(name, "autoreply_subject_patterns", p, re.IGNORECASE)
                for p in subjects
            ),
            closed_ticket_policy=mailbox.closed_ticket_policy,
            priority_from_importance=mailbox.priority_from_importance,
            default_priority=mailbox.default_priority,
            ticket_type=mailbox.ticket_type,
            ticket_defaults=mailbox.ticket_defaults,
            department_id=mailbox.department_id,
            skip_windows=tuple(windows),
            body_parts_order=_checked(
                name, "body_parts_order", mailbox.body_parts_order, body_parts
            ),
            reply_patterns=_reply_patterns(mailbox),
            attachment_rules=_attachment_rules(mailbox),
            attach_original=bool(mailbox.attach_original),
            contact_defaults=_checked(
                name, "new_contact_defaults", mailbox.new_contact_defaults, parse_defaults
            ),
            field_defaults=_checked(
                name, "ticket_defaults", mailbox.ticket_defaults, parse_defaults
            ),
        )

    def ticket_number_in(self, subject: str) -> int | None:
        """The ticket number the subject pattern finds, or None.

        The number is the digits of the pattern's group (a group named ``number`` if there is
        one, else the first group, else the whole match), read as a decimal number: non-digits
        are ignored and leading zeros do not count. So ``\\[#(\\d{6})\\]`` reads "[#004711]" as
        4711, and both ``\\[TCK-(\\d+)\\]`` and ``\\[(TCK-\\d+)\\]`` read 000's "[TCK-091]" as
        ticket 91. The first match in the subject counts.
        """
        match = self.subject_pattern.search(subject or "")
        if not match:
            return None
        if "number" in self.subject_pattern.groupindex:
            group = match.group("number")
        else:
            group = match.group(1) if match.groups() else match.group(0)
        digits = re.sub(r"\D", "", group or "")
        return int(digits) if digits else None


def _checked(mailbox: str, setting: str, value: str, parse):
    try:
        return parse(value)
    except ValueError as exc:
        raise _invalid(mailbox, setting, value, f"cannot be used: {exc}") from None


def _reply_patterns(mailbox: Mailbox) -> ReplyPatterns | None:
    intro = split_lines(mailbox.intro_patterns)
    delimiters = split_lines(mailbox.delimiter_patterns)
    if not intro and not delimiters:
        return None
    for setting, lines in (("intro_patterns", intro), ("delimiter_patterns", delimiters)):
        for line in lines:
            problem = pattern_problem(line)
            if problem:
                raise ConfigError(
                    f"mailbox '{mailbox.name}': {setting}: {problem}",
                    hint=f"fix it with `tuidesk mailbox edit {mailbox.name} --set {setting}=…`",
                )
    return ReplyPatterns.compile(
        expand(intro, DEFAULT_INTRO_PATTERNS), expand(delimiters, DEFAULT_DELIMITER_PATTERNS)
    )


def _attachment_rules(mailbox: Mailbox) -> AttachmentRules:
    return AttachmentRules(
        excluded_types=tuple(t.lower() for t in split_list(mailbox.exclude_attachment_types)),
        dangerous_extensions=dangerous_extensions(mailbox.dangerous_extensions),
        max_size=max(int(mailbox.max_attachment_size or 0), 0),
        image_min=_checked(
            mailbox.name, "image_min_size", mailbox.image_min_size, parse_dimensions
        ),
    )

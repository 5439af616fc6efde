"""A mailbox's processing settings as frozen plain data, validated once per poll.

Lists a person edits (aliases, domains, patterns) are newline- or comma-separated text in the
store; here they become tuples and compiled patterns. A pattern that does not compile is a
clear error naming the mailbox, the setting and the pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from tuidesk.core.errors import ConfigError
from tuidesk.core.store.models import Mailbox

DEFAULT_SUBJECT_PATTERN = r"\[#(\d{6})\]"

DEFAULT_AUTOREPLY_SUBJECTS = (
    r"^(auto(matic|matische)?[ -]?(reply|response|answer|antwort)|autoreply)\b",
    r"^out of (the )?office\b",
    r"^(undeliverable|undelivered mail|delivery status notification|mail delivery failed)",
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


def compile_pattern(mailbox: str, setting: str, pattern: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigError(
            f"mailbox '{mailbox}': {setting} '{pattern}' is not a valid regular expression "
            f"({exc.msg} at position {exc.pos})",
            hint=f"fix it with `tuidesk mailbox edit {mailbox} --set {setting}=…`",
        ) from None


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
        )

    def ticket_number_in(self, subject: str) -> int | None:
        match = self.subject_pattern.search(subject or "")
        if not match:
            return None
        group = match.group(1) if match.groups() else match.group(0)
        digits = re.sub(r"\D", "", group or "")
        return int(digits) if digits else None

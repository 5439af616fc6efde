"""Helpdesk-wide settings kept in the database (shared by every host and operator).

Unlike the per-user TOML settings file, these describe the helpdesk itself: whether fetching
runs at all, which mailbox sends by default, who gets staff alerts, limits on automatic mail.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuidesk.core.errors import ConfigError
from tuidesk.core.store.models import Setting


@dataclass(frozen=True)
class GlobalSetting:
    key: str
    default: str
    kind: str  # bool, int, str
    help: str


SETTINGS: dict[str, GlobalSetting] = {
    s.key: s
    for s in (
        GlobalSetting("fetching_enabled", "true", "bool", "poll mailboxes at all"),
        GlobalSetting(
            "default_outgoing_mailbox",
            "",
            "str",
            "the mailbox that sends when a ticket's own mailbox cannot",
        ),
        GlobalSetting(
            "alert_recipients",
            "",
            "str",
            "addresses (comma-separated) for staff alerts; empty: none",
        ),
        GlobalSetting("admin_address", "", "str", "where tuidesk reports problems"),
        GlobalSetting("helpdesk_name", "Helpdesk", "str", "the name signed under mail"),
        GlobalSetting(
            "ticket_url",
            "",
            "str",
            "a ticket's URL for templates, with {number}, e.g. "
            "https://help.example.com/t?number={number}",
        ),
        GlobalSetting(
            "auto_mail_per_hour", "5", "int", "automatic mails one recipient may get per hour"
        ),
        GlobalSetting(
            "sla_hours",
            "urgent=4, high=8, normal=24, low=72",
            "str",
            "hours to answer a customer, per priority; empty: no overdue alerts",
        ),
        GlobalSetting(
            "outbox_max_attempts",
            "8",
            "int",
            "sending tries before an outgoing mail is marked failed",
        ),
    )
}


def get(key: str) -> str:
    spec = SETTINGS[key]
    row = Setting.get_or_none(Setting.key == key)
    return row.value if row is not None else spec.default


def get_bool(key: str) -> bool:
    return get(key).strip().lower() in {"1", "true", "yes", "on"}


def get_int(key: str) -> int:
    try:
        return int(get(key))
    except ValueError:
        return int(SETTINGS[key].default)


def set_value(key: str, value: str) -> None:
    spec = SETTINGS.get(key)
    if spec is None:
        raise ConfigError(
            f"there is no helpdesk setting '{key}'", hint=f"the settings are {', '.join(SETTINGS)}"
        )
    value = value.strip()
    if spec.kind == "bool" and value.lower() not in {
        "1",
        "0",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
    }:
        raise ConfigError(f"{key} takes true or false, not '{value}'")
    if spec.kind == "int" and not value.isdigit():
        raise ConfigError(f"{key} takes a whole number, not '{value}'")
    if key == "sla_hours" and value:
        from tuidesk.core.sla import parse_sla

        try:
            parse_sla(value)
        except ValueError as exc:
            raise ConfigError(f"sla_hours: {exc}") from None
    Setting.insert(key=key, value=value).on_conflict(
        conflict_target=[Setting.key], update={Setting.value: value}
    ).execute()


def alert_recipients() -> list[str]:
    return [a.strip() for a in get("alert_recipients").split(",") if a.strip()]

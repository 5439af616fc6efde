"""App settings: a small TOML file (database, theme, key map, operator, alarms).

Mailboxes, templates and everything else live in the database. Unknown keys and wrong types
are errors that name the file, the key and what is allowed, because a typo silently ignored is
a setting that silently does not work.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tuidesk.core.errors import ConfigError
from tuidesk.core.paths import write_private_file

DEFAULT_THEME = "tuidesk-dark"


@dataclass(frozen=True)
class Settings:
    """The parsed settings file; every field has a default so an absent file is valid."""

    database: str = ""
    busy_timeout_ms: int = 5000
    operator_name: str = ""
    operator_email: str = ""
    theme: str = DEFAULT_THEME
    keymap: dict[str, str] = field(default_factory=dict)
    stale_fetch_alarm_minutes: int = 15
    attachments_dir: str = ""
    source: Path | None = None

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# section -> key -> (attribute, python type, what is allowed)
_SCHEMA: dict[str, dict[str, tuple[str, type, str]]] = {
    "database": {
        "url": ("database", str, "a file path, sqlite:///PATH or postgresql://USER@HOST/DB"),
        "busy_timeout_ms": ("busy_timeout_ms", int, "milliseconds to wait for a locked database"),
    },
    "operator": {
        "name": ("operator_name", str, "your name as agents see it"),
        "email": ("operator_email", str, "your address, used to match you as an agent"),
    },
    "ui": {
        "theme": ("theme", str, "a theme name from the theme picker"),
    },
    "keymap": {},
    "alarms": {
        "stale_fetch_minutes": (
            "stale_fetch_alarm_minutes",
            int,
            "minutes without a successful fetch before a mailbox is shown as stale",
        ),
    },
    "attachments": {
        "export_dir": ("attachments_dir", str, "the default folder for saved attachments"),
    },
}

_TYPE_NAMES = {str: "a string in quotes", int: "a whole number", bool: "true or false"}


def load_settings(path: Path) -> Settings:
    """Read ``path``; a missing file gives the defaults. Raise ConfigError naming the key."""
    if not path.exists():
        return Settings(source=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"the settings file {path} is not valid TOML ({exc})",
            hint="fix the line it names, or move the file away to start from the defaults",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the settings file {path} cannot be read ({exc})") from None
    values: dict[str, Any] = {}
    for section, content in data.items():
        if section not in _SCHEMA:
            allowed = ", ".join(f"[{name}]" for name in _SCHEMA)
            raise ConfigError(
                f"{path}: unknown section [{section}]", hint=f"the sections allowed are {allowed}"
            )
        if not isinstance(content, dict):
            raise ConfigError(f"{path}: '{section}' must be a table: write it as [{section}]")
        if section == "keymap":
            values["keymap"] = _parse_keymap(path, content)
            continue
        for key, value in content.items():
            spec = _SCHEMA[section].get(key)
            if spec is None:
                allowed = ", ".join(_SCHEMA[section])
                raise ConfigError(
                    f"{path}: unknown key '{key}' in [{section}]",
                    hint=f"the keys allowed there are {allowed}",
                )
            attribute, expected, meaning = spec
            if type(value) is not expected:
                raise ConfigError(
                    f"{path}: [{section}] {key} = {value!r} is not {_TYPE_NAMES[expected]}",
                    hint=f"it is {meaning}",
                )
            if expected is int and value < 0:
                raise ConfigError(f"{path}: [{section}] {key} must not be negative")
            values[attribute] = value
    return Settings(source=path, **values)


def _parse_keymap(path: Path, content: dict[str, Any]) -> dict[str, str]:
    keymap: dict[str, str] = {}
    for binding_id, keys in content.items():
        if not isinstance(keys, str) or not keys.strip():
            raise ConfigError(
                f'{path}: [keymap] {binding_id} must be a string of keys such as "ctrl+r" '
                'or "j,down"'
            )
        keymap[binding_id] = keys
    return keymap


def save_settings(settings: Settings, path: Path) -> None:
    """Write ``settings`` to ``path`` (mode 0600: it may name a database URL with a password)."""
    defaults = Settings()
    lines: list[str] = ["# tuidesk settings; see `tuidesk --help` for every path.", ""]
    for section, keys in _SCHEMA.items():
        if section == "keymap":
            continue
        body = []
        for key, (attribute, _type, _meaning) in keys.items():
            value = getattr(settings, attribute)
            if value != getattr(defaults, attribute):
                body.append(f"{key} = {_toml_value(value)}")
        if body:
            lines += [f"[{section}]", *body, ""]
    if settings.keymap:
        lines.append("[keymap]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sorted(settings.keymap.items())]
        lines.append("")
    write_private_file(path, "\n".join(lines).encode("utf-8"))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _toml_key(key: str) -> str:
    if key.replace("_", "").replace("-", "").isalnum():
        return key
    return _toml_value(key)


def setting_names() -> list[str]:
    """Every attribute of Settings that the file can set (for documentation and tests)."""
    return [f.name for f in fields(Settings) if f.name != "source"]

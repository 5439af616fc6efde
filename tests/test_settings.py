"""The settings file: defaults, strict validation naming file and key, private on disk."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tuidesk.core.errors import ConfigError
from tuidesk.core.settings import Settings, load_settings, save_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml")
    assert settings.theme == "tuidesk-dark"
    assert settings.stale_fetch_alarm_minutes == 15
    assert settings.keymap == {}


def test_every_documented_key_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[database]
url = "/srv/tuidesk.sqlite3"
busy_timeout_ms = 9000
[operator]
name = "Olga Operator"
email = "olga@example.com"
[ui]
theme = "tuidesk-light"
[keymap]
"queue.open" = "o"
[alarms]
stale_fetch_minutes = 30
[attachments]
export_dir = "/tmp/att"
""",
    )
    settings = load_settings(path)
    assert settings.database == "/srv/tuidesk.sqlite3"
    assert settings.busy_timeout_ms == 9000
    assert settings.operator_name == "Olga Operator"
    assert settings.operator_email == "olga@example.com"
    assert settings.theme == "tuidesk-light"
    assert settings.keymap == {"queue.open": "o"}
    assert settings.stale_fetch_alarm_minutes == 30
    assert settings.attachments_dir == "/tmp/att"


def test_an_unknown_key_names_the_file_the_key_and_what_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "[ui]\ntheem = 'x'\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    sentence = str(error.value)
    assert str(path) in sentence
    assert "'theem'" in sentence
    assert "theme" in sentence.split("allowed")[1]


def test_an_unknown_section_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown section \[colours\]"):
        load_settings(write(tmp_path, "[colours]\nx = 1\n"))


def test_a_wrong_type_names_the_key_and_the_type_expected(tmp_path: Path) -> None:
    path = write(tmp_path, "[alarms]\nstale_fetch_minutes = 'soon'\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert "stale_fetch_minutes" in str(error.value)
    assert "whole number" in str(error.value)


def test_invalid_toml_says_where(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 1"):
        load_settings(write(tmp_path, "[ui\n"))


def test_a_keymap_entry_must_be_a_string(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"queue\.open"):
        load_settings(write(tmp_path, '[keymap]\n"queue.open" = 3\n'))


def test_saved_settings_read_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    original = Settings(
        theme="tuidesk-light",
        operator_name='Ann "A" Smith',
        keymap={"queue.open": "o", "app.quit": "ctrl+q"},
    )
    save_settings(original, path)
    loaded = load_settings(path)
    assert loaded.theme == "tuidesk-light"
    assert loaded.operator_name == 'Ann "A" Smith'
    assert loaded.keymap == {"queue.open": "o", "app.quit": "ctrl+q"}


def test_the_saved_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_settings(Settings(database="postgresql://u:secret@db/x"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

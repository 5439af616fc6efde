"""Every path comes from platformdirs, with --config and TUIDESK_CONFIG overriding."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuidesk.core.paths import Paths, bundled_themes_dir, write_private_file


def test_paths_follow_the_xdg_directories(isolated_dirs: Path) -> None:
    paths = Paths.resolve()
    assert paths.config_file == isolated_dirs / "config" / "tuidesk" / "config.toml"
    assert paths.database == isolated_dirs / "data" / "tuidesk" / "tuidesk.sqlite3"
    assert paths.user_themes == isolated_dirs / "config" / "tuidesk" / "themes"
    assert paths.token_cache.parent == isolated_dirs / "data" / "tuidesk"


def test_the_environment_variable_overrides_the_config_file(
    isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUIDESK_CONFIG", str(isolated_dirs / "elsewhere.toml"))
    assert Paths.resolve().config_file == isolated_dirs / "elsewhere.toml"


def test_an_explicit_config_file_wins_over_the_environment(
    isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUIDESK_CONFIG", "/nowhere.toml")
    assert Paths.resolve(isolated_dirs / "x.toml").config_file == isolated_dirs / "x.toml"


def test_the_bundled_themes_are_found() -> None:
    themes = sorted(p.name for p in bundled_themes_dir().glob("*.toml"))
    assert "tuidesk-dark.toml" in themes


def test_private_files_are_written_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "a" / "secret.json"
    write_private_file(path, b"{}")
    assert path.read_bytes() == b"{}"
    assert oct(path.stat().st_mode & 0o777) == "0o600"

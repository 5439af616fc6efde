"""Every path tuidesk uses, resolved in one place with platformdirs.

Nothing here touches the disk until a ``ensure_*`` function is called, so importing the module
is free.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import PlatformDirs

APP_NAME = "tuidesk"
CONFIG_ENV = "TUIDESK_CONFIG"
DB_ENV = "TUIDESK_DB"


def _dirs() -> PlatformDirs:
    return PlatformDirs(APP_NAME, appauthor=False)


@dataclass(frozen=True)
class Paths:
    """The resolved locations, shown by ``tuidesk --help`` and used by every part of tuidesk."""

    config_file: Path
    data_dir: Path
    database: Path
    user_themes: Path
    token_cache: Path
    attachments: Path
    big_files: Path
    log_dir: Path

    @classmethod
    def resolve(cls, config_file: str | os.PathLike[str] | None = None) -> Paths:
        dirs = _dirs()
        data_dir = Path(dirs.user_data_dir)
        if config_file is None:
            env = os.environ.get(CONFIG_ENV)
            config_file = env if env else Path(dirs.user_config_dir) / "config.toml"
        downloads = Path(dirs.user_downloads_dir)
        return cls(
            config_file=Path(config_file).expanduser(),
            data_dir=data_dir,
            database=data_dir / "tuidesk.sqlite3",
            user_themes=Path(dirs.user_config_dir) / "themes",
            token_cache=data_dir / "oauth-token-cache.json",
            attachments=downloads / "tuidesk",
            big_files=data_dir / "big-mail",
            log_dir=Path(dirs.user_log_dir),
        )

    def describe(self) -> list[tuple[str, Path]]:
        return [
            ("config file", self.config_file),
            ("database", self.database),
            ("user themes", self.user_themes),
            ("token cache", self.token_cache),
            ("attachments", self.attachments),
            ("big mail", self.big_files),
        ]


def bundled_themes_dir() -> Path:
    """The ``themes/`` folder: inside the installed wheel, or at the top of a checkout."""
    from importlib import resources  # 10 ms to import: only when themes are wanted

    packaged = Path(str(resources.files("tuidesk"))) / "_themes"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "themes"


def create_private_file(path: Path) -> None:
    """Create ``path`` (and its parents) readable by its owner only, for files holding secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``, mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)

"""Fixtures every test may use: isolated user folders, a fresh database, real servers.

Every test runs with platformdirs pointed inside its own tmp_path (autouse), so nothing reads
or writes the real user's settings or data.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import Database

from tuidesk.core.store import db as store

sys.path.insert(0, str(Path(__file__).parent))

from servers.fixtures import (  # noqa: F401
    dovecot,
    dovecot_private,
    mail_user,
    pg_url,
    postgres,
    smtp_server,
)

XDG = {
    "XDG_CONFIG_HOME": "config",
    "XDG_DATA_HOME": "data",
    "XDG_CACHE_HOME": "cache",
    "XDG_STATE_HOME": "state",
}


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """platformdirs' folders inside ``tmp_path``; TUIDESK_* variables cleared."""
    for variable, name in XDG.items():
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        monkeypatch.setenv(variable, str(folder))
    monkeypatch.delenv("TUIDESK_CONFIG", raising=False)
    monkeypatch.delenv("TUIDESK_DB", raising=False)
    return tmp_path


@pytest.fixture
def cli_env(isolated_dirs: Path) -> dict[str, str]:
    """The environment for running ``python -m tuidesk`` in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIDESK_")}
    for variable, name in XDG.items():
        env[variable] = str(isolated_dirs / name)
    return env


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tuidesk.sqlite3"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    """A fresh SQLite file, connected and migrated; the models are bound to it."""
    database = store.connect(str(db_path))
    yield database
    database.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="run the slow tests too")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)

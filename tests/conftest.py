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


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tuidesk.sqlite3"


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """ "sqlite" or "postgresql": every test that uses `db` or `db_target` runs on both.

    Parametrized in `pytest_generate_tests`; a test marked `sqlite_only` gets only "sqlite".
    """
    return getattr(request, "param", "sqlite")


@pytest.fixture
def db_target(request: pytest.FixtureRequest, db_backend: str, db_path: Path) -> str:
    """What `tuidesk --db` takes for this test: the SQLite file's path or a PostgreSQL URL.

    The PostgreSQL database is fresh and migrated; it skips (fails under CI=true) where no
    PostgreSQL can run, with the install hint.
    """
    if db_backend == "postgresql":
        return request.getfixturevalue("pg_url")
    return str(db_path)


@pytest.fixture
def db(db_target: str) -> Iterator[Database]:
    """A fresh database (SQLite file or PostgreSQL), connected and migrated; models bound to it."""
    database = store.connect(db_target)
    yield database
    database.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses `db_backend` (through `db` or `db_target`) on each backend."""
    if "db_backend" not in metafunc.fixturenames:
        return
    backends = BACKENDS
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        backends = ("sqlite",)
    metafunc.parametrize("db_backend", backends, indirect=True, ids=list(backends))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="run the slow tests too")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)

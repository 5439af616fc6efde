"""A real PostgreSQL server for tests, run in the foreground from a private temp dir.

`PostgresServer` runs `initdb` into a temp dir and starts `postgres` on 127.0.0.1 on a free
port, with its Unix socket inside that dir (nothing under /etc or /var/run/postgresql is read
or written). PostgreSQL refuses to run as root, so as root the cluster belongs to the
`postgres` user that Debian's package creates; as any other user it runs as that user.

Authentication is `trust` on loopback: the tests are about tuidesk's store, not PostgreSQL's
logins. `durable=False` (the test default) turns off fsync, which changes nothing that a test
can observe except speed; the benchmarks use `durable=True`.

`new_database()` hands out a fresh database: each is copied from a template that tuidesk has
already migrated, which costs tens of milliseconds instead of creating every table again.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

INSTALL_HINT = "PostgreSQL is not installed: apt-get install postgresql (and psycopg2-binary)"
SUPERUSER = "tuidesk"
TEMPLATE = "tuidesk_template"
_database_counter = itertools.count(1)


class PostgresError(RuntimeError):
    """PostgreSQL could not be started or administered; the message has its log tail."""


def find_bin(name: str) -> str | None:
    """A PostgreSQL server binary (`initdb`, `postgres`), newest version first."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def postgres_available() -> str:
    """ "" when a test server can run here; otherwise why not, with the fix."""
    if find_bin("initdb") is None or find_bin("postgres") is None:
        return INSTALL_HINT
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "PostgreSQL refuses to run as root and there is no `postgres` user to run as"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed: pip install -e '.[test,postgres]'"
    return ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """A throwaway PostgreSQL cluster: `with PostgresServer() as pg: pg.new_database()`."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tuidesk-pg-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._run_as: dict[str, int] = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            self._run_as = {"user": entry.pw_uid, "group": entry.pw_gid}
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._template_ready = False

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cleanup()

    def start(self) -> None:
        if not self.data_dir.exists():
            self._run(
                [
                    find_bin("initdb") or "initdb",
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-instructions",
                    "--no-sync",
                ]
            )
        options = [
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"port={self.port}",
            "-c", f"unix_socket_directories={self.root}",
            "-c", "max_connections=200",
            "-c", "shared_buffers=128MB",
        ]  # fmt: skip
        if not self.durable:
            options += ["-c", "fsync=off", "-c", "full_page_writes=off"]
        log = open(self.log_path, "ab")  # noqa: SIM115 (the server keeps writing to it)
        self.process = subprocess.Popen(
            [find_bin("postgres") or "postgres", "-D", str(self.data_dir), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self._run_as,
        )
        log.close()
        self._wait_until_ready()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (fast shutdown: open sessions are cut)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(2)  # SIGINT: fast shutdown
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _wait_until_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise PostgresError(f"postgres exited at start:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                try:
                    self.execute("SELECT 1")
                    return
                except Exception:  # still starting: "the database system is starting up"
                    pass
            time.sleep(0.05)
        raise PostgresError(
            f"postgres did not accept connections in {timeout:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, **self._run_as)
        if done.returncode != 0:
            raise PostgresError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    # -- administration -----------------------------------------------------------------------

    def url(self, database: str = "postgres", *, password: str = "") -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{SUPERUSER}{secret}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        """Run one statement outside a transaction (CREATE DATABASE needs that)."""
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, connect_timeout=5
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def _ensure_template(self) -> None:
        """A database migrated by tuidesk, the template of every test database."""
        if self._template_ready:
            return
        from tuidesk.core.store import db as store

        self.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        self.execute(f'CREATE DATABASE "{TEMPLATE}"')
        database = store.connect(self.url(TEMPLATE))
        database.close()
        self._template_ready = True

    def new_database(self, *, migrated: bool = True) -> str:
        """The URL of a fresh database: migrated to the current schema, or empty."""
        name = f"tuidesk_test_{os.getpid()}_{next(_database_counter)}"
        if migrated:
            self._ensure_template()
            self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        else:
            self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with contextlib.suppress(Exception):
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def terminate_sessions(self, url: str) -> int:
        """Cut every open session to the database of ``url`` (a lost connection)."""
        name = url.rsplit("/", 1)[1]
        rows = self.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        return len(rows)

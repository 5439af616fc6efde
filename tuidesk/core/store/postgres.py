"""The PostgreSQL database tuidesk opens for a ``postgresql://`` URL.

What it does beyond a plain Peewee ``PostgresqlDatabase``, all about things SQLite never needs:

* A lost connection (the server restarted, an administrator ended the session, a network cut)
  fails the statement that met it: the transaction it was in is rolled back by the server, so
  nothing half-done stays, and the caller (a poll, an outbox run) reports one sentence. The
  *next* statement outside a transaction opens a new connection first. A statement is never
  re-run by itself: one that broke mid-way may or may not have been applied, and only the
  caller knows whether running it again is safe. `ensure_connected()` pings before work
  starts (a poll, a send), so a connection that died while idle costs nothing at all.
  (Peewee's ReconnectMixin re-runs the failed statement instead, which is why it is not used.)

* A poller that stalls inside a transaction (a frozen VM, SIGSTOP, a debugger) would hold its
  row locks for ever, and the poller that took its lease over would wait on them. Each session
  therefore tells the server to end it when it sits idle in a transaction for longer than a
  poll lease (`idle_in_transaction_session_timeout`): by then the lease has passed on anyway,
  the stalled transaction is rolled back (its mail is still on the server) and the stalled
  poller, when it wakes, gets a lost connection for that poll.

* Round trips: each statement is one, and on PostgreSQL they, not the work, bound ingest
  speed. Inside a transaction, writes whose result nobody reads (``sql.later``) and the
  ``SAVEPOINT`` that opens each record's savepoint are held back and sent together with the
  next statement that is sent anyway (a read, ``RELEASE SAVEPOINT``, ``COMMIT``), in one round
  trip. Nothing is lost or reordered: they run on the server in the order they were issued,
  before that statement and in the same transaction; an error in one of them is raised by
  that statement, still inside the same record's savepoint (its release sends them); a
  rollback drops them with everything else. The hot-path statements of ``store/sql.py`` are
  also prepared once per connection (``PREPARE``/``EXECUTE``), so the server stops parsing
  and planning them for every mail; a PREPARE whose round trip failed is redone by a new name.

* JIT compilation is off for tuidesk's sessions: it pays off for long analytical queries, and
  tuidesk runs short ones whose plans merely *look* costly on a big table (the count of a
  common search word over a million messages), where compiling took a second of the query.

* PostgreSQL text cannot hold NUL characters, which hostile mail can carry in any header or
  body; they are stored as U+FFFD (the raw mail itself is kept byte for byte in a blob).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from peewee import InterfaceError, OperationalError, PostgresqlDatabase

NUL = "\x00"
REPLACEMENT = "\ufffd"


def _without_nul(params: Sequence[Any]) -> Sequence[Any]:
    if not any(type(p) is str and NUL in p for p in params):
        return params
    return tuple(p.replace(NUL, REPLACEMENT) if type(p) is str else p for p in params)


def preparable(sql: str) -> bool:
    """Worth preparing: a hot-path statement of a fixed shape (not a variable IN list)."""
    return (
        " IN (" not in sql and "now()" not in sql and sql.startswith(("SELECT", "INSERT", "UPDATE"))
    )


class PostgresStore(PostgresqlDatabase):
    """``PostgresqlDatabase`` that reopens a lost connection before the next statement."""

    def _initialize_connection(self, conn: Any) -> None:
        from tuidesk.core.lease import stalled_transaction_seconds

        with conn.cursor() as cursor:
            cursor.execute(
                "SET idle_in_transaction_session_timeout = %s",
                (stalled_transaction_seconds() * 1000,),
            )
            cursor.execute("SET jit = off")

    # -- statements held back until the next round trip ---------------------------------------

    def _pending(self) -> list[tuple[str, Sequence[Any]]]:
        pending = getattr(self._state, "pending", None)
        if pending is None:
            pending = self._state.pending = []
        return pending

    def defer(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run ``sql`` with the next statement if inside a transaction, now otherwise."""
        if self.in_transaction():
            if preparable(sql):
                sql = self.prepared(sql)
            self._pending().append((sql, params))
        else:
            self.execute_sql(sql, params)

    def _with_pending(self, sql: str, params: Sequence[Any] | None) -> tuple[str, Sequence[Any]]:
        pending = getattr(self._state, "pending", None)
        if not pending:
            return sql, params or ()
        self._state.pending = []  # sent now, whatever happens: never twice
        texts = [text.rstrip().rstrip(";") for text, _ in pending]
        values = [value for _, held in pending for value in held]
        return "; ".join([*texts, sql]), (*values, *(params or ()))

    def _prepared(self) -> dict[str, str]:
        conn = self._state.conn
        if getattr(self._state, "prepared_on", None) is not conn:
            self._state.prepared_on, self._state.prepared = conn, {}
        return self._state.prepared

    def prepared(self, sql: str) -> str:
        """``sql`` (with %s placeholders) as ``EXECUTE name(%s, …)`` of a statement prepared
        on this connection; the PREPARE itself goes with the next round trip."""
        if not self.in_transaction():  # the connection the PREPARE will be sent on
            if self.connection_lost():
                self._reopen()
            elif self.is_closed():
                self.connect()
        known = self._prepared()
        name = known.get(sql)
        count = sql.count("%s")
        if name is None:
            # a fresh name each time: a PREPARE whose batch failed may or may not have run
            self._state.prepare_seq = getattr(self._state, "prepare_seq", 0) + 1
            name = f"tuidesk_{self._state.prepare_seq}"
            parts = sql.split("%s")
            numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
            self._pending().append((f"PREPARE {name} AS {numbered}", ()))
            known[sql] = name
            self._state.unconfirmed = [*getattr(self._state, "unconfirmed", []), sql]
        return f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}"

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None):
        if sql.startswith("SAVEPOINT ") and self.in_transaction():
            self._pending().append((sql, ()))  # opened with the next statement
            return None
        if sql.startswith("ROLLBACK TO SAVEPOINT ") and self._drop_since(sql):
            return None  # the savepoint never reached the server: nothing to roll back
        sql, params = self._with_pending(sql, params)
        if params:
            params = _without_nul(params)
        unconfirmed = getattr(self._state, "unconfirmed", None)
        if not unconfirmed:
            return super().execute_sql(sql, params)
        self._state.unconfirmed = []
        try:
            return super().execute_sql(sql, params)
        except Exception:
            self._forget(unconfirmed)
            raise

    def commit(self) -> None:
        if getattr(self._state, "pending", None):
            self.execute_sql("COMMIT")
        else:
            super().commit()

    def _drop_since(self, rollback: str) -> bool:
        """Drop what was held back inside the savepoint being rolled back (it would be undone
        anyway, and one of them failing must not stop the rollback); True when the savepoint
        itself was still held back, so the server never saw it."""
        pending = getattr(self._state, "pending", None) or []
        opening = "SAVEPOINT " + rollback[len("ROLLBACK TO SAVEPOINT ") :]
        start = next((i for i, (text, _) in enumerate(pending) if text == opening), None)
        self._state.pending = pending[:start] if start is not None else []
        dropped = {text for text, _ in pending[start or 0 :]}
        unconfirmed = getattr(self._state, "unconfirmed", [])
        known = self._prepared()
        lost = [t for t in unconfirmed if f"PREPARE {known.get(t)} AS" in " ".join(dropped)]
        self._forget(lost)
        self._state.unconfirmed = [t for t in unconfirmed if t not in lost]
        return start is not None

    def _forget(self, texts: Sequence[str]) -> None:
        """Statements whose PREPARE may not have run: prepared anew (by a new name) next time."""
        known = self._prepared()
        for text in texts:
            known.pop(text, None)

    def rollback(self) -> None:
        self._state.pending = []
        self._forget(getattr(self._state, "unconfirmed", []))
        self._state.unconfirmed = []
        super().rollback()

    # -- lost connections ---------------------------------------------------------------------

    def connection_lost(self) -> bool:
        """True when the connection is open in Peewee's eyes but the driver found it broken."""
        if self.is_closed():
            return False
        return bool(getattr(self._state.conn, "closed", 0))

    def _reopen(self) -> None:
        self._state.pending = []
        self.dispose()  # forget the broken connection without talking to it
        self.connect()

    def cursor(self, named_cursor: Any = None):
        if not self.in_transaction() and self.connection_lost():
            self._reopen()
        return super().cursor(named_cursor)

    def ensure_connected(self) -> None:
        """Ping the server (outside a transaction); reconnect once if the connection died."""
        if self.in_transaction():
            return
        if self.is_closed():
            self.connect()
            return
        try:
            self.execute_sql("SELECT 1")
        except (OperationalError, InterfaceError):
            self._reopen()


def is_connection_error(exc: BaseException) -> bool:
    """Does ``exc`` (or what it interrupted) say the connection to PostgreSQL was lost?"""
    text = ""
    seen = exc
    for _ in range(4):
        if seen is None:
            break
        text += f" {seen}".lower()
        seen = seen.__context__
    return any(
        fragment in text
        for fragment in (
            "server closed the connection",
            "terminating connection",
            "connection already closed",
            "could not connect",
            "connection refused",
            "the database system is shutting down",
            "the database system is starting up",
            "ssl connection has been closed",
            "idle-in-transaction timeout",
            "could not receive data",
            "could not send data",
        )
    )

"""The store on PostgreSQL (team mode): `open_store("postgresql://...")` returns a PostgresStore.

The SQL of `Store` is written once for both backends; this module holds what differs: connections
(psycopg 3, one per thread as with SQLite, plus the writer's, speaking the `?` placeholders as psycopg's
`%s`), the statements PostgreSQL spells its own way (`DIALECT`), the write lock, id reservation,
migrations and the wait for new messages (LISTEN/NOTIFY).

Rules that SQLite enforces by having one writer for the whole file hold here for every receiver and console
on every host, because they are enforced in the database, not in process memory:

- every write transaction first takes one transaction-scoped advisory lock (WRITE_LOCK), as SQLite's
  BEGIN IMMEDIATE takes its write lock. So ids are committed in the order they are taken (a poll for
  "id > N" never skips a row committed late), and the 10-minute duplicate window sees every earlier
  acceptance, whichever receiver stored it;
- "committed before 2xx": a webhook's transaction has committed (synchronous_commit, PostgreSQL's
  default) before accept_webhook returns; a lost server is StoreUnavailable (the receiver answers 503)
  and the next call opens a new connection, so a receiver recovers by itself when the database is back.
"""

from __future__ import annotations

import os
import re
import threading
import time
import weakref
from functools import lru_cache

import psycopg

from ..redact import masked_url
from ..schema import PG_MIGRATIONS
from .base import Store
from .core import Dialect, SchemaTooNew, StoreUnavailable, announce_migration
from .notify import Listener

# pg_advisory_xact_lock keys: "apichat" in ASCII, and the next number for migrations
WRITE_LOCK = 0x61706963686174
MIGRATION_LOCK = WRITE_LOCK + 1

DIALECT = Dialect(
    mark_read="UPDATE conversations SET last_read_id = GREATEST(last_read_id, ?) WHERE id = ?",
    # ILIKE: the Inspector's search ignores case on both backends (SQLite's LIKE does); bytea as text, any bytes
    delivery_search="(encode(body, 'escape') ILIKE ? OR reason ILIKE ? OR route ILIKE ? OR headers ILIKE ?)",
    request_search="(url ILIKE ? OR request_body ILIKE ? OR response_body ILIKE ? OR error ILIKE ?)",
)

# connections a forked child (gunicorn) inherited: never closed nor collected there, since closing one
# would end its parent's session on the shared socket
_INHERITED: list = []


@lru_cache(maxsize=2048)
def placeholders(sql: str) -> str:
    """Store's SQL with psycopg's placeholders: `?` is `%s` (and a literal `%` is `%%`). Nothing else changes:
    the statements spelled differently are named in DIALECT, and no statement holds a `?` of its own."""
    return sql.replace("%", "%%").replace("?", "%s")


class Row(tuple):
    """A row read by index (`row[0]`) or by column name (`row["id"]`), and `dict(row)`, like sqlite3.Row."""

    def __new__(cls, values, index: dict[str, int]):
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor):
    description = cursor.description
    if description is None:
        return tuple
    index = {column.name: number for number, column in enumerate(description)}
    return lambda values: Row(values, index)


def _clean(value):
    # PostgreSQL's text cannot hold NUL (JSON's valid "\u0000" decodes to it); SQLite can. As storable()
    # does for lone surrogates, it becomes U+FFFD rather than failing the write, and with it the webhook.
    if type(value) is str and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def _one_line(exc: BaseException) -> str:
    """libpq's message on one line, without the "connection failed:" that psycopg puts before it."""
    text = " ".join(str(exc).split())
    return re.sub(r"^(connection failed: )+", "", text) or type(exc).__name__


# server errors after which the connection is gone even when psycopg has not noticed yet
_LOST = (psycopg.errors.AdminShutdown, psycopg.errors.CrashShutdown, psycopg.errors.CannotConnectNow)


class Connection:
    """A psycopg connection that speaks Store's SQL (sqlite3.Connection's execute), with a trace hook."""

    def __init__(self, raw: psycopg.Connection, store: PostgresStore):
        self.raw, self._store, self.pid = raw, store, os.getpid()
        self._trace = None

    def execute(self, sql: str, params=()):
        if self._trace is not None:
            self._trace(sql)
        # outside a transaction a statement that met a lost connection (the server restarted since this
        # thread last asked) is tried once more on a new one: only reads run there, and BEGIN
        idle = self.raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        try:
            return self._run(sql, params)
        except psycopg.OperationalError as exc:
            if not (self.raw.broken or self.raw.closed or isinstance(exc, _LOST)):
                raise
            if not idle or self.pid != os.getpid():
                raise self._store.unavailable(exc) from exc
        self.raw.close()
        self.raw = self._store._connect()
        try:
            return self._run(sql, params)
        except psycopg.OperationalError as exc:
            if self.raw.broken or self.raw.closed or isinstance(exc, _LOST):
                raise self._store.unavailable(exc) from exc
            raise

    def _run(self, sql: str, params):
        if params:
            return self.raw.execute(placeholders(sql), [_clean(value) for value in params])
        return self.raw.execute(sql)

    def set_trace_callback(self, callback) -> None:
        """Call `callback(sql)` with every statement as Store wrote it (tests count statements this way)."""
        self._trace = callback

    @property
    def usable(self) -> bool:
        return self.pid == os.getpid() and not self.raw.closed and not self.raw.broken

    def close(self) -> None:
        if self.pid != os.getpid():
            _INHERITED.append(self)
        else:
            self.raw.close()


class PostgresStore(Store):
    """The console's store in a PostgreSQL database, shared by receivers and consoles on several hosts."""

    BACKEND = "postgresql"
    shared = True
    BEGIN_WRITE = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"  # one round trip
    BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    errors = (psycopg.Error,)
    dialect = DIALECT
    batch_errors = (StoreUnavailable, psycopg.errors.LockNotAvailable)

    def __init__(self, path: str):
        self.path = path.strip()
        self._conninfo = self.path
        self._idle: list[Connection] = []  # connections of threads that have finished, for the next ones
        self._idle_lock = threading.RLock()
        self._init_state()
        self._migrate()

    @property
    def label(self) -> str:
        return masked_url(self.path)

    # ------------------------------------------------------------ connections and errors

    def unavailable(self, exc: BaseException) -> StoreUnavailable:
        """The one line a person reads when the database cannot be used, naming the problem."""
        why = _one_line(exc)
        state = getattr(exc, "sqlstate", None) or ""
        lower = why.lower()
        if state in ("28P01", "28000") or "password authentication failed" in lower or "no password" in lower:
            message = f"PostgreSQL refused the credentials in APICHAT_DB {self.label}: {why}"
        elif state == "3D000" or ("database" in lower and "does not exist" in lower):
            message = f"the database of APICHAT_DB {self.label} does not exist: {why} (create it with createdb)"
        elif isinstance(exc, _LOST) or self._ever_connected:
            message = f"lost the PostgreSQL server of APICHAT_DB {self.label}: {why}"
        else:
            message = f"cannot reach the PostgreSQL server of APICHAT_DB {self.label}: {why}"
        return StoreUnavailable(self.label, why, message=message)

    def _open(self) -> Connection:
        return Connection(self._connect(), self)

    def _connect(self) -> psycopg.Connection:
        try:
            raw = psycopg.connect(self._conninfo, autocommit=True, row_factory=_row_factory, connect_timeout=10,
                                  application_name="apichat")
        except psycopg.OperationalError as exc:
            raise self.unavailable(exc) from None
        except psycopg.ProgrammingError as exc:  # a URL libpq cannot read
            raise StoreUnavailable(self.label, _one_line(exc),
                                   message=f"APICHAT_DB {self.label} is not a usable PostgreSQL URL: "
                                           f"{_one_line(exc)}") from None
        try:
            # a process stopped while it holds the write lock (SIGSTOP, a debugger) must not hang every receiver:
            # a write that waits this long fails (503, UChat retries), and the server ends such a session
            raw.execute(f"SET lock_timeout = '{self.LOCK_TIMEOUT}'; "
                        f"SET idle_in_transaction_session_timeout = '{self.IDLE_IN_TRANSACTION_TIMEOUT}'")
        except psycopg.OperationalError as exc:
            raw.close()
            raise self.unavailable(exc) from None
        self._ever_connected = True
        return raw

    LOCK_TIMEOUT = "30s"
    IDLE_IN_TRANSACTION_TIMEOUT = "60s"

    _ever_connected = False

    # Streamlit runs each script run and each tick of a fragment on a new thread, and a new connection costs
    # a login (SCRAM: ~15 ms here, against 0.7 ms for the poll itself). So a thread's connection is given back
    # when the thread is gone, and the next new thread takes it: as many connections as threads at once.
    IDLE_CONNECTIONS = 8

    @property
    def conn(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._usable(conn):
            return conn
        conn = self._borrow() or self._open()
        self._local.conn = conn
        weakref.finalize(threading.current_thread(), self._give_back, conn)
        return conn

    def _borrow(self) -> Connection | None:
        while True:
            with self._idle_lock:  # its own lock: a finalizer may run in any thread, holding any other lock
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if self._usable(conn):
                return conn
            conn.close()

    def _give_back(self, conn: Connection) -> None:
        """A finished thread's connection, kept for the next thread when it is sound and between transactions."""
        if conn.pid != os.getpid():
            _INHERITED.append(conn)
            return
        if conn.usable and conn.raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            with self._idle_lock:
                if len(self._idle) < self.IDLE_CONNECTIONS:
                    self._idle.append(conn)
                    return
        conn.close()

    def _usable(self, conn: Connection) -> bool:
        if conn.usable:
            return True
        if conn.pid != os.getpid():
            _INHERITED.append(conn)
        return False

    def _rollback(self, conn: Connection) -> None:
        if conn.usable:  # a lost connection's transaction was rolled back by the server
            try:
                conn.execute("ROLLBACK")
            except StoreUnavailable:
                pass

    def _begin_failed(self, conn: Connection) -> None:
        """The lock was not had (lock_timeout): BEGIN's transaction is open and aborted, so end it."""
        self._rollback(conn)

    def _migrate(self) -> None:
        """Run the migrations this database lacks, one process at a time (an advisory lock)."""
        conn = self._writer = self._open()
        with self._write_lock:
            conn.execute("BEGIN")
            try:
                conn.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = conn.execute("SELECT version FROM schema_version").fetchone()
                if row is None:
                    conn.execute("INSERT INTO schema_version (version) VALUES (0)")
                version = row[0] if row else 0
                if version > len(PG_MIGRATIONS):
                    raise SchemaTooNew(f"{self.label} has schema version {version}, newer than this code "
                                       f"({len(PG_MIGRATIONS)}); upgrade the console")
                for number, script in enumerate(PG_MIGRATIONS[version:], start=version + 1):
                    try:
                        announce_migration(script, conn)
                        conn.execute(script)
                    except psycopg.Error as exc:
                        if isinstance(exc, psycopg.OperationalError) and not conn.usable:
                            raise
                        # no right to create tables, another application's table of the same name, ...
                        why = _one_line(exc)
                        raise StoreUnavailable(self.label, why, message=(
                            f"cannot create or migrate the store's tables (to version {number}) in APICHAT_DB "
                            f"{self.label}: {why}")) from exc
                    conn.execute("UPDATE schema_version SET version = ?", (number,))
            except BaseException:
                self._rollback(conn)
                raise
            conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return self.conn.execute("SELECT version FROM schema_version").fetchone()[0]

    def check(self) -> None:
        """Nothing to check without a query: a lost server shows on the next statement (StoreUnavailable)."""

    def ping(self) -> bool:
        return self.conn.execute("SELECT 1").fetchone()[0] == 1

    def integrity_check(self) -> str:
        """'ok' when every message names a conversation and every accepted delivery a message that exist
        (PostgreSQL checks its own pages). A duplicate may outlive its message: a pruned conversation takes the
        deliveries its messages were made from, and duplicates go on their own retention (retention.py)."""
        orphans = self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM conversations c "
            "WHERE c.id = m.conversation)) + (SELECT COUNT(*) FROM deliveries d WHERE d.message_id IS NOT NULL "
            "AND d.outcome = 'accepted' AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = d.message_id))"
            ).fetchone()[0]
        return "ok" if orphans == 0 else f"{orphans} rows name a message or conversation that does not exist"

    def _table_bytes(self) -> dict[str, int]:
        """Each table's bytes with its indexes and TOAST, as PostgreSQL counts them."""
        from .retention import HELD

        names = [table for table, _ in HELD]
        return {table: size for table, size in self.conn.execute(
            f"SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' AND relname IN "
            f"({', '.join('?' * len(names))}) AND relnamespace = 'public'::regnamespace", names)}

    def close(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for spare in idle:
            spare.close()
        super().close()

    # ------------------------------------------------------------ ids

    def _batch_start(self, conn: Connection, messages: int, deliveries: int) -> tuple[int, int, int]:
        """Ids taken from each sequence at once (the write lock is held, so they are consecutive; those a batch
        does not use, for a duplicate, are a gap)."""
        take = "setval(pg_get_serial_sequence('{0}', 'id'), nextval(pg_get_serial_sequence('{0}', 'id')) + ? - 1) - ?"
        messages, deliveries = max(messages, 1), max(deliveries, 1)  # a sequence cannot go back to 0
        return conn.execute(f"SELECT version, {take.format('messages')}, {take.format('deliveries')} FROM "
                            "profile_version", (messages, messages, deliveries, deliveries)).fetchone()

    def _after_copy(self, conn: Connection, table: str) -> None:
        """Rows were copied with their ids (a table with an `id`): the table's sequence goes on after the highest."""
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table} "
                     "HAVING MAX(id) IS NOT NULL")

    # ------------------------------------------------------------ waiting for new messages (LISTEN/NOTIFY)

    WAIT_STEP_SECONDS = 1.0  # a look at least this often, should a notification be lost with its connection
    _listeners: dict[tuple[int, str], Listener] = {}
    _listeners_lock = threading.Lock()

    def listener(self) -> Listener:
        """This process's listener on this database (started on first use; a forked child starts its own)."""
        key = (os.getpid(), self._conninfo)
        listener = self._listeners.get(key)
        if listener is None:
            with self._listeners_lock:
                listener = self._listeners.get(key)
                if listener is None:
                    listener = self._listeners[key] = Listener(self._conninfo)
                    listener.start()
                    listener.listening.wait(5)  # so a commit right after this call is heard
        return listener

    def _change_mark(self, conversation: int):
        return self.listener().mark(conversation)

    def _wait_for_change(self, conversation: int, mark, seconds: float) -> None:
        listener = self.listener()
        if listener.listening.is_set():
            listener.wait(conversation, mark, seconds)
        else:
            time.sleep(min(seconds, Store.WAIT_STEP_SECONDS))
